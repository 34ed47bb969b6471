import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Old notifications are deleted by an hourly job (NotificationsService.pruneOld), oldest
 * first: this index lets it find them by age. (Read ones go after 90 days, so a batch may
 * step over unread ones younger than a year on the way.) Built in the
 * migration's transaction, which holds writes to notifications while it runs (seconds on a
 * few million rows).
 */
export class NotificationsCreatedIndex1764748800000 implements MigrationInterface {
  name = 'NotificationsCreatedIndex1764748800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX notifications_created_idx ON notifications (created_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX notifications_created_idx`);
  }
}
