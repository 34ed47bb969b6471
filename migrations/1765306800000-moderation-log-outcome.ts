import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What a review decision did to its post, as data: the moderation log's `outcome` (`ContentOutcome`:
 * HIDDEN, DELETED, RESTORED, PUBLISHED, REJECTED, EDIT_PUBLISHED, EDIT_DROPPED, NONE), on the
 * `review.approve`, `review.reject` and `review.ignore` entries of a post or topic (those with a
 * `before.state`), null on every other entry. Before, readers told a decision that hid a post from
 * one that left it as it was by its wording (`after.action` LIKE 'hidden%', or not at all: any
 * APPROVE counted as who hid the post), so a change of wording would have changed who may unhide
 * their own post and which reason its author reads.
 *
 * The log is append-only and hash-chained over `after`, so no entry is rewritten: the column is
 * generated (STORED) from what each entry holds. An entry the application writes from this release
 * on carries it in `after.outcome` (covered by the hash), which the column takes. One written
 * before (id up to the last one at migration time) has it read from its `after.action` as every
 * release worded it, up to the first ';' (an escalation or sanction that followed): 'hidden',
 * 'deleted', 'restored', 'published', 'rejected', 'edit published', 'edit dropped', and 'none…' or
 * 'nothing left…' (NONE). Later entries are never read by their wording, so none can change them.
 * Adding it rewrites the table without firing the append-only trigger, as `entry_id` did.
 * Idempotent (added once); down drops it, and the entries are as they were.
 */
export class ModerationLogOutcome1765306800000 implements MigrationInterface {
  name = 'ModerationLogOutcome1765306800000';

  async up(q: QueryRunner): Promise<void> {
    const [{ last }] = await q.query(`SELECT coalesce(max(id), 0)::bigint::text AS last FROM moderation_log`);
    if (!/^\d+$/.test(last)) throw new Error(`unexpected moderation_log id ${last}`);
    await q.query(`
      ALTER TABLE moderation_log ADD COLUMN IF NOT EXISTS outcome text GENERATED ALWAYS AS (
        CASE WHEN action IN ('review.approve', 'review.reject', 'review.ignore') AND jsonb_typeof(before -> 'state') = 'string' THEN
          coalesce(after ->> 'outcome', CASE WHEN id <= ${last} THEN
            CASE split_part(after ->> 'action', ';', 1)
              WHEN 'hidden' THEN 'HIDDEN'
              WHEN 'deleted' THEN 'DELETED'
              WHEN 'restored' THEN 'RESTORED'
              WHEN 'published' THEN 'PUBLISHED'
              WHEN 'rejected' THEN 'REJECTED'
              WHEN 'edit published' THEN 'EDIT_PUBLISHED'
              WHEN 'edit dropped' THEN 'EDIT_DROPPED'
              ELSE CASE WHEN split_part(after ->> 'action', ';', 1) = 'none' OR after ->> 'action' LIKE 'none: %' OR after ->> 'action' LIKE 'nothing left: %' THEN 'NONE' END
            END
          END)
        END) STORED`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE moderation_log DROP COLUMN IF EXISTS outcome`);
  }
}
