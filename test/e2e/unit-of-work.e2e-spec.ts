import { DataSource } from 'typeorm';
import { TRANSACTION_ATTEMPTS, UnitOfWork } from '../../libs/core/src/database/unit-of-work';
import { DomainEvent, EventBus } from '../../libs/core/src/events';
import { newId } from '../../libs/core/src/ids';
import { LiveRelayConsumer } from '../../libs/realtime/src/live-relay.consumer';
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

  it('gives an event it emitted a new payload (`amend`): its outbox row, the live relay’s copy and what is published all carry it', async () => {
    // A worker's unit of work (it relays its live events); the test app's relay consumer publishes the copy it claims.
    const relaying = new UnitOfWork(t.get(DataSource), t.get(EventBus), true);
    const topicId = newId();
    const published: unknown[] = [];
    const stop = t.get(EventBus).subscribe((e) => {
      if (e.aggregateId === topicId) published.push(e.payload);
    });
    const amended = { topicId, kinds: ['UNPIN', 'CLOSE'] };
    try {
      await relaying.run(async (tx) => {
        const event: DomainEvent = { type: 'topic_timers.updated', aggregateType: 'topic', aggregateId: topicId, payload: { topicId, kinds: ['UNPIN'] } };
        await tx.emit(event);
        await tx.amend(event, amended);
      });
      // The relay's copy, claimed now (committed, it waits for this node's claim).
      await t.get(LiveRelayConsumer).kick();
    } finally {
      stop();
    }
    expect(await t.sql(`SELECT payload FROM outbox WHERE aggregate_id = $1`, [topicId])).toEqual([{ payload: amended }]);
    // Published where it committed, then again by the node that claimed the relay's copy.
    expect(published).toEqual([amended, amended]);
  });

  it('amends only an event of its own transaction, and none once the transaction began to finish (its events relayed already)', async () => {
    const event = (): DomainEvent => ({ type: 'test.amended', aggregateType: 'test', aggregateId: newId(), payload: { n: 1 } });
    const other = event();
    await expect(uow.run((tx) => tx.amend(other, { n: 2 }))).rejects.toThrow(/was not emitted in this transaction/);
    const late = event();
    await expect(uow.run(async (tx) => {
      await tx.emit(late);
      tx.deferred<number>({}, () => tx.amend(late, { n: 2 })).push(1);
    })).rejects.toThrow(/began to finish/);
    // Refused, the transaction wrote nothing.
    expect(await t.sql(`SELECT payload FROM outbox WHERE aggregate_id = ANY($1::uuid[])`, [[other.aggregateId, late.aggregateId]])).toEqual([]);
  });

  it('emits no event once the transaction began to finish (its events relayed already): refused, writing nothing', async () => {
    const late: DomainEvent = { type: 'test.emitted_late', aggregateType: 'test', aggregateId: newId(), payload: { n: 1 } };
    await expect(uow.run(async (tx) => {
      tx.deferred<number>({}, () => tx.emit(late)).push(1);
    })).rejects.toThrow(/began to finish/);
    expect(await t.sql(`SELECT 1 FROM outbox WHERE aggregate_id = $1`, [late.aggregateId])).toEqual([]);
  });
});
