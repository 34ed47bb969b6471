import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Idea boards. An idea is a topic of an IDEAS board with a status, votes (one per user
 * and idea), an official response and a status history. A merged idea keeps its votes:
 * its target counts the distinct voters of itself and of everything merged into it, so a
 * merge never counts anyone twice and an unmerge restores both counts exactly.
 */
export class Ideas1763938800000 implements MigrationInterface {
  name = 'Ideas1763938800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      -- Per-board settings (idea boards: vote budget, status labels).
      ALTER TABLE boards ADD COLUMN settings jsonb NOT NULL DEFAULT '{}';

      CREATE TABLE ideas (
        topic_id uuid PRIMARY KEY REFERENCES topics(id) ON DELETE CASCADE,
        status text NOT NULL DEFAULT 'NEW'
          CHECK (status IN ('NEW', 'UNDER_REVIEW', 'PLANNED', 'IN_PROGRESS', 'COMPLETED', 'DECLINED', 'MERGED')),
        vote_count integer NOT NULL DEFAULT 0,
        merged_into uuid REFERENCES ideas(topic_id) ON DELETE SET NULL,
        -- The status before a merge, restored by an unmerge.
        status_before_merge text,
        response_html text,
        response_source text,
        response_author_id uuid REFERENCES users(id),
        response_at timestamptz,
        status_changed_at timestamptz NOT NULL DEFAULT now(),
        CHECK ((status = 'MERGED') = (merged_into IS NOT NULL)),
        CHECK (merged_into IS DISTINCT FROM topic_id)
      );
      CREATE INDEX ideas_merged_into_idx ON ideas (merged_into) WHERE merged_into IS NOT NULL;
      CREATE INDEX ideas_status_idx ON ideas (status, status_changed_at DESC);

      CREATE TABLE idea_votes (
        topic_id uuid NOT NULL REFERENCES ideas(topic_id) ON DELETE CASCADE,
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (topic_id, user_id)
      );
      CREATE INDEX idea_votes_user_idx ON idea_votes (user_id);
      CREATE INDEX idea_votes_recent_idx ON idea_votes (topic_id, created_at DESC);

      CREATE TABLE idea_status_changes (
        id uuid PRIMARY KEY,
        topic_id uuid NOT NULL REFERENCES ideas(topic_id) ON DELETE CASCADE,
        from_status text NOT NULL,
        to_status text NOT NULL,
        response_html text,
        actor_id uuid REFERENCES users(id),
        at timestamptz NOT NULL DEFAULT clock_timestamp()
      );
      CREATE INDEX idea_status_changes_topic_idx ON idea_status_changes (topic_id, at);
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DROP TABLE idea_status_changes;
      DROP TABLE idea_votes;
      DROP TABLE ideas;
      ALTER TABLE boards DROP COLUMN settings;
    `);
  }
}
