import { AutomaticGroupsService } from '../groups/automatic-groups';
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { rowsOf, Tx, UnitOfWork } from '../../../core/src/database/unit-of-work';
import { AppError } from '../../../core/src/errors';
import { Viewer } from '../../../core/src/graphql/viewer';
import { RateLimiter, RateRule } from '../../../core/src/rate-limit';
import { SignedTokens } from '../../../core/src/signed-tokens';
import { ACCOUNT_LOCK, USER_COLUMNS, UsersRepository } from '../users/users.repository';
import { toUserModel, UserModel, UserRow } from '../users/user.model';
import { normalizeEmail, recheckPassword } from './auth.service';
import { readBound, signBound, stillBound } from './bound-tokens';
import { AddressRefusals, refuseTakenOrBanned } from './address-standing';
import { refuseBarred } from './barred';
import { sanctionLockSql } from '../../../access/src/sanction-lock';

export const EMAIL_CHANGE_PURPOSE = 'email-change';
/** A day: long enough to reach the new mailbox, short enough that a forgotten request dies. */
export const EMAIL_CHANGE_TTL_SECONDS = 24 * 3600;
/** The outbox event that has the confirmation link sent to the new address (`EmailChangeMail`); it carries the user's id only. */
export const EMAIL_CHANGE_REQUESTED = 'user.email_change_requested';
/** The outbox event that has the address the account has now told of the request (`EmailChangeNotice`). */
export const EMAIL_CHANGE_NOTICE = 'user.email_change_notice';
/** Changes a member may ask for in an hour: each e-mails two addresses. */
export const EMAIL_CHANGES_PER_USER: RateRule = { bucket: 'email-change:user', limit: 3, windowSeconds: 3600 };

/** What a change link is bound to besides its user (`bound-tokens`): the address it was sent to, while the change waits for it. */
const boundAddress = (email: string) => `pending:${email.toLowerCase()}`;

const badToken = () => AppError.badField('token', 'This confirmation link is not valid or has expired; change your address again to get a new one');
const taken = (field: string) => AppError.badField(field, 'is already registered');

/**
 * Moving an account to another e-mail address. The owner asks with their password
 * (`changeEmail`); the account keeps its address, and every e-mail goes on going there, until
 * the link sent to the new one is opened (`confirmEmailChange`): a stolen session cannot move an
 * account's mail (and with it its password resets) to a mailbox of the thief's, and nobody can
 * put an address they do not read on an account. The address the account has is told of the
 * request, when it is confirmed, so that its owner hears of a change they did not ask for.
 * A confirmed change confirms the new address. Asking again replaces the waiting change, whose
 * link dies; so does `cancelEmailChange`.
 */
@Injectable()
export class EmailChangeService {
  constructor(
    private readonly ds: DataSource,
    private readonly uow: UnitOfWork,
    private readonly tokens: SignedTokens,
    private readonly limiter: RateLimiter,
    private readonly users: UsersRepository,
    private readonly automaticGroups: AutomaticGroupsService,
  ) {}

  async request(viewer: Viewer, input: { newEmail: string; currentPassword: string }, meta: { ip: string }): Promise<UserModel> {
    const userId = signedInMember(viewer);
    const user = await this.users.findCredentials(userId);
    if (!user || user.is_placeholder) throw AppError.unauthenticated();
    const email = normalizeEmail(input.newEmail);
    // What the input alone refuses costs no attempt (the session holder can read the address anyway).
    const [same] = await this.ds.query(`SELECT lower($1) = lower($2) AS same`, [email, user.email ?? '']);
    if (same.same) throw AppError.badField('newEmail', 'is the address your account has');
    // Guesses at the password count with the account's failed sign-ins, as changePassword's do.
    if (!(await recheckPassword(this.limiter, user, input.currentPassword, meta.ip))) throw AppError.badField('currentPassword', 'is not your current password');

    // Every attempt past these counts, refused or not, as sign-up's do: a refusal for an address
    // taken or banned tells about it, and counted in the change's transaction it went back with
    // the refusal, so a member could ask about any number of addresses. Reserved atomically (its
    // own transaction, under the limit's lock), so parallel requests cannot slip under the limit.
    await this.limiter.reserve([[EMAIL_CHANGES_PER_USER, userId]]);
    const row = await this.uow.run(async (tx) => {
      // As sign-up says of an address taken or banned: it tells no more than sign-up does.
      await refuseTakenOrBanned(tx, email, addressRefusals('newEmail'), { exceptUserId: userId });
      const updated = await tx.one<UserRow & { email_verified_at: Date | null }>(
        `UPDATE users SET pending_email = $2, pending_email_at = now(), updated_at = now()
          WHERE id = $1 AND deleted_at IS NULL RETURNING ${USER_COLUMNS()}, email_verified_at`,
        [userId, email],
      );
      if (!updated) throw AppError.unauthenticated();
      await tx.emit({ type: EMAIL_CHANGE_REQUESTED, aggregateType: 'user', aggregateId: userId, payload: { userId } });
      // Only a confirmed address is told: an unconfirmed one may be a stranger's mailbox.
      if (updated.email && updated.email_verified_at) await tx.emit({ type: EMAIL_CHANGE_NOTICE, aggregateType: 'user', aggregateId: userId, payload: { userId } });
      return updated;
    });
    return Object.assign(toUserModel(row), { isAuthenticatedSelf: true });
  }

  /** Drops the change waiting for confirmation, if any; its link dies. */
  async cancel(viewer: Viewer): Promise<UserModel> {
    const userId = signedInMember(viewer);
    const [row] = rowsOf<UserRow>(
      await this.ds.query(
        `UPDATE users SET pending_email = NULL, pending_email_at = NULL, updated_at = CASE WHEN pending_email IS NULL THEN updated_at ELSE now() END
          WHERE id = $1 RETURNING ${USER_COLUMNS()}`,
        [userId],
      ),
    );
    if (!row) throw AppError.unauthenticated();
    return Object.assign(toUserModel(row), { isAuthenticatedSelf: true });
  }

  /** A link confirming the change to `pendingEmail`, good for `ttlSeconds`. */
  token(user: { id: string; pendingEmail: string }, ttlSeconds = EMAIL_CHANGE_TTL_SECONDS): Promise<string> {
    return signBound(this.tokens, EMAIL_CHANGE_PURPOSE, user.id, boundAddress(user.pendingEmail), ttlSeconds);
  }

  /**
   * Makes the waiting address the account's, confirmed, with a link's token (signed in or not:
   * the link is opened from the new mailbox). BAD_USER_INPUT on `token` when the link is bad,
   * expired, for a change replaced or cancelled since, for an address another account took
   * meanwhile, or one banned since the request (`refuseTakenOrBanned`). FORBIDDEN while the
   * account stands suspended or banned site-wide (`refuseBarred`, naming its kind and end only:
   * the new mailbox may be a stranger's, so no reason and no appeal token): a ban's address bans hold the
   * address it had, and a change asked for before the ban would move it to one no ban covers.
   * Either refusal writes nothing and leaves the change waiting, so the link works once neither
   * holds. Opening it again once the change is made is harmless: true.
   *
   * Before the account's row, the member's sanction lock is taken shared
   * (`sanctionLockSql`), which a suspension or ban takes exclusively before it reads the address it bans:
   * the FOR KEY SHARE a sanction holds the row with lets this row lock by, so without it a ban
   * and a confirmation under way together each missed the other (the ban banning the old
   * address, the confirmation reading no ban) and the banned account ended at a new address.
   * Now one waits for the other: a ban committed first is read here (a statement after the
   * lock's) and refuses this; a ban begun meanwhile waits for this to commit and bans the new address.
   */
  async confirm(token: string): Promise<true> {
    const claim = await readBound(this.tokens, EMAIL_CHANGE_PURPOSE, token);
    if (!claim) throw badToken();
    await this.uow.run(async (tx) => {
      await tx.query(`SELECT ${sanctionLockSql('$1', 'shared')}`, [claim.userId]);
      const user = await tx.one<{ email: string | null; pending_email: string | null; is_placeholder: boolean; deleted_at: Date | null }>(
        `SELECT email, pending_email, is_placeholder, deleted_at FROM users WHERE id = $1 ${ACCOUNT_LOCK}`,
        [claim.userId],
      );
      if (!user || user.is_placeholder || user.deleted_at) throw badToken();
      if (user.pending_email === null) {
        // Made already by this link (opened twice, or by a mail client's preview first).
        if (user.email !== null && stillBound(claim.fingerprint, claim.userId, boundAddress(user.email))) return;
        throw badToken();
      }
      if (!stillBound(claim.fingerprint, claim.userId, boundAddress(user.pending_email))) throw badToken();
      // Its identity stays as the sanction found it. The link's holder reads an address the
      // account does not have yet, maybe a stranger's (a typo): told the sanction's kind and end
      // only, not its reason nor a token to appeal with, which the member gets by signing in.
      await refuseBarred(tx, claim.userId, { pendingMailbox: 'its e-mail address cannot change while it is' });
      // Asked again as the request asked it: a ban of the address that came while the link waited refuses it too.
      await refuseTakenOrBanned(tx, user.pending_email, addressRefusals('token'), { exceptUserId: claim.userId });
      // Groups joined by the old address's domain are left, those of the new one's joined (at another domain).
      await this.automaticGroups.following(tx, claim.userId, () => tx.query(
        `UPDATE users SET email = pending_email, email_verified_at = now(), pending_email = NULL, pending_email_at = NULL, updated_at = now()
          WHERE id = $1`,
        [claim.userId],
      ));
    }).catch((err: unknown) => {
      // Another account took the address between the check and the update.
      if ((err as { code?: string; constraint?: string }).code === '23505' && String((err as { constraint?: string }).constraint).includes('email')) throw taken('token');
      throw err;
    });
    return true;
  }
}

/**
 * An address another account has, or one a ban standing holds (`refuseTakenOrBanned`, sign-up's
 * and invitations' check): BAD_USER_INPUT on `field`, in sign-up's words. Asked by the request,
 * and again by the confirmation, since a ban may come while the link waits.
 */
const addressRefusals = (field: string): AddressRefusals => ({ taken: () => taken(field), banned: () => AppError.badField(field, 'is not accepted here') });

function signedInMember(viewer: Viewer): string {
  if (!viewer.user || !viewer.sessionId) throw AppError.unauthenticated();
  return viewer.user.id;
}
