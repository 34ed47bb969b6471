import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * PUBLISH_TO_BOARD topic timers (Discourse's "publish to category"): a topic written where only
 * staff read it is moved to `board_id` when due and announced there as new. `board_id` is set
 * for that kind alone; a board that goes takes the timers aimed at it. The kind takes a slot of
 * its own (the generated `slot` column already answers the kind itself for every kind but the
 * three status ones), so a topic has at most one, beside its status timer.
 */
export class PublishTopicTimer1764928800000 implements MigrationInterface {
  name = 'PublishTopicTimer1764928800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE topic_timers
        DROP CONSTRAINT topic_timers_kind_check,
        ADD CONSTRAINT topic_timers_kind_check CHECK (kind IN ('CLOSE', 'OPEN', 'CLOSE_AFTER_LAST_POST', 'UNPIN', 'DELETE', 'PUBLISH_TO_BOARD')),
        ADD COLUMN board_id uuid REFERENCES boards(id) ON DELETE CASCADE,
        ADD CONSTRAINT topic_timers_board_for_publish CHECK ((kind = 'PUBLISH_TO_BOARD') = (board_id IS NOT NULL));
      CREATE INDEX topic_timers_board_idx ON topic_timers (board_id) WHERE board_id IS NOT NULL;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DELETE FROM topic_timers WHERE kind = 'PUBLISH_TO_BOARD';
      DROP INDEX topic_timers_board_idx;
      ALTER TABLE topic_timers
        DROP CONSTRAINT topic_timers_board_for_publish,
        DROP COLUMN board_id,
        DROP CONSTRAINT topic_timers_kind_check,
        ADD CONSTRAINT topic_timers_kind_check CHECK (kind IN ('CLOSE', 'OPEN', 'CLOSE_AFTER_LAST_POST', 'UNPIN', 'DELETE'));
    `);
  }
}
