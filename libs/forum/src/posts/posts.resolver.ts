import { Args, Context, ID, Int, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { LEVEL_RANK } from '../../../access/src/access-level';
import { AppError } from '../../../core/src/errors';
import { Connection, PageArgs } from '../../../core/src/graphql/pagination';
import type { GqlContext } from '../../../core/src/graphql/context';
import { UserModel } from '../../../identity/src/users/user.model';
import { IgnoresService } from '../../../identity/src/users/ignores';
import { UsersLoader } from '../../../identity/src/users/users.loader';
import { ForumLoaders } from '../forum.loaders';
import { ReactionKind } from '../forum.enums';
import { TopicModel } from '../topics/topic.model';
import { EditPostInput, ReactionInput, ReplyInput } from './dto/post.inputs';
import { PendingEditModel, PostConnection, PostModel, PostRevisionModel, publishedHistory } from './post.model';
import { noteForAuthor } from '../posting-policy';
import { PostsService, WIKI_EDIT_MIN_TRUST, WIKI_SELF_MIN_TRUST } from './posts.service';
import { PostMovesService } from './post-moves.service';
import { MovePostsInput } from './dto/move-posts.input';
import { Preloadable } from '../../../core/src/graphql/preloaded-fields';

@Resolver(() => PostModel)
export class PostsResolver {
  constructor(
    private readonly posts: PostsService,
    private readonly moves: PostMovesService,
    private readonly loaders: ForumLoaders,
    private readonly users: UsersLoader,
    private readonly ignores: IgnoresService,
  ) {}

  @Query(() => PostModel, {
    nullable: true,
    description: 'A post by id. NOT_FOUND (and null) when it does not exist or the viewer may not see it; deleted or hidden posts come back as placeholders.',
  })
  post(@Args('id', { type: () => ID }) id: string, @Context() ctx: GqlContext): Promise<PostModel> {
    return this.posts.get(ctx.viewer, id);
  }

  @ResolveField(() => UserModel)
  @Preloadable()
  author(@Parent() p: PostModel, @Context() ctx: GqlContext) {
    return this.users.load(ctx.viewer, p.authorId);
  }

  @ResolveField(() => TopicModel)
  async topic(@Parent() p: PostModel, @Context() ctx: GqlContext): Promise<TopicModel> {
    if (p.topicAsLeft) return p.topicAsLeft;
    // Every path that hands out a post has checked its topic; this only trips when the topic
    // changed since.
    const topic = await this.loaders.topic(ctx.viewer, p.topicId);
    if (!topic) throw AppError.notFound('Topic not found');
    return topic;
  }

  @ResolveField(() => PostModel, { nullable: true, description: 'The post this one replies to; null for a placeholder (as its live push).' })
  replyTo(@Parent() p: PostModel, @Context() ctx: GqlContext) {
    return p.replyToPostId && p.view === 'full' ? this.loaders.post(ctx.viewer, p.replyToPostId) : null;
  }

  @ResolveField(() => String, { nullable: true, description: 'The markdown source: for its author and moderators only.' })
  async bodySource(@Parent() p: PostModel, @Context() ctx: GqlContext): Promise<string | null> {
    if (p.view !== 'full') return null;
    if (p.authorId !== ctx.viewer.id && p.viewerRank < LEVEL_RANK.MODERATE) return null;
    if (p.bodySourceText !== undefined) return p.bodySourceText;
    // A topic page leaves sources out; the post loader brings them, one statement for the page.
    const loaded = await this.loaders.post(ctx.viewer, p.id);
    return loaded?.view === 'full' ? (loaded.bodySourceText ?? null) : null;
  }

  @ResolveField(() => Boolean, { description: 'Whether the viewer ignores its author (`ignoreUser`): a client folds such posts away. False when signed out.' })
  async fromIgnoredUser(@Parent() p: PostModel, @Context() ctx: GqlContext): Promise<boolean> {
    return (await this.ignores.ignoredIds(ctx.viewer)).has(p.authorId);
  }

  @ResolveField(() => [ReactionKind], { description: 'The viewer’s own reactions on this post.' })
  @Preloadable()
  myReactions(@Parent() p: PostModel, @Context() ctx: GqlContext) {
    if (p.view !== 'full') return [];
    return this.loaders.myReactions(ctx.viewer, p.id);
  }

  @ResolveField(() => [PostRevisionModel], {
    description:
      'Every version of the post, oldest first; empty for a placeholder. A topic published to a board (a PUBLISH_TO_BOARD timer) shows readers other than ' +
      'the post’s author and moderators its history from the version it was published with, as version 1 dated as the post is, by its author: what it went through before, and who edited it then, is not theirs to read.',
  })
  async revisions(@Parent() p: PostModel, @Context() ctx: GqlContext): Promise<PostRevisionModel[]> {
    if (p.view !== 'full') return [];
    const revisions = await this.loaders.revisions(ctx.viewer, p.id);
    // Old versions may hold what an edit took out: their source and titles, and the versions
    // before a publication, are for the author and moderators.
    const fullHistory = p.authorId === ctx.viewer.id || p.viewerRank >= LEVEL_RANK.MODERATE;
    if (fullHistory) return revisions;
    return publishedHistory(revisions, p).map((r) => Object.assign(new PostRevisionModel(), r, { bodySource: null, title: null, tags: null }));
  }

  @ResolveField(() => PendingEditModel, {
    nullable: true,
    description: 'The author’s edit waiting for a moderator’s approval: for its author and moderators only (null otherwise, and when none waits).',
  })
  async pendingEdit(@Parent() p: PostModel, @Context() ctx: GqlContext): Promise<PendingEditModel | null> {
    if (p.view !== 'full' || (p.authorId !== ctx.viewer.id && p.viewerRank < LEVEL_RANK.MODERATE)) return null;
    const edit = await this.loaders.pendingEdit(ctx.viewer, p.id);
    return edit?.note && p.viewerRank < LEVEL_RANK.MODERATE ? Object.assign(new PendingEditModel(), edit, { note: noteForAuthor(edit.note) }) : edit;
  }

  @Mutation(() => PostModel, { description: 'Reply in a topic (optionally to one of its posts). Refused in closed or locked topics except for moderators; the same checks as createTopic apply.' })
  replyToTopic(@Args('input') input: ReplyInput, @Context() ctx: GqlContext) {
    return this.posts.reply(ctx.viewer, input);
  }

  @Mutation(() => PostModel, { description: 'Authors edit their own posts, moderators any, members from trust level 1 wiki posts. Each edit keeps a revision. An edit held for approval (pre-moderation, automod) leaves the post as it was and waits in pendingEdit.' })
  editPost(@Args('input') input: EditPostInput, @Context() ctx: GqlContext) {
    return this.posts.edit(ctx.viewer, input);
  }

  @Mutation(() => PostModel, {
    description:
      `Make a post a wiki (wiki: true), which members from trust level ${WIKI_EDIT_MIN_TRUST} who may post in its topic then edit as its author does (each edit a revision), ` +
      `or a post again: moderators of its space, or its author from trust level ${WIKI_SELF_MIN_TRUST}, where they may edit it (FORBIDDEN otherwise; NOT_FOUND what they may not read; ` +
      'an article’s opening post is BAD_USER_INPUT). Idempotent.',
  })
  setPostWiki(@Args('postId', { type: () => ID }) postId: string, @Args('wiki') wiki: boolean, @Context() ctx: GqlContext) {
    return this.posts.setWiki(ctx.viewer, postId, wiki);
  }

  @Mutation(() => PostModel, {
    description:
      'Soft delete (author or moderator). Deleting the first post deletes the topic. Its author deleting it withdraws what of it waits for review ' +
      '(the post itself, or its pendingEdit): its review item is settled, and moderators restoring the post bring back no withdrawn edit. ' +
      'A moderator deleting someone else’s post while it waits for review rejects its review item, ' +
      'and deleting one that was shown upholds its open reports and automod flags, as moderatePost DELETE does.',
  })
  deletePost(@Args('id', { type: () => ID }) id: string, @Context() ctx: GqlContext) {
    return this.posts.delete(ctx.viewer, id);
  }

  @Mutation(() => PostModel, { description: 'Moderators: bring a deleted post back.' })
  restorePost(@Args('id', { type: () => ID }) id: string, @Context() ctx: GqlContext) {
    return this.posts.restore(ctx.viewer, id);
  }

  @Mutation(() => TopicModel, {
    description:
      'Moderators of both topics’ spaces: move replies of one topic into another (appended, numbered after its last post) or split them into a new topic (the earliest opens it); returns where they went.',
  })
  movePosts(@Args('input') input: MovePostsInput, @Context() ctx: GqlContext) {
    return this.moves.move(ctx.viewer, input);
  }

  @Mutation(() => PostModel, { description: 'Add one reaction of this kind to a visible post that is not yours (idempotent).' })
  react(@Args('input') input: ReactionInput, @Context() ctx: GqlContext) {
    return this.posts.react(ctx.viewer, input, true);
  }

  @Mutation(() => PostModel, { description: 'Remove your reaction of this kind (idempotent).' })
  unreact(@Args('input') input: ReactionInput, @Context() ctx: GqlContext) {
    return this.posts.react(ctx.viewer, input, false);
  }
}

@Resolver(() => PostRevisionModel)
export class PostRevisionsResolver {
  constructor(private readonly users: UsersLoader) {}

  @ResolveField(() => UserModel)
  editor(@Parent() r: PostRevisionModel, @Context() ctx: GqlContext) {
    return this.users.load(ctx.viewer, r.editorId);
  }
}

@Resolver(() => UserModel)
export class UserActivityResolver {
  constructor(
    private readonly service: PostsService,
    private readonly users: UsersLoader,
  ) {}

  @ResolveField(() => PostConnection, { description: 'The user’s posts that the viewer may read, newest first.' })
  posts(@Parent() user: UserModel, @Args() args: PageArgs, @Context() ctx: GqlContext): Promise<Connection<PostModel>> {
    return this.service.activity(ctx.viewer, user.id, args);
  }

  @ResolveField(() => Int, {
    nullable: true,
    description:
      'How many topics the user started that the viewer may read (the first posts `posts` lists): one in a space the viewer does not read, or hidden from them, is not counted. ' +
      'Null for others when the member hides their profile (`hideProfile`), but to moderators and admins.',
  })
  async topicCount(@Parent() user: UserModel, @Context() ctx: GqlContext): Promise<number | null> {
    return (await this.shownCounts(user, ctx))?.topics ?? null;
  }

  @ResolveField(() => Int, {
    nullable: true,
    description:
      'How many replies (posts after a topic’s first) the user wrote that the viewer may read (the others `posts` lists). ' +
      'Null for others when the member hides their profile (`hideProfile`), but to moderators and admins.',
  })
  async postCount(@Parent() user: UserModel, @Context() ctx: GqlContext): Promise<number | null> {
    return (await this.shownCounts(user, ctx))?.replies ?? null;
  }

  /** The user's activity counts, or null when they hide their profile from the viewer (both read in the same batches, for a list). */
  private async shownCounts(user: UserModel, ctx: GqlContext): Promise<{ topics: number; replies: number } | null> {
    // Asked one after the other: a hidden profile's counts are never read (the check rides on the profile's own batch).
    return (await this.users.profileShown(ctx.viewer, user)) ? this.service.activityCounts(ctx.viewer, user.id) : null;
  }
}
