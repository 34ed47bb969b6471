import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import { loadConfig } from '../../libs/core/src/config/config';
import { PgListener } from '../../libs/core/src/database/pg-listener';
import { FAILURE_RETRY_MS, JOB_DUE_CHANNEL, JOB_LOCK_APPLICATION, JobScheduler } from '../../libs/core/src/jobs';
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

  /**
   * The lines a scheduler logs of `job` (kept, not printed: `warnings`, `infos`), with the monotonic clock its warnings'
   * throttles read held still but for `advance`; `restore` puts the logger and the clock back.
   */
  const watchLogs = (job: string) => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const info = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    let clock = 1_000_000;
    const now = jest.spyOn(performance, 'now').mockImplementation(() => clock);
    const mine = (spy: jest.SpyInstance) => spy.mock.calls.filter(([fields]) => fields?.job === job);
    return {
      warnings: () => mine(warn),
      infos: () => mine(info),
      advance: (ms: number) => void (clock += ms),
      restore: () => {
        now.mockRestore();
        info.mockRestore();
        warn.mockRestore();
      },
    };
  };
  /**
   * The database refusing the records of `job`'s failed runs (`failures = failures + 1`), as one gone away with the run
   * would: the first `refused` of them (every one by default). `tries` counts them, refused or written; `restore` ends it.
   */
  const refuseFailureRecords = (job: string, refused = Infinity) => {
    const real = first.ds.query.bind(first.ds);
    let tries = 0;
    const spy = jest.spyOn(first.ds, 'query').mockImplementation(async (sql: string, params?: unknown[]) => {
      if (sql.includes('failures = failures + 1') && params?.[0] === job && ++tries <= refused) throw new Error('Connection terminated unexpectedly');
      return real(sql, params);
    });
    return { tries: () => tries, restore: () => spy.mockRestore() };
  };
  /**
   * An hourly job `name` that fails while `failing` holds, each run noted in `runs` (`<who> failed` or `<who> succeeded`):
   * `scheduler` makes one process's scheduler of it, `reachDue` makes it due, `failed` is its `scheduled job failed` line.
   */
  const hourlyJob = (name: string) => {
    const job = {
      failing: true,
      runs: [] as string[],
      scheduler: (app: TestApp, who: string) => {
        const s = new JobScheduler(app.ds);
        s.register(name, 3_600_000, async () => {
          job.runs.push(`${who} ${job.failing ? 'failed' : 'succeeded'}`);
          if (job.failing) throw new Error('the job failed');
        });
        return s;
      },
      reachDue: () => first.sql(`UPDATE job_runs SET last_run_at = now() - interval '1 hour' WHERE name = $1`, [name]),
      failed: [{ err: expect.objectContaining({ message: 'the job failed' }), job: name }, 'scheduled job failed'],
    };
    return job;
  };
  /**
   * One tick of `s` (its first: a second after start, or a frequent job's first interval), as a process started anew would
   * make, with this scheduler's memory, waited for to its end, not for a while: its run through runNow settled (what the tick
   * does after it, its line or its count, runs before the next turn of the event loop), or the job found not due yet (its
   * debug line, the tick's last step). Its timers are stopped as it calls runNow, so no other tick starts meanwhile. A tick
   * that fails before either (its due check refused) is not waited for: the test times out. Until 2026-12-07 a tick was given
   * 1.8 s of wall time, which a loaded machine overran: a tick's count landed after the test moved the clock (notLogged 1 for 2).
   */
  const tick = async (s: JobScheduler) => {
    let ended: Promise<unknown> | undefined;
    const runNow = s.runNow.bind(s);
    const run = jest.spyOn(s, 'runNow').mockImplementation((...args) => {
      s.stop();
      const running = runNow(...args);
      ended = running.catch(() => undefined);
      return running;
    });
    const debug = jest.spyOn(Logger.prototype, 'debug').mockImplementation((fields?: { job?: string }, message?: unknown) => {
      if (message === 'scheduled job not due yet' && s.names().includes(fields?.job ?? '')) ended = Promise.resolve();
    });
    s.start();
    try {
      while (!ended) await new Promise((r) => setTimeout(r, 20));
      await ended;
      await new Promise((r) => setImmediate(r));
    } finally {
      s.stop();
      debug.mockRestore();
      run.mockRestore();
    }
  };

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

  it('runs a job once at a time in one process too: a run by hand while another run of it goes on is skipped', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let runs = 0;
    const s = new JobScheduler(first.ds);
    s.register('test-exclusive-here', 2_000, async () => {
      runs++;
      await gate;
    });
    const running = s.runNow('test-exclusive-here');
    try {
      while (runs === 0) await new Promise((r) => setTimeout(r, 5));
      // On the same process's lock connection, whose session advisory lock is taken again by the same session: until
      // 2026-12-07 it was, and the job ran twice at once.
      let settled = false;
      const again = s.runNow('test-exclusive-here').finally(() => (settled = true));
      while (!settled && runs < 2) await new Promise((r) => setTimeout(r, 5));
      expect(runs).toBe(1);
      expect(await again).toBe(false);
    } finally {
      release();
    }
    expect(await running).toBe(true);
    // Once it is done, the next run goes.
    expect(await s.runNow('test-exclusive-here')).toBe(true);
    expect(runs).toBe(2);
    await s.onModuleDestroy();
  });

  /** The application names of the sessions that hold job `name`'s advisory lock (pg_locks shows its key's halves). */
  const lockHolders = async (name: string) =>
    (
      await first.sql<{ application_name: string }>(
        `SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
          WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
            AND ((l.classid::bigint << 32) | l.objid::bigint) = hashtextextended($1, 0)`,
        [`parvis:job:${name}`],
      )
    ).map((r) => r.application_name);

  it('waits, shutting down, for a run in progress: its lock stays held, another process skips the job, and its own unlock releases it', async () => {
    const name = 'test-shutdown-waits';
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const order: string[] = [];
    const a = new JobScheduler(first.ds);
    a.register(name, 3_600_000, async () => {
      order.push('run');
      await gate;
      order.push('run ended');
    });
    const b = new JobScheduler(second.ds);
    b.register(name, 3_600_000, async () => void order.push('b'));
    const running = a.runNow(name);
    while (order.length === 0) await new Promise((r) => setTimeout(r, 5));
    const destroying = a.onModuleDestroy().then(() => void order.push('destroyed'));
    // Until 2026-12-07 the shutdown ended the lock connection at once: the lock went while the run went on.
    expect(await lockHolders(name)).toEqual([JOB_LOCK_APPLICATION]);
    expect(await b.runNow(name)).toBe(false);
    expect(await lockHolders(name)).toEqual([JOB_LOCK_APPLICATION]);
    release();
    expect(await running).toBe(true);
    await destroying;
    expect(order).toEqual(['run', 'run ended', 'destroyed']);
    expect(await lockHolders(name)).toEqual([]);
    // Released by the run's unlock: the next run anywhere takes it.
    expect(await b.runNow(name)).toBe(true);
    await b.onModuleDestroy();
  });

  it('warns, shutting down, of a run that outlasts its wait by name, and goes on while the run does', async () => {
    const name = 'test-shutdown-outlasted';
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let started = false;
    const s = new JobScheduler(first.ds);
    s.register(name, 3_600_000, async () => {
      started = true;
      await gate;
    });
    // A bound the run outlasts whatever it is: the test releases the run only after the shutdown.
    s.shutdownWaitMs = 1;
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const running = s.runNow(name);
    try {
      while (!started) await new Promise((r) => setTimeout(r, 5));
      await s.onModuleDestroy();
      expect(warn.mock.calls.filter(([, line]) => String(line).startsWith('shutting down with job runs still in progress'))).toEqual([
        [{ jobs: [name], waitedMs: 1 }, 'shutting down with job runs still in progress: their locks are released as the job-lock connection ends'],
      ]);
    } finally {
      release();
      warn.mockRestore();
    }
    // Its unlock finds the connection closed; the lock went with its session.
    expect(await running).toBe(true);
  });

  it('opens no lock connection again for a run whose lock statement the shutdown cut off past its wait: the job does not run', async () => {
    const name = 'test-shutdown-cut-lock';
    let runs = 0;
    const s = new JobScheduler(first.ds);
    s.register(name, 3_600_000, async () => void runs++);
    s.shutdownWaitMs = 1;
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    // Its lock statement is stuck (a hung backend): the shutdown's wait passes, and its ending the connection cuts it off.
    const real = Client.prototype.query;
    let stalled!: () => void;
    const stuck = new Promise<void>((resolve) => (stalled = resolve));
    let once = false;
    const spy = jest.spyOn(Client.prototype, 'query').mockImplementation(function (this: Client, ...args: unknown[]) {
      const stall = !once && String(args[0]).includes('pg_try_advisory_lock') && (args[1] as unknown[])?.[0] === `parvis:job:${name}`;
      if (stall) {
        once = true;
        stalled();
      }
      return (real as (...a: unknown[]) => Promise<unknown>).apply(this, stall ? ['SELECT pg_sleep(3600)'] : args);
    } as typeof real);
    try {
      const running = s.runNow(name).catch((err: Error) => err);
      await stuck;
      await s.onModuleDestroy();
      // Until 2026-12-07 the run took its cut-off statement for a lost connection and opened another, after the
      // shutdown had ended the last: the job ran as the process went, on a lock connection nothing would end.
      expect(await running).toBe(false);
      expect(runs).toBe(0);
      expect(await lockHolders(name)).toEqual([]);
    } finally {
      spy.mockRestore();
      warn.mockRestore();
      await first.sql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query = 'SELECT pg_sleep(3600)'`);
    }
  });

  it('starts no run once a shutdown has begun: runNow returns false', async () => {
    const s = new JobScheduler(first.ds);
    let runs = 0;
    s.register('test-after-shutdown', 3_600_000, async () => void runs++);
    const destroying = s.onModuleDestroy();
    // Until 2026-12-07 it opened a new lock connection and ran the job.
    expect(await s.runNow('test-after-shutdown')).toBe(false);
    await destroying;
    expect(await s.runNow('test-after-shutdown')).toBe(false);
    expect(runs).toBe(0);
  });

  it('keeps an hourly job to the hour across restarts and processes: run soon after start when due, never twice within the hour', async () => {
    const runs: string[] = [];
    // Schedulers of their own (fresh processes, as after a restart), with this job alone.
    const scheduler = (app: TestApp, who: string) => {
      const s = new JobScheduler(app.ds);
      s.register('test-hourly', 3_600_000, async () => void runs.push(who));
      return s;
    };
    const a = scheduler(first, 'a');
    await tick(a);
    expect(runs).toEqual(['a']); // never run before: run at start, not an hour later
    // Restarted, on either node, within the hour: not again.
    const restarted = [scheduler(first, 'a2'), scheduler(second, 'b')];
    for (const s of restarted) await tick(s);
    expect(runs).toEqual(['a']);
    // An hour on: the next process to start runs it.
    await first.sql(`UPDATE job_runs SET last_run_at = now() - interval '61 minutes' WHERE name = 'test-hourly'`);
    const later = scheduler(second, 'b2');
    await tick(later);
    expect(runs).toEqual(['a', 'b2']);
    for (const s of [a, ...restarted, later]) await s.onModuleDestroy();
    // A frequent job keeps no record: nothing would read it.
    const frequent = new JobScheduler(first.ds);
    frequent.register('test-frequent', 2_000, async () => undefined);
    expect(await frequent.runNow('test-frequent')).toBe(true);
    expect(await first.sql(`SELECT 1 FROM job_runs WHERE name = 'test-frequent'`)).toEqual([]);
    await frequent.onModuleDestroy();
  });

  it('tries a failing hourly job again after a minute, doubling while it keeps failing, up to the hour, in any process', async () => {
    let failing = true;
    const runs: string[] = [];
    const scheduler = (app: TestApp, who: string) => {
      const s = new JobScheduler(app.ds);
      s.register('test-failing', 3_600_000, async () => {
        runs.push(who);
        if (failing) throw new Error('the job failed');
      });
      return s;
    };
    const [a, b] = [scheduler(first, 'a'), scheduler(second, 'b')];
    /** Seconds until the job is due (rounded up), and its failures in a row. */
    const due = async () =>
      (await first.sql(`SELECT ceil(extract(epoch FROM last_run_at + interval '1 hour' - now()))::int AS in_s, failures FROM job_runs WHERE name = 'test-failing'`))[0] as { in_s: number; failures: number };
    /** Its due time reached, as the scheduler's clock would reach it. */
    const reachDue = () => first.sql(`UPDATE job_runs SET last_run_at = now() - interval '1 hour' WHERE name = 'test-failing'`);
    /** A run by `s` that fails: then `failures` in a row, and due between `afterS` (excluded) and `withinS` seconds on. */
    const failsAgain = async (s: JobScheduler, failures: number, afterS: number, withinS: number) => {
      await expect(s.runNow('test-failing', 3_600_000)).rejects.toThrow('the job failed');
      const after = await due();
      expect(after.failures).toBe(failures);
      expect(after.in_s).toBeGreaterThan(afterS);
      expect(after.in_s).toBeLessThanOrEqual(withinS);
    };
    // A minute on, not at the next tick (fa5b9175: every minute, forever), nor an hour on (before it).
    await failsAgain(a, 1, 0, 60);
    expect(await b.runNow('test-failing', 3_600_000)).toBe(false);
    // The other process fails it too: two minutes on.
    await reachDue();
    await failsAgain(b, 2, 60, 120);
    // Past 32 minutes it is hourly, no longer.
    await first.sql(`UPDATE job_runs SET failures = 6 WHERE name = 'test-failing'`);
    await reachDue();
    await failsAgain(a, 7, 3_540, 3_600);
    // Once it succeeds, the count starts again and the hour counts from the run.
    failing = false;
    await reachDue();
    expect(await a.runNow('test-failing', 3_600_000)).toBe(true);
    const after = await due();
    expect(after.failures).toBe(0);
    expect(after.in_s).toBeGreaterThan(3_540);
    expect(runs).toEqual(['a', 'b', 'a', 'a']);
    for (const s of [a, b]) await s.onModuleDestroy();
  });

  it('records a failure it could not record at once (the database gone meanwhile) at the job\'s next tick', async () => {
    const s = new JobScheduler(first.ds);
    s.register('test-failure-owed', 3_600_000, async () => {
      throw new Error('the job failed');
    });
    // The failure's record refused once, as by a database that went away with the run.
    const records = refuseFailureRecords('test-failure-owed', 1);
    const due = async () =>
      (await first.sql(`SELECT ceil(extract(epoch FROM last_run_at + interval '1 hour' - now()))::int AS in_s, failures FROM job_runs WHERE name = 'test-failure-owed'`))[0];
    try {
      await expect(s.runNow('test-failure-owed', 3_600_000)).rejects.toThrow('the job failed');
      expect(records.tries()).toBe(1);
      // Its start stays recorded meanwhile: the hour.
      expect((await due()).failures).toBe(0);
      // The next tick (a second after start) records it, and finds the job not due yet: a minute on.
      await tick(s);
      const after = await due();
      expect(after.failures).toBe(1);
      expect(after.in_s).toBeLessThanOrEqual(60);
    } finally {
      records.restore();
      await s.onModuleDestroy();
    }
  });

  it('counts a run that succeeded as succeeded when resetting its failures in a row fails: logged, and the next run resets them', async () => {
    let failing = true;
    const runs: string[] = [];
    const s = new JobScheduler(first.ds);
    s.register('test-reset-refused', 3_600_000, async () => {
      runs.push(failing ? 'failed' : 'succeeded');
      if (failing) throw new Error('the job failed');
    });
    const failures = async () => (await first.sql(`SELECT failures FROM job_runs WHERE name = 'test-reset-refused'`))[0].failures as number;
    const reachDue = () => first.sql(`UPDATE job_runs SET last_run_at = now() - interval '1 hour' WHERE name = 'test-reset-refused'`);
    await expect(s.runNow('test-reset-refused', 3_600_000)).rejects.toThrow('the job failed');
    expect(await failures()).toBe(1);
    // The reset refused by the database (as a lost connection or a lock timeout would): a trigger of this test's.
    await first.sql(`CREATE FUNCTION test_refuse_reset() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.name = 'test-reset-refused' AND NEW.failures = 0 THEN RAISE EXCEPTION 'reset refused'; END IF;
        RETURN NEW;
      END $$`);
    await first.sql(`CREATE TRIGGER test_refuse_reset BEFORE UPDATE ON job_runs FOR EACH ROW EXECUTE FUNCTION test_refuse_reset()`);
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      failing = false;
      await reachDue();
      // Until 2026-12-07 the refused reset was thrown from runNow: the tick logged the run that succeeded as `scheduled job failed`.
      expect(await s.runNow('test-reset-refused', 3_600_000)).toBe(true);
      expect(warn.mock.calls).toEqual([
        [{ err: expect.objectContaining({ message: 'reset refused' }), job: 'test-reset-refused' }, "a run succeeded but its failures in a row could not be reset; the next run that succeeds resets them"],
      ]);
      expect(await failures()).toBe(1);
      // Its start stands: the hour counts from that run.
      const [{ in_s }] = await first.sql(`SELECT ceil(extract(epoch FROM last_run_at + interval '1 hour' - now()))::int AS in_s FROM job_runs WHERE name = 'test-reset-refused'`);
      expect(in_s).toBeGreaterThan(3_540);
    } finally {
      warn.mockRestore();
      await first.sql(`DROP TRIGGER test_refuse_reset ON job_runs`);
      await first.sql(`DROP FUNCTION test_refuse_reset()`);
    }
    // The next run resets them.
    await reachDue();
    expect(await s.runNow('test-reset-refused', 3_600_000)).toBe(true);
    expect(await failures()).toBe(0);
    expect(runs).toEqual(['failed', 'succeeded', 'succeeded']);
    await s.onModuleDestroy();
  });

  it('logs a job whose start could not be recorded as not started, not as failed: nothing counted against it, and it runs at a next tick', async () => {
    const runs: string[] = [];
    const s = new JobScheduler(first.ds);
    s.register('test-not-started', 3_600_000, async () => void runs.push('ran'));
    // Due for an hour, with no failure in a row.
    await first.sql(`INSERT INTO job_runs (name, last_run_at) VALUES ('test-not-started', now() - interval '61 minutes')`);
    // The start's record refused by the database (as a lock timeout or a full disk would): a trigger of this test's.
    await first.sql(`CREATE FUNCTION test_refuse_start() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.name = 'test-not-started' THEN RAISE EXCEPTION 'start refused'; END IF;
        RETURN NEW;
      END $$`);
    await first.sql(`CREATE TRIGGER test_refuse_start BEFORE INSERT OR UPDATE ON job_runs FOR EACH ROW EXECUTE FUNCTION test_refuse_start()`);
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const record = async () => (await first.sql(`SELECT failures, last_run_at < now() - interval '1 hour' AS due FROM job_runs WHERE name = 'test-not-started'`))[0];
    try {
      // The tick a second after start: the job is due, its start refused, so it never runs.
      await tick(s);
      expect(runs).toEqual([]);
      // Until 2026-12-07 the tick logged it as `scheduled job failed`, as if the job had run and thrown.
      expect(warn.mock.calls.filter(([fields]) => fields?.job === 'test-not-started')).toEqual([
        [{ err: expect.objectContaining({ message: 'start refused' }), job: 'test-not-started' }, 'scheduled job not started'],
      ]);
      // No failure of the job is counted (nor could one be recorded): it is still due, as it was.
      expect(await record()).toEqual({ failures: 0, due: true });
    } finally {
      warn.mockRestore();
      await first.sql(`DROP TRIGGER test_refuse_start ON job_runs`);
      await first.sql(`DROP FUNCTION test_refuse_start()`);
    }
    // Once the database takes the record, the next tick runs it, with no failure's retry to wait out.
    await tick(s);
    expect(runs).toEqual(['ran']);
    expect(await record()).toEqual({ failures: 0, due: false });
    await s.onModuleDestroy();
  });

  it('warns of a job its ticks keep failing to start once an hour at most, tries it every tick, and says when it starts', async () => {
    const runs: string[] = [];
    const s = new JobScheduler(first.ds);
    s.register('test-not-started-again', 3_600_000, async () => void runs.push('ran'));
    // Each start the database refuses is counted by a sequence (whose values a rollback does not take back).
    await first.sql(`CREATE SEQUENCE test_refused_starts`);
    await first.sql(`CREATE FUNCTION test_refuse_again() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.name = 'test-not-started-again' THEN PERFORM nextval('test_refused_starts'); RAISE EXCEPTION 'start refused'; END IF;
        RETURN NEW;
      END $$`);
    await first.sql(`CREATE TRIGGER test_refuse_again BEFORE INSERT OR UPDATE ON job_runs FOR EACH ROW EXECUTE FUNCTION test_refuse_again()`);
    const logs = watchLogs('test-not-started-again');
    try {
      await tick(s);
      await tick(s);
      logs.advance(59 * 60_000);
      await tick(s);
      // Three ticks within the hour, each trying (its start refused): one warning.
      expect(runs).toEqual([]);
      expect(logs.warnings()).toEqual([[{ err: expect.objectContaining({ message: 'start refused' }), job: 'test-not-started-again' }, 'scheduled job not started']]);
      // An hour after it: the next one warns again, with the two not logged.
      logs.advance(60_000);
      await tick(s);
      expect(logs.warnings()).toHaveLength(2);
      expect(logs.warnings()[1]).toEqual([
        { err: expect.objectContaining({ message: 'start refused' }), job: 'test-not-started-again', notLogged: 2 },
        'scheduled job not started; 2 more tick(s) not logged since the last warning',
      ]);
      expect(logs.infos()).toEqual([]);
      // Every tick tried to start it (no backoff), the logged and the unlogged ones.
      expect(await first.sql(`SELECT last_value::int AS n FROM test_refused_starts`)).toEqual([{ n: 4 }]);
    } finally {
      await first.sql(`DROP TRIGGER test_refuse_again ON job_runs`);
      await first.sql(`DROP FUNCTION test_refuse_again()`);
      await first.sql(`DROP SEQUENCE test_refused_starts`);
    }
    try {
      // Taken again: it runs at the next tick, which says so.
      await tick(s);
      expect(runs).toEqual(['ran']);
      expect(logs.infos()).toEqual([[{ job: 'test-not-started-again', notStarted: 4 }, 'scheduled job started, after 4 tick(s) that could not start it']]);
      // A start refused after that is warned of at once (the clock has not moved).
      await first.sql(`UPDATE job_runs SET last_run_at = now() - interval '61 minutes' WHERE name = 'test-not-started-again'`);
      await first.sql(`CREATE FUNCTION test_refuse_again() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'refused once more'; END $$`);
      await first.sql(`CREATE TRIGGER test_refuse_again BEFORE UPDATE ON job_runs FOR EACH ROW WHEN (NEW.name = 'test-not-started-again') EXECUTE FUNCTION test_refuse_again()`);
      await tick(s);
      expect(logs.warnings()).toHaveLength(3);
      expect(logs.warnings()[2]).toEqual([{ err: expect.objectContaining({ message: 'refused once more' }), job: 'test-not-started-again' }, 'scheduled job not started']);
    } finally {
      await first.sql(`DROP TRIGGER IF EXISTS test_refuse_again ON job_runs`);
      await first.sql(`DROP FUNCTION IF EXISTS test_refuse_again()`);
      logs.restore();
      await s.onModuleDestroy();
    }
  });

  it('still logs a run of the job that threw, from its tick, as failed, and counts it', async () => {
    const s = new JobScheduler(first.ds);
    s.register('test-tick-failed', 3_600_000, async () => {
      throw new Error('the job failed');
    });
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      await tick(s);
      expect(warn.mock.calls.filter(([fields]) => fields?.job === 'test-tick-failed')).toEqual([
        [{ err: expect.objectContaining({ message: 'the job failed' }), job: 'test-tick-failed' }, 'scheduled job failed'],
      ]);
    } finally {
      warn.mockRestore();
      await s.onModuleDestroy();
    }
    expect(await first.sql(`SELECT failures FROM job_runs WHERE name = 'test-tick-failed'`)).toEqual([{ failures: 1 }]);
  });

  it('warns of a job whose runs keep failing once an hour at most, the first at once, and says when one succeeds', async () => {
    // A frequent job (every second here; the site's run every 15 to 60 s), as one whose every run the database refuses.
    let failing = true;
    const runs: string[] = [];
    const s = new JobScheduler(first.ds);
    s.register('test-failing-again', 1_000, async () => {
      runs.push(failing ? 'failed' : 'succeeded');
      if (failing) throw new Error('the job failed');
    });
    const logs = watchLogs('test-failing-again');
    try {
      await tick(s);
      await tick(s);
      logs.advance(59 * 60_000);
      await tick(s);
      // Three runs within the hour, each failing: one warning (until 2026-12-07, one a tick).
      expect(runs).toEqual(['failed', 'failed', 'failed']);
      expect(logs.warnings()).toEqual([[{ err: expect.objectContaining({ message: 'the job failed' }), job: 'test-failing-again' }, 'scheduled job failed']]);
      // An hour after it: the next one warns again, with the two not logged.
      logs.advance(60_000);
      await tick(s);
      expect(logs.warnings()).toHaveLength(2);
      expect(logs.warnings()[1]).toEqual([
        { err: expect.objectContaining({ message: 'the job failed' }), job: 'test-failing-again', notLogged: 2 },
        'scheduled job failed; 2 more failed run(s) not logged since the last warning',
      ]);
      expect(logs.infos()).toEqual([]);
      // A run that succeeds says so, once.
      failing = false;
      await tick(s);
      await tick(s);
      expect(logs.infos()).toEqual([[{ job: 'test-failing-again', failedRuns: 4 }, 'scheduled job succeeded, after 4 failed run(s)']]);
      // The next failure is a first again: warned of at once (the clock has not moved).
      failing = true;
      await tick(s);
      expect(logs.warnings()).toHaveLength(3);
      expect(logs.warnings()[2]).toEqual([{ err: expect.objectContaining({ message: 'the job failed' }), job: 'test-failing-again' }, 'scheduled job failed']);
      expect(runs).toEqual(['failed', 'failed', 'failed', 'failed', 'succeeded', 'succeeded', 'failed']);
    } finally {
      logs.restore();
      await s.onModuleDestroy();
    }
  });

  it('warns at once of an hourly job failing again in one process after a run that succeeded in another (the stored streak starts again)', async () => {
    const job = hourlyJob('test-failing-elsewhere');
    const { runs, reachDue, failed } = job;
    const [a, b] = [job.scheduler(first, 'a'), job.scheduler(second, 'b')];
    const logs = watchLogs('test-failing-elsewhere');
    try {
      // Two failures in a row in one process: the first warned of, the second held back (the clock has not moved).
      await tick(a);
      await reachDue();
      await tick(a);
      expect(logs.warnings()).toEqual([failed]);
      // The other process runs it, and it succeeds: the failures in a row start again from 0, for every process.
      job.failing = false;
      await reachDue();
      await tick(b);
      expect(await first.sql(`SELECT failures FROM job_runs WHERE name = 'test-failing-elsewhere'`)).toEqual([{ failures: 0 }]);
      // The first process's next failure is a first again: warned of at once (held back as a repeat until 2026-12-07).
      job.failing = true;
      await reachDue();
      await tick(a);
      expect(runs).toEqual(['a failed', 'a failed', 'b succeeded', 'a failed']);
      expect(logs.warnings()).toEqual([failed, failed]);
      // Its two failed runs before are said to have ended, by the process that had them (the other had none to say).
      expect(logs.infos()).toEqual([[{ job: 'test-failing-elsewhere', failedRuns: 2 }, 'scheduled job succeeded in another process, after 2 failed run(s) in this one']]);
      // While it keeps failing (in whichever process), the throttle holds as before.
      await reachDue();
      await tick(a);
      expect(runs).toHaveLength(5);
      expect(logs.warnings()).toHaveLength(2);
    } finally {
      logs.restore();
      for (const s of [a, b]) await s.onModuleDestroy();
    }
  });

  it('says a run by hand that succeeded here as a success in this process, not in another one', async () => {
    const job = hourlyJob('test-by-hand-succeeded');
    const { runs, reachDue, failed } = job;
    const s = job.scheduler(first, 'a');
    const logs = watchLogs('test-by-hand-succeeded');
    try {
      // Two failed runs from its ticks: the first warned of, the second held back (the clock has not moved).
      await tick(s);
      await reachDue();
      await tick(s);
      expect(logs.warnings()).toEqual([failed]);
      // Run by hand in this process (as a test or an operator would), and it succeeds: said at once, as this process's.
      job.failing = false;
      await reachDue();
      expect(await s.runNow('test-by-hand-succeeded', 3_600_000)).toBe(true);
      const succeeded = [{ job: 'test-by-hand-succeeded', failedRuns: 2 }, 'scheduled job succeeded, after 2 failed run(s)'];
      expect(logs.infos()).toEqual([succeeded]);
      // The next failure is a first again, and nothing more is said of that success. Until 2026-12-07 the run by hand said
      // nothing, and the next tick read its stored 0 as `scheduled job succeeded in another process`.
      job.failing = true;
      await reachDue();
      await tick(s);
      expect(runs).toEqual(['a failed', 'a failed', 'a succeeded', 'a failed']);
      expect(logs.warnings()).toEqual([failed, failed]);
      expect(logs.infos()).toEqual([succeeded]);
    } finally {
      logs.restore();
      await s.onModuleDestroy();
    }
  });

  it("counts a run by hand that failed in the job's failed runs as a tick's failure is, and still throws it to the caller", async () => {
    const job = hourlyJob('test-by-hand-failed');
    const { runs, reachDue, failed } = job;
    const s = job.scheduler(first, 'a');
    const logs = watchLogs('test-by-hand-failed');
    try {
      // Run by hand (as a test or an operator would), and it fails: the caller gets the error, and it is warned of, a first.
      await expect(s.runNow('test-by-hand-failed', 3_600_000)).rejects.toThrow('the job failed');
      expect(logs.warnings()).toEqual([failed]);
      // Again by hand, then from its tick: repeats of that streak, held back (the clock has not moved). Until 2026-12-07 a
      // run by hand's failure was the caller's alone: the tick's was warned of as the first.
      await reachDue();
      await expect(s.runNow('test-by-hand-failed', 3_600_000)).rejects.toThrow('the job failed');
      await reachDue();
      await tick(s);
      expect(logs.warnings()).toEqual([failed]);
      // The run that succeeds counts all three.
      job.failing = false;
      await reachDue();
      await tick(s);
      expect(runs).toEqual(['a failed', 'a failed', 'a failed', 'a succeeded']);
      expect(logs.infos()).toEqual([[{ job: 'test-by-hand-failed', failedRuns: 3 }, 'scheduled job succeeded, after 3 failed run(s)']]);
    } finally {
      logs.restore();
      await s.onModuleDestroy();
    }
  });

  it('reads a success elsewhere at a run by hand too: its failure after it does not hide it from the next tick', async () => {
    const job = hourlyJob('test-by-hand-after-elsewhere');
    const { runs, reachDue, failed } = job;
    const [a, b] = [job.scheduler(first, 'a'), job.scheduler(second, 'b')];
    const logs = watchLogs('test-by-hand-after-elsewhere');
    try {
      await tick(a);
      await reachDue();
      await tick(a);
      // The other process succeeds: the stored streak is 0.
      job.failing = false;
      await reachDue();
      await tick(b);
      // A run by hand in the first process reads that 0, and fails: the streak is 1 again, its own.
      job.failing = true;
      await reachDue();
      await expect(a.runNow('test-by-hand-after-elsewhere', 3_600_000)).rejects.toThrow('the job failed');
      const elsewhere = [{ job: 'test-by-hand-after-elsewhere', failedRuns: 2 }, 'scheduled job succeeded in another process, after 2 failed run(s) in this one'];
      expect(logs.infos()).toEqual([elsewhere]);
      // Its failure is a first: warned of at once (until 2026-12-07 a run by hand's failure was the caller's alone), and
      // the next tick's a repeat of it, held back. Until 2026-12-07 only a tick read the 0: this one read 1, nothing was
      // said of the success, and its failure was held back as a repeat of the streak before it.
      expect(logs.warnings()).toEqual([failed, failed]);
      await reachDue();
      await tick(a);
      expect(runs).toEqual(['a failed', 'a failed', 'b succeeded', 'a failed', 'a failed']);
      expect(logs.warnings()).toEqual([failed, failed]);
      expect(logs.infos()).toEqual([elsewhere]);
    } finally {
      logs.restore();
      for (const s of [a, b]) await s.onModuleDestroy();
    }
  });

  it("takes no frequent job's stored 0 for a success elsewhere, though a run by hand records its start", async () => {
    let failing = false;
    const s = new JobScheduler(first.ds);
    s.register('test-frequent-by-hand', 1_000, async () => {
      if (failing) throw new Error('the job failed');
    });
    const logs = watchLogs('test-frequent-by-hand');
    const failedLines = () => logs.warnings().filter(([, line]) => String(line).startsWith('scheduled job failed'));
    try {
      // A run by hand with an interval records the frequent job's start (its ticks never do), and succeeds: 0 stored.
      expect(await s.runNow('test-frequent-by-hand', 1_000)).toBe(true);
      // Its ticks fail, recorded nowhere: the first warned of, the second held back (the clock has not moved).
      failing = true;
      await tick(s);
      await tick(s);
      expect(failedLines()).toHaveLength(1);
      // A run by hand reads that old 0 and fails: nothing succeeded since the ticks' failures, and none is said.
      await first.sql(`UPDATE job_runs SET last_run_at = now() - interval '1 hour' WHERE name = 'test-frequent-by-hand'`);
      await expect(s.runNow('test-frequent-by-hand', 1_000)).rejects.toThrow('the job failed');
      expect(logs.infos()).toEqual([]);
      // The next tick's failure is still a repeat, held back. Until 2026-12-07 (c692de99) the run by hand read the 0 as
      // `scheduled job succeeded in another process`, and this failure was warned of as a first.
      await tick(s);
      expect(failedLines()).toHaveLength(1);
    } finally {
      logs.restore();
      await s.onModuleDestroy();
    }
  });

  it("records no frequent job's failure, so owes none: a run by hand that fails leaves its start as it was, and no tick has a record to retry", async () => {
    const s = new JobScheduler(first.ds);
    s.register('test-frequent-no-failure', 1_000, async () => {
      throw new Error('the job failed');
    });
    // Any record of its failure refused, as by a database gone with the run: were one tried, it would be owed.
    const records = refuseFailureRecords('test-frequent-no-failure');
    const logs = watchLogs('test-frequent-no-failure');
    const notRecorded = () => logs.warnings().filter(([, line]) => String(line).startsWith('a failed run could not be recorded'));
    try {
      // A run by hand with an interval records the frequent job's start (its ticks never do), and fails.
      await expect(s.runNow('test-frequent-no-failure', 1_000)).rejects.toThrow('the job failed');
      await tick(s);
      // No failure of it is recorded (nothing reads a frequent job's count, and its ticks, no due check, never retry one):
      // none tried, none owed, none warned of. Until 2026-12-07 the run by hand tried it, and a refused one was warned of
      // as "tried again at the next tick", which no tick of a frequent job did; it stayed owed in memory for good.
      expect(records.tries()).toBe(0);
      expect(notRecorded()).toEqual([]);
      expect(await first.sql(`SELECT failures FROM job_runs WHERE name = 'test-frequent-no-failure'`)).toEqual([{ failures: 0 }]);
    } finally {
      logs.restore();
      records.restore();
      await s.onModuleDestroy();
    }
  });

  it('takes no stored streak of 0 for a success elsewhere while this process still owes its own failure to the record', async () => {
    const runs: string[] = [];
    const s = new JobScheduler(first.ds);
    s.register('test-owed-not-succeeded', 3_600_000, async () => {
      runs.push('failed');
      throw new Error('the job failed');
    });
    // Every try at recording this job's failure refused, as by a database away each time (the run's own and each tick's
    // retry): job_runs.failures stays 0 though nothing succeeded.
    const records = refuseFailureRecords('test-owed-not-succeeded');
    const logs = watchLogs('test-owed-not-succeeded');
    const failedLines = () => logs.warnings().filter(([, line]) => String(line).startsWith('scheduled job failed'));
    try {
      // Never run: the first tick runs it; it fails, warned of, and its failure is owed.
      await tick(s);
      expect(failedLines()).toHaveLength(1);
      // Due again (the hour on, as the scheduler's clock would reach it) while the failure is still owed: the run reads 0
      // failures in a row, its own unwritten one.
      await first.sql(`UPDATE job_runs SET last_run_at = now() - interval '1 hour' WHERE name = 'test-owed-not-succeeded'`);
      await tick(s);
      expect(runs).toEqual(['failed', 'failed']);
      expect(await first.sql(`SELECT failures FROM job_runs WHERE name = 'test-owed-not-succeeded'`)).toEqual([{ failures: 0 }]);
      // Nothing succeeded anywhere: none is said, and the second failure is a repeat, held back (the clock has not moved).
      expect(failedLines()).toHaveLength(1);
      expect(logs.infos()).toEqual([]);
    } finally {
      logs.restore();
      records.restore();
      await s.onModuleDestroy();
    }
  });

  it("takes no stored streak of 0 for a success elsewhere when its failure's record matched no row (the record moved on)", async () => {
    const runs: string[] = [];
    const s = new JobScheduler(first.ds);
    s.register('test-failure-unmatched', 3_600_000, async () => {
      runs.push('failed');
      // Its first run's record moved on while it runs (another start, here two hours back, by hand): its failure's record
      // then matches no row, and the row stays, its 0 failures in a row those of no run that succeeded. (A record deleted
      // meanwhile is made anew by the next run, whose 0 is no success either: the test after this one.)
      if (runs.length === 1) await first.sql(`UPDATE job_runs SET last_run_at = last_run_at - interval '2 hours' WHERE name = 'test-failure-unmatched'`);
      throw new Error('the job failed');
    });
    const logs = watchLogs('test-failure-unmatched');
    const failedLines = () => logs.warnings().filter(([, line]) => String(line).startsWith('scheduled job failed'));
    try {
      await tick(s);
      expect(failedLines()).toHaveLength(1);
      expect(await first.sql(`SELECT failures FROM job_runs WHERE name = 'test-failure-unmatched'`)).toEqual([{ failures: 0 }]);
      // Due at the next tick (two hours since the start recorded), whose run reads 0 failures in a row, then fails and is recorded.
      await tick(s);
      expect(runs).toEqual(['failed', 'failed']);
      expect(await first.sql(`SELECT failures FROM job_runs WHERE name = 'test-failure-unmatched'`)).toEqual([{ failures: 1 }]);
      // Nothing succeeded anywhere: none is said, and the second failure is a repeat, held back (the clock has not moved).
      // Until 2026-12-07 the 0 was read as a success elsewhere: said, and the failure warned of as a first.
      expect(logs.infos()).toEqual([]);
      expect(failedLines()).toHaveLength(1);
    } finally {
      logs.restore();
      await s.onModuleDestroy();
    }
  });

  it('takes no streak of 0 for a success elsewhere when the record holding its failure was deleted, and made anew by its next run', async () => {
    const s = new JobScheduler(first.ds);
    s.register('test-record-anew', 3_600_000, async () => {
      throw new Error('the job failed');
    });
    const logs = watchLogs('test-record-anew');
    const failedLines = () => logs.warnings().filter(([, line]) => String(line).startsWith('scheduled job failed'));
    try {
      await tick(s);
      expect(await first.sql(`SELECT failures FROM job_runs WHERE name = 'test-record-anew'`)).toEqual([{ failures: 1 }]);
      // The record, its failure written, deleted by hand: the next tick finds the job due, and its start makes a new record.
      await first.sql(`DELETE FROM job_runs WHERE name = 'test-record-anew'`);
      await tick(s);
      expect(await first.sql(`SELECT failures FROM job_runs WHERE name = 'test-record-anew'`)).toEqual([{ failures: 1 }]);
      // The new record's 0 is no run that succeeded: none is said, and the second failure is a repeat, held back. Until
      // 2026-12-07 it was read as 0: said as a success in another process, and the failure warned of as a first.
      expect(logs.infos()).toEqual([]);
      expect(failedLines()).toHaveLength(1);
    } finally {
      logs.restore();
      await s.onModuleDestroy();
    }
  });

  it('says a failure it owed the record was not recorded when, by its next tick, the record no longer held its start', async () => {
    const s = new JobScheduler(first.ds);
    s.register('test-owed-moved', 3_600_000, async () => {
      throw new Error('the job failed');
    });
    // The failure's record refused once, as by a database that went away with the run.
    const records = refuseFailureRecords('test-owed-moved', 1);
    const logs = watchLogs('test-owed-moved');
    try {
      await expect(s.runNow('test-owed-moved', 3_600_000)).rejects.toThrow('the job failed');
      // Its due time moved meanwhile (by hand, or another run's start): not due yet, and no longer the failed run's start.
      await first.sql(`UPDATE job_runs SET last_run_at = now() - interval '30 minutes' WHERE name = 'test-owed-moved'`);
      await tick(s);
      expect(await first.sql(`SELECT failures FROM job_runs WHERE name = 'test-owed-moved'`)).toEqual([{ failures: 0 }]);
      // Until 2026-12-07 logged as `a failed run was recorded as failed, after 1 attempt(s)…`, though no row was written.
      expect(logs.infos()).toEqual([
        [{ job: 'test-owed-moved', attempts: 1 }, "a failed run's failure was not recorded, after 1 attempt(s): the job's record no longer held its start (another run, or a change by hand, since)"],
      ]);
      // Owed no longer: the next tick tries it no more.
      expect(records.tries()).toBe(2);
      await tick(s);
      expect(records.tries()).toBe(2);
      expect(logs.infos()).toHaveLength(1);
    } finally {
      logs.restore();
      records.restore();
      await s.onModuleDestroy();
    }
  });

  it('warns at once of a failure after a run by hand that succeeded here, when the failure before it was in no recorded streak', async () => {
    let failing = true;
    const runs: string[] = [];
    const s = new JobScheduler(first.ds);
    s.register('test-unrecorded-then-success', 3_600_000, async () => {
      runs.push(failing ? 'failed' : 'succeeded');
      // The first run's record moved on while it runs (by hand): its failure's record matches no row, in no streak.
      if (runs.length === 1) await first.sql(`UPDATE job_runs SET last_run_at = last_run_at - interval '2 hours' WHERE name = 'test-unrecorded-then-success'`);
      if (failing) throw new Error('the job failed');
    });
    const reachDue = () => first.sql(`UPDATE job_runs SET last_run_at = now() - interval '1 hour' WHERE name = 'test-unrecorded-then-success'`);
    const logs = watchLogs('test-unrecorded-then-success');
    const failedLines = () => logs.warnings().filter(([, line]) => String(line).startsWith('scheduled job failed'));
    try {
      await tick(s);
      expect(failedLines()).toHaveLength(1);
      // Run by hand in this process (as a test or an operator would), and it succeeds: the record's streak is 0.
      failing = false;
      await reachDue();
      expect(await s.runNow('test-unrecorded-then-success', 3_600_000)).toBe(true);
      // A failure after it starts a new streak: warned of at once (the clock has not moved). Until 2026-12-07 the
      // failure before the success stayed marked as in no streak, the 0 was no success, and this one was held back.
      failing = true;
      await reachDue();
      await tick(s);
      expect(runs).toEqual(['failed', 'succeeded', 'failed']);
      expect(await first.sql(`SELECT failures FROM job_runs WHERE name = 'test-unrecorded-then-success'`)).toEqual([{ failures: 1 }]);
      expect(failedLines()).toHaveLength(2);
    } finally {
      logs.restore();
      await s.onModuleDestroy();
    }
  });

  it('drops a failure owed to the record once a run of the job succeeds here, and says its attempts then', async () => {
    let failing = true;
    const s = new JobScheduler(first.ds);
    s.register('test-owed-then-success', 3_600_000, async () => {
      if (failing) throw new Error('the job failed');
    });
    const records = refuseFailureRecords('test-owed-then-success');
    const logs = watchLogs('test-owed-then-success');
    try {
      await expect(s.runNow('test-owed-then-success', 3_600_000)).rejects.toThrow('the job failed');
      expect(records.tries()).toBe(1);
      // Succeeds by hand (due: its failure never moved the record back): the record holds this run's start now.
      failing = false;
      await first.sql(`UPDATE job_runs SET last_run_at = now() - interval '1 hour' WHERE name = 'test-owed-then-success'`);
      expect(await s.runNow('test-owed-then-success', 3_600_000)).toBe(true);
      expect(logs.infos()).toEqual([
        [{ job: 'test-owed-then-success', failedRuns: 1 }, 'scheduled job succeeded, after 1 failed run(s)'],
        [{ job: 'test-owed-then-success', attempts: 1 }, "a failed run's failure was not recorded, after 1 attempt(s): a run that succeeded since holds the job's record"],
      ]);
      // Owed no longer: the next tick (not due) tries no record. Until 2026-12-07 it tried one that could match no row.
      await tick(s);
      expect(records.tries()).toBe(1);
      expect(logs.infos()).toHaveLength(2);
      expect(await first.sql(`SELECT failures FROM job_runs WHERE name = 'test-owed-then-success'`)).toEqual([{ failures: 0 }]);
    } finally {
      logs.restore();
      records.restore();
      await s.onModuleDestroy();
    }
  });

  it('leaves a run by hand that succeeded while an owed failure was tried again as it left it: the failure is owed no more', async () => {
    let failing = true;
    const s = new JobScheduler(first.ds);
    s.register('test-owed-race', 3_600_000, async () => {
      if (failing) throw new Error('the job failed');
    });
    // Bound before tick() watches runNow: the run by hand is no tick's.
    const byHand = s.runNow.bind(s);
    const real = first.ds.query.bind(first.ds);
    let tries = 0;
    // Every record of the failure refused; the second (the tick's retry of the owed one) only once a run by hand has
    // succeeded meanwhile, as one would between the retry's statement and its answer.
    const spy = jest.spyOn(first.ds, 'query').mockImplementation(async (sql: string, params?: unknown[]) => {
      if (!sql.includes('failures = failures + 1') || params?.[0] !== 'test-owed-race') return real(sql, params);
      if (++tries === 2) {
        failing = false;
        expect(await byHand('test-owed-race')).toBe(true);
      }
      throw new Error('Connection terminated unexpectedly');
    });
    const logs = watchLogs('test-owed-race');
    const notRecorded = () => logs.warnings().filter(([, line]) => String(line).startsWith('a failed run could not be recorded'));
    try {
      await expect(byHand('test-owed-race', 3_600_000)).rejects.toThrow('the job failed');
      expect(notRecorded()).toHaveLength(1);
      await tick(s);
      expect(tries).toBe(2);
      expect(logs.infos()).toEqual([
        [{ job: 'test-owed-race', failedRuns: 1 }, 'scheduled job succeeded, after 1 failed run(s)'],
        [{ job: 'test-owed-race', attempts: 1 }, "a failed run's failure was not recorded, after 1 attempt(s): a run that succeeded since holds the job's record"],
      ]);
      // The retry refused after that success owes nothing: no warning, and the next tick tries no record. Without the
      // check (recordFailure's `stale`) it was owed again, warned of, and tried at every tick.
      await tick(s);
      expect(tries).toBe(2);
      expect(notRecorded()).toHaveLength(1);
    } finally {
      logs.restore();
      spy.mockRestore();
      await s.onModuleDestroy();
    }
  });

  it.each([
    ['matching no row', false],
    ['refused', true],
  ])("keeps a newer failure owed when the tick's retry of an older one, after a run by hand failed meanwhile, comes back %s", async (_, refusedAgain) => {
    const name = refusedAgain ? 'test-owed-newer-refused' : 'test-owed-newer-no-row';
    const s = new JobScheduler(first.ds);
    s.register(name, 3_600_000, async () => {
      throw new Error('the job failed');
    });
    // Bound before tick() watches runNow: the runs by hand are no tick's.
    const byHand = s.runNow.bind(s);
    const real = first.ds.query.bind(first.ds);
    let tries = 0;
    // The first run's failure record refused. The tick's retry of it (the second) waits for a run by hand that fails
    // meanwhile, its own record (the third) refused too, as one would between the retry's statement and its answer;
    // then the retry is written (matching no row: the record holds the newer run's start) or refused. Later ones written.
    const spy = jest.spyOn(first.ds, 'query').mockImplementation(async (sql: string, params?: unknown[]) => {
      if (!sql.includes('failures = failures + 1') || params?.[0] !== name) return real(sql, params);
      const attempt = ++tries;
      if (attempt === 2) await expect(byHand(name)).rejects.toThrow('the job failed');
      if (attempt === 1 || attempt === 3 || (attempt === 2 && refusedAgain)) throw new Error('Connection terminated unexpectedly');
      return real(sql, params);
    });
    const logs = watchLogs(name);
    const failures = async () => (await first.sql(`SELECT failures FROM job_runs WHERE name = $1`, [name]))[0].failures as number;
    try {
      await expect(byHand(name, 3_600_000)).rejects.toThrow('the job failed');
      await tick(s);
      expect(tries).toBe(3);
      // The older failure's retry leaves the newer one owed, unsaid. Without recordFailure's `stale` check the retry put
      // the older one in its place (owed no more, or owed again), said as not recorded, and the newer one was lost.
      expect(await failures()).toBe(0);
      expect(logs.infos()).toEqual([]);
      // The next tick records the newer one: its run's start is still the record's.
      await tick(s);
      expect(tries).toBe(4);
      expect(await failures()).toBe(1);
      expect(logs.infos()).toEqual([[{ job: name, attempts: 2 }, 'a failed run was recorded as failed, after 2 attempt(s) that could not record it']]);
    } finally {
      logs.restore();
      spy.mockRestore();
      await s.onModuleDestroy();
    }
  });

  it('warns at once of a job failing with another error than the one its last warning logged, up to JOB_ERROR_CHANGES_MAX', async () => {
    // The errors its runs throw, in turn; a pg error is told by its code (SQLSTATE), whatever its message.
    const errors: Array<Error & { code?: string }> = [];
    const s = new JobScheduler(first.ds);
    s.register('test-failing-otherwise', 1_000, async () => {
      throw errors.shift();
    });
    const thrown = (message: string, code?: string) => errors.push(Object.assign(new Error(message), code ? { code } : {}));
    const logs = watchLogs('test-failing-otherwise');
    const failed = (message: string, notLogged?: number) => [
      { err: expect.objectContaining({ message }), job: 'test-failing-otherwise', ...(notLogged ? { notLogged } : {}) },
      expect.stringMatching(/^scheduled job failed/),
    ];
    try {
      thrown('first error');
      thrown('first error');
      thrown('deadlock on row 1', '40P01');
      thrown('first error');
      thrown('deadlock on row 2', '40P01');
      thrown('c');
      thrown('d');
      thrown('e');
      for (let i = 0; i < 8; i++) await tick(s);
      // The clock has not moved: the first, then each new error at once (until 2026-12-07 held back an hour), with the
      // repeats not logged before it; the same code with another message is no new error; past 3 changes, counted.
      expect(logs.warnings()).toEqual([
        failed('first error'),
        failed('deadlock on row 1', 1),
        failed('c', 2),
        failed('d'),
      ]);
      expect(logs.warnings()[1][1]).toBe("scheduled job failed (a new error); 1 more failed run(s) not logged since the last warning");
      expect(logs.warnings()[3][1]).toBe("scheduled job failed (a new error)");
      logs.advance(60 * 60_000);
      thrown('first error');
      await tick(s);
      expect(logs.warnings()).toHaveLength(5);
      expect(logs.warnings()[4]).toEqual([
        { err: expect.objectContaining({ message: 'first error' }), job: 'test-failing-otherwise', notLogged: 1 },
        'scheduled job failed; 1 more failed run(s) not logged since the last warning',
      ]);
    } finally {
      logs.restore();
      await s.onModuleDestroy();
    }
  });

  it('warns of a failure its ticks keep failing to record once an hour at most, tries it every tick, and says once it is recorded', async () => {
    const s = new JobScheduler(first.ds);
    s.register('test-owed-again', 3_600_000, async () => {
      throw new Error('the job failed');
    });
    // Each failure's record the database refuses is counted by a sequence (whose values a rollback does not take back).
    await first.sql(`CREATE SEQUENCE test_refused_records`);
    await first.sql(`CREATE FUNCTION test_refuse_record() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.name = 'test-owed-again' AND NEW.failures > OLD.failures THEN PERFORM nextval('test_refused_records'); RAISE EXCEPTION 'record refused'; END IF;
        RETURN NEW;
      END $$`);
    await first.sql(`CREATE TRIGGER test_refuse_record BEFORE UPDATE ON job_runs FOR EACH ROW EXECUTE FUNCTION test_refuse_record()`);
    const logs = watchLogs('test-owed-again');
    const message = 'a failed run could not be recorded as failed; tried again at the next tick';
    const notRecorded = () => logs.warnings().filter(([, line]) => String(line).startsWith(message));
    const failures = async () => (await first.sql(`SELECT failures FROM job_runs WHERE name = 'test-owed-again'`))[0].failures as number;
    try {
      await expect(s.runNow('test-owed-again', 3_600_000)).rejects.toThrow('the job failed');
      // The run by hand's failure warned of too (a first), after its record's.
      expect(logs.warnings()).toEqual([
        [{ err: expect.objectContaining({ message: 'record refused' }), job: 'test-owed-again' }, message],
        [{ err: expect.objectContaining({ message: 'the job failed' }), job: 'test-owed-again' }, 'scheduled job failed'],
      ]);
      // Each tick tries the record again (and finds the job not due: its start stands), within the hour unlogged.
      await tick(s);
      await tick(s);
      logs.advance(59 * 60_000);
      await tick(s);
      expect(notRecorded()).toHaveLength(1);
      logs.advance(60_000);
      await tick(s);
      expect(notRecorded()).toHaveLength(2);
      expect(notRecorded()[1]).toEqual([
        { err: expect.objectContaining({ message: 'record refused' }), job: 'test-owed-again', notLogged: 3 },
        `${message}; 3 more attempt(s) not logged since the last warning`,
      ]);
      // Every tick tried (until 2026-12-07 each one warned): the run's own attempt and four.
      expect(await first.sql(`SELECT last_value::int AS n FROM test_refused_records`)).toEqual([{ n: 5 }]);
      expect(await failures()).toBe(0);
      expect(logs.infos()).toEqual([]);
    } finally {
      await first.sql(`DROP TRIGGER test_refuse_record ON job_runs`);
      await first.sql(`DROP FUNCTION test_refuse_record()`);
      await first.sql(`DROP SEQUENCE test_refused_records`);
    }
    try {
      // Taken again: the next tick records it, and says so.
      await tick(s);
      expect(await failures()).toBe(1);
      expect(logs.infos()).toEqual([[{ job: 'test-owed-again', attempts: 5 }, 'a failed run was recorded as failed, after 5 attempt(s) that could not record it']]);
      expect(notRecorded()).toHaveLength(2);
    } finally {
      logs.restore();
      await s.onModuleDestroy();
    }
  });

  /**
   * Job `name` in a scheduler of each process, `a` (the first's) and `b`, each run noted in `runs`: `a` runs it by hand
   * (`withinMs` as runNow takes it), held until `release`; `running` is that run's end.
   */
  const runningInOneProcess = async (name: string, everyMs: number, withinMs?: number) => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const runs: string[] = [];
    const a = new JobScheduler(first.ds);
    a.register(name, everyMs, async () => {
      runs.push('a');
      await gate;
    });
    const b = new JobScheduler(second.ds);
    b.register(name, everyMs, async () => void runs.push('b'));
    const running = a.runNow(name, withinMs);
    while (runs.length === 0) await new Promise((r) => setTimeout(r, 5));
    return { a, b, runs, release, running };
  };

  it('keeps other processes off a run whose lock was lost while it goes on: its start is recorded before it runs', async () => {
    const { a, b, runs, release, running } = await runningInOneProcess('test-lost-lock', 3_600_000, 3_600_000);
    // Its lock connection is dropped (an idle timeout, a proxy) while the run goes on: the lock goes with it.
    await first.sql(
      `SELECT pg_terminate_backend(a.pid) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND l.granted AND a.datname = current_database() AND a.application_name = $1`,
      [JOB_LOCK_APPLICATION],
    );
    // Another process finds the job started within the hour (fa5b9175 recorded nothing till the end: it ran it again meanwhile).
    expect(await b.runNow('test-lost-lock', 3_600_000)).toBe(false);
    release();
    expect(await running).toBe(true);
    expect(runs).toEqual(['a']);
    for (const s of [a, b]) await s.onModuleDestroy();
  });

  /** Job `name`'s pg_try_advisory_lock, on any connection, answered by `answer`, given the real statement to send or not. */
  const answeringLock = (name: string, answer: (send: () => Promise<unknown>) => Promise<unknown>) => {
    const real = Client.prototype.query;
    return jest.spyOn(Client.prototype, 'query').mockImplementation(function (this: Client, ...args: unknown[]) {
      const send = () => (real as (...a: unknown[]) => Promise<unknown>).apply(this, args);
      return String(args[0]).includes('pg_try_advisory_lock') && (args[1] as unknown[])?.[0] === `parvis:job:${name}` ? answer(send) : send();
    } as typeof real);
  };

  it("keeps the lock connection, and the locks of the runs it holds, when it refuses a job's lock but still answers", async () => {
    const { a, b, runs, release, running } = await runningInOneProcess('test-lock-kept', 1_000);
    a.register('test-lock-refused', 1_000, async () => void runs.push('a refused'));
    // The lock connection refuses one job's lock (out of shared memory, a cancel) and stays up.
    const spy = answeringLock('test-lock-refused', () => Promise.reject(Object.assign(new Error('out of shared memory'), { code: '53200' })));
    try {
      const refused = await a.runNow('test-lock-refused').then(
        () => 'ran',
        (err: Error) => err.message,
      );
      // The other process finds the job running still. Until 2026-12-07 the refusal was taken for a lost connection:
      // that one was ended, with the lock of the run going on, and the other process ran the job beside it.
      expect(await b.runNow('test-lock-kept')).toBe(false);
      expect(refused).toBe('out of shared memory');
      release();
      expect(await running).toBe(true);
      expect(runs).toEqual(['a']);
    } finally {
      release();
      spy.mockRestore();
      for (const s of [a, b]) await s.onModuleDestroy();
    }
  });

  it("releases no job's lock its connection does not hold: a refused lock draws no warning from PostgreSQL", async () => {
    const s = new JobScheduler(first.ds);
    s.register('test-lock-not-held', 1_000, async () => undefined);
    // What PostgreSQL tells the lock connection besides its answers (NOTICE, WARNING); not a pool connection opened meanwhile.
    const notices: string[] = [];
    const connect = Client.prototype.connect;
    const watch = jest.spyOn(Client.prototype, 'connect').mockImplementation(function (this: Client): Promise<Client> {
      const { application_name } = (this as unknown as { connectionParameters: { application_name?: string } }).connectionParameters;
      if (application_name === JOB_LOCK_APPLICATION) this.on('notice', (msg) => void notices.push(`${msg.severity}: ${msg.message}`));
      return (connect as () => Promise<Client>).call(this);
    } as typeof connect);
    const spy = answeringLock('test-lock-not-held', () => Promise.reject(Object.assign(new Error('out of shared memory'), { code: '53200' })));
    try {
      await expect(s.runNow('test-lock-not-held')).rejects.toThrow('out of shared memory');
      spy.mockRestore();
      expect(await s.runNow('test-lock-not-held')).toBe(true);
      // Until 2026-12-07 the refused lock's probe released a lock the session did not hold, and PostgreSQL warned.
      expect(notices).toEqual([]);
    } finally {
      spy.mockRestore();
      watch.mockRestore();
      await s.onModuleDestroy();
    }
  });

  it("releases a job's lock that its refused statement took before it failed (a cancel after the grant)", async () => {
    const runs: string[] = [];
    const a = new JobScheduler(first.ds);
    a.register('test-lock-taken', 1_000, async () => void runs.push('a'));
    const b = new JobScheduler(second.ds);
    b.register('test-lock-taken', 1_000, async () => void runs.push('b'));
    const spy = answeringLock('test-lock-taken', async (send) => {
      await send();
      throw Object.assign(new Error('canceling statement due to user request'), { code: '57014' });
    });
    try {
      await expect(a.runNow('test-lock-taken')).rejects.toThrow('canceling statement due to user request');
      spy.mockRestore();
      // A session's advisory lock outlives its statement's error: a probe of the connection that released nothing
      // (SELECT 1) left it held, and no other process could run the job while this one lived.
      expect(await b.runNow('test-lock-taken')).toBe(true);
      expect(runs).toEqual(['b']);
    } finally {
      spy.mockRestore();
      for (const s of [a, b]) await s.onModuleDestroy();
    }
  });

  it('gives up a lock statement its connection does not answer within lockTimeoutMs: warned of, the connection replaced, the runs going on', async () => {
    const runs: string[] = [];
    // 3 s: the bound is the connecting's and every other lock statement's too, which a busy CI machine may slow past 1 s.
    const s = new JobScheduler(first.ds, undefined, loadConfig({ JOB_LOCK_TIMEOUT_MS: '3000' }));
    s.register('test-lock-stuck', 1_000, async () => void runs.push('stuck'));
    s.register('test-lock-behind', 1_000, async () => void runs.push('behind'));
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    // The first lock statement is stuck (a hung backend, a network that drops every packet): it answers in an hour.
    const real = Client.prototype.query;
    let stalled = false;
    const spy = jest.spyOn(Client.prototype, 'query').mockImplementation(function (this: Client, ...args: unknown[]) {
      const stall = !stalled && String(args[0]).includes('pg_try_advisory_lock') && (args[1] as unknown[])?.[0] === 'parvis:job:test-lock-stuck';
      if (stall) stalled = true;
      return (real as (...a: unknown[]) => Promise<unknown>).apply(this, stall ? ['SELECT pg_sleep(3600)'] : args);
    } as typeof real);
    try {
      // Until 2026-12-07 neither ever answered: the other job's lock statement waited behind the stuck one, for good.
      expect(await Promise.all([s.runNow('test-lock-stuck'), s.runNow('test-lock-behind')])).toEqual([true, true]);
      expect(runs.sort()).toEqual(['behind', 'stuck']);
      expect(warn.mock.calls.filter(([, line]) => String(line).includes('job-lock'))).toEqual([
        [{ err: expect.objectContaining({ message: 'Query read timeout' }), timeoutMs: 3_000 }, 'a job-lock statement got no answer in time; the connection is replaced, its locks freed once PostgreSQL ends its session'],
      ]);
    } finally {
      spy.mockRestore();
      warn.mockRestore();
      await first.sql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query = 'SELECT pg_sleep(3600)'`);
      await s.onModuleDestroy();
    }
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

  it("has the ticking process retry a job whose run by hand failed in another process at its next tick, not at the due time it had read", async () => {
    const name = 'test-by-hand-failed-elsewhere';
    const job = hourlyJob(name);
    job.failing = false;
    // A worker's scheduler, which runs the ticks (the app's own, with its process's LISTEN connection), and an API node's,
    // which runs none: the job run there by hand (an operator's command, a test's).
    const ticking = first.get(JobScheduler);
    ticking.register(name, 3_600_000, async () => void job.runs.push('ticking'));
    const byHand = job.scheduler(second, 'by hand');
    const logs = watchLogs(name);
    const reads = jest.spyOn(first.ds, 'query');
    const notDue = jest.spyOn(Logger.prototype, 'debug').mockImplementation(() => undefined);
    const dueIn = () => notDue.mock.calls.filter(([fields]) => fields?.job === name).map(([fields]) => fields.dueInMs as number);
    // The ticking process's timers held: its job's ticks (the last registered, the last interval) are called here.
    const intervals: Array<() => void> = [];
    const every = jest.spyOn(global, 'setInterval').mockImplementation(((fn: () => void) => (intervals.push(fn), 0)) as never);
    const once = jest.spyOn(global, 'setTimeout').mockImplementation((() => 0) as never);
    const listens = jest.spyOn(first.get(PgListener), 'listen');
    try {
      expect(await byHand.runNow(name)).toBe(true);
      ticking.start();
      every.mockRestore();
      once.mockRestore();
      // It listens for the jobs' due times moved nearer (JOB_DUE_CHANNEL) as it starts.
      const listen = listens.mock.calls.findIndex(([channel]) => channel === JOB_DUE_CHANNEL);
      expect(await listens.mock.results[listen]?.value).toBe(true);
      const tick = intervals[intervals.length - 1];
      // Its tick reads the job's due time: an hour on.
      tick();
      while (dueIn().length < 1) await new Promise((r) => setTimeout(r, 20));
      expect(dueIn()[0]).toBeGreaterThan(3_500_000);
      // The next run, by hand in the other process, fails: the record says it is due again a minute on.
      job.failing = true;
      await expect(byHand.runNow(name)).rejects.toThrow('the job failed');
      // The ticking process's next ticks read it again (until 2026-12-07 none did before the hour it had read).
      for (let i = 0; i < 250 && dueIn().length < 2; i++) {
        tick();
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(reads.mock.calls.filter(([sql, params]) => String(sql).includes('wait_ms') && params?.[0] === name)).toHaveLength(2);
      expect(dueIn()[1]).toBeLessThanOrEqual(FAILURE_RETRY_MS);
      expect(job.runs).toEqual(['by hand succeeded', 'by hand failed']);
    } finally {
      listens.mockRestore();
      every.mockRestore();
      once.mockRestore();
      ticking.stop();
      notDue.mockRestore();
      reads.mockRestore();
      logs.restore();
    }
  });
});
