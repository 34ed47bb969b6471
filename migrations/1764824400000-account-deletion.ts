import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * When an account was deleted by its owner or anonymised by an admin (AccountDeletionService).
 * Its row stays, under a neutral handle and name, so the posts, topics, ideas, votes and articles
 * it wrote keep an author; a deleted account holds no address and no password, which the check
 * holds to.
 */
export class AccountDeletion1764824400000 implements MigrationInterface {
  name = 'AccountDeletion1764824400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE users ADD COLUMN deleted_at timestamptz`);
    await q.query(
      `ALTER TABLE users ADD CONSTRAINT users_deleted_holds_nothing CHECK (deleted_at IS NULL OR (email IS NULL AND password_hash IS NULL))`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE users DROP CONSTRAINT users_deleted_holds_nothing`);
    await q.query(`ALTER TABLE users DROP COLUMN deleted_at`);
  }
}
