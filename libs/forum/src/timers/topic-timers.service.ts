import { Injectable, Logger } from '@nestjs/common';
import DataLoader from 'dataloader';
import { LEVEL_RANK } from '../../../access/src/access-level';
import { AccessService } from '../../../access/src/access.service';
import { AuditLog } from '../../../core/src/audit/audit-log';
import { Tx, UnitOfWork } from '../../../core/src/database/unit-of-work';
import { AppError } from '../../../core/src/errors';
import { Viewer } from '../../../core/src/graphql/viewer';
import { newId } from '../../../core/src/ids';
import { SessionsService } from '../../../identity/src/sessions/sessions.service';
import { ContentState } from '../forum.enums';
import { ForumLoaders } from '../forum.loaders';
import { PostsRepository } from '../posts/posts.repository';
import { PostsService } from '../posts/posts.service';
import { TopicModel } from '../topics/topic.model';
import { holdTopic } from '../topics/topics.repository';
import { TopicsService } from '../topics/topics.service';
import { RemoveTopicTimerInput, SetTopicTimerInput, TIMER_MAX_HOURS } from './dto/topic-timer.inputs';
import { PUBLIC_TIMER_KINDS, TopicTimerKind, TopicTimerModel, TopicTimerRow, toTopicTimerModel } from './topic-timer.model';
import { DueTimerRow, ListedTimerRow, TimerTarget, TimersVersion, TopicTimersRepository } from './topic-timers.repository';
import { checkTimeAhead } from '../../../core/src/time-ahead';
import { fullVersion, newsVersion } from '../../../core/src/news-versions';
import { BoardKind, BoardModel } from '../../../spaces/src/boards/board.model';
import { SpacesLoader } from '../../../spaces/src/spaces.loader';
import { ANOTHER_SPACE } from '../move-log';
import { announceTimers, timersNews } from './timers-changed';

/** How often the worker looks for due timers: a timer fires within this of its time. */
export const TIMER_CHECK_MS = 30_000;

/** Most timers one run of the job handles; the rest wait for the next run. */
const TIMERS_PER_RUN = 500;

/**
 * A timer as a live push shows it: as Topic.timers does, `setById` for moderators only, and
 * `boardId` (PUBLISH_TO_BOARD) for moderators who may read that board.
 */
export interface LiveTimer {
  kind: TopicTimerKind;
  at: Date;
  afterHours: number | null;
  setById: string | null;
  boardId: string | null;
}

/** A topic's timers as one read has them: those that stand (`standingOf`), and their versions (undefined for a topic gone). */
interface TopicTimersRead {
  rows: ListedTimerRow[];
  version: TimersVersion | undefined;
}

/**
 * What a live push of a topic's timers tells one reader: the list Topic.timers answers them, and
 * whether they are shown every timer (a moderator of its space) or the status timers alone,
 * which decides the version they are sent (`TimersVersion`).
 */
export interface LiveTimers {
  timers: LiveTimer[];
  moderator: boolean;
}

/** Of a topic's timers, those its reader is told of: all to its moderators, the status timers' kinds (PUBLIC_TIMER_KINDS) to everyone else. */
function shownTo<T extends { kind: TopicTimerKind }>(rows: T[], moderator: boolean): T[] {
  return rows.filter((r) => moderator || PUBLIC_TIMER_KINDS.includes(r.kind));
}

/** What a due timer came to. */
type Outcome = 'fired' | 'dropped' | 'postponed';

/**
 * Topic timers: a moderator plans a change to a topic (close, reopen, close once quiet,
 * unpin, delete, publish to another board) and the worker makes it when it is due, through
 * the very path the manual change takes (TopicsService.writeStatus, PostsService.writeDelete,
 * moveTopic's TopicsService.writeMove), as the moderator who set it, so its event, log entry,
 * live push and index update are the manual change's.
 */
@Injectable()
export class TopicTimersService {
  private readonly log = new Logger('TopicTimers');

  constructor(
    private readonly repo: TopicTimersRepository,
    private readonly topics: TopicsService,
    private readonly posts: PostsService,
    private readonly uow: UnitOfWork,
    private readonly audit: AuditLog,
    private readonly sessions: SessionsService,
    private readonly loaders: ForumLoaders,
    private readonly postRows: PostsRepository,
    private readonly access: AccessService,
    private readonly spaces: SpacesLoader,
  ) {}

  /**
   * The topic's timers this viewer is told of: CLOSE, OPEN and CLOSE_AFTER_LAST_POST to
   * everyone who reads the topic (as Discourse says "This topic will close in 3 days"), UNPIN
   * and DELETE to those who may moderate it only; of those, the ones that still stand
   * (`standingOf`). A list's topics cost two statements together, shared with `versionOf`.
   */
  async ofTopic(viewer: Viewer, topic: TopicModel): Promise<TopicTimerModel[]> {
    const moderator = topic.viewerRank >= LEVEL_RANK.MODERATE;
    const { rows } = await this.read(viewer, topic.id);
    return shownTo(rows, moderator).map((r) => Object.assign(toTopicTimerModel(r), { shownToModerator: moderator }));
  }

  /**
   * The version the viewer's `topic:timers` pushes carry (`LiveGateway.pushTimers`), read with
   * the list `ofTopic` answers them (one read for both): the timers' full version to those who
   * may moderate the topic, the news one (status timers' changes alone) to the others, so it
   * tells them nothing of the timers they are not shown. 0 for a topic gone since it was read.
   */
  async versionOf(viewer: Viewer, topic: TopicModel): Promise<number> {
    const { version } = await this.read(viewer, topic.id);
    if (!version) return 0;
    return topic.viewerRank >= LEVEL_RANK.MODERATE ? fullVersion(version) : newsVersion(version.news);
  }

  /** A topic's standing timers and their versions, through the viewer's loader: a list's topics together (`readMany`). */
  private read(viewer: Viewer, topicId: string): Promise<TopicTimersRead> {
    const loader = viewer.memoize('loader:topicTimers', () => new DataLoader<string, TopicTimersRead>(async (ids) => {
      const read = await this.readMany(ids);
      return ids.map((id) => read.get(id) ?? { rows: [], version: undefined });
    }));
    return loader.load(topicId);
  }

  /**
   * The one read of topics' timers, for a page's loader (`read`) and a live push (`forReaders`)
   * alike: their timers with their versions (`byTopicIds`), then those that still stand
   * (`standingOf`), two statements whatever the number of topics (one without timers). Whose
   * reader they are plays no part: each caller shows the list to its viewers (`shownTo`). A topic
   * that is gone is not in the map.
   */
  private async readMany(topicIds: readonly string[]): Promise<Map<string, TopicTimersRead>> {
    const read = await this.repo.byTopicIds(topicIds);
    const standing = new Set(await this.standingOf([...read.values()].flatMap((r) => r.rows)));
    return new Map([...read].map(([id, { rows, version }]) => [id, { rows: rows.filter((r) => standing.has(r)), version }]));
  }

  /**
   * What a live push of a topic's timers (`topic:timers`) tells each reader in its room after
   * timers of `kinds` changed (set, removed, fired, dropped or postponed, or their topic moved,
   * deleted or restored: `announceTimers`), by user id (anonymous readers under null): the list
   * Topic.timers answers them (`ofTopic`'s rules), or null for whoever may not read the topic,
   * and for whoever is shown none of `kinds` (a change to an UNPIN or DELETE timer is the
   * moderators' business: a push to others would tell them of it). The same statements whatever
   * the number of readers: their access, the topic, the timers with their versions (one
   * statement: `version`, that of the list read) and their setters' access (and the public
   * spaces, for anonymous readers).
   */
  async forReaders(
    topicId: string,
    userIds: readonly string[],
    anonymous: boolean,
    kinds: readonly TopicTimerKind[],
  ): Promise<{ told: Map<string | null, LiveTimers | null>; version: TimersVersion | undefined }> {
    const readers: Array<[string | null, Viewer]> = [...(await this.sessions.viewersForUsers(userIds))];
    if (anonymous) readers.push([null, Viewer.anonymous()]);
    const told = new Map<string | null, LiveTimers | null>();
    if (readers.length === 0) return { told, version: undefined };
    const topics = await this.loaders.topicForEach(readers.map(([, viewer]) => viewer), topicId);
    const read = topics.some((topic) => topic) ? (await this.readMany([topicId])).get(topicId) : undefined;
    if (!read) return { told, version: undefined };
    const { rows } = read;
    await Promise.all(readers.map(async ([userId, viewer], i) => {
      const moderator = !!topics[i] && topics[i].viewerRank >= LEVEL_RANK.MODERATE;
      const shown = !!topics[i] && (moderator || timersNews(kinds));
      if (!shown) {
        told.set(userId, null);
        return;
      }
      const listed = shownTo(rows, moderator).map(async (r): Promise<LiveTimer> => ({
        kind: r.kind,
        at: r.due_at,
        afterHours: r.after_hours,
        setById: moderator ? r.set_by : null,
        boardId: moderator ? await this.boardShown(viewer, r) : null,
      }));
      told.set(userId, { timers: await Promise.all(listed), moderator });
    }));
    return { told, version: read.version };
  }

  /**
   * The board a PUBLISH_TO_BOARD timer publishes to, for a moderator of its topic who may read
   * it (TopicTimer.board answers them the same); null otherwise. Their access is loaded with
   * them: this reads nothing.
   */
  private async boardShown(viewer: Viewer, timer: Pick<TopicTimerRow, 'board_id'> & TimerTarget): Promise<string | null> {
    if (!timer.board_id || !timer.board_space_id) return null;
    return (await this.access.rankOn(viewer, timer.board_space_id)) >= LEVEL_RANK.READ ? timer.board_id : null;
  }

  /**
   * Of these timers as read, those that would be carried out as things stand (`standing`):
   * those whose setter may still moderate the topic (not suspended, banned or deleted, and
   * MODERATE in its space) on a topic not deleted, and, for PUBLISH_TO_BOARD, may still publish
   * it to its board (`publishable`), as `handle` finds when one comes due. The others are dropped
   * then, and read as gone until then. One statement for any number of topics: their setters'
   * access (none without timers).
   */
  private async standingOf(rows: ListedTimerRow[]): Promise<ListedTimerRow[]> {
    const setters = await this.sessions.viewersForUsers([...new Set(rows.map((r) => r.set_by))]);
    const stands = await Promise.all(rows.map(async (r) => {
      const setter = setters.get(r.set_by);
      if (!setter || r.topic_state === ContentState.DELETED || (await this.access.rankOn(setter, r.space_id)) < LEVEL_RANK.MODERATE) return false;
      return r.kind !== TopicTimerKind.PUBLISH_TO_BOARD || this.publishable(setter, r, r.topic_board_id);
    }));
    return rows.filter((_, i) => stands[i]);
  }

  /**
   * Whether `setter` may still publish a topic now in board `fromBoardId` to the timer's board:
   * a forum board other than the topic's, in a space they moderate (moveTopic's rule for the
   * board it reaches; the topic's own space is checked with the rest).
   */
  private async publishable(setter: Viewer, timer: Pick<TopicTimerRow, 'board_id'> & TimerTarget, fromBoardId: string): Promise<boolean> {
    if (!timer.board_id || !timer.board_space_id || timer.board_kind !== BoardKind.FORUM || timer.board_id === fromBoardId) return false;
    return (await this.access.rankOn(setter, timer.board_space_id)) >= LEVEL_RANK.MODERATE;
  }

  /**
   * Sets the topic's timer of this kind, replacing the one in its slot (the topic's status timer
   * for CLOSE, OPEN and CLOSE_AFTER_LAST_POST, whichever of them it is); those who may
   * setTopicStatus on it only, and for PUBLISH_TO_BOARD a board they may publish it to (`target`).
   */
  async set(viewer: Viewer, input: SetTopicTimerInput): Promise<TopicModel> {
    if (!viewer.signedIn) throw AppError.unauthenticated();
    const { topic } = await this.topics.moderated(viewer, input.topicId);
    const at = this.dueAt(input);
    const board = await this.target(viewer, topic, input);
    await this.uow.run(async (tx) => {
      await this.repo.lockForSetting(tx, topic.id);
      const before = await this.repo.lockReplaced(tx, topic.id, input.kind);
      const after = await this.repo.upsert(tx, {
        id: newId(),
        topicId: topic.id,
        kind: input.kind,
        at,
        afterHours: at ? null : input.afterHours!,
        setBy: viewer.id!,
        boardId: board?.id ?? null,
      });
      await this.logChange(tx, viewer.id, 'topic.timer_set', topic, before, after);
      await announceTimers(tx, this.repo, topic.id, [...new Set([after.kind, ...(before ? [before.kind] : [])])]);
    });
    this.forget(viewer, topic.id);
    return topic;
  }

  /** Removes the topic's timer of this kind; none there changes and logs nothing. */
  async remove(viewer: Viewer, input: RemoveTopicTimerInput): Promise<TopicModel> {
    if (!viewer.signedIn) throw AppError.unauthenticated();
    const { topic } = await this.topics.moderated(viewer, input.topicId);
    await this.uow.run(async (tx) => {
      const before = await this.repo.lockOne(tx, topic.id, input.kind);
      if (!before) return;
      await this.repo.remove(tx, before.id);
      await this.logChange(tx, viewer.id, 'topic.timer_remove', topic, before, undefined);
      await announceTimers(tx, this.repo, topic.id, [before.kind]);
    });
    this.forget(viewer, topic.id);
    return topic;
  }

  /**
   * The board a PUBLISH_TO_BOARD timer asked for publishes the topic to (null for the other
   * kinds, which take none): a forum board, not the topic's own, in a space the setter
   * moderates, as moveTopic asks of the board a topic reaches (the topic's own space is
   * `moderated`'s check); for forum topics only (ideas and articles have their own ways to
   * reach readers). NOT_FOUND for a board the setter may not read; BAD_USER_INPUT otherwise.
   * The topic's board and the target are read together (one statement).
   */
  private async target(viewer: Viewer, topic: TopicModel, input: SetTopicTimerInput): Promise<BoardModel | null> {
    if (input.kind !== TopicTimerKind.PUBLISH_TO_BOARD) {
      if (input.boardId) throw AppError.badField('boardId', 'only a PUBLISH_TO_BOARD timer takes a board');
      return null;
    }
    if (!input.boardId) throw AppError.badField('boardId', 'is required for PUBLISH_TO_BOARD');
    const [from, board] = await Promise.all([this.spaces.board(viewer, topic.boardId), this.spaces.board(viewer, input.boardId)]);
    if (from?.kind !== BoardKind.FORUM) throw AppError.badField('kind', 'only forum topics are published to a board: ideas and articles reach their readers their own way');
    if (!board) throw AppError.notFound('Board not found');
    if (board.id === topic.boardId) throw AppError.badField('boardId', 'the topic is already in this board');
    if (board.kind !== BoardKind.FORUM) throw AppError.badField('boardId', 'must be a forum board');
    if ((await this.access.rankOn(viewer, board.spaceId)) < LEVEL_RANK.MODERATE) throw AppError.badField('boardId', 'must be in a space you moderate');
    return board;
  }

  /**
   * When a timer asked for fires (null: CLOSE_AFTER_LAST_POST, which counts from the topic's
   * last activity). BAD_USER_INPUT for a time past, or more than TIMER_MAX_HOURS ahead.
   */
  private dueAt(input: SetTopicTimerInput): Date | null {
    const quiet = input.kind === TopicTimerKind.CLOSE_AFTER_LAST_POST;
    if (quiet && input.at) throw AppError.badField('at', 'CLOSE_AFTER_LAST_POST counts from the last post: give afterHours');
    if (quiet || !input.at) {
      if (!input.afterHours) throw AppError.badField('afterHours', quiet ? 'is required for CLOSE_AFTER_LAST_POST' : 'give at or afterHours');
      return quiet ? null : new Date(Date.now() + input.afterHours * 3600_000);
    }
    if (input.afterHours) throw AppError.badField('afterHours', 'give at or afterHours, not both');
    checkTimeAhead(input.at, 'at', TIMER_MAX_HOURS / 24);
    return input.at;
  }

  /**
   * A timer set, replaced or removed, in the topic's space's log. A board a timer publishes to
   * is named there when it is in the same space; one in another space is `{ anotherSpace: true }`
   * (the space's moderators may not read it: appendMove's rule).
   */
  private logChange(
    tx: Tx,
    actorId: string | null,
    action: string,
    topic: TopicModel,
    before: (TopicTimerRow & TimerTarget) | undefined,
    after: (TopicTimerRow & TimerTarget) | undefined,
  ): Promise<void> {
    const board = (r: TopicTimerRow & TimerTarget) => r.board_id && { board: r.board_space_id === topic.spaceId ? { boardId: r.board_id } : ANOTHER_SPACE };
    const shown = (r: (TopicTimerRow & TimerTarget) | undefined) => r && { kind: r.kind, at: r.due_at, afterHours: r.after_hours, setBy: r.set_by, ...board(r) };
    return this.audit.append(tx, { actorId, action, targetType: 'topic', targetId: topic.id, spaceId: topic.spaceId, before: shown(before) ?? null, after: shown(after) ?? null });
  }

  private forget(viewer: Viewer, topicId: string): void {
    viewer.peek<DataLoader<string, TopicTimersRead>>('loader:topicTimers')?.clear(topicId);
  }

  /**
   * Handles every timer due by `now` (the worker's job, every TIMER_CHECK_MS; tests pass a
   * later `now` rather than wait), each in a transaction of its own that claims it
   * (SKIP LOCKED: two workers never handle one twice) and fires it, drops it or, for
   * CLOSE_AFTER_LAST_POST after a new post, postpones it. A timer that fails is left for the
   * next run.
   */
  async fireDue(now = new Date()): Promise<Record<Outcome, number>> {
    const counts: Record<Outcome, number> = { fired: 0, dropped: 0, postponed: 0 };
    // Timers this run is done with but that stay (failed, or postponed to a time it may already have reached).
    const skip: string[] = [];
    for (let i = 0; i < TIMERS_PER_RUN; i++) {
      let claimed: DueTimerRow | undefined;
      try {
        const outcome = await this.uow.run(async (tx) => {
          claimed = await this.repo.claimDue(tx, now, skip);
          return claimed ? this.handle(tx, claimed, now) : null;
        });
        if (!outcome) break;
        counts[outcome]++;
        if (outcome === 'postponed') skip.push(claimed!.id);
      } catch (err) {
        if (!claimed) throw err;
        this.log.warn({ err, timerId: claimed.id, topicId: claimed.topic_id }, 'a topic timer failed; the next run tries it again');
        skip.push(claimed.id);
      }
    }
    return counts;
  }

  private async handle(tx: Tx, timer: DueTimerRow, now: Date): Promise<Outcome> {
    // A post since it was stored: a quiet-close timer waits for the quiet its hours ask for.
    if (timer.due_at > now) {
      await this.repo.postpone(tx, timer.id);
      // Its room shows the new time (the manual close waits for the quiet too).
      await announceTimers(tx, this.repo, timer.topic_id, [timer.kind]);
      return 'postponed';
    }
    await this.repo.remove(tx, timer.id);
    const outcome = await this.fireOrDrop(tx, timer);
    // Fired or dropped, it is gone: its room stops showing it. (A DELETE or PUBLISH_TO_BOARD
    // timer that fired on a topic with other timers told of those already: announceTimers adds
    // its kind to that event, once per transaction.)
    await announceTimers(tx, this.repo, timer.topic_id, [timer.kind]);
    return outcome;
  }

  /** The removed timer's change, made as its setter if it still applies; else dropped. */
  private async fireOrDrop(tx: Tx, timer: DueTimerRow): Promise<Outcome> {
    // Done as its setter, if they may still moderate the topic where it is now (a moderator
    // demoted, suspended or gone, or a topic moved out of their spaces, drops it), with the
    // manual change's own check. Both are read in the claiming transaction: a firing holds one
    // connection, and sees the setter and the topic as its own writes will. The topic held first
    // (holdTopic, FOR KEY SHARE, which waits for a move under way): a timer read before a move to
    // another space committed was judged in the space the topic left, then made its change there.
    await holdTopic(tx, timer.topic_id);
    const setter = await this.sessions.viewerForUser(timer.set_by, {}, tx);
    const moderated = setter && (await this.topics.moderated(setter, timer.topic_id, tx).catch((err: unknown) => {
      if (err instanceof AppError) return null;
      throw err;
    }));
    if (!moderated || moderated.topic.state === ContentState.DELETED) return 'dropped';
    const { topic } = moderated;
    // A publication also needs the board it reaches as the setter may publish there now (the
    // board read with the claim); one the topic is already in is done.
    if (timer.kind === TopicTimerKind.PUBLISH_TO_BOARD && !(await this.publishable(setter, timer, topic.boardId))) return 'dropped';
    const reason = `topic timer: ${timer.kind}`;
    const change = await this.apply(tx, setter, timer, topic, reason);
    return change ? 'fired' : 'dropped';
  }

  /** The timer's change, as the manual one writes it; null when the topic is already so. */
  private async apply(tx: Tx, setter: Viewer, timer: DueTimerRow, topic: TopicModel, reason: string): Promise<unknown> {
    const actorId = setter.id;
    switch (timer.kind) {
      case TopicTimerKind.CLOSE:
      case TopicTimerKind.CLOSE_AFTER_LAST_POST:
        return this.topics.writeStatus(tx, actorId, topic, { closed: true }, reason);
      case TopicTimerKind.OPEN:
        return this.topics.writeStatus(tx, actorId, topic, { closed: false }, reason);
      case TopicTimerKind.UNPIN:
        return this.topics.writeStatus(tx, actorId, topic, { pinned: false }, reason);
      case TopicTimerKind.DELETE: {
        const [row] = await this.postRows.firstPosts([topic.id], tx);
        const first = row && (await this.loaders.postFromRow(setter, row));
        return first && this.posts.writeDelete(tx, actorId, first, topic, reason);
      }
      case TopicTimerKind.PUBLISH_TO_BOARD:
        return this.topics.writePublication(tx, actorId, topic, { id: timer.board_id!, spaceId: timer.board_space_id! }, reason);
    }
  }
}
