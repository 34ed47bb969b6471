import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * An address an account's owner asked to move to (`changeEmail`), and when: it becomes the
 * account's address only once the link e-mailed to it is opened (`confirmEmailChange`), so
 * until then mail goes on going to the address the account has. A deleted account holds none,
 * as it holds no address.
 */
export class PendingEmailChange1764838800000 implements MigrationInterface {
  name = 'PendingEmailChange1764838800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE users ADD COLUMN pending_email text, ADD COLUMN pending_email_at timestamptz`);
    await q.query(`ALTER TABLE users ADD CONSTRAINT users_pending_email_dated CHECK ((pending_email IS NULL) = (pending_email_at IS NULL))`);
    await q.query(`ALTER TABLE users ADD CONSTRAINT users_deleted_pends_nothing CHECK (deleted_at IS NULL OR pending_email IS NULL)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE users DROP CONSTRAINT users_deleted_pends_nothing, DROP CONSTRAINT users_pending_email_dated`);
    await q.query(`ALTER TABLE users DROP COLUMN pending_email_at, DROP COLUMN pending_email`);
  }
}
