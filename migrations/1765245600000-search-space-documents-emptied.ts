import { MigrationInterface, QueryRunner } from 'typeorm';
import { countsFoldFunction } from './1765242000000-search-counts-per-language';

/**
 * A space's count of visible documents of a language (`search_space_documents`) that the fold took
 * to zero stayed, at 0, for good: every space a language's documents ever left (hidden, moved,
 * removed, stemmed anew in another language) kept a row of it, which every counted search read.
 * The fold (`search_counts_fold`) now deletes such a count as it deletes a lexeme's count that
 * reaches zero (one below zero stays, as a lexeme's does: two folds at once may take a document's
 * removal before its addition), and the counts at zero there are go. `down` puts the fold of the
 * migration search-counts-per-language back (the rows deleted are not written again: a count of
 * zero and no count read alike).
 */
export class SearchSpaceDocumentsEmptied1765245600000 implements MigrationInterface {
  name = 'SearchSpaceDocumentsEmptied1765245600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(countsFoldFunction(true, true));
    await q.query(`DELETE FROM search_space_documents WHERE docs = 0`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(countsFoldFunction(true));
  }
}
