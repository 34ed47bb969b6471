import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Setting a group's automatic domains finds the accounts with a confirmed address at them: by
 * this index, rather than by reading every account while the group's row (which sign-ups and
 * confirmations wait on) is locked.
 */
export class UsersConfirmedDomain1764936000000 implements MigrationInterface {
  name = 'UsersConfirmedDomain1764936000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE INDEX users_confirmed_domain_idx ON users (lower(split_part(email, '@', 2)))
       WHERE email IS NOT NULL AND email_verified_at IS NOT NULL AND deleted_at IS NULL AND NOT is_placeholder`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX users_confirmed_domain_idx`);
  }
}
