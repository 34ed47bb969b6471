import { Args, Context, Int, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { GqlContext } from '../../../core/src/graphql/context';
import { CreateGroupInput, GroupMemberInput, UpdateGroupInput } from './dto/group.inputs';
import { GROUP_MENTION_MAX_MEMBERS, GroupMentionable, GroupModel } from './group.model';
import { GroupsService } from './groups.service';

@Resolver(() => GroupModel)
export class GroupsResolver {
  constructor(private readonly service: GroupsService) {}

  @Query(() => [GroupModel], { description: 'Admins only.' })
  groups(@Context() ctx: GqlContext): Promise<GroupModel[]> {
    return this.service.list(ctx.viewer);
  }

  @Mutation(() => GroupModel, { description: 'Admins: create a group of users (employees, partners...), for space grants.' })
  createGroup(@Args('input') input: CreateGroupInput, @Context() ctx: GqlContext): Promise<GroupModel> {
    return this.service.create(ctx.viewer, input);
  }

  @Mutation(() => GroupModel, { description: 'Admins: rename a group, or change its description or who may @mention it. Logged.' })
  updateGroup(@Args('input') input: UpdateGroupInput, @Context() ctx: GqlContext): Promise<GroupModel> {
    return this.service.update(ctx.viewer, input);
  }

  @Mutation(() => GroupModel, { description: 'Admins: add a user to a group (grants given to the group apply to them at once).' })
  addGroupMember(@Args('input') input: GroupMemberInput, @Context() ctx: GqlContext): Promise<GroupModel> {
    return this.service.addMember(ctx.viewer, input);
  }

  @Mutation(() => GroupModel, { description: 'Admins: remove a user from a group; they leave live rooms the group opened.' })
  removeGroupMember(@Args('input') input: GroupMemberInput, @Context() ctx: GqlContext): Promise<GroupModel> {
    return this.service.removeMember(ctx.viewer, input);
  }

  // Others meet a group only as an article's owner (its name is shown there): how many people
  // it holds (employees, partners) and who may ping it are the admins' to know.

  @ResolveField(() => Int, { nullable: true, description: 'Admins only; null for others.' })
  memberCount(@Parent() group: GroupModel, @Context() ctx: GqlContext): number | null {
    return ctx.viewer.isAdmin ? group.memberCount : null;
  }

  @ResolveField(() => GroupMentionable, {
    nullable: true,
    description: `Admins only; null for others. Who may @mention the group by its slug; a mention tells its members who may read the post (a group of more than ${GROUP_MENTION_MAX_MEMBERS} members is not told).`,
  })
  mentionable(@Parent() group: GroupModel, @Context() ctx: GqlContext): GroupMentionable | null {
    return ctx.viewer.isAdmin ? group.mentionable : null;
  }
}
