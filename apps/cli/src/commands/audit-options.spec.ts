import { execFileSync } from 'node:child_process';
import { InvalidArgumentError } from 'commander';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { writeStderr } from '../stderr';
import { parseOut, parseSince } from './audit-options';
import { writeExportFile } from './export-file';

describe("audit:export's --since", () => {
  it('reads 24:00 as ISO 8601 writes the end of a day: the next day at 00:00, across a month and a year too', () => {
    expect(parseSince('2026-01-31T24:00Z').toISOString()).toBe('2026-02-01T00:00:00.000Z');
    expect(parseSince('2026-12-31T24:00:00.000Z').toISOString()).toBe('2027-01-01T00:00:00.000Z');
    expect(parseSince('2026-01-01T24:00+02:00').toISOString()).toBe('2026-01-01T22:00:00.000Z');
  });

  it.each(['2026-01-01T24:00:01Z', '2026-01-01T24:30Z', '2026-01-01T24:00:00.001Z', '2026-01-01T25:00Z', '2026-02-29T24:00Z'])('refuses %s: no time of a day of the calendar', (value) => {
    expect(() => parseSince(value)).toThrow(InvalidArgumentError);
  });
});

describe("audit:export's --since, ISO 8601 only", () => {
  // Node's Date falls back to a parser of its own for what is not ISO: '1' would be 2001-01-01,
  // 'Dec 5' 2001-12-05. A calendar date is asked for whole (a year or a month alone is refused).
  it.each(['1', '2026', '2026-12', 'Dec 5', 'December 5, 2026', '5 Dec 2026', '12/05/2026', '2026/12/05', '2026-12-05 10:00', '2026-01-01T10:00+0200', '2026-01-01t10:00z', '+002026-01-01', ' 2026-01-01', '2026-01-01T10:00:00,5Z'])(
    'refuses %j, which is no ISO date or date-time Date reads as one',
    (value) => {
      expect(() => parseSince(value)).toThrow(new InvalidArgumentError('expected an ISO date or date-time, e.g. 2026-01-01'));
    },
  );

  it.each([
    ['2026-12-05', '2026-12-05T00:00:00.000Z'],
    ['2026-12-05T10:30Z', '2026-12-05T10:30:00.000Z'],
    ['2026-12-05T10:30:15.250Z', '2026-12-05T10:30:15.250Z'],
    ['2026-12-05T10:30:15-05:00', '2026-12-05T15:30:15.000Z'],
  ])('reads %s as Date does', (value, iso) => {
    expect(parseSince(value).toISOString()).toBe(iso);
  });

  it('reads a date-time without an offset as local time, as Date does', () => {
    expect(parseSince('2026-12-05T10:30').getTime()).toBe(new Date(2026, 11, 5, 10, 30).getTime());
  });
});

describe("audit:export's --out", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'parvis-audit-out-'));
    mkdirSync(path.join(dir, 'folder'));
    writeFileSync(path.join(dir, 'old.csv'), 'an export before\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // The export is written beside <file> as a partial and renamed onto it: onto a folder, that fails
  // only once the whole log was read (or writes <folder>/.<hex>.partial for a name ending in a slash).
  it.each([['folder'], ['folder/'], ['.'], ['new-folder/']])('refuses %j, naming a folder, before anything is read', (name) => {
    // path.join keeps a trailing slash.
    expect(() => parseOut(path.join(dir, name))).toThrow(InvalidArgumentError);
    expect(() => parseOut(path.join(dir, name))).toThrow(/^expected a file, not a folder \(/);
  });

  // Resolved, a URL-like argument's `//` becomes one `/`: the refusal names that path, which until 2026-12-07 the CLI's
  // writer (commander's errors go through it) did not take for a URL, and printed with its password.
  it('refuses a URL-like argument naming the path it resolved to, which the CLI prints without its password', () => {
    const written = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      let refusal: unknown;
      try {
        parseOut('s3://key:out-pw@bucket.example/exports/log.csv');
      } catch (err) {
        refusal = err;
      }
      expect(refusal).toBeInstanceOf(InvalidArgumentError);
      writeStderr(`error: ${(refusal as Error).message}\n`);
      const text = written.mock.calls.map((c) => String(c[0])).join('');
      expect(text).toBe(`error: expected a file in an existing folder (${process.cwd()}/s3:/key:[redacted]@bucket.example/exports does not exist)\n`);
    } finally {
      written.mockRestore();
    }
  });

  // A link to a folder is no folder to write in, nor a file: renamed onto, the link itself would be
  // replaced (rename does not follow it). Said as a link, as inputFile says a link to nothing.
  it('refuses a link to a folder as a link, naming where it leads, before anything is read', () => {
    const link = path.join(dir, 'folder-link');
    symlinkSync('folder', link);
    expect(() => parseOut(link)).toThrow(new InvalidArgumentError(`expected a file, not a link to a folder (${link} is a link to a folder (folder))`));
  });

  // A loop of links cannot be reached by root either (a folder this user may not enter, EACCES,
  // is cli-input's, as nobody): said as inputFile says it, not with Node's bare ELOOP.
  it('refuses a folder or a file it cannot reach, as an input file is refused', () => {
    const loop = path.join(dir, 'loop');
    symlinkSync('loop', loop);
    for (const [out, message] of [
      [path.join(loop, 'log.csv'), `expected a file in a folder this user may write in (${loop} cannot be reached (ELOOP))`],
      [loop, `expected a file (${loop} cannot be reached (ELOOP))`],
    ]) {
      expect(() => parseOut(out)).toThrow(InvalidArgumentError);
      expect(() => parseOut(out)).toThrow(new InvalidArgumentError(message));
    }
  });

  // The export is written beside the file as a new partial of a name of its own (writeExportFile):
  // a <file>.partial there already, which exports wrote into before (one that died left it), is
  // neither written nor removed, whatever it is; it was refused when the export would write it.
  it('takes a file whose <file>.partial is there, a folder, a named pipe, a link or a loop of links', () => {
    mkdirSync(path.join(dir, 'blocked.csv.partial'));
    execFileSync('mkfifo', [path.join(dir, 'piped.csv.partial')]);
    writeFileSync(path.join(dir, 'victim.txt'), 'a file of this user\n');
    symlinkSync(path.join(dir, 'victim.txt'), path.join(dir, 'linked.csv.partial'));
    symlinkSync(path.join(dir, 'made-by-the-export'), path.join(dir, 'dangling.csv.partial'));
    symlinkSync('looping.csv.partial', path.join(dir, 'looping.csv.partial'));
    for (const name of ['blocked.csv', 'piped.csv', 'linked.csv', 'dangling.csv', 'looping.csv']) expect(parseOut(path.join(dir, name))).toBe(path.join(dir, name));
  });

  // Only root can make a file another user's here (chown).
  const asRoot = process.getuid?.() === 0 ? it : it.skip;
  asRoot("takes a file whose <file>.partial is another user's", () => {
    const partial = path.join(dir, 'theirs.csv.partial');
    writeFileSync(partial, 'half an export of another user\n', { mode: 0o666 });
    chownSync(partial, 65534, 65534);
    expect(parseOut(path.join(dir, 'theirs.csv'))).toBe(path.join(dir, 'theirs.csv'));
  });

  // The partial is <name>.<12 hex>.partial, 21 bytes longer than the name: a name the file system
  // takes (NAME_MAX, 255 bytes) but whose partial it does not would fail with ENAMETOOLONG only
  // once the database was opened. Bytes, as the file system counts them: é is two in UTF-8.
  it.each([
    ['235 ASCII bytes', 'a'.repeat(231) + '.csv'],
    ['255 ASCII bytes', 'a'.repeat(251) + '.csv'],
    ['235 bytes in 121 characters', 'é'.repeat(114) + 'aaa.csv'],
  ])('refuses a name of %s, whose partial would be longer than a name may be, before anything is read', (_, name) => {
    const out = path.join(dir, name);
    const bytes = Buffer.byteLength(name);
    expect(() => parseOut(out)).toThrow(
      new InvalidArgumentError(
        `expected a file name of at most 234 bytes (${out}: its name is ${bytes} bytes, and the export is written beside it as <name>.<12 hex digits>.partial, 21 bytes longer, where a name in a folder is at most 255)`,
      ),
    );
  });

  it('takes a name of 234 bytes, whose partial is 255, and the export writes it', async () => {
    for (const name of ['a'.repeat(230) + '.csv', 'é'.repeat(113) + 'aaaa.csv']) {
      expect(Buffer.byteLength(name)).toBe(234);
      const out = path.join(dir, name);
      expect(parseOut(out)).toBe(out);
      await writeExportFile(out, async (stream) => (stream.write('a row\n'), 1));
      expect(readFileSync(out, 'utf8')).toBe('a row\n');
    }
  });

  /** A folder of `bytes` bytes' path (in folders of 200-byte names under `dir`), made. */
  function folderOf(bytes: number): string {
    let folder = dir;
    while (Buffer.byteLength(folder) + 201 < bytes) folder = path.join(folder, 'd'.repeat(200));
    folder = path.join(folder, 'd'.repeat(bytes - Buffer.byteLength(folder) - 1));
    mkdirSync(folder, { recursive: true });
    expect(Buffer.byteLength(folder)).toBe(bytes);
    return folder;
  }
  const tooLongPath = (out: string) =>
    new InvalidArgumentError(
      `expected a path of at most 4074 bytes (${out}: it is ${Buffer.byteLength(out)} bytes, and the export is written beside it as <path>.<12 hex digits>.partial, 21 bytes longer, where a path is at most 4095)`,
    );

  // A path the kernel takes (PATH_MAX, 4096 bytes with its ending NUL) whose partial's, 21 bytes
  // longer, it does not: the export's open failed with ENAMETOOLONG only once the database was open.
  it('refuses a path whose partial would be longer than a path may be, in a folder that exists, before anything is read', () => {
    const folder = folderOf(3900);
    for (const bytes of [4075, 4095]) {
      const out = path.join(folder, 'a'.repeat(bytes - 3900 - 5) + '.csv');
      expect(Buffer.byteLength(out)).toBe(bytes);
      expect(() => parseOut(out)).toThrow(tooLongPath(out));
    }
  });

  // Longer still, it was refused by its folder's stat, as 'cannot be reached (ENAMETOOLONG)'.
  it('refuses a path longer than a path may be, said as such, with no word of ENAMETOOLONG', () => {
    const out = path.join(dir, ...Array(25).fill('d'.repeat(200)), 'log.csv');
    expect(() => parseOut(out)).toThrow(tooLongPath(out));
  });

  it('takes a path of 4074 bytes, whose partial is 4095, and the export writes it', async () => {
    const out = path.join(folderOf(3900), 'a'.repeat(4074 - 3900 - 5) + '.csv');
    expect(Buffer.byteLength(out)).toBe(4074);
    expect(parseOut(out)).toBe(out);
    await writeExportFile(out, async (stream) => (stream.write('a row\n'), 1));
    expect(readFileSync(out, 'utf8')).toBe('a row\n');
  });

  // parseOut checks the path as resolved (against the current folder, `..` taken by name), and
  // handed on the path as typed, which the kernel took otherwise: `..` after a link, in the folder
  // above where the link leads (not the folder checked), and its length as typed (ENAMETOOLONG, or
  // ENOENT, once the database was open, for a path that resolves to a short one).
  it('hands on the path it checked, as resolved, and the export is written there', async () => {
    mkdirSync(path.join(dir, 'elsewhere', 'sub'), { recursive: true });
    symlinkSync(path.join(dir, 'elsewhere', 'sub'), path.join(dir, 'link'));
    const typed = `${dir}/link/../resolved.csv`;
    expect(parseOut(typed)).toBe(path.join(dir, 'resolved.csv'));
    await writeExportFile(parseOut(typed), async (stream) => (stream.write('a row\n'), 1));
    expect([existsSync(path.join(dir, 'resolved.csv')), existsSync(path.join(dir, 'elsewhere', 'resolved.csv'))]).toEqual([true, false]);
    const long = `${dir}/${'none/../'.repeat(600)}long.csv`;
    expect(Buffer.byteLength(long)).toBeGreaterThan(4095);
    await writeExportFile(parseOut(long), async (stream) => (stream.write('a row\n'), 1));
    expect(readFileSync(path.join(dir, 'long.csv'), 'utf8')).toBe('a row\n');
  });

  it('takes a new file, or one to replace, in a folder this user may write in', () => {
    expect(parseOut(path.join(dir, 'new.csv'))).toBe(path.join(dir, 'new.csv'));
    expect(parseOut(path.join(dir, 'old.csv'))).toBe(path.join(dir, 'old.csv'));
  });
});
