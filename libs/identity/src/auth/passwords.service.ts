import { AutomaticGroupsService } from '../groups/automatic-groups';
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { outboxInsertSql, UnitOfWork } from '../../../core/src/database/unit-of-work';
import { AppError } from '../../../core/src/errors';
import { sanctionLockSql } from '../../../access/src/sanction-lock';
import { networkOf } from '../../../core/src/http/client-address';
import { Viewer } from '../../../core/src/graphql/viewer';
import { RateLimiter, RateRule } from '../../../core/src/rate-limit';
import { SignedTokens } from '../../../core/src/signed-tokens';
import { SessionsService } from '../sessions/sessions.service';
import { toUserModel, UserModel } from '../users/user.model';
import { UsersRepository } from '../users/users.repository';
import { readBound, signBound, stillBound } from './bound-tokens';
import { refuseBarred } from './barred';
import { AuthResult, AuthService, emitSessionsRevoked, hashPassword, normalizeEmail, recheckPassword, refuseOwnIdentifiers, SIGN_IN_PER_LOGIN, signInAccountKey } from './auth.service';
import { ChangePasswordInput, RequestPasswordResetInput, ResetPasswordInput } from './dto/auth.inputs';

/** The `SignedTokens` purpose of password reset links, and how long one works. */
export const PASSWORD_RESET_PURPOSE = 'password-reset';
export const PASSWORD_RESET_TTL_SECONDS = 3600;
/** The outbox event that has the reset e-mail sent (`PasswordResetMail`); it carries the user's id only. */
export const PASSWORD_RESET_REQUESTED = 'user.password_reset_requested';

/** Reset requests per address (as given, known or not) and per network, in an hour: each may e-mail someone. */
export const PASSWORD_RESET_PER_ADDRESS: RateRule = { bucket: 'password-reset:address', limit: 3, windowSeconds: 3600 };
export const PASSWORD_RESET_PER_IP: RateRule = { bucket: 'password-reset:ip', limit: 10, windowSeconds: 3600 };

/**
 * What a reset link is bound to besides its user (`bound-tokens`): the password hash it was
 * issued against, and the address it was sent to. Any change of password (this reset,
 * `changePassword`, even the same password again, which gets a new salt) changes it, so a link
 * works once and dies with the password it was meant to replace; and a link in the mailbox an
 * account has just moved away from (`confirmEmailChange`) no longer opens the account.
 */
const boundCredentials = (user: { password_hash: string | null; email: string | null }) => `${user.password_hash ?? ''}\n${(user.email ?? '').toLowerCase()}`;

const badToken = () => AppError.badField('token', 'This reset link is not valid or has expired; ask for a new one');

/** Changing a password, and resetting a forgotten one through a link sent by e-mail. */
@Injectable()
export class PasswordsService {
  constructor(
    private readonly ds: DataSource,
    private readonly users: UsersRepository,
    private readonly sessions: SessionsService,
    private readonly limiter: RateLimiter,
    private readonly uow: UnitOfWork,
    private readonly tokens: SignedTokens,
    private readonly auth: AuthService,
    private readonly automaticGroups: AutomaticGroupsService,
  ) {}

  /**
   * The signed-in user's new password, against their current one. Every other session ends
   * (whoever else holds one may be who the change is meant to shut out); this one goes on.
   */
  async changePassword(viewer: Viewer, input: ChangePasswordInput, meta: { ip: string }): Promise<UserModel> {
    if (!viewer.user || !viewer.sessionId) throw AppError.unauthenticated();
    const userId = viewer.user.id;
    const sessionId = viewer.sessionId;
    const user = await this.users.findCredentials(userId);
    if (!user) throw AppError.unauthenticated();
    // What the input alone refuses costs no attempt (the session holder can read the account's
    // e-mail and handle anyway).
    refuseOwnIdentifiers(input.newPassword, user, 'newPassword');
    // Guesses at the current password count with the account's failed sign-ins.
    if (!(await recheckPassword(this.limiter, user, input.currentPassword, meta.ip))) throw AppError.badField('currentPassword', 'is not your current password');

    const passwordHash = await hashPassword(input.newPassword);
    const row = await this.uow.run(async (tx) => {
      const locked = await this.users.findCredentials(userId, { manager: tx.manager, lock: true });
      // Changed (or reset) since it was checked: this change was decided on a password that is gone.
      if (!locked || locked.password_hash !== user.password_hash) throw AppError.conflict('Your password was changed meanwhile; try again');
      const updated = await this.users.setPasswordHash(userId, passwordHash, tx.manager);
      if ((await this.sessions.revokeAllForUser(userId, tx.manager, sessionId)) > 0) await emitSessionsRevoked(tx, userId);
      return updated!;
    });
    return Object.assign(toUserModel(row), { isAuthenticatedSelf: true });
  }

  /**
   * Queues a reset e-mail when the address is an account's, and does the same work when it is
   * not: the limits count the address as given, and one statement writes the outbox event or
   * nothing. The answer never says which; the e-mail is sent by the worker, after the answer.
   */
  async requestPasswordReset(input: RequestPasswordResetInput, meta: { ip: string }): Promise<true> {
    const email = normalizeEmail(input.email);
    await this.ds.transaction(async (m) => {
      // The address as the lookup below compares it (PostgreSQL's lower, not JavaScript's: they
      // differ on letters such as İ), so every spelling that finds an account counts against it.
      const [{ key }] = await m.query(`SELECT lower($1) AS key`, [email]);
      await this.limiter.hitWithin(m, [
        [PASSWORD_RESET_PER_ADDRESS, key],
        [PASSWORD_RESET_PER_IP, networkOf(meta.ip)],
      ]);
      await m.query(
        outboxInsertSql(
          `SELECT $2::text, 'user', id, 1, jsonb_build_object('userId', id) FROM users WHERE lower(email) = lower($1) AND NOT is_placeholder`,
        ),
        [email, PASSWORD_RESET_REQUESTED],
      );
    });
    return true;
  }

  /** A reset token for the user's current password, good for `ttlSeconds`. */
  resetToken(user: { id: string; password_hash: string | null; email: string | null }, ttlSeconds = PASSWORD_RESET_TTL_SECONDS): Promise<string> {
    return signBound(this.tokens, PASSWORD_RESET_PURPOSE, user.id, boundCredentials(user), ttlSeconds);
  }

  /**
   * Sets a new password with a reset link's token and signs in afresh: every session of the
   * account ends (whoever knew the old password is out), and a new one is issued. A bad,
   * expired or used token is BAD_USER_INPUT on `token` and changes nothing; a member suspended
   * or banned site-wide is refused as signIn refuses them, also changing nothing.
   */
  async resetPassword(input: ResetPasswordInput, meta: { ip: string; userAgent?: string }): Promise<AuthResult> {
    const claim = await readBound(this.tokens, PASSWORD_RESET_PURPOSE, input.token);
    const user = claim ? await this.users.findCredentials(claim.userId) : undefined;
    if (!claim || !user || user.is_placeholder || !stillBound(claim.fingerprint, user.id, boundCredentials(user))) throw badToken();
    // Refused early too (before hashing, ahead of the new password's own refusals, as ever); the
    // check that decides is the one in the transaction below.
    await refuseBarred(this.ds, user.id, { member: this.tokens });
    refuseOwnIdentifiers(input.newPassword, user, 'newPassword');

    const passwordHash = await hashPassword(input.newPassword);
    const result = await this.uow.run(async (tx) => {
      // The member's sanction lock, shared, before the account's row (`sanctionLockSql`),
      // as a suspension or ban takes it exclusively before anything: the sanction's FOR KEY SHARE
      // of the row lets the row lock below by, so without it a ban committed after the check
      // above still had the password reset and a session issued. Now a ban committed first is
      // read here (a statement after the lock's) and refuses this, writing nothing (the link
      // still works once the sanction is lifted or over); a ban begun meanwhile waits for this
      // to commit and then revokes the session it issued.
      await tx.query(`SELECT ${sanctionLockSql('$1', 'shared')}`, [user.id]);
      // Checked again on the locked row: of two resets with one link, the second finds the
      // password it was bound to gone.
      const locked = await this.users.findCredentials(user.id, { manager: tx.manager, lock: true });
      if (!locked || !stillBound(claim.fingerprint, locked.id, boundCredentials(locked))) throw badToken();
      await refuseBarred(tx, user.id, { member: this.tokens });
      const row = await this.users.setPasswordHash(user.id, passwordHash, tx.manager);
      // The link came to the account's address: whoever opened it reads that mailbox.
      // Confirmed now (not again): its domain's groups take the account in.
      await this.automaticGroups.following(tx, user.id, () => this.users.markEmailVerified(user.id, tx.manager));
      if ((await this.sessions.revokeAllForUser(user.id, tx.manager)) > 0) await emitSessionsRevoked(tx, user.id);
      const token = await this.sessions.issue(user.id, meta, tx.manager);
      return { token, user: Object.assign(toUserModel(row!), { isAuthenticatedSelf: true }) };
    });
    // Whoever locked the account's sign-in with wrong guesses no longer keeps its owner out.
    await this.limiter.clear(SIGN_IN_PER_LOGIN, signInAccountKey(user.id));
    return result;
  }
}
