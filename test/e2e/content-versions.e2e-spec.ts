import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { Logger } from '@nestjs/common';
import { ALERT_EXIT } from '../../apps/cli/src/exit-codes';
import { JobScheduler } from '../../libs/core/src/jobs';
import {
  CONTENT_VERSIONS_CHECK_MS,
  CONTENT_VERSIONS_REWARN_MS,
  CONTENT_VERSIONS_WARN_PERCENT,
  CONTENT_VERSIONS_WARN_STEP_PERCENT,
  ContentVersionsUsage,
  contentVersionsWarning,
  describeContentVersionsUse,
} from '../../libs/forum/src/content-versions';
import { buildDistOnce } from '../support/dist';
import { bootTestApp, TestApp } from '../support/test-app';

/** The `integer` sequence's last value. */
const MAX = 2 ** 31 - 1;

describe('content_versions use', () => {
  let t: TestApp;
  let usage: ContentVersionsUsage;
  let jobs: JobScheduler;
  let warn: jest.SpyInstance;
  /** The sequence as the test found it, set back after (the database is the suite's own, but nothing else should find it near its end). */
  let was: { last_value: string; is_called: boolean };

  const setval = (value: number, called = true) => t.sql(`SELECT setval('content_versions', $1, $2)`, [value, called]);
  /** The warnings this check logged (other parts of the app may log their own meanwhile). */
  const versionWarnings = () => warn.mock.calls.filter((c) => typeof c[1] === 'string' && c[1].startsWith('content versions:'));

  beforeAll(async () => {
    t = await bootTestApp();
    usage = t.get(ContentVersionsUsage);
    jobs = t.get(JobScheduler);
    [was] = await t.sql(`SELECT last_value::text, is_called FROM content_versions`);
  });
  beforeEach(() => {
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => warn.mockRestore());
  afterAll(async () => {
    await t.sql(`SELECT setval('content_versions', $1, $2)`, [was.last_value, was.is_called]);
    await t.close();
  });

  it('counts the values handed out, of 2^31 - 1, and follows a write that draws one', async () => {
    await setval(1000);
    expect(await usage.read()).toEqual({ used: 1000, max: MAX, percent: 0 });
    // A write of a post, topic or idea draws through next_version: one value more is used.
    await t.sql(`SELECT next_version(1)`);
    expect((await usage.read()).used).toBe(1001);
    // Set but not yet handed out (setval's third argument false, as a new sequence is): one fewer.
    await setval(1000, false);
    expect((await usage.read()).used).toBe(999);
  });

  it('reads near the end what is left, the percentage rounded down so it reads 100 only when nothing is', async () => {
    await setval(MAX - 1000);
    const near = await usage.read();
    expect(near).toEqual({ used: MAX - 1000, max: MAX, percent: 99.99 });
    expect(describeContentVersionsUse(near)).toBe(`content versions: ${MAX - 1000} of ${MAX} used (99.99%)`);
    await setval(MAX);
    expect(await usage.read()).toEqual({ used: MAX, max: MAX, percent: 100 });
    // At the end, a write fails rather than wrapping: what the figure warns of.
    await expect(t.sql(`SELECT next_version(1)`)).rejects.toThrow(/reached maximum value of sequence/);
  });

  it('warns past the threshold, through the hourly job, and not before it', async () => {
    expect(jobs.names()).toContain('content-versions-usage');
    // The last value below CONTENT_VERSIONS_WARN_PERCENT, then the first at it.
    const first = Math.ceil((MAX * CONTENT_VERSIONS_WARN_PERCENT) / 100);
    await setval(first - 1);
    expect(await jobs.runNow('content-versions-usage')).toBe(true);
    const below = await usage.read();
    expect(below.percent).toBe(74.99);
    expect(contentVersionsWarning(below)).toBeUndefined();
    expect(versionWarnings()).toEqual([]);

    await setval(first);
    expect(await jobs.runNow('content-versions-usage')).toBe(true);
    expect(versionWarnings()).toEqual([
      [{ contentVersions: { used: first, max: MAX, percent: 75 } }, `content versions: ${first} of ${MAX} used (75.00%): past 75%: once it ends every write of a post, topic or idea fails; widen the versions before then (docs/architecture.md, versions)`],
    ]);
  });

  it('warns once an hour at most for the whole site (the scheduler keeps the job to its hour), never per read', async () => {
    await setval(MAX - 10);
    // Reads (the CLI's) log nothing.
    await usage.read();
    expect(versionWarnings()).toEqual([]);
    // Every other job as if just run, so that starting the scheduler runs none of them now.
    await t.sql(`INSERT INTO job_runs (name, last_run_at) SELECT unnest($1::text[]), now() ON CONFLICT (name) DO UPDATE SET last_run_at = now()`, [jobs.names()]);
    const lastRun = (minutesAgo: number) => t.sql(`UPDATE job_runs SET last_run_at = now() - make_interval(mins => $1) WHERE name = 'content-versions-usage'`, [minutesAgo]);
    /**
     * Starts the scheduler as a worker does and stops it once its first check of this job (soon after start, against
     * job_runs: every process's scheduler keeps an hourly job to the same hour) is over; whether it ran the job.
     */
    const startedOnce = async (): Promise<boolean> => {
      const query = jest.spyOn(t.ds, 'query');
      const runNow = jest.spyOn(jobs, 'runNow');
      jobs.start();
      try {
        const check = () => query.mock.calls.findIndex(([sql, params]) => String(sql).includes('FROM job_runs') && Array.isArray(params) && params[0] === 'content-versions-usage');
        for (let i = 0; check() < 0; i++) {
          if (i === 500) throw new Error('the scheduler never checked content-versions-usage');
          await new Promise((r) => setTimeout(r, 20));
        }
        await query.mock.results[check()].value;
        await new Promise((r) => setImmediate(r));
        const run = runNow.mock.calls.findIndex(([name]) => name === 'content-versions-usage');
        return run < 0 ? false : await runNow.mock.results[run].value;
      } finally {
        jobs.stop();
        query.mockRestore();
        runNow.mockRestore();
      }
    };
    // Run 59 minutes ago: not due yet. 61: due, and it warns; then not again within the hour.
    await lastRun(59);
    expect(await startedOnce()).toBe(false);
    expect(versionWarnings()).toEqual([]);
    await lastRun(61);
    expect(await startedOnce()).toBe(true);
    expect(versionWarnings()).toHaveLength(1);
    expect(await startedOnce()).toBe(false);
    expect(versionWarnings()).toHaveLength(1);
  });

  it('warns again only when the figure reaches the next step (each 5%) or a day after its last warning, not at every hourly check', async () => {
    // A check of its own (nothing it last warned of), on the monotonic clock it reads, which the test moves as the hourly
    // job would, an hour a check.
    const own = new ContentVersionsUsage(t.ds);
    const at = (percent: number) => setval(Math.ceil((MAX * percent) / 100));
    let clock = 0;
    const monotonic = jest.spyOn(performance, 'now').mockImplementation(() => clock);
    const checkAt = async (ms: number) => {
      clock = ms;
      return (await own.check()).percent;
    };
    try {
      expect(CONTENT_VERSIONS_WARN_STEP_PERCENT).toBe(5);
      await at(75.5);
      expect(await checkAt(0)).toBe(75.5);
      expect(versionWarnings()).toHaveLength(1);
      // The same step through the day: nothing (until 2026-12-06, a warning every hour).
      await at(79.5);
      for (let h = 1; h < 24; h++) await checkAt(h * CONTENT_VERSIONS_CHECK_MS);
      expect(versionWarnings()).toHaveLength(1);
      // A day after the warning, a reminder; then the next step at once, though within the day.
      await checkAt(CONTENT_VERSIONS_REWARN_MS);
      expect(versionWarnings()).toHaveLength(2);
      await at(80.5);
      expect(await checkAt(CONTENT_VERSIONS_REWARN_MS + CONTENT_VERSIONS_CHECK_MS)).toBe(80.5);
      expect(versionWarnings()).toHaveLength(3);
      expect(versionWarnings()[2][0]).toEqual({ contentVersions: { used: Math.ceil((MAX * 80.5) / 100), max: MAX, percent: 80.5 } });
      await checkAt(CONTENT_VERSIONS_REWARN_MS + 2 * CONTENT_VERSIONS_CHECK_MS);
      expect(versionWarnings()).toHaveLength(3);
      // Below the threshold (widened, say), then past it again: warned of as new.
      await at(10);
      await checkAt(CONTENT_VERSIONS_REWARN_MS + 3 * CONTENT_VERSIONS_CHECK_MS);
      await at(76);
      await checkAt(CONTENT_VERSIONS_REWARN_MS + 4 * CONTENT_VERSIONS_CHECK_MS);
      expect(versionWarnings()).toHaveLength(4);
    } finally {
      monotonic.mockRestore();
    }
  });

  it('fails the hourly job when its read fails, rather than passing it as checked', async () => {
    // What this suite alone proves: check() lets its read's error through to the scheduler, so a failed check is a failed
    // run. How the scheduler then retries a failed run (a minute on, doubling: job_runs.failures) is the jobs e2e's, for
    // every job; a retry test here went over that again and is gone.
    const read = jest.spyOn(usage, 'read').mockRejectedValueOnce(new Error('Connection terminated unexpectedly'));
    try {
      await expect(jobs.runNow('content-versions-usage')).rejects.toThrow('Connection terminated unexpectedly');
    } finally {
      read.mockRestore();
    }
    // (Its next run succeeds, which also starts job_runs' count of failures again.)
    expect(await jobs.runNow('content-versions-usage')).toBe(true);
  });

  describe('content:versions (the built CLI, as a monitoring script runs it)', () => {
    const ROOT = path.join(__dirname, '../..');
    beforeAll(() => buildDistOnce(), 300_000);

    /** The command run on this suite's database: its exit code and what it printed. */
    const run = () => {
      const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: t.db.url, NODE_ENV: 'test', LOG_LEVEL: 'warn' };
      delete env.REDIS_URL;
      const cli = spawnSync(process.execPath, [path.join(ROOT, 'dist/apps/cli/src/main.js'), 'content:versions'], { cwd: ROOT, env, input: '', encoding: 'utf8' });
      return { status: cli.status, stdout: cli.stdout, ...(cli.status === 0 || cli.status === ALERT_EXIT ? {} : { stderr: cli.stderr }) };
    };

    it(`exits 0 below the warning threshold, and ${ALERT_EXIT} (not 1, a failure) from it, the figure printed either way`, async () => {
      expect(ALERT_EXIT).not.toBe(1);
      const first = Math.ceil((MAX * CONTENT_VERSIONS_WARN_PERCENT) / 100);
      await setval(first - 1);
      expect(run()).toEqual({ status: 0, stdout: `content versions: ${first - 1} of ${MAX} used (74.99%)\n` });
      await setval(first);
      const past = { used: first, max: MAX, percent: 75 };
      expect(run()).toEqual({ status: ALERT_EXIT, stdout: `${describeContentVersionsUse(past)}\n${contentVersionsWarning(past)}\n` });
    }, 120_000);
  });
});
