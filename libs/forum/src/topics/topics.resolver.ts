import { Args, Context, ID, Info, Int, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import type { GraphQLResolveInfo } from 'graphql';
import { responsePathAsArray } from 'graphql';
import { AppError } from '../../../core/src/errors';
import { Connection } from '../../../core/src/graphql/pagination';
import type { GqlContext } from '../../../core/src/graphql/context';
import { UserModel } from '../../../identity/src/users/user.model';
import { UsersLoader } from '../../../identity/src/users/users.loader';
import { BoardModel } from '../../../spaces/src/boards/board.model';
import { SpaceModel } from '../../../spaces/src/spaces/space.model';
import { SpacesLoader } from '../../../spaces/src/spaces.loader';
import { ForumLoaders } from '../forum.loaders';
import { PostConnection, PostModel } from '../posts/post.model';
import { PostsService } from '../posts/posts.service';
import { TopicPostsArgs } from '../posts/dto/post.inputs';
import {
  CreateTopicInput, MarkReadInput, MoveTopicInput, PARTICIPANTS_MAX, ParticipantsArgs, SUGGESTED_MAX, SuggestedTopicsArgs, TopicFeedArgs, TopicListArgs, TopicSlowModeInput, TopicStatusInput,
} from './dto/topic.inputs';
import { TopicConnection, TopicModel, TopicParticipantModel } from './topic.model';
import { TopicsService } from './topics.service';
import { Preloadable } from '../../../core/src/graphql/preloaded-fields';
import { listOf } from '../../../core/src/graphql/limits';

@Resolver(() => TopicModel)
export class TopicsResolver {
  constructor(
    private readonly topics: TopicsService,
    private readonly postsService: PostsService,
    private readonly loaders: ForumLoaders,
    private readonly users: UsersLoader,
    private readonly spaces: SpacesLoader,
  ) {}

  @Query(() => TopicModel, {
    nullable: true,
    description: 'A topic by id. NOT_FOUND (and null) when it does not exist or the viewer may not see it, exactly alike.',
  })
  topic(@Args('id', { type: () => ID }) id: string, @Context() ctx: GqlContext): Promise<TopicModel> {
    return this.topics.get(ctx.viewer, id);
  }

  @Query(() => TopicConnection, {
    name: 'topics',
    description:
      'Forum topics across every space the viewer reads, as their boards list them (idea and knowledge boards keep their own lists), newest first: LATEST by last activity, UNREAD and NEW as TopicFeedView says (signed-in members; UNAUTHENTICATED otherwise). Pinned topics take their place by date. Topics a member muted, or whose board or one of whose tags they muted, are left out. `totalCount` counts the whole feed: ask for it only when you show it.',
  })
  topicFeed(@Args() args: TopicFeedArgs, @Context() ctx: GqlContext): Promise<Connection<TopicModel>> {
    return this.topics.feed(ctx.viewer, args);
  }

  @ResolveField(() => UserModel)
  @Preloadable()
  author(@Parent() t: TopicModel, @Context() ctx: GqlContext) {
    return this.users.load(ctx.viewer, t.authorId);
  }

  @ResolveField(() => BoardModel)
  board(@Parent() t: TopicModel, @Context() ctx: GqlContext) {
    return this.spaces.board(ctx.viewer, t.boardId);
  }

  @ResolveField(() => SpaceModel)
  space(@Parent() t: TopicModel, @Context() ctx: GqlContext) {
    return this.spaces.space(ctx.viewer, t.spaceId);
  }

  @ResolveField(() => PostModel, { description: 'The opening post.' })
  firstPost(@Parent() t: TopicModel, @Context() ctx: GqlContext) {
    return this.loaders.firstPost(ctx.viewer, t.id);
  }

  @ResolveField(() => PostModel, { nullable: true, description: 'The accepted answer of a question.' })
  async acceptedAnswer(@Parent() t: TopicModel, @Context() ctx: GqlContext): Promise<PostModel | null> {
    if (!t.acceptedPostId) return null;
    const post = await this.loaders.post(ctx.viewer, t.acceptedPostId);
    return post?.view === 'full' ? post : null;
  }

  @ResolveField(() => Int, { nullable: true, description: 'Visible posts of others the viewer has not read yet (their own count as read); null when anonymous.' })
  unreadCount(@Parent() t: TopicModel, @Context() ctx: GqlContext) {
    return this.loaders.unreadCount(ctx.viewer, t.id);
  }

  @ResolveField(() => Int, {
    nullable: true,
    description: 'The number of the last post the viewer read here (`markRead`), to open the topic where they left off (`posts(near:)`); null when anonymous or never read.',
  })
  lastReadNumber(@Parent() t: TopicModel, @Context() ctx: GqlContext) {
    return this.loaders.lastReadNumber(ctx.viewer, t.id);
  }

  @ResolveField(() => [TopicModel], {
    description:
      'Suggested topics to read next, under a topic’s page (Discourse’s): for a signed-in member, topics with unread posts, then new topics, ' +
      'each from this board first and then from every space they read; then the latest of this board. Never this topic, nor one muted or unreadable. ' +
      `Forum topics only (ideas and articles get none). Asked of one topic at a time: under a list it is BAD_USER_INPUT. \`first\`: default 5, at most ${SUGGESTED_MAX}.`,
    complexity: listOf(SUGGESTED_MAX),
  })
  suggestedTopics(@Parent() t: TopicModel, @Args() args: SuggestedTopicsArgs, @Context() ctx: GqlContext, @Info() info: GraphQLResolveInfo): Promise<TopicModel[]> {
    if (responsePathAsArray(info.path).some((key) => typeof key === 'number')) {
      throw AppError.badField('suggestedTopics', 'is asked of one topic at a time, not of the topics of a list');
    }
    return this.topics.suggested(ctx.viewer, t, args.first ?? 5);
  }

  @ResolveField(() => [TopicParticipantModel], {
    description: `The topic's most frequent writers of visible posts (Discourse's topic map), most posts first, then the latest to write. \`first\`: default 5, at most ${PARTICIPANTS_MAX}.`,
    complexity: listOf(PARTICIPANTS_MAX),
  })
  async participants(@Parent() t: TopicModel, @Args() args: ParticipantsArgs, @Context() ctx: GqlContext): Promise<TopicParticipantModel[]> {
    const writers = await this.loaders.participants(ctx.viewer, t.id, args.first ?? 5);
    const users = await Promise.all(writers.map((w) => this.users.load(ctx.viewer, w.user_id)));
    return writers.flatMap((w, i) => (users[i] ? [Object.assign(new TopicParticipantModel(), { user: users[i], posts: w.posts })] : []));
  }

  @ResolveField(() => PostConnection, {
    description:
      'Posts by number, the first post included: forwards (`first`, `after`), opened at a post number (`near`), or backwards (`last`, `before`; `last` alone: the topic’s end). ' +
      'Opened or read backwards, it is asked of one topic at a time: under a list it is BAD_USER_INPUT.',
  })
  posts(@Parent() t: TopicModel, @Args() args: TopicPostsArgs, @Context() ctx: GqlContext, @Info() info: GraphQLResolveInfo): Promise<Connection<PostModel>> {
    const windowed = [args.near, args.last, args.before].some((a) => a !== undefined && a !== null);
    if (windowed && responsePathAsArray(info.path).some((key) => typeof key === 'number')) {
      throw AppError.badField('posts', 'is opened at a post, or read backwards, for one topic at a time, not for the topics of a list');
    }
    return this.postsService.topicPage(ctx.viewer, t, args);
  }

  @Mutation(() => TopicModel, { description: 'Start a topic with its first post (PARTICIPATE in the board’s space). Automod, posting limits, pre-moderation and the spam filter apply; a held topic comes back PENDING.' })
  createTopic(@Args('input') input: CreateTopicInput, @Context() ctx: GqlContext) {
    return this.topics.create(ctx.viewer, input);
  }

  @Mutation(() => TopicModel, { description: 'Moderators: pin, close or lock a topic.' })
  setTopicStatus(@Args('input') input: TopicStatusInput, @Context() ctx: GqlContext) {
    return this.topics.setStatus(ctx.viewer, input);
  }

  @Mutation(() => TopicModel, {
    description:
      'Moderators: slow mode. Each member may post in the topic once every `seconds` (10 s to a day; a reply sooner is RATE_LIMITED with the wait), ' +
      'for `durationHours` or until turned off with 0 seconds. Moderators of the space are not slowed. Logged and announced like setTopicStatus.',
  })
  setTopicSlowMode(@Args('input') input: TopicSlowModeInput, @Context() ctx: GqlContext) {
    return this.topics.setSlowMode(ctx.viewer, input);
  }

  @Mutation(() => TopicModel, { description: 'Moderators of both sides: move a topic to another board of the same kind, in this space or another.' })
  moveTopic(@Args('input') input: MoveTopicInput, @Context() ctx: GqlContext) {
    return this.topics.move(ctx.viewer, input);
  }

  @Mutation(() => TopicModel, { description: 'The question’s author or a moderator accepts an answer (replacing any previous one).' })
  acceptAnswer(@Args('postId', { type: () => ID }) postId: string, @Context() ctx: GqlContext) {
    return this.topics.acceptAnswer(ctx.viewer, postId);
  }

  @Mutation(() => TopicModel, { description: 'The topic’s author or a moderator: clear the accepted answer.' })
  unacceptAnswer(@Args('topicId', { type: () => ID }) topicId: string, @Context() ctx: GqlContext) {
    return this.topics.unacceptAnswer(ctx.viewer, topicId);
  }

  @Mutation(() => TopicModel, { description: 'Records how far the viewer has read.' })
  markRead(@Args('input') input: MarkReadInput, @Context() ctx: GqlContext) {
    return this.topics.markRead(ctx.viewer, input);
  }
}

@Resolver(() => BoardModel)
export class BoardTopicsResolver {
  constructor(private readonly service: TopicsService) {}

  @ResolveField(() => TopicConnection, { description: 'Pinned topics first, then by `sort`; optionally only those with `tag`.' })
  topics(@Parent() board: BoardModel, @Args() args: TopicListArgs, @Context() ctx: GqlContext): Promise<Connection<TopicModel>> {
    return this.service.list(ctx.viewer, board, args);
  }
}
