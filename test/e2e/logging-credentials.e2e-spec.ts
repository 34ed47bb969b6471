import { Logger } from '@nestjs/common';
import { JobScheduler } from '../../libs/core/src/jobs';
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
});
