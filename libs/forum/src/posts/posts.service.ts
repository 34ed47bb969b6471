import { Injectable } from '@nestjs/common';
import { AccessLevel, LEVEL_RANK } from '../../../access/src/access-level';
import { AccessService } from '../../../access/src/access.service';
import { Queryable, Tx, UnitOfWork } from '../../../core/src/database/unit-of-work';
import { AppError } from '../../../core/src/errors';
import { Connection, decodeCursor, emptyConnection, encodeCursor, PageArgs, pageInfoOf, pageSize, toConnection } from '../../../core/src/graphql/pagination';
import { nestedCount, nestedCounts, nestedPage } from '../../../core/src/graphql/nested-pages';
import { Viewer } from '../../../core/src/graphql/viewer';
import { isUuid, newId } from '../../../core/src/ids';
import { BoardKinds } from '../board-kinds';
import { EDITS_PACE, Pacing, REACTIONS_PACE } from '../pacing';
import { ContentWriter } from '../content-writer';
import { DraftsRepository, editDraft, replyDraft } from '../drafts/drafts.repository';
import { heldReasons, PostingPolicy, StoredContribution } from '../posting-policy';
import { AuditLog } from '../../../core/src/audit/audit-log';
import { ACTIVITY_CURSOR, TOPIC_PAGE_CURSOR, validTimeIdCursor, validPostNumberCursor } from '../cursors';
import { ForumLoaders } from '../forum.loaders';
import { ContentState, ReactionKind, TopicKind } from '../forum.enums';
import { slowMode, TopicModel, TopicRow } from '../topics/topic.model';
import { TopicsService } from '../topics/topics.service';
import { holdTopic } from '../topics/topics.repository';
import { stillMay } from '../still-may';
import { EditPostInput, ReactionInput, ReplyInput, TopicPostsArgs } from './dto/post.inputs';
import { PostModel, PostRow, toPostModel } from './post.model';
import { ActivityCounts, ActivityReader, POST_COLUMNS, PostPageRow, PostsRepository } from './posts.repository';
import { highestPostNumberSql, raiseTopicWhenShownSql } from './last-shown-post';
import { UsersLoader } from '../../../identity/src/users/users.loader';
import { SessionsService } from '../../../identity/src/sessions/sessions.service';
import { RenderedContent } from '../../../content/src/renderer';
import { TopicTimersRepository } from '../timers/topic-timers.repository';
import { timersOfTopicChanged } from '../timers/timers-changed';

/** The event verb of a state change: deleted, restored, hidden, unhidden, approved, rejected. */
export function stateVerb(from: ContentState, to: ContentState): string {
  if (to === ContentState.DELETED) return from === ContentState.PENDING ? 'rejected' : 'deleted';
  if (to === ContentState.HIDDEN) return from === ContentState.DELETED ? 'restored' : 'hidden';
  if (to === ContentState.VISIBLE) return from === ContentState.HIDDEN ? 'unhidden' : from === ContentState.PENDING ? 'approved' : 'restored';
  return 'pending';
}

/** An edit about to be stored, or held: the text, its rendering (censored), the topic's new title and tags (first post). */
interface PostEdit {
  body: string;
  html: string;
  title: string | null;
  tags: string[] | null;
  reason: string | null;
  rendered: RenderedContent;
}

/** An author's edit waiting for a moderator (see the post-pending-edits migration). */
interface PendingEditRow {
  post_id: string;
  editor_id: string;
  base_revision: number;
  body_source: string;
  body_html: string;
  title: string | null;
  tags: string[] | null;
  reason: string | null;
  note: string | null;
  version: number;
  created_at: Date;
}

/** A wait as the slow-mode refusal says it. */
const formatWait = (s: number) => (s < 120 ? `${s} seconds` : s < 7_200 ? `${Math.ceil(s / 60)} minutes` : `${Math.ceil(s / 3_600)} hours`);

/**
 * Why a topic takes no reply, edit or poll vote from someone of `rank` in its space who may
 * otherwise participate, or null: a locked topic takes none of them; a closed one no replies and
 * no votes in its posts' polls (Discourse's "topic must be open to vote"), though its posts are
 * still edited (and their polls managed); moderators pass, as they reply in a closed topic.
 */
export function topicRefuses(topic: Pick<TopicModel, 'locked' | 'closed'>, rank: number, what: 'reply' | 'edit' | 'vote'): string | null {
  if (rank >= LEVEL_RANK.MODERATE) return null;
  if (topic.locked) return `This topic is locked: it takes no ${what === 'reply' ? 'replies' : what === 'vote' ? 'votes' : 'edits'}`;
  if (topic.closed && what === 'reply') return 'This topic is closed: it takes no new replies';
  if (topic.closed && what === 'vote') return 'This topic is closed: its polls take no votes';
  return null;
}

/** Most changed posts one `topic:sync` sends back; past them, `changesHaveMore` asks the client to reload the page. */
export const SYNC_CHANGES = 200;

const NO_ACTIVITY: ActivityCounts = { topics: 0, replies: 0 };

/** Who may edit a wiki post besides its author and moderators: members from this trust level (Discourse's min_trust_to_edit_wiki_post). */
export const WIKI_EDIT_MIN_TRUST = 1;
/** Authors make their own posts wikis from this trust level (Discourse's min_trust_to_allow_self_wiki); moderators any. */
export const WIKI_SELF_MIN_TRUST = 3;

/** How a topic's page is asked for (`Topic.posts`): checked, with its size. */
type TopicPaging =
  | { kind: 'forward'; size: number; afterNumber: number }
  | { kind: 'near'; size: number; number: number }
  | { kind: 'backward'; size: number; beforeNumber: number };

/** Past any post number (the backwards read of a topic's end starts there). */
const PAST_THE_END = 2 ** 31 - 1;
/** A post's writer found it in another topic under its lock (`movePosts` moved it meanwhile). */
export const POST_MOVED = 'The post was moved to another topic meanwhile: read it again';
/**
 * A reply or edit found its topic, under its lock, moved since its checks (access, the posting
 * checks: pre-moderation, automod) read the space it was in: judged by the rules of the space it left.
 */
const topicMovedMeanwhile = (what: 'reply' | 'edit') => AppError.conflict(`The topic moved while your ${what} was on its way: ${what === 'reply' ? 'post' : 'make'} it again`);

function postNumberOf(cursor: string, field: 'after' | 'before'): number {
  const values = decodeCursor(cursor, TOPIC_PAGE_CURSOR, 1, field);
  if (!values || !validPostNumberCursor(values)) throw AppError.badField(field, 'is not a valid cursor');
  return values[0] as number;
}

/** `Topic.posts`'s arguments, read one way: forwards (`first`, `after`), opened at a post (`near`, `first`) or backwards (`last`, `before`). */
export function topicPaging(args: TopicPostsArgs): TopicPaging {
  const given = (name: keyof TopicPostsArgs) => args[name] !== undefined && args[name] !== null;
  const clash = (a: keyof TopicPostsArgs, b: keyof TopicPostsArgs) => {
    if (given(a) && given(b)) throw AppError.badField(b, `cannot be given with ${a}`);
  };
  clash('first', 'last');
  clash('after', 'before');
  clash('after', 'last');
  clash('first', 'before');
  clash('near', 'after');
  clash('near', 'before');
  clash('near', 'last');
  if (given('near')) return { kind: 'near', size: pageSize(args.first), number: args.near! };
  if (given('last') || given('before')) {
    return { kind: 'backward', size: pageSize(args.last), beforeNumber: args.before != null ? postNumberOf(args.before, 'before') : PAST_THE_END };
  }
  return { kind: 'forward', size: pageSize(args.first), afterNumber: args.after != null ? postNumberOf(args.after, 'after') : 0 };
}

/**
 * editPost's rules for a post in a topic the viewer may edit in (`writableTopic`): who edits it
 * (its author, a moderator, or from WIKI_EDIT_MIN_TRUST anyone while it is a visible wiki:
 * FORBIDDEN otherwise), and whether it takes an edit (not deleted, nor seen as a placeholder:
 * CONFLICT; not an article's opening post, which updateArticle changes: BAD_USER_INPUT). Judged
 * on the post as given: as the loaders read it (`editablePost`), or as read under its row lock
 * by a caller that decides in its transaction (a poll's management).
 */
export function assertEditable(
  viewer: Viewer,
  rank: number,
  post: Pick<PostModel, 'authorId' | 'wiki' | 'state' | 'view' | 'number'>,
  topic: Pick<TopicModel, 'kind'>,
): void {
  const wikiEditor = post.wiki && post.state === ContentState.VISIBLE && (viewer.user?.trustLevel ?? 0) >= WIKI_EDIT_MIN_TRUST;
  if (rank < LEVEL_RANK.MODERATE && post.authorId !== viewer.id && !wikiEditor) throw AppError.forbidden('You can only edit your own posts, and wiki posts');
  if (post.view !== 'full' || post.state === ContentState.DELETED) throw AppError.conflict('A deleted post cannot be edited; restore it first');
  if (post.number === 1 && topic.kind === TopicKind.ARTICLE) throw AppError.badField('postId', 'an article is edited with updateArticle, which keeps its revisions and review');
}

/**
 * Where a post's write happened, for its events, as the write's own UPDATE of `posts p` reads it
 * (RETURNING): the post's space and its topic's board, once the caller held the topic, so a move
 * committed while the write waited for it is seen (not the board and space read before).
 */
/** A post's row as a state change returns it: the state it left, and where it is as held (`HELD_WHERE`). */
type HeldPostRow = PostRow & { was: ContentState; held_space_id: string; topic_board_id: string };
const HELD_WHERE = `p.space_id AS held_space_id, (SELECT board_id FROM topics WHERE id = p.topic_id) AS topic_board_id`;

@Injectable()
export class PostsService {
  constructor(
    private readonly repo: PostsRepository,
    private readonly loaders: ForumLoaders,
    private readonly topics: TopicsService,
    private readonly access: AccessService,
    private readonly uow: UnitOfWork,
    private readonly writer: ContentWriter,
    private readonly users: UsersLoader,
    private readonly policy: PostingPolicy,
    private readonly audit: AuditLog,
    private readonly kinds: BoardKinds,
    private readonly pacing: Pacing,
    private readonly sessions: SessionsService,
    private readonly drafts: DraftsRepository,
    private readonly timers: TopicTimersRepository,
  ) {}

  async get(viewer: Viewer, id: string): Promise<PostModel> {
    const post = isUuid(id) ? await this.loaders.post(viewer, id) : null;
    if (!post) throw AppError.notFound('Post not found');
    return post;
  }

  /**
   * A topic's posts by number, as the viewer is shown them: forwards from `after` (the usual
   * page, batched over every topic a list asks it of), or around a post number (`near`), or
   * backwards (`last`, `before`), each in one statement (`topicWindow`).
   */
  async topicPage(viewer: Viewer, topic: TopicModel, args: TopicPostsArgs): Promise<Connection<PostModel>> {
    const paging = topicPaging(args);
    // A topic the viewer may not read in full (one they just deleted) lists nothing.
    if (this.access.contentView(viewer, topic.viewerRank, { state: topic.state, authorId: topic.authorId, deletedFrom: null }) !== 'full') {
      return emptyConnection();
    }
    const moderator = topic.viewerRank >= LEVEL_RANK.MODERATE;
    const key = (...page: unknown[]) => JSON.stringify(['posts', moderator, ...page]);
    const count = () => nestedCount(viewer, key(), topic.id, (ids) => this.repo.topicCounts(ids, viewer.id, moderator));
    const node = (r: PostPageRow) => this.pageNode(viewer, topic, r);
    if (paging.kind === 'forward') {
      const { size, afterNumber } = paging;
      // Topics listed with their posts read every page in one statement (nestedPage).
      const rows = await nestedPage(viewer, key(afterNumber, size), topic.id, (ids) => this.repo.topicPages(ids, viewer.id, moderator, afterNumber, size + 1), (r) => r.topic_id);
      // Post 1 is listed to whoever reads the topic: a page after any cursor has posts ahead of it.
      return toConnection(rows, size, TOPIC_PAGE_CURSOR, (r) => [r.number], node, count, { hasPreviousPage: afterNumber > 0 });
    }
    const { size } = paging;
    const pivot = paging.kind === 'near' ? paging.number : paging.beforeNumber;
    const rows = await this.repo.topicWindow(topic.id, viewer.id, moderator, pivot, size + 1, paging.kind === 'near' ? size + 1 : 1);
    const behind = rows.filter((r) => r.before_pivot);
    const from = rows.filter((r) => !r.before_pivot);
    // Opened at a post: the page runs from it, unless nothing is there (past the last post),
    // when it is the topic's last page, as a page read backwards from the end is.
    const forwards = paging.kind === 'near' && from.length > 0;
    const page = forwards ? from.slice(0, size) : behind.slice(Math.max(0, behind.length - size));
    const edges = page.map((r) => ({ cursor: encodeCursor(TOPIC_PAGE_CURSOR, [r.number]), node: node(r) }));
    return {
      edges,
      pageInfo: pageInfoOf(edges, forwards ? from.length > size : from.length > 0, forwards ? behind.length > 0 : behind.length > size),
      totalCount: count,
    };
  }

  /** A topic page's row as the viewer sees it, with what PostsResolver would load preloaded. */
  private pageNode(viewer: Viewer, topic: TopicModel, r: PostPageRow): PostModel {
    const post = toPostModel(r, this.access.contentView(viewer, topic.viewerRank, { state: r.state, authorId: r.author_id, deletedFrom: r.deleted_from }), topic.viewerRank);
    const author = this.users.authorOf(viewer, r);
    // Exactly what PostsResolver would answer: a placeholder shows none of the viewer's reactions.
    post.preloaded = { author, myReactions: post.view === 'full' ? r.my_kinds : [] };
    return post;
  }

  /**
   * For a client coming back (`topic:sync`): the posts up to `upToNumber` that changed after
   * `since` (a `mark` of an earlier call), as the topic page shows them now, and the mark to
   * start from next time. Marks overlap, so a change may come twice: clients apply posts by id.
   */
  async topicChanges(viewer: Viewer, topic: TopicModel, upToNumber: number, since: string | null): Promise<{ posts: PostModel[]; more: boolean; mark: string }> {
    const mark = await this.repo.syncMark();
    const full = this.access.contentView(viewer, topic.viewerRank, { state: topic.state, authorId: topic.authorId, deletedFrom: null }) === 'full';
    if (!since || !full) return { posts: [], more: false, mark };
    const rows = await this.repo.changedUpTo(topic.id, viewer.id, topic.viewerRank >= LEVEL_RANK.MODERATE, upToNumber, since, SYNC_CHANGES + 1);
    return { posts: rows.slice(0, SYNC_CHANGES).map((r) => this.pageNode(viewer, topic, r)), more: rows.length > SYNC_CHANGES, mark };
  }

  /** A user's contributions that this viewer may read, newest first. */
  async activity(viewer: Viewer, authorId: string, args: PageArgs): Promise<Connection<PostModel>> {
    const size = pageSize(args.first);
    const after = decodeCursor(args.after, ACTIVITY_CURSOR, 2) as [string, string] | undefined;
    if (after && !validTimeIdCursor(after)) throw AppError.badField('after', 'is not a valid cursor');
    const ranks = await this.access.spaceRanks(viewer);
    const reader = await this.activityReader(viewer);
    // Asked of every user of a list (authors, reporters), one statement for all of them.
    const key = `activity:${size}:${after?.join(',') ?? ''}`;
    const rows = await nestedPage(viewer, key, authorId, (ids) => this.repo.activityPages(ids, reader, size + 1, after), (r) => r.author_id);
    return toConnection(
      rows,
      size,
      ACTIVITY_CURSOR,
      (r) => [r.k_ts, r.id],
      (r) => toPostModel(r, 'full', ranks.get(r.space_id) ?? 0),
      async () => {
        const counts = await this.activityCounts(viewer, authorId);
        return counts.topics + counts.replies;
      },
    );
  }

  /**
   * How many of a user's topics and replies this viewer may read: what `activity` lists,
   * counted (its totalCount is their sum), in one statement for every user a request asks it
   * of, whichever of the counts it asks.
   */
  async activityCounts(viewer: Viewer, authorId: string): Promise<ActivityCounts> {
    const reader = await this.activityReader(viewer);
    return nestedCounts(viewer, 'activity', authorId, (ids) => this.repo.activityCounts(ids, reader), NO_ACTIVITY);
  }

  /** Who reads a profile's activity (the spaces they read and moderate are read once per request). */
  private async activityReader(viewer: Viewer): Promise<ActivityReader> {
    return { viewerId: viewer.id, readable: await this.access.readableSpaceIds(viewer), moderated: await this.access.moderatedSpaceIds(viewer) };
  }

  /**
   * A topic the viewer may reply to or edit in (and draft a reply to): NOT_FOUND when they may
   * not read it, FORBIDDEN when they may not post there or it is closed or locked for them.
   */
  async writableTopic(viewer: Viewer, topicId: string, what: 'reply' | 'edit'): Promise<{ topic: TopicModel; rank: number }> {
    const topic = await this.topics.get(viewer, topicId);
    const rank = await this.access.require(viewer, topic.spaceId, AccessLevel.PARTICIPATE);
    const refusal = topicRefuses(topic, rank, what);
    if (refusal) throw AppError.forbidden(refusal);
    return { topic, rank };
  }

  /** The post a reply answers: one of its topic the viewer reads in full (BAD_USER_INPUT otherwise). */
  async checkReplyTarget(viewer: Viewer, topic: TopicModel, postId: string): Promise<void> {
    const target = await this.loaders.post(viewer, postId);
    if (!target || target.topicId !== topic.id) throw AppError.badField('replyToPostId', 'must be a post of this topic');
    // A placeholder (hidden from the replier, or deleted) is not something to answer.
    if (target.view !== 'full' || target.state === ContentState.DELETED) throw AppError.badField('replyToPostId', 'must be a post you can read');
  }

  async reply(viewer: Viewer, input: ReplyInput): Promise<PostModel> {
    if (!viewer.signedIn) throw AppError.unauthenticated();
    const { topic, rank } = await this.writableTopic(viewer, input.topicId, 'reply');
    if (input.replyToPostId) await this.checkReplyTarget(viewer, topic, input.replyToPostId);
    const author = viewer.user!;
    // Before rendering and the posting checks; the transaction below decides for good.
    await this.assertSlowModeTurn(undefined, topic.id, author.id, topic.slowModeSeconds, rank);
    await this.policy.admit({ viewer, spaceId: topic.spaceId, kind: 'reply', rank });
    const rendered = this.writer.render(input.body);
    const contribution = { viewer, spaceId: topic.spaceId, kind: 'reply' as const, body: input.body, rendered, rank };
    const verdict = await this.policy.evaluate(contribution);
    const state = verdict.pending ? ContentState.PENDING : ContentState.VISIBLE;
    const postId = newId();
    let stored!: StoredContribution;
    const row = await this.uow.run(async (tx) => {
      await this.writer.holdAuthor(tx, author.id);
      // The row lock taken here serialises concurrent replies (distinct numbers, each past every
      // number the topic gave, moved posts' too: highestPostNumberSql),
      // and the state it returns is the one the reply lands in: a topic closed, locked or
      // deleted since the checks above refuses the reply and the whole transaction rolls back.
      // A reply held for approval changes nothing its topic's readers see (rule 3): not its
      // count, activity, version or updated_at, which a reader polling the topic or hearing its
      // pushes would tell apart (raiseTopicWhenShownSql); only its number is taken. Its approval raises them (applyState).
      const t = await tx.one<{ last_post_number: number; state: string; closed: boolean; locked: boolean; board_id: string } & Pick<TopicRow, 'slow_mode_seconds' | 'slow_mode_until'>>(
        `UPDATE topics SET last_post_number = ${highestPostNumberSql()} + 1, reply_count = reply_count + $2,
                ${raiseTopicWhenShownSql('$2 = 1', undefined, 'now()')}
          WHERE id = $1 RETURNING last_post_number, state, closed, locked, board_id, slow_mode_seconds, slow_mode_until`,
        [topic.id, state === ContentState.VISIBLE ? 1 : 0],
      );
      if (!t || t.state === ContentState.DELETED) throw AppError.notFound('Topic not found');
      // Under the topic's row lock: two replies sent at once by one member cannot both pass.
      await this.assertSlowModeTurn(tx, topic.id, author.id, slowMode(t).slowModeSeconds, rank);
      // Moved since the checks above (which read its old space's access and rules): the reply
      // would land in the old space, where only that space's moderators see it.
      if (t.board_id !== topic.boardId) throw topicMovedMeanwhile('reply');
      const refusal = topicRefuses(t, rank, 'reply');
      if (refusal) throw AppError.forbidden(refusal);
      const [post] = await tx.query<PostRow>(
        `INSERT INTO posts AS p (id, topic_id, space_id, number, author_id, reply_to_post_id, body_source, body_html, state)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ${POST_COLUMNS}`,
        [postId, topic.id, topic.spaceId, t.last_post_number, author.id, input.replyToPostId ?? null, input.body, verdict.html ?? rendered.html, state],
      );
      await this.writer.recordRevision(tx, postId, author.id, input.body, null);
      await this.writer.markOwnPostRead(tx, author.id, topic.id, post.number);
      const { mentionedUserIds } = await this.writer.recordReferences(tx, viewer, postId, rendered, { replace: false });
      await tx.emit({
        type: 'post.created',
        aggregateType: 'post',
        aggregateId: postId,
        version: post.version,
        payload: {
          postId, topicId: topic.id, boardId: topic.boardId, spaceId: topic.spaceId, authorId: author.id,
          number: post.number, replyToPostId: input.replyToPostId ?? null, mentionedUserIds, state,
        },
      });
      // Posted: the author's draft of a reply here has served, unless the transaction fails
      // after this (a refusal keeps it).
      await this.drafts.discard(author.id, replyDraft(topic.id), tx);
      stored = { postId, topicId: topic.id, number: post.number, pending: verdict.pending };
      await this.policy.stored(tx, contribution, verdict, stored);
      return post;
    });
    this.loaders.forget(viewer, { topicId: topic.id });
    return toPostModel(row, 'full', rank);
  }

  /** RATE_LIMITED with the wait while slow mode keeps a member (not a moderator) from posting in the topic again. */
  private async assertSlowModeTurn(tx: Tx | undefined, topicId: string, authorId: string, seconds: number, rank: number): Promise<void> {
    if (seconds === 0 || rank >= LEVEL_RANK.MODERATE) return;
    const wait = await this.repo.slowModeWait(topicId, authorId, seconds, tx);
    if (wait > 0) throw AppError.rateLimited(wait, `This topic is in slow mode: you may post here again in ${formatWait(wait)}`);
  }

  /**
   * A post the viewer may change as an edit does (editPost, an edit's draft, setPostWiki):
   * its author, a moderator of the space, or anyone from WIKI_EDIT_MIN_TRUST when it is a
   * visible wiki, where they may post (not silenced; a locked topic only for moderators), not
   * deleted, and not an article's opening post, which changes through updateArticle and its
   * review (`assertEditable`, which a post's poll judges under its locks too). NOT_FOUND when
   * they may not read it.
   */
  async editablePost(viewer: Viewer, postId: string): Promise<{ post: PostModel; topic: TopicModel; rank: number }> {
    const post = await this.get(viewer, postId);
    const { topic, rank } = await this.writableTopic(viewer, post.topicId, 'edit');
    assertEditable(viewer, rank, post, topic);
    return { post, topic, rank };
  }

  /** Authors edit their own posts, moderators any; every edit keeps a revision. */
  async edit(viewer: Viewer, input: EditPostInput): Promise<PostModel> {
    if (!viewer.signedIn) throw AppError.unauthenticated();
    const { post, topic, rank } = await this.editablePost(viewer, input.postId);
    const moderator = rank >= LEVEL_RANK.MODERATE;
    if ((input.title != null || input.tags != null) && post.number !== 1) {
      throw AppError.badField(input.title != null ? 'title' : 'tags', 'only the first post changes the topic’s title and tags');
    }
    // Neither its author nor a moderator: editing a wiki (editablePost let them through for that alone).
    const wikiEdit = !moderator && post.authorId !== viewer.id;
    // Looked at before rendering and the posting checks, counted in the transaction below.
    const pace = await this.pacing.guard(viewer, EDITS_PACE, { exempt: moderator });
    const rendered = this.writer.render(input.body);
    const contribution = { viewer, spaceId: topic.spaceId, kind: 'edit' as const, body: input.body, title: input.title, tags: input.tags, rendered, rank };
    const verdict = await this.policy.evaluate(contribution);
    // A held edit waits beside the post as its author's one edit in waiting, which only they and
    // moderators read: a wiki's other editors cannot leave one there.
    if (wikiEdit && verdict.pending) throw AppError.forbidden('This edit would wait for a moderator’s approval, and edits of others’ wiki posts cannot wait');
    const edit: PostEdit = {
      body: input.body,
      html: verdict.html ?? rendered.html,
      title: verdict.title ?? input.title ?? null,
      tags: input.tags ?? null,
      reason: input.reason ?? null,
      rendered,
    };
    // Every edit reaches the checks' `stored` step, as new posts do: pre-moderation opens the
    // review item, FLAG and CENSOR rules act on an edit that brings their words in.
    const row = await this.uow.run(async (tx) => {
      // An edit the policy holds waits beside a visible post, which keeps its approved text
      // meanwhile; a post still waiting (or hidden) is seen by nobody else: its edit applies.
      // Decided on the post as it is now, under its lock: one approved since the checks above
      // is visible, and its edit waits too.
      // With the space its topic is in as held: a move to another space it waited for is seen.
      const now = await this.lockInTopic<{ state: ContentState; wiki: boolean; space_id: string }>(tx, topic.id, post.id, 'p.state, p.wiki', 't.space_id');
      if (!now || now.state === ContentState.DELETED) throw AppError.conflict('A deleted post cannot be edited; restore it first');
      // Behind such a move, judged again there: a moderator of the space it left edits another's post no more.
      const heldRank = await stillMay(this.access, viewer, topic.spaceId, now.space_id, AccessLevel.PARTICIPATE, rank);
      if (moderator && heldRank < LEVEL_RANK.MODERATE && post.authorId !== viewer.id) throw AppError.forbidden('You can only edit your own posts, and wiki posts');
      // A wiki made a post again, or hidden, since the checks above: no longer theirs to edit.
      if (wikiEdit && !(now.wiki && now.state === ContentState.VISIBLE)) throw AppError.forbidden('You can only edit your own posts, and wiki posts');
      // Its posting checks above (pre-moderation, automod) read the rules of the space it left:
      // refused as a reply is, to be made again where the topic is now (Discourse's edit conflict).
      if (now.space_id !== topic.spaceId) throw topicMovedMeanwhile('edit');
      // Counted in the edit's transaction, after the post's lock as a poll's management counts it:
      // an edit refused (by the checks above) spends nothing.
      await pace.count(tx);
      // The editor's draft of this edit has served, whether the edit applies or waits.
      await this.drafts.discard(viewer.id!, editDraft(post.id), tx);
      const held = verdict.pending && now.state === ContentState.VISIBLE;
      const stored = { postId: post.id, topicId: topic.id, number: post.number, pending: held };
      if (held) {
        const replaced = await this.proposeEdit(tx, viewer.id!, post.id, edit, heldReasons(verdict));
        await this.policy.stored(tx, contribution, { ...verdict, pending: true }, { ...stored, changedWaiting: replaced });
        return null;
      }
      const updated = await this.writeEdit(tx, viewer, post, topic, edit);
      // The author's own edit that needs no approval replaces their held one (a moderator's
      // edit does not: approving the held one then answers CONFLICT).
      const withdrewHeldEdit = post.authorId === viewer.id && (await this.withdrawHeldEdit(tx, post.id));
      // The author's edit of a post still waiting (as it is now, under the edit's lock): what a
      // moderator may have read is gone.
      const changedWaiting = updated.state === ContentState.PENDING && post.authorId === viewer.id;
      await this.policy.stored(tx, contribution, { ...verdict, pending: false }, { ...stored, withdrewHeldEdit, changedWaiting });
      // A moderator's edit of another's post is theirs to answer for; a wiki's editors are in its revisions.
      if (post.authorId !== viewer.id && moderator) {
        // A first post's edit may retitle and retag its topic: those are logged with the text.
        const heading = (title: string, tags: string[]) => (post.number === 1 ? { title, tags } : {});
        await this.logModeration(
          tx,
          viewer.id,
          'post.edit',
          { id: post.id, spaceId: now.space_id },
          { bodySource: post.bodySourceText, ...heading(topic.title, topic.tags) },
          { bodySource: input.body, ...heading(edit.title ?? topic.title, edit.tags ?? topic.tags), reason: input.reason ?? null },
        );
      }
      return updated;
    });
    this.loaders.forget(viewer, { topicId: topic.id, postId: post.id });
    // A held edit leaves the post as it was (its pendingEdit field, read afresh, shows the edit).
    return row ? toPostModel(row, 'full', rank) : post;
  }

  /**
   * Makes a post a wiki, or a wiki a post again (Discourse's): moderators of its space, or its
   * author from WIKI_SELF_MIN_TRUST, where they may edit it (`editablePost`). Announced as an
   * update of the post (live rooms), logged when a moderator does it to another's post.
   */
  async setWiki(viewer: Viewer, postId: string, wiki: boolean): Promise<PostModel> {
    if (!viewer.signedIn) throw AppError.unauthenticated();
    const { post, topic, rank: readRank } = await this.editablePost(viewer, postId);
    const mayMakeWiki = (rank: number) => {
      if (rank < LEVEL_RANK.MODERATE && (post.authorId !== viewer.id || viewer.user!.trustLevel < WIKI_SELF_MIN_TRUST)) {
        throw AppError.forbidden(`Moderators make posts wikis, and authors their own from trust level ${WIKI_SELF_MIN_TRUST}`);
      }
      return rank;
    };
    let rank = mayMakeWiki(readRank);
    if (post.wiki === wiki) return post;
    const row = await this.uow.run(async (tx) => {
      // The topic held first (topics before posts), then where the post is as this statement
      // reads it (HELD_WHERE): one that waited for a moveTopic across spaces sees the move, and
      // is judged, named and logged in the space the post is now in, not the one read before.
      await this.holdTopic(tx, post.topicId);
      const [updated] = await tx.query<PostRow & { topic_board_id: string; held_space_id: string }>(
        `UPDATE posts p SET wiki = $2, version = next_version(version), updated_at = now() WHERE id = $1 AND wiki <> $2 AND state <> 'DELETED'
          RETURNING ${POST_COLUMNS}, ${HELD_WHERE}`,
        [post.id, wiki],
      );
      if (!updated) return null;
      rank = await stillMay(this.access, viewer, post.spaceId, updated.held_space_id, AccessLevel.PARTICIPATE, rank, mayMakeWiki);
      await tx.emit({
        type: 'post.updated',
        aggregateType: 'post',
        aggregateId: post.id,
        version: updated.version,
        payload: { postId: post.id, topicId: topic.id, boardId: updated.topic_board_id, spaceId: updated.held_space_id, editorId: viewer.id },
      });
      if (post.authorId !== viewer.id) await this.logModeration(tx, viewer.id, 'post.wiki', { id: post.id, spaceId: updated.held_space_id }, { wiki: !wiki }, { wiki });
      return updated;
    });
    this.loaders.forget(viewer, { topicId: topic.id, postId: post.id });
    return row ? toPostModel(row, 'full', rank) : this.get(viewer, postId);
  }

  /**
   * Stores an edit as the post's new text: a revision by `editor`, its mentions and quotes
   * (as `editor` may read them), the topic's title and tags for a first post, and the events.
   */
  private async writeEdit(tx: Tx, editor: Viewer, post: PostModel, topic: TopicModel, edit: PostEdit): Promise<PostRow> {
    // With the board its topic is in and the space the post is in as this statement reads them,
    // after the topic was held (a move committed while the edit waited for it is seen): the
    // events name those, not the ones read before the transaction.
    const [updated] = await tx.query<PostRow & { topic_board_id: string; held_space_id: string }>(
      `UPDATE posts p SET body_source = $2, body_html = $3, edited_at = now(), version = next_version(version), updated_at = now()
        WHERE id = $1 RETURNING ${POST_COLUMNS}, ${HELD_WHERE}`,
      [post.id, edit.body, edit.html],
    );
    const where = { boardId: updated.topic_board_id, spaceId: updated.held_space_id };
    const { mentionedUserIds, mentionedGroupIds } = await this.writer.recordReferences(tx, editor, post.id, edit.rendered, { replace: true });
    if (edit.title !== null || edit.tags !== null) {
      const t = await tx.one<{ version: number }>(
        `UPDATE topics SET title = COALESCE($2, title), tags = COALESCE($3, tags), version = next_version(version), updated_at = now()
          WHERE id = $1 RETURNING version`,
        [topic.id, edit.title, edit.tags],
      );
      await tx.emit({ type: 'topic.updated', aggregateType: 'topic', aggregateId: topic.id, version: t!.version, payload: { topicId: topic.id, ...where } });
    }
    // After the topic took the new title and tags: a first post's revision keeps them.
    await this.writer.recordRevision(tx, post.id, editor.id!, edit.body, edit.reason);
    await tx.emit({
      type: 'post.updated',
      aggregateType: 'post',
      aggregateId: post.id,
      version: updated.version,
      payload: { postId: post.id, topicId: topic.id, ...where, editorId: editor.id, textEdited: true, mentionedUserIds, mentionedGroupIds },
    });
    return updated;
  }

  /**
   * Keeps an author's held edit beside the post, replacing an earlier one still waiting (a
   * new version). Answers whether it replaced one. Versions go on from the post's last
   * (`post_pending_edit_versions`), never restarting once an edit is decided or withdrawn, so
   * a version names one edit for good (moderatePost's pendingEditVersion).
   */
  private async proposeEdit(tx: Tx, editorId: string, postId: string, edit: PostEdit, note: string): Promise<boolean> {
    // `waiting` reads the statement's snapshot: whether an edit waited before this one.
    const [row] = await tx.query<{ replaced: boolean }>(
      `WITH waiting AS (SELECT 1 FROM post_pending_edits WHERE post_id = $1),
            v AS (INSERT INTO post_pending_edit_versions AS s (post_id, last) VALUES ($1, 1)
                  ON CONFLICT (post_id) DO UPDATE SET last = s.last + 1 RETURNING last)
       INSERT INTO post_pending_edits AS e (post_id, editor_id, base_revision, body_source, body_html, title, tags, reason, note, version)
       VALUES ($1, $2, (SELECT COALESCE(max(number), 0) FROM post_revisions WHERE post_id = $1), $3, $4, $5, $6, $7, $8, (SELECT last FROM v))
       ON CONFLICT (post_id) DO UPDATE SET editor_id = EXCLUDED.editor_id, base_revision = EXCLUDED.base_revision,
         body_source = EXCLUDED.body_source, body_html = EXCLUDED.body_html, title = EXCLUDED.title, tags = EXCLUDED.tags,
         reason = EXCLUDED.reason, note = EXCLUDED.note, version = EXCLUDED.version, created_at = now()
       RETURNING EXISTS (SELECT 1 FROM waiting) AS replaced`,
      [postId, editorId, edit.body, edit.html, edit.title, edit.tags, edit.reason, note || null],
    );
    return row.replaced;
  }

  /** Drops the edit its author had waiting beside a post (they edited again, or deleted the post): whether one waited. */
  private async withdrawHeldEdit(tx: Tx, postId: string): Promise<boolean> {
    return (await tx.query(`DELETE FROM post_pending_edits WHERE post_id = $1 RETURNING post_id`, [postId])).length > 0;
  }

  /** Whether a post has an edit waiting for a moderator's decision. */
  async hasPendingEdit(tx: Tx, postId: string): Promise<boolean> {
    return !!(await tx.one(`SELECT 1 FROM post_pending_edits WHERE post_id = $1`, [postId]));
  }

  /**
   * A moderator's decision on a post's held edit, inside the deciding transaction: APPROVE
   * makes it the post's text (a revision by its author), REJECT drops it. Null when the post
   * has no held edit. An edit of a deleted post is dropped, never approved (CONFLICT: the post
   * restored first, it may be); one proposed before somebody else's edit is refused, so it
   * cannot silently undo that edit. A decision that
   * read the edit (`readVersion`) decides that one or nothing: CONFLICT when another is
   * waiting, so a moderator neither publishes nor drops a text they did not see.
   */
  async decidePendingEdit(
    tx: Tx,
    postId: string,
    approve: boolean,
    /**
     * The version of the held edit the decision read (from the post itself; the queue's items
     * change with the edit instead): null when it read none (the post still waiting, which no
     * edit waits beside), so any edit found is one it did not see; undefined when it does not say.
     */
    readVersion?: number | null,
  ): Promise<{ outcome: 'published'; row: PostRow } | { outcome: 'dropped' } | null> {
    const pending = await tx.one<PendingEditRow & { revision: number; state: ContentState }>(
      `SELECT e.*, p.state, (SELECT COALESCE(max(number), 0) FROM post_revisions WHERE post_id = e.post_id)::int AS revision
         FROM post_pending_edits e JOIN posts p ON p.id = e.post_id WHERE e.post_id = $1 FOR NO KEY UPDATE OF p, e`,
      [postId],
    );
    if (!pending) return null;
    if (readVersion === null) throw AppError.conflict('An edit was held for review since you read the post: read it again, and decide it by its pendingEditVersion');
    if (readVersion !== undefined && readVersion !== pending.version) throw AppError.conflict('Its author changed the held edit since you read it: read it again');
    // Approving it could only drop it, an outcome its moderator did not choose (REJECT or the
    // queue's IGNORE drop it, as they say).
    if (approve && pending.state === ContentState.DELETED) {
      throw AppError.conflict('This post was deleted: its held edit cannot be approved (restore the post first, or reject or ignore the item, which drops the edit)');
    }
    await tx.query(`DELETE FROM post_pending_edits WHERE post_id = $1`, [postId]);
    if (!approve) return { outcome: 'dropped' };
    if (pending.revision !== pending.base_revision) {
      throw AppError.conflict('The post was edited after this change was proposed: reject it, and its author can edit again');
    }
    // The editor, and the post and topic as they find them, read on this transaction's connection
    // (on the pool, each took a second connection while this one is held).
    const editor = await this.sessions.viewerForUser(pending.editor_id, { includeSuspended: true }, tx);
    if (!editor) throw new Error(`the editor ${pending.editor_id} of a held edit no longer exists`);
    const post = await this.loaders.postOn(tx, editor, postId);
    const topic = post ? await this.loaders.topicOn(tx, editor, post.topicId) : null;
    // Written as its author may write it: one who can no longer read the post has nothing to publish there.
    if (!post || !topic) throw AppError.conflict('Its author can no longer read this post: reject the edit');
    const row = await this.writeEdit(tx, editor, post, topic, {
      body: pending.body_source,
      html: pending.body_html,
      title: pending.title,
      tags: pending.tags,
      reason: pending.reason,
      rendered: this.writer.render(pending.body_source),
    });
    return { outcome: 'published', row };
  }

  /** Soft delete by the author or a moderator; deleting the first post deletes the topic. */
  async delete(viewer: Viewer, id: string): Promise<PostModel> {
    if (!viewer.signedIn) throw AppError.unauthenticated();
    const post = await this.get(viewer, id);
    const topic = await this.topics.get(viewer, post.topicId);
    const mayDelete = (rank: number) => {
      if (rank < LEVEL_RANK.MODERATE && post.authorId !== viewer.id) throw AppError.forbidden('You can only delete your own posts');
      return rank;
    };
    let rank = mayDelete(await this.access.require(viewer, topic.spaceId, AccessLevel.PARTICIPATE));
    if (post.state === ContentState.DELETED) return post;
    const row = await this.uow.run(async (tx) => {
      // Held and written by `writeDelete` (the topic, then the post), where its own write reads
      // the post to be: behind a move of its topic to another space, committed while this waited
      // for it, judged again there as restorePost judges it, rolled back if refused (nothing
      // logged, no review item settled), else done and logged in that space.
      const written = await this.writeDelete(tx, viewer.id, post, topic);
      if (!written) return null;
      rank = await stillMay(this.access, viewer, topic.spaceId, written.held_space_id, AccessLevel.PARTICIPATE, rank, mayDelete);
      // A moderator deleting someone else's post is judged again as they are now (`viewerNow`,
      // on this transaction's connection), once its topic and the post are held, as moderatePost
      // judges them: one whose grant was revoked (or who was demoted or silenced) while this
      // waited deletes nothing (FORBIDDEN or NOT_FOUND; rolled back, its reports left open).
      if (post.authorId !== viewer.id) {
        rank = mayDelete(await this.access.require(await this.sessions.viewerNow(viewer, tx), written.held_space_id, AccessLevel.PARTICIPATE, 'Post not found'));
      }
      return written;
    });
    this.loaders.forget(viewer, { topicId: topic.id, postId: post.id });
    if (!row) return post; // deleted meanwhile, by someone else: nothing more to do
    const view = this.access.contentView(viewer, rank, { state: row.state, authorId: row.author_id, deletedFrom: row.deleted_from });
    const deleted = toPostModel(row, view, rank);
    // The first post takes its topic with it, out of its author's sight.
    if (row.number === 1) deleted.topicAsLeft = Object.assign(new TopicModel(), topic, { state: ContentState.DELETED });
    return deleted;
  }

  /** Moderators bring a deleted post (and its topic, for a first post) back, as it was before: visible, hidden, or waiting for review (with a new review item). */
  async restore(viewer: Viewer, id: string): Promise<PostModel> {
    if (!viewer.signedIn) throw AppError.unauthenticated();
    const post = await this.get(viewer, id);
    const topic = await this.loaders.topic(viewer, post.topicId);
    if (!topic) throw AppError.notFound('Post not found');
    let rank = await this.access.require(viewer, topic.spaceId, AccessLevel.MODERATE);
    if (post.state !== ContentState.DELETED) return post;
    await this.refuseOwnUndo(viewer, post, 'restore');
    const row = await this.uow.run(async (tx) => {
      const { changed } = await this.applyStateFrom(tx, viewer.id, post, topic, [ContentState.DELETED], ContentState.VISIBLE);
      if (!changed) return null;
      // Behind a move to another space (the restore waited for the topic): judged again there, rolled back if refused.
      rank = await stillMay(this.access, viewer, topic.spaceId, changed.held_space_id, AccessLevel.MODERATE, rank);
      // The state reached: a post hidden before its deletion comes back hidden.
      await this.logModeration(tx, viewer.id, 'post.restore', { id: post.id, spaceId: changed.held_space_id }, { state: ContentState.DELETED }, { state: changed.state });
      return changed;
    });
    this.loaders.forget(viewer, { topicId: topic.id, postId: post.id });
    if (!row) return this.get(viewer, id); // restored meanwhile by another moderator
    return toPostModel(row, 'full', rank);
  }

  /**
   * A moderator does not bring back (restore, unhide) their own post another moderator deleted
   * or hid, as reports on their own content are another's to decide; what they removed
   * themselves they may. Admins answer to nobody here. Inside a transaction, `q` is its manager:
   * who removed it is read on the transaction's connection, not a second one from the pool.
   */
  async refuseOwnUndo(viewer: Viewer, post: { id: string; topicId: string; number: number; authorId: string | null }, undo: 'restore' | 'unhide', q?: Queryable): Promise<void> {
    if (post.authorId !== viewer.id || viewer.isAdmin) return;
    const by = undo === 'restore' ? await this.repo.deletedBy(post.id, q) : await this.repo.hiddenBy(post, q);
    if (by !== viewer.id) throw AppError.forbidden(`Your own content another moderator ${undo === 'restore' ? 'deleted is restored' : 'hid is unhidden'} by another moderator`);
  }

  /**
   * Soft-deletes a post in `tx` as `actorId` decided (deletePost, or a DELETE topic timer
   * firing on its topic's first post, `reason` saying so), from any state it may be deleted
   * from. Null when it was deleted meanwhile. Callers check who may do it. Its author deleting
   * it withdraws what of it waited for review: the edit they had waiting, as their edit that
   * needs no approval does, or the post itself while it waited; its review item is settled
   * (`PostingPolicy.withdrawn`), so moderators are left nothing to decide that could only drop
   * it. A moderator deleting someone else's post while it waited rejects its item, as
   * moderatePost DELETE does (`PostingPolicy.deletedWhileWaiting`); their deletion of a post
   * others had read upholds its open reports and automod flags, as moderatePost DELETE does
   * (`PostingPolicy.deletedShown`), and decides nothing about an edit waiting beside it, which
   * waits with its item. Restored, a post
   * has its approved text (and any edit still waiting), or waits again under a new item (`waitsAgain`).
   */
  async writeDelete(
    tx: Tx,
    actorId: string | null,
    post: { id: string; number: number; authorId: string | null; spaceId: string },
    topic: { id: string; boardId: string; spaceId: string },
    reason?: string,
  ): Promise<HeldPostRow | null> {
    const { changed } = await this.applyStateFrom(tx, actorId, post, topic, [ContentState.VISIBLE, ContentState.PENDING, ContentState.HIDDEN], ContentState.DELETED);
    // Where the post is as its deletion held it (a move it waited for seen), not where it was read.
    const spaceId = changed?.held_space_id ?? post.spaceId;
    const waiting = { postId: post.id, topicId: topic.id, number: post.number, spaceId, actorId };
    if (changed && actorId !== null && post.authorId === actorId) {
      const withdrawn = (await this.withdrawHeldEdit(tx, post.id)) ? 'edit' : changed.was === ContentState.PENDING ? 'post' : null;
      if (withdrawn) await this.policy.withdrawn(tx, waiting, withdrawn);
    } else if (changed?.was === ContentState.PENDING) {
      // Someone else's held content deleted is refused, as moderatePost DELETE refuses it: its item goes with it.
      await this.policy.deletedWhileWaiting(tx, waiting, reason ?? null);
    } else if (changed && actorId !== null) {
      // Someone else's content others had read, deleted by a moderator: its open reports are upheld, as moderatePost DELETE upholds them.
      await this.policy.deletedShown(tx, waiting, reason ?? null);
    }
    // A moderator removing someone else's post is a moderator action: it goes in the log.
    if (changed && post.authorId !== actorId) await this.logModeration(tx, actorId, 'post.delete', { id: post.id, spaceId }, { state: changed.was }, { state: ContentState.DELETED }, reason);
    return changed;
  }

  /** A moderator acting on someone else's post: the moderation log keeps it. */
  private logModeration(tx: Tx, actorId: string | null, action: string, post: { id: string; spaceId: string }, before: unknown, after: unknown, reason?: string): Promise<void> {
    return this.audit.append(tx, { actorId, action, targetType: 'post', targetId: post.id, spaceId: post.spaceId, reason: reason ?? null, before, after });
  }

  /** The topic's row held FOR KEY SHARE before its post's is locked (`holdTopic`, topics before posts). */
  async holdTopic(tx: Tx, topicId: string): Promise<void> {
    await holdTopic(tx, topicId);
  }

  /**
   * The post's `columns` (of `posts p`), its row locked FOR NO KEY UPDATE after its topic's is
   * held (`holdTopic`), with its topic's `topicColumns` (of `topics t`, as held) when asked, in
   * the same statement: null when there is no such post, CONFLICT (POST_MOVED) when `movePosts`
   * took it out of `topicId` while the caller waited.
   */
  async lockInTopic<T extends object>(tx: Tx, topicId: string, postId: string, columns: string, topicColumns?: string): Promise<T | null> {
    await this.holdTopic(tx, topicId);
    const row = await tx.one<T & { topic_id: string }>(
      topicColumns
        ? `SELECT ${columns}, ${topicColumns}, p.topic_id FROM posts p JOIN topics t ON t.id = p.topic_id WHERE p.id = $1 FOR NO KEY UPDATE OF p`
        : `SELECT ${columns}, p.topic_id FROM posts p WHERE p.id = $1 FOR NO KEY UPDATE`,
      [postId],
    );
    if (row && row.topic_id !== topicId) throw AppError.conflict(POST_MOVED);
    return row ?? null;
  }

  /**
   * `applyState` for a caller that decided on a state it read earlier: the post's state is
   * read again under its row lock, and the move happens only from one of `from` (a delete
   * racing a hide must not turn a deleted post hidden). Returns the state found, and the
   * change when there was one.
   */
  async applyStateFrom(
    tx: Tx,
    actorId: string | null,
    post: { id: string; number: number },
    topic: { id: string; boardId: string; spaceId: string },
    from: readonly ContentState[],
    to: ContentState,
  ): Promise<{ state: ContentState; changed: HeldPostRow | null }> {
    const current = await this.lockInTopic<{ state: ContentState }>(tx, topic.id, post.id, 'state');
    if (!current) throw AppError.notFound('Post not found');
    if (!from.includes(current.state)) return { state: current.state, changed: null };
    return { state: current.state, changed: await this.applyState(tx, actorId, post, topic, to) };
  }

  /**
   * Every move between content states (delete, restore, hide, unhide, approve, reject)
   * goes through here, by people or by automatic moderation (actorId null): it keeps the
   * topic's counters and accepted answer right and emits the matching event. Callers
   * check who may do it. A deleted post remembers what it was (`deleted_from`), and
   * restoring it (DELETED → VISIBLE) brings a post that had been hidden back hidden, and one
   * still waiting for review (or rejected) back to waiting: a restore never publishes unreviewed text.
   */
  async applyState(
    tx: Tx,
    actorId: string | null,
    post: { id: string; number: number },
    topic: { id: string; boardId: string; spaceId: string },
    wanted: ContentState,
  ): Promise<HeldPostRow> {
    // A board kind may keep its own workflow in charge of a topic's visibility (knowledge articles).
    let to = post.number === 1 ? ((await this.kinds.firstPostState(tx, { topicId: topic.id, to: wanted })) as ContentState) : wanted;
    // The kind's workflow decides what its own redirected posts wait for (an article's draft: publishArticle).
    const kindDecides = to !== wanted;
    // With the post's space and its topic's board as this statement reads them, after the caller
    // held the topic (a move committed while it waited is seen): its events, and a review item it
    // opens again, name those, not the ones read before the transaction.
    // A post left hidden or deleted keeps the version drawn here as its removal's
    // (`removed_version`, which its placeholder answers and its `post:removed` carries); visible
    // or held, it has none. Drawn once, in the locking subquery, for both columns.
    const [row] = await tx.query<HeldPostRow>(
      `UPDATE posts p SET state = n.state,
              deleted_at = CASE WHEN n.state = 'DELETED' THEN now() ELSE NULL END,
              deleted_by = CASE WHEN n.state = 'DELETED' THEN $3::uuid ELSE NULL END,
              deleted_from = CASE WHEN n.state = 'DELETED' THEN COALESCE(NULLIF(n.was, 'DELETED'), n.deleted_from) ELSE NULL END,
              version = n.version, removed_version = CASE WHEN n.state IN ('HIDDEN', 'DELETED') THEN n.version END, updated_at = now()
        FROM (SELECT state AS was, deleted_from, next_version(version) AS version,
                     CASE WHEN state = 'DELETED' AND $2 = 'VISIBLE' AND deleted_from IN ('HIDDEN', 'PENDING') THEN deleted_from ELSE $2 END AS state
                FROM posts WHERE id = $1 FOR NO KEY UPDATE) n
        WHERE p.id = $1 RETURNING ${POST_COLUMNS}, n.was, ${HELD_WHERE}`,
      [post.id, to, actorId],
    );
    to = row.state;
    const wasVisible = row.was === ContentState.VISIBLE;
    const isVisible = to === ContentState.VISIBLE;
    const delta = wasVisible === isVisible ? 0 : isVisible ? 1 : -1;
    // Held content approved is published now: the topic's activity is now, as for a reply posted
    // now (unhiding and restoring bring back what was there, and move nothing).
    const published = row.was === ContentState.PENDING && isVisible;
    const ids = { postId: post.id, topicId: topic.id, boardId: row.topic_board_id, spaceId: row.held_space_id };
    // A first post's event carries its topic's version as this change left it: the live gateway
    // orders a topic's news to its board's room by the topic's version (`LiveGateway.boardNewsPasses`), which
    // the post's own does not compare with.
    let topicVersion: number | undefined;
    if (post.number === 1) {
      const t = await tx.one<{ version: number }>(
        `UPDATE topics SET state = $2, reaction_count = reaction_count + $3,
                last_activity_at = CASE WHEN $4 THEN greatest(last_activity_at, now()) ELSE last_activity_at END,
                version = next_version(version), updated_at = now()
          WHERE id = $1 RETURNING version`,
        [topic.id, to, delta * row.reaction_total, published],
      );
      topicVersion = t!.version;
      await tx.emit({ type: `topic.${stateVerb(row.was, to)}`, aggregateType: 'topic', aggregateId: topic.id, version: topicVersion, payload: ids });
      // No timer stands on a deleted topic (`standingOf`): deleting or restoring it changes their list.
      if ((row.was === ContentState.DELETED) !== (to === ContentState.DELETED)) await timersOfTopicChanged(tx, this.timers, topic.id);
      if (row.was !== to) await this.kinds.firstPostStateChanged(tx, { topicId: topic.id, from: row.was, to });
    } else if (delta !== 0) {
      await tx.query(
        `UPDATE topics SET reply_count = reply_count + $2, reaction_count = reaction_count + $3,
                accepted_post_id = CASE WHEN accepted_post_id = $4 AND $2 < 0 THEN NULL ELSE accepted_post_id END,
                last_activity_at = CASE WHEN $5 THEN greatest(last_activity_at, now()) ELSE last_activity_at END,
                version = next_version(version), updated_at = now()
          WHERE id = $1`,
        [topic.id, delta, delta * row.reaction_total, post.id, published],
      );
    }
    await tx.emit({ type: `post.${stateVerb(row.was, to)}`, aggregateType: 'post', aggregateId: post.id, version: row.version, payload: { ...ids, number: post.number, authorId: row.author_id, from: row.was, to, ...(topicVersion === undefined ? {} : { topicVersion }) } });
    if (row.was === ContentState.DELETED && to === ContentState.PENDING && !kindDecides) {
      await this.policy.waitsAgain(tx, { postId: post.id, topicId: topic.id, number: post.number, spaceId: row.held_space_id, actorId });
    }
    return row;
  }

  /** Toggles one reaction of the viewer on a visible post (not their own). Idempotent. */
  async react(viewer: Viewer, input: ReactionInput, on: boolean): Promise<PostModel> {
    if (!viewer.signedIn) throw AppError.unauthenticated();
    const post = await this.get(viewer, input.postId);
    let rank = await this.access.require(viewer, post.spaceId, AccessLevel.PARTICIPATE);
    if (post.view !== 'full' || post.state !== ContentState.VISIBLE) throw AppError.badField('postId', 'this post cannot take reactions');
    if (post.authorId === viewer.id) throw AppError.forbidden('You cannot react to your own post');
    const kind: ReactionKind = input.kind;
    const pace = await this.pacing.guard(viewer, REACTIONS_PACE, { lookFirst: false });
    const row = await this.uow.run(async (tx) => {
      // Counted in the reaction's transaction: one refused below spends nothing.
      await pace.count(tx);
      // The topic held first, then the post locked (lockInTopic, as a deletion locks them) and its
      // state read again, so a reaction never lands on a post deleted meanwhile and the topic's
      // counter stays right. With where the topic is as held: a move it waited for is seen, the
      // reactor judged again in the space it went to, and the event names that.
      const current = await this.lockInTopic<{ state: string; board_id: string; space_id: string }>(tx, post.topicId, post.id, 'p.state', 't.board_id, t.space_id');
      if (current?.state !== ContentState.VISIBLE) throw AppError.badField('postId', 'this post cannot take reactions');
      rank = await stillMay(this.access, viewer, post.spaceId, current.space_id, AccessLevel.PARTICIPATE, rank);
      const changed = on
        ? await tx.query(`INSERT INTO reactions (post_id, user_id, kind) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING kind`, [post.id, viewer.id, kind])
        : await tx.query(`DELETE FROM reactions WHERE post_id = $1 AND user_id = $2 AND kind = $3 RETURNING kind`, [post.id, viewer.id, kind]);
      if (changed.length === 0) {
        return (await tx.query<PostRow>(`SELECT ${POST_COLUMNS} FROM posts p WHERE id = $1`, [post.id]))[0];
      }
      const delta = on ? 1 : -1;
      const [updated] = await tx.query<PostRow>(
        `UPDATE posts p SET reaction_counts = jsonb_set(reaction_counts, ARRAY[$2::text],
                  to_jsonb(GREATEST(0, COALESCE((reaction_counts->>$2)::int, 0) + $3))),
                reaction_total = reaction_total + $3, version = next_version(version)
          WHERE id = $1 RETURNING ${POST_COLUMNS}`,
        [post.id, kind, delta],
      );
      await tx.query(`UPDATE topics SET reaction_count = reaction_count + $2 WHERE id = $1`, [post.topicId, delta]);
      await tx.emit({
        type: 'reaction.updated',
        aggregateType: 'post',
        aggregateId: post.id,
        version: updated.version,
        payload: {
          postId: post.id, topicId: post.topicId, boardId: current.board_id, spaceId: current.space_id,
          userId: viewer.id, kind, on,
        },
      });
      return updated;
    });
    this.loaders.forget(viewer, { topicId: post.topicId, postId: post.id });
    return toPostModel(row, 'full', rank);
  }
}
