import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * E-mail addresses are kept composed (NFC) from now on, and looked up that way: é typed as one
 * character or as e and its accent is one address. Stored ones are composed here, unless the
 * composed form is another account's already (two accounts that look alike; both are kept as
 * they are, and the decomposed one is reached by its handle). Banned addresses likewise.
 * Composed in JavaScript, as the application does it, not with PostgreSQL's normalize(),
 * which needs a UTF-8 database.
 */
export class ComposedEmails1764810000000 implements MigrationInterface {
  name = 'ComposedEmails1764810000000';

  async up(q: QueryRunner): Promise<void> {
    const users: Array<{ id: string; email: string }> = await q.query(`SELECT id, email FROM users WHERE email IS NOT NULL AND email ~ '[^\\x01-\\x7f]'`);
    for (const u of users) {
      const composed = u.email.normalize('NFC');
      if (composed === u.email) continue;
      await q.query(
        `UPDATE users SET email = $2 WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM users o WHERE lower(o.email) = lower($2) AND o.id <> $1)`,
        [u.id, composed],
      );
    }
    const bans: Array<{ email_lower: string }> = await q.query(`SELECT email_lower FROM banned_emails WHERE email_lower ~ '[^\\x01-\\x7f]'`);
    for (const b of bans) {
      const composed = b.email_lower.normalize('NFC');
      if (composed === b.email_lower) continue;
      // The composed form added beside the old one: a ban only ever widens.
      await q.query(`INSERT INTO banned_emails (email_lower, sanction_id) SELECT lower($2), sanction_id FROM banned_emails WHERE email_lower = $1 ON CONFLICT DO NOTHING`, [b.email_lower, composed]);
    }
  }

  async down(): Promise<void> {
    // Composed addresses are the same addresses: nothing to undo.
  }
}
