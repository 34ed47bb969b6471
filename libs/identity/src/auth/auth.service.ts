import { AutomaticGroupsService } from '../groups/automatic-groups';
import { Injectable } from '@nestjs/common';
import * as argon2 from 'argon2';
import { DataSource } from 'typeorm';
import { Tx, UnitOfWork } from '../../../core/src/database/unit-of-work';
import { AppError } from '../../../core/src/errors';
import { networkOf } from '../../../core/src/http/client-address';
import { Viewer } from '../../../core/src/graphql/viewer';
import { isUuid, newId } from '../../../core/src/ids';
import { RateLimiter, RateRule } from '../../../core/src/rate-limit';
import { SessionsService } from '../sessions/sessions.service';
import { toUserModel, UserModel, UserRow } from '../users/user.model';
import { UsersRepository } from '../users/users.repository';
import { SignInInput, SignUpInput } from './dto/auth.inputs';
import { SignedTokens } from '../../../core/src/signed-tokens';
import { AuditLog } from '../../../core/src/audit/audit-log';
import { EmailVerificationService } from './email-verification';
import { InvitesService } from '../invites/invites.service';
import { AppConfig } from '../../../core/src/config/config';
import { addressBanned, emailTakenSql } from './address-standing';
import { refuseBarred } from './barred';

const FIFTEEN_MINUTES = 15 * 60;
/** More than 5 failures for one login, or 20 from one IP, within 15 minutes. */
export const SIGN_IN_PER_LOGIN: RateRule = { bucket: 'signin:login', limit: 5, windowSeconds: FIFTEEN_MINUTES };
/** The SIGN_IN_PER_LOGIN key of an account: its failures count together however it was named. */
export const signInAccountKey = (userId: string): string => `user:${userId}`;
export const SIGN_IN_PER_IP: RateRule = { bucket: 'signin:ip', limit: 20, windowSeconds: FIFTEEN_MINUTES };
export const SIGN_UP_PER_IP: RateRule = { bucket: 'signup:ip', limit: 10, windowSeconds: 3600 };

/** OWASP's argon2id baseline (m=19 MiB, t=2, p=1). */
const ARGON2_OPTIONS = { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

/**
 * A password as it is hashed and checked: NFKC, as NIST SP 800-63B advises, so the same
 * characters typed on another keyboard or system (é as one character or as e and an accent, a
 * full-width digit) are the same password.
 */
function passwordForm(password: string): string {
  return password.normalize('NFKC');
}

export function hashPassword(password: string): Promise<string> {
  return argon2.hash(passwordForm(password), ARGON2_OPTIONS);
}

/**
 * Whether `password` is the one `hash` was made from: in its normalised form, or else as typed,
 * for hashes made before passwords were normalised. The second check depends only on what was
 * typed (whether normalising changes it), never on the account, so timing says nothing new.
 */
export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  const form = passwordForm(password);
  if (await argon2.verify(hash, form).catch(() => false)) return true;
  return form !== password && (await argon2.verify(hash, password).catch(() => false));
}

/** Trims, composes (NFC), and lower-cases the domain (the local part is the mailbox owner's business). */
export function normalizeEmail(email: string): string {
  const trimmed = email.trim().normalize('NFC');
  const at = trimmed.lastIndexOf('@');
  return at < 0 ? trimmed : `${trimmed.slice(0, at)}@${trimmed.slice(at + 1).toLowerCase()}`;
}

export interface AuthResult {
  token: string;
  user: UserModel;
}

/**
 * A password that is the account's own e-mail address or handle is refused (BAD_USER_INPUT on
 * `field`): the rule of every password chosen, beside the input's own (`NewPassword`).
 */
export function refuseOwnIdentifiers(password: string, account: { email: string | null; handle: string }, field = 'password'): void {
  const pw = password.toLowerCase();
  if ((account.email !== null && pw === normalizeEmail(account.email).toLowerCase()) || pw === account.handle.toLowerCase()) {
    throw AppError.badField(field, 'must not be your e-mail address or handle');
  }
}

function checkPassword(input: SignUpInput): void {
  refuseOwnIdentifiers(input.password, input);
}

@Injectable()
export class AuthService {
  /** Verified against when the login matches nobody, so timing does not reveal accounts. */
  private dummyHash?: Promise<string>;

  constructor(
    private readonly ds: DataSource,
    private readonly users: UsersRepository,
    private readonly sessions: SessionsService,
    private readonly limiter: RateLimiter,
    private readonly uow: UnitOfWork,
    private readonly tokens: SignedTokens,
    private readonly audit: AuditLog,
    private readonly verification: EmailVerificationService,
    private readonly invites: InvitesService,
    private readonly config: AppConfig,
    private readonly automaticGroups: AutomaticGroupsService,
  ) {}

  async signUp(input: SignUpInput, meta: { ip: string; userAgent?: string }): Promise<AuthResult> {
    // What the input alone refuses costs nothing; every other attempt counts, refused or not (one
    // refused because an address or handle is taken, or banned, tells about an account, and a
    // network may ask that only as often as it may sign up). Reserved atomically, so parallel
    // sign-ups from one network cannot all slip under the limit.
    checkPassword(input);
    await this.limiter.reserve([[SIGN_UP_PER_IP, networkOf(meta.ip)]]);
    // An address or a network banned is FORBIDDEN, in words that do not tell which. Its address
    // taken is told later, with its handle's (`createAccount`): after the invitation is checked,
    // so a site by invitation tells nobody without one which addresses have accounts; this asks
    // only about bans (`addressBanned`), not whether the address is taken.
    // The network (an IPv6 /64) as bans store it, and the address itself as older bans did.
    const banned = await addressBanned(this.ds, normalizeEmail(input.email), [meta.ip, networkOf(meta.ip)]);
    if (banned) throw AppError.forbidden('Sign-ups from this e-mail address or network are not accepted');
    if (this.config.SIGN_UP === 'invite' && !input.inviteToken) throw AppError.forbidden('Sign-ups are by invitation only: open the link of yours');
    // An invitation e-mailed to this very address vouches for it; checked now for a clear
    // refusal before any work, and redeemed (under its lock, so counted) with the account.
    const emailVerified = input.inviteToken ? (await this.invites.check(input.inviteToken, input.email)).emailBound : false;
    // Signed in at once; an address no invitation vouched for is confirmed by the link e-mailed
    // to it, before any news goes there.
    const result = await this.createAccount(
      input,
      'MEMBER',
      async (tx, userId) => {
        if (input.inviteToken) {
          const { vouches } = await this.invites.redeemIn(tx, input.inviteToken, { id: userId, email: input.email }, 'inviteToken');
          // The account was made with its address confirmed (and its domain's groups held) on the
          // check's word, read before this transaction: a maker no longer an admin once the
          // invitation is held vouches for it no more. Nothing is written; again, it is not taken so.
          if (emailVerified && !vouches) throw AppError.conflict('This invitation changed meanwhile: sign up again');
        }
        if (!emailVerified) await this.verification.request(tx.manager, userId);
        return this.sessions.issue(userId, meta, tx.manager);
      },
      { emailVerified },
    );
    return { token: result.extra, user: Object.assign(result.user, { isAuthenticatedSelf: true }) };
  }

  /**
   * Creates an account (sign-up and the CLI's admin:create). `inTx` runs in the same
   * transaction with the new user's id, e.g. to open the first session. An account an
   * operator creates has its address confirmed (`emailVerified`); a sign-up's waits for its link.
   * A unit of work: a deadlock or a serialization failure (it takes an invitation's and groups'
   * locks) runs it again from the start, so `inTx` writes only through `tx` (its e-mails and
   * events go out once, after commit, through the outbox) and the id stays the same.
   */
  async createAccount<X = undefined>(
    input: SignUpInput,
    role: 'MEMBER' | 'MODERATOR' | 'ADMIN',
    inTx?: (tx: Tx, userId: string) => Promise<X>,
    opts: { emailVerified: boolean } = { emailVerified: true },
  ): Promise<{ user: UserModel; extra: X }> {
    checkPassword(input);
    const email = normalizeEmail(input.email);
    const handle = input.handle.toLowerCase();
    const taken: Array<{ email_taken: boolean; handle_taken: boolean }> = await this.ds.query(
      `SELECT ${emailTakenSql('$1')} AS email_taken,
              EXISTS (SELECT 1 FROM users WHERE lower(handle) = $2) AS handle_taken`,
      [email, handle],
    );
    const fields = [];
    if (taken[0].email_taken) fields.push({ field: 'email', message: 'is already registered' });
    if (taken[0].handle_taken) fields.push({ field: 'handle', message: 'is taken' });
    if (fields.length) throw AppError.badInput(fields, 'That e-mail or handle is already in use');

    const passwordHash = await hashPassword(input.password);
    const id = newId();
    try {
      // Through the unit of work, which writes the moderation log's entries (group memberships) as it commits.
      return await this.uow.run(async (tx) => {
        const rows = await tx.query<UserRow>(
          `INSERT INTO users (id, email, handle, display_name, password_hash, role, email_verified_at)
           VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $7::boolean THEN now() END)
           RETURNING id, email, handle, display_name, role, trust_level, is_placeholder, created_at`,
          [id, email, handle, input.displayName?.trim() || handle, passwordHash, role, opts.emailVerified],
        );
        const extra = (inTx ? await inTx(tx, id) : undefined) as X;
        // A confirmed address at a group's automatic domain puts the account in that group at once
        // (after an invitation's groups: one the invitation names too keeps it as the invitation's).
        if (opts.emailVerified) await this.automaticGroups.syncUser(tx, id, null);
        return { user: toUserModel(rows[0]), extra };
      });
    } catch (err) {
      // Lost a race with a concurrent sign-up for the same e-mail or handle.
      if ((err as { code?: string }).code === '23505') {
        const field = String((err as { constraint?: string }).constraint).includes('email') ? 'email' : 'handle';
        throw AppError.badField(field, field === 'email' ? 'is already registered' : 'is taken');
      }
      throw err;
    }
  }

  async signIn(input: SignInInput, meta: { ip: string; userAgent?: string }): Promise<AuthResult> {
    const login = input.login.trim().normalize('NFC');
    const loginKey = login.toLowerCase();
    // Matched with PostgreSQL's lower() on both sides, as the unique index has it: JavaScript's
    // folds some letters otherwise (a final Σ to ς, İ to i and a dot), and such an address
    // would never find its account.
    const user = await this.users.findForLogin(login);
    // Failures count per account, whether it is named by handle or by e-mail; a login that
    // names no account counts on its own. Counted before the password is checked, atomically:
    // a burst of parallel guesses gets no more tries than the same guesses one after another.
    const accountKey = user ? signInAccountKey(user.id) : `login:${loginKey}`;
    const attempt = await this.limiter.reserve([
      [SIGN_IN_PER_LOGIN, accountKey],
      [SIGN_IN_PER_IP, networkOf(meta.ip)],
    ]);
    const hash = user?.password_hash ?? (await (this.dummyHash ??= hashPassword(`dummy-${newId()}`)));
    const ok = await verifyPassword(hash, input.password);
    if (!user || !user.password_hash || !ok) throw AppError.unauthenticated('Wrong login or password');
    await attempt.release();
    await this.limiter.clear(SIGN_IN_PER_LOGIN, accountKey);
    // A site-wide suspension or ban keeps the account out, after a correct password only.
    await refuseBarred(this.ds, user.id, { member: this.tokens });
    const token = await this.ds.transaction(async (m) => {
      // Under a share lock on the account, which a password change or reset holds exclusively (ACCOUNT_LOCK):
      // a password replaced since it was checked here (signing every session out) refuses this
      // one too, instead of leaving it open on the old password.
      const [current]: Array<{ password_hash: string | null }> = await m.query(`SELECT password_hash FROM users WHERE id = $1 FOR SHARE`, [user.id]);
      if (current?.password_hash !== user.password_hash) throw AppError.unauthenticated('Wrong login or password');
      return this.sessions.issue(user.id, meta, m);
    });
    return { token, user: Object.assign(toUserModel(user), { isAuthenticatedSelf: true }) };
  }

  async signOut(viewer: Viewer): Promise<boolean> {
    if (!viewer.sessionId || !viewer.user) return false;
    const sessionId = viewer.sessionId;
    await this.uow.run(async (tx) => {
      await this.sessions.revokeSession(sessionId, tx.manager);
      await emitSessionsRevoked(tx, viewer.user!.id);
    });
    return true;
  }

  /** Revokes the viewer's own sessions, or (admins) anyone's. */
  async revokeSessions(viewer: Viewer, userId?: string | null): Promise<number> {
    if (!viewer.user) throw AppError.unauthenticated();
    const target = userId ?? viewer.user.id;
    if (target !== viewer.user.id && !viewer.isAdmin) throw AppError.forbidden('Only admins can revoke other people’s sessions');
    if (target !== viewer.user.id && !(isUuid(target) && (await this.users.getByIds([target])).length > 0)) throw AppError.notFound('User not found');
    return this.uow.run(async (tx) => {
      const n = await this.sessions.revokeAllForUser(target, tx.manager);
      if (n > 0) await emitSessionsRevoked(tx, target);
      // Signing somebody else out is an admin action, logged; signing oneself out is not.
      if (target !== viewer.user!.id) {
        await this.audit.append(tx, { actorId: viewer.user!.id, action: 'user.sessions_revoke', targetType: 'user', targetId: target, spaceId: null, after: { sessions: n } });
      }
      return n;
    });
  }
}

/**
 * A signed-in user's password asked for again (changing it, deleting the account), under the
 * account's sign-in limit: a reservation on the same bucket and key as `signIn` (and on `extra`
 * rules), so a stolen session gets no more guesses than the sign-in form gives, in a row or in
 * parallel. A match gives the reservation back and clears the account's failures.
 */
export async function recheckPassword(
  limiter: RateLimiter,
  user: { id: string; password_hash: string | null },
  password: string,
  ip: string,
  extra: Array<[RateRule, string]> = [],
): Promise<boolean> {
  const accountKey = signInAccountKey(user.id);
  const attempt = await limiter.reserve([[SIGN_IN_PER_LOGIN, accountKey], [SIGN_IN_PER_IP, networkOf(ip)], ...extra]);
  if (user.password_hash === null || !(await verifyPassword(user.password_hash, password))) return false;
  await attempt.release();
  await limiter.clear(SIGN_IN_PER_LOGIN, accountKey);
  return true;
}

/** Live connections on revoked sessions are closed: the gateway re-checks the user's sockets. */
export function emitSessionsRevoked(tx: Tx, userId: string): Promise<void> {
  return tx.emit({ type: 'user.sessions_revoked', aggregateType: 'user', aggregateId: userId, payload: { userId } });
}
