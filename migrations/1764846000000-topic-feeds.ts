import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The site-wide topic feeds (Query.topics) read forum topics across spaces, newest first:
 * the board indexes lead with the board, so without these a feed sorted every readable
 * topic. LATEST walks the activity index down and stops at its page; narrowed to a few
 * spaces (one small space among large ones), it takes the per-space index instead; NEW walks
 * the creation index over its last 14 days. UNREAD starts from the member's topic_reads rows.
 * Only forum topics are feed topics: the predicate is FORUM_TOPICS_SQL's, word for word, so
 * the planner can prove the feeds' queries match it.
 */
export class TopicFeeds1764846000000 implements MigrationInterface {
  name = 'TopicFeeds1764846000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE INDEX topics_feed_activity_idx ON topics (last_activity_at DESC, id DESC) WHERE kind IN ('DISCUSSION', 'QUESTION');
      CREATE INDEX topics_feed_space_activity_idx ON topics (space_id, last_activity_at DESC, id DESC) WHERE kind IN ('DISCUSSION', 'QUESTION');
      CREATE INDEX topics_feed_newest_idx ON topics (created_at DESC, id DESC) WHERE kind IN ('DISCUSSION', 'QUESTION');
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DROP INDEX topics_feed_newest_idx;
      DROP INDEX topics_feed_space_activity_idx;
      DROP INDEX topics_feed_activity_idx;
    `);
  }
}
