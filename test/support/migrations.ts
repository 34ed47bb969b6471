import { MigrationInterface } from 'typeorm';
import { TestApp } from './test-app';

/**
 * Undoes a migration the test app's database ran, and runs it again, on a runner of its own:
 * for a test of a migration's backfill, over rows the test wrote as an older release stored them
 * (rows already in the new shape go back to the old one and return). `later` are the migrations
 * after it that change what it made: undone before it (the last first), and run again after it.
 */
export async function redoMigration(t: TestApp, migration: MigrationInterface, ...later: MigrationInterface[]): Promise<void> {
  const runner = t.ds.createQueryRunner();
  try {
    for (const m of [...later].reverse()) await m.down(runner);
    await migration.down(runner);
    await migration.up(runner);
    for (const m of later) await m.up(runner);
  } finally {
    await runner.release();
  }
}
