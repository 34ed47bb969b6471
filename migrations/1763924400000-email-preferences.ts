import { MigrationInterface, QueryRunner } from 'typeorm';

/** E-mail preferences per notification kind, and server-side secrets (signing unsubscribe links). */
export class EmailPreferences1763924400000 implements MigrationInterface {
  name = 'EmailPreferences1763924400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE email_preferences (
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        kind text NOT NULL,
        enabled boolean NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (user_id, kind)
      );
      CREATE TABLE app_secrets (
        name text PRIMARY KEY,
        value text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX notifications_email_due_idx ON notifications (created_at) WHERE read_at IS NULL AND emailed_at IS NULL;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX notifications_email_due_idx; DROP TABLE app_secrets; DROP TABLE email_preferences;`);
  }
}
