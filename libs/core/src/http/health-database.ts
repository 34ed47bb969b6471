import { Logger, OnApplicationShutdown } from '@nestjs/common';
import { Pool, PoolConfig } from 'pg';
import { DataSource } from 'typeorm';

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
 * While the database stays down, how often a check says so again (one warning): the image checks every 10 s, and until
 * 2026-12-06 every one of those checks logged its `down`.
 */
export const HEALTH_DOWN_REMINDER_MS = 5 * 60_000;

/** What the checks last found: unknown before the first; down since when, and when that was last logged. */
type Found = { up: true } | { up: false; since: number; loggedAt: number };

/**
 * /health's own connection to the database (a pool of one), beside the API's pool: whether the
 * database answers is asked here, where no request holds the connection, so a saturated pool is
 * never read as a database that is down, and no pool internals are read to tell the two apart.
 * Opened with the API's credentials (`like`), on the first check; kept between checks (the image
 * checks every 10 s) and given back to the server after a minute without one; closed with the
 * application.
 *
 * It logs the database's changes of state, not every check: the first check that finds it down (a warning with the reason),
 * a reminder every HEALTH_DOWN_REMINDER_MS while it stays down, and the first that finds it up again (with how long it was down).
 */
export class HealthDatabase implements OnApplicationShutdown {
  private readonly log = new Logger('Health');
  private readonly pool: Pool;
  /** The check in flight, which checks meanwhile share (`answers`). */
  private inFlight: Promise<boolean> | undefined;
  /** What the checks last found (logged when it changes: `foundUp`, `foundDown`). */
  private state: Found | undefined;
  /** Set at shutdown, before the pool ends: a check after it does not ask the pool, which would refuse it. */
  private closed = false;

  /**
   * `bounds` other than HEALTH_CONNECT_MS and HEALTH_STATEMENT_MS: tests only (health e2e's overlapping checks). `now`, a
   * monotonic clock in milliseconds that the state's log lines count by: tests only (a reminder without waiting 5 minutes).
   */
  constructor(
    connection: PoolConfig,
    bounds = { connectMs: HEALTH_CONNECT_MS, statementMs: HEALTH_STATEMENT_MS },
    private readonly now: () => number = () => performance.now(),
  ) {
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

  /** A check found the database up: logged only when it was down (how long for). */
  private foundUp(): void {
    const was = this.state;
    this.state = { up: true };
    if (was?.up !== false) return;
    const downFor = this.now() - was.since;
    this.log.log({ downForMs: Math.round(downFor) }, `health check: the database is up again, after ${lasting(downFor)} down`);
  }

  /**
   * A check found the database down: a warning when it was up (or not known yet), again every HEALTH_DOWN_REMINDER_MS while it
   * stays down, nothing between. The reason is the error's code (pg's SQLSTATE, or Node's: ECONNREFUSED...) and message, nothing
   * else of it. pg's messages name the host, port, user or database at most, never the password; the error's other fields are
   * left out (a server error's `detail`, a bad address's `input`, which pg-connection-string masks today).
   */
  private foundDown(step: string, err: unknown): void {
    const was = this.state;
    const now = this.now();
    const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown };
    const reason = { ...(typeof code === 'string' ? { code } : {}), message: typeof message === 'string' ? message : String(err) };
    if (was?.up !== false) {
      this.state = { up: false, since: now, loggedAt: now };
      this.log.warn({ reason }, `health check: the database is down (${step} failed)`);
    } else if (now - was.loggedAt >= HEALTH_DOWN_REMINDER_MS) {
      was.loggedAt = now;
      const downFor = now - was.since;
      this.log.warn({ reason, downForMs: Math.round(downFor) }, `health check: the database is still down (${step} failed), for ${lasting(downFor)}`);
    }
  }

  async onApplicationShutdown(): Promise<void> {
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
