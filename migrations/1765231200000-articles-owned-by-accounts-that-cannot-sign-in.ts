import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Articles owned by an account that cannot sign in, deleted or an imported author's placeholder,
 * are owned by nobody (`owner_user_id` set null), as an account's deletion has left them since
 * 356ed5c (`AccountDeletionService.anonymize`). Those deleted before still named it: shown as their
 * owner (`Article.owner`), its verification reminders and helpfulness feedback went to nobody, and
 * their authors, reminded only of articles nobody owns, were never asked. A placeholder is never
 * made owner (`updateArticleSettings` refuses one, and an article's first owner is its signed-in
 * author), but one made owner by an earlier release or a data fix stood so for the same reasons.
 * Each such article's version goes up and `updated_at` is now, as every article write and the
 * deletion's release of ownership do; an owning group is left as it is.
 *
 * Not logged, as a deletion's release of ownership is not. Down restores nothing: the owner was
 * nobody who could act on it, and the code before reads an article owned by nobody.
 */
export class ArticlesOwnedByAccountsThatCannotSignIn1765231200000 implements MigrationInterface {
  name = 'ArticlesOwnedByAccountsThatCannotSignIn1765231200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      UPDATE articles a SET owner_user_id = NULL, version = a.version + 1, updated_at = now()
        FROM users u
       WHERE u.id = a.owner_user_id AND (u.is_placeholder OR u.deleted_at IS NOT NULL)
    `);
  }

  async down(): Promise<void> {
    // Nothing to restore (see above).
  }
}
