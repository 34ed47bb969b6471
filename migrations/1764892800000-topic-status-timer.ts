import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A topic has one status timer (as in Discourse): CLOSE, OPEN and CLOSE_AFTER_LAST_POST share
 * one `slot` ('STATUS'), UNPIN and DELETE keep one each, and a topic has one timer per slot, so
 * setting any status timer replaces the one there (`ON CONFLICT (topic_id, slot)`). Where a
 * topic has more than one already, the one set last stays.
 */
export class TopicStatusTimer1764892800000 implements MigrationInterface {
  name = 'TopicStatusTimer1764892800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE topic_timers
        ADD COLUMN slot text NOT NULL GENERATED ALWAYS AS (CASE WHEN kind IN ('CLOSE', 'OPEN', 'CLOSE_AFTER_LAST_POST') THEN 'STATUS' ELSE kind END) STORED;
      DELETE FROM topic_timers tt
       WHERE EXISTS (SELECT 1 FROM topic_timers o WHERE o.topic_id = tt.topic_id AND o.slot = tt.slot AND (o.created_at, o.id) > (tt.created_at, tt.id));
      ALTER TABLE topic_timers DROP CONSTRAINT topic_timers_topic_id_kind_key, ADD CONSTRAINT topic_timers_topic_id_slot_key UNIQUE (topic_id, slot);
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE topic_timers DROP CONSTRAINT topic_timers_topic_id_slot_key, ADD CONSTRAINT topic_timers_topic_id_kind_key UNIQUE (topic_id, kind);
      ALTER TABLE topic_timers DROP COLUMN slot;
    `);
  }
}
