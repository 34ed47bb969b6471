import { MigrationInterface, QueryRunner } from 'typeorm';
import { alterGivingWay } from './support/lock-wait';

/**
 * `posts.removed_version`: the version a hidden or deleted post's removal left it with, which
 * `Post.version` answers for its placeholder (README, *Order*). Until it, a placeholder answered
 * null: its post's `version` grows with edits of the hidden post, which its readers may not learn
 * of. With none, a reader shown a placeholder by a page load could not drop a push read before
 * the removal on another API process and heard after it (the hidden post shown again). Written in
 * the statement that removes the post (`PostsService.applyState`: hidden, deleted, restored back
 * to hidden; `movePosts` for a hidden or deleted post moved), to the version that statement
 * draws, the one its `post:removed` (or a move's placeholder push) carries; null for a post
 * nobody is shown as a placeholder (visible, held). An edit of the hidden post leaves it.
 *
 * Existing hidden and deleted posts get one value for them all, drawn once from `content_versions`
 * (the sequence every version comes from, migration 1765328400000), or their own version where
 * that is higher (one counted before the sequence passed it). Not each post's current version: a
 * reader who heard the removal's `post:removed` would see it above that one's whenever the hidden
 * post was edited since, and learn of the edit. The value drawn is above every version handed out
 * before it, so above every push of these posts already sent (a client keeps the page's answer
 * over them), and below every version drawn after it, so a restore's, or a move's, passes it;
 * what it says is only that the site wrote something since, which versions from one sequence
 * always say. One statement for the value and the rows.
 *
 * A nullable column without a default rewrites nothing, but the ALTER takes the table's ACCESS
 * EXCLUSIVE lock: it runs on its own (`transaction = false`) and gives way while the table is busy
 * (`alterGivingWay`); the backfill holds only the hidden and deleted rows. Re-runnable (IF NOT
 * EXISTS; only rows still without a value are filled). During a rolling upgrade, a node of the
 * release before removes and restores posts without writing the column: a post it hides
 * answers null (as before), one it hides again after a restore the value of its earlier removal,
 * until this release removes or restores it.
 *
 * Undone, placeholders answer null again.
 */
export class PostRemovedVersion1765538800000 implements MigrationInterface {
  name = 'PostRemovedVersion1765538800000';

  /** Outside the runner's transaction: the posts' lock held for the ALTER alone (see above). */
  readonly transaction = false;

  async up(q: QueryRunner): Promise<void> {
    await alterGivingWay(q, `ALTER TABLE posts ADD COLUMN IF NOT EXISTS removed_version integer`);
    // Drawn once: a MATERIALIZED CTE runs once however often the join reads it.
    await q.query(`
      WITH drawn AS MATERIALIZED (SELECT nextval('content_versions')::integer AS version)
      UPDATE posts p SET removed_version = GREATEST(p.version, drawn.version)
        FROM drawn
       WHERE p.state IN ('HIDDEN', 'DELETED') AND p.removed_version IS NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await alterGivingWay(q, `ALTER TABLE posts DROP COLUMN IF EXISTS removed_version`);
  }
}
