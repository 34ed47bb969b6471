import { Args, Context, ID, Mutation, Query, Resolver } from '@nestjs/graphql';
import type { GqlContext } from '../../../core/src/graphql/context';
import { SpacePageArgs } from '../space-page.args';
import { WatchedWordConnection, WatchedWordInput, WatchedWordModel, WatchedWordsService } from './watched-words';

@Resolver(() => WatchedWordModel)
export class WatchedWordsResolver {
  constructor(private readonly service: WatchedWordsService) {}

  @Query(() => WatchedWordConnection, { description: 'Moderators: automod rules of a space, or site-wide rules when spaceId is absent, oldest first.' })
  watchedWords(@Args() args: SpacePageArgs, @Context() ctx: GqlContext) {
    return this.service.list(ctx.viewer, args.spaceId ?? null, args);
  }

  @Mutation(() => WatchedWordModel, { description: 'Add an automod rule (validated: slow or invalid patterns are refused).' })
  createWatchedWord(@Args('input') input: WatchedWordInput, @Context() ctx: GqlContext) {
    return this.service.create(ctx.viewer, input);
  }

  @Mutation(() => Boolean, { description: 'Moderators of the rule’s space (global moderators for site-wide rules): delete a watched-word rule. Logged.' })
  deleteWatchedWord(@Args('id', { type: () => ID }) id: string, @Context() ctx: GqlContext) {
    return this.service.delete(ctx.viewer, id);
  }
}
