import type * as Fs from 'node:fs';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { inputFile, optionalInputFile } from './input-file';

// What a permission denied makes of them (root reads all) is asked of the built CLI as nobody: cli-input.
describe('inputFile and optionalInputFile', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'parvis-input-file-'));
    writeFileSync(path.join(dir, 'file.csv'), 'a,b\n');
    mkdirSync(path.join(dir, 'folder.csv'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  class OwnError extends Error {}

  it('answer a file resolved, relative to the working directory', () => {
    const relative = path.relative(process.cwd(), path.join(dir, 'file.csv'));
    expect(inputFile(relative, 'a CSV file')).toBe(path.join(dir, 'file.csv'));
    expect(optionalInputFile(relative, 'a CSV file')).toBe(path.join(dir, 'file.csv'));
  });

  it('refuse what is not there (the optional one answers null), or is no file, as the caller’s class', () => {
    const missing = path.join(dir, 'missing.csv');
    expect(() => inputFile(missing, 'a CSV file', OwnError)).toThrow(new OwnError(`${missing} not found: give a CSV file`));
    expect(() => inputFile(missing, 'a CSV file', OwnError)).toThrow(OwnError);
    expect(optionalInputFile(missing, 'a CSV file', OwnError)).toBeNull();
    const folder = path.join(dir, 'folder.csv');
    for (const check of [inputFile, optionalInputFile]) {
      expect(() => check(folder, 'a CSV file', OwnError)).toThrow(OwnError);
      expect(() => check(folder, 'a CSV file')).toThrow(`${folder} is not a file: give a CSV file`);
    }
    // Under a file: not there either.
    expect(() => inputFile(path.join(dir, 'file.csv', 'x.csv'), 'a CSV file')).toThrow(`${path.join(dir, 'file.csv', 'x.csv')} not found: give a CSV file`);
  });

  // A dump's Comments.xml linked to where it is not: left out as no file, the import would say nothing of it.
  it('refuse a link to a path not found, the optional one too, naming where it leads', () => {
    const dangling = path.join(dir, 'dangling.csv');
    symlinkSync('elsewhere/file.csv', dangling);
    for (const check of [inputFile, optionalInputFile]) {
      expect(() => check(dangling, 'a CSV file', OwnError)).toThrow(OwnError);
      expect(() => check(dangling, 'a CSV file')).toThrow(new Error(`${dangling} is a link to a path not found (elsewhere/file.csv): give a CSV file`));
    }
  });

  // Removed between the stat that found nothing there and the look at where it leads (another
  // process cleaning up, say): nothing is there, said as for a file never there, not with
  // readlink's bare ENOENT. The race is made certain by removing the link as soon as lstat
  // answered that it is one (the file system's own answers, in that order).
  it('take a link removed while it is looked at for what is not there', () => {
    const removed = path.join(dir, 'removed.csv');
    // The module object input-file calls into (an `import * as` copy's properties cannot be replaced).
    const fs = jest.requireActual<typeof Fs>('node:fs');
    const lstat = fs.lstatSync;
    const spy = jest.spyOn(fs, 'lstatSync').mockImplementation(((target: Fs.PathLike, options?: Fs.StatSyncOptions) => {
      const stat = lstat(target, options);
      if (target === removed) fs.unlinkSync(removed);
      return stat;
    }) as typeof Fs.lstatSync);
    try {
      symlinkSync('elsewhere/file.csv', removed);
      expect(() => inputFile(removed, 'a CSV file', OwnError)).toThrow(new OwnError(`${removed} not found: give a CSV file`));
      symlinkSync('elsewhere/file.csv', removed);
      expect(optionalInputFile(removed, 'a CSV file', OwnError)).toBeNull();
    } finally {
      spy.mockRestore();
    }
  });

  // A loop of links, which root cannot reach either: the optional one is refused too, since
  // whether it is there is not known (as under a folder this user may not enter: cli-input).
  it('refuse a path they cannot reach, the optional one too, in the words audit:export uses', () => {
    const loop = path.join(dir, 'loop.csv');
    symlinkSync('loop.csv', loop);
    for (const check of [inputFile, optionalInputFile]) {
      expect(() => check(loop, 'a CSV file', OwnError)).toThrow(OwnError);
      expect(() => check(loop, 'a CSV file')).toThrow(new Error(`${loop} cannot be reached (ELOOP): give a CSV file`));
      expect(() => check(path.join(loop, 'x.csv'), 'a CSV file')).toThrow(new Error(`${path.join(loop, 'x.csv')} cannot be reached (ELOOP): give a CSV file`));
    }
  });
});
