import { Args, Context, ID, Int, Mutation, Resolver } from '@nestjs/graphql';
import type { GqlContext } from '../../../core/src/graphql/context';
import { SESSION_COOKIE, SessionsService, tokenFrom } from '../sessions/sessions.service';
import { UserModel } from '../users/user.model';
import { AuthService } from './auth.service';
import { AuthPayload, ChangeEmailInput, ChangePasswordInput, ConfirmEmailChangeInput, DeleteMyAccountInput, RequestPasswordResetInput, ResetPasswordInput, SignInInput, SignUpInput, VerifyEmailInput } from './dto/auth.inputs';
import { EmailChangeService } from './email-change';
import { EmailVerificationService } from './email-verification';
import { PasswordsService } from './passwords.service';
import { AccountDeletionService } from '../users/account-deletion';

@Resolver()
export class AuthResolver {
  constructor(
    private readonly auth: AuthService,
    private readonly sessions: SessionsService,
    private readonly passwords: PasswordsService,
    private readonly verification: EmailVerificationService,
    private readonly deletion: AccountDeletionService,
    private readonly emailChanges: EmailChangeService,
  ) {}

  private setCookie(ctx: GqlContext, token: string): void {
    ctx.res.cookie(SESSION_COOKIE, token, this.sessions.cookieOptions());
  }

  private meta(ctx: GqlContext) {
    return { ip: ctx.viewer.ip, userAgent: ctx.req.headers['user-agent'] };
  }

  @Mutation(() => AuthPayload, { description: 'Creates an account and signs it in.' })
  async signUp(@Args('input') input: SignUpInput, @Context() ctx: GqlContext): Promise<AuthPayload> {
    const result = await this.auth.signUp(input, this.meta(ctx));
    this.setCookie(ctx, result.token);
    return result;
  }

  @Mutation(() => AuthPayload, { description: 'Signs in by e-mail or handle. Rate-limited per account and per IP.' })
  async signIn(@Args('input') input: SignInInput, @Context() ctx: GqlContext): Promise<AuthPayload> {
    const result = await this.auth.signIn(input, this.meta(ctx));
    this.setCookie(ctx, result.token);
    return result;
  }

  @Mutation(() => Boolean, { description: 'Revokes the current session (and the session cookie’s, which it clears).' })
  async signOut(@Context() ctx: GqlContext): Promise<boolean> {
    const cookie = (ctx.req as { cookies?: Record<string, unknown> }).cookies?.[SESSION_COOKIE];
    const current = tokenFrom(ctx.req);
    ctx.res.clearCookie(SESSION_COOKIE, { path: '/' });
    const signedOut = await this.auth.signOut(ctx.viewer);
    // A header named the current session: the cookie being cleared may hold another one, which
    // must not stay valid on the server once its holder believes it signed out.
    if (typeof cookie !== 'string' || cookie === '' || cookie === current) return signedOut;
    const cookieSession = await this.auth.signOut(await this.sessions.resolve(cookie, ctx.viewer.ip));
    return signedOut || cookieSession;
  }

  @Mutation(() => UserModel, {
    description:
      'Changes the signed-in user’s password, given the current one (a wrong one is BAD_USER_INPUT on `currentPassword`, and counts ' +
      'against the account as a failed sign-in does). Every other session of the account is signed out; this one stays.',
  })
  changePassword(@Args('input') input: ChangePasswordInput, @Context() ctx: GqlContext): Promise<UserModel> {
    return this.passwords.changePassword(ctx.viewer, input, this.meta(ctx));
  }

  @Mutation(() => Boolean, {
    description:
      'E-mails a link to reset the password of the account with this address, good once and for an hour. Always true, whether or ' +
      'not an account has the address. Limited per address and per IP.',
  })
  requestPasswordReset(@Args('input') input: RequestPasswordResetInput, @Context() ctx: GqlContext): Promise<boolean> {
    return this.passwords.requestPasswordReset(input, this.meta(ctx));
  }

  @Mutation(() => AuthPayload, {
    description:
      'Sets a new password with the token of a reset link, signs the account out everywhere, and signs this client in as signIn does. ' +
      'A bad, expired or used token is BAD_USER_INPUT on `token`; a suspended or banned member is refused as signIn refuses them.',
  })
  async resetPassword(@Args('input') input: ResetPasswordInput, @Context() ctx: GqlContext): Promise<AuthPayload> {
    const result = await this.passwords.resetPassword(input, this.meta(ctx));
    this.setCookie(ctx, result.token);
    return result;
  }

  @Mutation(() => Boolean, {
    description:
      'Confirms an e-mail address with the token of the link e-mailed to it at sign-up (good for a week, signed in or not); ' +
      'notification e-mails go only to a confirmed address, and it takes the address off the bounce list. A bad or expired ' +
      'token, or one for an address the account no longer has, is BAD_USER_INPUT on `token`.',
  })
  verifyEmail(@Args('input') input: VerifyEmailInput): Promise<boolean> {
    return this.verification.verify(input.token);
  }

  @Mutation(() => Boolean, {
    description:
      'E-mails the signed-in member a new confirmation link (3 an hour), also when the address is on the bounce list ' +
      '(`User.emailBouncing`): opening it shows the mailbox receives mail again. CONFLICT when the address is confirmed already ' +
      'and not bouncing.',
  })
  resendEmailVerification(@Context() ctx: GqlContext): Promise<boolean> {
    return this.verification.resend(ctx.viewer);
  }

  @Mutation(() => UserModel, {
    description:
      'Asks to move the signed-in member’s account to another e-mail address, given its password (a wrong one is BAD_USER_INPUT ' +
      'on `currentPassword`, and counts against the account as a failed sign-in does). A link good for a day goes to the new ' +
      'address, and the address the account has, when confirmed, is told of the request; nothing changes, and e-mail keeps going ' +
      'to the address the account has, until the link is opened (`confirmEmailChange`). Asking again replaces the waiting change. ' +
      'The account’s own address is BAD_USER_INPUT on `newEmail`, before the password is checked, and counts toward nothing. ' +
      'An address another account has, or one a ban holds, is BAD_USER_INPUT on `newEmail`, as at sign-up. 3 an hour ' +
      '(RATE_LIMITED) once the password is right, refused (taken, banned) or not, as sign-up counts its attempts.',
  })
  changeEmail(@Args('input') input: ChangeEmailInput, @Context() ctx: GqlContext): Promise<UserModel> {
    return this.emailChanges.request(ctx.viewer, input, this.meta(ctx));
  }

  @Mutation(() => Boolean, {
    description:
      'Makes the address a change waits for the account’s, confirmed, with the token of the link e-mailed to it (signed in or ' +
      'not). A bad or expired token, one for a change replaced or cancelled since, or for an address another account took or ' +
      'a ban came to hold meanwhile, is BAD_USER_INPUT on `token`; the change still waits, for once no ban holds the address. ' +
      'While the account is suspended or banned site-wide a valid link is FORBIDDEN, nothing changes, and the change still ' +
      'waits, for once the sanction is lifted or over (its link lasts 24 hours).',
  })
  confirmEmailChange(@Args('input') input: ConfirmEmailChangeInput): Promise<boolean> {
    return this.emailChanges.confirm(input.token);
  }

  @Mutation(() => UserModel, { description: 'Drops the signed-in member’s waiting change of address, if any; its link stops working.' })
  cancelEmailChange(@Context() ctx: GqlContext): Promise<UserModel> {
    return this.emailChanges.cancel(ctx.viewer);
  }

  @Mutation(() => Boolean, {
    description:
      'Deletes the signed-in member’s account, given its password: the handle becomes `deleted-…`, the name "Deleted user", the ' +
      'e-mail address and password go, every session ends, and memberships, grants, ignores, watches, e-mail settings and ' +
      'notifications are removed; posts, topics, ideas, votes and articles stay under the anonymised account. A wrong password ' +
      'is UNAUTHENTICATED and counts as a failed sign-in; moderators and admins are FORBIDDEN until an admin makes them members, and ' +
      'so is an account without a password (none signs in without one) until a password reset gives it one, counting nothing. ' +
      'At most 5 wrong passwords an hour, whatever sign-ins clear.',
  })
  async deleteMyAccount(@Args('input') input: DeleteMyAccountInput, @Context() ctx: GqlContext): Promise<boolean> {
    await this.deletion.deleteOwn(ctx.viewer, input.password, this.meta(ctx));
    ctx.res.clearCookie(SESSION_COOKIE, { path: '/' });
    return true;
  }

  @Mutation(() => Int, { description: 'Revokes every session of a user (yourself by default; anyone for admins). Returns how many.' })
  revokeSessions(@Args('userId', { type: () => ID, nullable: true }) userId: string | undefined, @Context() ctx: GqlContext): Promise<number> {
    return this.auth.revokeSessions(ctx.viewer, userId);
  }
}
