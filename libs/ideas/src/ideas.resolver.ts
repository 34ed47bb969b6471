import { Args, Context, ID, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import type { GqlContext } from '../../core/src/graphql/context';
import { Connection } from '../../core/src/graphql/pagination';
import { TopicConnection, TopicModel } from '../../forum/src/topics/topic.model';
import { userField } from '../../identity/src/users/user-field';
import { BoardModel } from '../../spaces/src/boards/board.model';
import {
  IdeaBoardSettingsModel,
  IdeaListArgs,
  IdeaModel,
  IdeaResponseModel,
  IdeaStatusChangeModel,
  IdeasCsvArgs,
  MergeIdeaInput,
  RoadmapModel,
  SegmentCountModel,
  SetIdeaStatusInput,
  UpdateIdeaBoardInput,
} from './idea.model';
import { IdeasService } from './ideas.service';

@Resolver(() => TopicModel)
export class IdeaTopicResolver {
  constructor(private readonly ideas: IdeasService) {}

  @ResolveField(() => IdeaModel, { nullable: true, description: 'Null unless the topic is an idea (a topic of an IDEAS board).' })
  idea(@Parent() topic: TopicModel, @Context() ctx: GqlContext): Promise<IdeaModel | null> {
    return this.ideas.idea(ctx.viewer, topic);
  }

  @Mutation(() => TopicModel, { description: 'One vote per member and idea; closed and merged ideas take no votes.' })
  voteIdea(@Args('topicId', { type: () => ID }) topicId: string, @Context() ctx: GqlContext): Promise<TopicModel> {
    return this.ideas.vote(ctx.viewer, topicId, true);
  }

  @Mutation(() => TopicModel, { description: 'Withdraws the viewer’s vote (including votes carried over from merged ideas).' })
  unvoteIdea(@Args('topicId', { type: () => ID }) topicId: string, @Context() ctx: GqlContext): Promise<TopicModel> {
    return this.ideas.vote(ctx.viewer, topicId, false);
  }

  @Mutation(() => TopicModel, { description: 'Moderators: move an idea through the workflow, optionally with an official response. Voters, the author and watchers hear of it.' })
  setIdeaStatus(@Args('input') input: SetIdeaStatusInput, @Context() ctx: GqlContext): Promise<TopicModel> {
    return this.ideas.setStatus(ctx.viewer, input);
  }

  @Mutation(() => TopicModel, { description: 'Moderators: merge a duplicate into another idea of the same space; returns the target.' })
  mergeIdea(@Args('input') input: MergeIdeaInput, @Context() ctx: GqlContext): Promise<TopicModel> {
    return this.ideas.merge(ctx.viewer, input);
  }

  @Mutation(() => TopicModel, { description: 'Space admins: undo a merge; returns the restored idea.' })
  unmergeIdea(@Args('topicId', { type: () => ID }) topicId: string, @Context() ctx: GqlContext): Promise<TopicModel> {
    return this.ideas.unmerge(ctx.viewer, topicId);
  }

  @Query(() => RoadmapModel, { description: 'Planned, in-progress and recently completed ideas of a space, for whoever reads it.' })
  roadmap(@Args('spaceId', { type: () => ID }) spaceId: string, @Context() ctx: GqlContext): Promise<RoadmapModel> {
    return this.ideas.roadmap(ctx.viewer, spaceId);
  }

  @Query(() => String, { description: 'Moderators: an ideas board as CSV (title, status, votes, votes by segment, created, last status change).' })
  ideasCsv(@Args() args: IdeasCsvArgs, @Context() ctx: GqlContext): Promise<string> {
    return this.ideas.csv(ctx.viewer, args);
  }
}

@Resolver(() => IdeaModel)
export class IdeaDetailsResolver {
  constructor(private readonly ideas: IdeasService) {}

  @ResolveField(() => Boolean, { description: 'The viewer supports this idea (directly, or through an idea merged into it).' })
  viewerHasVoted(@Parent() idea: IdeaModel, @Context() ctx: GqlContext): Promise<boolean> {
    return this.ideas.viewerHasVoted(ctx.viewer, idea.topicId);
  }

  @ResolveField(() => TopicModel, { nullable: true })
  mergedInto(@Parent() idea: IdeaModel, @Context() ctx: GqlContext): Promise<TopicModel | null> {
    return this.ideas.mergedInto(ctx.viewer, idea);
  }

  @ResolveField(() => [IdeaStatusChangeModel], { description: 'Every status change, oldest first.' })
  statusHistory(@Parent() idea: IdeaModel, @Context() ctx: GqlContext): Promise<IdeaStatusChangeModel[]> {
    return this.ideas.statusHistory(ctx.viewer, idea.topicId);
  }

  @ResolveField(() => [SegmentCountModel], { nullable: true, description: 'Votes by the voters’ groups that the viewer sees (a hidden group counts as none); the space’s moderators and admins only (null for others).' })
  votesBySegment(@Parent() idea: IdeaModel, @Context() ctx: GqlContext): Promise<SegmentCountModel[] | null> {
    return this.ideas.votesBySegment(ctx.viewer, idea);
  }
}

/** `IdeaResponse.author` and `IdeaStatusChange.actor`, through the user loader. */
export const IDEA_USER_FIELDS = [
  userField(IdeaResponseModel, 'author', (r) => r.authorId),
  userField(IdeaStatusChangeModel, 'actor', (c) => c.actorId),
];

@Resolver(() => BoardModel)
export class IdeaBoardResolver {
  constructor(private readonly service: IdeasService) {}

  @ResolveField(() => TopicConnection, { description: 'An IDEAS board’s ideas, by status and tag, sorted (TRENDING by default); empty for other boards.' })
  ideas(@Parent() board: BoardModel, @Args() args: IdeaListArgs, @Context() ctx: GqlContext): Promise<Connection<TopicModel>> {
    return this.service.list(ctx.viewer, board, args);
  }

  @ResolveField(() => IdeaBoardSettingsModel, { nullable: true, description: 'Null unless an IDEAS board.' })
  ideaSettings(@Parent() board: BoardModel, @Context() ctx: GqlContext): Promise<IdeaBoardSettingsModel | null> {
    return this.service.boardSettings(ctx.viewer, board);
  }

  @Mutation(() => BoardModel, { description: 'Space admins: an idea board’s vote budget and status labels.' })
  updateIdeaBoard(@Args('input') input: UpdateIdeaBoardInput, @Context() ctx: GqlContext): Promise<BoardModel> {
    return this.service.updateBoard(ctx.viewer, input);
  }
}
