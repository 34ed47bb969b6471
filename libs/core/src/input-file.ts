import { statSync } from 'node:fs';
import { resolve } from 'node:path';

/** The class of error an input file is refused with: a caller's own, so it is told apart as its other refusals are. */
type Refusal = new (message: string) => Error;

/**
 * A file a command or an import reads, resolved (relative to the working directory, which `npm
 * run` sets to the repository root) and checked before anything opens: one that is not there, or
 * is no file (a folder), is refused with what it should be (`<path> not found: give <expected>`),
 * as a `refusal` (default Error), not with Node's bare ENOENT, or EISDIR once it is read, after
 * earlier work was done.
 */
export function inputFile(file: string, expected: string, refusal: Refusal = Error): string {
  return checked(file, expected, refusal, false)!;
}

/** An `inputFile` a command reads when it is there: null when nothing is, refused as `inputFile` when it is no file. */
export function optionalInputFile(file: string, expected: string, refusal: Refusal = Error): string | null {
  return checked(file, expected, refusal, true);
}

function checked(file: string, expected: string, refusal: Refusal, optional: boolean): string | null {
  const path = resolve(file);
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat && optional) return null;
  if (!stat?.isFile()) throw new refusal(`${path} ${stat ? 'is not a file' : 'not found'}: give ${expected}`);
  return path;
}
