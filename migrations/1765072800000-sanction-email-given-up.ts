import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * When `SanctionMail` gave up e-mailing a sanction on its own (`sanctions.email_given_up_at`: the
 * mail server refused the message for good): it never claims it again, and the digest e-mails its
 * SANCTION notice by the normal path at once, rather than holding it back, as the notice of a
 * sanction barring its member whose own e-mail may still go, until the barring ends (never, for a
 * permanent ban). A nullable column: sanctions already there read as not given up, as nothing
 * recorded which were, so the notice of one refused for good before keeps waiting as it did.
 */
export class SanctionEmailGivenUp1765072800000 implements MigrationInterface {
  name = 'SanctionEmailGivenUp1765072800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE sanctions ADD COLUMN email_given_up_at timestamptz`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE sanctions DROP COLUMN email_given_up_at`);
  }
}
