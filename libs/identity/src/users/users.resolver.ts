import { Args, Context, ID, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import type { GqlContext } from '../../../core/src/graphql/context';
import { SetUserRoleInput } from './dto/set-user-role.input';
import { UpdateProfileInput } from './dto/update-profile.input';
import { UserHandleArgs } from './dto/user-handle.args';
import { ProfileRow, UserModel } from './user.model';
import { IgnoresService, MAX_IGNORED } from './ignores';
import { isSelf, seesHiddenProfile, UsersLoader } from './users.loader';
import { UsersService } from './users.service';
import { AccountDeletionService } from './account-deletion';
import { found } from '../../../core/src/errors';
import { listOf } from '../../../core/src/graphql/limits';

/** How the profile fields say that a member may hide them. */
const HIDDEN = ', and for others when the member hides their profile (`hideProfile`) but to moderators and admins';

@Resolver(() => UserModel)
export class UsersResolver {
  constructor(
    private readonly users: UsersService,
    private readonly loader: UsersLoader,
    private readonly ignores: IgnoresService,
    private readonly deletion: AccountDeletionService,
  ) {}

  @Query(() => UserModel, { nullable: true, description: 'The signed-in user; null when anonymous.' })
  me(@Context() ctx: GqlContext): Promise<UserModel | null> | null {
    return ctx.viewer.id ? this.loader.load(ctx.viewer, ctx.viewer.id) : null;
  }

  @Query(() => UserModel, { nullable: true, description: 'A public profile by handle (case-insensitive).' })
  async user(@Args() { handle }: UserHandleArgs): Promise<UserModel | null> {
    return found(await this.users.byHandle(handle), 'User');
  }

  @Query(() => [UserModel], {
    description: `The members the signed-in user ignores (at most ${MAX_IGNORED}), most recently ignored first.`,
    complexity: listOf(MAX_IGNORED),
  })
  ignoredUsers(@Context() ctx: GqlContext): Promise<UserModel[]> {
    return this.ignores.list(ctx.viewer);
  }

  @Mutation(() => UserModel, {
    description:
      'Ignores a member: nothing they do notifies you any more, and `Post.fromIgnoredUser` lets your pages fold their posts away. ' +
      'Private (they are not told). Moderators and admins cannot be ignored (FORBIDDEN). Doing it twice is harmless.',
  })
  ignoreUser(@Args('userId', { type: () => ID }) userId: string, @Context() ctx: GqlContext): Promise<UserModel> {
    return this.ignores.ignore(ctx.viewer, userId);
  }

  @Mutation(() => UserModel, { description: 'Stops ignoring a member.' })
  unignoreUser(@Args('userId', { type: () => ID }) userId: string, @Context() ctx: GqlContext): Promise<UserModel> {
    return this.ignores.unignore(ctx.viewer, userId);
  }

  @ResolveField(() => Boolean, { nullable: true, description: 'Whether the signed-in viewer ignores this user; null when signed out.' })
  async ignoredByMe(@Parent() user: UserModel, @Context() ctx: GqlContext): Promise<boolean | null> {
    return ctx.viewer.id ? (await this.ignores.ignoredIds(ctx.viewer)).has(user.id) : null;
  }

  @Mutation(() => UserModel, {
    description:
      'Admins only: change a user’s global role. A deleted account or an imported author’s placeholder (neither can sign in) is ' +
      'NOT_FOUND for any role but MEMBER. A member suspended or banned site-wide is not made an admin (CONFLICT: lift the sanction first). ' +
      'The last admin who can act (signs in, not suspended or banned site-wide) cannot step down (CONFLICT); admins who cannot are not counted.',
  })
  setUserRole(@Args('input') input: SetUserRoleInput, @Context() ctx: GqlContext): Promise<UserModel> {
    return this.users.setRole(ctx.viewer, input.userId, input.role);
  }

  @Mutation(() => UserModel, {
    description:
      'The signed-in member’s profile: the name shown next to their handle, a bio, a location, a website and whether to hide them from ' +
      'all but themself, moderators and admins (`hideProfile`) (null fields stay as ' +
      'they are, an empty text clears a field but the name; a request that changes nothing is BAD_USER_INPUT). The texts it sets ' +
      'are screened by the site’s watched words: a BLOCK or REQUIRE_APPROVAL rule, or a CENSOR rule outside the bio, refuses ' +
      'the change (BAD_USER_INPUT naming the field and the rule’s public reason) and writes nothing; CENSOR masks words in ' +
      '`bioHtml`. FORBIDDEN while silenced site-wide, but for hiding the profile; 10 changes an hour, and once they are spent every attempt is RATE_LIMITED ' +
      'before it is screened (refused changes do not count, as refused posts do not).',
  })
  updateProfile(@Args('input') input: UpdateProfileInput, @Context() ctx: GqlContext): Promise<UserModel> {
    return this.users.updateProfile(ctx.viewer, input);
  }

  @Mutation(() => UserModel, {
    description:
      'Admins only: anonymises an account that is not an admin’s (e.g. on a GDPR request), as `deleteMyAccount` does, and logs it ' +
      'in the moderation log by the account’s id alone. A moderator’s account becomes a member’s. An account deleted already ' +
      'is CONFLICT.',
  })
  anonymizeUser(@Args('userId', { type: () => ID }) userId: string, @Context() ctx: GqlContext): Promise<UserModel> {
    return this.deletion.anonymizeByAdmin(ctx.viewer, userId);
  }

  @ResolveField(() => String, { nullable: true, description: 'Only for the user themself (as on `me`); null for everybody else, admins included.' })
  email(@Parent() user: UserModel, @Context() ctx: GqlContext): string | null {
    return isSelf(ctx.viewer, user) ? user.emailAddress : null;
  }

  @ResolveField(() => Boolean, {
    nullable: true,
    description:
      'Whether the e-mail address is confirmed: notification e-mails go only to a confirmed one (`verifyEmail`, ' +
      '`resendEmailVerification`). Only for the user themself; null for everybody else.',
  })
  async emailVerified(@Parent() user: UserModel, @Context() ctx: GqlContext): Promise<boolean | null> {
    return isSelf(ctx.viewer, user) ? (await this.users.emailStatus(ctx.viewer, user.id)).verified : null;
  }

  @ResolveField(() => Boolean, {
    nullable: true,
    description:
      'Whether the e-mail address is on the bounce list: a mail server refused a notification e-mail to it for good, and no ' +
      'more go to it until the address changes or is confirmed again (`resendEmailVerification`, then `verifyEmail`). Only ' +
      'for the user themself; null for everybody else.',
  })
  async emailBouncing(@Parent() user: UserModel, @Context() ctx: GqlContext): Promise<boolean | null> {
    return isSelf(ctx.viewer, user) ? (await this.users.emailStatus(ctx.viewer, user.id)).bouncing : null;
  }

  @ResolveField(() => String, {
    nullable: true,
    description:
      'The address a change asked for waits to be confirmed for (`changeEmail`, `confirmEmailChange`, `cancelEmailChange`); null ' +
      'when none waits. Only for the user themself; null for everybody else.',
  })
  async pendingEmail(@Parent() user: UserModel, @Context() ctx: GqlContext): Promise<string | null> {
    return isSelf(ctx.viewer, user) ? (await this.users.emailStatus(ctx.viewer, user.id)).pending : null;
  }

  @ResolveField(() => String, {
    nullable: true,
    description: 'The bio’s markdown as written, to edit it (`updateProfile`). Only for the user themself; null for everybody else (they read `bioHtml`).',
  })
  async bio(@Parent() user: UserModel, @Context() ctx: GqlContext): Promise<string | null> {
    return isSelf(ctx.viewer, user) ? ((await this.loader.profile(ctx.viewer, user.id))?.bio ?? null) : null;
  }

  @ResolveField(() => String, {
    nullable: true,
    description: `The bio rendered and sanitized as posts are (links to other sites carry rel="nofollow ugc noopener"), censored words masked; null when unset${HIDDEN}.`,
  })
  async bioHtml(@Parent() user: UserModel, @Context() ctx: GqlContext): Promise<string | null> {
    return (await this.shownProfile(user, ctx))?.bio_html ?? null;
  }

  @ResolveField(() => String, { nullable: true, description: `Where the member says they are (plain text, one line); null when unset${HIDDEN}.` })
  async location(@Parent() user: UserModel, @Context() ctx: GqlContext): Promise<string | null> {
    return (await this.shownProfile(user, ctx))?.location ?? null;
  }

  @ResolveField(() => String, {
    nullable: true,
    description: `The member’s website, an http(s) address; null when unset${HIDDEN}. Link it with rel="nofollow ugc noopener", as links in posts are.`,
  })
  async website(@Parent() user: UserModel, @Context() ctx: GqlContext): Promise<string | null> {
    return (await this.shownProfile(user, ctx))?.website ?? null;
  }

  @ResolveField(() => Date, {
    nullable: true,
    description:
      'When the member last used the site, to within a few minutes (else the day of their last visit); null for a deleted ' +
      `account and for one never signed in to (imported placeholders)${HIDDEN}.`,
  })
  async lastSeenAt(@Parent() user: UserModel, @Context() ctx: GqlContext): Promise<Date | null> {
    if (!(await this.loader.profileShown(ctx.viewer, user))) return null;
    return (await this.loader.lastSeen(ctx.viewer, user.id))?.last_seen_at ?? null;
  }

  @ResolveField(() => Boolean, {
    nullable: true,
    description: 'Whether the member hides their profile (`updateProfile(input: { hideProfile })`). Only for the user themself, moderators and admins; null for everybody else.',
  })
  async hideProfile(@Parent() user: UserModel, @Context() ctx: GqlContext): Promise<boolean | null> {
    if (!seesHiddenProfile(ctx.viewer, user)) return null;
    return (await this.loader.profile(ctx.viewer, user.id))?.hide_profile ?? null;
  }

  /** The user's profile row, or null when they hide it from the viewer (UsersLoader.profileShown, in the same statement). */
  private async shownProfile(user: UserModel, ctx: GqlContext): Promise<ProfileRow | null> {
    const row = await this.loader.profile(ctx.viewer, user.id);
    return row && (!row.hide_profile || seesHiddenProfile(ctx.viewer, user)) ? row : null;
  }
}
