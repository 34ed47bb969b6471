import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A held edit's version, raised each time its author replaces it while it waits: a moderator
 * approving with moderatePost names the version they read, so a text swapped in meanwhile is
 * never published unread. Adding a column with a constant default rewrites nothing.
 */
export class PendingEditVersion1764752400000 implements MigrationInterface {
  name = 'PendingEditVersion1764752400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE post_pending_edits ADD COLUMN version integer NOT NULL DEFAULT 1`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE post_pending_edits DROP COLUMN version`);
  }
}
