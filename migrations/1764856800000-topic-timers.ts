import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Topic timers (`setTopicTimer`): one per topic and kind, setting again replaces it. `due_at`
 * is when the worker's `fire-topic-timers` job acts, read down its index; for
 * CLOSE_AFTER_LAST_POST it is a lower bound the job moves to the topic's last activity plus
 * `after_hours` when a reply came since (so replies write nothing here). `set_by` is the
 * moderator the action is done as when it fires. A topic row that goes takes its timers.
 */
export class TopicTimers1764856800000 implements MigrationInterface {
  name = 'TopicTimers1764856800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE topic_timers (
        id uuid PRIMARY KEY,
        topic_id uuid NOT NULL REFERENCES topics(id) ON DELETE CASCADE,
        kind text NOT NULL CHECK (kind IN ('CLOSE', 'OPEN', 'CLOSE_AFTER_LAST_POST', 'UNPIN', 'DELETE')),
        due_at timestamptz NOT NULL,
        after_hours int CHECK (after_hours BETWEEN 1 AND 8760),
        set_by uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (topic_id, kind),
        CHECK ((kind = 'CLOSE_AFTER_LAST_POST') = (after_hours IS NOT NULL))
      );
      CREATE INDEX topic_timers_due_idx ON topic_timers (due_at);
      CREATE INDEX topic_timers_set_by_idx ON topic_timers (set_by);
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE topic_timers`);
  }
}
