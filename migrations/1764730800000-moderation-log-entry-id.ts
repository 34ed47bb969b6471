import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Moderation log entries get a UUID, which the API shows as their id (API.md: ids are
 * UUIDs). The bigserial `id` stays the chain's order and the pagination key. Existing
 * entries get random UUIDs (adding the column rewrites the table without firing the
 * append-only trigger); new ones get time-ordered UUIDv7s from the application. The
 * hash does not cover the new column, so the chain of existing entries still verifies.
 */
export class ModerationLogEntryId1764730800000 implements MigrationInterface {
  name = 'ModerationLogEntryId1764730800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE moderation_log ADD COLUMN entry_id uuid NOT NULL DEFAULT gen_random_uuid()`);
    await q.query(`CREATE UNIQUE INDEX moderation_log_entry_id_idx ON moderation_log (entry_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE moderation_log DROP COLUMN entry_id`);
  }
}
