import { Args, Context, ID, Mutation, Query, Resolver } from '@nestjs/graphql';
import { GqlContext } from '../../../core/src/graphql/context';
import { WatchedWordInput, WatchedWordModel, WatchedWordsService } from './watched-words';

@Resolver(() => WatchedWordModel)
export class WatchedWordsResolver {
  constructor(private readonly service: WatchedWordsService) {}

  @Query(() => [WatchedWordModel], { description: 'Moderators: automod rules of a space, or site-wide rules when spaceId is absent.' })
  watchedWords(@Args('spaceId', { type: () => ID, nullable: true }) spaceId: string | undefined, @Context() ctx: GqlContext) {
    return this.service.list(ctx.viewer, spaceId ?? null);
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
