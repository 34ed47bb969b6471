import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '../..');
const DIST = path.join(ROOT, 'dist');
/** Names the run that built `dist/` last (the run's database prefix, set by the global setup). */
const MARK = path.join(DIST, '.test-run');
/** Held (as a directory: creating one is atomic) by the worker building `dist/`. */
const LOCK = path.join(DIST, '.test-build.lock');
/** In the lock, written by its holder as soon as it took it: the holder's pid. */
const HOLDER = 'holder';
/** A lock with no holder written in it older than this was left by a worker that died taking it. */
const STALE_LOCK_MS = 180_000;

const builtThisRun = (run: string): boolean => {
  try {
    return readFileSync(MARK, 'utf8') === run;
  } catch {
    return false;
  }
};

/** Whether process `pid` is alive: signal 0 checks it is there (EPERM: there, another user's). */
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * Whether `lock` (a dist lock) was left by a worker that died, so that the next may take it over.
 * Its holder is asked whether it is alive: a build however slow (more than STALE_LOCK_MS on a busy
 * machine) keeps its lock while its worker lives, where a lock judged by its age alone was taken
 * by a second worker, which built over the first's files; a dead holder's lock is taken over at
 * once. The holder blocks its thread while it builds (execFileSync), so it could not refresh the
 * lock's age instead. Only a lock with no holder written in it (its worker died between taking it
 * and writing it, or is writing it now) is judged by its age. Another process that took a dead
 * holder's pid since keeps the lock as long as it lives (pids are reused only once they run out).
 */
export function distLockIsStale(lock: string): boolean {
  let holder: number;
  try {
    holder = Number(readFileSync(path.join(lock, HOLDER), 'utf8'));
  } catch {
    holder = NaN;
  }
  if (Number.isInteger(holder) && holder > 0) return !alive(holder);
  try {
    return Date.now() - statSync(lock).mtimeMs > STALE_LOCK_MS;
  } catch {
    return false;
  }
}

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
    if (distLockIsStale(LOCK)) rmSync(LOCK, { recursive: true, force: true });
    return false;
  }
  try {
    writeFileSync(path.join(LOCK, HOLDER), String(process.pid));
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
