import { randomBytes } from 'node:crypto';
import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The key appeal tokens are signed with (`SignedTokens`, purpose `appeal`: `token:appeal`) is
 * made here, where it was made on first use. An appeal token is signed only in a refusal (a
 * barred member's sign-in or password reset: `refuseBarred`), and a
 * refused request writes nothing; made on first use, the first refusal wrote the key. Kept when
 * it exists already, as tokens signed with it are still good. Random as `SignedTokens` makes
 * one: 32 bytes, base64.
 */
export class AppealTokenKey1765527000000 implements MigrationInterface {
  name = 'AppealTokenKey1765527000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`INSERT INTO app_secrets (name, value) VALUES ('token:appeal', $1) ON CONFLICT (name) DO NOTHING`, [randomBytes(32).toString('base64')]);
  }

  async down(): Promise<void> {
    // Left: the older code uses the key as it finds it, and deleting it would void the appeal tokens out.
  }
}
