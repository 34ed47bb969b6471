import { Args, Context, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import type { GqlContext } from '../../../core/src/graphql/context';
import { Connection, PageArgs } from '../../../core/src/graphql/pagination';
import { BoardModel } from '../../../spaces/src/boards/board.model';
import { SpacesLoader } from '../../../spaces/src/spaces.loader';
import { ForumLoaders } from '../forum.loaders';
import { PostModel } from '../posts/post.model';
import { TopicModel } from '../topics/topic.model';
import { DraftConnection, DraftModel } from './draft.model';
import { DRAFT_RETENTION_DAYS, DraftsService, MAX_DRAFTS } from './drafts.service';
import { DeleteDraftArgs, DraftTargetInput, SaveDraftInput } from './dto/draft.inputs';

@Resolver(() => DraftModel)
export class DraftsResolver {
  constructor(
    private readonly service: DraftsService,
    private readonly loaders: ForumLoaders,
    private readonly spaces: SpacesLoader,
  ) {}

  @Query(() => DraftConnection, {
    description:
      'The signed-in member’s drafts, last saved first: all of them, including those for a board or topic they can no longer read (whose board and topic are then null). ' +
      `A draft not saved for ${DRAFT_RETENTION_DAYS} days is deleted.`,
  })
  drafts(@Args() args: PageArgs, @Context() ctx: GqlContext): Promise<Connection<DraftModel>> {
    return this.service.list(ctx.viewer, args);
  }

  @Query(() => DraftModel, { nullable: true, description: 'The signed-in member’s draft for a target; null when they have none (then save with sequence 0).' })
  draft(@Args('target') target: DraftTargetInput, @Context() ctx: GqlContext): Promise<DraftModel | null> {
    return this.service.get(ctx.viewer, target);
  }

  @Mutation(() => DraftModel, {
    description:
      'Saves the signed-in member’s draft of a new topic in a board, of a reply in a topic, or of an edit of a post, where they may post now (NOT_FOUND for what they may not read, ' +
      'FORBIDDEN where they may not post, a closed or locked topic included, or may not edit the post). `sequence` must be the draft’s current one (0 for none): any other is CONFLICT ' +
      'with extensions.currentSequence, and writes nothing. Each save raises the sequence. Posting the topic, reply or edit deletes the draft. ' +
      `At most ${MAX_DRAFTS} drafts (BAD_USER_INPUT beyond).`,
  })
  saveDraft(@Args('input') input: SaveDraftInput, @Context() ctx: GqlContext): Promise<DraftModel> {
    return this.service.save(ctx.viewer, input);
  }

  @Mutation(() => Boolean, {
    description:
      'Deletes the signed-in member’s draft for a target, whatever they may read now: true when there was one. A tab still holding it then gets CONFLICT on its next save. ' +
      'Given `sequence`, a draft saved from elsewhere since (or posted or deleted) is CONFLICT with extensions.currentSequence, and stays.',
  })
  deleteDraft(@Args() args: DeleteDraftArgs, @Context() ctx: GqlContext): Promise<boolean> {
    return this.service.delete(ctx.viewer, args);
  }

  @ResolveField(() => BoardModel, { nullable: true, description: 'A new topic’s draft: its board, while the member may read it; null otherwise.' })
  board(@Parent() d: DraftModel, @Context() ctx: GqlContext): Promise<BoardModel | null> | null {
    return d.target.boardId ? this.spaces.board(ctx.viewer, d.target.boardId) : null;
  }

  @ResolveField(() => TopicModel, { nullable: true, description: 'A reply’s draft: its topic, while the member may read it; null otherwise.' })
  topic(@Parent() d: DraftModel, @Context() ctx: GqlContext): Promise<TopicModel | null> | null {
    return d.target.topicId ? this.loaders.topic(ctx.viewer, d.target.topicId) : null;
  }

  @ResolveField(() => PostModel, {
    nullable: true,
    description: 'A reply’s draft: the post it answers, while the member may read it in full and it stands in the draft’s topic (a post moved elsewhere is null); null otherwise.',
  })
  async replyTo(@Parent() d: DraftModel, @Context() ctx: GqlContext): Promise<PostModel | null> {
    if (!d.replyToPostId) return null;
    const post = await this.fullPost(ctx, d.replyToPostId);
    return post?.topicId === d.target.topicId ? post : null;
  }

  @ResolveField(() => PostModel, { nullable: true, description: 'An edit’s draft: the post it edits, while the member may read it in full; null otherwise.' })
  post(@Parent() d: DraftModel, @Context() ctx: GqlContext): Promise<PostModel | null> | null {
    return d.target.postId ? this.fullPost(ctx, d.target.postId) : null;
  }

  @ResolveField(() => Boolean, {
    nullable: true,
    description:
      'An edit’s draft: whether its post was edited (by anyone) since the draft began, so the edit would replace text the member has not seen. ' +
      'Later saves keep the version the draft began from (their text grows from it); to begin from the post as it is now, delete the draft and save anew. ' +
      'Null for other drafts, and while the member may not read the post in full.',
  })
  async postEditedSince(@Parent() d: DraftModel, @Context() ctx: GqlContext): Promise<boolean | null> {
    if (!d.target.postId || !d.baseEditedAt) return null;
    const post = await this.fullPost(ctx, d.target.postId);
    return post ? (post.editedAt ?? post.createdAt).getTime() !== d.baseEditedAt.getTime() : null;
  }

  /** A post as the viewer may read it in full, or null (batched with the page's other posts). */
  private async fullPost(ctx: GqlContext, postId: string): Promise<PostModel | null> {
    const post = await this.loaders.post(ctx.viewer, postId);
    return post?.view === 'full' ? post : null;
  }
}
