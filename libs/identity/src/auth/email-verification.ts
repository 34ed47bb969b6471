import { UnitOfWork } from '../../../core/src/database/unit-of-work';
import { AutomaticGroupsService } from '../groups/automatic-groups';
import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { outboxInsertSql } from '../../../core/src/database/unit-of-work';
import { AppError } from '../../../core/src/errors';
import { Viewer } from '../../../core/src/graphql/viewer';
import { RateLimiter, RateRule } from '../../../core/src/rate-limit';
import { SignedTokens } from '../../../core/src/signed-tokens';
import { UsersRepository } from '../users/users.repository';
import { readBound, signBound, stillBound } from './bound-tokens';

export const EMAIL_VERIFICATION_PURPOSE = 'email-verification';
/** A week: a link read late still works, and an address nobody confirms stays unconfirmed. */
export const EMAIL_VERIFICATION_TTL_SECONDS = 7 * 24 * 3600;
/** The outbox event that has the confirmation e-mail sent (`EmailVerificationMail`); it carries the user's id only. */
export const EMAIL_VERIFICATION_REQUESTED = 'user.email_verification_requested';
/** Confirmation e-mails a member may ask to be sent again, in an hour. */
export const EMAIL_VERIFICATION_RESENDS: RateRule = { bucket: 'email-verification:user', limit: 3, windowSeconds: 3600 };

/** What a confirmation link is bound to besides its user (`bound-tokens`): the address it was sent to. */
const boundAddress = (email: string) => email.toLowerCase();

const badToken = () => AppError.badField('token', 'This confirmation link is not valid or has expired; ask for a new one');

/**
 * Confirming that an account's e-mail address is its owner's. A sign-up works at once, but no
 * notification e-mail goes to its address until the link e-mailed to it has been opened
 * (`verifyEmail`), so nobody can have someone else's mailbox sent news by signing up with it.
 * Opening a password reset link confirms the address too. Accounts an operator creates (the
 * CLI, the demo seed) are confirmed from the start. An address on the bounce list (a mail
 * server refused it for good) is confirmed again the same way: the link opened shows the
 * mailbox receives mail, and takes it off the list.
 */
@Injectable()
export class EmailVerificationService {
  constructor(
    private readonly ds: DataSource,
    private readonly tokens: SignedTokens,
    private readonly limiter: RateLimiter,
    private readonly users: UsersRepository,
    private readonly uow: UnitOfWork,
    private readonly automaticGroups: AutomaticGroupsService,
  ) {}

  /** Queues the confirmation e-mail, in the caller's transaction. */
  async request(m: EntityManager, userId: string): Promise<void> {
    await m.query(outboxInsertSql(`SELECT $2::text, 'user', $1::uuid, 1, jsonb_build_object('userId', $1::uuid)`), [userId, EMAIL_VERIFICATION_REQUESTED]);
  }

  /** A confirmation token for the user's address as it is now. */
  token(user: { id: string; email: string }, ttlSeconds = EMAIL_VERIFICATION_TTL_SECONDS): Promise<string> {
    return signBound(this.tokens, EMAIL_VERIFICATION_PURPOSE, user.id, boundAddress(user.email), ttlSeconds);
  }

  /** Confirms the address a link was sent to; BAD_USER_INPUT when the link is bad, expired, or for an address the account no longer has. */
  async verify(token: string): Promise<true> {
    const claim = await readBound(this.tokens, EMAIL_VERIFICATION_PURPOSE, token);
    if (!claim) throw badToken();
    const { userId } = claim;
    const [user]: Array<{ email: string | null; is_placeholder: boolean }> = await this.ds.query(`SELECT email, is_placeholder FROM users WHERE id = $1`, [userId]);
    if (!user?.email || user.is_placeholder || !stillBound(claim.fingerprint, userId, boundAddress(user.email))) throw badToken();
    // Opening it twice is harmless: the first confirmation's time stays.
    await this.uow.run(async (tx) => {
      // Confirmed now (not again): its domain's groups take the account in. An account deleted
      // since the check above (its deletion held the row this waited for) confirms nothing.
      if (!(await this.automaticGroups.following(tx, userId, () => this.users.markEmailVerified(userId, tx.manager)))) throw badToken();
    });
    return true;
  }

  /**
   * Sends the signed-in member's confirmation e-mail again (a few times an hour): to an address
   * not confirmed yet, or to one on the bounce list, which is how its owner tries it once fixed.
   */
  async resend(viewer: Viewer): Promise<true> {
    if (!viewer.id) throw AppError.unauthenticated();
    const userId = viewer.id;
    await this.ds.transaction(async (m) => {
      const [user]: Array<{ email: string | null; email_verified_at: Date | null; email_bounced_at: Date | null }> = await m.query(
        `SELECT email, email_verified_at, email_bounced_at FROM users WHERE id = $1`,
        [userId],
      );
      if (!user?.email) throw AppError.badInput([{ field: '', message: 'your account has no e-mail address' }], 'Your account has no e-mail address');
      if (user.email_verified_at && !user.email_bounced_at) throw AppError.conflict('Your e-mail address is confirmed already');
      await this.limiter.hitWithin(m, [[EMAIL_VERIFICATION_RESENDS, userId]]);
      await this.request(m, userId);
    });
    return true;
  }
}
