import { Args, ArgsType, Context, Field, ID, Info, Int, Mutation, ObjectType, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import type { GraphQLResolveInfo } from 'graphql';
import { responsePathAsArray } from 'graphql';
import { Allow, IsBoolean, IsInt, IsOptional, Max, Min } from 'class-validator';
import { Connection, PageArgs } from '../../../core/src/graphql/pagination';
import type { GqlContext } from '../../../core/src/graphql/context';
import type { Viewer } from '../../../core/src/graphql/viewer';
import { AppError } from '../../../core/src/errors';
import { listOf, SEARCH_COST, searchOf } from '../../../core/src/graphql/limits';
import { SideEffects } from '../../../core/src/graphql/side-effects';
import { ReviewItemModel, toReviewItemModel } from '../../../moderation/src/reports/review.model';
import { ForumLoaders } from '../../../forum/src/forum.loaders';
import { PostModel } from '../../../forum/src/posts/post.model';
import { TopicConnection, TopicModel } from '../../../forum/src/topics/topic.model';
import { UserModel } from '../../../identity/src/users/user.model';
import { userField } from '../../../identity/src/users/user-field';
import { UsersLoader } from '../../../identity/src/users/users.loader';
import { BoardModel } from '../../../spaces/src/boards/board.model';
import { KnowledgeSettingsService } from '../knowledge-settings';
import { PromotionService } from '../promotion.service';
import { RELATED_MAX, RelatedArticles } from '../related-articles';
import {
  ArticleChangesRequestModel, ArticleCreditModel, ArticleEventAction, ArticleEventModel, ArticleModel, ArticleOwner, ArticleRatingConnection,
  ArticleRatingModel, ArticleRevisionModel, ArticleState, CreditRole, DiffLineKind, RevisionRow, toRevisionModel,
} from './article.model';
import { breadcrumbsOf } from './article-tree';
import { ArticleLoaders } from './article.loaders';
import { ArticleDiff, ArticlesService, movedNoteAsSeen, settingsNoteAsSeen } from './articles.service';
import {
  ArticleBySlugArgs, ArticleChangesInput, ArticleDiffArgs, ArticleSettingsInput, MoveArticleInput, PromotePostInput, RateArticleInput, SpaceArticlesArgs,
  UpdateArticleInput,
} from './dto/article.inputs';

@ObjectType('ArticleDiffLine')
export class ArticleDiffLineModel {
  @Field(() => DiffLineKind) kind!: DiffLineKind;
  @Field() text!: string;
  @Field(() => Int, { nullable: true, description: 'Line number in the older revision (null for an added line).' }) oldNumber!: number | null;
  @Field(() => Int, { nullable: true, description: 'Line number in the newer revision (null for a removed line).' }) newNumber!: number | null;
}

@ObjectType('ArticleDiff', { description: 'What changed between two revisions of one article, line by line: the markdown for the article’s team, the published text (a line per paragraph, item or line break) for readers.' })
export class ArticleDiffModel {
  @Field(() => ArticleRevisionModel) from!: ArticleRevisionModel;
  @Field(() => ArticleRevisionModel) to!: ArticleRevisionModel;
  @Field() titleChanged!: boolean;
  @Field() summaryChanged!: boolean;
  @Field(() => Int) added!: number;
  @Field(() => Int) removed!: number;
  @Field(() => [ArticleDiffLineModel]) lines!: ArticleDiffLineModel[];
}

@ObjectType('ArticleTreeNode', { description: 'An article in its board’s tree, in display order (depth first).' })
export class ArticleTreeNodeModel {
  @Field(() => TopicModel) topic!: TopicModel;
  @Field(() => Int, { description: '0 for a top-level article.' }) depth!: number;
  @Field(() => ID, { nullable: true, description: 'The parent as this viewer’s tree shows it.' }) parentId!: string | null;
}

@ArgsType()
class ArticleTreeArgs {
  @Field({ nullable: true, defaultValue: false, description: 'Archived articles too (they are left out by default).' })
  @IsOptional() @IsBoolean()
  includeArchived?: boolean;
}

@ArgsType()
class RelatedArgs {
  @Field(() => Int, { nullable: true, defaultValue: 5, description: `At most this many (default 5, at most ${RELATED_MAX}).` })
  @IsOptional() @IsInt() @Min(1) @Max(RELATED_MAX)
  first?: number;
}

@ArgsType()
class RestoreArgs {
  // Ids checked by withIdArguments (every bare `ID` argument, before the pipe); @IsOptional or @Allow keeps each past the pipe's whitelist.
  @Field(() => ID) @Allow() revisionId!: string;
  @Field(() => ID, { nullable: true, description: 'The article the client means to restore into: NOT_FOUND when the revision belongs to another.' })
  @IsOptional()
  topicId?: string;
}

@ArgsType()
class PublishArgs {
  // Ids checked by withIdArguments (every bare `ID` argument, before the pipe); @IsOptional or @Allow keeps each past the pipe's whitelist.
  @Field(() => ID) @Allow() topicId!: string;
  @Field(() => ID, { nullable: true, description: 'The revision the editor reviewed: CONFLICT when a newer one was saved since, NOT_FOUND when it is not a revision of this article.' })
  @IsOptional()
  revisionId?: string;
}

function toDiffModel(d: ArticleDiff): ArticleDiffModel {
  return {
    from: toRevisionModel(d.from, d.sourceVisible),
    to: toRevisionModel(d.to, d.sourceVisible),
    titleChanged: d.titleChanged,
    summaryChanged: d.summaryChanged,
    added: d.lines.filter((l) => l.kind === 'ADDED').length,
    removed: d.lines.filter((l) => l.kind === 'REMOVED').length,
    lines: d.lines.map((l) => Object.assign(new ArticleDiffLineModel(), l, { kind: DiffLineKind[l.kind] })),
  };
}

/** What a board's article tree is taken to hold when a query's cost is weighed. */
const ARTICLE_TREE_ESTIMATE = 100;

/** Queries and mutations of the knowledge base. */
@Resolver()
export class KnowledgeResolver {
  constructor(
    private readonly articles: ArticlesService,
    private readonly promotion: PromotionService,
  ) {}

  @Query(() => ArticleDiffModel, { description: 'A line-level diff of two revisions of one article (readers: published revisions only). NOT_FOUND when they are of different articles, as for a revision the viewer may not read; its extensions.field names the argument (fromId, else toId).' })
  async articleRevisionDiff(@Args() args: ArticleDiffArgs, @Context() ctx: GqlContext): Promise<ArticleDiffModel> {
    return toDiffModel(await this.articles.diff(ctx.viewer, args.fromId, args.toId));
  }

  @Query(() => TopicConnection, { description: 'Published articles of a space past their verification date, oldest first.' })
  staleArticles(@Args() args: SpaceArticlesArgs, @Context() ctx: GqlContext): Promise<Connection<TopicModel>> {
    return this.articles.stale(ctx.viewer, args);
  }

  @Query(() => TopicConnection, { description: 'Editors: the space’s articles waiting for review, oldest submission first.' })
  articlesInReview(@Args() args: SpaceArticlesArgs, @Context() ctx: GqlContext): Promise<Connection<TopicModel>> {
    return this.articles.inReview(ctx.viewer, args);
  }

  @Query(() => TopicModel, { nullable: true, description: 'An article by its slug in a board, current or earlier (then `article.slug` is the one to link to).' })
  articleBySlug(@Args() args: ArticleBySlugArgs, @Context() ctx: GqlContext): Promise<TopicModel> {
    return this.articles.bySlug(ctx.viewer, args.boardId, args.slug);
  }

  @Mutation(() => TopicModel, { description: 'A new revision (the article’s team and editors). A published article goes back to DRAFT; readers keep the published revision.' })
  updateArticle(@Args('input') input: UpdateArticleInput, @Context() ctx: GqlContext) {
    return this.articles.update(ctx.viewer, input);
  }

  @Mutation(() => TopicModel, { description: 'A new revision with an earlier revision’s title, summary and body.' })
  restoreArticleRevision(@Args() args: RestoreArgs, @Context() ctx: GqlContext) {
    return this.articles.restore(ctx.viewer, args.revisionId, args.topicId);
  }

  @Mutation(() => TopicModel, { description: 'DRAFT → IN_REVIEW (the article’s team and editors). CONFLICT when the article moved to another space while this was on its way (judged in the old space): try again.' })
  submitArticle(@Args('topicId', { type: () => ID }) topicId: string, @Context() ctx: GqlContext) {
    return this.articles.submit(ctx.viewer, topicId);
  }

  @Mutation(() => TopicModel, { description: 'Editors: IN_REVIEW → DRAFT, with the reason for the authors. CONFLICT when the article moved to another space while this was on its way (judged in the old space): try again.' })
  requestArticleChanges(@Args('input') input: ArticleChangesInput, @Context() ctx: GqlContext) {
    return this.articles.requestChanges(ctx.viewer, input);
  }

  @Mutation(() => TopicModel, {
    description: 'Editors: publish the current revision. With two-person review, only a submitted article, by an editor who did not write or submit the changes. CONFLICT when the article moved to another space while this was on its way (judged in the old space): try again.',
  })
  publishArticle(@Args() args: PublishArgs, @Context() ctx: GqlContext) {
    return this.articles.publish(ctx.viewer, args.topicId, args.revisionId);
  }

  @Mutation(() => TopicModel, { description: 'Editors: retire an article (still reachable by its link, out of the tree and suggestions). CONFLICT when the article moved to another space while this was on its way (judged in the old space): try again.' })
  archiveArticle(@Args('topicId', { type: () => ID }) topicId: string, @Context() ctx: GqlContext) {
    return this.articles.archive(ctx.viewer, topicId);
  }

  @Mutation(() => TopicModel, { description: 'Editors: bring an archived article back (PUBLISHED, or DRAFT when it has unpublished changes). CONFLICT when the article moved to another space while this was on its way (judged in the old space): try again.' })
  unarchiveArticle(@Args('topicId', { type: () => ID }) topicId: string, @Context() ctx: GqlContext) {
    return this.articles.unarchive(ctx.viewer, topicId);
  }

  @Mutation(() => TopicModel, { description: 'Re-parent and reorder within the board (editors; authors their own until first published). No cycles.' })
  moveArticle(@Args('input') input: MoveArticleInput, @Context() ctx: GqlContext) {
    return this.articles.move(ctx.viewer, input);
  }

  @Mutation(() => TopicModel, { description: 'The owner (or an editor) confirms the article is current: verified for another interval. CONFLICT when the article moved to another space while this was on its way (judged in the old space): try again.' })
  verifyArticle(@Args('topicId', { type: () => ID }) topicId: string, @Context() ctx: GqlContext) {
    return this.articles.verify(ctx.viewer, topicId);
  }

  @Mutation(() => TopicModel, { description: 'Editors: the article’s owner (a user or a group) and verification interval. CONFLICT when the article moved to another space while this was on its way (judged in the old space): try again.' })
  updateArticleSettings(@Args('input') input: ArticleSettingsInput, @Context() ctx: GqlContext) {
    return this.articles.updateSettings(ctx.viewer, input);
  }

  @Mutation(() => TopicModel, { description: '“Was this helpful?” One vote per reader (voting again replaces it). An article moved to another space while the vote was on its way is rated there: FORBIDDEN for a reader who may not participate there, CONFLICT for a comment (screened by the old space’s rules: rate again).' })
  rateArticle(@Args('input') input: RateArticleInput, @Context() ctx: GqlContext) {
    return this.articles.rate(ctx.viewer, input);
  }

  @Mutation(() => TopicModel, { description: 'An accepted answer (any post, for editors) becomes a draft article crediting its authors and linking back to the thread.' })
  promotePostToArticle(@Args('input') input: PromotePostInput, @Context() ctx: GqlContext) {
    return this.promotion.promote(ctx.viewer, input);
  }
}

/** The knowledge-base fields of a topic. */
@Resolver(() => TopicModel)
export class TopicArticleResolver {
  constructor(
    private readonly loaders: ArticleLoaders,
    private readonly related: RelatedArticles,
  ) {}

  @ResolveField(() => ArticleModel, { nullable: true, description: 'The knowledge-base side of an article; null unless the topic is in a KNOWLEDGE board.' })
  article(@Parent() t: TopicModel, @Context() ctx: GqlContext): Promise<ArticleModel | null> | null {
    return t.kind === 'ARTICLE' ? this.loaders.article(ctx.viewer, t) : null;
  }

  @ResolveField(() => [TopicModel], {
    description: `Published knowledge-base articles resembling this topic (from search), best first. A search, for one topic's page: asked under a list (a board's topics) it is BAD_USER_INPUT, and for the query cost limit it counts ${SEARCH_COST} beside its articles.`,
    complexity: searchOf(5),
  })
  @SideEffects() // spends the search rate
  relatedArticles(@Parent() t: TopicModel, @Args() args: RelatedArgs, @Context() ctx: GqlContext, @Info() info: GraphQLResolveInfo): Promise<TopicModel[]> {
    // A search per topic: for a topic's own page, not for each topic of a list.
    if (responsePathAsArray(info.path).some((key) => typeof key === 'number')) {
      throw AppError.badField('relatedArticles', 'is asked of one topic at a time, not of the topics of a list');
    }
    return this.related.of(ctx.viewer, t, args.first ?? 5);
  }

  @ResolveField(() => [TopicModel], { description: '“Answered in the knowledge base”: published articles promoted from this thread that the viewer may read.' })
  knowledgeArticles(@Parent() t: TopicModel, @Context() ctx: GqlContext): Promise<TopicModel[]> | TopicModel[] {
    return t.kind === 'QUESTION' || t.kind === 'DISCUSSION' ? this.loaders.promotedFrom(ctx.viewer, t.id) : [];
  }
}

@Resolver(() => BoardModel)
export class BoardArticlesResolver {
  constructor(private readonly loaders: ArticleLoaders) {}

  @ResolveField(() => [ArticleTreeNodeModel], {
    description: `Knowledge boards: the articles the viewer may see, as a tree in display order. An article under one they may not see appears in its place. For the query cost limit it counts as ${ARTICLE_TREE_ESTIMATE} articles: titles for a whole board, not each article's posts (page those with Board.topics).`,
    complexity: listOf(ARTICLE_TREE_ESTIMATE),
  })
  async articleTree(@Parent() board: BoardModel, @Args() args: ArticleTreeArgs, @Context() ctx: GqlContext): Promise<ArticleTreeNodeModel[]> {
    if (board.kind !== 'KNOWLEDGE') return [];
    const { tree, topics } = await this.loaders.tree(ctx.viewer, board.id, args.includeArchived ?? false);
    return tree.order.map((id) => ({ topic: topics.get(id)!, depth: tree.depthOf.get(id)!, parentId: tree.parentOf.get(id) ?? null }));
  }
}

/** `ArticleDetails` fields: each goes through a per-request loader. */
@Resolver(() => ArticleModel)
export class ArticleDetailsResolver {
  constructor(
    private readonly loaders: ArticleLoaders,
    private readonly users: UsersLoader,
    private readonly forum: ForumLoaders,
    private readonly settings: KnowledgeSettingsService,
    private readonly articles: ArticlesService,
  ) {}

  @ResolveField(() => [ArticleRevisionModel], { description: 'Newest first. Readers see only revisions that were published.' })
  async revisions(@Parent() a: ArticleModel, @Context() ctx: GqlContext): Promise<ArticleRevisionModel[]> {
    const rows = await this.loaders.revisionsOf(ctx.viewer, a.topicId);
    return rows.filter((r) => a.access.team || r.published_at).map((r) => toRevisionModel(r, a.access.team));
  }

  @ResolveField(() => ArticleRevisionModel, { description: 'The revision being worked on (for readers: the published one).' })
  async currentRevision(@Parent() a: ArticleModel, @Context() ctx: GqlContext): Promise<ArticleRevisionModel | null> {
    const id = a.access.team ? a.row.current_revision_id : a.row.published_revision_id;
    const rev = id ? await this.loaders.revision(ctx.viewer, id) : null;
    return rev ? toRevisionModel(rev, a.access.team) : null;
  }

  @ResolveField(() => ArticleRevisionModel, { nullable: true, description: 'The revision readers see; null before the first publication.' })
  async publishedRevision(@Parent() a: ArticleModel, @Context() ctx: GqlContext): Promise<ArticleRevisionModel | null> {
    const rev = a.row.published_revision_id ? await this.loaders.revision(ctx.viewer, a.row.published_revision_id) : null;
    return rev ? toRevisionModel(rev, a.access.team) : null;
  }

  @ResolveField(() => TopicModel, { nullable: true, description: 'The nearest article above this one that the viewer may see.' })
  async parent(@Parent() a: ArticleModel, @Context() ctx: GqlContext): Promise<TopicModel | null> {
    const { tree, topics } = await this.loaders.tree(ctx.viewer, a.boardId, true);
    const id = tree.parentOf.get(a.topicId);
    return id ? topics.get(id) ?? null : null;
  }

  @ResolveField(() => [TopicModel], { description: 'The articles right under this one that the viewer may see, in order (archived ones left out).' })
  async children(@Parent() a: ArticleModel, @Context() ctx: GqlContext): Promise<TopicModel[]> {
    const { tree, topics } = await this.loaders.tree(ctx.viewer, a.boardId, false);
    return (tree.childrenOf.get(a.topicId) ?? []).map((id) => topics.get(id)!);
  }

  @ResolveField(() => [TopicModel], { description: 'The articles above this one, from the top of the tree down.' })
  async breadcrumbs(@Parent() a: ArticleModel, @Context() ctx: GqlContext): Promise<TopicModel[]> {
    const { tree, topics } = await this.loaders.tree(ctx.viewer, a.boardId, true);
    return breadcrumbsOf(tree, a.topicId).map((id) => topics.get(id)!);
  }

  @ResolveField(() => ArticleOwner, {
    nullable: true,
    description: 'Who keeps it current (verifies it, hears about feedback and due dates). A group only to those who see it (its `visibility`); null to others, as when it has no owner.',
  })
  async owner(@Parent() a: ArticleModel, @Context() ctx: GqlContext) {
    if (a.row.owner_user_id) return this.users.load(ctx.viewer, a.row.owner_user_id);
    if (a.row.owner_group_id) return this.loaders.group(ctx.viewer, a.row.owner_group_id);
    return null;
  }

  @ResolveField(() => Int, { description: 'Days between verifications: the article’s own, else the space’s default.' })
  async verificationIntervalDays(@Parent() a: ArticleModel, @Context() ctx: GqlContext): Promise<number> {
    return a.row.verification_interval_days ?? (await this.settings.of(a.spaceId, { viewer: ctx.viewer })).verificationIntervalDays;
  }

  @ResolveField(() => UserModel, { nullable: true })
  verifiedBy(@Parent() a: ArticleModel, @Context() ctx: GqlContext) {
    return a.row.verified_by ? this.users.load(ctx.viewer, a.row.verified_by) : null;
  }

  @ResolveField(() => ArticleChangesRequestModel, { nullable: true, description: 'The editors’ last request for changes (the article’s team only), until it is published.' })
  changesRequested(@Parent() a: ArticleModel): ArticleChangesRequestModel | null {
    const r = a.row;
    if (!a.access.team || !r.changes_requested_reason || !r.changes_requested_at) return null;
    return Object.assign(new ArticleChangesRequestModel(), { reason: r.changes_requested_reason, at: r.changes_requested_at, byId: r.changes_requested_by });
  }

  @ResolveField(() => ArticleRatingModel, { nullable: true, description: 'The viewer’s own helpfulness vote.' })
  async viewerRating(@Parent() a: ArticleModel, @Context() ctx: GqlContext): Promise<ArticleRatingModel | null> {
    const r = await this.loaders.viewerRating(ctx.viewer, a.topicId);
    return r ? Object.assign(new ArticleRatingModel(), { helpful: r.helpful, comment: r.comment, updatedAt: r.updated_at, userId: ctx.viewer.id }) : null;
  }

  @ResolveField(() => ReviewItemModel, {
    nullable: true,
    description: 'The pending review item that “not helpful” comments opened: for the article’s team and editors, who decide it with resolveReviewItem (null otherwise, or when none is pending).',
  })
  async openFeedback(@Parent() a: ArticleModel, @Context() ctx: GqlContext): Promise<ReviewItemModel | null> {
    if (!a.access.team) return null;
    const row = await this.loaders.openFeedback(ctx.viewer, a.topicId);
    return row ? toReviewItemModel(row) : null;
  }

  @ResolveField(() => ArticleRatingConnection, { nullable: true, description: 'Readers’ comments, newest first: for the article’s team and editors (null otherwise).' })
  feedback(@Parent() a: ArticleModel, @Args() args: PageArgs, @Context() ctx: GqlContext): Promise<Connection<ArticleRatingModel> | null> {
    return this.articles.feedback(ctx.viewer, a, args);
  }

  @ResolveField(() => [ArticleEventModel], { nullable: true, description: 'Every step of the article, oldest first: for the article’s team and editors (null otherwise).' })
  async history(@Parent() a: ArticleModel, @Context() ctx: GqlContext): Promise<ArticleEventModel[] | null> {
    if (!a.access.team) return null;
    // An owner group is named only to those who see it (Article.owner), its settings step's note
    // too; the post an article was promoted from only to those who read it (promotedFrom), and
    // the article it was moved under only to those who see that one (the tree).
    const seesGroup = async (id: string) => !!(await this.loaders.group(ctx.viewer, id));
    const seesArticle = async (id: string) => !!(await this.forum.topic(ctx.viewer, id));
    const noteAsSeen = async (e: { action: string; note: string | null }): Promise<string | null> => {
      if (e.action === ArticleEventAction.SETTINGS_CHANGED && e.note) return settingsNoteAsSeen(e.note, seesGroup);
      if (e.action === ArticleEventAction.MOVED && e.note) return movedNoteAsSeen(e.note, seesArticle);
      if (e.action === ArticleEventAction.PROMOTED) return (await this.threadShown(a, ctx)) ? e.note : null;
      return e.note;
    };
    const events = await this.loaders.events(ctx.viewer, a.topicId);
    const notes = await Promise.all(events.map(noteAsSeen));
    return events.map((e, i) =>
      Object.assign(new ArticleEventModel(), {
        action: e.action as ArticleEventAction,
        fromState: e.from_state as ArticleState | null,
        toState: e.to_state as ArticleState | null,
        note: notes[i],
        at: e.at,
        actorId: e.actor_id,
        revisionId: e.revision_id,
      }),
    );
  }

  @ResolveField(() => PostModel, { nullable: true, description: 'The forum post this article was promoted from, when the viewer may read it.' })
  async promotedFrom(@Parent() a: ArticleModel, @Context() ctx: GqlContext): Promise<PostModel | null> {
    const post = a.row.promoted_from_post_id ? await this.forum.post(ctx.viewer, a.row.promoted_from_post_id) : null;
    return post?.view === 'full' ? post : null;
  }

  @ResolveField(() => [ArticleCreditModel], {
    description: 'Whom a promoted article credits: the answer’s and the question’s authors; empty for a viewer who may not read the thread it came from.',
  })
  async credits(@Parent() a: ArticleModel, @Context() ctx: GqlContext): Promise<ArticleCreditModel[]> {
    // Who wrote in a thread is part of the thread: a viewer who may not read it does not learn it here.
    if (!(await this.threadShown(a, ctx))) return [];
    return (await this.loaders.credits(ctx.viewer, a.topicId)).map((c) => Object.assign(new ArticleCreditModel(), { role: c.role as CreditRole, userId: c.user_id }));
  }

  /**
   * Whether the viewer may read where a promoted article came from: the post, in full, and the
   * thread it was promoted from (a moderator may have moved the answer out of it since, with
   * movePosts, where those who may not read the thread read it). True for an article not promoted.
   */
  private async threadShown(a: ArticleModel, ctx: GqlContext): Promise<boolean> {
    if (a.row.promoted_from_post_id && !(await this.promotedFrom(a, ctx))) return false;
    return !a.row.promoted_from_topic_id || !!(await this.forum.topic(ctx.viewer, a.row.promoted_from_topic_id));
  }

  @ResolveField(() => Boolean, { description: 'The viewer may write revisions (the article’s author, its owner, editors).' })
  viewerCanEdit(@Parent() a: ArticleModel): boolean {
    return a.access.canEdit && a.row.state !== ArticleState.ARCHIVED;
  }

  @ResolveField(() => Boolean, { description: 'The viewer is an editor of the space (reviews, publishes, archives, moves).' })
  viewerIsEditor(@Parent() a: ArticleModel): boolean {
    return a.access.editor;
  }

  @ResolveField(() => Boolean, { description: 'The viewer may verify the article (its owner, or an editor).' })
  async viewerCanVerify(@Parent() a: ArticleModel, @Context() ctx: GqlContext): Promise<boolean> {
    const topic = await this.forum.topic(ctx.viewer, a.topicId);
    return !!topic && this.articles.canVerify(ctx.viewer, { row: a.row, topic, access: a.access });
  }
}

@Resolver(() => ArticleRevisionModel)
export class ArticleRevisionResolver {
  constructor(
    private readonly loaders: ArticleLoaders,
    private readonly users: UsersLoader,
  ) {}

  @ResolveField(() => UserModel, { nullable: true })
  author(@Parent() r: ArticleRevisionModel, @Context() ctx: GqlContext) {
    return this.users.load(ctx.viewer, r.authorId);
  }

  @ResolveField(() => UserModel, { nullable: true, description: 'The editor who published it.' })
  publishedBy(@Parent() r: ArticleRevisionModel, @Context() ctx: GqlContext) {
    return r.publishedById ? this.users.load(ctx.viewer, r.publishedById) : null;
  }

  @ResolveField(() => String, { description: 'Sanitized HTML.' })
  async bodyHtml(@Parent() r: ArticleRevisionModel, @Context() ctx: GqlContext): Promise<string> {
    return (await this.loaders.revision(ctx.viewer, r.id))?.body_html ?? '';
  }

  @ResolveField(() => String, { nullable: true, description: 'The markdown: for the article’s team and editors (null otherwise).' })
  async bodySource(@Parent() r: ArticleRevisionModel, @Context() ctx: GqlContext): Promise<string | null> {
    return r.sourceVisible ? ((await this.loaders.revision(ctx.viewer, r.id))?.body_source ?? null) : null;
  }

  @ResolveField(() => String, { nullable: true, description: 'A note on what changed.' })
  async note(@Parent() r: ArticleRevisionModel, @Context() ctx: GqlContext): Promise<string | null> {
    // A restore's note names the revision it restored: not to those who may not see that one.
    return !r.restoredFromId || (await this.restoredFrom(ctx.viewer, r)) ? r.note : null;
  }

  @ResolveField(() => Int, { nullable: true, description: 'The number of the revision this one restored; null to readers when that one was never published.' })
  async restoredFromNumber(@Parent() r: ArticleRevisionModel, @Context() ctx: GqlContext): Promise<number | null> {
    return (await this.restoredFrom(ctx.viewer, r))?.number ?? null;
  }

  /** The revision `r` restored, when the viewer may see it as visibleRevision judges: any for the article's team, a published one for everyone else. */
  private async restoredFrom(viewer: Viewer, r: ArticleRevisionModel): Promise<RevisionRow | null> {
    const from = r.restoredFromId ? await this.loaders.revision(viewer, r.restoredFromId) : null;
    return from && (r.sourceVisible || from.published_at) ? from : null;
  }
}

export const ARTICLE_USER_FIELDS = [
  userField(ArticleRatingModel, 'user', (r) => r.userId),
  userField(ArticleEventModel, 'actor', (e) => e.actorId),
  userField(ArticleCreditModel, 'user', (c) => c.userId),
  userField(ArticleChangesRequestModel, 'by', (c) => c.byId, 'The editor who asked.'),
];
