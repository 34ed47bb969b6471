import { accessSync, constants, lstatSync, readlinkSync, statSync } from 'node:fs';
import { resolve } from 'node:path';

/** The class of error an input file is refused with: a caller's own, so it is told apart as its other refusals are. */
type Refusal = new (message: string) => Error;

/**
 * What is said of a path whose stat failed for another reason than its absence: a folder above
 * it this user may not enter (EACCES; whether it is there is not known either), a loop of links
 * (ELOOP). One wording wherever a path is checked before anything opens (inputFile, audit:export's
 * --out): `<path> cannot be reached (EACCES)`.
 */
export function unreachable(err: unknown): string {
  return `cannot be reached (${(err as NodeJS.ErrnoException).code ?? String(err)})`;
}

/**
 * A file a command or an import reads, resolved (relative to the working directory, which `npm
 * run` sets to the repository root) and checked before anything opens: one that is not there, is
 * no file (a folder), cannot be reached (`unreachable`) or
 * this user may not read is refused with what it should be (`<path> not found: give <expected>`,
 * `… is not a file`, `… cannot be reached (EACCES)`, `… is not readable`), as a `refusal`
 * (default Error), not with Node's bare ENOENT or EACCES, or EISDIR once it is read, after
 * earlier work was done.
 */
export function inputFile(file: string, expected: string, refusal: Refusal = Error): string {
  return checked(file, expected, refusal, false)!;
}

/**
 * An `inputFile` a command reads when it is there: null when nothing is, refused as `inputFile`
 * otherwise. A link to nothing is something there (`<path> is a link to a path not found
 * (<target>)`): taken for no file, the file it was made to name would be left out without a word.
 */
export function optionalInputFile(file: string, expected: string, refusal: Refusal = Error): string | null {
  return checked(file, expected, refusal, true);
}

function checked(file: string, expected: string, refusal: Refusal, optional: boolean): string | null {
  const path = resolve(file);
  const refused = (why: string) => new refusal(`${path} ${why}: give ${expected}`);
  let stat;
  try {
    stat = statSync(path, { throwIfNoEntry: false });
  } catch (err) {
    throw refused(unreachable(err));
  }
  if (!stat) {
    // stat follows links: one whose target is not there answers nothing, as no file would.
    const target = linkTarget(path);
    if (target !== null) throw refused(`is a link to a path not found (${target})`);
    if (optional) return null;
  }
  if (!stat?.isFile()) throw refused(stat ? 'is not a file' : 'not found');
  try {
    accessSync(path, constants.R_OK);
  } catch {
    throw refused('is not readable');
  }
  return path;
}

/**
 * Where `path` leads when it is a link itself, else null. Nothing there, or a file above it
 * (ENOTDIR, which lstat throws where stat answers nothing), is none; so is a link removed (or
 * replaced) between lstat and readlink, by another process cleaning up, say: readlink's bare
 * ENOENT would be said in place of what is said of a path not there. audit:export's --out names a
 * link to a folder with it.
 */
export function linkTarget(path: string): string | null {
  try {
    return lstatSync(path).isSymbolicLink() ? readlinkSync(path) : null;
  } catch {
    return null;
  }
}
