import { sqlState } from '../../libs/core/src/database/unit-of-work';
import { TestApp } from './test-app';

/** Transactions of the app counted as PostgreSQL aborts them as a deadlock's victim (`countDeadlocks`). */
export interface DeadlockCount {
  /** How many so far (the unit of work runs each again, so the request itself may still succeed). */
  readonly count: number;
  /** Stops counting. */
  restore: () => void;
}

/** Counts the app's transactions aborted as a deadlock's victim (SQLSTATE 40P01) from now on. */
export function countDeadlocks(t: TestApp): DeadlockCount {
  let count = 0;
  const transaction = t.ds.transaction.bind(t.ds) as (...args: unknown[]) => Promise<unknown>;
  const spy = jest.spyOn(t.ds, 'transaction').mockImplementation(((...args: unknown[]) =>
    transaction(...args).catch((err: unknown) => {
      if (sqlState(err) === '40P01') count++;
      throw err;
    })) as any);
  return {
    get count() {
      return count;
    },
    restore: () => spy.mockRestore(),
  };
}
