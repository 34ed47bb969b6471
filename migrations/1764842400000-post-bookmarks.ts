import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Posts members keep to come back to (`bookmarkPost`; a topic's first post stands for the
 * topic), each with an optional private note. One row per member and post, so bookmarking
 * again updates it. Listed by the member newest first (the second index, which pages by
 * keyset); the post's index serves the cascade when a post row goes. A bookmark of a post its
 * member can no longer read stays, unlisted, and comes back with access.
 */
export class PostBookmarks1764842400000 implements MigrationInterface {
  name = 'PostBookmarks1764842400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE post_bookmarks (
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        post_id uuid NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
        note text CHECK (char_length(note) <= 500),
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (user_id, post_id)
      );
      CREATE INDEX post_bookmarks_newest_idx ON post_bookmarks (user_id, created_at DESC, post_id DESC);
      CREATE INDEX post_bookmarks_post_idx ON post_bookmarks (post_id);
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE post_bookmarks`);
  }
}
