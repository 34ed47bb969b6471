import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The search vocabulary kept words with every mark taken off (Hindi नमस्ते as नमसत, Japanese
 * が as か), words the index does not hold; it now folds the accents of Latin letters only,
 * as the index's unaccent does. A rebuild only adds words, so the words written the old way
 * are taken out here: every word with a letter outside ASCII (an accented Latin word was
 * written without its accents, then and now). The index rebuild that follows the upgrade
 * (POSTGRES_INDEX_FORMAT 2) writes them again as the documents hold them; until it has,
 * those words get no typo tolerance and complete by prefix match alone. The prune count moves
 * first, so that no running indexer goes on believing it wrote them.
 */
export class SearchTermsMarks1764817200000 implements MigrationInterface {
  name = 'SearchTermsMarks1764817200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`SELECT nextval('search_terms_prunes')`);
    await q.query(`DELETE FROM search_terms WHERE octet_length(term) <> char_length(term)`);
  }

  async down(): Promise<void> {
    // Nothing to put back: the words taken out were not in the index's form, and a rebuild
    // (search:reindex) writes the vocabulary of whichever release runs it.
  }
}
