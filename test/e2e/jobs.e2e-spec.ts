import { JOB_LOCK_APPLICATION, JobScheduler } from '../../libs/core/src/jobs';
import { bootSecondNode, bootTestApp, TestApp } from '../support/test-app';

describe('scheduled jobs across processes', () => {
  let first: TestApp;
  let second: TestApp;

  beforeAll(async () => {
    first = await bootTestApp();
    second = await bootSecondNode(first);
  });
  afterAll(async () => {
    await second.close();
    await first.close();
  });

  it('runs a job in one process at a time: another process skips it while it runs', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const runs: string[] = [];
    first.get(JobScheduler).register('test-exclusive', 3_600_000, async () => {
      runs.push('first');
      await gate;
    });
    second.get(JobScheduler).register('test-exclusive', 3_600_000, async () => {
      runs.push('second');
    });
    const running = first.get(JobScheduler).runNow('test-exclusive');
    while (runs.length === 0) await new Promise((r) => setTimeout(r, 5));
    expect(await second.get(JobScheduler).runNow('test-exclusive')).toBe(false);
    release();
    expect(await running).toBe(true);
    // Once it is done, the next tick anywhere runs it.
    expect(await second.get(JobScheduler).runNow('test-exclusive')).toBe(true);
    expect(runs).toEqual(['first', 'second']);
  });

  it('keeps an hourly job to the hour across restarts and processes: run soon after start when due, never twice within the hour', async () => {
    const runs: string[] = [];
    // Schedulers of their own (fresh processes, as after a restart), with this job alone.
    const scheduler = (app: TestApp, who: string) => {
      const s = new JobScheduler(app.ds);
      s.register('test-hourly', 3_600_000, async () => void runs.push(who));
      return s;
    };
    const settle = () => new Promise((r) => setTimeout(r, 1800));
    const a = scheduler(first, 'a');
    a.start();
    await settle();
    a.stop();
    expect(runs).toEqual(['a']); // never run before: run at start, not an hour later
    // Restarted, on either node, within the hour: not again.
    const restarted = [scheduler(first, 'a2'), scheduler(second, 'b')];
    for (const s of restarted) s.start();
    await settle();
    for (const s of restarted) s.stop();
    expect(runs).toEqual(['a']);
    // An hour on: the next process to start runs it.
    await first.sql(`UPDATE job_runs SET last_run_at = now() - interval '61 minutes' WHERE name = 'test-hourly'`);
    const later = scheduler(second, 'b2');
    later.start();
    await settle();
    later.stop();
    expect(runs).toEqual(['a', 'b2']);
    for (const s of [a, ...restarted, later]) await s.onModuleDestroy();
    // A frequent job keeps no record: nothing would read it.
    const frequent = new JobScheduler(first.ds);
    frequent.register('test-frequent', 2_000, async () => undefined);
    expect(await frequent.runNow('test-frequent')).toBe(true);
    expect(await first.sql(`SELECT 1 FROM job_runs WHERE name = 'test-frequent'`)).toEqual([]);
    await frequent.onModuleDestroy();
  });

  it('holds job locks on a connection of its own, not one of the pool, and opens another once it is lost', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let started = false;
    const jobs = first.get(JobScheduler);
    jobs.register('test-own-connection', 3_600_000, async () => {
      started = true;
      await gate;
    });
    const running = jobs.runNow('test-own-connection');
    while (!started) await new Promise((r) => setTimeout(r, 5));
    const holders = async () =>
      (await first.sql(
        `SELECT a.application_name, a.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
          WHERE l.locktype = 'advisory' AND l.granted AND a.datname = current_database() AND a.application_name = $1`,
        [JOB_LOCK_APPLICATION],
      )) as Array<{ application_name: string; pid: number }>;
    const held = await holders();
    expect(held).toHaveLength(1);
    release();
    expect(await running).toBe(true);
    expect(await holders()).toEqual([]);
    // The lock connection dies (a restarted server, an idle timeout): the next run opens another.
    await first.sql(`SELECT pg_terminate_backend($1)`, [held[0].pid]);
    expect(await jobs.runNow('test-own-connection')).toBe(true);
  });
});
