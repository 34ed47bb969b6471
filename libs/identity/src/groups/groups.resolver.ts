import { Args, Context, ID, Int, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import type { GqlContext } from '../../../core/src/graphql/context';
import { Connection, PageArgs } from '../../../core/src/graphql/pagination';
import { UserModel } from '../users/user.model';
import { CreateGroupInput, DecideGroupRequestInput, GroupMemberInput, GroupRequestInput, SetGroupOwnerInput, UpdateGroupInput } from './dto/group.inputs';
import {
  GROUP_MENTION_MAX_MEMBERS,
  GroupMemberConnection,
  GroupMemberModel,
  GroupMembership,
  GroupMentionable,
  GroupModel,
  GroupRequestConnection,
  GroupRequestModel,
} from './group.model';
import { GROUP_ADDS_PER_OWNER, GROUP_JOINS_PER_USER, GroupMembersService } from './group-members.service';
import { GroupRequestsService, GROUP_REQUESTS_PER_USER } from './group-requests.service';
import { GroupsService } from './groups.service';

/** Whom a group's member fields show to. */
const SEES_MEMBERS = 'Null to those who may not see the group’s members (its `visibility`: a group met as an article’s owner, say); admins and its owners always do.';

@Resolver(() => GroupModel)
export class GroupsResolver {
  constructor(
    private readonly service: GroupsService,
    private readonly membership: GroupMembersService,
    private readonly requestService: GroupRequestsService,
  ) {}

  @Query(() => [GroupModel], { description: 'Every group for admins; for others the groups they see (PUBLIC ones, SIGNED_IN ones when signed in, MEMBERS ones they are in, any they own), by name.' })
  groups(@Context() ctx: GqlContext): Promise<GroupModel[]> {
    return this.service.list(ctx.viewer);
  }

  @Query(() => GroupModel, { nullable: true, description: 'A group by slug; NOT_FOUND when it does not exist or the viewer may not see it.' })
  group(@Args('slug') slug: string, @Context() ctx: GqlContext): Promise<GroupModel> {
    return this.service.bySlug(ctx.viewer, slug);
  }

  @Mutation(() => GroupModel, { description: 'Admins: create a group of users (employees, partners, an interest group...), for space grants; who sees it and how people join it.' })
  createGroup(@Args('input') input: CreateGroupInput, @Context() ctx: GqlContext): Promise<GroupModel> {
    return this.service.create(ctx.viewer, input);
  }

  @Mutation(() => GroupModel, {
    description:
      'Admins: rename a group, or change its description, who may @mention it, who sees it or how people join it. Logged. ' +
      'Switching joining from REQUEST to OPEN or CLOSED ends the requests waiting in it, and tells each requester (GROUP_REQUEST_CLOSED).',
  })
  updateGroup(@Args('input') input: UpdateGroupInput, @Context() ctx: GqlContext): Promise<GroupModel> {
    return this.service.update(ctx.viewer, input);
  }

  @Mutation(() => GroupModel, {
    description:
      'Admins and the group’s owners: add a user to a group (grants given to the group apply to them at once). Logged. A group that holds a MODERATE or ADMIN grant on a space is filled by admins alone (FORBIDDEN to its owners; nobody joins it, asks to, or has a request accepted but by an admin). ' +
      `An owner who is not an admin adds ${GROUP_ADDS_PER_OWNER.limit} members an hour, in all their groups (RATE_LIMITED; adding a member already in counts nothing).`,
  })
  addGroupMember(@Args('input') input: GroupMemberInput, @Context() ctx: GqlContext): Promise<GroupModel> {
    return this.membership.addMember(ctx.viewer, input);
  }

  @Mutation(() => GroupModel, {
    description: 'Admins: remove a user from a group; its owners: remove a member who is not an owner, or themselves from a group they still see once out (from a MEMBERS or OWNERS one: BAD_USER_INPUT, leave it with leaveGroup). They leave live rooms the group opened. Logged.',
  })
  removeGroupMember(@Args('input') input: GroupMemberInput, @Context() ctx: GqlContext): Promise<GroupModel> {
    return this.membership.removeMember(ctx.viewer, input);
  }

  @Mutation(() => GroupModel, { description: 'Admins: make a user an owner of a group (a member too, if they were not) or no longer one (they stay a member). Logged.' })
  setGroupOwner(@Args('input') input: SetGroupOwnerInput, @Context() ctx: GqlContext): Promise<GroupModel> {
    return this.membership.setOwner(ctx.viewer, input);
  }

  @Mutation(() => GroupModel, {
    description: `Join an OPEN group you see (FORBIDDEN for another; already in it, nothing changes). Logged. ${GROUP_JOINS_PER_USER.limit} joins and leaves an hour (RATE_LIMITED).`,
  })
  joinGroup(@Args('groupId', { type: () => ID }) groupId: string, @Context() ctx: GqlContext): Promise<GroupModel> {
    return this.membership.join(ctx.viewer, groupId);
  }

  @Mutation(() => GroupModel, {
    nullable: true,
    description:
      'Leave an OPEN or REQUEST group (a CLOSED one is FORBIDDEN but to its owners: its owners and the admins manage who is in it); not in it, nothing changes. ' +
      `Logged; you leave live rooms the group opened. Counts with joinGroup (${GROUP_JOINS_PER_USER.limit} an hour). ` +
      'Answers the group as you see it now: null once you no longer see it (an owner leaving a MEMBERS or OWNERS group); the leave is made all the same.',
  })
  leaveGroup(@Args('groupId', { type: () => ID }) groupId: string, @Context() ctx: GqlContext): Promise<GroupModel | null> {
    return this.membership.leave(ctx.viewer, groupId);
  }

  @Mutation(() => GroupModel, {
    description:
      `Ask to join a REQUEST group you see, with a message to its owners (who are told, or the admins when it has none). CONFLICT when you are in it or a request of yours waits; ` +
      `FORBIDDEN while silenced, or for a group that is not REQUEST; ${GROUP_REQUESTS_PER_USER.limit} a day (RATE_LIMITED).`,
  })
  requestGroupMembership(@Args('input') input: GroupRequestInput, @Context() ctx: GqlContext): Promise<GroupModel> {
    return this.requestService.request(ctx.viewer, input);
  }

  @Mutation(() => GroupModel, {
    nullable: true,
    description:
      'Withdraw your request to join a group while it waits (none waiting, nothing changes); you may ask again. Its managers deciding it are told CONFLICT. ' +
      'Answers the group as you see it now: null when you no longer see it (hidden from you since you asked); the request is withdrawn all the same.',
  })
  withdrawGroupRequest(@Args('groupId', { type: () => ID }) groupId: string, @Context() ctx: GqlContext): Promise<GroupModel | null> {
    return this.requestService.withdraw(ctx.viewer, groupId);
  }

  @Mutation(() => GroupModel, {
    description:
      'The group’s owners and the admins: accept a waiting request (the requester joins) or decline it; the requester is told. ' +
      'CONFLICT once it waits no more (decided, withdrawn, its requester put in the group another way or their account deleted, the group no longer taking requests), before anything FORBIDDEN (an owner accepting into a group only admins fill, or a requester barred since); NOT_FOUND to others, as a missing request.',
  })
  decideGroupRequest(@Args('input') input: DecideGroupRequestInput, @Context() ctx: GqlContext): Promise<GroupModel> {
    return this.requestService.decide(ctx.viewer, input);
  }

  @ResolveField(() => GroupMembership, { description: 'Where the viewer stands with the group (NONE when signed out).' })
  viewerMembership(@Parent() group: GroupModel, @Context() ctx: GqlContext): Promise<GroupMembership> {
    return this.service.standing(ctx.viewer, group);
  }

  @ResolveField(() => Int, { nullable: true, description: `How many members it has. ${SEES_MEMBERS}` })
  async memberCount(@Parent() group: GroupModel, @Context() ctx: GqlContext): Promise<number | null> {
    return (await this.service.seesMembers(ctx.viewer, group)) ? group.memberCount : null;
  }

  @ResolveField(() => GroupMemberConnection, { nullable: true, description: `Its members, owners first, then by when they joined. ${SEES_MEMBERS}` })
  members(@Parent() group: GroupModel, @Args() args: PageArgs, @Context() ctx: GqlContext): Promise<Connection<GroupMemberModel> | null> {
    return this.service.members(ctx.viewer, group, args);
  }

  @ResolveField(() => GroupRequestConnection, { nullable: true, description: 'The requests to join waiting for a decision, oldest first: to its owners and the admins (null to others).' })
  requests(@Parent() group: GroupModel, @Args() args: PageArgs, @Context() ctx: GqlContext): Promise<Connection<GroupRequestModel> | null> {
    return this.service.requests(ctx.viewer, group, args);
  }

  @ResolveField(() => GroupMentionable, {
    nullable: true,
    description: `Admins only; null for others. Who may @mention the group by its slug; a mention tells its members who may read the post (a group of more than ${GROUP_MENTION_MAX_MEMBERS} members is not told).`,
  })
  mentionable(@Parent() group: GroupModel, @Context() ctx: GqlContext): GroupMentionable | null {
    return ctx.viewer.isAdmin ? group.mentionable : null;
  }
}

@Resolver(() => UserModel)
export class UserGroupsResolver {
  constructor(private readonly service: GroupsService) {}

  @ResolveField(() => [GroupModel], {
    nullable: true,
    description:
      'The groups the user is in whose members the viewer may see (a membership a group hides never shows), by name. ' +
      'Null for others when the member hides their profile (`hideProfile`), but to moderators and admins.',
  })
  groups(@Parent() user: UserModel, @Context() ctx: GqlContext): Promise<GroupModel[] | null> {
    return this.service.ofUser(ctx.viewer, user);
  }
}
