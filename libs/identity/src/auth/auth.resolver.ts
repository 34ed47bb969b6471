import { Args, Context, ID, Int, Mutation, Resolver } from '@nestjs/graphql';
import { GqlContext } from '../../../core/src/graphql/context';
import { SESSION_COOKIE, SessionsService, tokenFrom } from '../sessions/sessions.service';
import { AuthService } from './auth.service';
import { AuthPayload, SignInInput, SignUpInput } from './dto/auth.inputs';

@Resolver()
export class AuthResolver {
  constructor(
    private readonly auth: AuthService,
    private readonly sessions: SessionsService,
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

  @Mutation(() => Int, { description: 'Revokes every session of a user (yourself by default; anyone for admins). Returns how many.' })
  revokeSessions(@Args('userId', { type: () => ID, nullable: true }) userId: string | undefined, @Context() ctx: GqlContext): Promise<number> {
    return this.auth.revokeSessions(ctx.viewer, userId);
  }
}
