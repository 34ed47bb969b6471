import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Watching tags, and "watching first post" (new topics only, not their replies) for boards
 * and tags. A tag watch is the member's for the tag wherever it is used; notifications still
 * reach only those who may read the topic. Looked up by topic tag (the second index) when a
 * post is delivered, and by member (the key) for their own list.
 */
export class TagWatches1764788400000 implements MigrationInterface {
  name = 'TagWatches1764788400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE tag_watches (
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        tag text NOT NULL CHECK (tag ~ '^[a-z0-9][a-z0-9-]{0,29}$'),
        level text NOT NULL CHECK (level IN ('WATCHING', 'WATCHING_FIRST_POST', 'TRACKING', 'MUTED')),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (user_id, tag)
      );
      CREATE INDEX tag_watches_tag_idx ON tag_watches (tag, level);
      ALTER TABLE board_watches DROP CONSTRAINT board_watches_level_check;
      ALTER TABLE board_watches ADD CONSTRAINT board_watches_level_check
        CHECK (level IN ('WATCHING', 'WATCHING_FIRST_POST', 'TRACKING', 'NORMAL', 'MUTED'));
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    // The older schema has no "first post" level: those boards go back to the default.
    await q.query(`
      DROP TABLE tag_watches;
      DELETE FROM board_watches WHERE level = 'WATCHING_FIRST_POST';
      ALTER TABLE board_watches DROP CONSTRAINT board_watches_level_check;
      ALTER TABLE board_watches ADD CONSTRAINT board_watches_level_check CHECK (level IN ('WATCHING', 'TRACKING', 'NORMAL', 'MUTED'));
    `);
  }
}
