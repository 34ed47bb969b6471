import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '../..');
const DIST = path.join(ROOT, 'dist');
/** Names the run that built `dist/` last (the run's database prefix, set by the global setup). */
const MARK = path.join(DIST, '.test-run');
/** Held (as a directory: creating one is atomic) by the worker building `dist/`. */
const LOCK = path.join(DIST, '.test-build.lock');
/** In the lock, written by its holder as soon as it took it: the holder's pid and start (holderRecord). */
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

/**
 * When process `pid` started, in clock ticks since boot (/proc/<pid>/stat's 22nd field): tells
 * the holder from a later process given its pid once it died (pids run out and start over).
 * Null where /proc does not say (no such process, or no /proc).
 */
const startOf = (pid: number): string | null => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields from the 3rd on follow the command's name, in parentheses that may hold anything.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
};

/** What a holder writes in the lock: its pid, and when it started where /proc says. */
export const holderRecord = (): string => `${process.pid} ${startOf(process.pid) ?? ''}`.trimEnd();

/** Whether process `pid` is alive: signal 0 checks it is there (EPERM: there, another user's). */
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** The holder in a lock's holder file; null when there is none, or none yet (being written). */
const holderIn = (file: string): { pid: number; start?: string } | null => {
  try {
    const [pid, start] = readFileSync(file, 'utf8').split(' ').map((field) => (field === '' ? undefined : field));
    const n = Number(pid);
    return Number.isInteger(n) && n > 0 ? { pid: n, start } : null;
  } catch {
    return null;
  }
};

/** Whether the holder is alive: its pid is, and is still its process (started when it did), where /proc says. */
const holderAlive = ({ pid, start }: { pid: number; start?: string }): boolean => {
  if (!alive(pid)) return false;
  const now = start === undefined ? null : startOf(pid);
  return now === null || now === start;
};

/**
 * Whether `lock` (a dist lock) was left by a worker that died, so that the next may take it over.
 * Its holder is asked whether it is alive: a build however slow (more than STALE_LOCK_MS on a busy
 * machine) keeps its lock while its worker lives, where a lock judged by its age alone was taken
 * by a second worker, which built over the first's files; a dead holder's lock is taken over at
 * once. The holder blocks its thread while it builds (execFileSync), so it could not refresh the
 * lock's age instead. Only a lock with no holder written in it (its worker died between taking it
 * and writing it, or is writing it now) is judged by its age. Another process that took a dead
 * holder's pid since (pids are reused once they run out) is told from it by when it started,
 * where /proc says: it does not keep the lock, which a run killed mid-build left.
 */
export function distLockIsStale(lock: string): boolean {
  const holder = holderIn(path.join(lock, HOLDER));
  if (holder !== null) return !holderAlive(holder);
  return fileIsOld(lock);
}

/** Whether `file` (a lock, or a holder with no pid in it) was last changed more than STALE_LOCK_MS ago; not when it is gone. */
function fileIsOld(file: string): boolean {
  try {
    return Date.now() - statSync(file).mtimeMs > STALE_LOCK_MS;
  } catch {
    return false;
  }
}

/** How many times a lock's removal is tried that finds its folder not empty (removeDistLock). */
const LOCK_REMOVAL_TRIES = 10;

/**
 * Removes `lock` and what is in it. A waiter may claim its holder while it is removed, moving the
 * file aside (takeOverDeadLock), and put it back after: the removal, which listed the holder, finds
 * it gone and the folder not empty (ENOTEMPTY), and threw, failing buildDistOnce (and its spec)
 * and leaving the lock, where the holder put back (a live process's) kept every other worker
 * waiting. It is tried again, listing the folder anew: each waiter moves the holder at most twice.
 */
function removeDistLock(lock: string): void {
  for (let tries = 1; ; tries++) {
    try {
      rmSync(lock, { recursive: true, force: true });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOTEMPTY' || tries === LOCK_REMOVAL_TRIES) throw err;
    }
  }
}

/**
 * Removes `lock`, judged dead by distLockIsStale, unless it is a live worker's by now, and says
 * whether it did. Two waiters may judge the same lock dead: the first removes it, a third worker
 * takes the lock anew, and the second, removing the lock by its name, would remove that live one
 * (two builds at once). So a waiter first claims the holder it judged dead, by moving its file
 * aside (a rename: of two waiters, one moves it), then reads whose it moved: a dead holder's lock
 * is its to remove (no other waiter can claim it any more, and its holder will not remove it);
 * a live one's (or one whose pid is still being written: no pid in it, and new) is put back as it
 * was; one with no pid in it, old, was left by a worker that died writing it, and is removed.
 * Meanwhile the lock has no holder and a new age, so no other waiter judges it dead. A lock with no holder
 * written is judged by its age, then claimed by writing a holder into it (holdDistLock) before it
 * is removed, so that a lock taken anew since it was judged is never removed by its name.
 */
export function takeOverDeadLock(lock: string): boolean {
  const holder = path.join(lock, HOLDER);
  const claimed = path.join(lock, `${HOLDER}.claimed-by-${process.pid}`);
  try {
    renameSync(holder, claimed);
  } catch {
    // No holder there: claimed by another waiter (the lock's age is new), or never written.
    if (!distLockIsStale(lock)) return false;
    // Judged by its age, the lock at this name may be another by now (a second waiter removed it,
    // a worker took it anew and is building): it is claimed as a worker takes one, by writing a
    // holder, exclusively. Of the waiters, and a worker that took it anew and has not written its
    // own, one writes it and removes the lock it now holds; the others find a holder and leave it.
    if (!holdDistLock(lock)) return false;
    removeDistLock(lock);
    return true;
  }
  const held = holderIn(claimed);
  // No pid in it: being written now (put back), or its writer died between creating it and
  // writing (killed there, or a run's worker): then it is as old as a lock with no holder judged
  // dead. Its age is its own (a rename keeps a file's mtime), where the folder's each claim renews.
  if ((held === null && !fileIsOld(claimed)) || (held !== null && holderAlive(held))) {
    // Gone meanwhile (its holder done, the lock removed) is nothing to put back.
    try {
      renameSync(claimed, holder);
    } catch {}
    return false;
  }
  removeDistLock(lock);
  return true;
}

/**
 * Writes this process as `lock`'s holder, exclusively, and says whether it did: not when a holder
 * is written already (a waiter took over the lock, judged to have none for too long) or the lock is
 * gone (removed by one): then this process holds no lock, and must neither build nor remove it.
 */
export function holdDistLock(lock: string): boolean {
  try {
    writeFileSync(path.join(lock, HOLDER), holderRecord(), { flag: 'wx' });
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOENT') return false;
    throw err;
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
    if (distLockIsStale(LOCK)) takeOverDeadLock(LOCK);
    return false;
  }
  let held: boolean;
  try {
    held = holdDistLock(LOCK);
  } catch (err) {
    removeDistLock(LOCK);
    throw err;
  }
  if (!held) return false;
  try {
    if (run && builtThisRun(run)) return true;
    rmSync(MARK, { force: true });
    execFileSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.build.json')], { cwd: ROOT, stdio: 'inherit' });
    if (run) writeFileSync(MARK, run);
    return true;
  } finally {
    removeDistLock(LOCK);
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
