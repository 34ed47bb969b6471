import { DataSource } from 'typeorm';

/**
 * Deletes old rows a batch at a time, each batch its own short statement, so housekeeping
 * never holds many locks or one long transaction. `select` picks at most `$1` ids of the rows
 * to delete (its other parameters follow); stops when a batch comes back short, or after
 * `maxBatches` (the next run carries on). Returns how many rows went.
 */
export async function pruneInBatches(
  ds: DataSource,
  table: string,
  select: string,
  params: unknown[] = [],
  { batch = 5000, maxBatches = 200 }: { batch?: number; maxBatches?: number } = {},
): Promise<number> {
  let total = 0;
  for (let i = 0; i < maxBatches; i++) {
    const [, deleted] = (await ds.query(`DELETE FROM ${table} WHERE id IN (${select})`, [batch, ...params])) as [unknown, number];
    total += deleted;
    if (deleted < batch) break;
  }
  return total;
}
