import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The search vocabulary kept runs of Chinese, Japanese and Thai letters as words (often whole
 * sentences, as PostgreSQL's parser read them). Each such letter is now a word of its own in the
 * index, and none is a vocabulary word (queries look for them in phrases, without typo
 * tolerance or completion), so every vocabulary word holding one goes. The ranges are those of
 * SEGMENTED_LETTERS in libs/search/src/query-parser.ts, as they were when this was written.
 * The index rebuild that follows the upgrade (POSTGRES_INDEX_FORMAT 3) writes no such word.
 * The prune count moves first, so that no running indexer goes on believing it wrote them.
 */
export class SearchTermsSegmented1764820800000 implements MigrationInterface {
  name = 'SearchTermsSegmented1764820800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`SELECT nextval('search_terms_prunes')`);
    await q.query(
      `DELETE FROM search_terms
        WHERE octet_length(term) <> char_length(term)
          AND term ~ '[\\u0e01-\\u0e30\\u0e32-\\u0e33\\u0e40-\\u0e46\\u3005-\\u3007\\u3021-\\u3029\\u3038-\\u303b\\u3041-\\u3096\\u309d-\\u309f\\u30a1-\\u30fa\\u30fc-\\u30ff\\u31f0-\\u31ff\\uff66-\\uff9f\\u3400-\\u4dbf\\u4e00-\\u9fff\\uf900-\\ufaff\\U00020000-\\U000323af]'`,
    );
  }

  async down(): Promise<void> {
    // Nothing to put back: a rebuild (search:reindex) writes the vocabulary of whichever release runs it.
  }
}
