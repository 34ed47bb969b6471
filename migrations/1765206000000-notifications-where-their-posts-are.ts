import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Notices about a post (`post_id`), and removal notices of one (`removed_post_id`, POST_REMOVED),
 * are stored where the post is: its topic (`topic_id`) and, when their data has one, its `number`.
 * `movePosts` rewrote the first when it moved their post, but not a removal notice, and not a row a
 * delivery that read the post before the move wrote after it; `NotificationsHandler.deliver` and
 * `movePosts` keep both right now. Rows left so pointed at where the post was: reads corrected a
 * notice about a post (`asSeenSql`), but a removal notice of a reply removed, then moved, named its
 * old topic, and showed the post nowhere once it was restored. Each such row is put where its
 * post is now. A topic's removal (its first post, which never moves) is where it was already.
 *
 * Not logged, as movePosts' rewrite of them is not. Down restores nothing: where the post was
 * is what the code before read them as not being, or did not show at all.
 */
export class NotificationsWhereTheirPostsAre1765206000000 implements MigrationInterface {
  name = 'NotificationsWhereTheirPostsAre1765206000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      UPDATE notifications n SET topic_id = p.topic_id,
             data = CASE WHEN n.data ? 'number' THEN jsonb_set(n.data, '{number}', to_jsonb(p.number)) ELSE n.data END
        FROM posts p
       WHERE (p.id = n.post_id OR (n.post_id IS NULL AND n.kind = 'POST_REMOVED' AND p.id = n.removed_post_id))
         AND (n.topic_id IS DISTINCT FROM p.topic_id OR (n.data ? 'number' AND n.data->'number' IS DISTINCT FROM to_jsonb(p.number)))
    `);
  }

  async down(): Promise<void> {
    // Nothing to restore (see above).
  }
}
