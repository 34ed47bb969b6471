import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every query (but a moderator's own) looks up the languages of the changes to the counts not
 * folded in yet (`search_lexeme_deltas`) in the spaces it searches (`languagesSql` in the
 * PostgreSQL engine): the queue had no index but its id's, so each query read every row of it, one
 * per statement that wrote documents since the last fold. The fold (the worker's job
 * search-lexeme-counts) keeps it to a few seconds' writes; with the fold behind (the worker stopped,
 * a failing job), every query read them all. A GIN index of the spaces each row changes the
 * documents of lets the lookup (`document_spaces && the spaces searched`) pass by the rows of other
 * spaces (a test, search-contract: the compilation's statement reads the queue through it under
 * EXPLAIN, 5,000 rows of other spaces queued). The queue is small while folded, and its rows
 * short-lived: built in place, a write waiting for it no longer than for the table's read.
 */
export class SearchLexemeDeltasSpaces1765260000000 implements MigrationInterface {
  name = 'SearchLexemeDeltasSpaces1765260000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX search_lexeme_deltas_document_spaces_idx ON search_lexeme_deltas USING gin (document_spaces)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX search_lexeme_deltas_document_spaces_idx`);
  }
}
