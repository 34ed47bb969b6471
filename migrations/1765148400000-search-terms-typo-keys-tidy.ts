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
 * leaves it). The ALTER takes each index's ACCESS
 * EXCLUSIVE lock, for an instant.
 *
 * Down sets the indexes back to the default and creates the function again, with the statement of
 * the migration that made it (`TYPO_KEYS_FUNCTION`), which the down of
 * search-terms-typo-keys-first-letter, undone after this, builds its indexes with.
 */
export class SearchTermsTypoKeysTidy1765148400000 implements MigrationInterface {
  name = 'SearchTermsTypoKeysTidy1765148400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION IF EXISTS parvis_typo_keys(text, int)`);
    for (const table of VOCABULARIES) {
      await q.query(`ALTER INDEX ${table}_typo_keys_v2_idx SET (fastupdate = off)`);
      await q.query(`SELECT gin_clean_pending_list('${table}_typo_keys_v2_idx'::regclass)`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of VOCABULARIES) await q.query(`ALTER INDEX ${table}_typo_keys_v2_idx RESET (fastupdate)`);
    await q.query(TYPO_KEYS_FUNCTION);
  }
}
