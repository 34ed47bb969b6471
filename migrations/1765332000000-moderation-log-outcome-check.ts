import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The moderation log's `outcome` holds a `ContentOutcome` or nothing: a CHECK
 * (`moderation_log_outcome_check`). Since 1765324800000 the column is the writer's to set, not
 * generated, and the hash does not cover it, while readers match it by value (`hiddenBy`, the
 * reason a post's author reads: 'HIDDEN', 'NONE'): a value misspelt by a writer would be stored and
 * silently count for nothing. A new `ContentOutcome` needs a migration that widens the list.
 *
 * Outside a transaction (`transaction = false`), two statements each its own: the constraint added
 * NOT VALID (a catalog change under a brief ACCESS EXCLUSIVE lock, no scan; new rows checked from
 * then on), then VALIDATE, which reads every entry under SHARE UPDATE EXCLUSIVE only, so the log
 * is written meanwhile. Idempotent (added only when missing; validating a valid constraint does
 * nothing). Down drops it.
 */
export class ModerationLogOutcomeCheck1765332000000 implements MigrationInterface {
  name = 'ModerationLogOutcomeCheck1765332000000';

  /** VALIDATE in a transaction of its own, so the ADD's lock is not held while it reads the log. */
  readonly transaction = false;

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      DO $$ BEGIN
        IF NOT EXISTS (SELECT FROM pg_constraint WHERE conname = 'moderation_log_outcome_check' AND conrelid = 'moderation_log'::regclass) THEN
          ALTER TABLE moderation_log ADD CONSTRAINT moderation_log_outcome_check
            CHECK (outcome IN ('HIDDEN', 'DELETED', 'RESTORED', 'PUBLISHED', 'REJECTED', 'EDIT_PUBLISHED', 'EDIT_DROPPED', 'NONE')) NOT VALID;
        END IF;
      END $$`);
    await q.query(`ALTER TABLE moderation_log VALIDATE CONSTRAINT moderation_log_outcome_check`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE moderation_log DROP CONSTRAINT IF EXISTS moderation_log_outcome_check`);
  }
}
