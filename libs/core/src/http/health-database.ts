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
 * /health's own connection to the database (a pool of one), beside the API's pool: whether the
 * database answers is asked here, where no request holds the connection, so a saturated pool is
 * never read as a database that is down, and no pool internals are read to tell the two apart.
 * Opened with the API's credentials (`like`), on the first check; kept between checks (the image
 * checks every 10 s) and given back to the server after a minute without one; closed with the
 * application.
 */
export class HealthDatabase implements OnApplicationShutdown {
  private readonly log = new Logger('Health');
  private readonly pool: Pool;
  /** The check in flight, which checks meanwhile share (`answers`). */
  private inFlight: Promise<boolean> | undefined;

  /** `bounds` other than HEALTH_CONNECT_MS and HEALTH_STATEMENT_MS: tests only (health e2e's overlapping checks). */
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
    let client;
    try {
      client = await this.pool.connect();
    } catch (err) {
      this.down('opening its connection', err);
      return false;
    }
    try {
      await client.query('SELECT 1');
      client.release();
      return true;
    } catch (err) {
      // Its state is unknown (a statement cut off mid-answer): this connection goes, the next check opens another.
      client.release(err instanceof Error ? err : true);
      this.down('its statement', err);
      return false;
    }
  }

  /**
   * Logs why a check found the database down: the error's code (pg's SQLSTATE, or Node's: ECONNREFUSED...) and message,
   * nothing else of it. pg's messages name the host, port, user or database at most, never the password; the error's other
   * fields are left out (a server error's `detail`, a bad address's `input`, which pg-connection-string masks today).
   */
  private down(step: string, err: unknown): void {
    const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown };
    const reason = { ...(typeof code === 'string' ? { code } : {}), message: typeof message === 'string' ? message : String(err) };
    this.log.warn({ reason }, `health check: the database is down (${step} failed)`);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pool.end();
  }
}
