import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Slow mode (Discourse's): a topic where each member may post once every so many seconds,
 * until a time or until turned off. Live Q&As and heated threads use it. Zero is off.
 */
export class TopicSlowMode1764867600000 implements MigrationInterface {
  name = 'TopicSlowMode1764867600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE topics
        ADD COLUMN slow_mode_seconds int NOT NULL DEFAULT 0 CHECK (slow_mode_seconds BETWEEN 0 AND 86400),
        ADD COLUMN slow_mode_until timestamptz,
        ADD CONSTRAINT topics_slow_mode_until_needs_slow_mode CHECK (slow_mode_until IS NULL OR slow_mode_seconds > 0);
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE topics DROP CONSTRAINT topics_slow_mode_until_needs_slow_mode, DROP COLUMN slow_mode_until, DROP COLUMN slow_mode_seconds`);
  }
}
