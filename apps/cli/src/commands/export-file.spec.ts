import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, Server } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { writeExportFile } from './export-file';

describe("audit:export's --out file", () => {
  let dir: string;
  let umask: number;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'parvis-export-file-'));
    // The common default, under which a file opened with the default mode is everyone's to read.
    umask = process.umask(0o022);
  });
  afterEach(() => {
    process.umask(umask);
    rmSync(dir, { recursive: true, force: true });
  });

  const mode = (file: string) => statSync(file).mode & 0o777;
  const lines = (stream: NodeJS.WritableStream) => pipeline(Readable.from(['1,post.hide\n']), stream).then(() => 1);
  /** The header written, so that the <file>.partial is there (a stream opens its file as it can). */
  const header = (stream: NodeJS.WritableStream) => new Promise<void>((resolve, reject) => stream.write('id,action\n', (err) => (err ? reject(err) : resolve())));

  it('is written 0600, the <file>.partial while it is written too, whatever the umask', async () => {
    const out = path.join(dir, 'log.csv');
    let partialMode: number | undefined;
    await expect(
      writeExportFile(out, async (stream) => {
        await header(stream);
        partialMode = mode(`${out}.partial`);
        return lines(stream);
      }),
    ).resolves.toBe(1);
    expect({ partialMode, mode: mode(out), text: readFileSync(out, 'utf8'), partialLeft: existsSync(`${out}.partial`) }).toEqual({
      partialMode: 0o600,
      mode: 0o600,
      text: 'id,action\n1,post.hide\n',
      partialLeft: false,
    });
  });

  it('is written 0600 into a <file>.partial of this user left readable by an export that died', async () => {
    const out = path.join(dir, 'log.csv');
    writeFileSync(`${out}.partial`, 'half an export', { mode: 0o644 });
    await writeExportFile(out, async (stream) => {
      await header(stream);
      return lines(stream);
    });
    expect({ mode: mode(out), text: readFileSync(out, 'utf8') }).toEqual({ mode: 0o600, text: 'id,action\n1,post.hide\n' });
  });

  it("fails with the export's own error when its <file>.partial cannot be removed after", async () => {
    const out = path.join(dir, 'log.csv');
    await expect(
      writeExportFile(out, async (stream) => {
        await header(stream);
        // The partial replaced by a folder meanwhile: removing it fails (rm of a folder).
        rmSync(`${out}.partial`);
        mkdirSync(`${out}.partial`);
        throw new Error('the log could not be read');
      }),
    ).rejects.toThrow(new Error('the log could not be read'));
  });

  it('removes no <file>.partial it could not open', async () => {
    const out = path.join(dir, 'log.csv');
    // A socket, which no one may open (ENXIO), root included.
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(`${out}.partial`, resolve));
    try {
      await expect(writeExportFile(out, lines)).rejects.toMatchObject({ code: 'ENXIO' });
      expect(statSync(`${out}.partial`).isSocket()).toBe(true);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  // parseOut refuses one before the database opens: this holds when it was made since.
  it('writes through no <file>.partial that is a link, to a file or to nothing, and leaves it', async () => {
    const out = path.join(dir, 'log.csv');
    const victim = path.join(dir, 'victim.txt');
    writeFileSync(victim, 'a file of this user\n');
    symlinkSync(victim, `${out}.partial`);
    await expect(writeExportFile(out, lines)).rejects.toMatchObject({ code: 'ELOOP' });
    const dangling = path.join(dir, 'dangling.csv');
    symlinkSync(path.join(dir, 'made-by-the-export'), `${dangling}.partial`);
    await expect(writeExportFile(dangling, lines)).rejects.toMatchObject({ code: 'ELOOP' });
    expect({
      victim: readFileSync(victim, 'utf8'),
      made: existsSync(path.join(dir, 'made-by-the-export')),
      links: [lstatSync(`${out}.partial`).isSymbolicLink(), lstatSync(`${dangling}.partial`).isSymbolicLink()],
    }).toEqual({ victim: 'a file of this user\n', made: false, links: [true, true] });
  });

  // parseOut refuses one before the database opens; this holds when it was made since. Root may
  // write any file, and only root can give one away (chown).
  (process.getuid?.() === 0 ? it : it.skip)("writes into no <file>.partial of another user's, and leaves it", async () => {
    const out = path.join(dir, 'log.csv');
    writeFileSync(`${out}.partial`, 'half an export of another user\n');
    chmodSync(`${out}.partial`, 0o666);
    chownSync(`${out}.partial`, 65534, 65534);
    await expect(writeExportFile(out, lines)).rejects.toThrow(new Error(`${out}.partial belongs to uid 65534, not this user: the export written into it would be theirs`));
    expect({ text: readFileSync(`${out}.partial`, 'utf8'), mode: mode(`${out}.partial`), out: existsSync(out) }).toEqual({ text: 'half an export of another user\n', mode: 0o666, out: false });
  });
});
