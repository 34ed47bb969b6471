import { MigrationInterface, QueryRunner } from 'typeorm';
import { buildIndex, dropIndex } from './1765083600000-search-terms-typo-keys';

/**
 * An index of review items by target (`target_type`, `target_id`), whatever their status: the
 * open-item key (`review_items_open_key`) covers pending items alone. With it `moveReviewItems`
 * (moveTopic, movePosts, a PUBLISH_TO_BOARD timer firing) finds a moved content's items, open or
 * decided, by the content itself, where it read every item of the space it left through the
 * queue's index (`space_id`) and kept those of the content.
 *
 * Outside a transaction (`transaction = false`): the index is built CONCURRENTLY, so reports are
 * filed and decided meanwhile; run again after a failure midway, an index a failed build left
 * invalid is built again and one that is done is left (`buildIndex`).
 */
export class ReviewItemsTargetIndex1765292400000 implements MigrationInterface {
  name = 'ReviewItemsTargetIndex1765292400000';

  /** Outside the runner's transaction: CREATE/DROP INDEX CONCURRENTLY cannot run in one. */
  readonly transaction = false;

  async up(q: QueryRunner): Promise<void> {
    await buildIndex(q, 'review_items_target_idx', 'review_items (target_type, target_id)');
  }

  async down(q: QueryRunner): Promise<void> {
    await dropIndex(q, 'review_items_target_idx');
  }
}
