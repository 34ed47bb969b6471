import { pollFor } from './lock-waits';
import { TestApp } from './test-app';

/** A row lock a test holds in a transaction of its own (`holdLock`). */
export interface HeldLock {
  /** A statement in the holding transaction (to change, under the lock, what a waiting mutation will find). */
  query(q: string, p?: unknown[]): Promise<any>;
  /**
   * Returns once `n` of the app's requests wait for a lock, and fails if they never do: a
   * mutation that should queue behind the lock but runs ahead is caught there.
   */
  waiting(n: number): Promise<void>;
  /** Commits the holding transaction, letting whatever waits on it go on, in the order it queued. */
  release(): Promise<void>;
}

/**
 * A transaction of the test's own, holding a row lock as a competing mutation would (and
 * changing what that mutation changes under it), on a connection of the app's pool: mutations
 * started meanwhile queue behind it in a known order.
 */
export async function holdLock(t: TestApp, sql: string, params: unknown[]): Promise<HeldLock> {
  const qr = t.ds.createQueryRunner();
  await qr.connect();
  await qr.startTransaction();
  await qr.query(sql, params);
  return {
    query: (q: string, p: unknown[] = []) => qr.query(q, p),
    async waiting(n: number) {
      await pollFor(async () => {
        // Inside a transaction pg_stat_activity lists the backends (and their state) as they were at
        // its first read, wait events alone read live, unless its snapshot is cleared: a request
        // on a connection the pool opened after that read would never be counted.
        await qr.query(`SELECT pg_stat_clear_snapshot()`);
        const [{ waiting }] = await qr.query(`SELECT count(*)::int AS waiting FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`);
        return waiting >= n ? true : undefined;
      }, `${n} requests to wait for a lock`);
    },
    async release() {
      if (qr.isTransactionActive) await qr.commitTransaction();
      if (!qr.isReleased) await qr.release();
    },
  };
}

/** Runs `race` with the lock held (`holdLock`), releasing it whatever happens. */
export async function withLockHeld<T>(t: TestApp, sql: string, params: unknown[], race: (h: HeldLock) => Promise<T>): Promise<T> {
  const h = await holdLock(t, sql, params);
  try {
    return await race(h);
  } finally {
    await h.release();
  }
}
