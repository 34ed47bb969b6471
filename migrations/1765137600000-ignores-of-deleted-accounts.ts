import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Ignores of or by a deleted account go. An account's deletion removes them in the transaction
 * that marks it deleted, but before c4c8e49 an ignore of an account already deleted was still
 * written, and one set while the account was being deleted outlived it. Such a row showed in
 * `ignoredUsers` as the anonymised account and counted toward the cap, and since `unignoreUser`
 * of a deleted account answers NOT_FOUND nothing could clear it.
 *
 * Down restores nothing: the rows name accounts that no longer exist for anyone, and the code
 * before does not need them.
 */
export class IgnoresOfDeletedAccounts1765137600000 implements MigrationInterface {
  name = 'IgnoresOfDeletedAccounts1765137600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      DELETE FROM user_ignores i
       USING users u
       WHERE u.deleted_at IS NOT NULL AND u.id IN (i.user_id, i.ignored_user_id)
    `);
  }

  async down(): Promise<void> {
    // Nothing to restore (see above).
  }
}
