import { DataSource, Logger as TypeOrmLogger } from 'typeorm';
import { PostgresConnectionOptions } from 'typeorm/driver/postgres/PostgresConnectionOptions';
import { migrations } from '../../../../migrations';
import { Client } from 'pg';
import { ParvisClient, ParvisClientOptions } from './prepared-statements';
import { sessionSetup } from './session-settings';
import { PG_TYPES } from './timestamps';

/**
 * Counts SQL statements. Tests read it to pin the cost of a page, so an N+1
 * query fails CI instead of a benchmark.
 */
export class QueryCounter {
  count = 0;
  readonly statements: string[] = [];
  recording = false;

  reset(): void {
    this.count = 0;
    this.statements.length = 0;
  }
  record(sql: string): void {
    this.count++;
    if (this.recording) this.statements.push(sql);
  }
}

class CountingLogger implements TypeOrmLogger {
  constructor(private readonly counter: QueryCounter) {}
  logQuery(query: string): void {
    this.counter.record(query);
  }
  logQueryError(): void {}
  logQuerySlow(): void {}
  logSchemaBuild(): void {}
  logMigration(): void {}
  log(): void {}
}

export interface DataSourceSettings {
  url: string;
  poolSize?: number;
  counter?: QueryCounter;
  /** Run the texts registered with `prepared()` as named statements (default true). */
  preparedStatements?: boolean;
  /** Refuse statements that may write while a compiled query runs (GRAPHQL_JIT; `ParvisClient`); default false. */
  guardSpeculativeWrites?: boolean;
  /** PostgreSQL ends a session whose transaction sat idle this long (`sessionSetup`); 0 or absent: never. */
  idleInTransactionMs?: number;
  /** How long a statement waits for a pool connection before it fails (`isPoolWaitTimeout`); absent: for good. */
  connectionTimeoutMs?: number;
}

/** pg-pool's error when no connection came free within `connectionTimeoutMillis` (a new one that took too long to open fails otherwise). */
const POOL_WAIT_TIMEOUT = 'timeout exceeded when trying to connect';

/** Whether `err` is a statement's failure to get a pool connection in time: every connection was held. */
export function isPoolWaitTimeout(err: unknown): boolean {
  return err instanceof Error && err.message === POOL_WAIT_TIMEOUT;
}

/**
 * The most connections `ds`'s pool opens: DB_POOL_SIZE as `dataSourceOptions` set it (pg's `max`),
 * read from the options the DataSource was made with, not from the pool.
 */
export function poolSizeOf(ds: DataSource): number {
  const o = ds.options as PostgresConnectionOptions;
  return (o.extra as { max?: number } | undefined)?.max ?? o.poolSize ?? 10;
}

export function dataSourceOptions(s: DataSourceSettings): PostgresConnectionOptions {
  return {
    type: 'postgres',
    url: s.url,
    migrations,
    migrationsTableName: 'migrations',
    synchronize: false,
    migrationsRun: false,
    logging: s.counter ? ['query'] : false,
    logger: s.counter ? new CountingLogger(s.counter) : undefined,
    extra: {
      max: s.poolSize ?? 10,
      ...(s.connectionTimeoutMs ? { connectionTimeoutMillis: s.connectionTimeoutMs } : {}),
      application_name: 'parvis',
      // Before the pool hands a new connection out: cursors and dates read timestamps as ISO text.
      onConnect: sessionSetup(s.idleInTransactionMs),
      // timestamptz text parsed without pg's regular expressions (see parseTimestamptz).
      types: PG_TYPES,
      ...clientOption(s),
    },
  };
}

/** pg-pool's `Client`: pg's own, or `ParvisClient` when it prepares registered texts or guards writes. */
function clientOption(s: DataSourceSettings): { Client?: typeof Client; parvis?: ParvisClientOptions } {
  const parvis = { prepare: s.preparedStatements !== false, guardWrites: s.guardSpeculativeWrites === true };
  return parvis.prepare || parvis.guardWrites ? { Client: ParvisClient as typeof Client, parvis } : {};
}
