import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What the search vocabulary needs for the PostgreSQL index format 7.
 *
 * Its words kept œ, æ and ß as written (œuvre, straße), while the index's unaccent reads them as
 * two letters (oeuvre, strasse): a typo of such a word was widened to nothing, and a word being
 * typed was completed without it. Vocabulary words now have the two letters, so every word
 * holding one of the three goes (words are lower case: their capitals are never there).
 *
 * It held the words of visible documents alone, so a moderator searching held and removed posts
 * too (`includeModerated`) got no typo tolerance or completion for a word only those hold. Their
 * words get a vocabulary of their own, search_terms_moderated (per space, as search_terms), which
 * only moderators' own queries read: in search_terms, they would widen typos and complete words
 * for everybody, and tell them what hidden posts say.
 *
 * The index rebuild that follows the upgrade (POSTGRES_INDEX_FORMAT 7) writes the folded words,
 * the words of tags and numbers (which the vocabulary left out) and the moderators' vocabulary;
 * until it has, those words get no typo tolerance and complete by prefix match alone. The prune
 * count moves first, so that no running indexer goes on believing it wrote the words taken out.
 */
export class SearchTermsFormatSeven1764954000000 implements MigrationInterface {
  name = 'SearchTermsFormatSeven1764954000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`SELECT nextval('search_terms_prunes')`);
    await q.query(`DELETE FROM search_terms WHERE octet_length(term) <> char_length(term) AND term ~ '[œæß]'`);
    await q.query(`
      CREATE TABLE search_terms_moderated (
        term text NOT NULL,
        space_id uuid NOT NULL,
        PRIMARY KEY (term, space_id)
      )`);
    await q.query(`CREATE INDEX search_terms_moderated_trgm_idx ON search_terms_moderated USING gin (term gin_trgm_ops)`);
  }

  async down(q: QueryRunner): Promise<void> {
    // The words taken out need nothing put back: a rebuild (search:reindex) writes the vocabulary of whichever release runs it.
    await q.query(`DROP TABLE search_terms_moderated`);
  }
}
