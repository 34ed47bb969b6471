import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Drafts a member keeps on the server while they write (`saveDraft`): one per member and
 * target, a new topic in a board (board_id) or a reply in a topic (topic_id), exactly one of
 * the two. The text is stored as written (markdown), never rendered. A draft posted or
 * deleted leaves its row behind with no body: its sequence keeps counting, so a tab still
 * holding an older sequence cannot bring it back or overwrite the next draft at that target.
 * The member's list reads live drafts newest first (the partial index, by keyset); the
 * pruning job walks updated_at; the target indexes serve the cascades when a board, topic
 * or post row goes. The CHECKs hold what the input checks (titles and tags on new topics
 * only, the lengths of posts and topics).
 */
export class Drafts1764853200000 implements MigrationInterface {
  name = 'Drafts1764853200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE drafts (
        id uuid PRIMARY KEY,
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        board_id uuid REFERENCES boards(id) ON DELETE CASCADE,
        topic_id uuid REFERENCES topics(id) ON DELETE CASCADE,
        reply_to_post_id uuid REFERENCES posts(id) ON DELETE SET NULL,
        title text CHECK (char_length(title) <= 200),
        body text CHECK (char_length(body) <= 100000),
        tags text[] NOT NULL DEFAULT '{}' CHECK (cardinality(tags) <= 5),
        sequence integer NOT NULL CHECK (sequence >= 0),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CHECK (num_nonnulls(board_id, topic_id) = 1),
        CHECK (board_id IS NOT NULL OR (title IS NULL AND cardinality(tags) = 0)),
        CHECK (topic_id IS NOT NULL OR reply_to_post_id IS NULL),
        CHECK (body IS NOT NULL OR (title IS NULL AND cardinality(tags) = 0 AND reply_to_post_id IS NULL))
      );
      CREATE UNIQUE INDEX drafts_user_board_key ON drafts (user_id, board_id) WHERE board_id IS NOT NULL;
      CREATE UNIQUE INDEX drafts_user_topic_key ON drafts (user_id, topic_id) WHERE topic_id IS NOT NULL;
      CREATE INDEX drafts_newest_idx ON drafts (user_id, updated_at DESC, id DESC) WHERE body IS NOT NULL;
      CREATE INDEX drafts_updated_idx ON drafts (updated_at);
      CREATE INDEX drafts_board_idx ON drafts (board_id) WHERE board_id IS NOT NULL;
      CREATE INDEX drafts_topic_idx ON drafts (topic_id) WHERE topic_id IS NOT NULL;
      CREATE INDEX drafts_reply_to_idx ON drafts (reply_to_post_id) WHERE reply_to_post_id IS NOT NULL;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE drafts`);
  }
}
