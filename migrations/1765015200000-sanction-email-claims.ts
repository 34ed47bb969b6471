import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A sanction's e-mail is claimed before it goes out (`SanctionMail`, `sanctions.email_claimed_at`)
 * and marked e-mailed (`emailed_at`) only once the mail server took it. A claim is a lease: a
 * worker that died between the claim and the send leaves it to run out, and the sanction's outbox
 * event, delivered again, or the digest then sends it; until then the digest holds back its
 * SANCTION notice. A nullable column: no sanction is claimed now.
 */
export class SanctionEmailClaims1765015200000 implements MigrationInterface {
  name = 'SanctionEmailClaims1765015200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE sanctions ADD COLUMN email_claimed_at timestamptz`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE sanctions DROP COLUMN email_claimed_at`);
  }
}
