import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What the search vocabulary needs for the PostgreSQL index format 7. Its words kept œ, æ and ß
 * as written (œuvre, straße), while the index's unaccent reads them as two letters (oeuvre,
 * strasse): a typo of such a word was widened to nothing, and a word being typed was completed
 * without it. Vocabulary words now have the two letters, so every word holding one of the three
 * goes (words are lower case: their capitals are never there). The index rebuild that follows
 * the upgrade (POSTGRES_INDEX_FORMAT 7) writes them again folded, and adds the words of tags and
 * numbers, which the vocabulary left out; until it has, those words get no typo tolerance and
 * complete by prefix match alone. The prune count moves first, so that no running indexer goes
 * on believing it wrote them.
 */
export class SearchTermsFormatSeven1764954000000 implements MigrationInterface {
  name = 'SearchTermsFormatSeven1764954000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`SELECT nextval('search_terms_prunes')`);
    await q.query(`DELETE FROM search_terms WHERE octet_length(term) <> char_length(term) AND term ~ '[œæß]'`);
  }

  async down(): Promise<void> {
    // Nothing to put back: a rebuild (search:reindex) writes the vocabulary of whichever release runs it.
  }
}
