import { Tx } from '../../core/src/database/unit-of-work';

/**
 * Open review items on content moved into another space (`movePosts`, `moveTopic`) follow it
 * into its new space's queue, free of the claims of the old one's moderators (who may not act
 * on them there). Both spaces' live review rooms hear of each (`review.updated` with
 * `fromSpaceId`): the old one that it left, the new one that it arrived, each with its own
 * space's id alone. `targets`: the items' condition, on `$1`; the new space is `$2`.
 */
export async function moveOpenReviewItems(tx: Tx, targets: string, target: unknown, from: string, to: string): Promise<void> {
  const moved = await tx.query<{ id: string }>(
    `UPDATE review_items SET space_id = $2, claimed_by = NULL, claimed_until = NULL, updated_at = now()
      WHERE status = 'PENDING' AND (${targets}) RETURNING id`,
    [target, to],
  );
  for (const { id } of moved) {
    await tx.emit({ type: 'review.updated', aggregateType: 'review_item', aggregateId: id, payload: { reviewItemId: id, spaceId: to, fromSpaceId: from } });
  }
}
