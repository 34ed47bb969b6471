import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Whom each member ignores (IgnoresService): no notification of theirs reaches the member,
 * and the member's pages can fold their posts away (`Post.fromIgnoredUser`). Looked up by the
 * member (the key) and, when an account goes, by the ignored one (the second index).
 */
export class UserIgnores1764770400000 implements MigrationInterface {
  name = 'UserIgnores1764770400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE user_ignores (
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        ignored_user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (user_id, ignored_user_id),
        CHECK (user_id <> ignored_user_id)
      );
      CREATE INDEX user_ignores_ignored_idx ON user_ignores (ignored_user_id);
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE user_ignores`);
  }
}
