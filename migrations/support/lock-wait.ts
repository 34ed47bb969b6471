import { QueryRunner } from 'typeorm';

/** How long an ALTER run by `alterGivingWay` waits for its table's lock before it gives way, and then before it asks again. */
export const ALTER_LOCK_WAIT_MS = 500;

/**
 * Runs `statement` (an ALTER that takes an ACCESS EXCLUSIVE lock, committed on its own by a
 * migration with `transaction = false`), waiting at most ALTER_LOCK_WAIT_MS for the lock at a
 * time: every statement on the table queues behind a lock request, so a wait behind a long
 * transaction would hold them all as long; given up (lock_timeout), it lets them go on, and asks
 * again a moment later. In a transaction (an undo: TypeORM's undoLastMigration opens one whatever
 * the migration says), plainly: a lock given up there would abort it. As the migration
 * search-terms-typo-keys-tidy does for its indexes.
 */
export async function alterGivingWay(q: QueryRunner, statement: string): Promise<void> {
  if (q.isTransactionActive) return void (await q.query(statement));
  for (;;) {
    await q.query(`SET lock_timeout = ${ALTER_LOCK_WAIT_MS}`);
    try {
      await q.query(statement);
      return;
    } catch (e) {
      // lock_not_available: the lock was not had in time.
      if ((e as { code?: string }).code !== '55P03') throw e;
    } finally {
      await q.query(`RESET lock_timeout`);
    }
    await new Promise((resolve) => setTimeout(resolve, ALTER_LOCK_WAIT_MS));
  }
}
