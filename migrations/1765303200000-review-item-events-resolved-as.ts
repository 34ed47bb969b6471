import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A review item's history line that settled it says so as data: `resolved_as`, the status it
 * gave the item (APPROVED, REJECTED, IGNORED), null on every other line (submitted, claimed,
 * auto-hidden, filed on its new topic…). Before, the only way to tell an upholding from another
 * line was its text, 'resolved: approve (…)', which `keptHiddenSinceAutoHide` matched with
 * LIKE: a change of wording would have changed what a REJECT restores. The application writes
 * it with the line now (`ReviewItems.record`, `settle`).
 *
 * Existing lines get it from their text as every release wrote it: 'resolved: approve …',
 * 'resolved: reject …', 'resolved: ignore …' (the queue's decisions, moderatePost's, deletePost's,
 * a lifted sanction's, a published article's), and 'withdrawn' and 'superseded' (the author's own
 * change settling a held item, IGNORED). A line 'resolved: ' worded after another action
 * (moderatePost's HIDE or DELETE of held content, 'resolved: delete (moderatePost)', REJECTED) gets
 * the status its item has: an item is settled once, by that line. Any other line settled
 * nothing. Idempotent: a line
 * that has it already is not touched, and the column is added only once. Down drops it; the
 * text, which it was read from, stays.
 */
export class ReviewItemEventsResolvedAs1765303200000 implements MigrationInterface {
  name = 'ReviewItemEventsResolvedAs1765303200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE review_item_events ADD COLUMN IF NOT EXISTS resolved_as text
        CONSTRAINT review_item_events_resolved_as_check CHECK (resolved_as IN ('APPROVED', 'REJECTED', 'IGNORED'))`);
    await q.query(`
      UPDATE review_item_events e SET resolved_as = CASE
               WHEN e.action LIKE 'resolved: approve%' THEN 'APPROVED'
               WHEN e.action LIKE 'resolved: reject%' THEN 'REJECTED'
               WHEN e.action LIKE 'resolved: ignore%' OR e.action IN ('withdrawn', 'superseded') THEN 'IGNORED'
               ELSE i.status END
        FROM review_items i
       WHERE i.id = e.review_item_id AND e.resolved_as IS NULL
         AND (e.action LIKE 'resolved: approve%' OR e.action LIKE 'resolved: reject%' OR e.action LIKE 'resolved: ignore%' OR e.action IN ('withdrawn', 'superseded')
              OR (e.action LIKE 'resolved: %' AND i.status IN ('APPROVED', 'REJECTED', 'IGNORED')))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE review_item_events DROP COLUMN IF EXISTS resolved_as`);
  }
}
