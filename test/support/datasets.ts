import { existsSync } from 'node:fs';
import * as path from 'node:path';

/** The repository root (this file is test/support/datasets.ts, compiled or not). */
const ROOT = path.resolve(__dirname, '../..').replace(/[\\/]dist$/, '');

/**
 * A file or folder of the shared datasets: `PARVIS_DATASETS` when set, otherwise
 * `../shared/datasets` beside the repository. Missing data is an error that says where it
 * was looked for, never a silently skipped test.
 */
export function datasetPath(...parts: string[]): string {
  const base = process.env.PARVIS_DATASETS ? path.resolve(process.env.PARVIS_DATASETS) : path.resolve(ROOT, '../shared/datasets');
  if (!existsSync(base)) {
    throw new Error(`The shared datasets are not at ${base}: put ../shared beside the repository, or set PARVIS_DATASETS to the datasets folder`);
  }
  return path.join(base, ...parts);
}
