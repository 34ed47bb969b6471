import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { distLockIsStale, holdDistLock, holderRecord, takeOverDeadLock } from '../support/dist';

/** Run once after the next stat of its path answers (afterItsAgeIsRead); node:fs's statSync cannot be spied on. */
let afterStat: { path: string; run: () => void } | null = null;
/** Run once in the middle of the next removal of its path (whileItIsRemoved). */
let duringRemoval: { path: string; run: () => void } | null = null;
jest.mock('node:fs', () => {
  const fs = jest.requireActual<typeof import('node:fs')>('node:fs');
  return {
    ...fs,
    // A folder's removal as the recursive one does it (its entries listed, each removed, then the
    // folder), with `run` between the listing and the rest: another process's step, on the disk.
    rmSync: (...args: Parameters<typeof fs.rmSync>) => {
      if (!duringRemoval || String(args[0]) !== duringRemoval.path) return fs.rmSync(...args);
      const { path: folder, run } = duringRemoval;
      duringRemoval = null;
      const entries = fs.readdirSync(folder);
      run();
      for (const entry of entries) fs.rmSync(`${folder}/${entry}`, { recursive: true, force: true });
      fs.rmdirSync(folder);
    },
    statSync: (...args: Parameters<typeof fs.statSync>) => {
      const stat = fs.statSync(...args);
      if (afterStat && String(args[0]) === afterStat.path) {
        const { run } = afterStat;
        afterStat = null;
        run();
      }
      return stat;
    },
  };
});

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
    // (its holder marked, to tell it from what the second would write: the same process here)
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

  // A worker killed between creating its holder and writing its pid in it (writeFileSync opens,
  // then writes) left the holder empty: the lock was judged by its age, and each waiter that found
  // it old claimed the holder, read no pid, took it for one being written and put it back, which
  // made the lock new again: every later run waited for good. Its holder's own age (its mtime,
  // which moving it aside keeps) tells one being written from one its writer died writing.
  it('whose holder was created but never written, is taken over once old, not while new', () => {
    const lock = lockHeldBy(null);
    writeFileSync(path.join(lock, 'holder'), '');
    utimesSync(lock, HOUR_AGO, HOUR_AGO);
    // Being written now: put back as it was.
    expect([distLockIsStale(lock), takeOverDeadLock(lock), readdirSync(lock)]).toEqual([true, false, ['holder']]);
    utimesSync(path.join(lock, 'holder'), HOUR_AGO, HOUR_AGO);
    utimesSync(lock, HOUR_AGO, HOUR_AGO);
    expect([distLockIsStale(lock), takeOverDeadLock(lock), existsSync(lock)]).toEqual([true, true, false]);
  });

  /**
   * `lock`'s next stat answered as it is, then `meanwhile` run: what other processes do between a
   * waiter's judging the lock by its age and its acting on that judgment (injected, not raced).
   */
  function afterItsAgeIsRead(lock: string, meanwhile: () => void): { mockRestore: () => void } {
    afterStat = { path: lock, run: meanwhile };
    return { mockRestore: () => (afterStat = null) };
  }

  // A lock with no holder, old (its worker died taking it), judged dead by two waiters: the first
  // removed it and a worker took the lock anew and began building; the second, removing what it
  // had judged dead by its name, removed that live lock (two builds at once).
  it('with no holder written, taken over once old, leaves the lock a worker took anew since it was judged', () => {
    const lock = lockHeldBy(null, HOUR_AGO);
    const spy = afterItsAgeIsRead(lock, () => {
      rmSync(lock, { recursive: true });
      lockHeldBy(process.pid);
    });
    try {
      expect(takeOverDeadLock(lock)).toBe(false);
    } finally {
      spy.mockRestore();
    }
    expect(readdirSync(lock)).toEqual(['holder']);
    expect(readFileSync(path.join(lock, 'holder'), 'utf8')).toBe(String(process.pid));
  });

  // The same, the new worker not yet come to write its holder: the waiter claims the lock by
  // writing one (exclusively), so that worker finds it written, does not build, and removes nothing
  // (neither the lock the waiter took over nor one a third worker took after).
  it('with no holder written, taken over once old, keeps a worker that took it anew since from building under it', () => {
    const lock = lockHeldBy(null, HOUR_AGO);
    const spy = afterItsAgeIsRead(lock, () => {
      rmSync(lock, { recursive: true });
      mkdirSync(lock);
    });
    try {
      expect(takeOverDeadLock(lock)).toBe(true);
    } finally {
      spy.mockRestore();
    }
    expect(existsSync(lock)).toBe(false);
    expect(holdDistLock(lock)).toBe(false);
    // A third worker takes the lock anew: the second, finding its holder written, leaves it.
    mkdirSync(lock);
    expect(holdDistLock(lock)).toBe(true);
    // (its holder marked, to tell it from what the second would write: the same process here)
    writeFileSync(path.join(lock, 'holder'), `${process.pid} 1`);
    expect([holdDistLock(lock), readFileSync(path.join(lock, 'holder'), 'utf8')]).toEqual([false, `${process.pid} 1`]);
  });

  // A second waiter claims the holder the first wrote into a lock with none (judged old), moving
  // it aside, while the first removes that lock: the lock's removal found the holder it listed
  // gone and the folder not empty (ENOTEMPTY), and the waiter's buildDistOnce failed, its spec with
  // it; the second then put the holder back, a live process's, in the lock no one held.
  it('with no holder written, taken over once old, is removed though a second waiter moves the holder aside meanwhile', () => {
    const lock = lockHeldBy(null, HOUR_AGO);
    const claimed = path.join(lock, 'holder.claimed-by-another');
    duringRemoval = { path: lock, run: () => renameSync(path.join(lock, 'holder'), claimed) };
    try {
      expect(takeOverDeadLock(lock)).toBe(true);
    } finally {
      duringRemoval = null;
    }
    expect(existsSync(lock)).toBe(false);
    // The second, finding the holder it claimed a live one's, puts it back: the lock is gone.
    expect(() => renameSync(claimed, path.join(lock, 'holder'))).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });

  it('with no holder written, is taken over by the first of two waiters that judged it old; the second leaves it', () => {
    const lock = lockHeldBy(null, HOUR_AGO);
    // The second waiter's judgment made, the first removes the lock and a worker takes it anew
    // and writes its holder: the second finds a holder written, and does nothing.
    const spy = afterItsAgeIsRead(lock, () => {
      expect(takeOverDeadLock(lock)).toBe(true);
      mkdirSync(lock);
      expect(holdDistLock(lock)).toBe(true);
    });
    try {
      expect(takeOverDeadLock(lock)).toBe(false);
    } finally {
      spy.mockRestore();
    }
    expect(readFileSync(path.join(lock, 'holder'), 'utf8')).toBe(holderRecord());
  });
});
