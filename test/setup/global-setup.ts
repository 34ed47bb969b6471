import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { startEmbeddedPostgres } from '../../libs/core/src/database/embedded';
import { migrateDatabase } from '../../libs/core/src/database/migrate';
import { withDatabase } from './test-database';
import { freePort } from '../support/free-port';


/**
 * Uses the PostgreSQL named by DATABASE_URL when set; otherwise starts a throwaway
 * embedded PostgreSQL for this run. Then migrates a template database once.
 */
export default async function globalSetup(): Promise<void> {
  const prefix = `parvis_test_${Date.now().toString(36)}_${process.pid}_`;
  let adminUrl: string;
  if (process.env.DATABASE_URL) {
    adminUrl = process.env.DATABASE_URL;
  } else {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'parvis-test-'));
    const handle = await startEmbeddedPostgres({ dataDir, port: await freePort(), database: 'postgres', persistent: false });
    (globalThis as Record<string, unknown>).__parvisTestPg = { handle, dataDir };
    adminUrl = handle.url;
  }
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
