import { MigrationInterface, QueryRunner } from 'typeorm';
import { buildIndex, dropIndex } from './1765083600000-search-terms-typo-keys';

/** The languages documents are stemmed in (search_documents.language's CHECK). */
export const SEARCH_LANGUAGES = ['en', 'fr', 'simple'] as const;

/**
 * A GIN index of `search_documents.tsv` per language (`WHERE language = 'en'`, 'fr', 'simple'), so
 * that a query's candidates are found with each document's own language's query alone, through
 * the index (docs/architecture.md, Search). Each language's query differs where a word is a stop
 * word in one language alone ("avec coffee" is "coffee" in French) or stems otherwise: read
 * through the one index of every language, the French query found every English post holding
 * coffee, which the search then had to fetch and drop one by one (on a 150,000-post scratch
 * table, 90% English: 0.3-1.1 s for the GIN read, against 1.4-5.5 ms through these indexes).
 * A document is in one of them, so they take about the room and the writes of the one index.
 *
 * The index of every language (`search_documents_tsv_idx`) stays for the nodes of the release
 * before, which match `tsv @@ (en || fr || simple)` through it while nodes are upgraded one after
 * another (without it, each of their searches would read the whole table); the next migration,
 * search-documents-tsv-idx-tidy, drops it (no release was made between the two).
 *
 * Outside a transaction (`transaction = false`): each index is built CONCURRENTLY, so searches and
 * indexing go on meanwhile. Run again after a failure midway, an index a failed build left invalid
 * is built again and one that is done is left (`buildIndex`).
 */
export class SearchDocumentsTsvPerLanguage1765213200000 implements MigrationInterface {
  name = 'SearchDocumentsTsvPerLanguage1765213200000';

  /** Outside the runner's transaction: CREATE/DROP INDEX CONCURRENTLY cannot run in one. */
  readonly transaction = false;

  async up(q: QueryRunner): Promise<void> {
    for (const l of SEARCH_LANGUAGES) await buildIndex(q, `search_documents_tsv_${l}_idx`, `search_documents USING gin (tsv) WHERE language = '${l}'`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const l of SEARCH_LANGUAGES) await dropIndex(q, `search_documents_tsv_${l}_idx`);
  }
}
