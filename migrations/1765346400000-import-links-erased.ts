import { MigrationInterface, QueryRunner } from 'typeorm';
import { buildIndex, dropIndex } from './1765083600000-search-terms-typo-keys';

/**
 * An anonymised account keeps no digest of its old profile in a dump: the anonymisation writes a
 * mark (`erased`, ERASED_IMPORT_DIGEST) in place of the digest of its import link, found by the
 * account (`local_id`). This indexes the links of users by account, so that write reads one
 * entry rather than every link of every dump; and marks the links of the accounts anonymised
 * before it, whose digests (hashes of the person's name, about, place and site as the dump told
 * them) stayed.
 *
 * Outside a transaction (`transaction = false`): the index is built CONCURRENTLY, so imports
 * run meanwhile; run again after a failure midway, an index a failed build left invalid is built
 * again (`buildIndex`), and the marking, one statement, finds what is left to mark. Down drops the
 * index; the digests are gone for good.
 */
export class ImportLinksErased1765346400000 implements MigrationInterface {
  name = 'ImportLinksErased1765346400000';

  /** Outside the runner's transaction: CREATE/DROP INDEX CONCURRENTLY cannot run in one. */
  readonly transaction = false;

  async up(q: QueryRunner): Promise<void> {
    await buildIndex(q, 'import_links_user_local_idx', `import_links (local_id) WHERE kind = 'user'`);
    await q.query(
      `UPDATE import_links l SET digest = 'erased' FROM users u
        WHERE l.kind = 'user' AND u.id = l.local_id AND u.deleted_at IS NOT NULL AND l.digest IS DISTINCT FROM 'erased'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await dropIndex(q, 'import_links_user_local_idx');
  }
}
