import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Counts vocabulary prunes, across every indexing process. Each process remembers which words
 * it wrote (PostgresSearchEngine.knownTerms) and skips writing them again; a word another
 * process pruned since would then never come back. A process that sees the count moved
 * forgets what it remembered. A sequence, so the count moves at once, outside transactions.
 */
export class SearchTermsPrunes1764777600000 implements MigrationInterface {
  name = 'SearchTermsPrunes1764777600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE SEQUENCE search_terms_prunes`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP SEQUENCE search_terms_prunes`);
  }
}
