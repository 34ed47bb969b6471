import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * When a suspension or ban site-wide was e-mailed to its member on its own (`SanctionMail`),
 * so that the notification digest never e-mails the same sanction again: its SANCTION notice
 * reaches the digest once the member may sign in again, and a sanction lifted or run out
 * before the digest's delay was e-mailed twice. Set just before the e-mail goes out, and
 * cleared when the mail server refuses it. A nullable column: sanctions already there read as
 * never e-mailed on their own, as nothing recorded which were (the records of account e-mails
 * name outbox events, kept even when nothing was sent), so the digest may still mention one of
 * those once, as it did.
 */
export class SanctionEmailedAt1764990000000 implements MigrationInterface {
  name = 'SanctionEmailedAt1764990000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE sanctions ADD COLUMN emailed_at timestamptz`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE sanctions DROP COLUMN emailed_at`);
  }
}
