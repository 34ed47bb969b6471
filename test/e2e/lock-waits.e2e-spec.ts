import { QueryRunner } from 'typeorm';
import { makeUser } from '../factories';
import { backendPid, doneOrWaiting, lockWaits, pollFor, waitForWaitsOn, xidOf } from '../support/lock-waits';
import { HeldLock, holdLock } from '../support/row-locks';
import { bootTestApp, TestApp } from '../support/test-app';

/**
 * The lock-wait helpers count the statements queued behind the lock a test holds, and no other:
 * a wait of the live app's own (a background job, the outbox worker) for some other lock read as
 * "the request is blocked", and a fresh-clone CI run failed on it (migrations e2e, ~404).
 */
describe('lock-wait helpers: waits behind the holder, not any wait', () => {
  let t: TestApp;
  const runners: QueryRunner[] = [];
  const held: HeldLock[] = [];
  const pending: Array<Promise<unknown>> = [];

  beforeAll(async () => {
    t = await bootTestApp();
  });
  afterEach(async () => {
    for (const h of held.splice(0)) await h.release();
    for (const qr of runners) if (qr.isTransactionActive) await qr.rollbackTransaction();
    await Promise.all(pending.splice(0));
    for (const qr of runners.splice(0)) await qr.release();
  });
  afterAll(() => t.close());

  const connection = async () => {
    const qr = t.ds.createQueryRunner();
    await qr.connect();
    runners.push(qr);
    return qr;
  };
  const hold = async (sql: string, params: unknown[]) => {
    const h = await holdLock(t, sql, params);
    held.push(h);
    return h;
  };
  /** Waits until the backend `pid` is blocked by `by` (read live, on the app's pool). */
  const blocked = (pid: number, by: number) =>
    pollFor(async () => ((await t.sql(`SELECT $2::int = ANY (pg_blocking_pids($1)) AS b`, [pid, by]))[0].b ? true : undefined), `backend ${pid} to wait for ${by}`);
  /** `sql` run on a connection of its own, left to wait for what it waits for (settled after each test). */
  const started = (qr: QueryRunner, sql: string, params: unknown[]) => {
    const running = qr.query(sql, params);
    pending.push(running);
    return running;
  };
  /** A statement of a connection of its own, started now and left to wait: the connection's pid. */
  const waitingOn = async (by: number, sql: string, params: unknown[]) => {
    const qr = await connection();
    const pid = await backendPid(qr);
    void started(qr, sql, params);
    await blocked(pid, by);
    return pid;
  };

  /** Another backend waits for a lock held elsewhere (as a background job of the app may, briefly). */
  const unrelatedWait = async () => {
    const other = (await makeUser(t)).id;
    const elsewhere = await connection();
    await elsewhere.startTransaction();
    await elsewhere.query(`SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, [other]);
    await waitingOn(await backendPid(elsewhere), `SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, [other]);
  };

  it('counts no wait for another lock as one behind the holder: a request that ends is done', async () => {
    const holder = await hold(`SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, [(await makeUser(t)).id]);
    await unrelatedWait();
    // Work that waits for nothing (it only ends a moment later, so a helper counting any wait sees the other one first).
    const work = new Promise((resolve) => setTimeout(resolve, 300));
    expect(await doneOrWaiting(t, work, 1, holder)).toBe('done');
    expect(await lockWaits(t, holder)).toBe(0);
  });

  it('says waiting for a statement queued behind the holder, with another wait beside it', async () => {
    const id = (await makeUser(t)).id;
    const holder = await hold(`SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, [id]);
    await unrelatedWait();
    const queued = started(await connection(), `SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, [id]);
    expect(await doneOrWaiting(t, queued, 1, holder)).toBe('waiting');
    expect(await lockWaits(t, holder)).toBe(1);
    await holder.release();
    await queued;
  });

  it('has a held lock’s waiting(n) return only once n statements queue behind it, not for another wait', async () => {
    const id = (await makeUser(t)).id;
    const holder = await hold(`SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, [id]);
    await unrelatedWait();
    let queued = false;
    const returned = holder.waiting(1).then(() => queued);
    // A moment for a helper counting any wait to return on the other one; the answer does not depend on it.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const behind = await connection();
    queued = true;
    void started(behind, `SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, [id]);
    expect(await returned).toBe(true);
  });

  it('counts a second writer of a row, which waits for the first writer’s tuple lock, as queued behind the holder', async () => {
    const id = (await makeUser(t)).id;
    const holder = await hold(`UPDATE users SET updated_at = now() WHERE id = $1`, [id]);
    const update = `UPDATE users SET updated_at = now() WHERE id = $1`;
    const first = await waitingOn(await backendPid(holder), update, [id]);
    const second = await connection();
    const secondPid = await backendPid(second);
    void started(second, update, [id]);
    // The second waits for the first (the row's tuple lock), and so, through it, for the holder.
    await blocked(secondPid, first);
    await waitForWaitsOn(t, await xidOf(holder), 2);
    await holder.waiting(2);
    expect(await lockWaits(t, holder)).toBe(2);
  });
});
