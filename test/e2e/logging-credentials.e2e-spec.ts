import { Logger } from '@nestjs/common';
import { JobScheduler } from '../../libs/core/src/jobs';
import { UnitOfWork } from '../../libs/core/src/database/unit-of-work';
import { OutboxHandlers, OutboxWorker } from '../../libs/core/src/outbox/outbox';
import { SearchSync } from '../../libs/search/src/search-sync';
import { pollFor } from '../support/lock-waits';
import { logSink } from '../support/log-sink';
import { bootTestApp, TestApp } from '../support/test-app';

// A file of its own: nestjs-pino keeps the first application's logger for logs written outside
// a request (a job's, the search sync's, the start-up's), so this application must be the file's first.
describe('logs of errors naming a URL with its password (a MEILI_URL with a user and password in it)', () => {
  let t: TestApp;
  const { lines, sink } = logSink();
  const secret = 's3cret-pw';
  const meiliUrl = `http://parvis:${secret}@127.0.0.1:1`;

  beforeAll(async () => {
    // Nothing listens at port 1: every request of Meilisearch's client fails, its error naming MEILI_URL whole.
    t = await bootTestApp({ LOG_LEVEL: 'debug', MEILI_URL: meiliUrl }, sink);
  });
  afterAll(() => t.close());

  it("keep the password out of every line: an error's message, stack and cause, the message pino takes from it, fields and text", async () => {
    // The search sync logs its engine's errors itself; a job's warning logs what the run threw.
    await t.sql(`INSERT INTO search_sync_queue (post_id) VALUES (gen_random_uuid())`);
    expect(await t.get(SearchSync).drain()).toBe(0);
    // What the queue keeps of the failure, for an operator to read, names the URL without its password.
    expect(await t.sql(`SELECT last_error FROM search_sync_queue`)).toEqual([{ last_error: expect.stringContaining('Request to http://parvis:[redacted]@127.0.0.1:1/') }]);
    const { Meilisearch } = await import('meilisearch');
    const jobs = new JobScheduler(t.ds);
    jobs.register('test-failed-secret', 3_600_000, () => new Meilisearch({ host: meiliUrl }).health());
    const err = await new Meilisearch({ host: meiliUrl }).health().then(
      () => new Error('Meilisearch answered at port 1'),
      (e: unknown) => e as Error,
    );
    expect(err.message).toContain(secret);
    const log = new Logger('log-redaction-test');
    log.warn({ err, request: { url: meiliUrl } }, 'a Meilisearch error, and a field naming its URL');
    // No message given: pino takes the error's.
    log.error(err);
    log.warn(`a text naming ${meiliUrl}/health`);
    try {
      jobs.start();
      // The start-up's warning that Meilisearch is out of reach, and the job's first run's (a second after start).
      await pollFor(async () => (['is not reachable', 'scheduled job failed'].every((w) => lines.some((l) => l.includes(w))) ? true : undefined), 'the warnings');
    } finally {
      await jobs.onModuleDestroy();
    }
    const all = lines.join('');
    for (const said of ['did not take 1 documents', 'a Meilisearch error', 'a text naming', 'is not reachable', 'scheduled job failed']) expect(all).toContain(said);
    expect(all).toContain('Request to http://parvis:[redacted]@127.0.0.1:1/health has failed');
    expect(all).not.toContain(secret);
    // The error thrown is left as it was.
    expect(err.message).toContain(secret);
  });

  it("store a failed event's error without the password a URL in it carries (outbox.last_error)", async () => {
    await t.sql(`UPDATE outbox SET processed_at = now() WHERE processed_at IS NULL`);
    await t.get(UnitOfWork).run((tx) => tx.emit({ type: 'test.secret_failure', aggregateType: 'test', aggregateId: '00000000-0000-7000-8000-00000000000a', payload: {} }));
    const handlers = new OutboxHandlers();
    handlers.register({
      name: 'test-secret',
      handles: (type) => type === 'test.secret_failure',
      handle: () => Promise.reject(new Error(`could not reach ${meiliUrl}/health nor postgres://app:${secret}@db/parvis?password=${secret}`)),
    });
    expect(await new OutboxWorker(t.ds, handlers).drainOnce()).toBe(0);
    expect(await t.sql(`SELECT last_error FROM outbox WHERE type = 'test.secret_failure'`)).toEqual([
      { last_error: 'could not reach http://parvis:[redacted]@127.0.0.1:1/health nor postgres://app:[redacted]@db/parvis?password=[redacted]' },
    ]);
  });
});
