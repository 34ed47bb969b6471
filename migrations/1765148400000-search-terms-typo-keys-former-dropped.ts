import { MigrationInterface, QueryRunner } from 'typeorm';
import { TYPO_KEYS_FUNCTION } from './1765083600000-search-terms-typo-keys';

/**
 * The former typo-key function, `parvis_typo_keys` (the migration search-terms-typo-keys), goes.
 * The migration search-terms-typo-keys-first-letter replaced it with `parvis_typo_keys_v2` and
 * dropped the indexes built with it, keeping it only for the nodes of the release before, whose
 * typo lookup still called it while the nodes were upgraded one after another. No code of this
 * release or of the one before calls it (the engine looks keys up with `parvis_typo_keys_v2`
 * alone, 7cd195e), so nothing is left to run it. Without CASCADE: an index still built with it
 * (a database where that migration did not run through) fails the drop rather than going too.
 *
 * Down creates it again, with the statement of the migration that made it (`TYPO_KEYS_FUNCTION`),
 * which the down of search-terms-typo-keys-first-letter, undone after this, builds its indexes with.
 */
export class SearchTermsTypoKeysFormerDropped1765148400000 implements MigrationInterface {
  name = 'SearchTermsTypoKeysFormerDropped1765148400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION IF EXISTS parvis_typo_keys(text, int)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(TYPO_KEYS_FUNCTION);
  }
}
