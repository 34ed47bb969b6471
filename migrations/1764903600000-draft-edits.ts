import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Drafts gain two things Discourse keeps too. A draft of an edit (post_id): the new text of a
 * post its member may edit, with when the post was last edited (or written) as the draft
 * began (base_edited_at), so the client can tell it was edited meanwhile; a first post's
 * edit keeps a title and tags as a new topic's draft does. A new topic's draft keeps the kind chosen (kind: a question or
 * a discussion, say). A draft is now for exactly one of a board, a topic or a post; what a
 * posted or deleted draft leaves behind holds none of the text, kind or base.
 */
export class DraftEdits1764903600000 implements MigrationInterface {
  name = 'DraftEdits1764903600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE drafts
        ADD COLUMN post_id uuid REFERENCES posts(id) ON DELETE CASCADE,
        ADD COLUMN base_edited_at timestamptz,
        ADD COLUMN kind text CHECK (kind IN ('DISCUSSION', 'QUESTION', 'IDEA', 'ARTICLE')),
        DROP CONSTRAINT drafts_check,
        DROP CONSTRAINT drafts_check1,
        DROP CONSTRAINT drafts_check3,
        ADD CONSTRAINT drafts_one_target CHECK (num_nonnulls(board_id, topic_id, post_id) = 1),
        ADD CONSTRAINT drafts_headings CHECK (board_id IS NOT NULL OR post_id IS NOT NULL OR (title IS NULL AND cardinality(tags) = 0)),
        ADD CONSTRAINT drafts_kind CHECK (board_id IS NOT NULL OR kind IS NULL),
        ADD CONSTRAINT drafts_edit_base CHECK ((post_id IS NOT NULL AND body IS NOT NULL) = (base_edited_at IS NOT NULL)),
        ADD CONSTRAINT drafts_ended CHECK (body IS NOT NULL OR (title IS NULL AND cardinality(tags) = 0 AND reply_to_post_id IS NULL AND kind IS NULL));
      CREATE UNIQUE INDEX drafts_user_post_key ON drafts (user_id, post_id) WHERE post_id IS NOT NULL;
      CREATE INDEX drafts_post_idx ON drafts (post_id) WHERE post_id IS NOT NULL;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DELETE FROM drafts WHERE post_id IS NOT NULL;
      ALTER TABLE drafts
        DROP CONSTRAINT drafts_one_target,
        DROP CONSTRAINT drafts_headings,
        DROP CONSTRAINT drafts_kind,
        DROP CONSTRAINT drafts_edit_base,
        DROP CONSTRAINT drafts_ended,
        DROP COLUMN post_id,
        DROP COLUMN base_edited_at,
        DROP COLUMN kind,
        ADD CONSTRAINT drafts_check CHECK (num_nonnulls(board_id, topic_id) = 1),
        ADD CONSTRAINT drafts_check1 CHECK (board_id IS NOT NULL OR (title IS NULL AND cardinality(tags) = 0)),
        ADD CONSTRAINT drafts_check3 CHECK (body IS NOT NULL OR (title IS NULL AND cardinality(tags) = 0 AND reply_to_post_id IS NULL));
    `);
  }
}
