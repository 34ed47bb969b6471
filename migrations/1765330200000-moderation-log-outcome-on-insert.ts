import { MigrationInterface, QueryRunner } from 'typeorm';
import { fillModerationLogOutcomes } from './1765324800000-moderation-log-outcome-written';

/**
 * An entry whose inserting statement names no `outcome` gets the one its own fields say
 * (`moderation_log_outcome_said`, the rule 1765324800000's fill applies), as it is written: a
 * BEFORE INSERT trigger (`moderation_log_outcome_on_insert`, only when the new row's outcome is
 * null). After 1765324800000 a node of the release before, still running during a rolling
 * upgrade, wrote review decisions with `after.outcome` but no `outcome` column: null, so its hide
 * did not count for `hiddenBy` or the reason its author reads, until a later migration ran the fill
 * again. Now no such entry is left null, and the fill need not be run again.
 *
 * The application still writes the column itself (`AuditEntryInput.outcome`): what a decision did
 * is its writer's to say, and the trigger never overrides a value given; for an entry the
 * application writes, its fields say the same (`after.outcome`), so the trigger fills only what
 * another writer left out.
 *
 * Outside a transaction (`transaction = false`): the function and trigger in one statement (one
 * implicit transaction; CREATE TRIGGER holds off the log's writes only for its catalog change),
 * then the fill, in batches of their own, for the entries written between 1765324800000 and this
 * one (none when both run in one deploy), reached whatever their id since the trigger came first.
 * Idempotent. Down drops the trigger and its function; the entries keep their outcomes.
 */
export class ModerationLogOutcomeOnInsert1765330200000 implements MigrationInterface {
  name = 'ModerationLogOutcomeOnInsert1765330200000';

  /** The fill runs in batches of their own, so the log is not held meanwhile. */
  readonly transaction = false;

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE OR REPLACE FUNCTION moderation_log_outcome_on_insert() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          NEW.outcome := moderation_log_outcome_said(NEW.action, NEW.before, NEW.after);
          RETURN NEW;
        END $$;
      CREATE OR REPLACE TRIGGER moderation_log_outcome_on_insert BEFORE INSERT ON moderation_log
        FOR EACH ROW WHEN (NEW.outcome IS NULL) EXECUTE FUNCTION moderation_log_outcome_on_insert()`);
    await fillModerationLogOutcomes(q);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DROP TRIGGER IF EXISTS moderation_log_outcome_on_insert ON moderation_log;
      DROP FUNCTION IF EXISTS moderation_log_outcome_on_insert()`);
  }
}
