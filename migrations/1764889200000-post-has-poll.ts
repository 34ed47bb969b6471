import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Whether a post carries a poll, on the post's row: kept by createPoll and deletePoll in their
 * transactions (under the post's lock), and moving with the post when movePosts moves it, so
 * Post.poll runs no statement for a page none of whose posts has one. Backfilled from `polls`.
 */
export class PostHasPoll1764889200000 implements MigrationInterface {
  name = 'PostHasPoll1764889200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE posts ADD COLUMN has_poll boolean NOT NULL DEFAULT false;
      UPDATE posts SET has_poll = true WHERE id IN (SELECT post_id FROM polls);
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE posts DROP COLUMN has_poll`);
  }
}
