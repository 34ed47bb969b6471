import { rmSync } from 'node:fs';
import { DatabaseHandle } from '../../libs/core/src/database/embedded';
import { admin } from './test-database';
import { RunLock } from './leftovers';

/**
 * Drops every database this run created, then lets go of the run's lock (not before: with
 * the lock free, another run starting would drop them as left over), then stops the
 * embedded server if one was started.
 */
export default async function globalTeardown(): Promise<void> {
  const prefix = process.env.PARVIS_TEST_PREFIX;
  if (prefix) {
    await admin(async (c) => {
      const rows = await c.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE starts_with(datname, $1)`, [prefix]);
      for (const r of rows.rows) await c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(r.datname)} WITH (FORCE)`);
    });
  }
  await ((globalThis as Record<string, unknown>).__parvisTestRun as RunLock | undefined)?.release();
  const pg = (globalThis as Record<string, unknown>).__parvisTestPg as { handle: DatabaseHandle; dataDir: string } | undefined;
  if (pg) {
    await pg.handle.stop();
    rmSync(pg.dataDir, { recursive: true, force: true });
  }
}
