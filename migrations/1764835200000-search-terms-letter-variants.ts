import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The search vocabulary kept Arabic words with the form of alef, yeh or heh their writer chose
 * (أحمد, على, مدرسة), which queries typed with another form (احمد, علي, مدرسه) never matched.
 * Those forms are now read as one letter in the index, the vocabulary and queries alike (alef
 * with madda, hamza above or below and alef wasla as alef, alef maksura as yeh, teh marbuta as
 * heh), so every vocabulary word holding one of them goes. The letters are those of
 * LETTER_VARIANTS in libs/search/src/query-parser.ts, as they were when this was written. The
 * index rebuild that follows the upgrade (POSTGRES_INDEX_FORMAT 6) writes the words again with
 * the base letters; until it has, those words get no typo tolerance and complete by prefix
 * match alone. The prune count moves first, so that no running indexer goes on believing it
 * wrote them.
 */
export class SearchTermsLetterVariants1764835200000 implements MigrationInterface {
  name = 'SearchTermsLetterVariants1764835200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`SELECT nextval('search_terms_prunes')`);
    await q.query(
      `DELETE FROM search_terms
        WHERE octet_length(term) <> char_length(term)
          AND term ~ '[\\u0622\\u0623\\u0625\\u0629\\u0649\\u0671]'`,
    );
  }

  async down(): Promise<void> {
    // Nothing to put back: a rebuild (search:reindex) writes the vocabulary of whichever release runs it.
  }
}
