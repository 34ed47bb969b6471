import { Tx } from '../../core/src/database/unit-of-work';

/** The event of review items that followed their content into another space (one per move). */
export const REVIEW_ITEMS_MOVED = 'review.moved';

/**
 * Review items on content moved into another space (`movePosts`, `moveTopic`) follow it into its
 * new space, open or decided: an item's space is where its content is. Open ones go to the new
 * space's queue; decided ones (with their reports and history) are listed, counted and found by
 * id there alone, never by the old space's moderators, who may not read the content where it is
 * now (left behind, a queue asked for decided items showed them its reports' notes, its history
 * and its count). The escalation ladder, which counts a space's upheld items, counts them in the
 * new space from then on. Claims are left to the claim rule (`ReviewItems.claimHoldsSql`),
 * which judges a claimant against the item's space as it is now: the old space's moderators, who
 * may not act on the items there, hold nothing and keep nobody off them; a claimant who may
 * (a global moderator, a moderator of both spaces) keeps theirs. One `review.moved` for the move
 * (`reviewItemIds`, in id order, `spaceId`, `fromSpaceId`): both spaces' live review rooms hear
 * of each item, the old one that it left, the new one that it arrived, each with its own space's
 * id alone. `targets`: the items' condition, on `$1`, by target, each of its terms one the target
 * index (`review_items_target_idx`) answers (a list of ids as `= ANY(…)`, an array or
 * `ARRAY(SELECT …)`; `IN (SELECT …)` under an OR is a filter it cannot answer): the content's items are looked up,
 * not looked for among the space's; the new space is `$2`. Those of the old space (`$3`) alone,
 * where every item of the content is (migration 1765288800000 filed those moves before left).
 */
export async function moveReviewItems(tx: Tx, targets: string, target: unknown, from: string, to: string): Promise<void> {
  const moved = await tx.query<{ id: string }>(
    `WITH moved AS (UPDATE review_items SET space_id = $2, updated_at = now() WHERE space_id = $3 AND (${targets}) RETURNING id)
     SELECT id FROM moved ORDER BY id`,
    [target, to, from],
  );
  if (moved.length === 0) return;
  const reviewItemIds = moved.map((m) => m.id);
  await tx.emit({ type: REVIEW_ITEMS_MOVED, aggregateType: 'space', aggregateId: to, payload: { reviewItemIds, spaceId: to, fromSpaceId: from } });
}

/**
 * A reply split off into a new topic (`movePosts`) opens it, and reports of a topic's first post
 * are filed against the topic (`ReportsService.report`): its open REPORTS item, with the open
 * reports gathered on it, is filed on the new topic, where the topic's reports gather (one item,
 * one score, each reporter once), its history saying so (`actorId`, the mover). Decided reports
 * stay on the post, where the rejected-reporter check looks too. The new topic has no item yet.
 * `review.updated` for its space's live review room (no status: reporters are told nothing).
 */
export async function fileReportsOnNewTopic(tx: Tx, postId: string, topicId: string, spaceId: string, actorId: string): Promise<void> {
  const filed = await tx.query<{ id: string }>(
    `WITH item AS (
       UPDATE review_items SET target_type = 'TOPIC', target_id = $2, updated_at = now()
        WHERE kind = 'REPORTS' AND status = 'PENDING' AND target_type = 'POST' AND target_id = $1 RETURNING id),
     reports AS (UPDATE reports SET target_type = 'TOPIC', target_id = $2 WHERE status = 'OPEN' AND review_item_id IN (SELECT id FROM item)),
     history AS (
       INSERT INTO review_item_events (review_item_id, actor_id, action, note)
       SELECT id, $3::uuid, 'filed on its new topic', 'the reported reply was split off into a new topic, which it opens' FROM item)
     SELECT id FROM item`,
    [postId, topicId, actorId],
  );
  for (const { id } of filed) {
    await tx.emit({ type: 'review.updated', aggregateType: 'review_item', aggregateId: id, payload: { reviewItemId: id, spaceId } });
  }
}
