import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The queue's index of spaces (`search_lexeme_deltas_document_spaces_idx`, the migration
 * search-lexeme-deltas-spaces) writes each row's spaces straight into the index (`fastupdate =
 * off`), as the typo-key indexes do (search-terms-typo-keys-tidy), rather than to GIN's pending
 * list, which every lookup reads whole: every query (but a moderator's own) looks the queue up, and
 * with the list on, the rows of every space queued since its last flush (up to 4 MB,
 * gin_pending_list_limit, emptied by the write that overflows it, a VACUUM or an autoanalyze) were
 * read by each, the rows of other spaces the index was there to pass by (5,000 rows queued: 18
 * pending pages read by each lookup, 3 pages without). What is pending is flushed here (ALTER INDEX
 * leaves it). The ALTER holds the index's lock for an instant: the queue's statements (a write's
 * row, the fold, a query's lookup) are short.
 *
 * Down sets the index back to the default.
 */
export class SearchLexemeDeltasSpacesDirect1765267200000 implements MigrationInterface {
  name = 'SearchLexemeDeltasSpacesDirect1765267200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER INDEX search_lexeme_deltas_document_spaces_idx SET (fastupdate = off)`);
    await q.query(`SELECT gin_clean_pending_list('search_lexeme_deltas_document_spaces_idx'::regclass)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER INDEX search_lexeme_deltas_document_spaces_idx RESET (fastupdate)`);
  }
}
