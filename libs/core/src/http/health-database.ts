import { Logger, OnApplicationShutdown } from '@nestjs/common';
import { Pool, PoolConfig } from 'pg';
import { DataSource } from 'typeorm';
import { RepeatedWarning } from '../warning-throttle';

/** How /health's own connection names itself to the server (pg_stat_activity). */
export const HEALTH_APPLICATION_NAME = 'parvis-health';

/**
 * How long /health's connection may take to open, and then how long its statement may take: 1 s
 * each, so `down` is known within 2 s (HEALTH_POOL_WAIT_MS), below the 5 s timeout of the image's
 * HEALTHCHECK (docker/Dockerfile), whatever DB_CONNECTION_TIMEOUT_MS lets the API's statements wait.
 */
export const HEALTH_CONNECT_MS = 1000;
export const HEALTH_STATEMENT_MS = 1000;

/**
 * At most one warning that the database is down in this long (its first, or a reminder while it stays down), however often
 * it goes down and comes back meanwhile: the image checks every 10 s, and until 2026-12-06 every one of those checks logged
 * its `down`; until 2026-12-06 too, a database down at one check and up at the next logged a warning and an `up again` at each.
 */
export const HEALTH_DOWN_REMINDER_MS = 5 * 60_000;

/**
 * How many changes of the reason the database is down are logged between two warnings (HEALTH_DOWN_REMINDER_MS apart at
 * least): the first one of each reason, up to this many; past it, the reminder says the reason then.
 */
export const HEALTH_REASON_CHANGES_MAX = 3;

/** Why a check found the database down, as logged: the error's code (when it has one) and message, nothing else of it. */
type Reason = { code?: string; message: string };

/** An outage: since the check that first found the database down, and whether a line told of it (then its end is logged). */
type Outage = { since: number; announced: boolean };

/**
 * What went unlogged since the last warning: the outages never announced (each counted at its end) and the failed checks no
 * line told of (those of an outage not announced yet, and those whose reason went unlogged past HEALTH_REASON_CHANGES_MAX).
 */
type Unlogged = { outages: number; checks: number };

/**
 * /health's own connection to the database (a pool of one), beside the API's pool: whether the
 * database answers is asked here, where no request holds the connection, so a saturated pool is
 * never read as a database that is down, and no pool internals are read to tell the two apart.
 * Opened with the API's credentials (`like`), on the first check; kept between checks (the image
 * checks every 10 s) and given back to the server after a minute without one; closed with the
 * application.
 *
 * It logs the database's changes of state, not every check, and of those one warning in HEALTH_DOWN_REMINDER_MS at most: the
 * first check that finds it down (a warning with the reason), a reminder every HEALTH_DOWN_REMINDER_MS while it stays down, and
 * the first that finds it up again (with how long it was down). An outage that begins within HEALTH_DOWN_REMINDER_MS of the
 * last warning (a database that flaps) is not logged, nor its end; it is counted, and the next warning says how many outages
 * and failed checks went unlogged, or, when none comes, the first check that finds it up HEALTH_DOWN_REMINDER_MS after the
 * warning (info), or shutdown. A reason not logged since the last warning is logged when a check meets it (up to
 * HEALTH_REASON_CHANGES_MAX), which announces its outage (its end is logged then).
 */
export class HealthDatabase implements OnApplicationShutdown {
  private readonly log = new Logger('Health');
  private readonly pool: Pool;
  /** The check in flight, which checks meanwhile share (`answers`). */
  private inFlight: Promise<boolean> | undefined;
  /** The outage the last check found, undefined when it found the database up (or before the first check). */
  private outage: Outage | undefined;
  /**
   * One warning that the database is down in HEALTH_DOWN_REMINDER_MS at most (its first, or a reminder), a reason not logged
   * since at once (HEALTH_REASON_CHANGES_MAX of them), and what went unlogged meanwhile (Unlogged): the rule job warnings follow too.
   */
  private readonly warnings = new RepeatedWarning<keyof Unlogged>(HEALTH_DOWN_REMINDER_MS, HEALTH_REASON_CHANGES_MAX, ['outages', 'checks']);
  /** Set at shutdown, before the pool ends: a check after it does not ask the pool, which would refuse it. */
  private closed = false;

  /**
   * `bounds` other than HEALTH_CONNECT_MS and HEALTH_STATEMENT_MS: tests only (health e2e's overlapping checks). The state's
   * log lines count by the monotonic clock, performance.now (which health e2e moves, as jobs e2e does: a reminder without
   * waiting 5 minutes).
   */
  constructor(connection: PoolConfig, bounds = { connectMs: HEALTH_CONNECT_MS, statementMs: HEALTH_STATEMENT_MS }) {
    this.pool = new Pool({
      ...connection,
      max: 1,
      idleTimeoutMillis: 60_000,
      // Both bounds, the pool's wait and the connection's opening: pg-pool applies it to both.
      connectionTimeoutMillis: bounds.connectMs,
      // The server stops the statement, and the client stops waiting for a server that went silent.
      statement_timeout: bounds.statementMs,
      query_timeout: bounds.statementMs,
      application_name: HEALTH_APPLICATION_NAME,
    });
    // An idle connection the server ended (a restart): the next check opens another.
    this.pool.on('error', () => undefined);
  }

  /** A health connection with the credentials the API's DataSource connects with; `url` replaces its address (tests). */
  static like(ds: DataSource, url?: string): HealthDatabase {
    const o = ds.options;
    if (o.type !== 'postgres') throw new Error(`HealthDatabase needs a PostgreSQL DataSource, not ${o.type}`);
    return new HealthDatabase(
      url !== undefined
        ? { connectionString: url }
        : { connectionString: o.url, host: o.host, port: o.port, user: o.username, password: o.password, database: o.database, ssl: o.ssl as PoolConfig['ssl'] },
    );
  }

  /**
   * Whether the database answered a statement on this connection within its bounds (HEALTH_CONNECT_MS, HEALTH_STATEMENT_MS).
   * A check while another is in flight shares its answer: it would otherwise wait in the pool for the one connection, and
   * pg-pool bounds that wait by HEALTH_CONNECT_MS too, so behind a check whose opening and statement took most of their
   * bounds it read the database down though it answered (until 2026-12-06). The answer shared was given after the check
   * in flight began, so it is at most the bounds (2 s) older than the caller: well inside the image's 10 s interval.
   */
  answers(): Promise<boolean> {
    // Only once it has settled can another begin.
    this.inFlight ??= this.check().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  private async check(): Promise<boolean> {
    if (this.closed) {
      // Until 2026-12-06 this reached the ended pool, whose refusal was logged as the database down (opening its connection failed).
      this.log.log('health check after shutdown began: the database was not asked (the check\'s connection is closed)');
      return false;
    }
    let client;
    try {
      // A pool of one that no other check uses (they share this one): the connection is idle, or opened here.
      client = await this.pool.connect();
    } catch (err) {
      this.foundDown('opening its connection', err);
      return false;
    }
    try {
      await client.query('SELECT 1');
      client.release();
      this.foundUp();
      return true;
    } catch (err) {
      // Its state is unknown (a statement cut off mid-answer): this connection goes, the next check opens another.
      client.release(err instanceof Error ? err : true);
      this.foundDown('its statement', err);
      return false;
    }
  }

  /**
   * A check found the database up: logged only when it was down, and that outage was announced (how long for); else counted.
   * HEALTH_DOWN_REMINDER_MS after the last warning, what went unlogged since is logged (info), once: until 2026-12-06 only the
   * next warning told it, so flaps followed by a steady up were never told.
   */
  private foundUp(): void {
    const now = performance.now();
    const outage = this.outage;
    this.outage = undefined;
    if (outage?.announced) {
      const downFor = now - outage.since;
      this.log.log({ downForMs: Math.round(downFor) }, `health check: the database is up again, after ${lasting(downFor)} down`);
    } else if (outage) {
      this.warnings.count('outages');
    }
    if (this.warnings.open(now)) this.logUnlogged('the database is up');
  }

  /** What went unlogged since the last warning, when anything did (info, then zeroed): `<what>; not logged since the last warning: …`. */
  private logUnlogged(what: string): void {
    const unlogged = this.warnings.tell();
    if (unlogged) this.log.log({ unlogged }, `health check: ${what}; not logged since the last warning: ${unloggedText(unlogged)}`);
  }

  /**
   * A check found the database down: a warning when none was logged within HEALTH_DOWN_REMINDER_MS (`down` for an outage not
   * announced yet, `still down` for one that was), with how long an outage that began at an earlier check has lasted and how
   * many outages and failed checks went unlogged since the last warning; else a line when its reason is one not logged since
   * that warning (HEALTH_REASON_CHANGES_MAX of them at most), with the reason the last line gave (a warning's or another such
   * line's: until 2026-12-06 named `previousReason`, which it was not when a check between them met a reason already logged);
   * else nothing, the check counted unless its outage was announced and its reason logged (until 2026-12-06 those were counted
   * too, so a reminder of a steady outage said its ordinary checks went unlogged). Either line announces the outage.
   */
  private foundDown(step: string, err: unknown): void {
    const now = performance.now();
    const reason = reasonOf(err);
    const began = this.outage === undefined;
    const outage = (this.outage ??= { since: now, announced: false });
    const turn = this.warnings.occurred(now, reason);
    if (turn.go === 'warning') {
      const { unlogged } = turn;
      const fields: { reason: Reason; downForMs?: number; unlogged?: Unlogged } = { reason };
      let line = `health check: the database is ${outage.announced ? 'still down' : 'down'} (${step} failed)`;
      if (!began) {
        fields.downForMs = Math.round(now - outage.since);
        line += `, for ${lasting(now - outage.since)}`;
      }
      if (unlogged) {
        fields.unlogged = unlogged;
        line += `; not logged since the last warning: ${unloggedText(unlogged)}`;
      }
      this.log.warn(fields, line);
      outage.announced = true;
    } else if (turn.go === 'new kind') {
      this.log.warn({ reason, lastLoggedReason: turn.lastLogged }, `health check: the database is down for another reason (${step} failed)`);
      outage.announced = true;
    } else if (!outage.announced || !turn.kindLogged) {
      this.warnings.count('checks');
    }
  }

  async onApplicationShutdown(): Promise<void> {
    // Counts not yet told, within HEALTH_DOWN_REMINDER_MS of the last warning, are not lost with the process.
    this.logUnlogged('shutting down');
    this.closed = true;
    await this.pool.end();
  }
}

/** A duration for a log line: `42 s`, `5 min 3 s`, `2 h 5 min`. */
function lasting(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/**
 * Why a check failed, as logged: the error's code (pg's SQLSTATE, or Node's: ECONNREFUSED...) and message, nothing else of it.
 * pg's messages name the host, port, user or database at most, never the password; the error's other fields are left out (a
 * server error's `detail`, a bad address's `input`, which pg-connection-string masks today).
 */
function reasonOf(err: unknown): Reason {
  const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown };
  return { ...(typeof code === 'string' ? { code } : {}), message: typeof message === 'string' ? message : String(err) };
}

/** What went unlogged since the last warning, for its line: `2 failed checks`, `4 outages (5 failed checks)`. */
function unloggedText(u: Unlogged): string {
  const checks = `${u.checks} failed check${u.checks === 1 ? '' : 's'}`;
  return u.outages === 0 ? checks : `${u.outages} outage${u.outages === 1 ? '' : 's'} (${checks})`;
}
