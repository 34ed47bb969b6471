import { MigrationInterface, QueryRunner } from 'typeorm';

/** Trust levels: visit days, a record of every promotion and demotion, and levels set by hand. */
export class TrustLevels1763910000000 implements MigrationInterface {
  name = 'TrustLevels1763910000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE users ADD COLUMN trust_level_locked boolean NOT NULL DEFAULT false;
      CREATE TABLE user_visits (
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        day date NOT NULL,
        PRIMARY KEY (user_id, day)
      );
      CREATE TABLE trust_level_changes (
        id bigserial PRIMARY KEY,
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        from_level smallint NOT NULL,
        to_level smallint NOT NULL,
        reason text NOT NULL,
        actor_id uuid REFERENCES users(id),
        at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX trust_level_changes_user_idx ON trust_level_changes (user_id, id);
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DROP TABLE trust_level_changes;
      DROP TABLE user_visits;
      ALTER TABLE users DROP COLUMN trust_level_locked;
    `);
  }
}
