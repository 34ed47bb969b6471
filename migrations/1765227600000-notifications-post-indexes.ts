import { MigrationInterface, QueryRunner } from 'typeorm';
import { buildIndex, dropIndex } from './1765083600000-search-terms-typo-keys';

/**
 * Indexes of `notifications.post_id` and `notifications.removed_post_id`, partial (`WHERE … IS NOT
 * NULL`: most notices name no post, and nearly none a removed one). Without them every statement
 * finding the notices of a post read the whole table: `movePosts`' rewrite of the notices about
 * the posts it moves and of their removal notices (`MOVED_POSTS_NOTIFICATIONS`), and the foreign
 * keys' actions when a post is deleted (`post_id` ON DELETE CASCADE, `removed_post_id` ON DELETE
 * SET NULL), once per post deleted.
 *
 * Outside a transaction (`transaction = false`): each index is built CONCURRENTLY, so
 * notifications are delivered and read meanwhile; run again after a failure midway, an index a
 * failed build left invalid is built again and one that is done is left (`buildIndex`).
 */
export class NotificationsPostIndexes1765227600000 implements MigrationInterface {
  name = 'NotificationsPostIndexes1765227600000';

  /** Outside the runner's transaction: CREATE/DROP INDEX CONCURRENTLY cannot run in one. */
  readonly transaction = false;

  async up(q: QueryRunner): Promise<void> {
    for (const column of NOTIFICATION_POST_COLUMNS) {
      await buildIndex(q, `notifications_${column}_idx`, `notifications (${column}) WHERE ${column} IS NOT NULL`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const column of NOTIFICATION_POST_COLUMNS) await dropIndex(q, `notifications_${column}_idx`);
  }
}

const NOTIFICATION_POST_COLUMNS = ['post_id', 'removed_post_id'];
