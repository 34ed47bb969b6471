import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * When an account's e-mail address was confirmed (EmailVerificationService): notification
 * e-mails go only to confirmed addresses. Accounts that exist already were sent e-mails
 * before confirmation existed, and keep getting them: they count as confirmed when they
 * were created (placeholders, which have no mailbox to confirm, do not).
 */
export class EmailVerification1764766800000 implements MigrationInterface {
  name = 'EmailVerification1764766800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE users ADD COLUMN email_verified_at timestamptz`);
    await q.query(`UPDATE users SET email_verified_at = created_at WHERE email IS NOT NULL AND NOT is_placeholder`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE users DROP COLUMN email_verified_at`);
  }
}
