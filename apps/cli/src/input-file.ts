import { statSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * A command's input file, resolved (relative to the working directory, which `npm run` sets to
 * the repository root); one that is not there is refused with what it should be, not Node's bare
 * ENOENT, and before the command opens anything.
 */
export function inputFile(file: string, expected: string): string {
  const path = resolve(file);
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat?.isFile()) throw new Error(`${path} ${stat ? 'is not a file' : 'not found'}: give ${expected}`);
  return path;
}
