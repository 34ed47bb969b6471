import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The digest claims a member's due news before it sends them (`EmailDigest.sendDue`,
 * `notifications.email_claimed_at`) and marks it handled (`emailed_at`) only once the mail server
 * took the message (or nothing was left to send). A claim is a lease: news whose run died, or
 * failed to put it back, between the claim and the send is taken again by a later run once the
 * lease has run out, never lost. A nullable column: nothing is claimed now. The due set's index
 * (`notifications_email_due_idx`, `emailed_at IS NULL`) keeps claimed news in it.
 */
export class NotificationEmailClaims1765180800000 implements MigrationInterface {
  name = 'NotificationEmailClaims1765180800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE notifications ADD COLUMN email_claimed_at timestamptz`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE notifications DROP COLUMN email_claimed_at`);
  }
}
