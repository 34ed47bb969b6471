import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The last version a post's held edits took, kept once the edit is decided or withdrawn (its
 * `post_pending_edits` row deleted): the author's next held edit takes the version after it,
 * never 1 again, so a moderator who read a decided edit's version (moderatePost's
 * pendingEditVersion) cannot decide a later edit by it. Filled from the edits waiting now.
 */
export class PendingEditVersionsKept1765281600000 implements MigrationInterface {
  name = 'PendingEditVersionsKept1765281600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE post_pending_edit_versions (
        post_id uuid PRIMARY KEY REFERENCES posts(id) ON DELETE CASCADE,
        last integer NOT NULL
      )`);
    await q.query(`INSERT INTO post_pending_edit_versions (post_id, last) SELECT post_id, version FROM post_pending_edits`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE post_pending_edit_versions`);
  }
}
