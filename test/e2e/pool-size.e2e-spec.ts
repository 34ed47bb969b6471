import { OutboxWorker } from '../../libs/core/src/outbox/outbox';
import { makeBoard, makeSpace, makeUser } from '../factories';
import { createTopic } from '../factories/forum';
import { bootTestApp, TestApp } from '../support/test-app';

/**
 * Why a process that runs the outbox worker needs two pool connections at least (DB_POOL_SIZE,
 * refused below that at start-up: config.spec, process.spec). The worker's claim holds one
 * connection while the handlers run on others: on a pool of one, every handler's statement waits
 * for the claim's own connection, and fails once DB_CONNECTION_TIMEOUT_MS has passed; on two, the
 * events are delivered. The test apps run no worker of their own (WORKER_IN_PROCESS is off with
 * DATABASE_URL), so their pool of one is accepted; the test drains the outbox itself.
 */
describe('the outbox worker on a pool of one connection, and of two', () => {
  /** Leaves a new topic's events the only ones waiting: what came before is marked processed. */
  const topicEvents = async (t: TestApp): Promise<void> => {
    const user = await makeUser(t);
    const board = await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id);
    await t.sql(`UPDATE outbox SET processed_at = now() WHERE processed_at IS NULL`);
    await createTopic(t, user.token, board, { title: 'Delivered by the outbox worker' });
    expect((await t.sql(`SELECT count(*)::int AS n FROM outbox WHERE processed_at IS NULL`))[0].n).toBeGreaterThan(0);
  };
  const outbox = (t: TestApp) =>
    t.sql<{ processed: boolean; attempts: number; last_error: string | null; later: boolean }>(
      `SELECT processed_at IS NOT NULL AS processed, attempts, last_error, available_at > now() AS later FROM outbox WHERE processed_at IS NULL OR attempts > 0 ORDER BY id`,
    );

  it('starves on one: the handlers wait for the connection the claim holds, fail at the pool’s wait, and the events wait for their back-off', async () => {
    const t = await bootTestApp({ DB_POOL_SIZE: '1', DB_CONNECTION_TIMEOUT_MS: '300' });
    try {
      await topicEvents(t);
      expect(await t.get(OutboxWorker).drain()).toBe(0);
      // Every event the drain took (those waiting, and any it delivered).
      const rows = await outbox(t);
      expect(rows.length).toBeGreaterThan(0);
      expect(rows).toEqual(rows.map(() => ({ processed: false, attempts: 1, last_error: 'timeout exceeded when trying to connect', later: true })));
    } finally {
      await t.close();
    }
  });

  it('delivers on two', async () => {
    const t = await bootTestApp({ DB_POOL_SIZE: '2' });
    try {
      await topicEvents(t);
      expect(await t.get(OutboxWorker).drain()).toBeGreaterThan(0);
      expect((await t.sql(`SELECT count(*)::int AS n FROM outbox WHERE processed_at IS NULL OR last_error IS NOT NULL`))[0].n).toBe(0);
    } finally {
      await t.close();
    }
  });
});
