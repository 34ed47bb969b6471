import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { distLockIsStale, holderRecord, takeOverDeadLock } from '../support/dist';

/**
 * The lock under which one jest worker builds `dist/` for the specs that run it (test/support/dist.ts):
 * when it is taken over as left by a worker that died. Its age is set, not waited for.
 */
describe("dist/'s build lock", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'parvis-dist-lock-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const HOUR_AGO = new Date(Date.now() - 3_600_000);
  /** A lock as its holder leaves it (its pid written in it, or none), made `at` (its mtime). */
  function lockHeldBy(holder: number | null, at?: Date): string {
    const lock = path.join(dir, '.test-build.lock');
    mkdirSync(lock);
    if (holder !== null) writeFileSync(path.join(lock, 'holder'), String(holder));
    if (at) utimesSync(lock, at, at);
    return lock;
  }

  // A build slower than the age at which a lock was taken for a dead worker's: a second worker
  // took it and built over the first's files.
  it('is kept by a holder still alive however long ago it was taken', () => {
    const lock = lockHeldBy(null);
    writeFileSync(path.join(lock, 'holder'), holderRecord());
    utimesSync(lock, HOUR_AGO, HOUR_AGO);
    expect(distLockIsStale(lock)).toBe(false);
    // Its pid alone, where /proc did not say when it started.
    rmSync(lock, { recursive: true });
    expect(distLockIsStale(lockHeldBy(process.pid, HOUR_AGO))).toBe(false);
  });

  // A lock left by a run killed mid-build whose holder's pid a later process has since (pids run
  // out and start over): kept while that process lived, however long, the waiters waited for good.
  it('is taken over at once when its pid is another process now, one started since', () => {
    const lock = lockHeldBy(null);
    // This process's pid, written by one that started at another time (the 1st tick since boot).
    writeFileSync(path.join(lock, 'holder'), `${process.pid} 1`);
    expect(holderRecord()).toMatch(new RegExp(`^${process.pid} [0-9]+$`));
    expect(distLockIsStale(lock)).toBe(true);
  });

  it('is taken over at once when its holder is no longer alive', () => {
    const ended = spawnSync(process.execPath, ['-e', '']);
    expect(ended.status).toBe(0);
    expect(distLockIsStale(lockHeldBy(ended.pid))).toBe(true);
  });

  // Its worker died between taking it and writing its pid (or is writing it now): judged by its age.
  it('with no holder written, is taken over once old, not while new', () => {
    expect(distLockIsStale(lockHeldBy(null, HOUR_AGO))).toBe(true);
    rmSync(path.join(dir, '.test-build.lock'), { recursive: true });
    expect(distLockIsStale(lockHeldBy(null))).toBe(false);
  });

  it('is not stale when there is none', () => {
    expect(distLockIsStale(path.join(dir, 'none'))).toBe(false);
  });

  // Two waiters may judge the same lock dead (its holder gone) at once: the first removes it, a
  // third worker takes the lock anew, and the second, coming to remove what it judged dead, must
  // leave that live lock alone (removed by its name, it was: two builds ran at once).
  it('is taken over by the first of two waiters that judged it dead; the second finds it gone', () => {
    const ended = spawnSync(process.execPath, ['-e', '']);
    const lock = lockHeldBy(ended.pid);
    expect(distLockIsStale(lock)).toBe(true);
    expect(distLockIsStale(lock)).toBe(true);
    expect([takeOverDeadLock(lock), existsSync(lock), takeOverDeadLock(lock)]).toEqual([true, false, false]);
  });

  it('taken over, leaves the lock a live worker took since it was judged dead, its holder as it was', () => {
    const ended = spawnSync(process.execPath, ['-e', '']);
    const lock = lockHeldBy(ended.pid);
    expect(distLockIsStale(lock)).toBe(true);
    // The first waiter removed it, and another worker took the lock anew.
    rmSync(lock, { recursive: true });
    lockHeldBy(process.pid);
    expect(takeOverDeadLock(lock)).toBe(false);
    expect(readdirSync(lock)).toEqual(['holder']);
    expect(readFileSync(path.join(lock, 'holder'), 'utf8')).toBe(String(process.pid));
  });
});
