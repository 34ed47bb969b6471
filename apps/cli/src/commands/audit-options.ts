import { InvalidArgumentError } from 'commander';
import { accessSync, constants, lstatSync, statSync } from 'node:fs';
import { basename, dirname, resolve, sep } from 'node:path';
import { linkTarget, unreachable } from '../../../../libs/core/src/input-file';
import { PARTIAL_NAME_EXTRA_BYTES } from './export-file';

// audit:export's options, read as the command line is, before the database is opened.

/**
 * A date or date-time as ISO 8601 writes it in the form Date reads by the standard (ECMA-262's
 * date time string format): a whole calendar date, then optionally a time of day to the minute,
 * second or fraction, then optionally Z or an offset. Anything else Date would hand to a parser of
 * its own that guesses ('1' is 2001-01-01, 'Dec 5' 2001-12-05).
 */
const ISO_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?)?$/;

/** Whether a year-month-day (as written, e.g. 2026-02-31) is a day of the calendar. */
function isCalendarDay(year: number, month: number, day: number): boolean {
  // Date rolls a day the month lacks over into the next: one that comes back as written is real.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

/**
 * Read as the command line is, before the database is opened: a bad one is refused with the usage.
 * Only ISO 8601 is read (ISO_DATE_TIME); a date-time without an offset is local time, as Date
 * reads it. A day the calendar lacks is refused too, where Date rolls it over (2026-02-31 would be 3 March).
 * 24:00 is kept, as ISO 8601 (2004) writes the end of a day, and read as the next day's 00:00 (as
 * Date reads it): the export since the end of 31 January is the one since 1 February. Anything
 * past it (24:00:01, 24:30) is no time of day and is refused.
 */
export function parseSince(value: string): Date {
  const iso = ISO_DATE_TIME.exec(value);
  const date = new Date(value);
  if (!iso || Number.isNaN(date.getTime()) || !isCalendarDay(Number(iso[1]), Number(iso[2]), Number(iso[3]))) {
    throw new InvalidArgumentError('expected an ISO date or date-time, e.g. 2026-01-01');
  }
  return date;
}

/** A folder's sticky bit (S_ISVTX, which fs.constants lacks). */
const STICKY = 0o1000;

/**
 * The longest name a folder holds, in bytes (NAME_MAX: 255 on ext4, xfs, btrfs, tmpfs, ...; Node
 * cannot ask pathconf, and a file system with a shorter limit still fails the export's open).
 */
const NAME_MAX = 255;

/**
 * The longest path the kernel takes, in bytes (Linux's PATH_MAX, 4096, counts the NUL that ends
 * it): a longer one fails with ENAMETOOLONG wherever it is used.
 */
const PATH_MAX_BYTES = 4095;

/**
 * The export's file, refused before the database is opened when it names a folder (or a link to
 * one), or its folder does not exist or this user may not write in it (the export is written
 * beside it as a partial of its own, then renamed: writeExportFile), or the file is another
 * user's in a sticky folder (which only its owner may replace), or its name or whole path is too
 * long for the partial's (NAME_MAX, PATH_MAX_BYTES less PARTIAL_NAME_EXTRA_BYTES): otherwise that would be found only once
 * the database is opened or the log read. What is beside it already (a `<file>.partial` of an export that died) is
 * no matter: the partial is a new file of a name of its own. What it answers is the path it checked,
 * as resolved (against the current folder, `..` taken by name), the one the export writes: the path
 * as typed, handed on, was the kernel's to read otherwise (`..` after a link, in the folder above
 * where the link leads; a long path that resolves to a short one, ENAMETOOLONG).
 */
export function parseOut(value: string): string {
  const file = resolve(value);
  // A name ending in a separator (which resolve drops) names a folder: the export would write <folder>/.<hex>.partial.
  if (value.endsWith('/') || value.endsWith(sep)) throw new InvalidArgumentError(`expected a file, not a folder (${file})`);
  // The partial's open would fail (ENAMETOOLONG) only once the database was opened. Bytes, as the
  // file system counts a name (UTF-8 on Linux), not characters.
  const bytes = Buffer.byteLength(basename(file));
  const longest = NAME_MAX - PARTIAL_NAME_EXTRA_BYTES;
  if (bytes > longest) {
    throw new InvalidArgumentError(
      `expected a file name of at most ${longest} bytes (${file}: its name is ${bytes} bytes, and the export is written beside it as <name>.<12 hex digits>.partial, ${PARTIAL_NAME_EXTRA_BYTES} bytes longer, where a name in a folder is at most ${NAME_MAX})`,
    );
  }
  // So would the partial's whole path past PATH_MAX (a name that fits, deep in folders), or,
  // longer still, the file's own stat below, said as ENAMETOOLONG alone. The path as resolved is
  // counted (what the checks below stat).
  const pathBytes = Buffer.byteLength(file);
  const longestPath = PATH_MAX_BYTES - PARTIAL_NAME_EXTRA_BYTES;
  if (pathBytes > longestPath) {
    throw new InvalidArgumentError(
      `expected a path of at most ${longestPath} bytes (${file}: it is ${pathBytes} bytes, and the export is written beside it as <path>.<12 hex digits>.partial, ${PARTIAL_NAME_EXTRA_BYTES} bytes longer, where a path is at most ${PATH_MAX_BYTES})`,
    );
  }
  const dir = dirname(file);
  // A path whose stat fails (a folder above it this user may not enter, a loop of links) is
  // refused naming the option and what was expected, where Node's bare error would name neither.
  const statOf = (path: string, expected: string) => {
    try {
      return statSync(path, { throwIfNoEntry: false });
    } catch (err) {
      throw new InvalidArgumentError(`expected ${expected} (${path} ${unreachable(err)})`);
    }
  };
  const stat = statOf(dir, 'a file in a folder this user may write in');
  if (!stat?.isDirectory()) throw new InvalidArgumentError(`expected a file in an existing folder (${dir} ${stat ? 'is not a folder' : 'does not exist'})`);
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch {
    throw new InvalidArgumentError(`expected a file in a folder this user may write in (${dir} is not writable)`);
  }
  // Renamed onto a folder, the export would fail only once the whole log was read.
  const target = statOf(file, 'a file');
  if (target?.isDirectory()) {
    // A link to one is said as a link, naming where it leads, as inputFile says a link to nothing:
    // what the export would replace is the link itself (rename does not follow it), not a folder.
    const to = linkTarget(file);
    if (to !== null) throw new InvalidArgumentError(`expected a file, not a link to a folder (${file} is a link to a folder (${to}))`);
    throw new InvalidArgumentError(`expected a file, not a folder (${file})`);
  }
  // So would its rename onto another user's file in a sticky folder (/tmp, mode 1777), where only
  // the file's owner, the folder's or root may replace it (EPERM). What is replaced is a link
  // itself, not the file it names: its owner is lstat's (a link to nothing too).
  const uid = process.getuid?.();
  const replaced = lstatSync(file, { throwIfNoEntry: false });
  if (replaced && stat.mode & STICKY && uid !== undefined && uid !== 0 && replaced.uid !== uid && stat.uid !== uid) {
    throw new InvalidArgumentError(`expected a file this user may replace (${file} is another user's, in a folder where only a file's owner may replace it)`);
  }
  return file;
}
