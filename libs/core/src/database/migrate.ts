import { DataSource } from 'typeorm';
import { dataSourceOptions } from './data-source';

/** Applies pending migrations on a short-lived connection; returns the names applied. */
export async function migrateDatabase(url: string): Promise<string[]> {
  const ds = new DataSource({ ...dataSourceOptions({ url, poolSize: 1 }) });
  await ds.initialize();
  try {
    const done = await ds.runMigrations({ transaction: 'each' });
    return done.map((m) => m.name);
  } finally {
    await ds.destroy();
  }
}
