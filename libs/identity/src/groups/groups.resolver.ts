import { Args, Context, Mutation, Query, Resolver } from '@nestjs/graphql';
import { GqlContext } from '../../../core/src/graphql/context';
import { CreateGroupInput, GroupMemberInput } from './dto/group.inputs';
import { GroupModel } from './group.model';
import { GroupsService } from './groups.service';

@Resolver(() => GroupModel)
export class GroupsResolver {
  constructor(private readonly service: GroupsService) {}

  @Query(() => [GroupModel], { description: 'Admins only.' })
  groups(@Context() ctx: GqlContext): Promise<GroupModel[]> {
    return this.service.list(ctx.viewer);
  }

  @Mutation(() => GroupModel)
  createGroup(@Args('input') input: CreateGroupInput, @Context() ctx: GqlContext): Promise<GroupModel> {
    return this.service.create(ctx.viewer, input);
  }

  @Mutation(() => GroupModel)
  addGroupMember(@Args('input') input: GroupMemberInput, @Context() ctx: GqlContext): Promise<GroupModel> {
    return this.service.addMember(ctx.viewer, input);
  }

  @Mutation(() => GroupModel)
  removeGroupMember(@Args('input') input: GroupMemberInput, @Context() ctx: GqlContext): Promise<GroupModel> {
    return this.service.removeMember(ctx.viewer, input);
  }
}
