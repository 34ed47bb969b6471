import { MigrationInterface, QueryRunner } from 'typeorm';
import { TYPO_KEYS_FUNCTION, VOCABULARIES } from './1765083600000-search-terms-typo-keys';

/**
 * The former typo-key function, `parvis_typo_keys` (the migration search-terms-typo-keys), goes.
 * The migration search-terms-typo-keys-first-letter replaced it with `parvis_typo_keys_v2` and
 * dropped the indexes built with it, keeping it only for the nodes of the release before, whose
 * typo lookup still called it while the nodes were upgraded one after another. No code of this
 * release or of the one before calls it (the engine looks keys up with `parvis_typo_keys_v2`
 * alone, 7cd195e), so nothing is left to run it. Without CASCADE: an index still built with it
 * (a database where that migration did not run through) fails the drop rather than going too.
 *
 * And the typo-key indexes write each new word's keys straight into the index (`fastupdate = off`)
 * rather than to GIN's pending list, which every typo lookup read whole: up to 4 MB
 * (gin_pending_list_limit; about 13,500 new words), emptied only by the write that overflows it,
 * a VACUUM or an autoanalyze. On a scratch vocabulary of 113,880 rows, 20,000 new words written
 * with lookups between the batches (docs/architecture.md has the rest), a lookup took 26–50 ms on
 * average through a fill of that list (50–108 ms with 400 pages or more pending) against 2.9–9.1
 * ms without it, and the writes took less of the backend's time in every pair of runs (1.25–1.80
 * s against 1.45–2.08 s, the flush counted). What is pending already is flushed here (ALTER INDEX
 * leaves it).
 *
 * Outside a transaction (`transaction = false`), each statement on its own. The ALTER takes its
 * index's ACCESS EXCLUSIVE lock, which every statement on the table waits for (the planner opens
 * all of a table's indexes): in one transaction, the first index stayed locked through its flush
 * and the wait for the second's lock, every search and vocabulary write of that table held as
 * long. Alone, each is held for an instant; and each ALTER gives up its wait after
 * `ALTER_LOCK_WAIT_MS` (lock_timeout) and asks again a moment later, rather than queue behind a
 * long statement on the table with every statement after it queued behind it. The flush runs
 * after the ALTER committed, under the lock an insert takes (no new word is pending any more).
 * Re-runnable after a failure midway: each statement leaves the index right and may run again.
 * Undone inside a transaction all the same (TypeORM's undoLastMigration opens one whatever the
 * migration says), the statements run there, plainly.
 *
 * Down sets the indexes back to the default and creates the function again, with the statement of
 * the migration that made it (`TYPO_KEYS_FUNCTION`), which the down of
 * search-terms-typo-keys-first-letter, undone after this, builds its indexes with.
 */
export class SearchTermsTypoKeysTidy1765148400000 implements MigrationInterface {
  name = 'SearchTermsTypoKeysTidy1765148400000';

  /** Outside the runner's transaction: each index's lock held for its ALTER alone (see above). */
  readonly transaction = false;

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION IF EXISTS parvis_typo_keys(text, int)`);
    for (const table of VOCABULARIES) {
      await alterIndex(q, `ALTER INDEX ${table}_typo_keys_v2_idx SET (fastupdate = off)`);
      await q.query(`SELECT gin_clean_pending_list('${table}_typo_keys_v2_idx'::regclass)`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of VOCABULARIES) await alterIndex(q, `ALTER INDEX ${table}_typo_keys_v2_idx RESET (fastupdate)`);
    await q.query(TYPO_KEYS_FUNCTION);
  }
}

/** How long an ALTER INDEX here waits for its index's lock before it gives way, and then before it asks again. */
const ALTER_LOCK_WAIT_MS = 500;

/**
 * Runs `statement` (an ALTER INDEX) on its own: waiting at most ALTER_LOCK_WAIT_MS for the lock
 * at a time, the statements queued behind it going on between its attempts. In a transaction
 * (an undo), plainly: a lock given up there would abort it.
 */
async function alterIndex(q: QueryRunner, statement: string): Promise<void> {
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
