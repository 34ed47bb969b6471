import { Args, Context, Mutation, Query, Resolver } from '@nestjs/graphql';
import { GqlContext } from '../../../core/src/graphql/context';
import { CreateGroupInput, GroupMemberInput, UpdateGroupInput } from './dto/group.inputs';
import { GroupModel } from './group.model';
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
}
