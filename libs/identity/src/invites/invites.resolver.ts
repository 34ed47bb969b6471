import { Args, Context, ID, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import type { GqlContext } from '../../../core/src/graphql/context';
import { Connection, PageArgs } from '../../../core/src/graphql/pagination';
import { GroupModel } from '../groups/group.model';
import { UserModel } from '../users/user.model';
import { UsersLoader } from '../users/users.loader';
import { CreateInviteInput } from './dto/invite.inputs';
import { InvitationModel, InviteConnection, InviteModel } from './invite.model';
import { InvitesService, MEMBER_INVITE_MAX_USES, MEMBER_INVITES_PER_USER } from './invites.service';

@Resolver(() => InviteModel)
export class InvitesResolver {
  constructor(
    private readonly service: InvitesService,
    private readonly users: UsersLoader,
  ) {}

  @Mutation(() => InviteModel, {
    description:
      'Invite an address (e-mailed the link when SMTP_URL is set; only it may redeem it, once, and its sign-up needs no confirming) ' +
      'or make a link for up to 1,000 people, into groups, valid 1–90 days (7 by default). An address that has an account already is BAD_USER_INPUT. ' +
      `Admins, and also global moderators and members of trust level INVITE_MIN_TRUST_LEVEL (2 by default) or above, not silenced: theirs bring in at most ${MEMBER_INVITE_MAX_USES} people ` +
      `each, into no group, ${MEMBER_INVITES_PER_USER.limit} attempts a day (RATE_LIMITED beyond; refused ones count), and their invitation for an address does not confirm it ` +
      'for the invitee; their invitations stop letting anyone in (REVOKED) once they may no longer invite. Anyone else is FORBIDDEN; a banned address is BAD_USER_INPUT.',
  })
  createInvite(@Args('input') input: CreateInviteInput, @Context() ctx: GqlContext): Promise<InviteModel> {
    return this.service.create(ctx.viewer, input);
  }

  @Query(() => InviteConnection, {
    description: 'Every invitation for admins, their own for other members; newest first. Each in the state redeeming it would find: REVOKED too once its maker may no longer do what it does.',
  })
  invites(@Args() args: PageArgs, @Context() ctx: GqlContext): Promise<Connection<InviteModel>> {
    return this.service.list(ctx.viewer, args);
  }

  @Mutation(() => InviteModel, {
    description: 'Withdraw an invitation (its link stops working; those it let in stay): admins any, other members their own (another’s is NOT_FOUND).',
  })
  revokeInvite(@Args('id', { type: () => ID }) id: string, @Context() ctx: GqlContext): Promise<InviteModel> {
    return this.service.revoke(ctx.viewer, id);
  }

  @Query(() => InvitationModel, { description: 'An invitation as whoever holds its link sees it, for the page it opens: NOT_FOUND when the token is not one.' })
  invitation(@Args('token') token: string): Promise<InvitationModel> {
    return this.service.invitation(token);
  }

  @Mutation(() => Boolean, {
    description:
      'Signed-in members: redeem an invitation, joining its groups (one for an address must be for yours). ' +
      'True when it was redeemed now, false when you had redeemed it before. BAD_USER_INPUT on token when it is not valid, used up, expired or withdrawn.',
  })
  redeemInvite(@Args('token') token: string, @Context() ctx: GqlContext): Promise<boolean> {
    return this.service.redeem(ctx.viewer, token);
  }

  @ResolveField(() => UserModel, { nullable: true, description: 'Who made it; null once their account is gone.' })
  createdBy(@Parent() i: InviteModel, @Context() ctx: GqlContext): Promise<UserModel | null> | null {
    return i.createdById ? this.users.load(ctx.viewer, i.createdById) : null;
  }

  @ResolveField(() => [GroupModel], { description: 'The groups it joins that you see (all of them, to an admin).' })
  groups(@Parent() i: InviteModel, @Context() ctx: GqlContext): Promise<GroupModel[]> {
    return this.service.groupsOf(ctx.viewer, i);
  }

  @ResolveField(() => String, { description: 'The link to hand out (`<PUBLIC_URL>/invite?token=…`); the token is what signUp and redeemInvite take.' })
  link(@Parent() i: InviteModel): Promise<string> {
    return this.service.link(i.id);
  }
}
