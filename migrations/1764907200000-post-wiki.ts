import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Wiki posts (Discourse's): a post a moderator, or its author from trust level 3, made a wiki
 * (`setPostWiki`), which members from trust level 1 may edit as its author does. A constant
 * default, so adding the column rewrites nothing.
 */
export class PostWiki1764907200000 implements MigrationInterface {
  name = 'PostWiki1764907200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE posts ADD COLUMN wiki boolean NOT NULL DEFAULT false`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE posts DROP COLUMN wiki`);
  }
}
