import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/**
 * Test databases. The global setup migrates one template per run; each test file
 * clones it (CREATE DATABASE ... TEMPLATE), so files never share state and never
 * pay for migrations again. Everything is named with the run's prefix and dropped
 * in the global teardown.
 */
export function adminUrl(): string {
  const url = process.env.PARVIS_TEST_ADMIN_URL;
  if (!url) throw new Error('PARVIS_TEST_ADMIN_URL is not set: run the tests through jest (npm test)');
  return url;
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export async function admin<T>(fn: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/**
 * A database of its own for a test file: the migrated template's clone, or (`empty`) a database
 * with nothing in it (no extension, no table), for a test that builds what it needs.
 */
export async function createTestDatabase({ empty = false } = {}): Promise<TestDatabase> {
  const template = empty ? 'template0' : process.env.PARVIS_TEST_TEMPLATE!;
  const name = `${process.env.PARVIS_TEST_PREFIX}${randomBytes(5).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${c.escapeIdentifier(name)} TEMPLATE ${c.escapeIdentifier(template)}`));
  return {
    name,
    url: withDatabase(adminUrl(), name),
    drop: () => admin((c) => c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(name)} WITH (FORCE)`)).then(() => undefined),
  };
}
