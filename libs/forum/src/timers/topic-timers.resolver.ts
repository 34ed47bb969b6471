import { Args, Context, Float, Mutation, Parent, ResolveField, Resolver } from '@nestjs/graphql';
import type { GqlContext } from '../../../core/src/graphql/context';
import { UserModel } from '../../../identity/src/users/user.model';
import { UsersLoader } from '../../../identity/src/users/users.loader';
import { BoardModel } from '../../../spaces/src/boards/board.model';
import { SpacesLoader } from '../../../spaces/src/spaces.loader';
import { TopicModel } from '../topics/topic.model';
import { RemoveTopicTimerInput, SetTopicTimerInput } from './dto/topic-timer.inputs';
import { TopicTimerModel } from './topic-timer.model';
import { TopicTimersService } from './topic-timers.service';

@Resolver(() => TopicModel)
export class TopicTimersResolver {
  constructor(private readonly service: TopicTimersService) {}

  @ResolveField(() => [TopicTimerModel], {
    description:
      'Changes planned for this topic, soonest first: CLOSE, OPEN and CLOSE_AFTER_LAST_POST (its one status timer) for everyone who reads it; UNPIN, DELETE and PUBLISH_TO_BOARD for those who may moderate it. A timer that would be dropped when due (its setter no longer moderating the topic: demoted, suspended, account deleted; or, for PUBLISH_TO_BOARD, no longer moderating the board it publishes to, or the topic already there; or the topic deleted) is left out. Setting, removing, firing, dropping or postponing one, and moving, deleting or restoring a topic that holds some, sends `topic:timers` to the topic’s live room.',
  })
  timers(@Parent() t: TopicModel, @Context() ctx: GqlContext): Promise<TopicTimerModel[]> {
    return this.service.ofTopic(ctx.viewer, t);
  }

  @ResolveField(() => Float, {
    description:
      'The version `topic:timers` pushes carry to the viewer, read with `timers`: to those who may moderate the topic, one every change of its timers raises (set, removed, fired, dropped, postponed, or its topic moved, deleted or restored, which decides which timers still stand); to the others, one only changes of CLOSE, OPEN and CLOSE_AFTER_LAST_POST raise, so it tells nothing of the timers they are not shown; both on one scale. ' +
      'Keep the highest you applied, from this answer or a push, and drop a push of a lower one (README, Order). A whole number from 2^31 on after the first status timer: a Float, exact (below 2^53), for it outgrows Int.',
  })
  timersVersion(@Parent() t: TopicModel, @Context() ctx: GqlContext): Promise<number> {
    return this.service.versionOf(ctx.viewer, t);
  }

  @Mutation(() => TopicModel, {
    description:
      'Those who may setTopicStatus on the topic: plan a change to it. A topic has one status timer (CLOSE, OPEN or CLOSE_AFTER_LAST_POST: setting any of them replaces the one there, as in Discourse) and at most one UNPIN, one DELETE and one PUBLISH_TO_BOARD timer beside it; setting one again replaces it. It is made when due as the moderator who set it, if they still may, and dropped if it no longer applies. A time past or more than a year ahead is BAD_USER_INPUT. PUBLISH_TO_BOARD takes `boardId`: a forum board other than the topic’s own, in a space you moderate (NOT_FOUND for one you may not read, BAD_USER_INPUT on `boardId` otherwise), for forum topics only (BAD_USER_INPUT on `kind`); when due the topic moves there as moveTopic moves it and is announced as new: dated then, at the top of the latest, its board’s and tags’ watchers told as of a new topic.',
  })
  setTopicTimer(@Args('input') input: SetTopicTimerInput, @Context() ctx: GqlContext): Promise<TopicModel> {
    return this.service.set(ctx.viewer, input);
  }

  @Mutation(() => TopicModel, { description: 'Those who may setTopicStatus on the topic: remove its timer of this kind (none there changes nothing).' })
  removeTopicTimer(@Args('input') input: RemoveTopicTimerInput, @Context() ctx: GqlContext): Promise<TopicModel> {
    return this.service.remove(ctx.viewer, input);
  }
}

@Resolver(() => TopicTimerModel)
export class TopicTimerResolver {
  constructor(
    private readonly users: UsersLoader,
    private readonly spaces: SpacesLoader,
  ) {}

  @ResolveField(() => UserModel, { nullable: true, description: 'The moderator it is done as; null for those who do not moderate the topic.' })
  setBy(@Parent() timer: TopicTimerModel, @Context() ctx: GqlContext): Promise<UserModel | null> | null {
    return timer.shownToModerator ? this.users.load(ctx.viewer, timer.setById) : null;
  }

  @ResolveField(() => BoardModel, {
    nullable: true,
    description: 'PUBLISH_TO_BOARD: the board it publishes the topic to. Null for other kinds, for those who do not moderate the topic, and for a board in a space you may not read.',
  })
  board(@Parent() timer: TopicTimerModel, @Context() ctx: GqlContext): Promise<BoardModel | null> | null {
    return timer.shownToModerator && timer.boardId ? this.spaces.board(ctx.viewer, timer.boardId) : null;
  }
}
