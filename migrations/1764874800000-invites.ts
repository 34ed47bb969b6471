import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Invitations (Discourse's invites): an admin invites someone by e-mail, or makes a link a
 * number of people may use, into groups (the partners of a partner space, new employees).
 * Redeeming one signs up or, signed in, joins its groups; with SIGN_UP=invite it is the only
 * way in. Each use is counted under the invite's row lock and recorded once per member.
 */
export class Invites1764874800000 implements MigrationInterface {
  name = 'Invites1764874800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE invites (
        id uuid PRIMARY KEY,
        created_by uuid REFERENCES users(id) ON DELETE SET NULL,
        email text CHECK (email IS NULL OR length(email) <= 254),
        max_uses int NOT NULL CHECK (max_uses BETWEEN 1 AND 1000),
        uses int NOT NULL DEFAULT 0,
        expires_at timestamptz NOT NULL,
        revoked_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        CHECK (uses BETWEEN 0 AND max_uses),
        CHECK (email IS NULL OR max_uses = 1)
      );
      CREATE INDEX invites_created_by_idx ON invites (created_by);
      CREATE TABLE invite_groups (
        invite_id uuid NOT NULL REFERENCES invites(id) ON DELETE CASCADE,
        group_id uuid NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
        PRIMARY KEY (invite_id, group_id)
      );
      CREATE INDEX invite_groups_group_idx ON invite_groups (group_id);
      CREATE TABLE invite_redemptions (
        invite_id uuid NOT NULL REFERENCES invites(id) ON DELETE CASCADE,
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        redeemed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (invite_id, user_id)
      );
      CREATE INDEX invite_redemptions_user_idx ON invite_redemptions (user_id);
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE invite_redemptions; DROP TABLE invite_groups; DROP TABLE invites;`);
  }
}
