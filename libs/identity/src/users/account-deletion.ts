import { Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { AuditLog } from '../../../core/src/audit/audit-log';
import { Tx, UnitOfWork } from '../../../core/src/database/unit-of-work';
import { AppError } from '../../../core/src/errors';
import { Viewer } from '../../../core/src/graphql/viewer';
import { isUuid } from '../../../core/src/ids';
import { RateLimiter, RateRule } from '../../../core/src/rate-limit';
import { emitSessionsRevoked, recheckPassword } from '../auth/auth.service';
import { SessionsService } from '../sessions/sessions.service';
import { GlobalRoleEnum, toUserModel, UserModel, UserRow } from './user.model';
import { ACCOUNT_LOCK, USER_COLUMNS, UsersRepository } from './users.repository';
import { GroupMemberships } from '../groups/group-memberships';
import { ERASED_IMPORT_DIGEST } from './erased-import-digest';

/** What an anonymised account is called: its handle is `deleted-<8 hex>`, unique, and fits the handles' CHECK. */
export const DELETED_DISPLAY_NAME = 'Deleted user';
/** The outbox event of an account deleted or anonymised (its id only). */
export const USER_ANONYMIZED = 'user.anonymized';
/**
 * Failed attempts at deleting one's own account, per account and hour: a sensitive action, so
 * beside the sign-in failures, which a successful sign-in clears, these stay.
 */
export const ACCOUNT_DELETION_PER_USER: RateRule = { bucket: 'account-deletion:user', limit: 5, windowSeconds: 3600 };

/**
 * The transaction-scoped advisory lock on an account's deletion: the deletion takes it
 * exclusively, first in its transaction (before the account's row); a reader whose decision must
 * not outlive a deletion under way takes it shared (`holdAgainstDeletion`) and reads `deleted_at`
 * in its next statement: a deletion under way is waited for and seen, and one begun after waits
 * until that reader has committed. The row's lock cannot say it: the deletion's write of the row
 * is any update's (FOR NO KEY UPDATE), so a row lock that waited for it (FOR SHARE) held the
 * member's own profile update too, until the reader committed.
 */
const DELETION_LOCK = (mode: '' | '_shared') => `SELECT pg_advisory_xact_lock${mode}(hashtextextended('parvis:account-deletion:' || $1::text, 0))`;

/**
 * Holds off the deletion of account `userId` until `tx` ends, waiting first for one under way:
 * `deleted_at`, read in a later statement of `tx`, stays as read until then.
 */
export async function holdAgainstDeletion(tx: Tx, userId: string): Promise<void> {
  await tx.query(DELETION_LOCK('_shared'), [userId]);
}

/**
 * Deleting an account (by its owner, `deleteMyAccount`) and anonymising one (by an admin,
 * `anonymizeUser`, e.g. on a GDPR request) are one operation: the account keeps its id, so
 * what it wrote for the community (posts, topics, ideas, votes, reactions, articles) stays,
 * shown under a neutral handle and name; everything that is about the person goes, in one
 * transaction. Moderation history stays (sanctions, their e-mail and IP bans, appeals,
 * reports filed and received, the moderation log), so deleting an account is no way round a
 * ban, nor a way to erase what moderators decided. The reports it received that are still open
 * stay open too, for a moderator to decide (a sanction with them, an IP ban reading its ended
 * sessions): closing them here would let a member clear them by deleting the account.
 */
@Injectable()
export class AccountDeletionService {
  constructor(
    private readonly users: UsersRepository,
    private readonly sessions: SessionsService,
    private readonly limiter: RateLimiter,
    private readonly uow: UnitOfWork,
    private readonly audit: AuditLog,
    private readonly memberships: GroupMemberships,
  ) {}

  /**
   * The signed-in member deletes their own account, given its password. Staff are refused
   * (FORBIDDEN: an admin makes them a member first), before anything is counted; a wrong
   * password counts as a failed sign-in of the account (shared with `signIn`) and against
   * ACCOUNT_DELETION_PER_USER.
   *
   * No account is signed in without a password: every session is opened by one (`signIn`,
   * `signUp`, `resetPassword`), a placeholder never gets one, and a deletion revokes the
   * account's sessions as it clears its password. An account deleted meanwhile is no session
   * (UNAUTHENTICATED); one still signed in without a password (made outside the app) is
   * FORBIDDEN, counting nothing: it is signed in, and no password it sends could prove it is
   * its owner's, until a password reset gives it one.
   */
  async deleteOwn(viewer: Viewer, password: string, meta: { ip: string }): Promise<void> {
    if (!viewer.user || !viewer.sessionId) throw AppError.unauthenticated();
    const userId = viewer.user.id;
    const user = await this.users.findCredentials(userId);
    if (!user || user.deleted_at) throw AppError.unauthenticated();
    if (user.role !== GlobalRoleEnum.MEMBER) throw staffRefused();
    if (!user.password_hash) throw AppError.forbidden('Your account has no password: set one (requestPasswordReset) to delete the account');
    if (!(await recheckPassword(this.limiter, user, password, meta.ip, [[ACCOUNT_DELETION_PER_USER, userId]]))) {
      throw AppError.unauthenticated('Wrong password');
    }
    await this.uow.run(async (tx) => {
      const locked = await this.lockUser(tx, userId);
      // Changed since it was checked: a new password, or a promotion, decides otherwise.
      if (!locked || locked.deleted_at) throw AppError.unauthenticated();
      if (locked.password_hash !== user.password_hash) throw AppError.conflict('Your password was changed meanwhile; try again');
      if (locked.role !== GlobalRoleEnum.MEMBER) throw staffRefused();
      await this.anonymize(tx, locked, userId);
    });
  }

  /**
   * An admin anonymises an account that is not an admin's (a moderator's loses the role with
   * it), logged in the moderation log with the account's id and nothing else about the person.
   * An account deleted already is CONFLICT, and nothing is written.
   */
  async anonymizeByAdmin(viewer: Viewer, userId: string): Promise<UserModel> {
    if (!viewer.user) throw AppError.unauthenticated();
    if (!viewer.isAdmin) throw AppError.forbidden('Only admins anonymise accounts');
    if (!isUuid(userId)) throw AppError.notFound('User not found');
    return this.uow.run(async (tx) => {
      const locked = await this.lockUser(tx, userId);
      if (!locked) throw AppError.notFound('User not found');
      if (locked.role === GlobalRoleEnum.ADMIN) throw AppError.forbidden('Admins cannot be anonymised: make them a member first');
      if (locked.deleted_at) throw AppError.conflict('This account is deleted already');
      const row = await this.anonymize(tx, locked, viewer.id);
      await this.audit.append(tx, {
        actorId: viewer.id,
        action: 'user.anonymize',
        targetType: 'user',
        targetId: userId,
        spaceId: null,
        // The role it lost (not personal data), when it had one.
        before: locked.role !== GlobalRoleEnum.MEMBER ? { role: locked.role } : null,
      });
      return toUserModel(row);
    });
  }

  /** The account's row locked for its deletion, after the deletion's own lock (DELETION_LOCK), taken while nothing else is held. */
  private async lockUser(tx: Tx, userId: string) {
    await tx.query(DELETION_LOCK(''), [userId]);
    return tx.one<UserRow & { password_hash: string | null; deleted_at: Date | null }>(
      `SELECT ${USER_COLUMNS()}, password_hash, deleted_at FROM users WHERE id = $1 ${ACCOUNT_LOCK}`,
      [userId],
    );
  }

  /** The anonymisation itself, in the caller's transaction, on the locked row of an account not deleted yet. */
  private async anonymize(tx: Tx, user: UserRow, actorId: string | null): Promise<UserRow> {
    const [row] = await tx.query<UserRow>(
      `UPDATE users SET handle = $2, display_name = $3, email = NULL, password_hash = NULL, email_verified_at = NULL, pending_email = NULL, pending_email_at = NULL,
              bio = NULL, bio_html = NULL, location = NULL, website = NULL,
              digest_sent_at = NULL, role = 'MEMBER', trust_level_locked = false, deleted_at = now(), updated_at = now()
        WHERE id = $1 RETURNING ${USER_COLUMNS()}`,
      [user.id, await this.freeHandle(tx), DELETED_DISPLAY_NAME],
    );
    // What is about the person, not the community's: who they are with (groups and requests to join them, grants,
    // ignores both ways), what they follow, read (and the announcements they put away), keep (bookmarks) and were writing (drafts), their
    // settings and their news; the articles it owned, which nobody owns then; the digest an import kept of their profile in a dump. Votes (idea and poll votes), reactions, ratings
    // and credits stay with the content they count for.
    // Its groups as any member leaves them (logged by ids alone, live rooms told), after its row:
    // the account first, then the groups, as every write that holds an account takes them. Its
    // requests stay, ended and without their messages, so deciding one is CONFLICT, not NOT_FOUND.
    await this.memberships.removeDeletedAccount(tx, user.id, actorId);
    // Its sessions revoked before its visits go: a request that read one live before this commits
    // touches it, counting a visit, either before the revocation (a visit the statement below then
    // empties) or after this commits (and finds it revoked: no visit, see SessionsService.resolve).
    // Ended sessions keep their addresses until they are pruned (90 days), as every ended
    // session does: an IP ban of the account reads them.
    if ((await this.sessions.revokeAllForUser(user.id, tx.manager)) > 0) await emitSessionsRevoked(tx, user.id);
    await tx.query(
      `WITH sg AS (DELETE FROM space_grants WHERE user_id = $1),
            i AS (DELETE FROM user_ignores WHERE user_id = $1 OR ignored_user_id = $1),
            tw AS (DELETE FROM topic_watches WHERE user_id = $1),
            bw AS (DELETE FROM board_watches WHERE user_id = $1),
            gw AS (DELETE FROM tag_watches WHERE user_id = $1),
            ep AS (DELETE FROM email_preferences WHERE user_id = $1),
            n AS (DELETE FROM notifications WHERE user_id = $1),
            tr AS (DELETE FROM topic_reads WHERE user_id = $1),
            pb AS (DELETE FROM post_bookmarks WHERE user_id = $1),
            dr AS (DELETE FROM drafts WHERE user_id = $1),
            pd AS (DELETE FROM topic_pin_dismissals WHERE user_id = $1),
            -- A duty it held: the articles it owned are owned by nobody now, kept up to date by their
            -- authors and the space's editors, as the column's ON DELETE SET NULL meant for an account that goes.
            ao AS (UPDATE articles SET owner_user_id = NULL, version = version + 1, updated_at = now() WHERE owner_user_id = $1),
            -- What a dump said of the person (a hash of their old profile there) goes with the profile: the link itself
            -- stays, so a re-import finds the account and leaves it anonymised rather than making the person again.
            il AS (UPDATE import_links SET digest = $2 WHERE kind = 'user' AND local_id = $1 AND digest IS DISTINCT FROM $2)
       DELETE FROM user_visits WHERE user_id = $1`,
      [user.id, ERASED_IMPORT_DIGEST],
    );
    await tx.emit({ type: USER_ANONYMIZED, aggregateType: 'user', aggregateId: user.id, payload: { userId: user.id } });
    return row;
  }

  /** A `deleted-<8 hex>` handle nobody has (read under this transaction; a clash is one in four billion). */
  private async freeHandle(tx: Tx): Promise<string> {
    for (;;) {
      const handle = `deleted-${randomBytes(4).toString('hex')}`;
      if (!(await tx.one(`SELECT 1 FROM users WHERE lower(handle) = $1`, [handle]))) return handle;
    }
  }
}

const staffRefused = () =>
  AppError.forbidden('Moderators and admins cannot delete their account: an admin must make you a member first');
