import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A first post's revisions keep its topic's title and tags as they were with that version, so
 * a retitled topic keeps its history as its text does. Nullable columns with no default: rows
 * already there (and replies' revisions) stay as they are, and nothing is rewritten.
 */
export class PostRevisionHeadings1764759600000 implements MigrationInterface {
  name = 'PostRevisionHeadings1764759600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE post_revisions ADD COLUMN title text, ADD COLUMN tags text[]`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE post_revisions DROP COLUMN title, DROP COLUMN tags`);
  }
}
