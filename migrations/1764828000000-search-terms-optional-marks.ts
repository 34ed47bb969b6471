import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The search vocabulary kept Arabic and Hebrew words with the marks their writer put in (كِتَاب,
 * שָׁלוֹם), which queries typed without them never matched. Those marks are now folded away in
 * the index, the vocabulary and queries alike, so every vocabulary word holding one goes. The
 * ranges are those of OPTIONAL_MARKS in libs/search/src/query-parser.ts, as they were when this
 * was written. The index rebuild that follows the upgrade (POSTGRES_INDEX_FORMAT 4) writes the
 * words again without them; until it has, those words get no typo tolerance and complete by
 * prefix match alone. The prune count moves first, so that no running indexer goes on
 * believing it wrote them.
 */
export class SearchTermsOptionalMarks1764828000000 implements MigrationInterface {
  name = 'SearchTermsOptionalMarks1764828000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`SELECT nextval('search_terms_prunes')`);
    await q.query(
      `DELETE FROM search_terms
        WHERE octet_length(term) <> char_length(term)
          AND term ~ '[\\u0591-\\u05bd\\u05bf\\u05c1-\\u05c2\\u05c4-\\u05c5\\u05c7\\u0640\\u064b-\\u0652\\u0670]'`,
    );
  }

  async down(): Promise<void> {
    // Nothing to put back: a rebuild (search:reindex) writes the vocabulary of whichever release runs it.
  }
}
