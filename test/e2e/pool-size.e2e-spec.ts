import { OutboxWorker } from '../../libs/core/src/outbox/outbox';
import { makeBoard, makeSpace, makeUser } from '../factories';
import { createTopic } from '../factories/forum';
import { bootTestApp, TestApp } from '../support/test-app';

/**
 * A process that runs the outbox worker needs two pool connections at least (DB_POOL_SIZE,
 * refused below that at start-up: config.spec, process.spec): the worker's claim holds one
 * connection while the handlers run on others. On two, the events are delivered. (On one, every
 * handler's statement waits for the claim's own connection and fails once DB_CONNECTION_TIMEOUT_MS
 * has passed; that case is not run here: with the short wait it needs, any other statement of the
 * app on the one connection could outlast the wait on a loaded machine, and it failed so in CI.)
 * The test apps run no worker of their own (WORKER_IN_PROCESS is off with DATABASE_URL); the test
 * drains the outbox itself.
 */
describe('the outbox worker on a pool of two connections', () => {
  /** Leaves a new topic's events the only ones waiting: what came before is marked processed. */
  const topicEvents = async (t: TestApp): Promise<void> => {
    const user = await makeUser(t);
    const board = await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id);
    await t.sql(`UPDATE outbox SET processed_at = now() WHERE processed_at IS NULL`);
    await createTopic(t, user.token, board, { title: 'Delivered by the outbox worker' });
    expect((await t.sql(`SELECT count(*)::int AS n FROM outbox WHERE processed_at IS NULL`))[0].n).toBeGreaterThan(0);
  };

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
