import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * An idea's version, raised by every change of its row (votes recounted, status, merge, unmerge)
 * in the change's own statement, under its row lock, so versions follow the order the changes
 * commit in. A live push (`idea:updated`) carries the version it read with the idea, and a
 * client drops one older than what it shows: two pushes of back-to-back votes can arrive in
 * either order. Adding a column with a constant default rewrites nothing.
 */
export class IdeaVersion1765299600000 implements MigrationInterface {
  name = 'IdeaVersion1765299600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE ideas ADD COLUMN version integer NOT NULL DEFAULT 1`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE ideas DROP COLUMN version`);
  }
}
