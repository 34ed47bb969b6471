import { MigrationInterface, QueryRunner } from 'typeorm';
import { alterGivingWay } from './support/lock-wait';

/**
 * `posts.search_offset`: what moves of a post added to its search document's version, which is
 * the post's version plus its topic's plus this (`SearchDocuments`). The index keeps the higher
 * of two versions of a document, so a moved post's must grow; the topic it went to may have a
 * lower version than the one it left. movePosts raised the destination's version past the
 * source's for that, and the source's too, for every move: readers saw both topics change (a
 * `topic:updated`, `Topic.version`) when only held, hidden or deleted posts moved, which change
 * none of the topics' fields (version, counts, activity): readers are shown hidden and deleted
 * replies as placeholders (`listedViewSql`), which do move, but no held reply (nor one deleted
 * while held). The move now adds the gap to the moved posts' offsets instead, which readers never
 * read, and raises a topic's version only when a visible post moves (`PostMovesService`).
 *
 * Not the post's `version` itself: drawn from the sequence every version shares, raised by the
 * gap it would pass the sequence, and each later change of the post would take its version + 1
 * (`next_version`), counting them to its readers, as the sequence exists not to (migration
 * 1765328400000); and `integer` may not hold it. A `bigint` (versions' sums are bigint already).
 *
 * Every post starts at 0: documents keep the versions they were written with. A column with a
 * constant default rewrites nothing, but the ALTER takes the table's ACCESS EXCLUSIVE lock, so
 * it runs on its own (`transaction = false`) and gives way while the table is busy
 * (`alterGivingWay`). Re-runnable (IF NOT EXISTS).
 *
 * Undone, documents of posts moved meanwhile would carry versions above those the release before
 * builds for them, which would be skipped until the post and its topic grew past them: `down`
 * takes each such post's offset off its PostgreSQL document and drops the column in one
 * transaction (one DO statement, given way as a whole by `alterGivingWay`), the posts' ACCESS
 * EXCLUSIVE lock taken first: run as two, a node of this release reindexing a post between them
 * wrote its offset back into the document, which then stayed above what the release before
 * builds. A reindex that read the post before the lock and writes its document after the commit
 * (`SearchIndexer.index` reads, then writes, in two statements) still can: stop this release's
 * nodes (workers too) before undoing it. An external engine's
 * documents of them keep theirs, and take the release before's updates of those posts only once
 * the post's and its topic's versions pass them: not undone here (the engine may be away).
 */
export class MovedPostsSearchOffset1765420200000 implements MigrationInterface {
  name = 'MovedPostsSearchOffset1765420200000';

  /** Outside the runner's transaction: the posts' lock held for the ALTER alone (see above). */
  readonly transaction = false;

  async up(q: QueryRunner): Promise<void> {
    await alterGivingWay(q, `ALTER TABLE posts ADD COLUMN IF NOT EXISTS search_offset bigint NOT NULL DEFAULT 0`);
  }

  async down(q: QueryRunner): Promise<void> {
    // One statement, so one transaction, giving way as a whole (see above).
    await alterGivingWay(
      q,
      `DO $$ BEGIN
         IF EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'posts' AND column_name = 'search_offset') THEN
           LOCK TABLE posts IN ACCESS EXCLUSIVE MODE;
           UPDATE search_documents d SET version = d.version - p.search_offset FROM posts p WHERE p.id = d.id AND p.search_offset > 0;
           ALTER TABLE posts DROP COLUMN search_offset;
         END IF;
       END $$`,
    );
  }
}
