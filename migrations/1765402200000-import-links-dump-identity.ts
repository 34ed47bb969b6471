import { MigrationInterface, QueryRunner } from 'typeorm';
import { buildIndex, dropIndex } from './1765083600000-search-terms-typo-keys';
import { alterGivingWay } from './support/lock-wait';

/**
 * Who an imported user is on their site, whatever name the dump was imported under: a hash of the
 * Users.xml row's `Id`, `AccountId` (the person's Stack Exchange network account) and
 * `CreationDate` (`dumpIdentity` in the importer), kept on the user's link. A dump of the same site
 * imported again under another source name finds by it the people anonymised under an earlier
 * source (their links marked `erased`) and links them to that anonymised account rather than make
 * them again with the profile the dump tells. Indexed for that lookup only: erased users' links.
 *
 * Links from before have none; a run of their own source gives them theirs (an erased one's too).
 * Outside a transaction (`transaction = false`): the column added through `alterGivingWay` (a
 * catalog change, no rewrite, its ACCESS EXCLUSIVE lock waited for half a second at a time, so an
 * import's batch under way holds up no anonymisation's write of the mark queued behind the wait),
 * the index built CONCURRENTLY, so imports run meanwhile; an index a failed build left invalid is
 * built again (`buildIndex`). Down drops the index and the column, the same way.
 */
export class ImportLinksDumpIdentity1765402200000 implements MigrationInterface {
  name = 'ImportLinksDumpIdentity1765402200000';

  /** Outside the runner's transaction: CREATE/DROP INDEX CONCURRENTLY cannot run in one, and the ALTER's lock is held for it alone. */
  readonly transaction = false;

  async up(q: QueryRunner): Promise<void> {
    await alterGivingWay(q, `ALTER TABLE import_links ADD COLUMN IF NOT EXISTS dump_identity text`);
    await buildIndex(q, 'import_links_erased_identity_idx', `import_links (dump_identity) WHERE kind = 'user' AND digest = 'erased' AND dump_identity IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await dropIndex(q, 'import_links_erased_identity_idx');
    await alterGivingWay(q, `ALTER TABLE import_links DROP COLUMN IF EXISTS dump_identity`);
  }
}
