import { Args, Context, Mutation, Parent, ResolveField, Resolver } from '@nestjs/graphql';
import type { GqlContext } from '../../../core/src/graphql/context';
import { AutomaticGroupsService } from './automatic-groups';
import { SetGroupAutomaticDomainsInput } from './dto/group.inputs';
import { GroupModel } from './group.model';
import { GroupsService } from './groups.service';

/** Automatic membership by e-mail domain: admins set it and see it. */
@Resolver(() => GroupModel)
export class AutomaticGroupsResolver {
  constructor(
    private readonly automatic: AutomaticGroupsService,
    private readonly groups: GroupsService,
  ) {}

  @Mutation(() => GroupModel, {
    description:
      'Admins: members whose confirmed e-mail address is at one of these domains are in the group, those there now at once and whoever confirms such an address later; ' +
      'those it put in leave when the list drops their domain or their address moves elsewhere (people added by hand, and owners, stay). Logged with the first 1,000 it added and removed, and how many.',
  })
  async setGroupAutomaticDomains(@Args('input') input: SetGroupAutomaticDomainsInput, @Context() ctx: GqlContext): Promise<GroupModel> {
    await this.automatic.setDomains(ctx.viewer, input);
    return this.groups.get(ctx.viewer, input.groupId);
  }

  @ResolveField(() => [String], { nullable: true, description: 'Admins only; null for others. The e-mail domains whose confirmed addresses put members in the group (`setGroupAutomaticDomains`).' })
  automaticDomains(@Parent() group: GroupModel, @Context() ctx: GqlContext): Promise<string[]> | null {
    return ctx.viewer.isAdmin ? this.automatic.domainsOf(ctx.viewer, group.id) : null;
  }
}
