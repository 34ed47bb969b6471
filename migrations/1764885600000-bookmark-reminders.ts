import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Bookmark reminders (Discourse's "remind me in an hour, tomorrow, at a date"): a bookmark may
 * hold a time at which its member is notified (`BOOKMARK_REMINDER`). The worker's
 * `fire-bookmark-reminders` job reads due ones down the partial index, which holds only the
 * bookmarks with a reminder (a handful of all of them), and clears each as it fires it.
 */
export class BookmarkReminders1764885600000 implements MigrationInterface {
  name = 'BookmarkReminders1764885600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE post_bookmarks ADD COLUMN remind_at timestamptz;
      CREATE INDEX post_bookmarks_remind_idx ON post_bookmarks (remind_at) WHERE remind_at IS NOT NULL;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DROP INDEX post_bookmarks_remind_idx;
      ALTER TABLE post_bookmarks DROP COLUMN remind_at;
    `);
  }
}
