import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Site-wide pins (Discourse's "pin globally"): a topic site-wide moderators put above every
 * feed as an announcement, until a time or until unpinned, and that each member may dismiss
 * for themself ("unpin for me"); a dismissal older than the latest pin no longer counts, so
 * pinning it again shows it to everyone again.
 */
export class GlobalPins1764882000000 implements MigrationInterface {
  name = 'GlobalPins1764882000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE topics
        ADD COLUMN pinned_globally_at timestamptz,
        ADD COLUMN pinned_globally_until timestamptz,
        ADD CONSTRAINT topics_global_pin_until_needs_pin CHECK (pinned_globally_until IS NULL OR pinned_globally_at IS NOT NULL);
      CREATE INDEX topics_pinned_globally_idx ON topics (pinned_globally_at DESC) WHERE pinned_globally_at IS NOT NULL;
      CREATE TABLE topic_pin_dismissals (
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        topic_id uuid NOT NULL REFERENCES topics(id) ON DELETE CASCADE,
        dismissed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (user_id, topic_id)
      );
      CREATE INDEX topic_pin_dismissals_topic_idx ON topic_pin_dismissals (topic_id);
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DROP TABLE topic_pin_dismissals;
      DROP INDEX topics_pinned_globally_idx;
      ALTER TABLE topics DROP CONSTRAINT topics_global_pin_until_needs_pin, DROP COLUMN pinned_globally_until, DROP COLUMN pinned_globally_at;
    `);
  }
}
