import { Args, Context, ID, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { Connection } from '../../../core/src/graphql/pagination';
import type { GqlContext } from '../../../core/src/graphql/context';
import { ForumLoaders } from '../../../forum/src/forum.loaders';
import { PostModel } from '../../../forum/src/posts/post.model';
import { TopicModel } from '../../../forum/src/topics/topic.model';
import { UserModel } from '../../../identity/src/users/user.model';
import { UsersLoader } from '../../../identity/src/users/users.loader';
import { SpaceModel } from '../../../spaces/src/spaces/space.model';
import { SpacesLoader } from '../../../spaces/src/spaces.loader';
import { ModeratePostInput, ReportInput, ResolveReviewInput, ReviewQueueArgs } from './dto/report.inputs';
import { ReportsService } from './reports.service';
import { ReportModel, ReportTargetType, ReviewEventModel, ReviewItemConnection, ReviewItemModel } from './review.model';

@Resolver(() => ReviewItemModel)
export class ReviewResolver {
  constructor(
    private readonly service: ReportsService,
    private readonly forum: ForumLoaders,
    private readonly users: UsersLoader,
    private readonly spaces: SpacesLoader,
  ) {}

  @Mutation(() => ReportModel, { description: 'Report a post, a topic or a user you can see. At most 20 a day; one open report per target.' })
  report(@Args('input') input: ReportInput, @Context() ctx: GqlContext) {
    return this.service.report(ctx.viewer, input);
  }

  @Query(() => ReviewItemConnection, { description: 'Moderators: items to review, in one space or all within reach.' })
  reviewQueue(@Args() args: ReviewQueueArgs, @Context() ctx: GqlContext): Promise<Connection<ReviewItemModel>> {
    return this.service.queue(ctx.viewer, args);
  }

  @Mutation(() => ReviewItemModel, { description: 'Take an item for 30 minutes so no other moderator works on it.' })
  claimReviewItem(@Args('id', { type: () => ID }) id: string, @Context() ctx: GqlContext) {
    return this.service.claim(ctx.viewer, id);
  }

  @Mutation(() => ReviewItemModel, { description: 'Moderators: decide a review item (APPROVE upholds it and acts on the content, REJECT dismisses it, IGNORE closes it; held content and appeals take APPROVE or REJECT). Logged; reporters are told.' })
  resolveReviewItem(@Args('input') input: ResolveReviewInput, @Context() ctx: GqlContext) {
    return this.service.resolve(ctx.viewer, input);
  }

  @Mutation(() => PostModel, { description: 'Moderators: hide, unhide, delete, restore, approve or reject a post.' })
  moderatePost(@Args('input') input: ModeratePostInput, @Context() ctx: GqlContext) {
    return this.service.moderatePost(ctx.viewer, input);
  }

  @ResolveField(() => [ReportModel], { description: 'The reports gathered here, with their weights.' })
  reports(@Parent() item: ReviewItemModel, @Context() ctx: GqlContext) {
    return this.service.reportsOf(ctx.viewer, item.id);
  }

  @ResolveField(() => [ReviewEventModel], { description: 'Everything that happened to this item, in order.' })
  history(@Parent() item: ReviewItemModel, @Context() ctx: GqlContext) {
    return this.service.history(ctx.viewer, item.id);
  }

  @ResolveField(() => SpaceModel, { nullable: true })
  space(@Parent() item: ReviewItemModel, @Context() ctx: GqlContext) {
    return item.spaceId ? this.spaces.space(ctx.viewer, item.spaceId) : null;
  }

  @ResolveField(() => UserModel, { nullable: true })
  claimedBy(@Parent() item: ReviewItemModel, @Context() ctx: GqlContext) {
    return item.claimedById ? this.users.load(ctx.viewer, item.claimedById) : null;
  }

  @ResolveField(() => UserModel, { nullable: true, description: 'Who settled it; null while pending, or when it settled itself (its author withdrew the content, say).' })
  resolvedBy(@Parent() item: ReviewItemModel, @Context() ctx: GqlContext) {
    return item.resolvedById ? this.users.load(ctx.viewer, item.resolvedById) : null;
  }

  @ResolveField(() => PostModel, { nullable: true, description: 'The reported post.' })
  post(@Parent() item: ReviewItemModel, @Context() ctx: GqlContext) {
    return item.targetType === ReportTargetType.POST ? this.forum.post(ctx.viewer, item.targetId) : null;
  }

  @ResolveField(() => TopicModel, { nullable: true, description: 'The reported topic.' })
  topic(@Parent() item: ReviewItemModel, @Context() ctx: GqlContext) {
    return item.targetType === ReportTargetType.TOPIC ? this.forum.topic(ctx.viewer, item.targetId) : null;
  }

  @ResolveField(() => UserModel, { nullable: true, description: 'The reported user.' })
  user(@Parent() item: ReviewItemModel, @Context() ctx: GqlContext) {
    return item.targetType === ReportTargetType.USER ? this.users.load(ctx.viewer, item.targetId) : null;
  }
}

@Resolver(() => ReviewEventModel)
export class ReviewEventResolver {
  constructor(private readonly users: UsersLoader) {}

  @ResolveField(() => UserModel, { nullable: true, description: 'Who did it; null for an automatic step (automod, the escalation ladder).' })
  actor(@Parent() e: ReviewEventModel, @Context() ctx: GqlContext) {
    return e.actorId ? this.users.load(ctx.viewer, e.actorId) : null;
  }
}

@Resolver(() => ReportModel)
export class ReportResolver {
  constructor(private readonly users: UsersLoader) {}

  @ResolveField(() => UserModel)
  reporter(@Parent() r: ReportModel, @Context() ctx: GqlContext) {
    return this.users.load(ctx.viewer, r.reporterId);
  }
}
