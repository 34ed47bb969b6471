import { Args, Context, ID, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import type { GqlContext } from '../../../core/src/graphql/context';
import { PageArgs } from '../../../core/src/graphql/pagination';
import { UserModel } from '../../../identity/src/users/user.model';
import { UsersLoader } from '../../../identity/src/users/users.loader';
import { SanctionInput } from './dto/sanction.inputs';
import { SanctionConnection, SanctionModel } from './sanction.model';
import { SanctionsService } from './sanctions.service';

@Resolver(() => SanctionModel)
export class SanctionsResolver {
  constructor(
    private readonly service: SanctionsService,
    private readonly users: UsersLoader,
  ) {}

  @Mutation(() => SanctionModel, { description: 'Moderators: warn, silence, suspend or ban a user, in one space or site-wide.' })
  sanctionUser(@Args('input') input: SanctionInput, @Context() ctx: GqlContext) {
    return this.service.sanction(ctx.viewer, input);
  }

  @Mutation(() => SanctionModel, { description: 'Moderators: end a sanction early. Logged. A ban’s e-mail and IP bans go with it, but an address another ban in force banned too stays banned until that one ends.' })
  liftSanction(@Args('id', { type: () => ID }) id: string, @Context() ctx: GqlContext) {
    return this.service.lift(ctx.viewer, id);
  }

  @Mutation(() => SanctionModel, { description: 'The warned user acknowledges a warning.' })
  acknowledgeWarning(@Args('id', { type: () => ID }) id: string, @Context() ctx: GqlContext) {
    return this.service.acknowledge(ctx.viewer, id);
  }

  @Query(() => SanctionConnection, { description: 'The viewer’s own sanctions, newest first.' })
  mySanctions(@Args() args: PageArgs, @Context() ctx: GqlContext) {
    return this.service.mine(ctx.viewer, args);
  }

  @Query(() => SanctionConnection, { description: 'Moderators: a user’s sanctions within their reach, newest first. NOT_FOUND for a user who does not exist.' })
  userSanctions(@Args('userId', { type: () => ID }) userId: string, @Args() args: PageArgs, @Context() ctx: GqlContext) {
    return this.service.ofUser(ctx.viewer, userId, args);
  }

  @ResolveField(() => UserModel)
  user(@Parent() s: SanctionModel, @Context() ctx: GqlContext) {
    return this.users.load(ctx.viewer, s.userId);
  }
}
