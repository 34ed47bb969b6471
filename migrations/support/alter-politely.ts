import { QueryRunner } from 'typeorm';

/** How long a statement here waits for its table's lock before it gives way, and then before it asks again. */
export const ALTER_LOCK_WAIT_MS = 500;

/**
 * Runs `statement` (an ALTER that takes an ACCESS EXCLUSIVE lock) on its own, outside any
 * transaction, waiting at most `ALTER_LOCK_WAIT_MS` for the lock at a time. Queued for the lock
 * behind a long transaction, an ALTER holds up every statement on the table that comes after
 * it (every page read of posts or topics); given up after the bound, the statements queued
 * behind it go on, and it asks again a moment later. In a transaction (TypeORM's undo opens
 * one whatever the migration says), plainly: a lock given up there would abort it.
 *
 * The same rule as search-terms-typo-keys-tidy's (1765148400000, which keeps its own copy: a
 * shipped migration is not edited).
 */
export async function alterPolitely(q: QueryRunner, statement: string): Promise<void> {
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
