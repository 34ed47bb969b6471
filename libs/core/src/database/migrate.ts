import { DataSource } from 'typeorm';
import { PostgresConnectionOptions } from 'typeorm/driver/postgres/PostgresConnectionOptions';
import { dataSourceOptions } from './data-source';

/**
 * The advisory lock key migrations run under (an arbitrary constant: 'parvis' read as hex-ish
 * digits). Advisory locks are per database, so runs on other databases never wait on it.
 */
const MIGRATION_LOCK_KEY = 0x7a7215;
/** How long a run waits before asking for the lock again. */
const LOCK_RETRY_MS = 200;

/**
 * How long a migration run's statement waits for one of its two pool connections (the lock's and
 * the runner's), or for a new one to open: it never should, so past this the run fails, naming the
 * pool's time-out, rather than wait for good (until 2026-12-06 its pool had no wait bound). The
 * API's DB_CONNECTION_TIMEOUT_MS default; a migration's own statements are not bounded by it.
 */
export const MIGRATION_POOL_WAIT_MS = 10_000;

/** The migration run's DataSource: two connections, each waited for MIGRATION_POOL_WAIT_MS at most. */
export function migrationDataSourceOptions(url: string): PostgresConnectionOptions {
  return dataSourceOptions({ url, poolSize: 2, connectionTimeoutMs: MIGRATION_POOL_WAIT_MS });
}

/**
 * Applies pending migrations; returns the names applied. The one way migrations run (the API's
 * start, `parvis migrate` and every other CLI command, tests, benches): processes starting
 * together (several API nodes, a CLI command) take turns under one advisory lock: the first
 * applies what is pending, each next one finds nothing left, instead of two runners applying the same migration
 * (a failed `CREATE TABLE … already exists`, or one recorded twice). The lock is held on a
 * connection of its own, so a migration that runs outside a transaction (`transaction = false`,
 * its indexes built CONCURRENTLY) runs under it as well; it goes with that connection if the
 * process dies.
 */
export async function migrateDatabase(url: string): Promise<string[]> {
  const ds = new DataSource(migrationDataSourceOptions(url));
  await ds.initialize();
  const lock = ds.createQueryRunner();
  try {
    await lock.connect();
    // Asked for again and again rather than waited for in one statement: a statement waiting
    // holds a snapshot, and a migration building an index CONCURRENTLY waits for every older
    // snapshot to go, so it would wait on the very run that waits for it.
    while (!(await lock.query('SELECT pg_try_advisory_lock($1) AS got', [MIGRATION_LOCK_KEY]))[0].got) {
      await new Promise((resolve) => setTimeout(resolve, LOCK_RETRY_MS));
    }
    const done = await ds.runMigrations({ transaction: 'each' });
    return done.map((m) => m.name);
  } finally {
    await lock.release();
    await ds.destroy();
  }
}
