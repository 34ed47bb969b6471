import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every review item of a post or a topic is filed under the space its content is in now, as
 * `moveReviewItems` has kept it since 6ab05842 (moveTopic and movePosts move an item of the moved
 * content whatever its status, `space_id` and `updated_at = now()`). Before, only open items
 * followed: a decided one stayed under the space its content left, where that space's moderators,
 * who may not read the new one, still listed it (reviewQueue with a decided status), counted it,
 * and read its reports and history. Such an item goes to its content's space now, as a move today
 * would have taken it; an item already where its content is is not touched.
 *
 * Only POST and TOPIC items have content in a space: USER items (reports and automod flags of a
 * profile, ban proposals) and SANCTION items (appeals) are filed by their own rules (none, or the
 * sanction's space), and an item whose post or topic is gone has nowhere to follow, so those are
 * left. Claims are left to the claim rule, as a move leaves them (`ReviewItems.claimHoldsSql`
 * judges a claimant against the item's space as it is now). No `review.moved` event: no live
 * review room watched these items move, and reopening the queue reads them where they are.
 *
 * Down restores nothing: where an item was filed before is not kept (only the moderation log's
 * move entries, which name the topic, not its items), and the code before reads items filed here,
 * as a move since 6ab05842 files them.
 */
export class DecidedReviewItemsFollowContent1765288800000 implements MigrationInterface {
  name = 'DecidedReviewItemsFollowContent1765288800000';

  async up(q: QueryRunner): Promise<void> {
    for (const [targetType, table] of CONTENT) {
      await q.query(`
        UPDATE review_items ri SET space_id = c.space_id, updated_at = now()
          FROM ${table} c
         WHERE ri.target_type = '${targetType}' AND c.id = ri.target_id AND ri.space_id IS DISTINCT FROM c.space_id
      `);
    }
  }

  async down(): Promise<void> {
    // Nothing to restore (see above).
  }
}

/** The review items' targets that are content in a space, and their tables. */
const CONTENT = [['POST', 'posts'], ['TOPIC', 'topics']] as const;
