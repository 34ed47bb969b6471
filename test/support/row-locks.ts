import { backendPid, pollFor, QUEUED_BEHIND_SQL } from './lock-waits';
import { TestApp } from './test-app';

/** A row lock a test holds in a transaction of its own (`holdLock`). */
export interface HeldLock {
  /** The backend holding the lock: what `lockWaits` and `doneOrWaiting` count waits behind. */
  readonly pid: number;
  /** A statement in the holding transaction (to change, under the lock, what a waiting mutation will find). */
  query(q: string, p?: unknown[]): Promise<any>;
  /**
   * Returns once `n` of the app's requests are queued behind this lock's transaction (directly,
   * or behind another so queued), and fails if they never are: a mutation that should queue
   * behind the lock but runs ahead is caught there. A wait for any other lock is not counted.
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
  const pid = await backendPid(qr);
  await qr.query(sql, params);
  return {
    pid,
    query: (q: string, p: unknown[] = []) => qr.query(q, p),
    async waiting(n: number) {
      await pollFor(async () => {
        // Inside a transaction pg_stat_activity lists the backends (and their state) as they were at
        // its first read, wait events alone read live, unless its snapshot is cleared: a request
        // on a connection the pool opened after that read would never be counted.
        await qr.query(`SELECT pg_stat_clear_snapshot()`);
        const [{ n: waiting }] = await qr.query(QUEUED_BEHIND_SQL, [pid]);
        return waiting >= n ? true : undefined;
      }, `${n} requests to wait for the lock of backend ${pid}`);
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
