import { TRANSACTION_ATTEMPTS, UnitOfWork } from '../../libs/core/src/database/unit-of-work';
import { newId } from '../../libs/core/src/ids';
import { bootTestApp, TestApp } from '../support/test-app';

describe('UnitOfWork', () => {
  let t: TestApp;
  let uow: UnitOfWork;

  beforeAll(async () => {
    t = await bootTestApp();
    uow = t.get(UnitOfWork);
  });
  afterAll(() => t.close());

  /** Two transactions taking two advisory locks in opposite orders, each waiting until the other holds its first. */
  function crossing(keys: [number, number]) {
    let release!: () => void;
    const bothHoldOne = new Promise<void>((resolve) => (release = resolve));
    let holding = 0;
    const runs = { a: 0, b: 0 };
    const ids = { a: newId(), b: newId() };
    const run = (name: 'a' | 'b', first: number, second: number) =>
      uow.run(async (tx) => {
        runs[name]++;
        await tx.query(`SELECT pg_advisory_xact_lock($1)`, [first]);
        if (runs[name] === 1 && ++holding === 2) release();
        if (runs[name] === 1) await bothHoldOne;
        await tx.query(`SELECT pg_advisory_xact_lock($1)`, [second]);
        await tx.emit({ type: 'test.crossed', aggregateType: 'test', aggregateId: ids[name], payload: { run: runs[name] } });
        return name;
      });
    return { runs, ids, both: Promise.allSettled([run('a', keys[0], keys[1]), run('b', keys[1], keys[0])]) };
  }

  it('runs a transaction PostgreSQL aborted for a deadlock again, and both sides succeed', async () => {
    const { runs, ids, both } = crossing([910_001, 910_002]);
    const results = await both;
    expect(results.map((r) => (r.status === 'rejected' ? String(r.reason) : r.status))).toEqual(['fulfilled', 'fulfilled']);
    // One of them was the deadlock's victim and ran twice; its first run left no event.
    expect(runs.a + runs.b).toBe(3);
    const events = await t.sql(`SELECT aggregate_id, payload->>'run' AS run FROM outbox WHERE aggregate_id = ANY($1::uuid[])`, [[ids.a, ids.b]]);
    expect(events).toHaveLength(2);
    expect(events.map((e) => Number(e.run)).sort()).toEqual([1, 2]);
  });

  it('answers CONFLICT once the attempts are spent, and does not run other failures again', async () => {
    let runs = 0;
    const deadlocked = Object.assign(new Error('deadlock detected'), { code: '40P01' });
    await expect(uow.run(async () => { runs++; throw deadlocked; })).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(runs).toBe(TRANSACTION_ATTEMPTS);
    runs = 0;
    await expect(uow.run(async (tx) => { runs++; await tx.query(`SELECT 1/0`); })).rejects.toMatchObject({ code: '22012' });
    expect(runs).toBe(1);
  });
});
