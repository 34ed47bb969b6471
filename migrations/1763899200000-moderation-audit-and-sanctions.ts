import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Moderation, first part: the tamper-evident audit trail and user sanctions
 * (warnings, silences, suspensions, bans with e-mail and IP bans).
 */
export class ModerationAuditAndSanctions1763899200000 implements MigrationInterface {
  name = 'ModerationAuditAndSanctions1763899200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      -- Append-only: each entry carries the hash of the previous one (see AuditLog).
      CREATE TABLE moderation_log (
        id bigserial PRIMARY KEY,
        at timestamptz NOT NULL,
        actor_id uuid REFERENCES users(id),
        action text NOT NULL,
        target_type text NOT NULL,
        target_id uuid,
        space_id uuid REFERENCES spaces(id) ON DELETE SET NULL,
        reason text,
        before jsonb,
        after jsonb,
        prev_hash text,
        hash text NOT NULL
      );
      CREATE INDEX moderation_log_space_idx ON moderation_log (space_id, id DESC);
      CREATE INDEX moderation_log_target_idx ON moderation_log (target_type, target_id);
      CREATE FUNCTION moderation_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'moderation_log is append-only'; END $$;
      CREATE TRIGGER moderation_log_no_change BEFORE UPDATE OR DELETE ON moderation_log
        FOR EACH ROW EXECUTE FUNCTION moderation_log_append_only();

      CREATE TABLE sanctions (
        id uuid PRIMARY KEY,
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        kind text NOT NULL CHECK (kind IN ('WARNING', 'SILENCE', 'SUSPEND', 'BAN')),
        space_id uuid REFERENCES spaces(id) ON DELETE CASCADE,
        reason text NOT NULL,
        issued_by uuid REFERENCES users(id),
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz,
        lifted_at timestamptz,
        lifted_by uuid REFERENCES users(id),
        acknowledged_at timestamptz
      );
      CREATE INDEX sanctions_user_active_idx ON sanctions (user_id) WHERE lifted_at IS NULL;

      CREATE TABLE banned_emails (
        email_lower text PRIMARY KEY,
        sanction_id uuid REFERENCES sanctions(id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE banned_ips (
        ip text PRIMARY KEY,
        sanction_id uuid REFERENCES sanctions(id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT now()
      );
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DROP TABLE banned_ips;
      DROP TABLE banned_emails;
      DROP TABLE sanctions;
      DROP TRIGGER moderation_log_no_change ON moderation_log;
      DROP FUNCTION moderation_log_append_only();
      DROP TABLE moderation_log;
    `);
  }
}
