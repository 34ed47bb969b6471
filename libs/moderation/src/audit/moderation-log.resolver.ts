import { Args, Context, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { Connection } from '../../../core/src/graphql/pagination';
import type { GqlContext } from '../../../core/src/graphql/context';
import { UserModel } from '../../../identity/src/users/user.model';
import { UsersLoader } from '../../../identity/src/users/users.loader';
import { SpaceModel } from '../../../spaces/src/spaces/space.model';
import { SpacesLoader } from '../../../spaces/src/spaces.loader';
import { ModerationLogConnection, ModerationLogEntryModel } from './moderation-log.model';
import { ModerationLogService } from './moderation-log.service';
import { SpacePageArgs } from '../space-page.args';

@Resolver(() => ModerationLogEntryModel)
export class ModerationLogResolver {
  constructor(
    private readonly service: ModerationLogService,
    private readonly users: UsersLoader,
    private readonly spaces: SpacesLoader,
  ) {}

  @Query(() => ModerationLogConnection, { description: 'Moderators: the moderation log of a space, or of everything within reach. Newest first.' })
  moderationLog(@Args() args: SpacePageArgs, @Context() ctx: GqlContext): Promise<Connection<ModerationLogEntryModel>> {
    return this.service.list(ctx.viewer, args.spaceId, args);
  }

  @ResolveField(() => UserModel, { nullable: true, description: 'Null for automatic actions.' })
  actor(@Parent() e: ModerationLogEntryModel, @Context() ctx: GqlContext) {
    return e.actorId ? this.users.load(ctx.viewer, e.actorId) : null;
  }

  @ResolveField(() => SpaceModel, { nullable: true })
  space(@Parent() e: ModerationLogEntryModel, @Context() ctx: GqlContext) {
    return e.spaceId ? this.spaces.space(ctx.viewer, e.spaceId) : null;
  }
}
