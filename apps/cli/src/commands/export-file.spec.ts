import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import type * as FsPromises from 'node:fs/promises';
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
  /** Written, and the write done: the partial holds it (a stream opens and writes as it can). */
  const written = (stream: NodeJS.WritableStream, text: string) => new Promise<void>((resolve, reject) => stream.write(text, (err) => (err ? reject(err) : resolve())));
  const header = (stream: NodeJS.WritableStream) => written(stream, 'id,action\n');
  /** The partials an export to `out` writes beside it: `<out>.<12 hex>.partial`, one of its own. */
  const partialsOf = (out: string) =>
    readdirSync(path.dirname(out))
      .filter((name) => name.startsWith(`${path.basename(out)}.`) && /^\.[0-9a-f]{12}\.partial$/.test(name.slice(path.basename(out).length)))
      .map((name) => path.join(path.dirname(out), name));

  it('is written 0600, its partial while it is written too, whatever the umask, and leaves no partial', async () => {
    const out = path.join(dir, 'log.csv');
    let partialModes: number[] = [];
    await expect(
      writeExportFile(out, async (stream) => {
        await header(stream);
        partialModes = partialsOf(out).map(mode);
        return lines(stream);
      }),
    ).resolves.toBe(1);
    expect({ partialModes, mode: mode(out), text: readFileSync(out, 'utf8'), left: readdirSync(dir) }).toEqual({
      partialModes: [0o600],
      mode: 0o600,
      text: 'id,action\n1,post.hide\n',
      left: ['log.csv'],
    });
  });

  // They shared <file>.partial: the second truncated and renamed the first's half-written file,
  // the first went on writing into the renamed file (the export now) and failed on its own rename.
  it('is written by two exports to it at once each into a partial of its own, the last renamed the one left', async () => {
    const out = path.join(dir, 'log.csv');
    let halfWritten!: () => void;
    const firstHalfWritten = new Promise<void>((resolve) => (halfWritten = resolve));
    let goOn!: () => void;
    const secondDone = new Promise<void>((resolve) => (goOn = resolve));
    const first = writeExportFile(out, async (stream) => {
      await written(stream, 'id,action\n1,first\n');
      halfWritten();
      await secondDone;
      await pipeline(Readable.from(['2,first\n']), stream);
      return 2;
    });
    await firstHalfWritten;
    await expect(writeExportFile(out, (stream) => pipeline(Readable.from(['id,action\n', '1,second\n']), stream).then(() => 1))).resolves.toBe(1);
    const afterSecond = readFileSync(out, 'utf8');
    goOn();
    await expect(first).resolves.toBe(2);
    expect({ afterSecond, last: readFileSync(out, 'utf8'), mode: mode(out), left: readdirSync(dir) }).toEqual({
      afterSecond: 'id,action\n1,second\n',
      last: 'id,action\n1,first\n2,first\n',
      mode: 0o600,
      left: ['log.csv'],
    });
  });

  // An interrupted command ends by process.exit (interrupt.ts: a second signal, or cleanups that
  // outlast their deadline, exit at once; the first signal's exit comes once its cleanups are
  // done), which runs no pending clean-up of the export: the partial, a new name each export,
  // was left beside the file (half the moderation log) for good. Run in a process of its own,
  // which exits as the export is half written.
  it('leaves no partial when the process exits while it is written', () => {
    const out = path.join(dir, 'log.csv');
    const exiting = `
      const ts = require('typescript');
      require.extensions['.ts'] = (module, file) => module._compile(ts.transpileModule(require('node:fs').readFileSync(file, 'utf8'), { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } }).outputText, file);
      require(process.argv[1]).writeExportFile(process.argv[2], (stream) => new Promise(() => stream.write('id,action\\n', () => process.exit(130))));
    `;
    const run = spawnSync(process.execPath, ['-e', exiting, require.resolve('./export-file.ts'), out], { cwd: path.join(__dirname, '../../../..'), encoding: 'utf8' });
    expect({ status: run.status, stderr: run.stderr, left: readdirSync(dir) }).toEqual({ status: 130, stderr: '', left: [] });
  });

  // A folder its user may write in but not read (mode 0300), which parseOut takes (it asks for
  // write and search): the folder cannot be opened to be synced (EACCES), and the export, its file
  // renamed into place, failed with that error (exit 1). Run as another user (root reads any folder).
  (process.getuid?.() === 0 ? it : it.skip)('is written in a folder its user may write in but not read, which cannot be opened to sync', () => {
    chmodSync(dir, 0o711);
    const folder = path.join(dir, 'write-only');
    mkdirSync(folder);
    chownSync(folder, 65534, 65534);
    chmodSync(folder, 0o300);
    const out = path.join(folder, 'log.csv');
    const exporting = `
      const ts = require('typescript');
      require.extensions['.ts'] = (module, file) => module._compile(ts.transpileModule(require('node:fs').readFileSync(file, 'utf8'), { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } }).outputText, file);
      require(process.argv[1]).writeExportFile(process.argv[2], async (stream) => (stream.write('1,post.hide\\n'), 1)).then((n) => console.log('written', n), (err) => console.log('failed', err.message));
    `;
    const run = spawnSync(process.execPath, ['-e', exporting, require.resolve('./export-file.ts'), out], { cwd: path.join(__dirname, '../../../..'), encoding: 'utf8', uid: 65534, gid: 65534 });
    chmodSync(folder, 0o700);
    expect({ status: run.status, stdout: run.stdout, stderr: run.stderr, text: readFileSync(out, 'utf8'), left: readdirSync(folder) }).toEqual({
      status: 0,
      stdout: 'written 1\n',
      stderr: '',
      text: '1,post.hide\n',
      left: ['log.csv'],
    });
  });

  // Its stream closed it when it ended (or was destroyed), and the export closed it again after.
  it('closes its file once, whether the export is written or fails', async () => {
    const fsPromises = jest.requireActual<typeof FsPromises>('node:fs/promises');
    const realOpen = fsPromises.open;
    const closes: number[] = [];
    const spy = jest.spyOn(fsPromises, 'open').mockImplementation((async (...args: Parameters<typeof FsPromises.open>) => {
      const handle = await realOpen(...args);
      const close = handle.close.bind(handle);
      const i = closes.push(0) - 1;
      handle.close = () => {
        closes[i]++;
        return close();
      };
      return handle;
    }) as typeof FsPromises.open);
    try {
      const out = path.join(dir, 'log.csv');
      await writeExportFile(out, lines);
      await expect(
        writeExportFile(out, async (stream) => {
          await header(stream);
          throw new Error('the log could not be read');
        }),
      ).rejects.toThrow('the log could not be read');
      // A failure through the stream, which destroys it (as the CSV's pipeline does).
      await expect(writeExportFile(out, (stream) => pipeline(Readable.from((async function* () { yield 'id,action\n'; throw new Error('the log could not be read'); })()), stream).then(() => 1))).rejects.toThrow('the log could not be read');
    } finally {
      spy.mockRestore();
    }
    // The partials of the three exports, and the folder the first synced: each closed once.
    expect({ closes, left: readdirSync(dir) }).toEqual({ closes: [1, 1, 1, 1], left: ['log.csv'] });
  });

  /**
   * What the export does to its files, in order, through node:fs/promises (spied on): each open,
   * sync and close of a handle (named by what it opened, the partial or the folder) and each
   * rename. `refuse` answers the sync of what it names (the partial or the folder) with that error code.
   */
  async function steps(run: () => Promise<unknown>, refuse?: { what: 'partial' | 'folder'; code: string }): Promise<string[]> {
    const fsPromises = jest.requireActual<typeof FsPromises>('node:fs/promises');
    const realOpen = fsPromises.open;
    const realRename = fsPromises.rename;
    const seen: string[] = [];
    const named = (file: unknown) => (String(file).endsWith('.partial') ? 'partial' : String(file) === dir ? 'folder' : String(file));
    const opens = jest.spyOn(fsPromises, 'open').mockImplementation((async (...args: Parameters<typeof FsPromises.open>) => {
      const handle = await realOpen(...args);
      const what = named(args[0]);
      seen.push(`open ${what}`);
      const [sync, close] = [handle.sync.bind(handle), handle.close.bind(handle)];
      handle.sync = () => {
        seen.push(`sync ${what}`);
        if (what === refuse?.what) return Promise.reject(Object.assign(new Error(`${refuse.code}: refused, fsync`), { code: refuse.code }));
        return sync();
      };
      handle.close = () => {
        seen.push(`close ${what}`);
        return close();
      };
      return handle;
    }) as typeof FsPromises.open);
    const renames = jest.spyOn(fsPromises, 'rename').mockImplementation(async (from, to) => {
      seen.push(`rename ${named(from)} to ${path.basename(String(to))}`);
      return realRename(from, to);
    });
    try {
      await run();
    } finally {
      opens.mockRestore();
      renames.mockRestore();
    }
    return seen;
  }

  // Renamed unsynced, a crash could leave log.csv short or empty (the rename on disk before the
  // data), or the name lost (the folder unsynced). That the data reaches the disk no test here can
  // show: what is shown is that each sync is asked for, and in this order.
  it('syncs the file before it is closed and renamed, and its folder after the rename', async () => {
    const out = path.join(dir, 'log.csv');
    expect(await steps(() => expect(writeExportFile(out, lines)).resolves.toBe(1))).toEqual([
      'open partial',
      'sync partial',
      'close partial',
      'rename partial to log.csv',
      'open folder',
      'sync folder',
      'close folder',
    ]);
    expect({ text: readFileSync(out, 'utf8'), left: readdirSync(dir) }).toEqual({ text: '1,post.hide\n', left: ['log.csv'] });
  });

  // Some file systems refuse a folder's fsync (EINVAL): the export is written all the same. An
  // error of the disk's is the export's (the file is renamed, so it stays).
  it("is written where the file system refuses a folder's sync, and fails on the folder's error of another kind", async () => {
    const out = path.join(dir, 'log.csv');
    for (const code of ['EINVAL', 'ENOTSUP']) {
      expect(await steps(() => expect(writeExportFile(out, lines)).resolves.toBe(1), { what: 'folder', code })).toContain('close folder');
    }
    await steps(() => expect(writeExportFile(out, lines)).rejects.toThrow('EIO: refused, fsync'), { what: 'folder', code: 'EIO' });
    expect({ text: readFileSync(out, 'utf8'), left: readdirSync(dir) }).toEqual({ text: '1,post.hide\n', left: ['log.csv'] });
  });

  // The partial's sync (the stream's flush, before it closes it) failing, say on the disk's
  // write-back (EIO): the export fails with it, renames nothing, and removes its partial, as on a
  // failed write; the file at the name is left as it was.
  it("fails on its partial's failed sync, before the rename, and removes the partial", async () => {
    const out = path.join(dir, 'log.csv');
    writeFileSync(out, 'an export before\n');
    const seen = await steps(() => expect(writeExportFile(out, lines)).rejects.toThrow('EIO: refused, fsync'), { what: 'partial', code: 'EIO' });
    expect(seen).toEqual(['open partial', 'sync partial', 'close partial']);
    expect({ text: readFileSync(out, 'utf8'), left: readdirSync(dir) }).toEqual({ text: 'an export before\n', left: ['log.csv'] });
  });

  it("fails with the export's own error when its partial cannot be removed after", async () => {
    const out = path.join(dir, 'log.csv');
    await expect(
      writeExportFile(out, async (stream) => {
        await header(stream);
        // The partial replaced by a folder meanwhile: removing it fails (rm of a folder).
        const [partial] = partialsOf(out);
        rmSync(partial);
        mkdirSync(partial);
        throw new Error('the log could not be read');
      }),
    ).rejects.toThrow(new Error('the log could not be read'));
  });

  // Said through the CLI's writer (stderr.ts), as every error it prints: until 2026-12-07 the error's message went raw.
  it('says on stderr why its partial could not be removed, without the password a URL in its name or error carries', async () => {
    const secret = 'export-s3cret';
    const folder = path.join(dir, 'http:', `parvis:${secret}@backups.example`);
    mkdirSync(folder, { recursive: true });
    // The folder's name as written, its '//' kept: a URL, as the partial's name and rm's error name it.
    const out = `${dir}/http://parvis:${secret}@backups.example/log.csv`;
    const said = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      await expect(
        writeExportFile(out, async (stream) => {
          await header(stream);
          const [partial] = partialsOf(path.join(folder, 'log.csv'));
          rmSync(partial);
          mkdirSync(partial);
          throw new Error('the log could not be read');
        }),
      ).rejects.toThrow(new Error('the log could not be read'));
      const text = said.mock.calls.map((c) => String(c[0])).join('');
      expect(text).toMatch(/^Could not remove .*http:\/\/parvis:\[redacted\]@backups\.example\/log\.csv\.[0-9a-f]{12}\.partial: /);
      expect(text).not.toContain(secret);
    } finally {
      said.mockRestore();
    }
  });

  // A <file>.partial of the fixed name exports wrote before, left by one that died: a file, a
  // link (to a file of this user's, or to nothing), a socket (which no one may open, ENXIO).
  it('leaves what is beside it as it was, a <file>.partial left before included, written through no link', async () => {
    const out = path.join(dir, 'log.csv');
    writeFileSync(`${out}.partial`, 'half an export', { mode: 0o644 });
    const linked = path.join(dir, 'linked.csv');
    const victim = path.join(dir, 'victim.txt');
    writeFileSync(victim, 'a file of this user\n');
    symlinkSync(victim, `${linked}.partial`);
    const dangling = path.join(dir, 'dangling.csv');
    symlinkSync(path.join(dir, 'made-by-the-export'), `${dangling}.partial`);
    const socket = path.join(dir, 'socket.csv');
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(`${socket}.partial`, resolve));
    try {
      for (const file of [out, linked, dangling, socket]) await expect(writeExportFile(file, lines)).resolves.toBe(1);
      expect({
        texts: [out, linked, dangling, socket].map((file) => readFileSync(file, 'utf8')),
        modes: [out, linked, dangling, socket].map(mode),
        left: readFileSync(`${out}.partial`, 'utf8'),
        victim: readFileSync(victim, 'utf8'),
        made: existsSync(path.join(dir, 'made-by-the-export')),
        links: [lstatSync(`${linked}.partial`).isSymbolicLink(), lstatSync(`${dangling}.partial`).isSymbolicLink()],
        socket: statSync(`${socket}.partial`).isSocket(),
      }).toEqual({
        texts: Array(4).fill('1,post.hide\n'),
        modes: Array(4).fill(0o600),
        left: 'half an export',
        victim: 'a file of this user\n',
        made: false,
        links: [true, true],
        socket: true,
      });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  // Root may write any file, and only root can give one away (chown): the export, written into
  // it, would have been that user's.
  (process.getuid?.() === 0 ? it : it.skip)("writes into no <file>.partial of another user's, and leaves it", async () => {
    const out = path.join(dir, 'log.csv');
    writeFileSync(`${out}.partial`, 'half an export of another user\n');
    chmodSync(`${out}.partial`, 0o666);
    chownSync(`${out}.partial`, 65534, 65534);
    await expect(writeExportFile(out, lines)).resolves.toBe(1);
    expect({
      text: readFileSync(`${out}.partial`, 'utf8'),
      mode: mode(`${out}.partial`),
      out: readFileSync(out, 'utf8'),
      owner: statSync(out).uid,
    }).toEqual({ text: 'half an export of another user\n', mode: 0o666, out: '1,post.hide\n', owner: 0 });
  });
});
