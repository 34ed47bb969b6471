import { DataSource } from 'typeorm';
import { dataSourceOptions } from './data-source';

/**
 * The advisory lock key migrations run under (an arbitrary constant: 'parvis' read as hex-ish
 * digits). Advisory locks are per database, so runs on other databases never wait on it.
 */
const MIGRATION_LOCK_KEY = 0x7a7215;
/** How long a run waits before asking for the lock again. */
const LOCK_RETRY_MS = 200;

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
  const ds = new DataSource({ ...dataSourceOptions({ url, poolSize: 2 }) });
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
