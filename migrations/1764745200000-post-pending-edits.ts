import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * An author's edit of a visible post that pre-moderation (or an automod HOLD rule) holds no
 * longer takes the post out of view: the post keeps its approved text for everybody, and the
 * edit waits here, one per post (a newer edit replaces it), until a moderator approves it
 * (it becomes a revision) or rejects it (it is dropped). `base_revision` is the post's latest
 * revision number when the edit was proposed, so approval can tell that someone else edited
 * the post meanwhile. Undoing it drops the edits still waiting (the old schema has nowhere to
 * keep them): decide them in the review queue first.
 */
export class PostPendingEdits1764745200000 implements MigrationInterface {
  name = 'PostPendingEdits1764745200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE post_pending_edits (
        post_id uuid PRIMARY KEY REFERENCES posts(id) ON DELETE CASCADE,
        editor_id uuid NOT NULL REFERENCES users(id),
        base_revision integer NOT NULL,
        body_source text NOT NULL,
        body_html text NOT NULL,
        title text,
        tags text[],
        reason text,
        note text,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE post_pending_edits`);
  }
}
