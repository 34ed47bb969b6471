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
 * Compiles the project into `dist/` for the specs that start its built processes (the CLI, a
 * second API node), once per test run: the specs run in parallel workers, and a build rewrites
 * the files in place, so a second build could hand a process another spec just started a
 * half-written module. The first worker to ask builds under the lock; the others wait for it
 * and find the run's mark. A run started outside the global setup (no prefix) always builds.
 */
export async function buildDistOnce(): Promise<string> {
  const run = process.env.PARVIS_TEST_PREFIX;
  mkdirSync(DIST, { recursive: true });
  for (;;) {
    if (run && builtThisRun(run)) return DIST;
    try {
      mkdirSync(LOCK);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (lockIsStale()) rmSync(LOCK, { recursive: true, force: true });
      else await new Promise((resolve) => setTimeout(resolve, 200));
      continue;
    }
    try {
      if (run && builtThisRun(run)) return DIST;
      rmSync(MARK, { force: true });
      execFileSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.build.json')], { cwd: ROOT, stdio: 'inherit' });
      if (run) writeFileSync(MARK, run);
      return DIST;
    } finally {
      rmSync(LOCK, { recursive: true, force: true });
    }
  }
}
