import { MigrationInterface, QueryRunner } from 'typeorm';
import { APPEND_ONLY_BUT_OUTCOME_FILL } from './1765324800000-moderation-log-outcome-written';
import { alterGivingWay } from './support/lock-wait';

/** The append-only trigger's function as this migration makes it, to the letter (1765398600000's down restores it). */
export const SEALED_APPEND_ONLY = `CREATE OR REPLACE FUNCTION moderation_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN RAISE EXCEPTION 'moderation_log is append-only'; END $$`;

/**
 * The moderation log refuses every change again, TRUNCATE included, and a space's deletion no
 * longer reaches its entries.
 *
 * - The append-only trigger's function (`moderation_log_append_only`) loses the exception
 *   1765324800000 gave its outcome fill (an UPDATE under `parvis.moderation_log_outcome_fill`
 *   setting a null `outcome` to what the entry says): since 1765330200000 a BEFORE INSERT trigger
 *   gives every entry its outcome as it is written, and that migration ran the fill for the last
 *   time, so the exception only left a way to write the log. Every UPDATE and DELETE is refused.
 *   (`fillModerationLogOutcomes` and the setting's name stay: 1765324800000 and 1765330200000
 *   run them, before this one, on a database migrated from scratch.)
 * - TRUNCATE fires no row trigger, so it emptied the log (and its head, `moderation_log_head`,
 *   whose trigger refuses a DELETE) whole, or through `TRUNCATE spaces CASCADE` /
 *   `TRUNCATE users CASCADE`: a BEFORE TRUNCATE statement trigger on each refuses it
 *   (`moderation_log_no_truncate`, `moderation_log_head_no_truncate`, the same function).
 * - `space_id` referenced `spaces` ON DELETE SET NULL, an UPDATE of the entry the trigger refuses
 *   (and one the hash, which covers `space_id`, would show): deleting a space that has entries
 *   failed with 'moderation_log is append-only'. An entry must outlive nothing it names, so the
 *   reference is ON DELETE RESTRICT now: such a deletion is refused by the foreign key, which
 *   names itself (`moderation_log_space_id_fkey`, still referenced from table moderation_log), as
 *   a user's deletion already was by `actor_id`'s. Nothing deletes a space today; a space that was
 *   ever moderated is kept (or archived), never deleted.
 *
 * Outside a transaction (`transaction = false`), so no lock is held across steps. The function and
 * the TRUNCATE triggers in one statement, then the constraint dropped and added again NOT VALID in
 * one ALTER (so the log is never without it), each waiting at most half a second for its locks at
 * a time (`alterGivingWay`: CREATE TRIGGER's SHARE ROW EXCLUSIVE on the log and its head; the
 * ALTER's ACCESS EXCLUSIVE on the log and on `spaces` too, whose triggers for the old constraint it
 * drops, and which every request reads), so the statements queued behind a wait go on;
 * then VALIDATE, which reads the entries under SHARE UPDATE EXCLUSIVE alone (the log is written
 * meanwhile) and rewrites nothing. Idempotent. Down restores 1765324800000's function, drops the
 * TRUNCATE triggers and makes the reference ON DELETE SET NULL again, the same way.
 */
export class ModerationLogSealed1765335600000 implements MigrationInterface {
  name = 'ModerationLogSealed1765335600000';

  /** Each lock taken in a statement of its own, given up while others wait (see above). */
  readonly transaction = false;

  async up(q: QueryRunner): Promise<void> {
    await alterGivingWay(
      q,
      `${SEALED_APPEND_ONLY};
       CREATE OR REPLACE TRIGGER moderation_log_no_truncate BEFORE TRUNCATE ON moderation_log
         FOR EACH STATEMENT EXECUTE FUNCTION moderation_log_append_only();
       CREATE OR REPLACE TRIGGER moderation_log_head_no_truncate BEFORE TRUNCATE ON moderation_log_head
         FOR EACH STATEMENT EXECUTE FUNCTION moderation_log_append_only()`,
    );
    await this.spaceReference(q, 'SET NULL', 'RESTRICT');
  }

  async down(q: QueryRunner): Promise<void> {
    await alterGivingWay(
      q,
      `${APPEND_ONLY_BUT_OUTCOME_FILL};
       DROP TRIGGER IF EXISTS moderation_log_no_truncate ON moderation_log;
       DROP TRIGGER IF EXISTS moderation_log_head_no_truncate ON moderation_log_head`,
    );
    await this.spaceReference(q, 'RESTRICT', 'SET NULL');
  }

  /** `moderation_log.space_id`'s reference made ON DELETE `to` where it is `from`: swapped NOT VALID in one ALTER, then validated. */
  private async spaceReference(q: QueryRunner, from: 'SET NULL' | 'RESTRICT', to: 'SET NULL' | 'RESTRICT'): Promise<void> {
    const code = { 'SET NULL': 'n', RESTRICT: 'r' };
    await alterGivingWay(
      q,
      `DO $$ BEGIN
         IF EXISTS (SELECT FROM pg_constraint WHERE conname = 'moderation_log_space_id_fkey' AND conrelid = 'moderation_log'::regclass AND confdeltype = '${code[from]}') THEN
           ALTER TABLE moderation_log DROP CONSTRAINT moderation_log_space_id_fkey,
             ADD CONSTRAINT moderation_log_space_id_fkey FOREIGN KEY (space_id) REFERENCES spaces (id) ON DELETE ${to} NOT VALID;
         END IF;
       END $$`,
    );
    await q.query(`ALTER TABLE moderation_log VALIDATE CONSTRAINT moderation_log_space_id_fkey`);
  }
}
