import { MigrationInterface, QueryRunner } from 'typeorm';

/** The per-person tables an account's deletion empties of its rows (`AccountDeletionService.anonymize`), and the column naming the person. */
export const PERSONAL_TABLES: ReadonlyArray<[table: string, column: string]> = [
  ['topic_reads', 'user_id'],
  ['post_bookmarks', 'user_id'],
  ['drafts', 'user_id'],
  ['user_ignores', 'user_id'],
  ['email_preferences', 'user_id'],
  ['topic_pin_dismissals', 'user_id'],
  ['user_visits', 'user_id'],
];

/**
 * What an account's deletion takes as being about the person, not the community's, goes for every
 * account that cannot sign in: read marks, bookmarks (and their reminders), drafts, the ignores
 * it set, e-mail settings, dismissed announcements and visits, of imported authors' placeholder
 * accounts and of deleted accounts. Migration 1765173600000 took their notifications and watches,
 * 1765137600000 the ignores of and by deleted accounts; nothing took the rest. A deletion empties
 * them in its transaction, but not the dismissals before 7951039, and a placeholder was never
 * deleted: whatever earlier releases, data fixes or an account made a placeholder left it stayed.
 * Nobody can use them (nobody signs in to either account), and code still read them for others: a
 * reminder still fired (the `fire-bookmark-reminders` job, its outbox event and the delivery that
 * found nobody to tell), a visit showed the account as last seen (`User.lastSeenAt`), a read mark
 * was rewritten by every `movePosts` out of its topic and counted in a deleted account's trust
 * level (`TrustLevels.recompute`), and a draft was walked by its pruning.
 *
 * Ignores of a placeholder by others stay: they fold its posts away for whoever set them. Votes,
 * reactions, ratings and credits stay with the content they count for, as a deletion keeps them;
 * sessions too (ended ones keep their addresses for IP bans until pruned).
 *
 * Not logged, as a deletion's removal of them is not. Down restores nothing: nobody could read or
 * change them, and the code before needs none of them.
 */
export class PersonalRowsOfAccountsThatCannotSignIn1765191600000 implements MigrationInterface {
  name = 'PersonalRowsOfAccountsThatCannotSignIn1765191600000';

  async up(q: QueryRunner): Promise<void> {
    for (const [table, column] of PERSONAL_TABLES) {
      await q.query(`
        DELETE FROM ${table} x
         USING users u
         WHERE u.id = x.${column} AND (u.is_placeholder OR u.deleted_at IS NOT NULL)
      `);
    }
  }

  async down(): Promise<void> {
    // Nothing to restore (see above).
  }
}
