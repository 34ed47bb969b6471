import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '../..');
const DIST = path.join(ROOT, 'dist');
/** Names the run that built `dist/` last (the run's database prefix, set by the global setup). */
const MARK = path.join(DIST, '.test-run');
/** Held (as a directory: creating one is atomic) by the worker building `dist/`. */
const LOCK = path.join(DIST, '.test-build.lock');
/** A lock older than this was left by a worker that died building; the next one takes it over. */
const STALE_LOCK_MS = 180_000;

const builtThisRun = (run: string): boolean => {
  try {
    return readFileSync(MARK, 'utf8') === run;
  } catch {
    return false;
  }
};

const lockIsStale = (): boolean => {
  try {
    return Date.now() - statSync(LOCK).mtimeMs > STALE_LOCK_MS;
  } catch {
    return false;
  }
};

/**
 * One try at `dist/` for this run: true when it is built (found built by this run, or built now
 * under the lock), false while another worker holds the lock and builds it.
 */
function builtOrBuilding(run: string | undefined): boolean {
  mkdirSync(DIST, { recursive: true });
  if (run && builtThisRun(run)) return true;
  try {
    mkdirSync(LOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    if (lockIsStale()) rmSync(LOCK, { recursive: true, force: true });
    return false;
  }
  try {
    if (run && builtThisRun(run)) return true;
    rmSync(MARK, { force: true });
    execFileSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.build.json')], { cwd: ROOT, stdio: 'inherit' });
    if (run) writeFileSync(MARK, run);
    return true;
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

/**
 * Compiles the project into `dist/` for the specs that start its built processes (the CLI, a
 * second API node), once per test run: the specs run in parallel workers, and a build rewrites
 * the files in place, so a second build could hand a process another spec just started a
 * half-written module. The first worker to ask builds under the lock; the others wait for it
 * and find the run's mark. A run started outside the global setup (no prefix) always builds.
 */
export async function buildDistOnce(): Promise<string> {
  while (!builtOrBuilding(process.env.PARVIS_TEST_PREFIX)) await new Promise((resolve) => setTimeout(resolve, 200));
  return DIST;
}

/**
 * `buildDistOnce`, waiting for another worker's build without leaving the thread: for a spec
 * that must run what it built while jest collects its tests (which it cannot await), to know
 * which of them can run here.
 */
export function buildDistOnceSync(): string {
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  while (!builtOrBuilding(process.env.PARVIS_TEST_PREFIX)) Atomics.wait(sleeper, 0, 0, 200);
  return DIST;
}
