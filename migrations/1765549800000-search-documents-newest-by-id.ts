import { MigrationInterface, QueryRunner } from 'typeorm';
import { buildIndex, dropIndex } from './1765083600000-search-terms-typo-keys';

/**
 * The search engine's date index, `search_documents (created_at DESC)` (migration search), is
 * replaced by `search_documents_newest_id_idx` on `(created_at DESC, id DESC)`. The date walks
 * (PostgresSearchEngine.candidates) take the newest matches by date, then id, so that the GIN path
 * and the date index take the same 1,000 past the cap; over the index on the date alone,
 * PostgreSQL sorted each instant's rows by id as it walked (an Incremental Sort above the index
 * scan). On both columns the index hands them over in that order. No partial clause: the old
 * index had none, and the walks read every state (a moderator's own query finds hidden posts).
 *
 * Outside a transaction (`transaction = false`): the new index is built CONCURRENTLY before the
 * old one is dropped CONCURRENTLY, so searches and indexing go on meanwhile, and a walk always
 * has one of them; a run that failed midway runs again from where it stopped (`buildIndex`).
 * `down` does the same the other way round.
 */
export class SearchDocumentsNewestById1765549800000 implements MigrationInterface {
  name = 'SearchDocumentsNewestById1765549800000';

  /** Outside the runner's transaction: CREATE/DROP INDEX CONCURRENTLY cannot run in one. */
  readonly transaction = false;

  async up(q: QueryRunner): Promise<void> {
    await buildIndex(q, 'search_documents_newest_id_idx', 'search_documents (created_at DESC, id DESC)');
    await dropIndex(q, 'search_documents_newest_idx');
  }

  async down(q: QueryRunner): Promise<void> {
    await buildIndex(q, 'search_documents_newest_idx', 'search_documents (created_at DESC)');
    await dropIndex(q, 'search_documents_newest_id_idx');
  }
}
