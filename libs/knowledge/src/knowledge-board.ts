import { Injectable } from '@nestjs/common';
import { LEVEL_RANK } from '../../access/src/access-level';
import { Tx } from '../../core/src/database/unit-of-work';
import { AppError } from '../../core/src/errors';
import { Viewer } from '../../core/src/graphql/viewer';
import { isUuid, newId } from '../../core/src/ids';
import { BoardKindBehaviour, NewTopic, TopicMove } from '../../forum/src/board-kinds';
import { ForumLoaders } from '../../forum/src/forum.loaders';
import { PostsService } from '../../forum/src/posts/posts.service';
import { TopicKind } from '../../forum/src/forum.enums';
import { BoardKind } from '../../spaces/src/boards/board.model';
import { ArticleEventAction, ArticleState } from './articles/article.model';
import { ArticleLoaders } from './articles/article.loaders';
import { ArticleWrites, provisionalSlug } from './articles/article-writes';

/** A forum post being turned into an article by the current request (see PromotionService). */
export interface Promotion {
  postId: string;
  threadId: string;
  /** The post's markdown as the promotion read it (before any masking): what it copies. */
  source: string;
  credits: Array<{ userId: string; role: 'ANSWER' | 'QUESTION' }>;
  /** The promoter is no editor: the post must be its question's accepted answer (checked again under the thread's lock). */
  acceptedOnly: boolean;
}

/** What a promoter who is no editor of the knowledge board's space is told of any post but the accepted answer. */
export const ACCEPTED_ONLY = 'Only editors promote a post that is not the accepted answer of its question';

/**
 * How the knowledge base plugs into the forum's createTopic: a topic of a KNOWLEDGE board is
 * an article, created as a draft. Drafts use the forum's own PENDING state, which every read
 * path (topic by id, board lists and counts, profile activity, search, live rooms) already
 * shows only to the author and the space's moderators — the editors — so a never-published
 * article cannot leak through a path the knowledge base does not own.
 */
@Injectable()
export class KnowledgeBoard implements BoardKindBehaviour {
  readonly boardKind = BoardKind.KNOWLEDGE;
  readonly topicKind = TopicKind.ARTICLE;
  /** Knowledge notifications announce an article when it is first published. */
  readonly announcesTopics = true;
  /** Archived articles leave the board's suggestions (still listed, and reachable by their link). */
  readonly suggestedSql = `NOT EXISTS (SELECT 1 FROM articles sa WHERE sa.topic_id = t.id AND sa.state = '${ArticleState.ARCHIVED}')`;
  /** Promotions in progress, by request (a request's mutations run one after the other). */
  private readonly promotions = new WeakMap<Viewer, Promotion>();

  constructor(
    private readonly loaders: ArticleLoaders,
    private readonly forum: ForumLoaders,
    private readonly writes: ArticleWrites,
    private readonly posts: PostsService,
  ) {}

  /** Runs `create` with a promotion attached to the article it creates. */
  async promoting<T>(viewer: Viewer, promotion: Promotion, create: () => Promise<T>): Promise<T> {
    this.promotions.set(viewer, promotion);
    try {
      return await create();
    } finally {
      this.promotions.delete(viewer);
    }
  }

  /**
   * Whether the board holds a live article promoted from the post that `by` can see: a
   * published one, their own draft, or any for an editor. Another member's draft is not theirs
   * to know of, so it does not stop them (an editor sees both). Only decisive under the
   * board's lock (see `created`); outside it, a quick early refusal.
   */
  async hasPromoted(
    q: { query: (sql: string, params?: unknown[]) => Promise<any> },
    postId: string,
    boardId: string,
    by: { userId: string; editor: boolean },
  ): Promise<boolean> {
    const [existing] = await q.query(
      `SELECT 1 FROM articles a JOIN topics t ON t.id = a.topic_id
        WHERE a.promoted_from_post_id = $1 AND a.board_id = $2 AND a.state <> 'ARCHIVED' AND t.state <> 'DELETED'
          AND (t.state = 'VISIBLE' OR t.author_id = $3 OR $4::boolean)`,
      [postId, boardId, by.userId, by.editor],
    );
    return !!existing;
  }

  async validate(topic: Omit<NewTopic, 'topicId' | 'postId' | 'state'>): Promise<void> {
    const parentId = topic.options.parentId;
    if (parentId === undefined || parentId === null) return;
    const parent = isUuid(parentId) ? await this.loaders.row(topic.viewer, parentId) : null;
    // The parent must be an article of this board that the author can see (drafts of others look absent).
    const visible = parent ? await this.forum.topic(topic.viewer, parent.topic_id) : null;
    if (!parent || !visible || parent.board_id !== topic.board.id) throw AppError.badField('parentId', 'must be an article of this board');
    if (parent.state === ArticleState.ARCHIVED) throw AppError.badField('parentId', 'is archived');
  }

  initialState(): string {
    return 'PENDING';
  }

  async created(tx: Tx, topic: NewTopic): Promise<void> {
    const parentId = (topic.options.parentId as string | undefined) ?? null;
    const post = (await tx.one<{ body_source: string; body_html: string }>(`SELECT body_source, body_html FROM posts WHERE id = $1`, [topic.postId]))!;
    const promotion = this.promotions.get(topic.viewer);
    if (promotion) await this.assertPromotable(tx, promotion);
    await this.writes.lockBoard(tx, topic.board.id);
    if (parentId) await this.writes.assertParent(tx, parentId, topic.board.id);
    // Checked again under the board's lock: of two racing promotions of one post, the second sees the first's article.
    if (promotion && (await this.hasPromoted(tx, promotion.postId, topic.board.id, { userId: topic.viewer.id!, editor: topic.rank >= LEVEL_RANK.MODERATE }))) {
      throw AppError.badField('postId', 'is already an article of this board');
    }
    const position = await this.writes.nextPosition(tx, topic.board.id, parentId);
    const slug = provisionalSlug(topic.topicId);
    const revisionId = newId();
    const authorId = topic.viewer.id!;
    await tx.query(
      `INSERT INTO articles (topic_id, board_id, parent_id, position, slug, state, current_revision_id, owner_user_id, promoted_from_post_id, promoted_from_topic_id)
       VALUES ($1, $2, $3, $4, $5, 'DRAFT', $6, $7, $8, $9)`,
      [topic.topicId, topic.board.id, parentId, position, slug, revisionId, authorId, promotion?.postId ?? null, promotion?.threadId ?? null],
    );
    await tx.query(
      `INSERT INTO article_revisions (id, topic_id, number, title, body_source, body_html, author_id, note) VALUES ($1, $2, 1, $3, $4, $5, $6, $7)`,
      [revisionId, topic.topicId, topic.title, post.body_source, post.body_html, authorId, promotion ? 'promoted from a forum post' : null],
    );
    await tx.query(`INSERT INTO article_slugs (board_id, slug, topic_id) VALUES ($1, $2, $3)`, [topic.board.id, slug, topic.topicId]);
    if (promotion?.credits.length) {
      await tx.query(
        `INSERT INTO article_credits (topic_id, user_id, role) SELECT $1, u, r FROM unnest($2::uuid[], $3::text[]) AS c(u, r) ON CONFLICT DO NOTHING`,
        [topic.topicId, promotion.credits.map((c) => c.userId), promotion.credits.map((c) => c.role)],
      );
    }
    await this.writes.record(tx, topic.topicId, authorId, promotion ? ArticleEventAction.PROMOTED : ArticleEventAction.CREATED, {
      to: ArticleState.DRAFT,
      revisionId,
      note: promotion ? `from post ${promotion.postId}` : null,
    });
    // Authors watch their articles (the forum does it when a first post becomes visible, which a draft is not).
    await tx.query(`INSERT INTO topic_watches (user_id, topic_id, level) VALUES ($1, $2, 'WATCHING') ON CONFLICT DO NOTHING`, [authorId, topic.topicId]);
    // The board's tree, as the creator's request may have read it before (without this article),
    // is read again by the fields resolved after the mutation. Dropped before the commit: nothing
    // of the request reads it until the mutation answers, and a rollback only costs a read again.
    this.loaders.forget(topic.viewer, topic.topicId, true);
  }

  /**
   * The promoted post as it stands under its lock, taken before the board's (topics, then posts,
   * then boards): its thread held and the post locked (`PostsService.lockInTopic`, as movePosts,
   * moderation and edits take them), so a post moved to another topic meanwhile is CONFLICT
   * (POST_MOVED), and one hidden, deleted, held or edited since PromotionService read it is
   * refused rather than copied, credited and linked as it was read. Then the thread's own row
   * FOR SHARE: its state (hidden or deleted with its first post) and its accepted answer change
   * by updating that row, which the thread's KEY SHARE hold does not wait for; after the post, as
   * a state change (the post, then the topic's row) and an acceptance (the answer FOR SHARE, then
   * the topic's row) take them, so neither deadlocks with it.
   */
  private async assertPromotable(tx: Tx, promotion: Promotion): Promise<void> {
    const now = await this.posts.lockInTopic<{ state: string; body_source: string }>(tx, promotion.threadId, promotion.postId, 'state, body_source');
    if (now?.state !== 'VISIBLE') throw AppError.badField('postId', 'must be a visible post');
    if (now.body_source !== promotion.source) throw AppError.conflict('The post was edited meanwhile: read it again');
    const thread = await tx.one<{ state: string; accepted_post_id: string | null }>(`SELECT state, accepted_post_id FROM topics WHERE id = $1 FOR SHARE`, [
      promotion.threadId,
    ]);
    if (thread?.state !== 'VISIBLE') throw AppError.badField('postId', 'must be a visible post');
    if (promotion.acceptedOnly && thread.accepted_post_id !== promotion.postId) throw AppError.forbidden(ACCEPTED_ONLY);
  }

  /**
   * An article moved to another knowledge board (moveTopic, a moderator's forum action) moves
   * in the tree in the same transaction: it becomes a top-level article of its new board, last,
   * with a slug there (its old links still resolve), and its children stay behind under its
   * former parent. It leaves the tree of the board it is in: its topic's (`fromBoardId`), or an
   * older one for an article a move from before this hook left behind there (KnowledgeTreeKeeper).
   */
  async beforeMove(tx: Tx, move: TopicMove): Promise<void> {
    // Only a move changes an article's board, and the caller holds its topic against the others
    // (moveTopic FOR UPDATE, the keeper FOR KEY SHARE and its advisory lock): read as it stands.
    const where = await tx.one<{ board_id: string }>(`SELECT board_id FROM articles WHERE topic_id = $1`, [move.topicId]);
    if (!where) return;
    const fromBoardId = where.board_id;
    // Both boards, in a fixed order (no deadlock with a move the other way), before the rows.
    await this.writes.lockBoards(tx, [fromBoardId, move.toBoardId]);
    const article = await tx.one<{ parent_id: string | null; position: number; title: string }>(
      `SELECT a.parent_id, a.position, t.title FROM articles a JOIN topics t ON t.id = a.topic_id WHERE a.topic_id = $1 FOR UPDATE OF a`,
      [move.topicId],
    );
    if (!article) return;
    // Its children take its place among its siblings, in their order: the siblings after it
    // make room for them (or close the gap it leaves), so no two share a position.
    const [{ n }] = await tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM articles WHERE parent_id = $1`, [move.topicId]);
    await tx.query(
      `UPDATE articles SET position = position + $4 WHERE board_id = $1 AND parent_id IS NOT DISTINCT FROM $2::uuid AND position > $3 AND topic_id <> $5`,
      [fromBoardId, article.parent_id, article.position, n - 1, move.topicId],
    );
    await tx.query(
      `UPDATE articles a SET parent_id = $2, position = $3 + c.rank - 1
         FROM (SELECT topic_id, row_number() OVER (ORDER BY position, topic_id)::int AS rank FROM articles WHERE parent_id = $1) c
        WHERE a.topic_id = c.topic_id`,
      [move.topicId, article.parent_id, article.position],
    );
    const position = await this.writes.nextPosition(tx, move.toBoardId, null);
    await tx.query(
      `UPDATE articles SET board_id = $2, parent_id = NULL, position = $3, version = version + 1, updated_at = now() WHERE topic_id = $1`,
      [move.topicId, move.toBoardId, position],
    );
    await this.writes.reslug(tx, move.topicId, move.toBoardId, article.title);
  }

  /**
   * After moveTopic moved an article, in its request: its row, every board's tree (the one it
   * left, where its children took its place, and the one it joined) and the rows of the articles
   * `beforeMove` re-placed are read again, not as this request read them before the move (the
   * moved article under its old parent, in a tree of a space the mover may leave for readers).
   */
  moved(viewer: Viewer, topicId: string): void {
    this.loaders.forget(viewer, topicId, true);
  }

  /**
   * Any topic's: the trees and threads' lists the request read show topics as it read them
   * (`ArticleLoaders.forgetTopicLists`); and that article's open feedback, which a decision of
   * its review item elsewhere (resolveReviewItem, which forgets the topic it decided) settles.
   */
  forgotten(viewer: Viewer, topicId: string): void {
    this.loaders.forgetTopicLists(viewer);
    this.loaders.forgetOpenFeedback(viewer, topicId);
  }

  /**
   * The guard against publishing behind the workflow's back: a never-published article's
   * first post is PENDING, and moderation could approve it (moderatePost, the review queue's
   * pre-moderation items), or restore it after deleting it (held content is never hidden).
   * Approving is refused (publishArticle is the way); restoring returns it to draft.
   */
  async firstPostState(tx: Tx, change: { topicId: string; to: string }): Promise<string> {
    if (change.to !== 'VISIBLE') return change.to;
    const row = await tx.one<{ first_published_at: Date | null; state: string }>(
      `SELECT a.first_published_at, p.state FROM articles a JOIN posts p ON p.topic_id = a.topic_id AND p.number = 1 WHERE a.topic_id = $1`,
      [change.topicId],
    );
    if (!row || row.first_published_at) return change.to;
    if (row.state === 'PENDING') throw AppError.conflict('This is an unpublished knowledge-base article: editors publish it with publishArticle, not by approving its post');
    return 'PENDING';
  }
}
