import { DataSource } from 'typeorm';
import { Client } from 'pg';
import { dataSourceOptions } from '../../libs/core/src/database/data-source';
import { OUTBOX_CHANNEL, UnitOfWork } from '../../libs/core/src/database/unit-of-work';
import { Logger } from '@nestjs/common';
import { OUTBOX_MAX_ATTEMPTS, OutboxEvent, OutboxHandlers, OutboxRetryLater, OutboxWait, OutboxWorker } from '../../libs/core/src/outbox/outbox';
import { makeUser } from '../factories';
import { bootTestApp, expectError, TestApp } from '../support/test-app';

/** A worker with its own connection pool, as a separate process would have. */
async function workerOn(url: string, handler: (events: OutboxEvent[]) => Promise<void>) {
  const ds = new DataSource({ ...dataSourceOptions({ url, poolSize: 2 }) });
  await ds.initialize();
  const handlers = new OutboxHandlers();
  handlers.register({ name: 'test', handles: () => true, handle: handler });
  return { ds, worker: new OutboxWorker(ds, handlers) };
}

describe('the transactional outbox', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await bootTestApp();
  });
  afterAll(() => t.close());

  const pending = async () => (await t.sql(`SELECT id, type FROM outbox WHERE processed_at IS NULL ORDER BY id`)) as Array<{ id: string; type: string }>;

  it('writes no event when the change rolls back', async () => {
    const before = (await t.sql(`SELECT count(*)::int AS n FROM outbox`))[0].n;
    await expect(
      t.get(UnitOfWork).run(async (tx) => {
        await tx.emit({ type: 'test.doomed', aggregateType: 'test', aggregateId: '00000000-0000-7000-8000-000000000001', payload: {} });
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    // A refused mutation writes nothing either.
    const admin = await makeUser(t, { role: 'ADMIN' });
    const q = `mutation($input: CreateSpaceInput!) { createSpace(input: $input) { id } }`;
    await t.gql(q, { input: { slug: 'dup', name: 'A', visibility: 'PUBLIC' } }, { token: admin.token });
    expectError(await t.gql(q, { input: { slug: 'dup', name: 'B', visibility: 'PUBLIC' } }, { token: admin.token }), 'BAD_USER_INPUT');
    expect((await t.sql(`SELECT count(*)::int AS n FROM outbox`))[0].n).toBe(before + 1);
    expect((await t.sql(`SELECT count(*)::int AS n FROM outbox WHERE type = 'test.doomed'`))[0].n).toBe(0);
  });

  it('delivers an event committed before a worker crash once a worker restarts', async () => {
    await t.sql(`UPDATE outbox SET processed_at = now()`);
    await t.get(UnitOfWork).run((tx) =>
      tx.emit({ type: 'test.survivor', aggregateType: 'test', aggregateId: '00000000-0000-7000-8000-000000000002', version: 3, payload: { n: 1 } }),
    );

    // Worker A claims the batch, then its process dies mid-handler (its connections are killed).
    let claimed!: () => void;
    const claimedP = new Promise<void>((r) => (claimed = r));
    const a = await workerOn(t.db.url, async () => {
      claimed();
      await new Promise(() => undefined); // never finishes: the crash happens here
    });
    const drainA = a.worker.drainOnce().catch(() => 'crashed');
    await claimedP;
    await t.sql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'parvis' AND pid <> pg_backend_pid() AND state = 'idle in transaction'`);
    await a.ds.destroy().catch(() => undefined);
    void drainA;
    expect((await pending()).map((e) => e.type)).toEqual(['test.survivor']);

    // Worker B (after the restart) receives it and marks it processed.
    const seen: OutboxEvent[] = [];
    const b = await workerOn(t.db.url, async (events) => {
      seen.push(...events);
    });
    await t.sql(`UPDATE outbox SET available_at = now() WHERE processed_at IS NULL`);
    expect(await b.worker.drain()).toBe(1);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ type: 'test.survivor', version: 3, payload: { n: 1 } });
    expect(await pending()).toEqual([]);
    await b.ds.destroy();
  });

  it('retries a failing batch later instead of losing it', async () => {
    await t.sql(`UPDATE outbox SET processed_at = now()`);
    await t.get(UnitOfWork).run((tx) =>
      tx.emit({ type: 'test.flaky', aggregateType: 'test', aggregateId: '00000000-0000-7000-8000-000000000003', payload: {} }),
    );
    let fail = true;
    const seen: string[] = [];
    const w = await workerOn(t.db.url, async (events) => {
      if (fail) throw new Error('search engine down');
      seen.push(...events.map((e) => e.type));
    });
    expect(await w.worker.drainOnce()).toBe(0);
    const [row] = await t.sql(`SELECT attempts, last_error, available_at > now() AS delayed FROM outbox WHERE type = 'test.flaky'`);
    expect(row).toMatchObject({ attempts: 1, last_error: 'search engine down', delayed: true });
    fail = false;
    await t.sql(`UPDATE outbox SET available_at = now() WHERE type = 'test.flaky'`);
    expect(await w.worker.drain()).toBe(1);
    expect(seen).toEqual(['test.flaky']);
    await w.ds.destroy();
  });

  it('parks an event after repeated failures, and puts it back in line on retry', async () => {
    await t.sql(`UPDATE outbox SET processed_at = now()`);
    await t.get(UnitOfWork).run((tx) =>
      tx.emit({ type: 'test.poisoned', aggregateType: 'test', aggregateId: '00000000-0000-7000-8000-000000000007', payload: {} }),
    );
    let fail = true;
    const w = await workerOn(t.db.url, async () => {
      if (fail) throw new Error('a handler bug');
    });
    const state = async () =>
      (await t.sql(`SELECT attempts, available_at = 'infinity'::timestamptz AS parked, processed_at IS NULL AS waiting FROM outbox WHERE type = 'test.poisoned'`))[0];
    for (let i = 1; i < OUTBOX_MAX_ATTEMPTS; i++) {
      await w.worker.drainOnce();
      expect(await state()).toEqual({ attempts: i, parked: false, waiting: true });
      await t.sql(`UPDATE outbox SET available_at = now() WHERE type = 'test.poisoned'`);
    }
    await w.worker.drainOnce();
    expect(await state()).toEqual({ attempts: OUTBOX_MAX_ATTEMPTS, parked: true, waiting: true });
    expect(await w.worker.drainOnce()).toBe(0); // parked: no longer tried
    // Never pruned while waiting, however old.
    await t.sql(`UPDATE outbox SET created_at = now() - interval '30 days' WHERE type = 'test.poisoned'`);
    await w.worker.pruneProcessed();
    fail = false;
    // Put back in line, and any worker listening is woken (the CLI that asks runs none itself).
    const listener = new Client({ connectionString: t.db.url });
    await listener.connect();
    await listener.query(`LISTEN ${OUTBOX_CHANNEL}`);
    const woken = new Promise<void>((resolve) => listener.once('notification', () => resolve()));
    expect(await w.worker.retryParked()).toBe(1);
    await woken;
    await listener.end();
    expect(await w.worker.drain()).toBe(1);
    expect(await state()).toMatchObject({ waiting: false });
    await w.ds.destroy();
  });

  it('holds back only the event that fails, not the rest of its batch', async () => {
    await t.sql(`UPDATE outbox SET processed_at = now()`);
    await t.get(UnitOfWork).run(async (tx) => {
      await tx.emit({ type: 'test.fine', aggregateType: 'test', aggregateId: '00000000-0000-7000-8000-000000000004', payload: { n: 1 } });
      await tx.emit({ type: 'test.poison', aggregateType: 'test', aggregateId: '00000000-0000-7000-8000-000000000005', payload: {} });
      await tx.emit({ type: 'test.fine', aggregateType: 'test', aggregateId: '00000000-0000-7000-8000-000000000006', payload: { n: 2 } });
    });
    const seen: number[] = [];
    const w = await workerOn(t.db.url, async (events) => {
      if (events.some((e) => e.type === 'test.poison')) throw new Error('cannot handle this one');
      seen.push(...events.map((e) => e.payload.n as number));
    });
    expect(await w.worker.drain()).toBe(2);
    expect(seen).toEqual([1, 2]);
    const rows = await t.sql(`SELECT type, processed_at IS NOT NULL AS done, attempts, available_at > now() AS delayed, last_error FROM outbox WHERE type LIKE 'test.%' AND processed_at IS NULL OR type = 'test.poison'`);
    expect(rows).toEqual([{ type: 'test.poison', done: false, attempts: 1, delayed: true, last_error: 'cannot handle this one' }]);
    await w.ds.destroy();
  });

  it('gives an event to every handler though one of them fails, and keeps it to be tried again', async () => {
    await t.sql(`UPDATE outbox SET processed_at = now()`);
    await t.get(UnitOfWork).run((tx) => tx.emit({ type: 'test.shared', aggregateType: 'test', aggregateId: '00000000-0000-7000-8000-000000000008', payload: {} }));
    // A handler that must wait (a mail server refusing for now), registered before one that need not.
    const w = await workerOn(t.db.url, async () => {
      throw new Error('not now');
    });
    const after: string[] = [];
    (w.worker as unknown as { handlers: OutboxHandlers }).handlers.register({ name: 'after', handles: () => true, handle: async (events) => void after.push(...events.map((e) => e.type)) });
    expect(await w.worker.drain()).toBe(0);
    expect(after).toEqual(['test.shared']);
    expect(await t.sql(`SELECT attempts, last_error FROM outbox WHERE type = 'test.shared' AND processed_at IS NULL`)).toEqual([{ attempts: 1, last_error: 'not now' }]);
    await w.ds.destroy();
  });

  it('lets an event wait for work another worker holds without counting a failed attempt, and counts a failure beside the wait, parking it only once the wait is over', async () => {
    await t.sql(`UPDATE outbox SET processed_at = now()`);
    await t.get(UnitOfWork).run((tx) => tx.emit({ type: 'test.held', aggregateType: 'test', aggregateId: '00000000-0000-7000-8000-000000000009', payload: {} }));
    // One try short of parking, from failures before.
    await t.sql(`UPDATE outbox SET attempts = $1 WHERE type = 'test.held'`, [OUTBOX_MAX_ATTEMPTS - 1]);
    const [{ until }] = await t.sql(`SELECT date_trunc('milliseconds', now() + interval '10 minutes') AS until`);
    let alsoFails = false;
    let held = true;
    const w = await workerOn(t.db.url, async () => {
      if (held) throw new OutboxWait('held by another worker', until);
    });
    (w.worker as unknown as { handlers: OutboxHandlers }).handlers.register({
      name: 'beside',
      handles: () => true,
      handle: async () => {
        if (alsoFails) throw new Error('a failure of its own');
      },
    });
    const state = async () =>
      (await t.sql(`SELECT attempts, available_at = $1 AS at_its_end, available_at = 'infinity'::timestamptz AS parked, last_error FROM outbox WHERE type = 'test.held' AND processed_at IS NULL`, [until]))[0];
    for (let i = 0; i < 3; i++) {
      expect(await w.worker.drain()).toBe(0);
      expect(await state()).toEqual({ attempts: OUTBOX_MAX_ATTEMPTS - 1, at_its_end: true, parked: false, last_error: 'held by another worker' });
      await t.sql(`UPDATE outbox SET available_at = now() WHERE type = 'test.held'`);
    }
    // A failure beside the wait is one, but on the event's last try it parks nothing while the
    // wait is pending: the event is due at the wait's end, so the work waited for is not left undone.
    alsoFails = true;
    expect(await w.worker.drain()).toBe(0);
    expect(await state()).toEqual({ attempts: OUTBOX_MAX_ATTEMPTS, at_its_end: true, parked: false, last_error: 'a failure of its own' });
    // The wait over (the held work done), the failure, with no wait beside it, parks the event.
    held = false;
    await t.sql(`UPDATE outbox SET available_at = now() WHERE type = 'test.held'`);
    expect(await w.worker.drain()).toBe(0);
    expect(await state()).toEqual({ attempts: OUTBOX_MAX_ATTEMPTS + 1, at_its_end: false, parked: true, last_error: 'a failure of its own' });
    await w.ds.destroy();
  });

  it('logs a handler giving up for now (OutboxRetryLater) as a warning, but a failure of another handler beside it as an error, and parks one that goes on, logged as an error', async () => {
    await t.sql(`UPDATE outbox SET processed_at = now()`);
    await t.get(UnitOfWork).run((tx) => tx.emit({ type: 'test.later', aggregateType: 'test', aggregateId: '00000000-0000-7000-8000-00000000000a', payload: {} }));
    // Two tries short of parking, from failures before.
    await t.sql(`UPDATE outbox SET attempts = $1 WHERE type = 'test.later'`, [OUTBOX_MAX_ATTEMPTS - 2]);
    let alsoFails = false;
    const w = await workerOn(t.db.url, async () => {
      throw new OutboxRetryLater('others kept changing it');
    });
    // Registered after the one giving up: its failure is the second.
    (w.worker as unknown as { handlers: OutboxHandlers }).handlers.register({
      name: 'beside',
      handles: () => true,
      handle: async () => {
        if (alsoFails) throw new Error('a handler bug');
      },
    });
    const log = (w.worker as unknown as { log: Logger }).log;
    const warned = jest.spyOn(log, 'warn').mockImplementation(() => undefined);
    const failed = jest.spyOn(log, 'error').mockImplementation(() => undefined);
    const state = async () => (await t.sql(`SELECT attempts, available_at = 'infinity'::timestamptz AS parked, last_error FROM outbox WHERE type = 'test.later' AND processed_at IS NULL`))[0];
    try {
      // A bug beside the giving up is no warning: it is logged as the error it is, and kept as the event's error.
      alsoFails = true;
      expect(await w.worker.drainOnce()).toBe(0);
      expect(failed).toHaveBeenCalledWith(expect.objectContaining({ err: expect.objectContaining({ message: 'a handler bug' }) }), expect.stringContaining('failed'));
      expect(await state()).toEqual({ attempts: OUTBOX_MAX_ATTEMPTS - 1, parked: false, last_error: 'a handler bug' });
      // Giving up alone: a warning, counted as a try all the same.
      alsoFails = false;
      failed.mockClear();
      warned.mockClear();
      await t.sql(`UPDATE outbox SET available_at = now() WHERE type = 'test.later'`);
      expect(await w.worker.drainOnce()).toBe(0);
      expect(warned).toHaveBeenCalledWith(expect.objectContaining({ err: expect.any(OutboxRetryLater) }), expect.stringContaining('retried'));
      // On its last try, the event is parked, and that is an error.
      expect(failed).toHaveBeenCalledTimes(1);
      expect(failed).toHaveBeenCalledWith({ events: [expect.objectContaining({ type: 'test.later' })] }, expect.stringContaining('parked'));
      expect(await state()).toEqual({ attempts: OUTBOX_MAX_ATTEMPTS, parked: true, last_error: 'others kept changing it' });
    } finally {
      warned.mockRestore();
      failed.mockRestore();
      await w.ds.destroy();
    }
  });
});
