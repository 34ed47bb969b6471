import { AUDIT_LOCK, AuditEntryInput, AuditLog } from '../../libs/core/src/audit/audit-log';
import { Tx, UnitOfWork } from '../../libs/core/src/database/unit-of-work';
import { makeSpace, makeUser, TestUser } from '../factories';
import { backendPid, doneOrWaiting, waitForLockWaits } from '../support/lock-waits';
import { bootTestApp, expectOk, TestApp } from '../support/test-app';

/**
 * The moderation log's entries are written as their transaction commits: its lock (one for the
 * whole log) is the last a transaction takes, so a transaction that has logged waits for nothing
 * while holding it, and nothing that waits for it holds what a logging transaction still needs.
 */
describe('moderation log: entries appended at commit', () => {
  let t: TestApp;
  let audit: AuditLog;
  let uow: UnitOfWork;
  let admin: TestUser;

  beforeAll(async () => {
    t = await bootTestApp();
    audit = t.get(AuditLog);
    uow = t.get(UnitOfWork);
    admin = await makeUser(t, { role: 'ADMIN' });
  });
  afterAll(() => t.close());

  const entry = (reason: string, over: Partial<AuditEntryInput> = {}): AuditEntryInput => ({
    actorId: null, action: 'test.entry', targetType: 'user', targetId: admin.id, spaceId: null, reason, ...over,
  });
  const logged = async (reasons: string[]) =>
    (await t.sql(`SELECT reason FROM moderation_log WHERE reason = ANY ($1::text[]) ORDER BY id`, [reasons])).map((r) => r.reason);
  const head = async () => (await t.sql(`SELECT entries::int, last_hash FROM moderation_log_head`))[0];

  /** A gate a transaction waits at until the test opens it. */
  const gate = () => {
    let open!: () => void;
    const opened = new Promise<void>((resolve) => (open = resolve));
    return { open, opened };
  };

  /**
   * A transaction that logs `first`, says so (`logged`, with the backend it runs on), waits at `wait`,
   * then runs `then`; how many times it ran (UnitOfWork runs one again that PostgreSQL aborted for a deadlock).
   */
  const logThenWait = (first: AuditEntryInput, wait: Promise<void>, then: (tx: Tx) => Promise<unknown>) => {
    const hasLogged = gate();
    const runs = { n: 0 };
    let pid = 0;
    const done = uow.run(async (tx) => {
      runs.n++;
      await audit.append(tx, first);
      pid = await backendPid(tx);
      hasLogged.open();
      await wait;
      await then(tx);
    });
    return { runs, logged: hasLogged.opened.then(() => pid), done };
  };

  it('lets a settings change that locks its space and then logs go through while a transaction that logged waits, then locks the space: no deadlock', async () => {
    const space = await makeSpace(t, 'PUBLIC');
    const go = gate();
    // Transaction 1 logs, then locks the space's row (as anything reading it for its change would).
    const one = logThenWait(entry('logged, then locked the space', { spaceId: space.id }), go.opened, (tx) =>
      tx.query(`SELECT 1 FROM spaces WHERE id = $1 FOR SHARE`, [space.id]),
    );
    await one.logged;
    // Transaction 2, a real settings change: the space's row FOR UPDATE, then its own log entry.
    const change = t.gql(`mutation($input: UpdateSpaceInput!) { updateSpace(input: $input) { id } }`, { input: { spaceId: space.id, autoHideThreshold: 3 } }, { token: admin.token });
    // With transaction 1 holding the log's lock since it logged, the change would wait for it
    // holding the space, and transaction 1 would then wait for the space: a deadlock.
    // (Deadlocked, PostgreSQL would abort one of them and UnitOfWork run it again.)
    let outcome: 'done' | 'waiting';
    try {
      outcome = await doneOrWaiting(t, change, 1, await one.logged);
    } finally {
      go.open();
    }
    const [changed] = await Promise.all([change, one.done]);
    expectOk(changed);
    expect({ outcome, runs: one.runs.n }).toEqual({ outcome: 'done', runs: 1 });
    // In commit order: the change's entry first.
    const entries = await t.sql(`SELECT action FROM moderation_log WHERE space_id = $1 ORDER BY id`, [space.id]);
    expect(entries.map((e) => e.action)).toEqual(['space.settings', 'test.entry']);
    expect((await audit.verify()).ok).toBe(true);
  });

  it.each([
    ['its space', 'spaces', (s: { id: string }, _u: TestUser) => s.id],
    ['its actor', 'users', (_s: { id: string }, u: TestUser) => u.id],
  ])('holds the row an entry names (%s) before the log’s lock, not after it', async (_what, table, rowOf) => {
    // A settings change holds its space FOR UPDATE, a change of role its user, and then logs; an
    // entry's foreign keys hold its space and actor FOR KEY SHARE, which waits for that. Taken after
    // the log's lock, they would have the change wait for the log and the log for the change.
    const [space, actor] = [await makeSpace(t, 'PUBLIC'), await makeUser(t)];
    const holder = t.ds.createQueryRunner();
    await holder.connect();
    try {
      await holder.startTransaction();
      await holder.query(`SELECT 1 FROM ${table} WHERE id = $1 FOR UPDATE`, [rowOf(space, actor)]);
      let runs = 0;
      const logging = uow.run(async (tx) => {
        runs++;
        await audit.append(tx, entry(`names a row held (${table})`, { actorId: actor.id, spaceId: space.id }));
      });
      await waitForLockWaits(t, 1, await backendPid(holder));
      // The change goes on to log, which it may: the waiting transaction does not hold the log.
      const [{ free }] = await holder.query(`SELECT pg_try_advisory_xact_lock($1) AS free`, [AUDIT_LOCK]);
      expect(free).toBe(true);
      await holder.commitTransaction();
      await logging;
      expect(runs).toBe(1);
    } finally {
      if (holder.isTransactionActive) await holder.rollbackTransaction();
      await holder.release();
    }
    expect(await logged([`names a row held (${table})`])).toHaveLength(1);
    expect((await audit.verify()).ok).toBe(true);
  });

  it('keeps a transaction’s entries together and in call order, after those of a transaction that committed first', async () => {
    const go = gate();
    const one = logThenWait(entry('one: first'), go.opened, (tx) => audit.append(tx, entry('one: second')));
    await one.logged;
    // Transaction 2 logs and commits while transaction 1 is still under way: nothing holds the log.
    const two = uow.run((tx) => audit.append(tx, entry('two')));
    let outcome: 'done' | 'waiting';
    try {
      outcome = await doneOrWaiting(t, two, 1, await one.logged);
    } finally {
      go.open();
    }
    await Promise.all([one.done, two]);
    expect(outcome).toBe('done');
    expect(await logged(['one: first', 'one: second', 'two'])).toEqual(['two', 'one: first', 'one: second']);
    const ids = (await t.sql(`SELECT id::int FROM moderation_log WHERE reason LIKE 'one: %' ORDER BY id`)).map((r) => r.id);
    expect(ids[1] - ids[0]).toBe(1);
    expect((await audit.verify()).ok).toBe(true);
  });

  it('writes nothing of a transaction that fails after logging, nor of an attempt run again', async () => {
    const before = await head();
    await expect(
      uow.run(async (tx) => {
        await audit.append(tx, entry('failed: first'));
        await audit.append(tx, entry('failed: second'));
        await tx.query(`SELECT 1/0`);
      }),
    ).rejects.toMatchObject({ code: '22012' });
    expect(await logged(['failed: first', 'failed: second'])).toEqual([]);
    expect(await head()).toEqual(before);
    // An attempt PostgreSQL aborted (a deadlock) after logging leaves nothing for the one run again.
    let runs = 0;
    await uow.run(async (tx) => {
      runs++;
      await audit.append(tx, entry(`retried: attempt ${runs}`));
      if (runs === 1) throw Object.assign(new Error('deadlock detected'), { code: '40P01' });
    });
    expect(runs).toBe(2);
    expect(await logged(['retried: attempt 1', 'retried: attempt 2'])).toEqual(['retried: attempt 2']);
    expect((await head()).entries).toBe(before.entries + 1);
    expect((await audit.verify()).ok).toBe(true);
  });
});
