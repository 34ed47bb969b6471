import { Injectable } from '@nestjs/common';
import { AccessLevel, LEVEL_RANK } from '../../../access/src/access-level';
import { AccessService } from '../../../access/src/access.service';
import { Tx, UnitOfWork } from '../../../core/src/database/unit-of-work';
import { AppError } from '../../../core/src/errors';
import { Connection, decodeCursor, emptyConnection, offsetFromCursor, pageSize, toConnection, toOffsetConnection } from '../../../core/src/graphql/pagination';
import { nestedCount, nestedPage } from '../../../core/src/graphql/nested-pages';
import { Viewer } from '../../../core/src/graphql/viewer';
import { isUuid, newId } from '../../../core/src/ids';
import { BoardKind, BoardModel } from '../../../spaces/src/boards/board.model';
import { SpacesLoader } from '../../../spaces/src/spaces.loader';
import { BoardKindBehaviour, BoardKinds } from '../board-kinds';
import { DraftsRepository, newTopicDraft } from '../drafts/drafts.repository';
import { ContentWriter } from '../content-writer';
import { PostingPolicy } from '../posting-policy';
import { AuditLog } from '../../../core/src/audit/audit-log';
import { appendMove } from '../move-log';
import { moveReviewItems } from '../moved-review-items';
import { stillMay } from '../still-may';
import { ForumLoaders } from '../forum.loaders';
import { topicFeedCursor, topicListCursor, TRENDING_TOPICS, validFeedCursor, validListCursor } from '../cursors';
import { TopicFeedView, TopicKind, TopicSort } from '../forum.enums';
import { CreateTopicInput, MarkReadInput, MoveTopicInput, SLOW_MODE_MIN_SECONDS, TopicFeedArgs, TopicListArgs, TopicSlowModeInput, TopicStatusInput } from './dto/topic.inputs';
import { slowMode, TopicModel, TopicRow, toTopicModel } from './topic.model';
import { holdTopic, TOPIC_COLUMNS, TopicFeedQuery, TopicListFilter, TopicListRow, TopicsRepository } from './topics.repository';
import { UsersLoader } from '../../../identity/src/users/users.loader';
import { TopicReadListeners } from '../read-listeners';
import { TopicFeedExclusions } from '../feed-exclusions';
import { AuthorColumns } from '../../../identity/src/users/user.model';
import { lastShownPostSql } from '../posts/last-shown-post';
import { TopicTimersRepository } from '../timers/topic-timers.repository';
import { timersOfTopicChanged } from '../timers/timers-changed';

/**
 * A topic moved to a board and dated anew there (`writePublication`): notifications and live
 * pushes treat it as the topic's creation, search re-files it (a `topic.` event).
 */
export const TOPIC_PUBLISHED = 'topic.published';

@Injectable()
export class TopicsService {
  constructor(
    private readonly repo: TopicsRepository,
    private readonly loaders: ForumLoaders,
    private readonly access: AccessService,
    private readonly spaces: SpacesLoader,
    private readonly uow: UnitOfWork,
    private readonly writer: ContentWriter,
    private readonly policy: PostingPolicy,
    private readonly audit: AuditLog,
    private readonly kinds: BoardKinds,
    private readonly users: UsersLoader,
    private readonly reads: TopicReadListeners,
    private readonly feedExclusions: TopicFeedExclusions,
    private readonly drafts: DraftsRepository,
    private readonly timers: TopicTimersRepository,
  ) {}

  /**
   * The topic if the viewer may see it; NOT_FOUND otherwise (missing and forbidden alike).
   * Read in `tx` when given (a caller already holding a transaction: no second connection, and
   * the topic as that transaction sees it), otherwise through the request's loader.
   */
  async get(viewer: Viewer, id: string, tx?: Tx): Promise<TopicModel> {
    let topic: TopicModel | null = null;
    if (isUuid(id) && tx) {
      const [row] = await this.repo.getByIds([id], tx);
      topic = row ? await this.loaders.topicFromRow(viewer, row) : null;
    } else if (isUuid(id)) {
      topic = await this.loaders.topic(viewer, id);
    }
    if (!topic) throw AppError.notFound('Topic not found');
    return topic;
  }

  async list(viewer: Viewer, board: BoardModel, args: TopicListArgs): Promise<Connection<TopicModel>> {
    const sort = args.sort ?? TopicSort.LATEST_ACTIVITY;
    const behaviour = sort === TopicSort.TRENDING ? this.kinds.of(board.kind) : undefined;
    if (behaviour?.trending) return behaviour.trending(viewer, board, { first: args.first, after: args.after, tag: args.tag });
    const rank = await this.access.rankOn(viewer, board.spaceId);
    const size = pageSize(args.first);
    if (sort === TopicSort.TRENDING) return this.trendingList(viewer, board, rank, size, args);
    const after = decodeCursor(args.after, topicListCursor(sort), 3) as [boolean, string, string] | undefined;
    if (after && !validListCursor(after, sort)) throw AppError.badField('after', 'is not a valid cursor');
    // Boards only reach here through readable spaces; this keeps the list honest if that ever changes.
    if (rank < LEVEL_RANK.READ) return emptyConnection();
    const filter = this.listFilter(viewer, board, rank, args.tag);
    const key = this.listKey(board, filter, sort, size, args.after);
    const rows = await nestedPage(viewer, key, board.id, (ids) => this.repo.pages(filter, ids, sort, size + 1, after), (r) => r.board_id);
    return toConnection(
      rows,
      size,
      topicListCursor(sort),
      (r) => [r.pinned, r.k_value, r.id],
      (r) => this.listed(viewer, r, rank),
      () => nestedCount(viewer, this.listKey(board, filter), board.id, (ids) => this.repo.counts(filter, ids)),
    );
  }

  /**
   * The site-wide feeds of forum topics (Query.topics): LATEST for anyone, UNREAD and NEW for
   * signed-in members (see TopicFeedView). Only topics of FORUM boards (idea boards and
   * knowledge bases have their own lists: merged ideas, the roadmap, the article tree), in
   * spaces the viewer reads, as their boards list them for this viewer (readableTopicSql,
   * the moderator's view where they moderate); what a member muted is left out
   * (TopicFeedExclusions). Pins are a board's: they do not float here.
   */
  async feed(viewer: Viewer, args: TopicFeedArgs): Promise<Connection<TopicModel>> {
    const f = args.filter ?? {};
    const view = f.view ?? TopicFeedView.LATEST;
    if (view !== TopicFeedView.LATEST && !viewer.id) throw AppError.unauthenticated();
    const size = pageSize(args.first);
    const after = decodeCursor(args.after, topicFeedCursor(view), 2) as [string, string] | undefined;
    if (after && !validFeedCursor(after)) throw AppError.badField('after', 'is not a valid cursor');
    const reader = await this.feedReader(viewer, f.spaceIds);
    if (!reader) return emptyConnection();
    const query = { ...reader, view, tag: f.tag };
    const ranks = await this.access.spaceRanks(viewer);
    const rows = await this.repo.feedPage(query, size + 1, after);
    return toConnection(
      rows,
      size,
      topicFeedCursor(view),
      (r) => [r.k_value, r.id],
      (r) => this.listed(viewer, r, ranks.get(r.space_id) ?? LEVEL_RANK.NONE),
      () => this.repo.feedCount(query),
    );
  }

  /**
   * Topic.suggestedTopics, Discourse's "suggested topics" under a topic: for a signed-in
   * member, topics with unread posts (UNREAD), then new ones (NEW), each from the topic's own
   * board first and then from everywhere they read; then, for anyone, the latest of its
   * board. Every step is a feed page (so what the viewer muted, may not read, or already got
   * stays out) and runs only while the list is short: at most five statements. Forum topics
   * only, as the feeds are: an idea or an article gets none (they have similar ideas and
   * related articles).
   */
  async suggested(viewer: Viewer, topic: TopicModel, first: number): Promise<TopicModel[]> {
    if (topic.kind !== TopicKind.DISCUSSION && topic.kind !== TopicKind.QUESTION) return [];
    const base = await this.feedReader(viewer);
    if (!base) return [];
    const steps: Array<Pick<TopicFeedQuery, 'view' | 'boardId'>> = [
      ...(viewer.id
        ? [TopicFeedView.UNREAD, TopicFeedView.NEW].flatMap((view) => [{ view, boardId: topic.boardId }, { view }])
        : []),
      { view: TopicFeedView.LATEST, boardId: topic.boardId },
    ];
    const rows: TopicListRow[] = [];
    for (const step of steps) {
      if (rows.length >= first) break;
      const notIds = [topic.id, ...rows.map((r) => r.id)];
      rows.push(...(await this.repo.feedPage({ ...base, ...step, notIds }, first - rows.length)));
    }
    const ranks = await this.access.spaceRanks(viewer);
    return rows.map((r) => this.listed(viewer, r, ranks.get(r.space_id) ?? LEVEL_RANK.NONE));
  }

  /**
   * Who reads a feed and where: the spaces the viewer reads (narrowed to `only`), those of them
   * they moderate, and what they muted; null when there is no space to read.
   */
  private async feedReader(viewer: Viewer, only?: readonly string[]): Promise<Omit<TopicFeedQuery, 'view'> | null> {
    const narrowed = (ids: string[]) => (only ? ids.filter((id) => only.includes(id)) : ids);
    const spaceIds = narrowed(await this.access.readableSpaceIds(viewer));
    if (spaceIds.length === 0) return null;
    return { viewerId: viewer.id, spaceIds, moderatedSpaceIds: narrowed(await this.access.moderatedSpaceIds(viewer)), excluded: this.feedExclusions.all() };
  }

  /** A topic of a list, with the author its statement joined (so `author` costs nothing more). */
  private listed(viewer: Viewer, r: TopicRow & AuthorColumns, rank: number): TopicModel {
    return Object.assign(toTopicModel(r, rank), { preloaded: { author: this.users.authorOf(viewer, r) } });
  }

  /**
   * Which of these topics of `board` it suggests as similar ones: those its lists show, by the
   * board kind's own condition (merged ideas are left out), and its kind suggests (archived
   * articles are not).
   */
  async suggestedOn(board: BoardModel, topicIds: string[]): Promise<Set<string>> {
    const kind = this.kinds.of(board.kind);
    const conditions = [kind?.listedSql, kind?.suggestedSql].filter((c): c is string => !!c);
    return conditions.length ? this.repo.listedAmong(topicIds, conditions.map((c) => `(${c})`).join(' AND ')) : new Set(topicIds);
  }

  /**
   * Which of these topics, of boards of any kind, their boards' kinds suggest as similar ones
   * (archived articles are not). Their lists' conditions are not asked: across boards, merged
   * ideas are suggested as any topic is.
   */
  async suggestedAnywhere(topicIds: string[]): Promise<Set<string>> {
    const sql = this.kinds.suggestedAnywhereSql();
    return sql ? this.repo.listedAmong(topicIds, sql) : new Set(topicIds);
  }

  /** Which of a board's topics its lists show this viewer (the board kind may add a condition). */
  private listFilter(viewer: Viewer, board: BoardModel, rank: number, tag: string | undefined): TopicListFilter {
    return { viewerId: viewer.id, moderator: rank >= LEVEL_RANK.MODERATE, tag, kindSql: this.kinds.of(board.kind)?.listedSql };
  }

  /** Boards whose lists share this key are read in one statement (nestedPage). */
  private listKey(board: BoardModel, filter: TopicListFilter, ...page: unknown[]): string {
    return JSON.stringify(['topics', board.kind, filter.moderator, filter.tag ?? null, ...page]);
  }

  /** Board.topics(sort: TRENDING) where the board's kind has no trending of its own (see TOPIC_TRENDING_SCORE). */
  private async trendingList(viewer: Viewer, board: BoardModel, rank: number, size: number, args: TopicListArgs): Promise<Connection<TopicModel>> {
    const offset = offsetFromCursor(args.after, TRENDING_TOPICS);
    if (rank < LEVEL_RANK.READ) return emptyConnection();
    const filter = this.listFilter(viewer, board, rank, args.tag);
    const key = this.listKey(board, filter, TopicSort.TRENDING, size, offset);
    const rows = await nestedPage(viewer, key, board.id, (ids) => this.repo.trendingPages(filter, ids, size + 1, offset), (r) => r.board_id);
    return toOffsetConnection(
      rows,
      size,
      offset,
      TRENDING_TOPICS,
      (r) => this.listed(viewer, r, rank),
      () => nestedCount(viewer, this.listKey(board, filter), board.id, (ids) => this.repo.counts(filter, ids)),
    );
  }

  /**
   * A board the viewer may start a topic in (createTopic, and a new topic's draft): NOT_FOUND
   * when they may not read it, FORBIDDEN when they may not post there; with their rank and
   * the board kind's behaviour (none for forum boards).
   */
  async writableBoard(viewer: Viewer, boardId: string): Promise<{ board: BoardModel; rank: number; behaviour: BoardKindBehaviour | undefined }> {
    const board = await this.spaces.board(viewer, boardId);
    if (!board) throw AppError.notFound('Board not found');
    const rank = await this.access.require(viewer, board.spaceId, AccessLevel.PARTICIPATE);
    const behaviour = board.kind === BoardKind.FORUM ? undefined : this.kinds.of(board.kind);
    if (board.kind !== BoardKind.FORUM && !behaviour) throw AppError.badField('boardId', `${board.kind.toLowerCase()} boards do not take topics`);
    return { board, rank, behaviour };
  }

  async create(viewer: Viewer, input: CreateTopicInput): Promise<TopicModel> {
    if (!viewer.signedIn) throw AppError.unauthenticated();
    const { board, rank, behaviour } = await this.writableBoard(viewer, input.boardId);
    if (!behaviour && input.parentId) throw AppError.badField('parentId', 'only knowledge articles have a parent');
    checkTopicKind(behaviour, input.kind);
    const planned = { viewer, board, title: input.title, rank, options: { parentId: input.parentId } };
    await behaviour?.validate?.(planned);
    const author = viewer.user!;
    await this.policy.admit({ viewer, spaceId: board.spaceId, kind: 'topic', rank });
    const rendered = this.writer.render(input.body);
    const contribution = { viewer, spaceId: board.spaceId, kind: 'topic' as const, body: input.body, title: input.title, tags: input.tags, rendered, rank };
    const verdict = await this.policy.evaluate(contribution);
    const state = verdict.pending ? 'PENDING' : (behaviour?.initialState?.(planned) ?? 'VISIBLE');
    const topicKind = behaviour ? behaviour.topicKind : (input.kind ?? TopicKind.DISCUSSION);
    const topicId = newId();
    const postId = newId();
    const stored = { postId, topicId, number: 1, pending: verdict.pending };
    const row = await this.uow.run(async (tx) => {
      await this.writer.holdAuthor(tx, author.id);
      const [topic] = await tx.query<TopicRow>(
        `INSERT INTO topics AS t (id, board_id, space_id, author_id, kind, title, tags, last_post_number, state)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8) RETURNING ${TOPIC_COLUMNS}`,
        [topicId, board.id, board.spaceId, author.id, topicKind, verdict.title ?? input.title, input.tags ?? [], state],
      );
      // Their versions are the sequence's next (the columns' default), which the events carry.
      const [first] = await tx.query<{ version: number }>(
        `INSERT INTO posts (id, topic_id, space_id, number, author_id, body_source, body_html, state) VALUES ($1, $2, $3, 1, $4, $5, $6, $7) RETURNING version`,
        [postId, topicId, board.spaceId, author.id, input.body, verdict.html ?? rendered.html, state],
      );
      await this.writer.recordRevision(tx, postId, author.id, input.body, null);
      await this.writer.markOwnPostRead(tx, author.id, topicId, 1);
      const { mentionedUserIds } = await this.writer.recordReferences(tx, viewer, postId, rendered, { replace: false });
      const ids = { topicId, postId, boardId: board.id, spaceId: board.spaceId, authorId: author.id, state };
      await tx.emit({ type: 'topic.created', aggregateType: 'topic', aggregateId: topicId, version: topic.version, payload: ids });
      await tx.emit({ type: 'post.created', aggregateType: 'post', aggregateId: postId, version: first.version, payload: { ...ids, number: 1, mentionedUserIds } });
      // Posted: the author's draft of a topic in this board has served, unless the transaction
      // fails after this (a refusal keeps it).
      await this.drafts.discard(author.id, newTopicDraft(board.id), tx);
      await this.policy.stored(tx, contribution, verdict, stored);
      await behaviour?.created(tx, { ...planned, title: topic.title, topicId, postId, state });
      return topic;
    });
    return toTopicModel(row, rank);
  }

  /**
   * The topic and the viewer's rank in its space if they may moderate it (setTopicStatus,
   * moveTopic, topic timers): NOT_FOUND when they may not see it, FORBIDDEN (or
   * UNAUTHENTICATED) when they see it without moderating it. `tx`: read in it (see `get`).
   */
  async moderated(viewer: Viewer, topicId: string, tx?: Tx): Promise<{ topic: TopicModel; rank: number }> {
    const topic = await this.get(viewer, topicId, tx);
    const rank = await this.access.require(viewer, topic.spaceId, AccessLevel.MODERATE);
    return { topic, rank };
  }

  async setStatus(viewer: Viewer, input: TopicStatusInput): Promise<TopicModel> {
    if (!viewer.signedIn) throw AppError.unauthenticated();
    const moderated = await this.moderated(viewer, input.topicId);
    const topic = moderated.topic;
    let rank = moderated.rank;
    if (input.pinned == null && input.closed == null && input.locked == null) {
      throw AppError.badInput(['pinned', 'closed', 'locked'].map((field) => ({ field, message: 'give at least one of pinned, closed, locked' })));
    }
    const row = await this.uow.run(async (tx) => {
      const updated = await this.writeStatus(tx, viewer.id, topic, input);
      if (updated) rank = await stillMay(this.access, viewer, topic.spaceId, updated.space_id, AccessLevel.MODERATE, rank);
      return updated;
    });
    if (!row) return topic;
    this.loaders.forget(viewer, { topicId: topic.id });
    return toTopicModel(row, rank);
  }

  /**
   * Moderators: slow mode (Discourse's), for live Q&As and heated threads. Each member may
   * post in the topic once every `seconds` (PostsService.reply refuses sooner with
   * RATE_LIMITED and the wait); moderators of its space are not slowed. It lasts
   * `durationHours`, or until turned off with 0. Announced to the topic's readers and logged
   * as a status change is; setting what already holds writes nothing.
   */
  async setSlowMode(viewer: Viewer, input: TopicSlowModeInput): Promise<TopicModel> {
    if (!viewer.signedIn) throw AppError.unauthenticated();
    const moderated = await this.moderated(viewer, input.topicId);
    const topic = moderated.topic;
    let rank = moderated.rank;
    if (input.seconds > 0 && input.seconds < SLOW_MODE_MIN_SECONDS) throw AppError.badField('seconds', `must be 0 (off) or at least ${SLOW_MODE_MIN_SECONDS}`);
    if (input.seconds === 0 && input.durationHours != null) throw AppError.badField('durationHours', 'only with slow mode on (seconds above 0)');
    const before = { slowModeSeconds: topic.slowModeSeconds, slowModeUntil: topic.slowModeUntil };
    const row = await this.uow.run(async (tx) => {
      const [updated] = await tx.query<TopicRow>(
        `UPDATE topics t SET slow_mode_seconds = $2, slow_mode_until = CASE WHEN $2 > 0 THEN now() + make_interval(hours => $3) END,
                version = next_version(version), updated_at = now()
          WHERE id = $1 AND NOT (slow_mode_seconds = $2 AND $3::int IS NULL AND slow_mode_until IS NULL)
            AND NOT ($2 = 0 AND (slow_mode_seconds = 0 OR slow_mode_until <= now()) IS TRUE)
          RETURNING ${TOPIC_COLUMNS}`,
        [topic.id, input.seconds, input.durationHours ?? null],
      );
      // Already so (turning off what is off): nothing is written, announced or logged.
      if (!updated) return null;
      rank = await stillMay(this.access, viewer, topic.spaceId, updated.space_id, AccessLevel.MODERATE, rank);
      await this.announceChange(tx, viewer.id, updated, { action: 'topic.slow_mode', before, after: slowMode(updated) });
      return updated;
    });
    if (!row) return topic;
    this.loaders.forget(viewer, { topicId: topic.id });
    return toTopicModel(row, rank);
  }

  /**
   * Pins, closes or locks a topic in `tx` as `actorId` decided (setTopicStatus, or a topic
   * timer firing, with `reason` saying which): the change, its `topic.updated` event and its
   * moderation log entry; null when the topic is already so (nothing is written, announced or
   * logged). Callers check who may do it.
   */
  async writeStatus(
    tx: Tx,
    actorId: string | null,
    topic: Pick<TopicModel, 'id' | 'spaceId' | 'boardId'>,
    change: { pinned?: boolean | null; closed?: boolean | null; locked?: boolean | null },
    reason?: string,
  ): Promise<TopicRow | null> {
    // The status it had, read under the update's own row lock (not as the caller read it earlier).
    // FOR UPDATE, stronger than the update needs: it is the lock a poll's vote or management
    // waits for (their KEY SHARE on the topic, `PollsRepository`), so none of them reads the
    // topic's locked and closed as they were before this change once it commits, and this
    // change waits for those that read them before it.
    const [updated] = await tx.query<TopicRow & { was: { pinned: boolean; closed: boolean; locked: boolean } }>(
      `UPDATE topics t SET pinned = COALESCE($2, t.pinned), closed = COALESCE($3, t.closed), locked = COALESCE($4, t.locked),
              version = next_version(t.version), updated_at = now()
         FROM (SELECT pinned, closed, locked FROM topics WHERE id = $1 FOR UPDATE) o
        WHERE t.id = $1 AND (o.pinned, o.closed, o.locked) IS DISTINCT FROM (COALESCE($2, o.pinned), COALESCE($3, o.closed), COALESCE($4, o.locked))
        RETURNING ${TOPIC_COLUMNS}, jsonb_build_object('pinned', o.pinned, 'closed', o.closed, 'locked', o.locked) AS was`,
      [topic.id, change.pinned ?? null, change.closed ?? null, change.locked ?? null],
    );
    if (!updated) return null;
    const after = { pinned: updated.pinned, closed: updated.closed, locked: updated.locked };
    await this.announceChange(tx, actorId, updated, { action: 'topic.status', before: updated.was, after, reason });
    return updated;
  }

  /**
   * What follows a moderator's change to a topic's settings, written in `tx` (status, slow
   * mode, a site-wide pin): its `topic.updated` event, carrying the settings as they now are
   * (`after`), and its moderation log entry. Both name the board and space of `updated`, the
   * topic's row as the change's UPDATE returned it (a move committed while the change waited
   * for the row is seen there), not those the caller read before its transaction.
   */
  async announceChange(
    tx: Tx,
    actorId: string | null,
    updated: Pick<TopicRow, 'id' | 'board_id' | 'space_id' | 'version'>,
    change: { action: string; before: Record<string, unknown>; after: Record<string, unknown>; reason?: string },
  ): Promise<void> {
    await tx.emit({
      type: 'topic.updated',
      aggregateType: 'topic',
      aggregateId: updated.id,
      version: updated.version,
      payload: { topicId: updated.id, spaceId: updated.space_id, boardId: updated.board_id, ...change.after },
    });
    await this.audit.append(tx, {
      actorId,
      action: change.action,
      targetType: 'topic',
      targetId: updated.id,
      spaceId: updated.space_id,
      reason: change.reason ?? null,
      before: change.before,
      after: change.after,
    });
  }

  /**
   * Moves a topic (all its posts, and their review items) to another board of the same
   * kind, in the same space or another one. The mover moderates both: content may change
   * audience, so someone answerable for each side decides. Readers who lose access leave
   * the topic's live room; search re-indexes every post under the new space.
   */
  async move(viewer: Viewer, input: MoveTopicInput): Promise<TopicModel> {
    if (!viewer.signedIn) throw AppError.unauthenticated();
    const { topic } = await this.moderated(viewer, input.topicId);
    const from = await this.spaces.board(viewer, topic.boardId);
    const to = await this.spaces.board(viewer, input.boardId);
    if (!to) throw AppError.notFound('Board not found');
    const rank = await this.access.require(viewer, to.spaceId, AccessLevel.MODERATE, 'Board not found');
    if (to.id === topic.boardId) throw AppError.badField('boardId', 'the topic is already in this board');
    if (from && to.kind !== from.kind) throw AppError.badField('boardId', `must be a ${from.kind.toLowerCase()} board, like the topic's own`);
    const row = await this.uow.run((tx) => this.writeMove(tx, viewer.id, topic, to, from?.kind));
    this.loaders.forget(viewer, { topicId: topic.id });
    if (from) this.kinds.of(from.kind)?.moved?.(viewer, topic.id);
    return toTopicModel(row, rank);
  }

  /**
   * The move as moveTopic writes it, in `tx` as `actorId` decided (moveTopic, or a
   * PUBLISH_TO_BOARD timer firing, with `reason` saying so): the topic, its posts and their
   * review items (open or decided), the `topic.moved` event and the log entries (one in each space across
   * spaces). `fromKind`: the kind of the board it leaves, whose behaviour may refuse or follow
   * the move. `publishing`: the move publishes the topic (`writePublication`), which its event
   * says, so its new board's live room hears of it as a new topic alone, not as an update too.
   * The event says whether the topic was visible (`visible`): its old board's readers were shown
   * it, so hidden on its new board before the move's push, they hear it go (`topic:removed`),
   * and the kind of the board it went to (`boardKind`): an idea arriving on an idea board is
   * announced there with its votes and status (`idea:updated`, read with its arrival).
   * CONFLICT when the topic was moved meanwhile. Callers check who may do it, and that `to` is
   * another board of the same kind.
   */
  async writeMove(
    tx: Tx,
    actorId: string | null,
    topic: Pick<TopicModel, 'id' | 'spaceId' | 'boardId'>,
    to: Pick<BoardModel, 'id' | 'spaceId' | 'kind'>,
    fromKind: BoardKind | undefined,
    { reason, publishing = false }: { reason?: string; publishing?: boolean } = {},
  ): Promise<TopicRow> {
    const behaviour = fromKind ? this.kinds.of(fromKind) : undefined;
    // Where it is now, locked: two moves at once must not both start from where it was (the
    // second would leave its posts in the first one's space, or shift a tree twice).
    const here = await tx.one<{ board_id: string }>(`SELECT board_id FROM topics WHERE id = $1 FOR UPDATE`, [topic.id]);
    if (here?.board_id !== topic.boardId) throw AppError.conflict('The topic was moved meanwhile: read it again');
    await behaviour?.beforeMove?.(tx, { topicId: topic.id, fromBoardId: topic.boardId, toBoardId: to.id, fromSpaceId: topic.spaceId, toSpaceId: to.spaceId });
    const [moved] = await tx.query<TopicRow>(
      `UPDATE topics t SET board_id = $2, space_id = $3, version = next_version(version), updated_at = now() WHERE id = $1 RETURNING ${TOPIC_COLUMNS}`,
      [topic.id, to.id, to.spaceId],
    );
    if (to.spaceId !== topic.spaceId) {
      await tx.query(`UPDATE posts SET space_id = $2 WHERE topic_id = $1`, [topic.id, to.spaceId]);
      // Its review items, open or decided, follow the content into its new space (its queue for open ones).
      await moveReviewItems(
        tx,
        `(target_type = 'TOPIC' AND target_id = $1) OR (target_type = 'POST' AND target_id = ANY(ARRAY(SELECT id FROM posts WHERE topic_id = $1)))`,
        topic.id, topic.spaceId, to.spaceId,
      );
    }
    await tx.emit({
      type: 'topic.moved',
      aggregateType: 'topic',
      aggregateId: topic.id,
      version: moved.version,
      payload: { topicId: topic.id, fromBoardId: topic.boardId, fromSpaceId: topic.spaceId, boardId: to.id, boardKind: to.kind, spaceId: to.spaceId, publishing, visible: moved.state === 'VISIBLE' },
    });
    // Where a topic is decides which of its timers still stand (their setters must moderate its
    // space; a PUBLISH_TO_BOARD timer's board must not be its own): its move changes their list.
    await timersOfTopicChanged(tx, this.timers, topic.id);
    // Across spaces, each space's log tells its side alone (appendMove).
    await appendMove(this.audit, tx, {
      actorId,
      action: 'topic.move',
      targetType: 'topic',
      reason,
      from: { spaceId: topic.spaceId, targetId: topic.id, state: { boardId: topic.boardId, spaceId: topic.spaceId } },
      to: { spaceId: to.spaceId, targetId: topic.id, state: { boardId: to.id, spaceId: to.spaceId } },
    });
    return moved;
  }

  /**
   * Publishes a forum topic to another forum board, in `tx`, as a PUBLISH_TO_BOARD timer does
   * (Discourse's "publish to category"): moved there through `writeMove` (its event and log
   * entries, with `reason`), then dated now, as a new topic is: the topic's `created_at` and
   * `last_activity_at` and its first post's `created_at` (replies written meanwhile keep their
   * times: they were written then), so it heads the board's and the feeds' latest and counts as
   * new; then `topic.published`, which announces it as a new topic (notifications as for its
   * creation, `topic:created` to the board's live room). Callers check who may do it.
   */
  async writePublication(tx: Tx, actorId: string | null, topic: Pick<TopicModel, 'id' | 'spaceId' | 'boardId'>, to: Pick<BoardModel, 'id' | 'spaceId'>, reason: string): Promise<TopicRow> {
    await this.writeMove(tx, actorId, topic, { ...to, kind: BoardKind.FORUM }, BoardKind.FORUM, { reason, publishing: true });
    const published = await this.repo.redateAsNew(tx, topic.id);
    await tx.emit({
      type: TOPIC_PUBLISHED,
      aggregateType: 'topic',
      aggregateId: topic.id,
      version: published.version,
      payload: { topicId: topic.id, postId: published.first_post_id, boardId: to.id, spaceId: to.spaceId, fromBoardId: topic.boardId, fromSpaceId: topic.spaceId, actorId },
    });
    return published;
  }

  /** The topic's author (still a participant) or a moderator accepts one answer; it replaces any previous one. */
  async acceptAnswer(viewer: Viewer, postId: string): Promise<TopicModel> {
    if (!viewer.signedIn) throw AppError.unauthenticated();
    const post = isUuid(postId) ? await this.loaders.post(viewer, postId) : null;
    if (!post || post.view !== 'full') throw AppError.notFound('Post not found');
    return this.setAccepted(viewer, post.topicId, post);
  }

  async unacceptAnswer(viewer: Viewer, topicId: string): Promise<TopicModel> {
    if (!viewer.signedIn) throw AppError.unauthenticated();
    return this.setAccepted(viewer, topicId, null);
  }

  private async setAccepted(viewer: Viewer, topicId: string, post: { id: string; number: number; state: string } | null): Promise<TopicModel> {
    const topic = await this.get(viewer, topicId);
    // Who may decide, in the space the topic is in: judged on the topic as read, and again in the
    // transaction when a move to another space committed while it waited for the topic.
    const mayDecide = (rank: number): number => {
      if (rank < LEVEL_RANK.MODERATE && topic.authorId !== viewer.id) throw AppError.forbidden('Only the question’s author or a moderator accepts an answer');
      return rank;
    };
    let rank = await this.access.require(viewer, topic.spaceId, AccessLevel.PARTICIPATE);
    if (topic.kind !== TopicKind.QUESTION) throw AppError.badField('postId', 'only questions accept answers');
    mayDecide(rank);
    if (post && (post.number === 1 || post.state !== 'VISIBLE')) throw AppError.badField('postId', 'must be a visible reply to the question');
    const row = await this.uow.run(async (tx) => {
      // Read again under a share lock: a delete or hide committed since would otherwise leave a
      // removed post as the accepted answer (state changes take the row lock first).
      // The topic held first (holdTopic: topics before posts, as a move locks them), with where it
      // is as held: a move to another space committed while this waited is judged again there (a
      // moderator of the space it left decides nothing in the new one), and the event and the log
      // entry name the board and space the move put it in, not those read before.
      const held = await holdTopic(tx, topic.id);
      if (!held) throw AppError.notFound('Topic not found');
      rank = await stillMay(this.access, viewer, topic.spaceId, held.space_id, AccessLevel.PARTICIPATE, rank, mayDecide);
      if (post) {
        const locked = await tx.one<{ state: string; topic_id: string }>(`SELECT state, topic_id FROM posts WHERE id = $1 FOR SHARE`, [post.id]);
        if (locked?.state !== 'VISIBLE' || locked.topic_id !== topic.id) throw AppError.badField('postId', 'must be a visible reply to the question');
      }
      // The answer it replaces read as the row is locked (the CTE waits for, then reads, an
      // acceptance committed meanwhile), not as read before: the log's "before" is what it undid.
      const [updated] = await tx.query<TopicRow & { replaced_post_id: string | null }>(
        `WITH was AS (SELECT accepted_post_id FROM topics WHERE id = $1 FOR NO KEY UPDATE)
         UPDATE topics t SET accepted_post_id = $2, version = next_version(version), updated_at = now() FROM was
          WHERE t.id = $1 RETURNING ${TOPIC_COLUMNS}, was.accepted_post_id AS replaced_post_id`,
        [topic.id, post?.id ?? null],
      );
      await tx.emit({
        type: 'topic.updated',
        aggregateType: 'topic',
        aggregateId: topic.id,
        version: updated.version,
        payload: { topicId: topic.id, spaceId: held.space_id, boardId: held.board_id, acceptedPostId: post?.id ?? null, actorId: viewer.id },
      });
      // A moderator deciding for the asker is a moderator action: it goes in the log.
      if (topic.authorId !== viewer.id) {
        await this.audit.append(tx, {
          actorId: viewer.id,
          action: post ? 'topic.accept_answer' : 'topic.unaccept_answer',
          targetType: 'topic',
          targetId: topic.id,
          spaceId: held.space_id,
          before: { acceptedPostId: updated.replaced_post_id },
          after: { acceptedPostId: post?.id ?? null },
        });
      }
      return updated;
    });
    this.loaders.forget(viewer, { topicId: topic.id });
    return toTopicModel(row, rank);
  }

  async markRead(viewer: Viewer, input: MarkReadInput): Promise<TopicModel> {
    if (!viewer.id) throw AppError.unauthenticated();
    const topic = await this.get(viewer, input.topicId);
    await this.uow.run(async (tx) => {
      // One statement. Its account held FOR SHARE (as UsersRepository.holdMember holds it): a
      // deletion running meanwhile waits and takes the mark, or came first, and the locking read
      // finds no account: nothing is written (UNAUTHENTICATED). Then the topic FOR KEY SHARE, in
      // that order (the order the two statements it once was took them), and the mark capped by
      // the `last_post_number` that lock read.
      // A movePosts taking replies off the topic's end holds the topic FOR UPDATE from its start,
      // lowers `last_post_number` and sets back the marks past the new end, in one transaction
      // (PostMovesService.write). However the two interleave, no mark is left past the new end:
      // - the mark's lock first: the move waits for it (FOR UPDATE against KEY SHARE) until the
      //   mark commits, and its statement setting marks back, which starts after, sees the mark
      //   and sets it back;
      // - the move's lock first: the mark's lock waits until the move commits and then reads the
      //   topic's row as the move left it (a locking read under READ COMMITTED takes the row's
      //   latest version, whatever the statement's snapshot), so the mark goes no further than
      //   the new `last_post_number`, though the posts this statement reads (`shown`, its
      //   snapshot, taken before the wait) may still be the moved ones; the mark's row, if the
      //   move set it back, is updated from its latest version (ON CONFLICT), GREATEST of two
      //   values both within the new end;
      // - the move committed before the statement began: it reads the topic as it is now.
      // Capped by the posts alone (the statement's snapshot), as it once was, it read them before
      // the move committed, waited, and wrote a mark past the new end. Post numbers are never
      // given twice in a topic (highestPostNumberSql), so a mark on an old number (a client
      // that still shows a moved post) counts no later reply read either. Replies (FOR NO KEY
      // UPDATE) are not held up by the topic's lock.
      // A mark goes no further than the last post the viewer is shown (lastShownPostSql, as the
      // topic page lists them), not the topic's last number: a reply held at the end is theirs
      // neither to be told of (lastReadNumber would name its number) nor to have read once it is approved.
      // `updated_at` is when they last read up to their mark, or to the last post they are shown
      // when that is before it (news of a post edited since counts unread, NotificationsHandler):
      // a read that stops short (going back up the topic) leaves it, or an edit made since of a
      // post between the two would count read.
      const [read] = await tx.query<{ was: number; now: number }>(
        `WITH held AS (SELECT t.last_post_number FROM (SELECT id FROM users WHERE id = $1 AND deleted_at IS NULL FOR SHARE) u,
                          LATERAL (SELECT last_post_number FROM topics WHERE id = $2 AND u.id IS NOT NULL FOR KEY SHARE) t),
              was AS (SELECT last_read_number FROM topic_reads WHERE user_id = $1 AND topic_id = $2),
              shown AS (SELECT ${lastShownPostSql('$2', { moderator: '$4::boolean', viewer: '$1' }, '(SELECT last_post_number FROM held)')} AS last)
         INSERT INTO topic_reads (user_id, topic_id, last_read_number) SELECT $1, $2, LEAST($3::int, COALESCE((SELECT last FROM shown), 1)) FROM held
         ON CONFLICT (user_id, topic_id) DO UPDATE
           SET last_read_number = GREATEST(topic_reads.last_read_number, EXCLUDED.last_read_number),
               updated_at = CASE WHEN EXCLUDED.last_read_number >= LEAST(topic_reads.last_read_number, (SELECT last FROM shown)) THEN now() ELSE topic_reads.updated_at END
         RETURNING COALESCE((SELECT last_read_number FROM was), 0) AS was, last_read_number AS now`,
        [viewer.id, topic.id, input.postNumber, topic.viewerRank >= LEVEL_RANK.MODERATE],
      );
      if (!read) throw AppError.unauthenticated();
      if (read.now > read.was) await this.reads.advanced(tx, { userId: viewer.id!, topicId: topic.id, from: read.was, to: read.now });
    });
    this.loaders.forget(viewer, { topicId: topic.id });
    return topic;
  }
}

/**
 * A topic kind a board takes (createTopic, and a new topic's draft): a forum board's topics
 * are discussions or questions, another kind of board's are its own kind. None given is fine.
 */
export function checkTopicKind(behaviour: BoardKindBehaviour | undefined, kind: TopicKind | null | undefined): void {
  if (!kind) return;
  if (behaviour && kind !== behaviour.topicKind) throw AppError.badField('kind', `must be ${behaviour.topicKind} on this board`);
  if (!behaviour && kind !== TopicKind.DISCUSSION && kind !== TopicKind.QUESTION) throw AppError.badField('kind', 'must be DISCUSSION or QUESTION on a forum board');
}
