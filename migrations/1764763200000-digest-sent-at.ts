import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * When each user was last sent a notification e-mail, so they get at most one per
 * EMAIL_DELAY_MINUTES however steadily news trickles in (EmailDigest.sendDue). Nullable with
 * no default: nothing is rewritten, and nobody has been sent one yet as far as it knows.
 */
export class DigestSentAt1764763200000 implements MigrationInterface {
  name = 'DigestSentAt1764763200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE users ADD COLUMN digest_sent_at timestamptz`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE users DROP COLUMN digest_sent_at`);
  }
}
