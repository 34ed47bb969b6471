import { Injectable, Logger, OnModuleDestroy, Optional } from '@nestjs/common';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { AppConfig } from './config/config';
import { ChannelListener, PgListener } from './database/pg-listener';
import { rowsOf } from './database/unit-of-work';
import { settleWithin } from './settle-within';
import { errorKind, RepeatedWarning } from './warning-throttle';

/**
 * Jobs that run less often than this are kept to their schedule through `job_runs`: checked at
 * start and this often after, and run when their interval has passed since their last run's
 * start (or FAILURE_RETRY_MS, doubling, since a failed run), by any process. Shorter ones simply
 * run on every tick of their own.
 */
export const DUE_CHECK_MS = 60_000;

/**
 * A scheduled job's run that failed is tried again this long after, doubled for each failure in a row before it, at most
 * the job's own interval (1, 2, 4… 32 minutes, then hourly for an hourly job), in whichever process: not every minute forever.
 */
export const FAILURE_RETRY_MS = 60_000;

/**
 * A warning its job's ticks would repeat is logged once in this long at most per job (RepeatedJobWarning): its first, then
 * a reminder saying how many went unlogged (a new error goes at once: JOB_ERROR_CHANGES_MAX). So a job not started
 * (`scheduled job not started`: a tick a minute stays, no backoff: three small statements, and the job runs a minute after
 * the database takes them again), a job whose runs keep failing (`scheduled job failed`: a frequent one every 15 to 60 s)
 * and a failed run whose record keeps failing (each tick tries it). Until 2026-12-07 each logged its warning at every tick, one a minute or more per job for as long as it lasted.
 */
export const JOB_REWARN_MS = 60 * 60_000;

/**
 * How many errors other than those logged since its last hourly warning (that one's and each new one's since) are warned of at once between two warnings of a job's
 * (JOB_REWARN_MS apart at least): an operator must not learn of a new failure an hour late because another one was warned
 * of first (until 2026-12-07 a different error within the hour went unlogged). Past it they are counted, as repeats are.
 */
export const JOB_ERROR_CHANGES_MAX = 3;

/** SQL for when a job is due again: `seconds` (SQL) after its last run's start `lastRun` (SQL); the tick's due check and the claim both read it. */
const dueAt = (lastRun: string, seconds: string) => `${lastRun} + make_interval(secs => ${seconds}::float8)`;

/**
 * A failed run's record moved its job's due time nearer (recordFailure): the job's name is sent here, and a process that
 * runs the ticks reads the job's due time again at its next tick, not at the one it had read (up to the job's interval).
 */
export const JOB_DUE_CHANNEL = 'parvis_job_due';

/**
 * How long a shutdown (onModuleDestroy) waits for the runs in progress to end before it ends the lock connection under
 * them: long enough for the short jobs (the prunes, a digest's batch), not for a rebuild, which no wait would see through.
 * The process's cleanups are cut short at CLEANUP_DEADLINE_MS (10 s), and in one application close (the worker in the API
 * process, the embedded default) the live gateway may wait its own 6 s for the pushes under way (SHUTDOWN_WAIT_MS there),
 * Nest closing the modules one after another: the two waits together leave time for the pool's end and the embedded
 * server's stop. (A first version waited 7 s, which with the gateway's could pass the deadline: exit 1.)
 */
export const JOB_SHUTDOWN_WAIT_MS = 2_000;

/** How the job-lock connection shows in pg_stat_activity. */
export const JOB_LOCK_APPLICATION = 'parvis-job-locks';

interface Job {
  name: string;
  everyMs: number;
  run: () => Promise<unknown>;
  /** Called once when a process starts running the jobs (`start`): a job's start-up word, say. */
  onStart?: () => void;
}

/**
 * One warning of a job's that its ticks would otherwise repeat for as long as the cause lasts (the database refusing
 * them, say), by job: the rule is RepeatedWarning's (libs/core/src/warning-throttle.ts, /health's too), JOB_REWARN_MS
 * apart, JOB_ERROR_CHANGES_MAX new errors between, every occurrence held back counted (`notLogged`) and said by the next
 * line, the hourly one or a new error's; `over` says when the cause is gone. In this process's memory, on the monotonic
 * clock (performance.now, which a test moves).
 */
class RepeatedJobWarning {
  /** By job, since its first: how many times it happened (what `over` says), and its warning's state. */
  private readonly byJob = new Map<string, { times: number; warning: RepeatedWarning<'notLogged'> }>();

  /** `times` names what is counted, in the reminder: "3 more `times` not logged since the last warning". */
  constructor(
    private readonly log: Logger,
    private readonly message: string,
    private readonly times: string,
  ) {}

  /** It happened again to `job`: warned of unless a warning went within JOB_REWARN_MS and its error was logged since, else counted. */
  again(job: string, err: unknown): void {
    let n = this.byJob.get(job);
    if (!n) this.byJob.set(job, (n = { times: 0, warning: new RepeatedWarning(JOB_REWARN_MS, JOB_ERROR_CHANGES_MAX, ['notLogged']) }));
    n.times++;
    const turn = n.warning.occurred(performance.now(), err);
    if (!turn.go) return n.warning.count('notLogged');
    const line = turn.go === 'new kind' ? `${this.message} (a new error)` : this.message;
    const notLogged = (turn.go === 'warning' ? turn.unlogged : n.warning.tell())?.notLogged;
    if (!notLogged) this.log.warn({ err, job }, line);
    else this.log.warn({ err, job, notLogged }, `${line}; ${notLogged} more ${this.times} not logged since the last warning`);
  }

  /** It is over for `job`: how many times it happened since its first (0: none), and a next one is a first again. */
  over(job: string): number {
    const n = this.byJob.get(job);
    this.byJob.delete(job);
    return n?.times ?? 0;
  }
}

/**
 * Periodic background jobs (pruning rate-limit events, recomputing trust levels...).
 * Modules register them; whichever process runs the worker starts them. A job never
 * overlaps itself, in this process or in another one (several workers share the schedule
 * through an advisory lock per job), and a failure is logged and retried at the next tick.
 * Hourly jobs keep to the hour across restarts and processes (`job_runs`, see DUE_CHECK_MS); a run
 * of theirs that fails is retried FAILURE_RETRY_MS on, doubling while it keeps failing, up to the
 * hour (until 2026-12-06 the hour at once; fa5b9175 made it every minute, forever, with nothing
 * recorded while a run went on), in whichever process runs the ticks, even when it failed in another (JOB_DUE_CHANNEL). One that kills its process mid-run waits its interval (worker-death e2e). A tick whose
 * steps before the run fail (the due check, the lock, the start's record: the database refusing them)
 * logs `scheduled job not started`, counts no failure of the job and leaves its due time as it was:
 * the next tick tries again; that warning goes once in JOB_REWARN_MS at most per job, and the job's next start
 * is logged (info) with how many ticks did not start it. So do `scheduled job failed` (the next run that succeeds says
 * how many failed) and a failure that could not be recorded (its record says how many tries it took).
 */
@Injectable()
export class JobScheduler implements OnModuleDestroy {
  private readonly log = new Logger('Jobs');
  private readonly jobs: Job[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  /** The connection that holds every job's advisory lock, opened on first use (and again once lost). */
  private lock?: { client: Client; ready: Promise<Client> };
  /** Ticks that did not start their job, since its last start. */
  private readonly notStarted = new RepeatedJobWarning(this.log, 'scheduled job not started', 'tick(s)');
  /**
   * Runs that threw, a tick's or one by hand (runNow; until 2026-12-07 a tick's alone), since the job's last run that succeeded (the first always logged): in this process, or
   * for a scheduled job in any (`job_runs.failures`, read as its run starts: 0, its last run succeeded, and this process's
   * count is said (`succeeded`) and starts again; until 2026-12-07 only a run that succeeded here did, so a failure after another process's success was
   * held back as a repeat). Not while this process's last failure is not among those recorded (`unrecorded`: owed to the
   * record, or its record matched no row): 0 is then no success, and until 2026-12-07 it was said as one and the count
   * started again. A frequent job keeps no record: its count is this process's runs alone.
   */
  private readonly failed = new RepeatedJobWarning(this.log, 'scheduled job failed', 'failed run(s)');
  /** Tries to record a failed run's failure that the database refused, since the last one recorded. */
  private readonly notRecorded = new RepeatedJobWarning(this.log, 'a failed run could not be recorded as failed; tried again at the next tick', 'attempt(s)');

  /**
   * By scheduled job, when its ticks next read its due time (`job_runs`), as last read: ticks before it ask nothing of the
   * database. Forgotten when a failed run's record moves the due time nearer, in this process (recordFailure) or another
   * (JOB_DUE_CHANNEL; all of them once the LISTEN connection is back, what was sent meanwhile unheard). Until 2026-12-07 a
   * run by hand that failed, here or in another process, was retried at the due time read before it, up to an hour on.
   */
  private readonly notBefore = new Map<string, number>();
  /**
   * Counts what forgot due times (forgetDue): a tick's read that was under way meanwhile may have seen the record before
   * the failure's, and is not kept as the due time (a NOTIFY heard before that read's answer was otherwise lost).
   */
  private forgotten = 0;
  private readonly dueAgain: ChannelListener = {
    message: (name) => {
      if (name) this.forgetDue(name);
    },
    reconnected: () => this.forgetDue(),
  };
  private listening = false;

  /** How long a statement on the job-lock connection, or its connecting, may go unanswered (JOB_LOCK_TIMEOUT_MS). */
  readonly lockTimeoutMs: number;

  constructor(
    private readonly ds: DataSource,
    /** The process's LISTEN connection (`CoreModule`); without it, a failure by hand in another process waits the due time read. */
    @Optional() private readonly listener?: PgListener,
    @Optional() config?: AppConfig,
  ) {
    // Built without a config (tests), AppConfig's default.
    this.lockTimeoutMs = (config ?? new AppConfig()).JOB_LOCK_TIMEOUT_MS;
  }

  /**
   * Adds a job, started by `start`. A name is registered once: a second job under it is a programming error, thrown here
   * (until 2026-12-07 it was dropped without a word, and its module's job never ran).
   */
  register(name: string, everyMs: number, run: () => Promise<unknown>, onStart?: () => void): void {
    if (this.jobs.some((j) => j.name === name)) throw new Error(`A job named "${name}" is registered already`);
    this.jobs.push({ name, everyMs, run, onStart });
  }

  /** Forgets `name`'s due time as read (every job's without one): its next tick reads it again. */
  private forgetDue(name?: string): void {
    this.forgotten++;
    if (name === undefined) this.notBefore.clear();
    else this.notBefore.delete(name);
  }

  start(): void {
    // Due times are read anew: a start's first tick reads each one.
    this.forgetDue();
    if (this.listener && !this.listening && this.jobs.some((j) => j.everyMs > DUE_CHECK_MS)) {
      this.listening = true;
      // Once it listens, what ticks read before is read again (a failure meanwhile was sent unheard); not listening yet,
      // `reconnected` says when it does.
      // A refused LISTEN is the listener's to report and retry (`reconnected` catches up then): its promise never rejects.
      void this.listener.listen(JOB_DUE_CHANNEL, this.dueAgain).then((listens) => listens && this.forgetDue());
    }
    for (const job of this.jobs) {
      job.onStart?.();
      let busy = false;
      const scheduled = job.everyMs > DUE_CHECK_MS;
      const tick = async () => {
        if (busy || Date.now() < (this.notBefore.get(job.name) ?? 0)) return;
        busy = true;
        // Whether the job itself was called: what fails before (the due check, its lock, its start's record) is no run of it.
        let started = false;
        try {
          if (scheduled) {
            const failure = this.unrecorded.get(job.name);
            if (failure?.owed) await this.recordFailure(job, failure.started, true);
            // One plain read first (the database's clock): not due yet, no lock is taken.
            const forgotten = this.forgotten;
            const [last] = await this.ds.query(
              `SELECT extract(epoch FROM ${dueAt('last_run_at', '$2')} - now()) * 1000 AS wait_ms FROM job_runs WHERE name = $1`,
              [job.name, job.everyMs / 1000],
            );
            if (last && Number(last.wait_ms) > 0) {
              if (forgotten === this.forgotten) this.notBefore.set(job.name, Date.now() + Number(last.wait_ms));
              // What a restart decided of a job (worker-death e2e waits for it).
              this.log.debug({ job: job.name, dueInMs: Math.round(Number(last.wait_ms)) }, 'scheduled job not due yet');
              return;
            }
          }
          await this.runNow(job.name, scheduled ? job.everyMs : undefined, () => {
            started = true;
            this.startedAgain(job.name);
          });
        } catch (err) {
          // A run that threw is counted already (runLocked, as one by hand is). Not started: nothing of the job ran and no
          // failure of it is counted (`job_runs.failures`); its due time stays as it was, so the next tick (DUE_CHECK_MS
          // on) tries again. Until 2026-12-07 logged as `scheduled job failed`.
          if (!started) this.notStarted.again(job.name, err);
        } finally {
          busy = false;
        }
      };
      this.timers.push(setInterval(() => void tick(), scheduled ? DUE_CHECK_MS : job.everyMs));
      // A scheduled job overdue (or never run) runs soon after start, not an interval later.
      if (scheduled) this.timers.push(setTimeout(() => void tick(), 1000));
    }
  }

  /** `name` starts after ticks that did not start it: said once (info), and its warnings start again from the first. */
  private startedAgain(name: string): void {
    const ticks = this.notStarted.over(name);
    if (ticks) this.log.log({ job: name, notStarted: ticks }, `scheduled job started, after ${ticks} tick(s) that could not start it`);
  }

  /**
   * A run of `name` succeeded after runs that failed in this process: its own, a tick's or one by hand (`elsewhere` false:
   * succeededHere, from runNow), or another
   * process's, read as the last run recorded (`job_runs.failures` 0: the other process says only its own failed runs).
   * Said once (info), with how many failed here, and its next failure here is warned of at once. 383ecba1's reset of the
   * throttle forgot another process's success unsaid; until 2026-12-07 the two were said by near-copies of one method.
   */
  private succeeded(name: string, elsewhere: boolean): void {
    const failedRuns = this.failed.over(name);
    if (!failedRuns) return;
    const line = elsewhere
      ? `scheduled job succeeded in another process, after ${failedRuns} failed run(s) in this one`
      : `scheduled job succeeded, after ${failedRuns} failed run(s)`;
    this.log.log({ job: name, failedRuns }, line);
  }

  stop(): void {
    for (const t of this.timers.splice(0)) clearTimeout(t);
  }

  /** Set as a shutdown begins (onModuleDestroy): no run starts after it, a tick's or one by hand. */
  private stopping = false;
  /** How long a shutdown waits for the runs in progress (JOB_SHUTDOWN_WAIT_MS; a test shortens it). */
  shutdownWaitMs = JOB_SHUTDOWN_WAIT_MS;

  /**
   * Starts no run from now on, waits for those in progress (shutdownWaitMs at most) and for the lock connection's queued
   * statements (their unlocks), then ends that connection. A run's lock is so released by its own unlock once it is done,
   * and until then no other process starts the job beside it; until 2026-12-07 the connection was ended at once, each
   * run's lock going with it while the run went on (jobs e2e). Past the bound, the jobs still running are named in a
   * warning and their locks go as the connection ends: the process's cleanups have a deadline.
   */
  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    this.stop();
    if (this.listening) await this.listener?.unlisten(JOB_DUE_CHANNEL, this.dueAgain);
    this.listening = false;
    // A run leaves `running` once its unlock is answered; the lock statements are all runs' (none starts now), so once the
    // runs left, none is queued.
    const running = this.running;
    await settleWithin({ get size() { return running.size; }, keys: () => running.values() }, Date.now() + this.shutdownWaitMs);
    if (running.size) {
      this.log.warn(
        { jobs: [...running.keys()], waitedMs: this.shutdownWaitMs },
        'shutting down with job runs still in progress: their locks are released as the job-lock connection ends',
      );
    }
    if (this.lock) await this.forgetLocks(this.lock.client);
  }

  /**
   * Runs a job now unless it is running already, in this process or another (then returns false). The lock is a
   * session advisory lock, held for the run on a connection of the scheduler's own (so a long
   * job keeps no connection from the pool) and released after; a process that dies mid-run
   * drops it with that connection. With `onlyIfNotRunWithinMs`, also unless it started that
   * recently, in any process (`job_runs`); a scheduled job's start is recorded there either way,
   * before it runs, and moved back to a retry (recordFailure) when the run throws; a run that throws is counted in the
   * job's failed runs (`scheduled job failed`, its tick's or this call's) and thrown to the caller. `onRun` is
   * called once the lock is held and the start recorded, just before the job runs (the tick's
   * way of telling a run that failed from one that never started). The failures in a row recorded before this run
   * (`job_runs.failures`, by any process; none for a job not recorded, or whose record this run's start made: none
   * before it, or deleted since) are read there: 0 is a success, maybe elsewhere (`succeeded`). A tick runs its job through
   * here, as a caller would (content-versions e2e watches it so). Once a shutdown has begun (onModuleDestroy) it runs
   * nothing and returns false.
   */
  async runNow(name: string, onlyIfNotRunWithinMs?: number, onRun?: () => void): Promise<boolean> {
    const job = this.jobs.find((j) => j.name === name);
    if (!job) throw new Error(`Unknown job "${name}"`);
    // A shutdown has begun (onModuleDestroy): its lock connection is about to end.
    if (this.stopping) return false;
    // This process's own runs: its advisory lock, a session's, would be granted again on the same connection.
    if (this.running.has(name)) return false;
    const run = this.runLocked(job, onlyIfNotRunWithinMs, onRun).finally(() => this.running.delete(name));
    this.running.set(name, run);
    return run;
  }

  /**
   * Jobs this process is running (runNow), each with its run's end (its unlock done): a tick's run and one by hand, or two
   * by hand, never at once; a shutdown waits for them.
   */
  private readonly running = new Map<string, Promise<boolean>>();

  private async runLocked(job: Job, onlyIfNotRunWithinMs?: number, onRun?: () => void): Promise<boolean> {
    const name = job.name;
    // The job's advisory lock, one key (its name's hash) taken and released.
    const key = `parvis:job:${name}`;
    const lockKey = 'hashtextextended($1, 0)';
    const tryLock = `SELECT pg_try_advisory_lock(${lockKey}) AS locked`;
    const unlock = `SELECT pg_advisory_unlock(${lockKey})`;
    // Released only if this session holds it (pg_locks shows a bigint key's halves in classid and objid, objsubid 1):
    // PostgreSQL warns of a release of a lock not held ("you don't own a lock of type ExclusiveLock").
    const unlockIfHeld = `SELECT pg_advisory_unlock(k) FROM (SELECT ${lockKey} AS k) key
      WHERE EXISTS (SELECT FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted AND objsubid = 1
                      AND ((classid::bigint << 32) | objid::bigint) = k)`;
    let holder = await this.lockConnection();
    let locked: boolean;
    try {
      locked = (await this.onLockConnection(holder, tryLock, [key])).rows[0].locked;
    } catch (err) {
      // A connection that still answers refused this lock itself (out of shared memory, a cancel): thrown, and kept with
      // the locks of the runs it holds (until 2026-12-07 it was ended, and another process could run those jobs beside them).
      // Asked by releasing this job's lock, which no run here holds (`running`): a statement that failed after its grant (a
      // cancel) leaves it held, a session's lock outliving its statement's error, and no other process could run the job.
      // Only if held: until 2026-12-07 a lock refused before its grant was released all the same, and PostgreSQL warned.
      if (await this.onLockConnection(holder, unlockIfHeld, [key]).then(() => true, () => false)) throw err;
      // The connection was lost before it said so. Ended by a shutdown past its wait (onModuleDestroy): the job is not run,
      // as none starts once it began; until 2026-12-07 it was run on a new connection, opened after the shutdown had ended
      // the last and ended by nothing, as the process went.
      if (this.stopping) return false;
      // Otherwise once more, on a new one.
      await this.forgetLocks(holder);
      holder = await this.lockConnection();
      locked = (await this.onLockConnection(holder, tryLock, [key])).rows[0].locked;
    }
    if (!locked) return false;
    try {
      // Run by hand, a scheduled job's schedule counts from this run too. (Frequent jobs keep no record: nothing reads it.)
      const recorded = onlyIfNotRunWithinMs !== undefined || job.everyMs > DUE_CHECK_MS;
      let claim: { started: string; failures: number | null } | undefined;
      if (recorded) {
        // Under the lock: the last run, by any process, and this one's start, recorded before it runs (the database's
        // clock, as text: exact). A process that dies mid-run, or whose lock connection is lost while the run goes on,
        // leaves it recorded, so no other process runs the job again within its interval meanwhile. A record made anew
        // (`xmax = 0`: inserted, not updated) held no run before: its failures are null, not 0, which would say the last
        // run succeeded (until 2026-12-07 a record deleted by hand after a failure was written said so).
        [claim] = await this.ds.query<Array<{ started: string; failures: number | null }>>(
          `INSERT INTO job_runs AS r (name, last_run_at) VALUES ($1, now())
           ON CONFLICT (name) DO UPDATE SET last_run_at = now()
            WHERE $2::float8 IS NULL OR ${dueAt('r.last_run_at', '$2')} <= now()
           RETURNING now()::text AS started, CASE WHEN r.xmax = 0 THEN NULL ELSE r.failures END AS failures`,
          [name, onlyIfNotRunWithinMs === undefined ? null : onlyIfNotRunWithinMs / 1000],
        );
        if (!claim) return false;
      }
      // The last run recorded succeeded, in whichever process: a failure of this job here is a first again (`failed`). Read
      // by any run, one by hand too (until 2026-12-07 a tick's alone: one by hand that failed wrote 1 over the 0, and the
      // next tick never learnt of the success). Not while this process's own last failure is missing from the record
      // (`unrecorded`): 0 may be the streak it never joined. Nor for a frequent job, whose ticks record no failure: a 0 a
      // run by hand reads is that of an older one by hand (until 2026-12-07, c692de99, it said a success elsewhere).
      if (claim?.failures === 0 && job.everyMs > DUE_CHECK_MS && !this.unrecorded.has(name)) this.succeeded(name, true);
      try {
        onRun?.();
        await job.run();
      } catch (err) {
        // A frequent job's failure is recorded nowhere, so never owed: its ticks read no record (no due check, no backoff:
        // its next tick is its retry) and nothing reads its count (above). Until 2026-12-07 a run by hand's was written, and
        // one the database refused stayed owed in memory for good, warned of as tried again at a tick that never tried it.
        if (claim && job.everyMs > DUE_CHECK_MS) await this.recordFailure(job, claim.started, false);
        // In the job's failed runs (`failed`), a tick's or one by hand, then thrown to the caller. Until 2026-12-07 the tick
        // counted its own alone: one by hand that failed was in no streak, and the tick's next was warned of as a first.
        this.failed.again(name, err);
        throw err;
      }
      this.succeededHere(name);
      if (claim?.failures) await this.resetFailures(job, claim.started);
    } finally {
      // A lost connection has dropped the lock already.
      await this.onLockConnection(holder, unlock, [key]).catch(() => undefined);
    }
    return true;
  }

  /** The lock connection's statements, one after another: jobs due together must not send theirs at once on one client. */
  private lockQueue: Promise<unknown> = Promise.resolve();

  /**
   * One statement on the lock connection, after those before it. One unanswered within lockTimeoutMs (pg's client-side
   * `query_timeout`: a hung backend, a network that drops every packet) is given up and its connection replaced (the
   * locks it held are freed once PostgreSQL ends that session): the statements behind it, every job's, would otherwise
   * wait for good (until 2026-12-07).
   */
  private onLockConnection(client: Client, text: string, params: unknown[]): Promise<{ rows: Array<{ locked: boolean }> }> {
    const run = this.lockQueue.then(() =>
      client.query<{ locked: boolean }>(text, params).catch((err: Error) => {
        if (errorKind(err) === 'timeout' && this.lock?.client === client) {
          this.log.warn({ err, timeoutMs: this.lockTimeoutMs }, 'a job-lock statement got no answer in time; the connection is replaced, its locks freed once PostgreSQL ends its session');
          // Not waited for: ending a connection with a statement under way destroys its socket.
          void this.forgetLocks(client);
        }
        throw err;
      }),
    );
    this.lockQueue = run.catch(() => undefined);
    return run;
  }

  private lockConnection(): Promise<Client> {
    if (this.lock) return this.lock.ready;
    const client = new Client({
      connectionString: (this.ds.options as { url?: string }).url,
      application_name: JOB_LOCK_APPLICATION,
      query_timeout: this.lockTimeoutMs,
      connectionTimeoutMillis: this.lockTimeoutMs,
    });
    client.on('error', (err: Error) => {
      this.log.warn({ err }, 'the job-lock connection failed; the next run opens another');
      void this.forgetLocks(client);
    });
    client.on('end', () => void this.forgetLocks(client));
    const ready = client.connect().then(
      () => client,
      async (err) => {
        await this.forgetLocks(client);
        throw err;
      },
    );
    this.lock = { client, ready };
    return ready;
  }

  /** Drops the lock connection if it is still `client` (a newer one stays). */
  private async forgetLocks(client: Client): Promise<void> {
    if (this.lock?.client !== client) return;
    this.lock = undefined;
    await client.end().catch(() => undefined);
  }

  /**
   * By job, this process's last failed run (its start) while it is not among the failures in a row recorded
   * (`job_runs.failures`) and no run of the job has succeeded here since: its record refused (`owed`: the database gone
   * meanwhile, say; written at the job's next tick), or matching no row (the job's record deleted, or no longer that run's
   * start: a run since whose process's lock was lost, a change by hand). A stored 0 then tells no success elsewhere apart
   * from the streak that failure never joined, and none is said. Only a failure this process wrote (the streak 1 or more)
   * and then reads as 0 was reset, which only a run that succeeded does (resetFailures; a record deleted and made anew
   * reads none: runNow). The one record of both: until 2026-12-07 a set beside the owed map said it, and a run that
   * succeeded here (by hand: a tick's own success ended the throttle anyway) left it set, so the next failure after a
   * stored 0 was held back as a repeat of the streak that success had ended. Until 2026-12-07 too, a record that matched
   * no row was taken as written, and the next run's 0 said as a success in another process.
   */
  private readonly unrecorded = new Map<string, { started: string; owed: boolean }>();

  /**
   * A run of `name` succeeded in this process (its tick's or one by hand): said as this process's success (`succeeded`;
   * until 2026-12-07 only a tick's was, and one by hand read by the next tick as its stored 0, said as a success in
   * another process), a failure of its before is in no streak to come, and one still owed to the record is dropped (the
   * record holds this run's start now, so it would match no row), its attempts said as the next tick's would have said them.
   */
  private succeededHere(name: string): void {
    this.succeeded(name, false);
    const last = this.unrecorded.get(name);
    this.unrecorded.delete(name);
    if (!last?.owed) return;
    const attempts = this.notRecorded.over(name);
    if (attempts) {
      this.log.log(
        { job: name, attempts },
        `a failed run's failure was not recorded, after ${attempts} attempt(s): a run that succeeded since holds the job's record`,
      );
    }
  }

  /**
   * Moves a failed run's next due time from its interval on to FAILURE_RETRY_MS on, doubled for each failure before it in
   * a row, at most the job's interval, for every process (`job_runs`); only while the record is still this run's start.
   * A scheduled job's alone (its ticks retry what is owed; a frequent job's record no failure: runLocked).
   * When that write fails too, the job's next tick in this process tries it again (warned of once in JOB_REWARN_MS at most:
   * while the database is down, every tick fails it; until 2026-12-07 each one warned), and the line that ends those
   * warnings says whether a row was written at last or the record had moved on meanwhile.
   */
  private async recordFailure(job: Job, started: string, owed: boolean): Promise<void> {
    // An owed failure tried again while another run of the job went on (one by hand): what that run left is newer, and stays.
    const stale = () => owed && this.unrecorded.get(job.name)?.started !== started;
    try {
      // Its due time moved nearer: told to the processes that run the ticks (JOB_DUE_CHANNEL), this one at once.
      const written = rowsOf(
        await this.ds.query(
          `WITH moved AS (
             UPDATE job_runs SET failures = failures + 1,
                    last_run_at = now() - make_interval(secs => $3::float8) + make_interval(secs => least($3::float8, $4::float8 * power(2, least(failures, 30))))
              WHERE name = $1 AND last_run_at = $2::timestamptz
              RETURNING name)
           SELECT pg_notify('${JOB_DUE_CHANNEL}', name) FROM moved`,
          [job.name, started, job.everyMs / 1000, FAILURE_RETRY_MS / 1000],
        ),
      ).length > 0;
      if (written) this.forgetDue(job.name);
      if (stale()) return;
      if (written) this.unrecorded.delete(job.name);
      else this.unrecorded.set(job.name, { started, owed: false });
      const attempts = this.notRecorded.over(job.name);
      // An owed failure whose record moved on meanwhile (its due time changed) is written nowhere: said so, not as recorded
      // (until 2026-12-07 it was), and owed no more, its run's start no longer the job's.
      if (attempts) {
        const line = written
          ? `a failed run was recorded as failed, after ${attempts} attempt(s) that could not record it`
          : `a failed run's failure was not recorded, after ${attempts} attempt(s): the job's record no longer held its start (another run, or a change by hand, since)`;
        this.log.log({ job: job.name, attempts }, line);
      }
    } catch (err) {
      if (stale()) return;
      this.unrecorded.set(job.name, { started, owed: true });
      this.notRecorded.again(job.name, err);
    }
  }

  /**
   * After a run that succeeded, its failures in a row start again from 0 (while the record is still this run's start). A
   * reset that fails (a lost connection, a lock timeout) is logged and changes nothing else: the run succeeded, and its
   * start stays recorded; the next run that succeeds reads the failures still counted and resets them. Until 2026-12-07 it
   * was thrown from runNow, and the tick logged the run that succeeded as `scheduled job failed`. Meanwhile a run that fails
   * waits as if those failures were in a row with it: longer, never shorter.
   */
  private async resetFailures(job: Job, started: string): Promise<void> {
    try {
      await this.ds.query(`UPDATE job_runs SET failures = 0 WHERE name = $1 AND last_run_at = $2::timestamptz`, [job.name, started]);
    } catch (err) {
      this.log.warn({ err, job: job.name }, 'a run succeeded but its failures in a row could not be reset; the next run that succeeds resets them');
    }
  }

  names(): string[] {
    return this.jobs.map((j) => j.name);
  }
}
