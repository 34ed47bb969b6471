import { Args, Context, ID, Mutation, Query, Resolver } from '@nestjs/graphql';
import type { GqlContext } from '../../../core/src/graphql/context';
import { GlobalPinInput } from './dto/topic.inputs';
import { GlobalPinsService, PINNED_TOPICS_MAX } from './global-pins.service';
import { TopicModel } from './topic.model';

@Resolver(() => TopicModel)
export class GlobalPinsResolver {
  constructor(private readonly service: GlobalPinsService) {}

  @Mutation(() => TopicModel, {
    description:
      'Site-wide moderators: pin a visible topic above every feed as an announcement (for `durationHours`, or until unpinned), or unpin it. ' +
      'Pinning it again shows it again to those who dismissed it. Logged and announced like setTopicStatus.',
  })
  setGlobalPin(@Args('input') input: GlobalPinInput, @Context() ctx: GqlContext): Promise<TopicModel> {
    return this.service.set(ctx.viewer, input);
  }

  @Query(() => [TopicModel], {
    description: `Announcements: topics pinned above every feed that the viewer reads and has not dismissed, newest pin first, at most ${PINNED_TOPICS_MAX}.`,
  })
  pinnedTopics(@Context() ctx: GqlContext): Promise<TopicModel[]> {
    return this.service.list(ctx.viewer);
  }

  @Mutation(() => Boolean, { description: 'Signed-in members: "unpin for me", until it is pinned again. False when the topic is not pinned for everyone.' })
  dismissPinnedTopic(@Args('topicId', { type: () => ID }) topicId: string, @Context() ctx: GqlContext): Promise<boolean> {
    return this.service.dismiss(ctx.viewer, topicId);
  }
}
