import { MigrationInterface, QueryRunner } from 'typeorm';
import { ModerationLogOutcome1765306800000 } from './1765306800000-moderation-log-outcome';

/** The transaction-local setting under which the append-only trigger lets the fill below write an entry's outcome. */
export const OUTCOME_FILL_SETTING = 'parvis.moderation_log_outcome_fill';

/**
 * The append-only trigger's function as this migration makes it: refusing every UPDATE and DELETE
 * but the outcome fill's (below). Its own statement, so 1765335600000's `down`, which restores it, runs this very one.
 */
export const APPEND_ONLY_BUT_OUTCOME_FILL = `
        CREATE OR REPLACE FUNCTION moderation_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
          DECLARE
            rest moderation_log;
          BEGIN
            -- The outcome fill's one exception (migration 1765324800000): a null outcome set to what
            -- the entry's own fields say, nothing else changed, in a transaction that asked for it.
            IF TG_OP = 'UPDATE' AND current_setting('${OUTCOME_FILL_SETTING}', true) = 'on'
               AND OLD.outcome IS NULL AND NEW.outcome = moderation_log_outcome_said(OLD.action, OLD.before, OLD.after) THEN
              rest := NEW;
              rest.outcome := NULL;
              IF rest IS NOT DISTINCT FROM OLD THEN RETURN NEW; END IF;
            END IF;
            RAISE EXCEPTION 'moderation_log is append-only';
          END $$`;

/**
 * The moderation log's `outcome` (what a review decision did to its post, `ContentOutcome`) becomes
 * a plain column the application writes with the entry (`AuditEntryInput.outcome`, set where the
 * decision is made, beside `after.outcome`). It was generated (migration 1765306800000) from
 * `after.outcome` or, up to the entries of that migration's time, the entry's wording: an entry a
 * node of an older release wrote after that migration (a rolling upgrade: wording only, no
 * `after.outcome`) got none for good, so its hide no longer counted for `hiddenBy` or the reason
 * its author reads; and what a decision did was the column's expression's to say, not its writer's.
 *
 * `DROP EXPRESSION` keeps every stored value and does not rewrite the table (only the catalog
 * changes, under a brief ACCESS EXCLUSIVE lock). Then the entries left without one whose own
 * fields say it (a review decision on a post or topic, with a `before.state`: `after.outcome`, or,
 * for an older release's entry, its wording, as 1765306800000 read it but whatever the id) get it,
 * in batches of `batch` entries, each its own short transaction (`transaction = false`), so the log
 * is written to meanwhile.
 *
 * The log is append-only: its trigger (`moderation_log_append_only`) refuses every UPDATE and
 * DELETE but one: an UPDATE, in a transaction that set `parvis.moderation_log_outcome_fill` to
 * 'on' (`set_config(…, true)`, local to it), that changes nothing but an outcome that was null, to
 * what the entry's own fields say (`moderation_log_outcome_said`). So even with the setting, no
 * one can write an outcome the entry does not carry already, change one, or touch anything else,
 * and the hash chain (over the named fields, `entryHash`; not `outcome`) verifies as before.
 * The exception and the function stay, so a later migration can run the fill again
 * (`fillModerationLogOutcomes`) for entries a node of the release before writes between this
 * migration and its own stop (it names no `outcome`: null until then). 1765330200000 did, for the
 * last time; 1765335600000 then took the exception away (its `down` gives it back).
 *
 * Idempotent: run again, it changes nothing it did. Down restores the trigger as it was, drops the
 * function and makes the column generated again as 1765306800000 made it (its expression reading
 * wording up to the last entry then): that rewrites the table, as adding it did, and gives every
 * entry the outcome it has now (those the application wrote carry it in `after.outcome` too).
 */
export class ModerationLogOutcomeWritten1765324800000 implements MigrationInterface {
  name = 'ModerationLogOutcomeWritten1765324800000';

  /** The fill runs in batches of their own, so the log is not held meanwhile. */
  readonly transaction = false;

  async up(q: QueryRunner): Promise<void> {
    await inTransaction(q, async () => {
      await q.query(`
        CREATE OR REPLACE FUNCTION moderation_log_outcome_said(action text, before jsonb, after jsonb) RETURNS text
        LANGUAGE sql IMMUTABLE AS $$
          SELECT CASE WHEN action IN ('review.approve', 'review.reject', 'review.ignore') AND jsonb_typeof(before -> 'state') = 'string' THEN
            coalesce(after ->> 'outcome',
              CASE split_part(after ->> 'action', ';', 1)
                WHEN 'hidden' THEN 'HIDDEN'
                WHEN 'deleted' THEN 'DELETED'
                WHEN 'restored' THEN 'RESTORED'
                WHEN 'published' THEN 'PUBLISHED'
                WHEN 'rejected' THEN 'REJECTED'
                WHEN 'edit published' THEN 'EDIT_PUBLISHED'
                WHEN 'edit dropped' THEN 'EDIT_DROPPED'
                ELSE CASE WHEN split_part(after ->> 'action', ';', 1) = 'none' OR after ->> 'action' LIKE 'none: %' OR after ->> 'action' LIKE 'nothing left: %' THEN 'NONE' END
              END)
          END $$`);
      await q.query(APPEND_ONLY_BUT_OUTCOME_FILL);
      await q.query(`ALTER TABLE moderation_log ALTER COLUMN outcome DROP EXPRESSION IF EXISTS`);
    });
    await fillModerationLogOutcomes(q);
  }

  async down(q: QueryRunner): Promise<void> {
    await inTransaction(q, async () => {
      await q.query(`
        CREATE OR REPLACE FUNCTION moderation_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN RAISE EXCEPTION 'moderation_log is append-only'; END $$`);
      await q.query(`DROP FUNCTION IF EXISTS moderation_log_outcome_said(text, jsonb, jsonb)`);
      await q.query(`ALTER TABLE moderation_log DROP COLUMN IF EXISTS outcome`);
      await new ModerationLogOutcome1765306800000().up(q);
    });
  }
}

/**
 * Gives each entry without an outcome the one its own fields say (`moderation_log_outcome_said`),
 * oldest first, `batch` entries read at a time, each batch in a transaction of its own under the
 * append-only trigger's exception; entries appended meanwhile are reached too. Returns how many it filled.
 */
export async function fillModerationLogOutcomes(q: QueryRunner, batch = 1000): Promise<number> {
  let last = '0';
  let filled = 0;
  for (;;) {
    const [done] = await inTransaction(q, async () => {
      await q.query(`SELECT set_config($1, 'on', true)`, [OUTCOME_FILL_SETTING]);
      return q.query(
        `WITH batch AS (SELECT id FROM moderation_log WHERE id > $1 AND outcome IS NULL ORDER BY id LIMIT $2),
              filled AS (
                UPDATE moderation_log l SET outcome = moderation_log_outcome_said(l.action, l.before, l.after)
                  FROM batch WHERE l.id = batch.id AND moderation_log_outcome_said(l.action, l.before, l.after) IS NOT NULL
                RETURNING 1)
         SELECT (SELECT max(id) FROM batch)::text AS last, (SELECT count(*) FROM filled)::int AS filled`,
        [last, batch],
      );
    });
    if (done.last === null) return filled;
    last = done.last;
    filled += done.filled;
  }
}

async function inTransaction<T>(q: QueryRunner, work: () => Promise<T>): Promise<T> {
  await q.startTransaction();
  try {
    const result = await work();
    await q.commitTransaction();
    return result;
  } catch (e) {
    await q.rollbackTransaction();
    throw e;
  }
}
