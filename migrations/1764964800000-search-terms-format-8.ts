import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What the search vocabularies need for the PostgreSQL index format 8.
 *
 * Their words kept as written letters the index's unaccent reads otherwise: ø, ł, đ, þ, ı, ħ, ŧ,
 * ŀ, ĳ, ſ and the other letters of UNACCENT_READINGS (query-parser.ts), the accents of Greek
 * letters, ё, and combining accents written apart: a typo of København or Łódź was widened to
 * nothing, and kobenh or lod was completed without them. Vocabulary words are now read as
 * unaccent reads them, so every word unaccent would change goes, from both vocabularies (words
 * are lower case, and only a word with a letter outside ASCII can change). The few that stay as
 * written (ŉ, and the modifier letters unaccent reads as an apostrophe) go too, and come back.
 *
 * The index rebuild that follows the upgrade (POSTGRES_INDEX_FORMAT 8) writes the words again as
 * they are now read; until it has, those words get no typo tolerance and complete by prefix match
 * alone. The prune count moves first, so that no running indexer goes on believing it wrote the
 * words taken out. Words an older release wrote from the few letters unaccent keeps whole though
 * they carry a mark (ǣ, ǯ: they were kept as ae, ʒ) are not told apart from others, and stay.
 */
export class SearchTermsFormatEight1764964800000 implements MigrationInterface {
  name = 'SearchTermsFormatEight1764964800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`SELECT nextval('search_terms_prunes')`);
    for (const table of ['search_terms', 'search_terms_moderated']) {
      await q.query(`DELETE FROM ${table} WHERE octet_length(term) <> char_length(term) AND unaccent(term) <> term`);
    }
  }

  async down(): Promise<void> {
    // The words taken out need nothing put back: a rebuild (search:reindex) writes the vocabulary of whichever release runs it.
  }
}
