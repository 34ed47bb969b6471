import { Args, Context, ID, Int, Mutation, Resolver } from '@nestjs/graphql';
import { AppConfig } from '../../../core/src/config/config';
import { GqlContext } from '../../../core/src/graphql/context';
import { SESSION_COOKIE, SessionsService } from '../sessions/sessions.service';
import { AuthService } from './auth.service';
import { AuthPayload, SignInInput, SignUpInput } from './dto/auth.inputs';

@Resolver()
export class AuthResolver {
  constructor(
    private readonly auth: AuthService,
    private readonly sessions: SessionsService,
    private readonly config: AppConfig,
  ) {}

  private setCookie(ctx: GqlContext, token: string): void {
    ctx.res.cookie(SESSION_COOKIE, token, {
      httpOnly: true,
      sameSite: 'lax',
      secure: this.config.cookieSecure,
      path: '/',
      maxAge: this.sessions.ttlMs,
    });
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

  @Mutation(() => Boolean, { description: 'Revokes the current session.' })
  async signOut(@Context() ctx: GqlContext): Promise<boolean> {
    ctx.res.clearCookie(SESSION_COOKIE, { path: '/' });
    return this.auth.signOut(ctx.viewer);
  }

  @Mutation(() => Int, { description: 'Revokes every session of a user (yourself by default; anyone for admins). Returns how many.' })
  revokeSessions(@Args('userId', { type: () => ID, nullable: true }) userId: string | undefined, @Context() ctx: GqlContext): Promise<number> {
    return this.auth.revokeSessions(ctx.viewer, userId);
  }
}
