import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The notifications and watches (of topics, boards and tags) of imported authors' placeholder
 * accounts and of deleted accounts go. Neither kind of account can sign in, and neither is a
 * notification recipient (`SessionsService.viewersForUsers` leaves both out); a deletion deletes
 * its account's own since it was added, but earlier releases stored notifications for
 * placeholders (before they were left out as recipients), and gave a placeholder a watch of its
 * topic when a PUBLISH_TO_BOARD timer announced it as new (`forNewPost`, fixed alongside). Those
 * rows named topics and posts for an account nobody reads them with: they were counted, listed
 * and kept about someone no one can be, and a watch still made its account one of the topic's
 * watchers each reply's news was worked out for (`effectiveWatchesSql`).
 *
 * Not logged, as a deletion's removal of them is not: neither is moderation. Down restores
 * nothing: nobody could read, hear or change them, and the code before needs none of them.
 */
export class NotificationsAndWatchesOfAccountsThatCannotSignIn1765173600000 implements MigrationInterface {
  name = 'NotificationsAndWatchesOfAccountsThatCannotSignIn1765173600000';

  async up(q: QueryRunner): Promise<void> {
    for (const table of ['notifications', 'topic_watches', 'board_watches', 'tag_watches']) {
      await q.query(`
        DELETE FROM ${table} x
         USING users u
         WHERE u.id = x.user_id AND (u.is_placeholder OR u.deleted_at IS NOT NULL)
      `);
    }
  }

  async down(): Promise<void> {
    // Nothing to restore (see above).
  }
}
