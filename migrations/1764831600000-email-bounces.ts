import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The bounce list: when a mail server last refused a notification e-mail to the account's
 * address for good (EmailDigest.sendDue), after which none goes to it. A new address starts
 * clean whatever changes it (the application, an operator's SQL, an anonymisation): a trigger
 * clears the mark with the address. Nullable with no default: nothing is rewritten, and no
 * address is known to bounce yet.
 */
export class EmailBounces1764831600000 implements MigrationInterface {
  name = 'EmailBounces1764831600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE users ADD COLUMN email_bounced_at timestamptz`);
    await q.query(`
      CREATE FUNCTION users_email_bounce_reset() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          NEW.email_bounced_at := NULL;
          RETURN NEW;
        END $$`);
    await q.query(`
      CREATE TRIGGER users_email_bounce_reset BEFORE UPDATE ON users
        FOR EACH ROW WHEN (OLD.email IS DISTINCT FROM NEW.email) EXECUTE FUNCTION users_email_bounce_reset()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER users_email_bounce_reset ON users`);
    await q.query(`DROP FUNCTION users_email_bounce_reset()`);
    await q.query(`ALTER TABLE users DROP COLUMN email_bounced_at`);
  }
}
