import { Injectable } from '@nestjs/common';
import DataLoader from 'dataloader';
import { DataSource } from 'typeorm';
import { AccessLevel, LEVEL_RANK } from '../../../access/src/access-level';
import { AccessService, fullViewSql } from '../../../access/src/access.service';
import { Queryable } from '../../../core/src/database/unit-of-work';
import { Viewer } from '../../../core/src/graphql/viewer';
import { groupBy } from '../../../core/src/group-by';
import { ForumLoaders } from '../../../forum/src/forum.loaders';
import { TopicModel } from '../../../forum/src/topics/topic.model';
import { GroupModel, toGroupModel } from '../../../identity/src/groups/group.model';
import { ArticleAccess, ArticleModel, ArticleRow, ArticleState, RevisionRow } from './article.model';
import { ReviewItems } from '../../../moderation/src/reports/review-items';
import { ReviewItemRow } from '../../../moderation/src/reports/review.model';
import { TreeEntry, viewerTree, ViewerTree } from './article-tree';
import { articleFromJson, ArticlesRepository, TreeRow } from './articles.repository';

/** A board's articles as one viewer may see them, arranged. */
export interface BoardTree {
  tree: ViewerTree;
  /** Every shown article (archived ones included: they are reachable, just out of the tree). */
  topics: Map<string, TopicModel>;
}

/**
 * SQL true when the user (`userIdExpr`) is on the named team of the article behind a topic
 * (`topicIdExpr`), reads it in full, and participates in its space now: `teamTopic` with a
 * participant's rank, less the editors (its space's moderators), whom `AccessService.moderatesSql`
 * answers for. Who decides its feedback (ARTICLE_FEEDBACK) besides them, for a claim's holding.
 */
export function onNamedTeamSql(userIdExpr: string, topicIdExpr: string): string {
  return `EXISTS (SELECT 1 FROM topics kt JOIN articles ka ON ka.topic_id = kt.id WHERE kt.id = ${topicIdExpr}
    AND (kt.author_id = ${userIdExpr} OR ka.owner_user_id = ${userIdExpr}
         OR ka.owner_group_id IN (SELECT kgm.group_id FROM group_members kgm WHERE kgm.user_id = ${userIdExpr}))
    AND ${AccessService.holdsSql(userIdExpr, 'kt.space_id', AccessLevel.PARTICIPATE)}
    AND ${fullViewSql('kt', { viewer: userIdExpr, readable: 'ARRAY[kt.space_id]', moderated: `'{}'` })})`;
}

/** Whether the viewer owns an article: its owner, a member of its owner group, or its author while nobody owns it. */
export function ownsArticle(viewer: Viewer, row: ArticleRow, authorId: string | null): boolean {
  const { owner_user_id: user, owner_group_id: group } = row;
  if (!user && !group) return viewer.id !== null && viewer.id === authorId;
  return viewer.id === user || (!!group && !!viewer.user?.groupIds.includes(group));
}

function loader<K, V>(viewer: Viewer, key: string, batch: (keys: readonly K[]) => Promise<V[]>): DataLoader<K, V> {
  return viewer.memoize(key, () => new DataLoader<K, V>(batch));
}

/**
 * Per-request loaders of the knowledge base, memoized on the viewer like the forum's. Whether
 * the viewer may see the article at all is the forum's call (its topic through ForumLoaders);
 * these add the article's own rule: drafts and unpublished revisions only for its team.
 */
@Injectable()
export class ArticleLoaders {
  constructor(
    private readonly repo: ArticlesRepository,
    private readonly forum: ForumLoaders,
    private readonly ds: DataSource,
    private readonly reviewItems: ReviewItems,
  ) {}

  private rows(viewer: Viewer): DataLoader<string, ArticleRow | null> {
    return loader<string, ArticleRow | null>(viewer, 'knowledge:articles', async (ids) => {
      const byId = new Map((await this.repo.byTopicIds(ids)).map((r) => [r.topic_id, r]));
      return ids.map((id) => byId.get(id) ?? null);
    });
  }

  row(viewer: Viewer, topicId: string): Promise<ArticleRow | null> {
    return this.rows(viewer).load(topicId);
  }

  access(viewer: Viewer, topic: TopicModel, row: ArticleRow): ArticleAccess {
    const rank = topic.viewerRank;
    const editor = rank >= LEVEL_RANK.MODERATE;
    const id = viewer.id;
    const team =
      editor ||
      (id !== null && (id === topic.authorId || id === row.owner_user_id || (row.owner_group_id !== null && !!viewer.user?.groupIds.includes(row.owner_group_id))));
    return { rank, editor, team, canEdit: team && rank >= LEVEL_RANK.PARTICIPATE };
  }

  /** `Topic.article`: null for topics that are not articles. */
  async article(viewer: Viewer, topic: TopicModel): Promise<ArticleModel | null> {
    const row = await this.row(viewer, topic.id);
    return row ? this.toModel(viewer, topic, row) : null;
  }

  toModel(viewer: Viewer, topic: TopicModel, row: ArticleRow): ArticleModel {
    const access = this.access(viewer, topic, row);
    // Outside the team, an article with a draft in the works is simply the published one.
    const state = access.team || row.state === ArticleState.ARCHIVED || !row.published_revision_id ? row.state : ArticleState.PUBLISHED;
    return Object.assign(new ArticleModel(), {
      state,
      slug: row.slug,
      // Raw positions count drafts, so readers would see the gaps they leave.
      position: access.team ? row.position : null,
      hasUnpublishedChanges: access.team && row.current_revision_id !== row.published_revision_id,
      firstPublishedAt: row.first_published_at,
      publishedAt: row.published_at,
      submittedAt: access.team ? row.submitted_at : null,
      verifiedUntil: row.verified_until,
      verifiedAt: row.verified_at,
      verified: !!row.published_revision_id && !!row.verified_until && new Date(row.verified_until) > new Date(),
      helpful: { yes: row.helpful_yes, no: row.helpful_no },
      topicId: topic.id,
      boardId: row.board_id,
      spaceId: topic.spaceId,
      authorId: topic.authorId,
      access,
      row,
    });
  }

  /** An article's revisions (without bodies), newest first. */
  revisionsOf(viewer: Viewer, topicId: string): Promise<RevisionRow[]> {
    return loader<string, RevisionRow[]>(viewer, 'knowledge:revisionLists', async (ids) => {
      const byTopic = groupBy(await this.repo.revisionsOf(ids), (r) => r.topic_id);
      return ids.map((id) => byTopic.get(id) ?? []);
    }).load(topicId);
  }

  /** A revision with its bodies (no access check: callers check the article). */
  revision(viewer: Viewer, id: string): Promise<Required<RevisionRow> | null> {
    return loader<string, Required<RevisionRow> | null>(viewer, 'knowledge:revisions', async (ids) => {
      const byId = new Map((await this.repo.revisionsByIds(ids)).map((r) => [r.id, r]));
      return ids.map((id) => byId.get(id) ?? null);
    }).load(id);
  }

  /**
   * The board's tree for this viewer: one statement per board per request, however many
   * articles ask for their parent, children or breadcrumbs.
   */
  async tree(viewer: Viewer, boardId: string, includeArchived = false): Promise<BoardTree> {
    const rows = await loader<string, TreeRow[]>(viewer, 'knowledge:trees', async (ids) => {
      const byBoard = groupBy(await this.repo.trees(ids), (r) => r.a_board_id);
      return ids.map((id) => byBoard.get(id) ?? []);
    }).load(boardId);
    const built = viewer.memoize('knowledge:builtTrees', () => new Map<string, Promise<BoardTree>>());
    const key = `${boardId}:${includeArchived}`;
    if (!built.has(key)) built.set(key, this.build(viewer, rows, includeArchived));
    return built.get(key)!;
  }

  /** A board's tree, from its rows, as the viewer sees it (`tree`). */
  private async build(viewer: Viewer, rows: TreeRow[], includeArchived: boolean): Promise<BoardTree> {
    // The tree's rows carry the articles too: their `article` fields then cost nothing more.
    for (const r of rows) this.rows(viewer).prime(r.id, articleFromJson(r.article));
    const topics = new Map<string, TopicModel>();
    const entries: TreeEntry[] = [];
    for (const r of rows) {
      const topic = await this.forum.topicFromRow(viewer, r);
      if (topic) topics.set(r.id, topic);
      const shown = !!topic && r.state !== 'DELETED' && (includeArchived || r.article_state !== ArticleState.ARCHIVED);
      entries.push({ id: r.id, parentId: r.parent_id, position: r.position, order: r.id, shown });
    }
    return { tree: viewerTree(entries), topics };
  }

  /** A group the viewer sees (null for one they may not: it does not exist for them). */
  group(viewer: Viewer, id: string): Promise<GroupModel | null> {
    return loader<string, GroupModel | null>(viewer, 'knowledge:groups', async (ids) => {
      const byId = new Map((await this.repo.groupsSeenByIds(viewer, ids)).map((r) => [r.id, toGroupModel(r)]));
      return ids.map((id) => byId.get(id) ?? null);
    }).load(id);
  }

  /** The pending ARTICLE_FEEDBACK review item of each article, if any: one statement for a page. */
  openFeedback(viewer: Viewer, topicId: string): Promise<ReviewItemRow | null> {
    return loader<string, ReviewItemRow | null>(viewer, 'knowledge:openFeedback', async (ids) => {
      const rows: ReviewItemRow[] = await this.ds.query(
        `SELECT ${this.reviewItems.columns()} FROM review_items WHERE target_type = 'TOPIC' AND target_id = ANY($1::uuid[]) AND kind = 'ARTICLE_FEEDBACK' AND status = 'PENDING'`,
        [ids],
      );
      const byTopic = new Map(rows.map((r) => [r.target_id, r]));
      return ids.map((id) => byTopic.get(id) ?? null);
    }).load(topicId);
  }

  /**
   * For each viewer, whether they are on the team of the article behind a topic they can read
   * (`teamTopic`): the topic and the article are read once, through `rowsVia`'s loaders, and
   * judged for each (notifications' recipients, `ArticleTeamAudience`).
   */
  async onTeamForEach(viewers: readonly Viewer[], topicId: string, rowsVia: Viewer = viewers[0]): Promise<boolean[]> {
    const { topics, row } = await this.readForEach(viewers, topicId, rowsVia);
    return viewers.map((v, i) => !!topics[i] && !!row && this.access(v, topics[i], row).team);
  }

  /**
   * The topic of an article the viewer can read and is on the team of (`access`), as they read it;
   * else null. Read on `m` (a transaction's EntityManager: a review claim's or decision's), not
   * through the request's loaders, which read on the pool: the transaction judges what it sees,
   * and takes no second connection while it holds one.
   */
  async teamTopic(m: Queryable, viewer: Viewer, topicId: string): Promise<TopicModel | null> {
    const topic = await this.forum.topicOn(m, viewer, topicId);
    const [row] = topic ? await this.repo.byTopicIds([topic.id], m) : [];
    return topic && row && this.access(viewer, topic, row).team ? topic : null;
  }

  /**
   * For each viewer, whether they own the article behind a topic they can read now (`ownsArticle`:
   * whom verification reminders are for), read as `onTeamForEach` reads it.
   */
  async ownsForEach(viewers: readonly Viewer[], topicId: string, rowsVia: Viewer = viewers[0]): Promise<boolean[]> {
    const { topics, row } = await this.readForEach(viewers, topicId, rowsVia);
    return viewers.map((v, i) => !!topics[i] && !!row && ownsArticle(v, row, topics[i].authorId));
  }

  /** The topic as each viewer reads it (`ForumLoaders.topicForEach`) and its article's row, both read once through `rowsVia`. */
  private async readForEach(viewers: readonly Viewer[], topicId: string, rowsVia: Viewer): Promise<{ topics: Array<TopicModel | null>; row: ArticleRow | null }> {
    if (viewers.length === 0) return { topics: [], row: null };
    const [topics, row] = await Promise.all([this.forum.topicForEach(viewers, topicId, rowsVia), this.row(rowsVia, topicId)]);
    return { topics, row };
  }

  credits(viewer: Viewer, topicId: string): Promise<Array<{ user_id: string; role: string }>> {
    return loader<string, Array<{ user_id: string; role: string }>>(viewer, 'knowledge:credits', async (ids) => {
      const byTopic = groupBy(await this.repo.credits(ids), (r) => r.topic_id);
      return ids.map((id) => byTopic.get(id) ?? []);
    }).load(topicId);
  }

  /** Published articles promoted from a thread that the viewer may read. */
  async promotedFrom(viewer: Viewer, threadId: string): Promise<TopicModel[]> {
    const rows = await loader<string, Awaited<ReturnType<ArticlesRepository['promotedFrom']>>>(viewer, 'knowledge:promotedFrom', async (ids) => {
      const byThread = groupBy(await this.repo.promotedFrom(ids), (r) => r.thread_id);
      return ids.map((id) => byThread.get(id) ?? []);
    }).load(threadId);
    const topics = await Promise.all(rows.map((r) => this.forum.topicFromRow(viewer, r)));
    return topics.filter((t): t is TopicModel => t !== null && t.state === 'VISIBLE');
  }

  async viewerRating(viewer: Viewer, topicId: string): Promise<{ helpful: boolean; comment: string | null; updated_at: Date } | null> {
    const userId = viewer.id;
    if (!userId) return null;
    return loader<string, { helpful: boolean; comment: string | null; updated_at: Date } | null>(viewer, 'knowledge:ratings', async (ids) => {
      const byTopic = new Map((await this.repo.ratings(userId, ids)).map((r) => [r.topic_id, r]));
      return ids.map((id) => byTopic.get(id) ?? null);
    }).load(topicId);
  }

  events(viewer: Viewer, topicId: string) {
    return loader<string, Awaited<ReturnType<ArticlesRepository['events']>>>(viewer, 'knowledge:events', async (ids) => {
      const byTopic = groupBy(await this.repo.events(ids), (r) => r.topic_id);
      return ids.map((id) => byTopic.get(id) ?? []);
    }).load(topicId);
  }

  /**
   * Drops every article row this request read: after a write that changed articles other than
   * the one it names (setKnowledgeSettings' default interval moves the due dates of every article
   * that uses it), the fields resolved after it read them again.
   */
  forgetArticles(viewer: Viewer): void {
    viewer.peek<DataLoader<string, unknown>>('knowledge:articles')?.clearAll();
  }

  /**
   * Drops what this request read that shows topics as it read them: every board's tree (its
   * topics, shown by their state) and every thread's promoted articles (listed while published
   * and visible). After any write to a topic (`KnowledgeBoard.forgotten`, from `ForumLoaders.forget`):
   * a knowledge step, or the forum's (a moderator deleting or hiding an article's first post), of
   * an article whose tree or thread the request read. Only what the request read is read again.
   */
  forgetTopicLists(viewer: Viewer): void {
    viewer.peek<DataLoader<string, unknown>>('knowledge:trees')?.clearAll();
    viewer.forget('knowledge:builtTrees');
    // Kept by thread, not by article: a publication, an archive or a move of an article promoted
    // from a thread adds it to that thread's `knowledgeArticles` or takes it out.
    viewer.peek<DataLoader<string, unknown>>('knowledge:promotedFrom')?.clearAll();
  }

  /**
   * Drops what a mutation just changed, so the fields resolved after it read fresh rows (the
   * forum's `forget` drops every tree and thread's list with them, `forgetTopicLists`); with
   * `treesChanged` (a write that moved an article in a tree, or out of its board: a move it
   * waited behind may have taken it into a board this request read before), every article row
   * the request read: a move re-places its new siblings (their positions) and, by moveTopic, its
   * children, and a tree read again only primes the rows the request has not read (DataLoader's
   * prime keeps a row it holds), so they are dropped here.
   */
  forget(viewer: Viewer, topicId: string, treesChanged = false, postId?: string): void {
    this.forum.forget(viewer, { topicId, postId });
    viewer.peek<DataLoader<string, unknown>>('knowledge:articles')?.clear(topicId);
    viewer.peek<DataLoader<string, unknown>>('knowledge:revisionLists')?.clear(topicId);
    // Revisions are kept by their own id: a publication dates (published_at, published_by) the
    // one it publishes, which this request may have read before; the few it read are read again.
    viewer.peek<DataLoader<string, unknown>>('knowledge:revisions')?.clearAll();
    viewer.peek<DataLoader<string, unknown>>('knowledge:ratings')?.clear(topicId);
    viewer.peek<DataLoader<string, unknown>>('knowledge:events')?.clear(topicId);
    // A rating opens (or joins) its feedback item, a publication settles it: its open feedback
    // is dropped by the forum's `forget` above (`KnowledgeBoard.forgotten`, `forgetOpenFeedback`).
    if (treesChanged) this.forgetArticles(viewer);
  }

  /**
   * Drops the article's open feedback this request read: after any write that forgets its topic
   * (`KnowledgeBoard.forgotten`), a knowledge step's (a rating opens or joins the item, a
   * publication settles it) or the review queue's (resolveReviewItem decides it).
   */
  forgetOpenFeedback(viewer: Viewer, topicId: string): void {
    viewer.peek<DataLoader<string, unknown>>('knowledge:openFeedback')?.clear(topicId);
  }
}
