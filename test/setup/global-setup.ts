import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { startEmbeddedPostgres } from '../../libs/core/src/database/embedded';
import { migrateDatabase } from '../../libs/core/src/database/migrate';
import { withDatabase } from './test-database';
import { freePort } from '../support/free-port';
import { dropLeftoverDatabases, EMBEDDED_DIR_PREFIX, holdRunLock, markEmbeddedDir, removeLeftoverEmbeddedDirs, RunLock, runPrefix } from './leftovers';

/**
 * Uses the PostgreSQL named by DATABASE_URL when set; otherwise starts a throwaway
 * embedded PostgreSQL for this run. Then migrates a template database once.
 *
 * First it clears what killed runs left (see leftovers.ts): their embedded clusters, and
 * on the server the databases of runs whose lock is free. This run's own lock is taken
 * before it creates anything, and held (by this process) until the global teardown has
 * dropped its databases.
 */
export default async function globalSetup(): Promise<void> {
  let adminUrl: string;
  await removeLeftoverEmbeddedDirs();
  if (process.env.DATABASE_URL) {
    adminUrl = process.env.DATABASE_URL;
  } else {
    const dataDir = mkdtempSync(path.join(tmpdir(), EMBEDDED_DIR_PREFIX));
    markEmbeddedDir(dataDir);
    const handle = await startEmbeddedPostgres({ dataDir, port: await freePort(), database: 'postgres', persistent: false });
    (globalThis as Record<string, unknown>).__parvisTestPg = { handle, dataDir };
    adminUrl = handle.url;
  }
  const lock: RunLock = await holdRunLock(adminUrl);
  (globalThis as Record<string, unknown>).__parvisTestRun = lock;
  await dropLeftoverDatabases(adminUrl);
  const prefix = runPrefix(lock.token);
  const template = `${prefix}template`;
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${client.escapeIdentifier(template)}`);
  } finally {
    await client.end();
  }
  await migrateDatabase(withDatabase(adminUrl, template));
  process.env.PARVIS_TEST_ADMIN_URL = adminUrl;
  process.env.PARVIS_TEST_TEMPLATE = template;
  process.env.PARVIS_TEST_PREFIX = prefix;
}
