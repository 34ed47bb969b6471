import { MigrationInterface, QueryRunner } from 'typeorm';
import { buildIndex, dropIndex } from './1765083600000-search-terms-typo-keys';

/**
 * The GIN index of every language, `search_documents_tsv_idx`, goes. Since the migration
 * search-documents-tsv-per-language, the engine finds candidates through one partial index per
 * language (each with its own language's query), and no statement of this release matches `tsv`
 * without its document's language; that migration kept the index only for the nodes of the
 * release before (`tsv @@ (en || fr || simple)`), and no release was made between the two. Kept,
 * it doubled the GIN writes of every indexed document: `npm run bench:search` (1,000,000 posts,
 * 2 parallel indexers, embedded PostgreSQL 18) indexed 1,890 documents/s with it and 2,133
 * without it, one run each on the same seed (docs/architecture.md, Search).
 *
 * Upgrading from a release before that migration, nodes still on the old release search without
 * an index (a scan of the table) until they are replaced: searches are slow meanwhile, never
 * wrong.
 *
 * Outside a transaction (`transaction = false`): dropped CONCURRENTLY, so searches and indexing
 * go on meanwhile; `down` builds it again the same way (`buildIndex`, re-runnable after a
 * failure midway).
 */
export class SearchDocumentsTsvIdxTidy1765238400000 implements MigrationInterface {
  name = 'SearchDocumentsTsvIdxTidy1765238400000';

  /** Outside the runner's transaction: DROP/CREATE INDEX CONCURRENTLY cannot run in one. */
  readonly transaction = false;

  async up(q: QueryRunner): Promise<void> {
    await dropIndex(q, 'search_documents_tsv_idx');
  }

  async down(q: QueryRunner): Promise<void> {
    await buildIndex(q, 'search_documents_tsv_idx', 'search_documents USING gin (tsv)');
  }
}
