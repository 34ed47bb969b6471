import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What a deleted post was before its deletion, so restoring it goes back there: a post a
 * moderator hid and its author then deleted comes back hidden, not visible. Rows deleted
 * before this column existed keep NULL and restore as visible, as they did.
 */
export class PostDeletedFrom1764633600000 implements MigrationInterface {
  name = 'PostDeletedFrom1764633600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE posts ADD COLUMN deleted_from text CHECK (deleted_from IN ('VISIBLE', 'PENDING', 'HIDDEN'))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE posts DROP COLUMN deleted_from`);
  }
}
