import { MigrationInterface } from 'typeorm';
import { TestApp } from './test-app';

/**
 * Undoes a migration the test app's database ran, and runs it again, on a runner of its own:
 * for a test of a migration's backfill, over rows the test wrote as an older release stored them
 * (rows already in the new shape go back to the old one and return).
 */
export async function redoMigration(t: TestApp, migration: MigrationInterface): Promise<void> {
  const runner = t.ds.createQueryRunner();
  try {
    await migration.down(runner);
    await migration.up(runner);
  } finally {
    await runner.release();
  }
}
