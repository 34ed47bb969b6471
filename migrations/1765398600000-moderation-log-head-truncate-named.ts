import { MigrationInterface, QueryRunner } from 'typeorm';
import { SEALED_APPEND_ONLY } from './1765335600000-moderation-log-sealed';

/**
 * A TRUNCATE of the log's head (`moderation_log_head`) was refused with 'moderation_log is
 * append-only': its BEFORE TRUNCATE trigger (`moderation_log_head_no_truncate`, 1765335600000) runs
 * the log's own function, `moderation_log_append_only`, whose message named the log whatever table
 * it fired on. The function now names the table it fires on: the head is refused as its row
 * trigger refuses a step back (`moderation_log_head only moves forward`: it is updated, not
 * append-only), any other as `<table> is append-only` — the log's refusals (UPDATE, DELETE,
 * TRUNCATE, a TRUNCATE … CASCADE reaching it) word as before.
 *
 * CREATE OR REPLACE FUNCTION takes no lock on the tables whose triggers run it. Idempotent. Down
 * restores 1765335600000's function, to the letter (its own statement, `SEALED_APPEND_ONLY`).
 */
export class ModerationLogHeadTruncateNamed1765398600000 implements MigrationInterface {
  name = 'ModerationLogHeadTruncateNamed1765398600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE OR REPLACE FUNCTION moderation_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_TABLE_NAME = 'moderation_log_head' THEN RAISE EXCEPTION 'moderation_log_head only moves forward'; END IF;
          RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
        END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(SEALED_APPEND_ONLY);
  }
}
