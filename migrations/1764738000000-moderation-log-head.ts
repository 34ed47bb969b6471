import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The moderation log's head: one row saying how many entries the log holds and which comes
 * last, moved in the transaction of every append. The hash chain shows an entry altered,
 * removed or reordered anywhere but at the end; the head shows the end cut off (or entries
 * slipped in around the application). It only moves forward: a trigger refuses an UPDATE that
 * goes back, and any DELETE.
 */
export class ModerationLogHead1764738000000 implements MigrationInterface {
  name = 'ModerationLogHead1764738000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE moderation_log_head (
        only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
        last_id bigint NOT NULL,
        last_hash text,
        entries bigint NOT NULL
      )`);
    await q.query(`
      INSERT INTO moderation_log_head (last_id, last_hash, entries)
      SELECT coalesce(max(id), 0), (SELECT hash FROM moderation_log ORDER BY id DESC LIMIT 1), count(*) FROM moderation_log`);
    await q.query(`
      CREATE FUNCTION moderation_log_head_forward() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP = 'DELETE' OR NEW.entries < OLD.entries OR NEW.last_id < OLD.last_id THEN
            RAISE EXCEPTION 'moderation_log_head only moves forward';
          END IF;
          RETURN NEW;
        END $$`);
    await q.query(`
      CREATE TRIGGER moderation_log_head_forward BEFORE UPDATE OR DELETE ON moderation_log_head
        FOR EACH ROW EXECUTE FUNCTION moderation_log_head_forward()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE moderation_log_head`);
    await q.query(`DROP FUNCTION moderation_log_head_forward()`);
  }
}
