import { Inject, Logger, OnModuleDestroy, OnModuleInit, Optional, UseFilters } from '@nestjs/common';
import DataLoader from 'dataloader';
import { ConnectedSocket, MessageBody, OnGatewayConnection, OnGatewayInit, SubscribeMessage, WebSocketGateway, WebSocketServer } from '@nestjs/websockets';
import { AppConfig } from '../../core/src/config/config';
import { newId } from '../../core/src/ids';
import { CoalescedRuns } from '../../core/src/coalesced-runs';
import { settingsToken } from '../../core/src/settings';
import { settleWithin } from '../../core/src/settle-within';
import { ChannelListener, PgListener } from '../../core/src/database/pg-listener';
import { AccessChangeType, changesAccess, isAccessChangeType, isLiveEventType, LiveEventType, publishedLate, RELAYED_LATE } from '../../core/src/database/live-relay';
import { clientAddress, networkOf } from '../../core/src/http/client-address';
import { RateLimiter, RateRule } from '../../core/src/rate-limit';
import { LiveErrorFilter } from './live-error.filter';
import { fullVersion, newsVersion } from '../../core/src/news-versions';
import { PushedVersions, PushVersion } from './pushed-versions';
import type { Server, Socket } from 'socket.io';
import { asSeenSql, fromIgnoredSql, NOTIFY_CHANNEL, NotificationVisibility } from '../../notifications/src/notifications';
import { DataSource } from 'typeorm';
import { LEVEL_RANK } from '../../access/src/access-level';
import { TOPIC_PAGE_CURSOR, validPostNumberCursor } from '../../forum/src/cursors';
import { AccessService, listedToAuthorAndModerators, listedToAuthorAndModeratorsSql, postAuthorSeesSql } from '../../access/src/access.service';
import { DomainEvent, EventBus } from '../../core/src/events';
import { Viewer } from '../../core/src/graphql/viewer';
import { encodeCursor } from '../../core/src/graphql/pagination';
import { isUuid } from '../../core/src/ids';
import { ForumLoaders } from '../../forum/src/forum.loaders';
import { ContentState } from '../../forum/src/forum.enums';
import { MOVED_PLACEHOLDER, PostModel, placeholderText, postPlaceholder } from '../../forum/src/posts/post.model';
import { PostsService, topicRefuses } from '../../forum/src/posts/posts.service';
import { BoardKinds } from '../../forum/src/board-kinds';
import { EVERY_READER, lastShownPostSql } from '../../forum/src/posts/last-shown-post';
import { PollsService } from '../../forum/src/polls/polls.service';
import { PollEvent } from '../../forum/src/polls/polls.repository';
import { globalPin, slowMode, TopicRow } from '../../forum/src/topics/topic.model';
import { TOPIC_PUBLISHED } from '../../forum/src/topics/topics.service';
import { REVIEW_ITEMS_MOVED } from '../../forum/src/moved-review-items';
import { TopicTimerKind } from '../../forum/src/timers/topic-timer.model';
import { TopicTimersService } from '../../forum/src/timers/topic-timers.service';
import { TIMERS_CHANGED } from '../../forum/src/timers/timers-changed';
import { SessionsService } from '../../identity/src/sessions/sessions.service';
import { UsersRepository } from '../../identity/src/users/users.repository';
import { SpacesLoader } from '../../spaces/src/spaces.loader';
import { BoardKind } from '../../spaces/src/boards/board.model';

/** Most rooms one connection may be in at once (its own user room not counted). */
export const MAX_ROOMS_PER_SOCKET = 50;
/** A member's typing events reach others at most this often, whatever their connections and nodes. */
const TYPING_EVERY_MS = 1000;
/** The typing limit across API nodes: one ping a second per member (`RateLimiter.throttle`, a row of `rate_tokens`). */
export const TYPING_PACE: RateRule = { bucket: 'live:typing', limit: 1, windowSeconds: TYPING_EVERY_MS / 1000 };
/**
 * Joins, leaves and syncs one member (or, without a session, one client network) may ask for in
 * a window, whatever their connections and nodes: each costs a session look-up and access checks,
 * and a join or leave tells the whole room (presence). Enough for a reconnecting client to rejoin
 * and sync its 50 rooms at once.
 */
export const ROOM_OPS_PER_WINDOW = 120;
const ROOM_OPS_WINDOW_MS = 10_000;
/** The room-op limit across API nodes, per member (`RateLimiter.throttle`, a row of `rate_tokens`; see `spendRoomOp`). */
export const ROOM_OPS_PACE: RateRule = { bucket: 'live:room-ops', limit: ROOM_OPS_PER_WINDOW, windowSeconds: ROOM_OPS_WINDOW_MS / 1000 };
/** The same limit for connections without a session, per client network (`networkOf`), as per-address limits count them. */
export const ANONYMOUS_ROOM_OPS_PACE: RateRule = { ...ROOM_OPS_PACE, bucket: 'live:room-ops:ip' };

/**
 * The clock this node's own pace windows (typing's `lastTyping`, the room ops' `roomOps`, and their sweep) count by: real
 * time in production, where nothing provides LIVE_PACE_SETTINGS. A test app gives its own (test/support/test-app.ts, as
 * WATCHED_WORDS_SETTINGS is given: CoreOptions.settings), so that a test stops the clock and its ops fall in one window
 * however slowly a loaded machine sends them: by real time, 125 room ops that took over 10 s opened a second window.
 */
export interface LivePaceSettings {
  now(): number;
}
export const LIVE_PACE_SETTINGS = settingsToken<LivePaceSettings>('LivePaceSettings');
const REAL_TIME: LivePaceSettings = Object.freeze({ now: () => Date.now() });

type Ack = { ok: true; [k: string]: unknown } | { ok: false; code: string };

/** Server-side events between API nodes: an access re-check started, and done (see `fence`). */
const FENCE_START = 'parvis:fence';
export const FENCE_DONE = 'parvis:fence-done';
/** Server-side event asking every other API node to re-check its own connections (see `recheckEverywhere`). */
const RECHECK = 'parvis:recheck';
/** Server-side event asking every other API node to send a topic room's presence to its own connections (see `presence`). */
export const PRESENCE_ASK = 'parvis:presence';
/**
 * Server-side event of a node shutting down, naming the topic rooms its readers left: every
 * other node sends their presence to its own connections, and says when it has (see `handOffPresence`).
 */
export const PRESENCE_GONE = 'parvis:presence-gone';

/**
 * Server-side event carrying another node's sends to sockets of this node, each only if still in
 * the room (see `toStillIn`): `{ room, event, groups: [{ payload, ids }] }`.
 */
export const STILL_IN_SENDS = 'parvis:still-in';

/** The socket events a push may send to some of a room's sockets only (`toStillIn`), as other nodes may ask for them. */
const STILL_IN_EVENTS: ReadonlySet<string> = new Set(['typing', 'presence', 'poll:updated', 'topic:timers']);

/** Sends of one payload to sockets by id (`toStillIn`). */
interface StillInGroup {
  payload: unknown;
  ids: string[];
}

const isStillInSends = (m: unknown): m is { room: string; event: string; groups: StillInGroup[] } => {
  const r = m as { room?: unknown; event?: unknown; groups?: unknown } | null;
  return (
    !!r && typeof r === 'object' && typeof r.room === 'string' && typeof r.event === 'string' && STILL_IN_EVENTS.has(r.event) && Array.isArray(r.groups) &&
    r.groups.every((g: { ids?: unknown } | null) => !!g && Array.isArray(g.ids) && g.ids.every((id) => typeof id === 'string'))
  );
};

/** Whether an id from another node names a topic room. */
const isTopicRoom = (room: unknown): room is string => typeof room === 'string' && room.startsWith('topic:') && isUuid(room.slice('topic:'.length));

/**
 * An access re-check, as nodes ask it of each other; `restore`: a user's access grew (a sanction
 * ended, a role given back), and their connections go back to the rooms they were sent away from,
 * if they may read them now (`restoreUser`); `restore-space`: a space's access changed, and
 * connections go back to the rooms of that space they were sent away from (`restoreSpace`);
 * `restore-topic`: a topic came back in sight (its first post unhidden, restored or approved, the
 * topic moved), and connections go back to its room (`restoreTopic`).
 */
interface Recheck {
  kind: 'space' | 'topic' | 'user' | 'revoked' | 'restore' | 'restore-space' | 'restore-topic';
  id: string;
}

const isRecheck = (r: unknown): r is Recheck =>
  !!r && typeof r === 'object' && ['space', 'topic', 'user', 'revoked', 'restore', 'restore-space', 'restore-topic'].includes((r as Recheck).kind) && typeof (r as Recheck).id === 'string';

type Payload = Record<string, unknown>;

/**
 * The id `key` of an event's payload, as the gateway reads every id it acts on. Missing, it
 * throws (the fan-out fails, logged with the event's type) rather than re-check, push or send
 * presence to nobody under the id "undefined", in silence.
 */
function payloadId(p: Payload, key: string): string {
  const id = p[key];
  if (typeof id !== 'string' || id === '') throw new Error(`the event's payload has no ${key}`);
  return id;
}

/**
 * The topic's version an event's payload carries (`topicVersion`: a first post's removal's, a
 * merge's, an unmerge's), as the gateway orders a board's pushes by it: none (undefined) from an
 * event an older release committed without it, which orders nothing (`PushedVersions`).
 */
function payloadTopicVersion(p: Payload): PushVersion {
  return typeof p.topicVersion === 'number' ? p.topicVersion : undefined;
}

const spaceRecheck = (p: Payload): Recheck => ({ kind: 'space', id: payloadId(p, 'spaceId') });
const userRecheck = (p: Payload): Recheck => ({ kind: 'user', id: payloadId(p, 'userId') });
const revokedRecheck = (p: Payload): Recheck => ({ kind: 'revoked', id: payloadId(p, 'userId') });
const topicRecheck = (p: Payload): Recheck[] => [{ kind: 'topic', id: payloadId(p, 'topicId') }];

/** The access changes that ask for one re-check and nothing else (see `onEvent`). */
const RECHECKS = {
  'space.access_changed': spaceRecheck,
  'user.role_changed': userRecheck,
  'user.sessions_revoked': revokedRecheck,
} as const;

/** A topic's first post back in sight (unhidden, restored, approved): its room's readers may read it again. */
const firstPostBack = (p: Payload): Recheck | null => (p.number === 1 ? { kind: 'restore-topic', id: payloadId(p, 'topicId') } : null);

/**
 * The restore an event asks for (`restoreEverywhere`), once its re-checks, if it has any, are
 * over (and its pushes, if it has any): access it may have given, or given back, puts
 * connections back in the rooms they were sent away from (`SocketData.lost`) and may read now.
 * Unfenced: nobody loses access. Null: nothing to put back (a reply's state changed).
 */
const RESTORES = {
  // A grant given (back), a space made PUBLIC again.
  'space.access_changed': (p: Payload): Recheck => ({ kind: 'restore-space', id: payloadId(p, 'spaceId') }),
  // Members come into a group that holds a grant on the space (`announceAccessGain`).
  'space.access_gained': (p: Payload): Recheck => ({ kind: 'restore-space', id: payloadId(p, 'spaceId') }),
  // A role given (back): a moderator's review rooms.
  'user.role_changed': (p: Payload): Recheck => ({ kind: 'restore', id: payloadId(p, 'userId') }),
  // A sanction lifted or run out.
  'user.sanction_lifted': (p: Payload): Recheck => ({ kind: 'restore', id: payloadId(p, 'userId') }),
  // Moved (back) to where its readers read it.
  'topic.moved': (p: Payload): Recheck => ({ kind: 'restore-topic', id: payloadId(p, 'topicId') }),
  'post.approved': firstPostBack,
  'post.restored': firstPostBack,
  'post.unhidden': firstPostBack,
} as const satisfies { readonly [T in LiveEventType]?: (p: Payload) => Recheck | null };

/**
 * The re-checks of an access change the live relay delivered too late to be news (`recheckLate`),
 * by type: every type `changesAccess` may be true of has its entry, or this does not compile, so
 * an access change added there is not published late to re-check nothing.
 */
const LATE_RECHECKS: { readonly [T in AccessChangeType]: (p: Payload) => Recheck[] } = {
  'space.access_changed': (p) => [spaceRecheck(p)],
  'user.role_changed': (p) => [userRecheck(p)],
  'user.sessions_revoked': (p) => [revokedRecheck(p)],
  // Not the ban's disconnect of all of its user's connections: those whose session no longer opens close.
  'user.sanctioned': (p) => [revokedRecheck(p), userRecheck(p)],
  // A topic moved, or hidden, deleted or held through its first post.
  'topic.moved': topicRecheck,
  'post.deleted': topicRecheck,
  'post.hidden': topicRecheck,
  'post.rejected': topicRecheck,
  'post.pending': topicRecheck,
};

/**
 * How long the gateway's shutdown waits at most for its fan-outs under way: their statements
 * need the pool, which closes once every module is down. Longer than the Redis adapter's
 * requests wait for other nodes (5 s), so a presence run waiting on a node that does not
 * answer ends first.
 */
const SHUTDOWN_WAIT_MS = 6_000;

/**
 * How long after asking the other nodes for a topic room's presence a node shutting down asks
 * them again (`handOffPresence`): leavings just before the shutdown, whose runs on the other
 * nodes may read the room through this node as it goes.
 */
const PRESENCE_ASKED_MS = 15_000;

/**
 * The most topic rooms' presence a node runs at once, however many rooms are asked for at once:
 * another node shutting down (PRESENCE_GONE), a member who hid or showed their profile in every
 * room their connections are in (`presenceAround`), a closed tab leaving its rooms, or several of
 * these together. Each run reads the room through every node and takes a pool connection for
 * its transaction. A node handing over thousands of rooms would otherwise have each other node
 * run them all at once, as every node restarts in turn. Runs of a few milliseconds still answer
 * a few thousand rooms within the sender's wait.
 */
export const PRESENCE_RUNS_AT_ONCE = 4;

/**
 * How many presence runs a node with a pool of `poolSize` connections (DB_POOL_SIZE) runs at
 * once: half its connections, PRESENCE_RUNS_AT_ONCE at most (four of the ten by default), so
 * requests keep the other half. Until 2026-12-06 it was four on any pool, all of a pool of four
 * or fewer; and it bounded one event's runs, not the node's: a closed tab's rooms (fifty, say)
 * all ran at once, and two events at once ran twice the bound. Every run now takes one of the
 * node's `presenceSlots` first. On a pool of one (accepted for an API that runs no outbox worker)
 * the one run takes turns with requests for its connection, in the order asked: a run holds it
 * for its own transaction only and asks the pool for no other meanwhile, so it is slower there,
 * never stuck, and a request that waits for a connection longer than DB_CONNECTION_TIMEOUT_MS
 * fails rather than waits.
 */
export function presenceRunsAtOnce(poolSize: number): number {
  return Math.max(1, Math.min(PRESENCE_RUNS_AT_ONCE, Math.floor(poolSize / 2)));
}

/**
 * Runs the works given to it, as many at once as it was made with and the others in the order
 * given: a node's presence runs (`presenceHere`), whichever event asked for them.
 */
class Slots {
  private readonly waiting: Array<() => void> = [];
  constructor(private free: number) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await work();
    } finally {
      // Handed straight to the next in line, or back.
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    }
  }
}

/** How often connections whose session expired are looked for (see closeExpired). */
const SESSION_SWEEP_MS = 60_000;

/** A post as pushed to rooms, with its author and topic (`pushPosts`). */
interface PushedPostRow {
  id: string;
  topic_id: string;
  space_id: string;
  number: number;
  state: string;
  /** What a deleted post was before: PENDING, it is listed to its author and the space's moderators alone (`listedViewSql`). */
  deleted_from: string | null;
  body_html: string;
  created_at: Date;
  edited_at: Date | null;
  reply_to_post_id: string | null;
  reaction_counts: Record<string, number>;
  wiki: boolean;
  /** The post's version (its reactions among what it follows), and its topic's. */
  version: number;
  topic_version: number;
  /** The version its removal left it with (`PostRow.removed_version`): a placeholder's (`placeholderPush`). */
  removed_version: number | null;
  author_id: string;
  handle: string;
  display_name: string;
  topic_state: string;
  board_id: string;
  title: string;
  kind: string;
  /**
   * The last post every reader of the topic is shown (`lastShownPostSql`, `EVERY_READER`), which
   * `topic:activity` names: not the topic's last number, which a reply still held after it has
   * taken. Read only by a push whose posts arrive (`pushedPostsSql`'s `arriving`), for a reply that may
   * tell its board; absent or null otherwise.
   */
  last_post_number?: number | null;
  last_activity_at: Date;
  /**
   * Whether its author may read it where it is now (`authorSeesSql`), read for a post that goes to
   * its author's own room alone (held, or deleted while held); null for others.
   */
  author_sees: boolean | null;
  /**
   * Whether its board's lists show the topic (`BoardKinds.listedAnywhereSql`: a merged idea they
   * do not), read for a first post, whose arrival announces it there; null for a reply.
   */
  listed: boolean | null;
}

/**
 * SQL true when a post's author (`p`, in topic `t`) may open it where it is now
 * (`postAuthorSeesSql`, as `AccessService.postView` judges them). A held post, or one deleted
 * while held, goes to its author's room (every socket of theirs) only then, and its removal only
 * while they may read the topic it names (`AUTHORS_SEE_TOPIC`, the same rule): moved into a space
 * they may not read, or into a topic hidden from them, it would name where it went (`POST_MOVED`
 * does not either).
 */
const authorSeesSql = () => postAuthorSeesSql('p', 't');

/** A topic's settings as `topic:updated` carries them (`LiveGateway.sendTopic`). */
type TopicSettingsRow = Pick<TopicRow, 'id' | 'board_id' | 'title' | 'state' | 'version' | (typeof TOPIC_SETTINGS)[number]>;

/** The columns of `TopicSettingsRow` besides the topic's id, board, title, state and version. */
const TOPIC_SETTINGS = ['pinned', 'closed', 'locked', 'accepted_post_id', 'slow_mode_seconds', 'slow_mode_until', 'pinned_globally_at', 'pinned_globally_until'] as const;

/** An idea as `idea:updated` carries it (`LiveGateway.sendIdea`), read with its topic (`IDEA_COLUMNS`). */
interface IdeaRow {
  idea_status: string;
  idea_vote_count: number;
  /** The idea's own version (its votes and status), not its topic's. */
  idea_version: number;
  /** The idea it is merged into, while that one is visible (`IdeaDetails.mergedInto` is null for a reader of a hidden one). */
  idea_merged_into: string | null;
}

/** The columns of `IdeaRow`, of the idea `i` of topic `t`. */
const IDEA_COLUMNS = `i.status AS idea_status, i.vote_count AS idea_vote_count, i.version AS idea_version,
              (SELECT mt.id FROM topics mt WHERE mt.id = i.merged_into AND mt.state = 'VISIBLE') AS idea_merged_into`;

/** An idea's topic, as `idea:updated` needs it: the rooms it goes to, and its version. */
type IdeaTopicRow = Pick<PushedPostRow, 'topic_id' | 'board_id' | 'topic_state' | 'topic_version'>;

/** The payload of `idea:updated` (README): `version` is the idea's, `topicVersion` its topic's. */
interface IdeaUpdated {
  topicId: string;
  status: string;
  voteCount: number;
  mergedIntoId: string | null;
  version: number;
  topicVersion: number;
}

/**
 * What became of an idea's `idea:updated` (`LiveGateway.sendIdea`): sent to a room; refused as
 * older than one this node sent of the idea (a caller may read it again); or sent nowhere (nobody
 * to tell: its topic not visible, or its board, to which alone it went, left since the read).
 */
type IdeaSent = 'sent' | 'older' | 'nowhere';

/** An idea read with its topic's first post (`IDEA_COLUMNS`): every column null without an idea row. */
type IdeaColumns = IdeaRow | { [K in keyof IdeaRow]: null };

/** Whether a row read with its idea (`IdeaColumns`) found one. */
const withIdea = <R extends Partial<IdeaColumns>>(row: R): row is R & IdeaRow => row.idea_version != null;

/**
 * An arriving topic's first post as `pushedPostsSql` reads it (`firstPostOf`: a move's or an
 * unmerge's arrival, `LiveGateway.readArrival`), with its topic's settings, and its idea when it
 * is read with it (`ideaFirstPostOf`: an idea moved onto an idea board someone may hear it on,
 * or unmerged).
 */
type ArrivingTopicRow = PushedPostRow & Pick<TopicRow, (typeof TOPIC_SETTINGS)[number]> & Partial<IdeaColumns>;

/** A moved topic's settings as read with its first post, for its `topic:updated` (`LiveGateway.sendTopic`). */
function settingsOf(row: ArrivingTopicRow): TopicSettingsRow {
  const settings = Object.fromEntries(TOPIC_SETTINGS.map((c) => [c, row[c]])) as Pick<TopicRow, (typeof TOPIC_SETTINGS)[number]>;
  return { ...settings, id: row.topic_id, board_id: row.board_id, title: row.title, state: row.topic_state as TopicRow['state'], version: row.topic_version };
}

/**
 * What the board a topic moved off hears of it (README, `topic:moved`), from the topic as read
 * after the move (`LiveGateway.readArrival`): nothing while it is on that board again (moved back
 * before this move's event was handled, a relayed one handled late: its readers would drop a
 * topic it lists); `topic:moved` while everyone in the room may see it, only if that board was
 * shown it (`wasVisible`, the move's: a topic moved while hidden or held, approved or unhidden on
 * its new board since, was never listed there; none from an older release's move: sent as
 * before); hidden (or held) on its new board since the move, whose removal named that board
 * alone, `topic:removed` (its id and version, not where it went), unless the board's lists leave
 * it out (`listed`, read with its first post: a merged idea, as `listedNow` judges a removal
 * without a move).
 */
function movedOffEvent(now: Pick<PushedPostRow, 'board_id' | 'topic_state' | 'listed'>, fromBoardId: string, wasVisible: unknown): 'topic:moved' | 'topic:removed' | undefined {
  if (now.board_id === fromBoardId) return undefined;
  if (now.topic_state === 'VISIBLE') return wasVisible !== false ? 'topic:moved' : undefined;
  return wasVisible === true && now.listed !== false ? 'topic:removed' : undefined;
}

/**
 * The posts a push names (`$1`), with their authors and topics, in topic and number order
 * (`pushPosts`). `arriving`: a push whose replies arrive (`topic:activity`) also reads, for each
 * topic of a reply that may tell its board (visible, in a visible topic), the last post every
 * reader is shown (`last_post_number`): once per topic, not once per post. MATERIALIZED: inlined
 * under the outer join, the read was evaluated where the plan scans topics, once for every topic
 * that scan met (99 in a test's database), not once for each of the push's. `posts`: which posts,
 * by default those `$1` names; a topic's arrival names its topic's first post, and reads what else
 * its push sends (`whole`): a move's or an unmerge's (`firstPostOf`, `ArrivingTopicRow`) the
 * topic's settings, a move's `topic:updated`'s (`TOPIC_SETTINGS`), and its idea too (`ideaFirstPostOf`,
 * `IDEA_COLUMNS`) for its `idea:updated`: a move's only onto an idea board someone may hear it on,
 * an unmerge's always (with the settings it does not send: one read for both, which until
 * 2026-12-07 were two near-copies). Until 2026-12-07 every move's read joined the idea and its
 * merge target, a plain topic's included, and sent nothing of it.
 */
const pushedPostsSql = (arriving: boolean, listed: string, posts = 'p.id = ANY($1::uuid[])', whole: { settings?: true; idea?: true } = {}) => `${arriving ? `WITH ends AS MATERIALIZED (
       SELECT t.id AS topic_id, ${lastShownPostSql('t.id', EVERY_READER)} AS last_post_number FROM topics t
        WHERE t.state = 'VISIBLE' AND t.id IN (SELECT a.topic_id FROM posts a WHERE a.id = ANY($1::uuid[]) AND a.number > 1 AND a.state = 'VISIBLE'))
     ` : ''}SELECT p.id, p.topic_id, p.space_id, p.number, p.state, p.deleted_from, p.body_html, p.created_at, p.edited_at, p.reply_to_post_id, p.reaction_counts, p.wiki, p.version, p.removed_version,
            u.id AS author_id, u.handle, u.display_name, t.state AS topic_state, t.board_id, t.title, t.kind, t.last_activity_at,
            t.version AS topic_version${arriving ? ', ends.last_post_number' : ''}${whole.settings ? TOPIC_SETTINGS.map((c) => `, t.${c}`).join('') : ''}${whole.idea ? `, ${IDEA_COLUMNS}` : ''},
            CASE WHEN ${listedToAuthorAndModeratorsSql('p')} THEN ${authorSeesSql()} END AS author_sees,
            CASE WHEN p.number = 1 THEN ${listed} END AS listed
       FROM posts p JOIN users u ON u.id = p.author_id JOIN topics t ON t.id = p.topic_id${arriving ? ' LEFT JOIN ends ON ends.topic_id = p.topic_id' : ''}${whole.idea ? ' LEFT JOIN ideas i ON i.topic_id = t.id' : ''}
      WHERE ${posts} ORDER BY p.topic_id, p.number`;
/**
 * Which of these authors (`$1`) may read a topic (`$2`) as it is now (`postAuthorSeesSql`): who,
 * of the authors of held posts removed from it (rejected, deleted, moved away), hears the removal
 * that names it. Judged on the topic named, not on where the post is by the time it is pushed.
 */
const AUTHORS_SEE_TOPIC = `SELECT p.author_id FROM unnest($1::uuid[]) AS p(author_id), topics t WHERE t.id = $2 AND ${authorSeesSql()}`;

/**
 * The keys of `LiveGateway.pushed`, each push's in one place: every kind of push is ordered under
 * its own (one key's versions are one thing's, compared with each other alone).
 */
const pushKey = {
  /**
   * A post's pushes to its topic's room (post:created, post:updated, post:removed): one read before
   * the post's removal and sent after it is not sent.
   */
  postInRoom: (postId: string, topicId: string) => `post:${postId}@topic:${topicId}`,
  /** A post's reactions (`reaction:updated`). */
  reactions: (postId: string) => `reactions:${postId}`,
  /** An idea's status and votes (`idea:updated`). */
  idea: (topicId: string) => `idea:${topicId}`,
  /** A poll's pushes to one audience: those who see its counts, or the others (`poll:updated`). */
  poll: (audience: 'counted' | 'bare', pollId: string) => `poll:${audience}:${pollId}`,
  /** A topic's timers to one audience: its moderators, or its other readers (`topic:timers`). */
  timers: (audience: 'all' | 'news', topicId: string) => `timers:${audience}:${topicId}`,
  /** A topic's settings to one room, its own or its board's (`topic:updated`). */
  updated: (topicId: string, room: string) => `updated:${topicId}@${room}`,
  /** A topic's replies on its board (`topic:activity`). */
  activity: (topicId: string) => `activity:${topicId}`,
  /** The newest leaving of a topic from a board this node heard of (`LiveGateway.noteLeftBoard`, which the news pass: `boardNewsPasses`). */
  leftBoard: (topicId: string, boardId: string) => `topic:${topicId}@board:${boardId}`,
  /** A topic's arrivals on and leavings of a board's list (`topic:created`, `topic:removed`, `topic:moved`: `LiveGateway.admitListChange`). */
  listed: (topicId: string, boardId: string) => `listed:${topicId}@board:${boardId}`,
};

/**
 * Which posts a push names arrive where they are (`pushRow`): all of them (a reply written,
 * approved…), only a topic's first post (a split's new topic; a first post unhidden or restored,
 * back on its board's list, while a reply restored or unhidden is no news there), or none.
 */
type Arrival = 'all' | 'first' | 'none';

/**
 * A hidden or deleted post pushed as its placeholder (`pushPosts` of a move's posts): what
 * `Topic.posts` shows a reader of it, from the same builder (`postPlaceholder`), with its author;
 * its version the removal's (`removed_version`, the move's arrival's), as the page's, which orders
 * it against the post's other pushes (README, *Order*) and tells nothing of an edit of the post
 * since the move (the post's own `version`, read after it, would).
 */
function placeholderPush(row: PushedPostRow): { topicId: string; post: ReturnType<typeof postPlaceholder> & { author: object } } {
  return {
    topicId: row.topic_id,
    post: {
      ...postPlaceholder({ ...row, state: row.state as ContentState }),
      author: { id: row.author_id, handle: row.handle, displayName: row.display_name },
    },
  };
}

interface SocketData {
  /** The client's address behind the trusted proxies (TRUST_PROXY), as HTTP requests see it. */
  address: string;
  token?: string;
  userId?: string;
  handle?: string;
  /** Joins still being checked: they hold their place under MAX_ROOMS_PER_SOCKET. */
  joining?: number;
  /**
   * The rooms the connection was sent away from on lost access (`access:lost`) and has not left
   * or joined since, oldest first, MAX_ROOMS_PER_SOCKET at most: those it goes back to once access
   * grows again (`RESTORES`: a sanction of its user ended or a role given back, `restoreUser`; a
   * space's access, `restoreSpace`; a topic back in sight, `restoreTopic`), if it may read them
   * then. An array, since other nodes read a socket's data (`fetchSockets`).
   */
  lost?: string[];
}

/** Records that the socket was sent away from `room` (`SocketData.lost`). */
function rememberLost(data: SocketData, room: string): void {
  const lost = (data.lost ?? []).filter((r) => r !== room);
  lost.push(room);
  data.lost = lost.slice(-MAX_ROOMS_PER_SOCKET);
}

/** The socket left `room` or is back in it: nothing to restore there (`SocketData.lost`). */
function forgetLost(data: SocketData, room: string): void {
  if (data.lost?.includes(room)) data.lost = data.lost.filter((r) => r !== room);
}

/** Room ops counted in a window that began at `since`. */
interface RoomOps {
  since: number;
  count: number;
}

/** The window `ops` counts one more room op in: a new one once its window has passed. */
function withRoomOp(ops: RoomOps | undefined, now: number): RoomOps {
  const window = !ops || now - ops.since >= ROOM_OPS_WINDOW_MS ? { since: now, count: 0 } : ops;
  window.count++;
  return window;
}

const SLOW_DOWN: Ack = { ok: false, code: 'RATE_LIMITED' };
/** A join once the node is shutting down (`handOffPresence`): the client joins again once reconnected to another node. */
const GOING_AWAY: Ack = { ok: false, code: 'UNAVAILABLE' };

/** A notification as it is pushed to its recipient's sockets. */
interface NotificationRow {
  id: string;
  kind: string;
  data: unknown;
  topic_id: string | null;
  /** Where it leads: its post's topic now (`asSeenSql`). */
  shown_topic_id: string | null;
  post_id: string | null;
  actor_id: string | null;
  created_at: Date;
}

/**
 * A post as `topic:sync` sends it, with its version as `Post.version` answers it (a placeholder's
 * removal's): the sync is an answer read at one moment, and a client orders it against the
 * pushes it hears by that version (README, *Order*), as it does a page's. Without one (until
 * 2026-12-07), a push read before the sync and heard after it (another API process's edit),
 * or one read after it and heard before its answer, could not be told from the newer state.
 */
function livePost(node: PostModel): Record<string, unknown> {
  return {
    version: node.version,
    id: node.id,
    number: node.number,
    state: node.state,
    bodyHtml: node.bodyHtml,
    placeholder: node.placeholder,
    createdAt: node.createdAt,
    author: node.preloaded ? { id: node.preloaded.author.id, handle: node.preloaded.author.handle, displayName: node.preloaded.author.displayName } : null,
  };
}

/** Absent, or a mark as `topic:sync` hands them out (an ISO time in UTC). */
function validSyncMark(since: unknown): since is string | null {
  if (since === null) return true;
  if (typeof since !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/.test(since)) return false;
  // PostgreSQL has no year 0, which JavaScript reads.
  if (since.startsWith('0000')) return false;
  // A real instant: JavaScript reads 2026-02-30 as 2 March, which PostgreSQL refuses; the milliseconds must read back the same.
  const at = new Date(since);
  return !Number.isNaN(at.getTime()) && at.toISOString() === `${since.slice(0, 23)}Z`;
}

/**
 * Live updates over Socket.IO, on the API's own port. Every room join is checked
 * against the access policy with the connection's current session, and events only
 * carry what the room's members may see.
 */
@WebSocketGateway({ path: '/socket.io', maxHttpBufferSize: 16 * 1024, serveClient: false })
@UseFilters(new LiveErrorFilter())
export class LiveGateway implements OnGatewayInit, OnGatewayConnection, OnModuleInit, OnModuleDestroy {
  @WebSocketServer() server!: Server;
  private readonly log = new Logger('LiveGateway');
  private unsubscribe?: () => void;
  private sweep?: NodeJS.Timeout;

  constructor(
    private readonly sessions: SessionsService,
    private readonly forum: ForumLoaders,
    private readonly posts: PostsService,
    private readonly spaces: SpacesLoader,
    private readonly bus: EventBus,
    private readonly ds: DataSource,
    private readonly access: AccessService,
    private readonly config: AppConfig,
    private readonly visibility: NotificationVisibility,
    private readonly polls: PollsService,
    private readonly timers: TopicTimersService,
    private readonly users: UsersRepository,
    /** The node's one LISTEN connection (`CoreModule`). */
    private readonly listener: PgListener,
    private readonly limiter: RateLimiter,
    private readonly kinds: BoardKinds,
    @Optional() @Inject(LIVE_PACE_SETTINGS) private readonly paces: LivePaceSettings = REAL_TIME,
  ) {}

  /** This process's live connections per user (`user:<id>`) or, without a session, per client network (`ip:<address, or IPv6 /64>`). */
  private readonly holders = new Map<string, Set<string>>();

  /**
   * Takes one of the key's connection places, given back when the connection ends (or its
   * transport closes before it was ever connected); false when they are all taken.
   */
  private admit(socket: Socket, key: string, cap: number): boolean {
    // Gone while its token was checked: its transport's close has fired already and would
    // never give the place back. Socket.IO drops such a socket anyway.
    if (socket.conn.readyState !== 'open') return false;
    let held = this.holders.get(key);
    if (!held) this.holders.set(key, (held = new Set()));
    if (held.size >= cap) return false;
    held.add(socket.id);
    const release = () => {
      held.delete(socket.id);
      if (held.size === 0 && this.holders.get(key) === held) this.holders.delete(key);
    };
    socket.once('disconnect', release);
    socket.conn.once('close', release);
    return true;
  }

  afterInit(server: Server): void {
    // Re-checks under way on other nodes (see `fence`).
    server.on(FENCE_START, (id: unknown, ack?: (held: boolean) => void) => {
      this.remoteFenceStarted(id);
      ack?.(true);
    });
    server.on(FENCE_DONE, (id: unknown) => typeof id === 'string' && this.remoteFences.get(id)?.());
    // Another node's push to some of a room's sockets: this node sends to its own, if still in the room.
    server.on(STILL_IN_SENDS, (m: unknown) => {
      if (isStillInSends(m)) for (const g of m.groups) this.toStillInHere(m.room, g.ids, m.event, g.payload);
    });
    // A join or leave on another node: this node's own connections in the room hear of it from this node.
    server.on(PRESENCE_ASK, (room: unknown) => {
      if (isTopicRoom(room)) void this.presenceHere(room);
    });
    // Another node shutting down: its readers left these rooms; it waits for this node's runs.
    server.on(PRESENCE_GONE, (rooms: unknown, ack?: (done: boolean) => void) => {
      if (!Array.isArray(rooms) || this.closing) return ack?.(false);
      // Every room asked for at once: each run waits for one of the node's `presenceSlots`.
      void Promise.all(rooms.filter(isTopicRoom).map((room) => this.presenceHere(room))).then(() => ack?.(true));
    });
    // Another node's access change: this node re-checks its own connections, then says so.
    server.on(RECHECK, (r: unknown, ack?: (done: boolean) => void) => {
      if (!isRecheck(r) || this.closing) return ack?.(false);
      this.track(
        this.recheckHere(r).then(
          () => ack?.(true),
          (err: unknown) => {
            this.log.error({ err, recheck: r }, 'access re-check failed');
            ack?.(false);
          },
        ),
      );
    });
    // The handshake's token is checked, and the connection counted against its user's (or
    // its address's) places, before the connection is accepted.
    server.use((socket, next) => {
      const address = clientAddress(socket.request, this.config.trustProxy);
      (socket.data as SocketData).address = address;
      const token = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
      if (token === undefined || token === null || token === '') {
        if (!this.admit(socket, `ip:${networkOf(address)}`, this.config.LIVE_MAX_ANONYMOUS_PER_IP)) {
          return next(new Error('RATE_LIMITED: too many live connections from this address'));
        }
        return next();
      }
      if (typeof token !== 'string') return next(new Error('UNAUTHENTICATED: auth.token must be a string'));
      this.sessions
        .resolve(token, address)
        .then((viewer) => {
          if (!viewer.user) return next(new Error('UNAUTHENTICATED: invalid, expired or revoked token'));
          if (!this.admit(socket, `user:${viewer.user.id}`, this.config.LIVE_MAX_PER_USER)) {
            return next(new Error('RATE_LIMITED: too many live connections for this user'));
          }
          Object.assign(socket.data as SocketData, { token, userId: viewer.user.id, handle: viewer.user.handle });
          next();
        })
        .catch((err) => {
          this.log.error({ err }, 'socket authentication failed');
          next(new Error('INTERNAL'));
        });
    });
  }

  handleConnection(socket: Socket): void {
    const { userId } = socket.data as SocketData;
    // With the process's pid (every line carries it), which of several API processes holds the connection.
    this.log.debug({ socketId: socket.id }, 'live connection opened');
    if (userId) void socket.join(`user:${userId}`);
    // A closed tab leaves its topics' presence too: the rooms are known while disconnecting,
    // and the socket is out of them by the time `disconnect` fires.
    socket.once('disconnecting', () => {
      const topicRooms = [...socket.rooms].filter((r) => r.startsWith('topic:'));
      if (topicRooms.length) socket.once('disconnect', () => topicRooms.forEach((room) => void this.presence(room)));
    });
  }

  async onModuleInit(): Promise<void> {
    this.unsubscribe = this.bus.subscribe((e) => this.track(this.onEvent(e).catch((err) => this.log.error({ err, type: e.type }, 'live fan-out failed'))));
    // Notifications are written by the outbox worker, possibly in another process: every API
    // node listens and pushes to its own sockets (local emit, so none is sent twice).
    await this.listener.listen(NOTIFY_CHANNEL, this.notifications);
    this.sweep = setInterval(() => this.sweepSessions(), SESSION_SWEEP_MS);
    this.sweep.unref();
  }

  /** How many holds (`holdSessionSweep`) keep the sweep's statement off now. */
  private sweepHolds = 0;

  /**
   * The sweep its timer runs every SESSION_SWEEP_MS: forgets the typing and room-op records whose
   * window has passed, then closes the connections whose session ran out (`closeExpired`, one
   * statement, tracked as a fan-out), unless a hold keeps that statement off. Tests run it
   * through here rather than wait for the timer.
   */
  sweepSessions(): void {
    this.forgetPaces();
    if (this.sweepHolds > 0) return;
    this.track(this.closeExpired().then(() => undefined, (err) => this.log.warn({ err }, 'session sweep failed')));
  }

  /**
   * Keeps the sweep's statement off until the function returned is called (once; holds nest, the
   * sweep runs again when the last is let go). Statement counts (`TestApp.countStatements`) hold
   * it: nothing they measure is its doing. `closeExpired` called directly still runs.
   */
  holdSessionSweep(): () => void {
    this.sweepHolds++;
    let held = true;
    return () => {
      if (held) this.sweepHolds--;
      held = false;
    };
  }

  /** Notifications, as their NOTIFY comes in. */
  private readonly notifications: ChannelListener = {
    message: (payload) => this.track(this.pushNotification(payload).catch((err) => this.log.error({ err }, 'notification push failed'))),
  };

  /**
   * Fan-outs under way: of committed events, of notifications as their NOTIFY comes in, topic
   * rooms' presence runs, a hidden member's typing, other nodes' re-checks and the session sweep.
   */
  private readonly fanOuts = new Set<Promise<void>>();

  /**
   * The newest version of each poll, post's reactions, post in its topic's room (`pushKey.postInRoom`), idea,
   * topic (settings, board activity, its arrival on and leaving of a board: `boardNewsPasses`) and topic's timers this node has pushed (`PushedVersions`, keyed by `pushKey`): an older one, read by a push that ran late, is not
   * sent after it.
   */
  private readonly pushed = new PushedVersions();

  /**
   * `pushedPostsSql`, plain and arriving, and of a topic's first post (`readArrival`), with the
   * board kinds' conditions on what their lists show: made at the first push, once every kind
   * registered (their modules' init).
   */
  private postsRead?: { plain: string; arriving: string; firstPostOf: string; ideaFirstPostOf: string };

  /*
   * A topic's pushes to its board's room, asked of three methods: its news there
   * (`boardNewsPasses`), its leaving of the board (`noteLeftBoard`), and its arrivals on and
   * leavings of the board's list (`admitListChange`). `version` is the topic's as the push read
   * it (an arrival, news) or as its leaving left it (an event's; none from one an older release
   * committed: sent, as before, noting nothing). Every push of a topic to a board's room asks
   * here, so none read before the topic left the board (moved away; its first post hidden,
   * deleted, rejected or held again; a moderator hiding or deleting the topic is that) is sent
   * after it, its title to readers who may no longer read it included.
   *
   * Two keys (`pushKey`). Every leaving notes its version under `leftBoard`, which the news only
   * pass (`PushedVersions.passes`), noting nothing: news noting its own there would drop an
   * arrival read before it (the board would never list the topic). Arrivals and leavings are
   * ordered among themselves under `listed`, which both note: an arrival read before a leaving is
   * not sent after it, nor a removal heard after a newer arrival (the topic back since: an event
   * delivered late or twice). Only leavings note `leftBoard`: had an arrival noted the version it
   * read there (until 2026-12-07 it did), news read before that read and sent after it (a reply's
   * activity read before a title change, the arrival read after both) would be dropped, though of
   * the topic where it is, and the board never told of that reply. A leaving notes `leftBoard`
   * whether or not it is sent: that key only grows, and no push read between a leaving and a newer
   * arrival is of the topic on that board and visible (it was elsewhere, or not visible: every
   * push of it to a board reads it visible first), so none is dropped that should go.
   *
   * By the topic's version, which an arrival reads with the topic and every leaving raises (a
   * first post's change of state raises its topic's too, `PostsService.applyState`, and its
   * event carries it as `topicVersion`; a move's event carries it as its version; an idea's
   * merge, a leaving of the list, and unmerge, an arrival, raise it too, `IdeasService`, their
   * events carrying it as `topicVersion`). Not the first
   * post's: a move does not raise it, and the two are not comparable, though drawn from one
   * sequence (`next_version` takes the sequence's next value when the statement runs, not when it
   * commits, or the row's own plus one, which a row written before the sequence may have above
   * it): only one row's versions are ordered, each raised under that row's lock.
   */

  /**
   * Whether news of a topic (`topic:activity`, `topic:updated`, `idea:updated`) may go to its
   * board's room: not read before the topic's newest leaving of that board this node heard of.
   * Notes nothing.
   */
  private boardNewsPasses(topicId: string, boardId: string, version: PushVersion): boolean {
    return this.pushed.passes(pushKey.leftBoard(topicId, boardId), version);
  }

  /**
   * The topic left the board (`leftBoard`): news read before is not sent there from now on. A
   * leaving without a move notes it with its place on the list (`leaveBoard`); a move notes it
   * alone as soon as it is heard, before the awaits its push makes, and asks `admitListChange`
   * right before it sends.
   */
  private noteLeftBoard(topicId: string, boardId: string, version: PushVersion): void {
    this.pushed.admit(pushKey.leftBoard(topicId, boardId), version);
  }

  /**
   * The topic left the board's list without a move (its first post removed, the idea merged):
   * its leaving noted (`noteLeftBoard`), then ordered with its arrivals there (`admitListChange`),
   * whose answer this is: whether a `topic:removed` of it may go to the board's room.
   */
  private leaveBoard(topicId: string, boardId: string, version: PushVersion): boolean {
    this.noteLeftBoard(topicId, boardId, version);
    return this.admitListChange(topicId, boardId, version);
  }

  /**
   * Whether an arrival on the board's list (`topic:created`) or a leaving of it (`topic:removed`,
   * `topic:moved`) may go to its room: not older than one sent there already (`listed`). Notes it
   * when so.
   */
  private admitListChange(topicId: string, boardId: string, version: PushVersion): boolean {
    return this.pushed.admit(pushKey.listed(topicId, boardId), version);
  }

  private track(work: Promise<void>): void {
    this.fanOuts.add(work);
    void work.finally(() => this.fanOuts.delete(work));
  }

  /**
   * Resolves once no fan-out is under way, those started meanwhile included. Tests count
   * statements between two of these, so a push of an earlier change never lands in a count.
   */
  async settled(): Promise<void> {
    while (this.fanOuts.size) await Promise.allSettled([...this.fanOuts]);
  }

  /** Shutting down: no new fan-out starts (presence, other nodes' re-checks). */
  private closing = false;
  /** Shutting down: this node's readers leaving their topic rooms, as the other nodes hear of it (`handOffPresence`). */
  private handingOff?: Promise<void>;

  /** Shutting down, once (`onModuleDestroy`, or `closeConnections` before it). */
  private destroying?: Promise<void>;

  onModuleDestroy(): Promise<void> {
    return (this.destroying ??= this.destroy());
  }

  /**
   * Apollo's drain (GraphQL's shutdown, before the modules') begins: the gateway starts closing
   * (its readers' presence handed over, `handOffPresence`) and closes this node's connections,
   * which reconnect to another node. The drain waits for every HTTP request under way, for ten
   * seconds at most, and a long-polling connection always has one (its poll, answered at the next
   * ping): with such a reader, the drain took its whole ten seconds, and the process's cleanups
   * ran out of theirs (CLEANUP_DEADLINE_MS) before the gateway's hand-off, the Redis clients'
   * close and the database's cleanup were reached.
   *
   * Each reader is told first (Socket.IO's disconnect packet), then its Engine.IO connection
   * closes. A long-polling one closes at once (discarded): its poll has just carried that
   * packet, and an orderly close would wait for the next poll to carry Engine.IO's close
   * packet, which a client told to go never sends, the connection left closing with its ping
   * and close timers (25 and 30 s) holding the process after the node, since Socket.IO's own
   * close ends no connection already closing. (One between polls has the packet still queued:
   * its next poll finds the connection gone and it reconnects as after any cut.) A WebSocket
   * one closes once its queue is written, as before.
   */
  closeConnections(): void {
    void this.onModuleDestroy();
    if (!this.server) return;
    const conns = [...this.server.sockets.sockets.values()].map((socket) => socket.conn);
    this.server.local.disconnectSockets(false);
    for (const conn of conns) conn.close(conn.transport.name === 'polling');
  }

  private async destroy(): Promise<void> {
    this.closing = true;
    this.unsubscribe?.();
    if (this.sweep) clearInterval(this.sweep);
    // Other nodes' re-checks will not be waited for any more: pushes held behind them go on (and
    // end) now, rather than keeping the process up until the wait runs out.
    for (const release of this.remoteFences.values()) release();
    // Meanwhile, the other nodes' readers learn that this node's readers are gone.
    const handOff = (this.handingOff ??= this.handOffPresence());
    await this.listener.unlisten(NOTIFY_CHANNEL, this.notifications);
    await Promise.all([handOff, this.fanOutsDone()]);
  }

  /** The pool closes once every module is down: the fan-outs under way read first (a while at most). */
  private async fanOutsDone(): Promise<void> {
    if (this.fanOuts.size === 0) return;
    this.log.log({ fanOuts: this.fanOuts.size }, 'waiting for the live pushes under way');
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), SHUTDOWN_WAIT_MS)));
    const done = await Promise.race([this.settled().then(() => true), late]);
    clearTimeout(timer);
    if (!done) this.log.warn({ fanOuts: this.fanOuts.size }, 'shutting down with live pushes still under way');
  }

  /**
   * When this node last asked the other nodes for a topic room's presence (`presence`), for
   * `handOffPresence`; entries older than PRESENCE_ASKED_MS are swept with the sessions.
   */
  private readonly presenceAsked = new Map<string, number>();

  /**
   * A node shutting down takes its connections out of their topic rooms, then asks every other
   * node (PRESENCE_GONE) to send those rooms' presence to its own readers, and waits for their
   * answers (`askWithin`) while it still answers their reads of the room: their runs read the
   * room through this node too (`fetchSockets`), and would otherwise list its readers until the
   * next join or leave, or wait for an answer that never comes once it has stopped listening
   * (and send nothing). The rooms its connections left just before (each leaving asked the other
   * nodes already, whose runs may read through this node as it goes) are asked again. Never throws.
   */
  private async handOffPresence(): Promise<void> {
    if (!this.config.manyNodes || !this.server) return;
    const now = Date.now();
    const rooms = new Set([...this.presenceAsked].filter(([, at]) => now - at < PRESENCE_ASKED_MS).map(([room]) => room));
    for (const room of this.server.sockets.adapter.rooms.keys()) if (room.startsWith('topic:')) rooms.add(room);
    if (rooms.size === 0) return;
    // Connections still open leave now; they are closed next (`closeConnections`), or with the
    // server, and reconnect to another node.
    this.server.local.socketsLeave([...rooms]);
    try {
      await this.askWithin(PRESENCE_GONE, [...rooms]);
    } catch (err) {
      this.log.warn({ err, rooms: rooms.size }, 'some API nodes did not send presence again before this node went');
    }
  }

  /**
   * Closes this node's connections whose session has run out: revocations close them at once
   * (`user.sessions_revoked`), but an expiry has no event. Runs every SESSION_SWEEP_MS, one
   * statement for all of them.
   */
  async closeExpired(): Promise<number> {
    if (!this.server) return 0;
    return this.closeWithoutSession([...this.server.sockets.sockets.values()], 'expired');
  }

  /**
   * Notifications to push, read in one statement per burst: a reply to a topic with a
   * thousand watchers arrives as a thousand NOTIFY messages in a few reads. Each is checked
   * again as it goes out, as the list checks it (`NotificationVisibility`): a post hidden, or
   * access lost, since the notification was written is not pushed. It is read as the list
   * reads it too: a batch of reactions without the reactors its recipient ignores
   * (`asSeenSql`), and not at all when they ignore them all (`fromIgnoredSql`). The recipients'
   * viewers come in one statement, and each post or topic once, for the whole burst.
   */
  private readonly notificationRows = new DataLoader<{ id: string; userId: string }, NotificationRow | null, string>(
    async (keys) => {
      const seen = asSeenSql();
      const rows: Array<NotificationRow & { user_id: string }> = await this.ds.query(
        `SELECT id, user_id, kind, ${seen.data} AS data, topic_id, ${seen.topicId} AS shown_topic_id, post_id, ${seen.actorId} AS actor_id, created_at FROM notifications n
          WHERE id = ANY($1::uuid[]) AND NOT ${fromIgnoredSql()}`,
        [keys.map((k) => k.id)],
      );
      const viewers = await this.sessions.viewersForUsers([...new Set(rows.map((r) => r.user_id))]);
      const visible = await this.visibility.check(rows.map((r) => ({ viewer: viewers.get(r.user_id) ?? null, postId: r.post_id, topicId: r.topic_id, kind: r.kind, data: r.data })));
      const byId = new Map(rows.filter((_, i) => visible[i]).map((r) => [r.id, r]));
      return keys.map((k) => {
        const row = byId.get(k.id);
        return row && row.user_id === k.userId ? row : null;
      });
    },
    { cache: false, cacheKeyFn: (k) => k.id },
  );

  private async pushNotification(payload: string | undefined): Promise<void> {
    if (!payload || !this.server) return;
    const { userId, id, read } = JSON.parse(payload) as { userId: string; id?: string; read?: string[] | null };
    // Most recipients have no connection on this node: nothing to read for them.
    if (!this.server.sockets.adapter.rooms.has(`user:${userId}`)) return;
    // Marked read (in another tab, or by reading the topic): every tab's badge follows.
    if (read !== undefined) {
      this.server.local.to(`user:${userId}`).emit('notifications:read', { ids: read });
      return;
    }
    if (!id) return;
    const n = await this.notificationRows.load({ id, userId });
    if (!n) return;
    this.server.local.to(`user:${userId}`).emit('notification', {
      id: n.id, kind: n.kind, data: n.data, topicId: n.shown_topic_id, postId: n.post_id, actorId: n.actor_id, createdAt: n.created_at,
    });
  }

  /** After a sign-out or a revocation, the user's connections on this node whose session is no longer valid are closed. */
  private async closeRevoked(userId: string): Promise<void> {
    await this.closeWithoutSession(await this.server.local.in(`user:${userId}`).fetchSockets(), 'signed out or revoked');
  }

  /**
   * An access change's re-check, on every API node: this node re-checks its own connections
   * while every other node re-checks its own (RECHECK), and the fence holds pushes, here and
   * on the other nodes, until all have answered, or `recheckWaitMs`. Each node looks only at
   * its own sockets, so a node that does not answer (frozen, going down) delays the others
   * at most that long and keeps nobody from being sent away elsewhere.
   */
  private recheckEverywhere(r: Recheck, first?: () => Promise<void>): Promise<void> {
    return this.fence(async () => {
      // (What the change's rooms hear before the re-check, inside its fence: `first`.) The re-check
      // runs whatever `first` does: a read of it that fails (a first post's removal reading whether
      // its board listed the topic) still sends away those who lost access, its error told after.
      // (Until 2026-12-07 such a failure skipped the re-check, and readers who could no longer open
      // the topic stayed in its room, hearing its reactions, presence and typing.)
      try {
        if (first) await first();
      } finally {
        await Promise.all([this.recheckHere(r), this.askNodes(r)]);
      }
    });
  }

  /**
   * A restore (`RESTORES`), on every API node: this node puts its own connections back while every
   * other node puts back its own (RECHECK). Not fenced: nobody loses access.
   */
  private async restoreEverywhere(r: Recheck | null): Promise<void> {
    if (r) await Promise.all([this.recheckHere(r), this.askNodes(r)]);
  }

  private async askNodes(r: Recheck): Promise<void> {
    if (!this.config.manyNodes || !this.server) return;
    try {
      await this.askWithin(RECHECK, r);
    } catch (err) {
      this.log.warn({ err, recheck: r }, 'some API nodes did not re-check their connections in time');
    }
  }

  /** A re-check of this node's own connections. */
  private recheckHere(r: Recheck): Promise<void> {
    switch (r.kind) {
      case 'space':
        return this.recheckSpace(r.id);
      case 'topic':
        return this.recheckTopicRoom(r.id);
      case 'user':
        return this.recheckUser(r.id);
      case 'revoked':
        return this.closeRevoked(r.id);
      case 'restore':
        return this.restoreUser(r.id);
      case 'restore-space':
        return this.restoreSpace(r.id);
      case 'restore-topic':
        return this.restoreTopic(r.id);
    }
  }

  /** Closes those of these connections whose session no longer opens (one statement for all), telling them why. */
  private async closeWithoutSession(sockets: Array<{ data: unknown; emit: Socket['emit']; disconnect: (close?: boolean) => unknown }>, reason: string): Promise<number> {
    const signedIn = sockets.filter((s) => (s.data as SocketData).token);
    if (signedIn.length === 0) return 0;
    const live = await this.sessions.liveTokens(signedIn.map((s) => (s.data as SocketData).token!));
    let closed = 0;
    for (const socket of signedIn) {
      if (live.has((socket.data as SocketData).token!)) continue;
      socket.emit('session:revoked', { reason });
      socket.disconnect(true);
      closed++;
    }
    return closed;
  }

  /** The connection's viewer now (a revoked session no longer counts). */
  private async viewerOf(socket: Socket): Promise<Viewer> {
    const { token, address } = socket.data as SocketData;
    if (!token) return Viewer.anonymous(address);
    const viewer = await this.sessions.resolve(token, address);
    if (!viewer.user) {
      socket.emit('session:revoked', { reason: 'signed out or revoked' });
      socket.disconnect(true);
    }
    return viewer;
  }

  private roomCount(socket: Socket): number {
    return contentRooms(socket).length;
  }

  private async leave(socket: Pick<Socket, 'leave' | 'rooms'>, room: string): Promise<void> {
    // Leaving a room one is not in changes nothing, and tells its members nothing.
    if (!socket.rooms.has(room)) return;
    await socket.leave(room);
    if (room.startsWith('topic:')) void this.presence(room);
  }

  /** A leave the client asked for: a room it was sent away from is no longer one to put it back in. */
  private leaveAsked(socket: Socket, room: string): Promise<void> {
    forgetLost(socket.data as SocketData, room);
    return this.leave(socket, room);
  }

  private async join(socket: Socket, room: string, allowed: () => Promise<boolean>): Promise<Ack> {
    if (socket.rooms.has(room)) return { ok: true };
    if (this.closing) return GOING_AWAY;
    const data = socket.data as SocketData;
    // Parallel joins each hold a place while they are checked, so together they cannot pass the limit.
    if (this.roomCount(socket) + (data.joining ?? 0) >= MAX_ROOMS_PER_SOCKET) return { ok: false, code: 'RATE_LIMITED' };
    data.joining = (data.joining ?? 0) + 1;
    let allowedFirst: boolean;
    try {
      allowedFirst = await allowed();
      // Checked while the node began to close: its hand-off of presence took every connection
      // out of its topic rooms, and one put back now would stay listed on the other nodes.
      if (this.closing) return GOING_AWAY;
      // In the room now (or refused): it counts as a room from here on, not as a join.
      if (allowedFirst) await socket.join(room);
    } finally {
      data.joining--;
    }
    if (!allowedFirst) return { ok: false, code: 'NOT_FOUND' };
    // An access change that landed during the check re-checked the room before this socket was
    // in it: checked once more now that it is, so no such change is missed.
    if (!(await allowed())) {
      await socket.leave(room);
      return { ok: false, code: 'NOT_FOUND' };
    }
    // Taken out again by the hand-off meanwhile.
    if (this.closing) return GOING_AWAY;
    // Sent away meanwhile by a re-check that read access as it is now, while the check above
    // read it as it was: not in the room, and the room stays one to put back (`SocketData.lost`).
    if (!socket.rooms.has(room)) return { ok: false, code: 'NOT_FOUND' };
    forgetLost(data, room);
    if (room.startsWith('topic:')) void this.presence(room);
    return { ok: true };
  }

  @SubscribeMessage('topic:join')
  async topicJoin(@ConnectedSocket() socket: Socket, @MessageBody() body: unknown): Promise<Ack> {
    const topicId = idOf(body, 'topicId');
    if (!topicId) return { ok: false, code: 'BAD_USER_INPUT' };
    if (!(await this.spendRoomOp(socket))) return SLOW_DOWN;
    return this.join(socket, `topic:${topicId}`, async () => !!(await this.forum.topic(await this.viewerOf(socket), topicId)));
  }

  @SubscribeMessage('topic:leave')
  async topicLeave(@ConnectedSocket() socket: Socket, @MessageBody() body: unknown): Promise<Ack> {
    const topicId = idOf(body, 'topicId');
    if (!topicId) return { ok: false, code: 'BAD_USER_INPUT' };
    if (!(await this.spendRoomOp(socket))) return SLOW_DOWN;
    await this.leaveAsked(socket, `topic:${topicId}`);
    return { ok: true };
  }

  @SubscribeMessage('board:join')
  async boardJoin(@ConnectedSocket() socket: Socket, @MessageBody() body: unknown): Promise<Ack> {
    const boardId = idOf(body, 'boardId');
    if (!boardId) return { ok: false, code: 'BAD_USER_INPUT' };
    if (!(await this.spendRoomOp(socket))) return SLOW_DOWN;
    return this.join(socket, `board:${boardId}`, async () => !!(await this.spaces.board(await this.viewerOf(socket), boardId)));
  }

  /** A space's review queue, for its moderators: `review:updated` and held posts arrive here. */
  @SubscribeMessage('review:join')
  async reviewJoin(@ConnectedSocket() socket: Socket, @MessageBody() body: unknown): Promise<Ack> {
    const queue = reviewQueueOf(body);
    if (!queue) return { ok: false, code: 'BAD_USER_INPUT' };
    if (!(await this.spendRoomOp(socket))) return SLOW_DOWN;
    const { room, spaceId } = queue;
    return this.join(socket, room, async () => {
      const viewer = await this.viewerOf(socket);
      // Without a space: the site-wide queue (reports on users, ban proposals), for global moderators.
      return spaceId ? (await this.access.rankOn(viewer, spaceId)) >= LEVEL_RANK.MODERATE : this.access.moderatesSiteWide(viewer);
    });
  }

  /** Leaves a space's review room (`{ spaceId }`), or the site-wide one (`{}`). */
  @SubscribeMessage('review:leave')
  async reviewLeave(@ConnectedSocket() socket: Socket, @MessageBody() body: unknown): Promise<Ack> {
    const queue = reviewQueueOf(body);
    if (!queue) return { ok: false, code: 'BAD_USER_INPUT' };
    if (!(await this.spendRoomOp(socket))) return SLOW_DOWN;
    await this.leaveAsked(socket, queue.room);
    return { ok: true };
  }

  @SubscribeMessage('board:leave')
  async boardLeave(@ConnectedSocket() socket: Socket, @MessageBody() body: unknown): Promise<Ack> {
    const boardId = idOf(body, 'boardId');
    if (!boardId) return { ok: false, code: 'BAD_USER_INPUT' };
    if (!(await this.spendRoomOp(socket))) return SLOW_DOWN;
    await this.leaveAsked(socket, `board:${boardId}`);
    return { ok: true };
  }

  /** Who is writing a reply: signed-in members of the room who may reply there, at most once a second. */
  @SubscribeMessage('typing')
  async typing(@ConnectedSocket() socket: Socket, @MessageBody() body: unknown): Promise<Ack> {
    const topicId = idOf(body, 'topicId');
    const data = socket.data as SocketData;
    if (!topicId) return { ok: false, code: 'BAD_USER_INPUT' };
    if (!data.userId) return { ok: false, code: 'UNAUTHENTICATED' };
    if (!socket.rooms.has(`topic:${topicId}`)) return { ok: false, code: 'NOT_FOUND' };
    if (!(await this.mayType(data.userId))) return { ok: false, code: 'RATE_LIMITED' };
    // Who may not reply (a READ grant, a silence, a closed or locked topic) is not writing one.
    const viewer = await this.viewerOf(socket);
    const topic = await this.forum.topic(viewer, topicId);
    const rank = topic ? await this.access.rankOn(viewer, topic.spaceId) : 0;
    if (!topic || rank < LEVEL_RANK.PARTICIPATE || topicRefuses(topic, rank, 'reply')) return { ok: false, code: 'FORBIDDEN' };
    const typing = { topicId, user: { id: data.userId, handle: data.handle }, expiresInMs: 5000 };
    const room = `topic:${topicId}`;
    if (!(await this.users.presenceFacts([data.userId])).get(data.userId)?.hidden) {
      socket.to(room).emit('typing', typing);
      return { ok: true };
    }
    // A member who hides their profile is seen writing only by themself (their other tabs),
    // moderators and admins, as their presence is (see `presence`). Best effort, as presence is;
    // a fan-out (`settled`), as presence runs are: it reads after this answer.
    this.track(this.typingToThoseWhoSee(socket.id, room, data.userId, typing).catch((err: unknown) => this.log.warn({ err, room }, 'typing not sent')));
    return { ok: true };
  }

  /** When each member's last typing ping was let through on this node (`mayType`); swept with the sessions. */
  private readonly lastTyping = new Map<string, number>();

  /**
   * Whether the member may send a typing ping now: at most one a second per member, not per
   * connection, so tabs and connections (on any node) do not multiply it. This node's own record
   * refuses first, with no statement, so a flood through one node costs nothing; what it lets
   * through (one a second per member and node) is counted across nodes by one statement
   * (`TYPING_PACE`). A ping refused here is not counted.
   */
  private async mayType(userId: string): Promise<boolean> {
    const now = this.paces.now();
    const last = this.lastTyping.get(userId);
    if (last !== undefined && now - last < TYPING_EVERY_MS) return false;
    this.lastTyping.set(userId, now);
    return this.limiter.admits([[TYPING_PACE, userId]]);
  }

  /** Forgets the typing and room-op records whose window has passed (the session sweep's). */
  private forgetPaces(): void {
    const paced = this.paces.now();
    for (const [userId, at] of this.lastTyping) if (paced - at >= TYPING_EVERY_MS) this.lastTyping.delete(userId);
    for (const [key, ops] of this.roomOps) if (paced - ops.since >= ROOM_OPS_WINDOW_MS) this.roomOps.delete(key);
    const now = Date.now();
    for (const [room, at] of this.presenceAsked) if (now - at >= PRESENCE_ASKED_MS) this.presenceAsked.delete(room);
  }

  /**
   * Room ops in their window on this node (`spendRoomOp`), per member (`user:<id>`) or, without a
   * session, per client network (`ip:<address, or IPv6 /64>`), as `holders`; swept with the sessions.
   */
  private readonly roomOps = new Map<string, RoomOps>();

  /**
   * Counts one join, leave or sync; false when the budget for the window is spent. A member's
   * budget is theirs, not their connection's, so tabs and connections (on any node) do not
   * multiply it, as typing's (`mayType`): this node's own window refuses first, with no
   * statement, and what it lets through is counted across nodes by one statement
   * (`ROOM_OPS_PACE`). Without a session the budget is the client network's (its address behind
   * the trusted proxies, an IPv6 one's /64: `networkOf`, as HTTP's per-address limits and the
   * anonymous connection cap count it), counted the same way (`ANONYMOUS_ROOM_OPS_PACE`): per
   * connection, a client that opened the LIVE_MAX_ANONYMOUS_PER_IP connections a node allows it,
   * on every node, had as many budgets.
   */
  private async spendRoomOp(socket: Socket): Promise<boolean> {
    const { userId, address } = socket.data as SocketData;
    const [rule, key] = userId ? [ROOM_OPS_PACE, userId] : [ANONYMOUS_ROOM_OPS_PACE, networkOf(address)];
    const local = `${userId ? 'user' : 'ip'}:${key}`;
    const ops = withRoomOp(this.roomOps.get(local), this.paces.now());
    this.roomOps.set(local, ops);
    if (ops.count > ROOM_OPS_PER_WINDOW) return false;
    return this.limiter.admits([[rule, key]]);
  }

  /**
   * Typing of a member who hides their profile, to the room's sockets (the sender's aside) that
   * see them. A `fetchSockets` of the room and a statement per ping: the typing limit (one a
   * second per member, looked at before any other statement) bounds it, and it is of the order
   * of the broadcast a shown member's ping costs. Who sees hidden members is not kept per room
   * to save it: roles change, and other nodes' joins would not reach such a cache.
   */
  private async typingToThoseWhoSee(senderSocket: string, room: string, userId: string, typing: unknown): Promise<void> {
    const sockets = (await this.server.in(room).fetchSockets()).filter((s) => s.id !== senderSocket);
    const facts = await this.users.presenceFacts(signedInUsers(sockets));
    const seers = sockets.filter((s) => {
      const viewerId = (s.data as SocketData).userId;
      return viewerId && (viewerId === userId || facts.get(viewerId)?.staff);
    });
    this.toStillIn(room, 'typing', [{ payload: typing, ids: seers.map((s) => s.id) }]);
  }

  /**
   * Sends to sockets of a room as read by `fetchSockets` (a push that tells each its own, or only
   * some), each only if it is still in the room when it is sent: one that left since that read (or
   * was sent away on lost access) hears nothing, as a broadcast to the room would not reach it.
   * This node's sockets are looked at here; the other nodes' are sent to by the node that holds
   * them, which looks at its own (STILL_IN_SENDS, one message for the push, whatever its sockets):
   * sent straight to another node's socket (`RemoteSocket.emit`), a push reached a reader that
   * node had just taken out of the room, their access revoked through it. Typing of hidden
   * members, polls' counts, topics' timers and presence's own lists (to this node's sockets only)
   * go so.
   */
  private toStillIn(room: string, event: string, groups: StillInGroup[]): void {
    const elsewhere: StillInGroup[] = [];
    for (const { payload, ids } of groups) {
      const remote = ids.filter((id) => !this.server.sockets.sockets.has(id));
      this.toStillInHere(room, ids, event, payload);
      if (remote.length) elsewhere.push({ payload, ids: remote });
    }
    if (elsewhere.length) this.tellNodes(STILL_IN_SENDS, { room, event, groups: elsewhere });
  }

  /** `toStillIn` for this node's sockets among `ids` (the others' are not here). */
  private toStillInHere(room: string, ids: readonly string[], event: string, payload: unknown): void {
    for (const id of ids) {
      const local = this.server.sockets.sockets.get(id);
      if (local?.rooms.has(room)) local.emit(event, payload);
    }
  }

  /**
   * Reconnect without loss: the posts after the last one the client has, as the viewer may see
   * them; and, given the `syncMark` of its previous sync, the posts it already has that changed
   * since (a held reply approved, a post hidden or edited) — numbers below `afterNumber` that
   * were left out then can appear now.
   */
  @SubscribeMessage('topic:sync')
  async sync(@ConnectedSocket() socket: Socket, @MessageBody() body: unknown): Promise<Ack> {
    const topicId = idOf(body, 'topicId');
    const after = (body as { afterNumber?: unknown } | null)?.afterNumber;
    const since = (body as { since?: unknown } | null)?.since ?? null;
    // A post number, as a topic page's cursor holds one; a mark as an earlier sync gave it.
    if (!topicId || !validPostNumberCursor([after]) || !validSyncMark(since)) return { ok: false, code: 'BAD_USER_INPUT' };
    if (!(await this.spendRoomOp(socket))) return SLOW_DOWN;
    const viewer = await this.viewerOf(socket);
    const topic = await this.forum.topic(viewer, topicId);
    if (!topic) return { ok: false, code: 'NOT_FOUND' };
    const changes = await this.posts.topicChanges(viewer, topic, after as number, since);
    const page = await this.posts.topicPage(viewer, topic, { first: 100, after: encodeCursor(TOPIC_PAGE_CURSOR, [after]) });
    return {
      ok: true,
      posts: page.edges.map(({ node }) => livePost(node)),
      hasMore: page.pageInfo.hasNextPage,
      changed: changes.posts.map(livePost),
      changesHaveMore: changes.more,
      syncMark: changes.mark,
    };
  }

  /** Topic rooms whose presence this node is sending (see `presence`). */
  private readonly presenceRuns = new CoalescedRuns<string>();
  /**
   * Every presence run of this node, whichever event asked for it (a closed tab leaving its fifty
   * rooms, another node's PRESENCE_ASK, a hide, a node's handover, several at once), takes one of
   * these first: `presenceRunsAtOnce(DB_POOL_SIZE)` at once, the rest of the pool left to requests.
   */
  private presenceSlotsMade?: Slots;
  private get presenceSlots(): Slots {
    return (this.presenceSlotsMade ??= new Slots(presenceRunsAtOnce(this.config.DB_POOL_SIZE)));
  }

  /**
   * After a join or leave of a topic room (or a change to who may see a member in it): every
   * node sends the room's presence to its own connections in it, this one here (`presenceHere`),
   * the others when they hear of it (PRESENCE_ASK). One node's runs are one after another, each
   * reading the room later than the one before, so a connection, which hears only from its own
   * node, never gets an older list after a newer one: when each node sent the room to everyone,
   * a run of one node that read the room before a leave on another could send its list after
   * the other node's, and the reader who left stayed listed. Resolves once this node's runs are
   * done; never throws.
   */
  private presence(room: string): Promise<void> {
    if (this.closing) return Promise.resolve();
    this.tellNodes(PRESENCE_ASK, room);
    if (this.config.manyNodes) this.presenceAsked.set(room, Date.now());
    return this.presenceHere(room);
  }

  /**
   * Sends a topic room's presence to this node's connections in it (`sendPresence`), coalesced
   * per room on this node (`CoalescedRuns`): while a run is under way, asking again only marks
   * the room, and one more run follows the current one, whatever the number of asks. N readers
   * arriving together (a live Q&A opening, a link posted in chat) cost a few runs, not N runs
   * over a room growing to N; the trailing run reads the room after every ask it answers, so the
   * last state is always sent, and an older list can never arrive after a newer one. A run
   * reads the room on every node (`fetchSockets`); a node with no connection in the room runs
   * none. No timer: a run follows the one before at once. Resolves once the room's runs are
   * done; never throws. The runs count as fan-outs (`settled`): a join's presence reads after
   * its ack, and must not land in a statement count that follows it.
   */
  private presenceHere(room: string): Promise<void> {
    if (this.closing || !this.hasLocal(room)) return Promise.resolve();
    // A run asked for before the node began to close has no run after it once it has.
    const done = this.presenceRuns.run(room, () =>
      this.presenceSlots.run(() => (this.closing || !this.hasLocal(room) ? Promise.resolve() : this.sendPresence(room))),
    );
    this.track(done);
    return done;
  }

  /** Whether any of this node's connections is in the room. */
  private hasLocal(room: string): boolean {
    return !!this.server?.sockets.adapter.rooms.get(room)?.size;
  }

  /**
   * Whether a push this node emits to the room may reach anyone, so a read for it is worth its
   * statement: one of this node's connections is in it, or there may be other nodes
   * (`AppConfig.manyNodes`: `REDIS_URL`, or `API_WORKERS` above 1), whose readers this node's emits reach through the Redis
   * or cluster adapter though it
   * does not know which rooms they are in (until 2026-12-07 `hasLocal` alone decided, and a
   * reader on another node than the one handling the event was never told: live-two-nodes e2e).
   */
  private mayBeHeard(room: string): boolean {
    return this.config.manyNodes || this.hasLocal(room);
  }

  /**
   * Who reads a topic: the signed-in people (once each, however many tabs they have open) and
   * a count that adds the anonymous connections. A member who hides their profile is listed
   * only to themself, moderators and admins (one statement reads who hides and who sees them,
   * bounded by `presenceStatementTimeoutMs`);
   * to others they count as an anonymous reader. Best effort: a failure is logged, never thrown.
   */
  private async sendPresence(room: string): Promise<void> {
    try {
      const sockets = await this.server.in(room).fetchSockets();
      const users = new Map<string, string>();
      let anonymous = 0;
      for (const s of sockets) {
        const d = s.data as SocketData;
        if (d.userId) users.set(d.userId, d.handle ?? '');
        else anonymous++;
      }
      const facts = await this.boundedPresenceFacts([...users.keys()]);
      const message = (viewerId: string | undefined) => ({
        topicId: room.slice('topic:'.length),
        count: users.size + anonymous,
        users: [...users]
          .filter(([id]) => !facts.get(id)?.hidden || id === viewerId || (viewerId !== undefined && facts.get(viewerId)?.staff))
          .map(([id, handle]) => ({ id, handle })),
      });
      const everyone = message(undefined);
      // This node's connections only: the other nodes send theirs (`presence`).
      if (![...facts.values()].some((f) => f.hidden)) {
        this.server.local.to(room).emit('presence', everyone);
        return;
      }
      // The room at large gets one broadcast of the list without the hidden members; only the
      // sockets that read more (staff, and hidden members, who see themselves) get their own.
      const own = sockets.filter((s) => {
        const id = (s.data as SocketData).userId;
        return this.server.sockets.sockets.has(s.id) && id !== undefined && (facts.get(id)?.staff || facts.get(id)?.hidden);
      });
      this.server.local.to(room).except(own.map((s) => s.id)).emit('presence', everyone);
      // Each to the socket itself, so only if it is still in the room (`toStillIn`: they are all
      // this node's): one taken out since the read above (its access re-checked away) must not
      // hear who reads a topic it cannot see.
      this.toStillIn(room, 'presence', own.map((s) => ({ payload: message((s.data as SocketData).userId), ids: [s.id] })));
    } catch (err) {
      this.log.warn({ err, room }, 'presence not sent');
    }
  }

  /**
   * How long a presence run's read may take (its `statement_timeout`). One that blocks (behind a
   * lock, say) would hold its room's runs, and so every later presence of the room on this
   * node: it fails instead, and the room's next run goes ahead.
   */
  presenceStatementTimeoutMs = 5_000;

  /** `presenceFacts` for a presence run, bounded by `presenceStatementTimeoutMs` (set for its own transaction). */
  private async boundedPresenceFacts(ids: string[]): Promise<Map<string, { hidden: boolean; staff: boolean }>> {
    if (ids.length === 0) return new Map();
    return this.ds.transaction(async (m) => {
      await m.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.round(this.presenceStatementTimeoutMs))}`);
      return this.users.presenceFacts(ids, m);
    });
  }

  /**
   * Presence again in every topic room the user's sockets are in, on any node (each node's runs
   * `presenceRunsAtOnce` at a time, by its `presenceSlots`): they just hid or showed their profile.
   */
  private async presenceAround(userId: string): Promise<void> {
    const sockets = await this.server.in(`user:${userId}`).fetchSockets();
    const rooms = new Set(sockets.flatMap((s) => [...s.rooms].filter((r) => r.startsWith('topic:'))));
    await Promise.all([...rooms].map((room) => this.presence(room)));
  }

  /**
   * Access re-checks under way, and the other holds on pushes (`holdPushesUntil`). Content
   * pushes wait for them: a reply committed just after a revocation must not reach a socket
   * whose re-check has not come round to it yet. Each is waited for until its own deadline
   * (`afterRechecks`).
   */
  private readonly rechecks = new Map<Promise<void>, PushHold>();

  /** Registers a hold on pushes, waited for at most `waitMs` from now (`afterRechecks`). */
  private holdPushes(work: Promise<void>, waitMs: number, what: string): void {
    this.rechecks.set(work, { until: Date.now() + waitMs, waitMs, what });
  }

  /**
   * Registers a re-check (synchronously, before the event that started it yields), here and
   * on every other API node: pushes start wherever a change was committed and reach sockets on
   * every node, so a reply committed through another node just after a revocation through this
   * one must wait for this node's re-check too. The other nodes hold their pushes until it is
   * done, or `recheckWaitMs`; the change's own request is answered once they all said they do
   * (`holdPublisher`), or the adapter gave up on those that did not answer. Merely sent, the
   * news could arrive after the reply's push had gone out: a client answered at once can reply
   * through another node before Redis has delivered it there. Announced before the re-check
   * starts, so the other nodes hold their pushes before they are asked to re-check.
   */
  private fence(recheck: () => Promise<void>): Promise<void> {
    const id = newId();
    this.bus.holdPublisher(this.announceFence(id));
    const work = recheck();
    this.holdPushes(work, this.recheckWaitMs, 'an access re-check');
    const done = () => {
      this.rechecks.delete(work);
      this.tellNodes(FENCE_DONE, id);
    };
    work.then(done, done);
    return work;
  }

  /**
   * Holds this node's pushes, as a re-check under way does, until `work` is settled, or `waitMs`
   * have passed: the live relay's claim after an access change another process committed,
   * which this node heard of before the node that takes it could ask for a fence
   * (`LiveRelayConsumer`, whose claim's own waits `waitMs` covers). Registered at once, so every
   * push that has not started waits.
   */
  holdPushesUntil(work: Promise<unknown>, waitMs: number): void {
    const held = work.then(
      () => undefined,
      () => undefined,
    );
    this.holdPushes(held, waitMs, 'the live relay’s claim answering an access change’s wake-up');
    void held.finally(() => this.rechecks.delete(held));
  }

  /**
   * How long a push waits at most for an access re-check under way, this node's or another's
   * (see `fence`): one that hangs must not stop every push.
   */
  recheckWaitMs = 5_000;

  /** Re-checks under way on other nodes, by id: resolving one lets this node's pushes go on. */
  private readonly remoteFences = new Map<string, () => void>();

  /**
   * How long a request to the other nodes (a fence, a re-check) waits for their answers. The
   * adapter's own requestsTimeout (5 s) only starts once Redis has counted the nodes: with Redis
   * unreachable that count waits for the reconnection (or fails, and the adapter then never
   * answers), and a change's answer, or a ban's disconnect after its re-check, would wait with it.
   */
  nodesAnswerWaitMs = 6_000;

  /** `serverSideEmitWithAck`, failing once the other nodes have not all answered within `nodesAnswerWaitMs`. */
  private async askWithin(event: string, arg: unknown): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the other API nodes did not answer within ${this.nodesAnswerWaitMs} ms`)), this.nodesAnswerWaitMs);
    });
    try {
      await Promise.race([this.server.serverSideEmitWithAck(event, arg), gaveUp]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Tells the other API nodes of a re-check started here; resolves once they hold their pushes for it, or `askWithin` gave up. */
  private async announceFence(id: string): Promise<void> {
    if (!this.config.manyNodes || !this.server) return;
    try {
      await this.askWithin(FENCE_START, id);
    } catch (err) {
      this.log.warn({ err }, 'some API nodes did not say they hold their pushes for an access re-check');
    }
  }

  /** Tells the other API nodes (a no-op on a single node, whose adapter has no cluster). */
  private tellNodes(event: string, arg: unknown): void {
    if (!this.config.manyNodes || !this.server) return;
    try {
      this.server.serverSideEmit(event, arg);
    } catch (err) {
      this.log.warn({ err, event }, 'could not tell the other nodes');
    }
  }

  /** Another node's re-check: held like one of ours, until it says it is done, or `recheckWaitMs`. */
  private remoteFenceStarted(id: unknown): void {
    if (typeof id !== 'string' || this.remoteFences.has(id)) return;
    let timer: NodeJS.Timeout | undefined;
    const work = new Promise<void>((resolve) => {
      this.remoteFences.set(id, resolve);
      timer = setTimeout(resolve, this.recheckWaitMs);
      timer.unref();
    }).finally(() => {
      clearTimeout(timer);
      this.remoteFences.delete(id);
      this.rechecks.delete(work);
    });
    this.holdPushes(work, this.recheckWaitMs, 'another API node’s access re-check');
  }

  /**
   * Waits for the holds on pushes under way, each until its own deadline at most, those
   * registered while it waits included (each until its own deadline too: a re-check that started
   * after the push began to wait is waited for as one found at first; the wait was bounded by
   * the deadlines of the holds found at first, so the push could go out in the middle of a later
   * re-check). Looked at again whenever the soonest deadline passes. A hold still under way past
   * its deadline is no longer waited for by anything, and said so.
   */
  private async afterRechecks(): Promise<void> {
    for (;;) {
      const now = Date.now();
      for (const [work, hold] of this.rechecks) {
        if (now < hold.until) continue;
        this.rechecks.delete(work);
        this.log.warn(`${hold.what} is still under way after ${hold.waitMs} ms: pushes no longer wait for it`);
      }
      if (this.rechecks.size === 0) return;
      await settleWithin(this.rechecks, Math.min(...[...this.rechecks.values()].map((h) => h.until)));
    }
  }

  private async onEvent(e: DomainEvent): Promise<void> {
    // The types the live relay carries (LIVE_EVENT_TYPES), each with its case below, and no other:
    // a case for a type missing there, or one of them without its case, does not compile.
    const type = e.type;
    if (!isLiveEventType(type)) return;
    const p = e.payload as Record<string, unknown>;
    // Events that change who may see what re-check first; everything else waits for their
    // re-checks (a few seconds at most: one that hangs must not stop every push).
    // Those re-checks are fenced before the handler first yields, so a push of the next event
    // (a reply right after a topic moved away) cannot overtake one.
    if (!changesAccess(e) && this.rechecks.size) await this.afterRechecks();
    if (p[RELAYED_LATE] === true) return this.recheckLate(e);
    switch (type) {
      case 'space.access_changed':
      case 'user.role_changed': {
        // Access given (back) as well as taken: once those who lost access are sent away, on every
        // node, connections go back to the rooms they were sent away from and may read now.
        const restore = RESTORES[type](p);
        await this.recheckEverywhere(RECHECKS[type](p));
        return this.restoreEverywhere(restore);
      }
      case 'user.sessions_revoked':
        return this.recheckEverywhere(RECHECKS[type](p));
      case 'space.access_gained':
        // Access only given (a member put in a group): nothing to re-check, nothing fenced.
        return this.restoreEverywhere(RESTORES[type](p));
      case 'user.profile_hidden':
        return this.presenceAround(payloadId(p, 'userId'));
      case 'user.sanction_lifted': {
        // Lifted or run out: the member's connections learn it (a silence's composer enabled
        // again, a notice taken down), then go back, on every node, to the rooms it sent them away from.
        const [userId, sanctionId, restore] = [payloadId(p, 'userId'), payloadId(p, 'sanctionId'), RESTORES[type](p)];
        this.server.to(`user:${userId}`).emit('sanction:lifted', { sanctionId, kind: p.kind ?? null, spaceId: p.spaceId ?? null, expired: p.expired === true });
        return this.restoreEverywhere(restore);
      }
      case 'post.created':
        return this.pushPost('post:created', payloadId(p, 'postId'), true);
      case 'post.approved':
      case 'post.restored':
      case 'post.unhidden': {
        // A topic's first post back in sight: once it is pushed, the readers its going sent away go
        // back. Its board hears it arrive (`topic:created`): approved, it is new there; restored or
        // unhidden, it is new to the list again, which `topic:removed` took it off. (An approved
        // reply is news of its topic there, `topic:activity`; a restored one is not.)
        const restore = RESTORES[type](p);
        await this.pushPosts('post:updated', [payloadId(p, 'postId')], type === 'post.approved' ? 'all' : 'first');
        return this.restoreEverywhere(restore);
      }
      case 'post.updated':
        // A first publication (an article leaving draft) arrives on its board as a new topic would.
        return this.pushPost('post:updated', payloadId(p, 'postId'), p.arrived === true);
      case TOPIC_PUBLISHED:
        // A topic published to a board (a PUBLISH_TO_BOARD timer; its move was pushed just before)
        // arrives there as a new topic would; its room sees its first post dated anew.
        return this.pushPost('post:updated', payloadId(p, 'postId'), true);
      case 'post.deleted':
      case 'post.hidden':
      case 'post.rejected':
      case 'post.pending': {
        // Only a post the room saw: one removed while it waited (rejected, withdrawn), or put
        // back to waiting after that, never reached its readers, its id included (Topic.posts
        // leaves it out too).
        // Every id read before anything is sent, so one missing fails before the re-check too.
        const topicId = payloadId(p, 'topicId');
        const removed = {
          topicId,
          postId: payloadId(p, 'postId'),
          // The state the removal left it in (the event's `to`), so the push says what `Post.placeholder` says of it: a push
          // and a page load read the same. (Until 2026-12-07 the gateway had words of its own: a deletion said 'This post
          // is not available.' where the page said 'This post was deleted.'.)
          placeholder: placeholderText(p.to as ContentState),
          // The post's version the removal left it with, so a client orders it against the post's
          // other pushes, an edit's or a restore's that raced it (README, *Order*).
          version: e.version,
        };
        // What its rooms hear of it, and its board's, the reads for it included.
        const tell = async (): Promise<void> => {
          // A first post takes its topic off its board (`leaveBoard`): an arrival or news read before is
          // not sent there after. The board's room is told when its readers were shown the topic
          // (it was visible), by its id and version alone: nothing of what it was.
          // Nor of a topic the board's lists leave out (a merged idea: `listedNow`, read before
          // `leaveBoard`, so nothing newer is sent there between its judgement and this push).
          if (p.number === 1) {
            const [boardId, version] = [payloadId(p, 'boardId'), payloadTopicVersion(p)];
            // Read only when someone may hear it there (`mayBeHeard`): nobody to tell, nothing read.
            const shown = p.from === 'VISIBLE' && this.mayBeHeard(`board:${boardId}`) && (await this.listedNow(topicId));
            if (this.leaveBoard(topicId, boardId, version) && shown) this.server.to(`board:${boardId}`).emit('topic:removed', { topicId, version });
          }
          if (p.from === 'PENDING') {
            // Those who saw it waiting see it go: the space's moderators, and its author while they
            // may read the topic it names (AUTHORS_SEE_TOPIC, as a held post's pushes go): moved into
            // a space or topic they cannot read, its removal would name that topic to them. Judged on
            // that topic, not where the post is when this is pushed (moved out since, say).
            const [spaceId, authorId] = [payloadId(p, 'spaceId'), payloadId(p, 'authorId')];
            const seeing: unknown[] = await this.ds.query(AUTHORS_SEE_TOPIC, [[authorId], topicId]);
            this.heldAudience({ space_id: spaceId, author_id: authorId, author_sees: seeing.length > 0 }).emit('post:removed', removed);
          } else if (p.from !== 'DELETED' && this.pushed.admit(pushKey.postInRoom(removed.postId, topicId), e.version)) {
            // (From DELETED here is back to waiting: the room saw it go when it was deleted.) Not after
            // a newer push of the post to the room (a restore's, read after this removal committed).
            this.server.to(`topic:${topicId}`).emit('post:removed', removed);
          }
        };
        // The first post takes its topic with it: readers who can no longer open the topic
        // leave its room (no more reactions, presence or typing from it). Fenced before the
        // handler first yields, as every re-check is, with what its rooms hear read and sent
        // inside the fence, first: until 2026-12-07 the fence came after those reads (`listedNow`,
        // `AUTHORS_SEE_TOPIC`), and a push meanwhile (a reaction in the topic) did not wait for
        // the re-check, reaching readers it then sent away (live e2e holds the read).
        if (p.number === 1) return this.recheckEverywhere({ kind: 'topic', id: topicId }, tell);
        return tell();
      }
      case 'topic.updated':
        return this.pushTopic(payloadId(p, 'topicId'));
      case TIMERS_CHANGED:
        return this.pushTimers(payloadId(p, 'topicId'), p.kinds as TopicTimerKind[]);
      case 'post.moved': {
        // One event per move, naming its posts. Each is gone from the room of the topic it left
        // (a held post, or one deleted while held, only from those who saw it there), then
        // arrived where it went, to whoever may see it there as a new post would, a hidden or
        // deleted one as its placeholder (pushPosts, all in one look-up); the room it left is not
        // told where, which may be a topic it cannot read. Their states and authors as the move
        // read them, in the event.
        const [topicId, fromSpaceId] = [payloadId(p, 'topicId'), payloadId(p, 'fromSpaceId')];
        const moved = (p.posts as Payload[]).map((m) => ({ postId: payloadId(m, 'postId'), state: m.state, deletedFrom: m.deletedFrom, authorId: payloadId(m, 'authorId'), version: m.version }));
        // The authors of held ones who may read the topic they left (one statement, only when a
        // move took held ones): one moved on out of a space or topic its author cannot read
        // would name that topic to them.
        const heldAuthors = [...new Set(moved.filter((m) => listedToAuthorAndModerators(m)).map((m) => m.authorId))];
        const seeing = new Set(heldAuthors.length ? (await this.ds.query(AUTHORS_SEE_TOPIC, [heldAuthors, topicId]) as Array<{ author_id: string }>).map((r) => r.author_id) : []);
        for (const m of moved) {
          // With the version the move left it with (none from a move an older release committed).
          const removed = { topicId, postId: m.postId, placeholder: MOVED_PLACEHOLDER, version: m.version };
          // Who was shown it there (listedViewSql): a held one, or one deleted while held, the
          // moderators and its author while they may read it there (`heldAudience`); a hidden or
          // deleted one every reader, as a placeholder.
          // (A deleted one named by a move an older node committed, without `deletedFrom`: nobody.)
          if (listedToAuthorAndModerators(m)) this.heldAudience({ space_id: fromSpaceId, author_id: m.authorId, author_sees: seeing.has(m.authorId) }).emit('post:removed', removed);
          else if ((m.state !== 'DELETED' || m.deletedFrom !== undefined) && this.pushed.admit(pushKey.postInRoom(m.postId, topicId), m.version as PushVersion)) {
            this.server.to(`topic:${topicId}`).emit('post:removed', removed);
          }
        }
        // The first post of a topic split off arrives on its board as a new topic would; hidden
        // and deleted ones arrive as the placeholders their new topic's readers are shown.
        await this.pushPosts('post:created', moved.map((m) => m.postId), p.newTopic === true ? 'first' : 'none', true);
        // The replies it left behind answer nothing now: the room sees them changed, with their new version.
        // (None named by a move an older node committed during a rolling upgrade.)
        const detached = (p.detachedReplyIds as string[] | undefined) ?? [];
        if (detached.length) await this.pushPosts('post:updated', detached, 'none');
        return;
      }
      case 'topic.moved': {
        const [topicId, fromBoardId, restore] = [payloadId(p, 'topicId'), payloadId(p, 'fromBoardId'), RESTORES[type](p)];
        // Gone from the old board (`noteLeftBoard`), with the version the move left it with: news read
        // before the move is not sent there after, from now on (`left`). Ordered with the topic's
        // arrivals there (`listed`) only right before it is sent, below: noted here, before the
        // awaits, a newer arrival sent meanwhile (moved back, then on again) did not stop this
        // older `topic:moved` going out after it (until 2026-12-07).
        this.noteLeftBoard(topicId, fromBoardId, e.version);
        // Readers who cannot follow it into its new space leave its room; the rest see it move.
        await this.recheckEverywhere({ kind: 'topic', id: topicId });
        // Its new board hears it arrive, as a new topic (until 2026-12-07 only `topic:updated`,
        // which a board list ignores for a topic it does not list); a publication's hears of it
        // once, from its own arrival (topic.published, next). A move a release before 2026-12-04
        // committed says neither, and may be such a publication (announced twice, were it taken
        // for a plain move): its board hears it as before, `topic:updated` alone.
        const toBoardId = p.publishing === false ? payloadId(p, 'boardId') : undefined;
        // The topic read once, with its first post (`readArrival`), for what the board it left hears
        // (`movedOffEvent`), its arrival on the new one and its `topic:updated`; only when someone
        // may hear it on either board (`mayBeHeard`), as the other reads of a push to a board's
        // room, otherwise `pushTopic` reads its settings alone. (Until 2026-12-07 the board it
        // left was read apart, whoever listened until then, and with REDIS_URL set, where
        // `mayBeHeard` holds for every board, a move read its topic twice.)
        // Read with its idea too when it moved onto an idea board someone may hear it on (the
        // event's `boardKind`). An older release's move does not say where it went: read with its
        // idea whatever the board, as every move's read was until 2026-12-07 (the same one
        // statement; a plain topic's finds no idea and sends none), so an idea it moved is not
        // listed without its votes during a rolling upgrade (live-upgrade e2e).
        const [fromHeard, toHeard] = [this.mayBeHeard(`board:${fromBoardId}`), toBoardId !== undefined && this.mayBeHeard(`board:${toBoardId}`)];
        const withItsIdea = toHeard && (p.boardKind === undefined || p.boardKind === BoardKind.IDEAS);
        const read = fromHeard || toHeard ? await this.readArrival(topicId, withItsIdea) : undefined;
        const event = fromHeard && read ? movedOffEvent(read, fromBoardId, p.visible) : undefined;
        // With the version the move left it with (none from a move an older release committed),
        // which orders it against the topic's arrivals there (README, *Order*); its leaving was noted
        // above, before the awaits, whether or not this is sent.
        if (this.admitListChange(topicId, fromBoardId, e.version) && event) {
          this.server.to(`board:${fromBoardId}`).emit(event, e.version === undefined || e.version === null ? { topicId } : { topicId, version: e.version });
        }
        // Its arrival while on that board still (`arriveOnBoard`; moved on since, the later move's
        // event announces it where it went). Nobody to hear it there: nothing read for it, but its
        // arrival is noted all the same, with the move's version, so a removal older than the move,
        // handled later, is not sent to a reader who joined since (`admitListChange`).
        // An idea's arrival, read with its idea, is followed there by its votes and status
        // (`arriveWithIdea`, to that board's room alone: its topic's room holds them; until
        // 2026-12-07 the board listed it without them until a reload), as an unmerge's is.
        if (read && toHeard && read.board_id === toBoardId) await this.arriveWithIdea(read, true);
        else if (toBoardId !== undefined && !toHeard) this.admitListChange(topicId, toBoardId, e.version);
        // Its settings as read with it, when it was read (until 2026-12-07 `pushTopic` read them again).
        if (read) this.sendTopic(settingsOf(read), p.publishing !== true);
        else await this.pushTopic(topicId, p.publishing !== true);
        // Moved (back) where readers it sent away earlier may read it: they go back to its room.
        return this.restoreEverywhere(restore);
      }
      case 'idea.voted':
      case 'idea.status_changed':
        return this.pushIdea(payloadId(p, 'topicId'));
      case 'idea.merged':
      case 'idea.unmerged': {
        const [topicId, boardId, targetId, version] = [payloadId(p, 'topicId'), payloadId(p, 'boardId'), payloadId(p, 'targetId'), payloadTopicVersion(p)];
        if (type === 'idea.merged') {
          // Merged, its board's lists leave it out: a leaving of the list, noted with the version
          // the merge raised (`topicVersion`; none from an older release's, which notes nothing),
          // so an arrival read before (an unmerge's) is not sent there after, nor news read before
          // (until 2026-12-07 a merge noted nothing, and such an arrival listed the merged idea again).
          this.leaveBoard(topicId, boardId, version);
          await this.pushIdea(topicId);
        } else if (this.mayBeHeard(`board:${boardId}`)) {
          // Unmerged, its board's lists show it again: the board hears it arrive as a new topic
          // (until 2026-12-07 only `idea:updated`, which a board list ignores for a topic it does
          // not list), where it is now, while it is visible there (`arriveOnBoard`), then its
          // `idea:updated` to its topic's room too, both from one read of the topic with its first
          // post and its idea (`readArrival`, `arriveWithIdea`, as a move's arrival; until
          // 2026-12-07 `pushIdea` read the idea again). Read so only when someone may hear it on
          // the board the unmerge found it on (`mayBeHeard`; until 2026-12-07 read whoever listened).
          const read = await this.readArrival(topicId, true);
          if (read) await this.arriveWithIdea(read, false);
          // No first post read (none left to read): no arrival, but its idea by its own row, as
          // when nobody hears the board, still visible alone (until 2026-12-07 nothing was sent,
          // and its rooms kept it merged).
          else await this.pushIdea(topicId);
        } else {
          // Nobody to hear its arrival: not read, but noted with the version the unmerge raised
          // (`topicVersion`; none from an older release's), as a move's is, so a removal older
          // than the unmerge, handled later, is not sent to a reader who joined since.
          this.admitListChange(topicId, boardId, version);
          await this.pushIdea(topicId);
        }
        return this.pushIdea(targetId);
      }
      case 'reaction.updated': {
        // Only about a post everyone in the room reads in full: a hidden or held one's reactions are not
        // the room's business. (A topic hidden as a whole has already sent away who may not read
        // it: that re-check is fenced, so this waited for it.) To the room of the topic the post
        // is in now (`whereIs`), with that topic's id, not the one the event named (as pushPoll does).
        // The counts are the post's as read there, with the post's version, not the event's:
        // two reactions' pushes run apart, and the one that reads later carries the newer counts;
        // one that reads an older version than this node sent already is not sent (`pushed`).
        const named = { topicId: payloadId(p, 'topicId'), postId: payloadId(p, 'postId') };
        const at = await this.whereIs(named.postId);
        if (at?.postVisible && this.pushed.admit(pushKey.reactions(named.postId), at.version)) {
          this.server.to(`topic:${at.topicId}`).emit('reaction:updated', { ...named, topicId: at.topicId, counts: at.reactionCounts, version: at.version });
        }
        return;
      }
      case PollEvent.VOTED:
      case PollEvent.NEWS:
      case PollEvent.DELETED:
        return this.pushPoll(e.type, p);
      case 'review.updated':
        this.server.to(p.spaceId ? `modqueue:${p.spaceId}` : GLOBAL_QUEUE).emit('review:updated', { reviewItemId: p.reviewItemId, spaceId: p.spaceId ?? null });
        // (Written before review.moved, one per item, with `fromSpaceId`: told as review.moved tells it.)
        if (p.fromSpaceId && p.fromSpaceId !== p.spaceId) {
          this.server.to(`modqueue:${p.fromSpaceId}`).emit('review:updated', { reviewItemId: p.reviewItemId, spaceId: p.fromSpaceId });
        }
        return;
      case REVIEW_ITEMS_MOVED: {
        // One event per move (movePosts, moveTopic), its items in id order. Each room hears of
        // each item with its own space's id alone: the new one that it arrived, the old one that
        // it left, never the new one's (a space its moderators may not read). The client
        // contract is one `review:updated` per item, so each room gets them in a row.
        const ids = p.reviewItemIds as string[];
        const [to, from] = [payloadId(p, 'spaceId'), payloadId(p, 'fromSpaceId')];
        const rooms = [to, ...(from !== to ? [from] : [])];
        for (const spaceId of rooms) {
          const room = this.server.to(`modqueue:${spaceId}`);
          for (const reviewItemId of ids) room.emit('review:updated', { reviewItemId, spaceId });
        }
        return;
      }
      case 'user.sanctioned': {
        const userId = payloadId(p, 'userId');
        // A space sanction, or a site-wide silence (a silenced global moderator leaves the site-wide review room).
        if (p.spaceId || p.kind === 'SILENCE') await this.recheckEverywhere({ kind: 'user', id: userId });
        if (p.spaceId === null && (p.kind === 'SUSPEND' || p.kind === 'BAN')) {
          this.server.to(`user:${userId}`).emit('session:revoked', { reason: p.kind === 'BAN' ? 'banned' : 'suspended' });
          this.server.in(`user:${userId}`).disconnectSockets(true);
        }
        return;
      }
      default:
        return unhandled(type);
    }
  }

  /**
   * An access change the live relay delivered too late to be news (RELAYED_LATE): only its
   * re-checks (`LATE_RECHECKS`), fenced as always, then its restore if it has one (`RESTORES`: a
   * grant or a role given back), both reading access as it is now; nothing it would have pushed
   * or announced (a removed post restored since, a ban lifted since). A topic's first post back in
   * sight has its restore alone, not its push. An event the relay does not publish late
   * (`publishedLate`, the relay's own test), or one whose payload lacks an id its re-check or
   * restore needs, fails (logged) before anything is fenced.
   */
  private async recheckLate(e: DomainEvent): Promise<void> {
    if (!publishedLate(e)) throw new Error(`${e.type} was relayed late, but the relay publishes no such event late`);
    const rechecks = isAccessChangeType(e.type) ? LATE_RECHECKS[e.type](e.payload) : [];
    const restore = (RESTORES as { readonly [type: string]: ((p: Payload) => Recheck | null) | undefined })[e.type]?.(e.payload);
    await Promise.all(rechecks.map((r) => this.recheckEverywhere(r)));
    if (restore) await this.restoreEverywhere(restore);
  }

  /**
   * A post to those who may see it (`pushRow`): a visible one in a visible topic to its topic's
   * room; a held one to the space's review room and to its author while they may read it there
   * (`heldAudience`), nobody else; a hidden or deleted one to nobody (its room heard
   * `post:removed`). A post that just became visible (`arrived`) also tells the board's room:
   * `topic:created` for a first post (a new topic, one approved, an article's first publication,
   * a topic published there; `arriveOnBoard`, which a move's arrival and a first post unhidden or
   * restored use too), `topic:activity` for a reply, so open board lists can follow.
   */
  private pushPost(event: string, postId: string, arrived = false): Promise<void> {
    return this.pushPosts(event, [postId], arrived ? 'all' : 'none');
  }

  /**
   * `pushPost` of several posts (those a move brought into one topic), read in one statement and
   * pushed in number order. Only a reply that arrives tells its board `topic:activity`, the one
   * reader of the last post shown: other pushes (edits, a move's posts) do not read it.
   */
  private async pushPosts(event: string, postIds: string[], arrival: Arrival, placeholders = false): Promise<void> {
    const read = this.postsReads();
    const rows: PushedPostRow[] = await this.ds.query(arrival === 'all' ? read.arriving : read.plain, [postIds]);
    for (const row of rows) this.pushRow(event, row, arrival === 'all' || (arrival === 'first' && row.number === 1), placeholders);
  }

  /** `postsRead`, made by the first push that reads posts. */
  private postsReads(): NonNullable<LiveGateway['postsRead']> {
    if (!this.postsRead) {
      const listed = this.kinds.listedAnywhereSql() ?? 'true';
      const firstPost = 'p.topic_id = $1 AND p.number = 1';
      this.postsRead = {
        plain: pushedPostsSql(false, listed),
        arriving: pushedPostsSql(true, listed),
        firstPostOf: pushedPostsSql(false, listed, firstPost, { settings: true }),
        ideaFirstPostOf: pushedPostsSql(false, listed, firstPost, { settings: true, idea: true }),
      };
    }
    return this.postsRead;
  }

  /**
   * Whether its board's lists show the topic as it is now (`BoardKinds.listedAnywhereSql`: a
   * merged idea they do not), for a removal, which tells a board only of a topic it listed, as
   * arrivals do (`listed`). A topic whose row is gone counts as listed: its removal goes as
   * before. No statement when no board kind leaves any topic out.
   */
  private async listedNow(topicId: string): Promise<boolean> {
    const listed = this.kinds.listedAnywhereSql();
    if (!listed) return true;
    const [row]: Array<{ listed: boolean }> = await this.ds.query(`SELECT (${listed}) AS listed FROM topics t WHERE t.id = $1`, [topicId]);
    return row?.listed !== false;
  }

  /**
   * A topic arriving on a board (moved there, or an idea unmerged: listed again), as it is now:
   * its first post and the topic in one statement (`firstPostOf`), with the topic's version and
   * settings (`ArrivingTopicRow`), for all that its push sends (a move's `movedOffEvent`,
   * `arriveOnBoard`, `sendTopic`); with its idea too (`idea`: `ideaFirstPostOf`) when an idea
   * moved onto an idea board someone may hear it on (or onto a board an older release's event
   * does not name the kind of) or was unmerged, for its `idea:updated` (`arriveWithIdea`). None
   * without a row.
   */
  private async readArrival(topicId: string, idea: boolean): Promise<ArrivingTopicRow | undefined> {
    const read = this.postsReads();
    const [row]: ArrivingTopicRow[] = await this.ds.query(idea ? read.ideaFirstPostOf : read.firstPostOf, [topicId]);
    return row;
  }

  /**
   * A topic's arrival on its board as read (`readArrival`, `arriveOnBoard`), followed by its
   * idea's `idea:updated` from the same read when it was read with one (`sendIdea`): a move's to
   * that board's room alone (`boardOnly`: its topic's room holds the idea, which a move does not
   * change), and only once it arrived; an unmerge's to its topic's room too, arrived or not (its
   * rooms hold it merged). Its idea read older than one this node sent (a vote's push, read after
   * this read, sent before this arrival, which a list ignores for a topic it does not list yet):
   * once the topic arrived, read again by its own row (`pushIdea`) and sent to the board's room
   * after the arrival. (Sent nowhere, the topic gone from the board since the read, it is not read
   * again: where it went hears of it from its own arrival there.) Until 2026-12-07 a move and an
   * unmerge each wrote this out.
   */
  private async arriveWithIdea(read: ArrivingTopicRow, boardOnly: boolean): Promise<void> {
    const arrived = this.arriveOnBoard(read);
    if (!withIdea(read) || (boardOnly && !arrived)) return;
    if (this.sendIdea(read, boardOnly) === 'older' && arrived) await this.pushIdea(read.topic_id, true);
  }

  /**
   * A topic's arrival on the list of the board it is on (`topic:created`), from its first post as
   * read with the topic: only while both are visible (a hidden or held topic, an unpublished
   * article, is announced nowhere: its title would reach readers who may not read it); not read
   * before the topic left the board (moved, hidden…) and sent after (`admitListChange`), with the
   * topic's version, which orders it against the board's `topic:removed` and `topic:moved`; nor a
   * topic its board's lists leave out (`listed`: a merged idea unhidden, restored or moved there).
   * Whether it went.
   */
  private arriveOnBoard(row: PushedPostRow): boolean {
    if (row.state !== 'VISIBLE' || row.topic_state !== 'VISIBLE') return false;
    if (!row.listed || !this.admitListChange(row.topic_id, row.board_id, row.topic_version)) return false;
    this.server.to(`board:${row.board_id}`).emit('topic:created', {
      boardId: row.board_id,
      topic: { id: row.topic_id, title: row.title, kind: row.kind, createdAt: row.created_at, author: { id: row.author_id, handle: row.handle, displayName: row.display_name } },
      version: row.topic_version,
    });
    return true;
  }

  /**
   * One post's push (see `pushPost`). `placeholders`: a hidden or deleted post goes too, as its
   * placeholder (a move's posts, arriving in a topic whose page lists it): to the topic's room,
   * whose readers are all shown it, or for one deleted while held, to those its page lists it
   * to, its author and the space's moderators (as a held post goes). Other pushes of such a post
   * send nothing: its room heard `post:removed` when it went.
   */
  private pushRow(event: string, row: PushedPostRow, arrived: boolean, placeholders = false): void {
    const payload = {
      topicId: row.topic_id,
      post: {
        id: row.id, number: row.number, bodyHtml: row.body_html, createdAt: row.created_at, editedAt: row.edited_at,
        replyToPostId: row.reply_to_post_id, reactions: row.reaction_counts, wiki: row.wiki,
        author: { id: row.author_id, handle: row.handle, displayName: row.display_name },
        version: row.version,
      },
    };
    // A push to the topic's room read before the post's removal (or an older one of its pushes) and
    // sent after it is not sent (`postInRoom`): its readers would be shown the removed post again
    // until they dropped it by its version (a page's placeholder carries the removal's). A
    // placeholder's push is filtered by the version it carries, the removal's.
    const newestInRoom = (version: PushVersion = row.version) => this.pushed.admit(pushKey.postInRoom(row.id, row.topic_id), version);
    if (row.state === 'VISIBLE' && row.topic_state === 'VISIBLE') {
      if (newestInRoom()) this.server.to(`topic:${row.topic_id}`).emit(event, payload);
      if (arrived && row.number === 1) this.arriveOnBoard(row);
      else if (arrived && this.boardNewsPasses(row.topic_id, row.board_id, row.topic_version) && this.pushed.admit(pushKey.activity(row.topic_id), row.topic_version)) {
        // Two replies' pushes run apart: one read before the other reply committed is not sent
        // after it, nor one read before the topic left the board (`boardNewsPasses`).
        this.server.to(`board:${row.board_id}`).emit('topic:activity', {
          boardId: row.board_id, topicId: row.topic_id, lastPostNumber: row.last_post_number, lastActivityAt: row.last_activity_at, version: row.topic_version,
        });
      }
    } else if (listedToAuthorAndModerators({ state: row.state, deletedFrom: row.deleted_from })) {
      // Held content, or content deleted while held, reaches its author (while they may read it
      // there) and the space's moderators, nobody else: held in full, the other as its placeholder.
      if (row.state === 'PENDING') this.heldAudience(row).emit(event, { ...payload, post: { ...payload.post, state: 'PENDING' } });
      else if (placeholders) this.heldAudience(row).emit(event, placeholderPush(row));
    } else if (placeholders && (row.state === 'HIDDEN' || row.state === 'DELETED') && row.topic_state === 'VISIBLE') {
      const placeholder = placeholderPush(row);
      // (No version: removed by a node of a release before removed_version, not filtered, as before it.)
      if (newestInRoom(placeholder.post.version)) this.server.to(`topic:${row.topic_id}`).emit(event, placeholder);
    }
  }

  /** Who hears a held post, or one deleted while held: the space's review room, and its author while they may read it there (`author_sees`). */
  private heldAudience(row: Pick<PushedPostRow, 'space_id' | 'author_id' | 'author_sees'>) {
    const review = this.server.to(`modqueue:${row.space_id}`);
    return row.author_sees ? review.to(`user:${row.author_id}`) : review;
  }

  /**
   * After a change to a space's access, every socket in the space's rooms is checked again;
   * those who lost access leave. Which topic rooms belong to the space is asked once, so
   * sockets elsewhere cost nothing (no session look-up, no topic load).
   */
  private async recheckSpace(spaceId: string): Promise<void> {
    const sockets = await this.server.local.fetchSockets();
    const topicIds = [...new Set(sockets.flatMap((s) => [...s.rooms].filter((r) => r.startsWith('topic:')).map((r) => r.slice('topic:'.length))))];
    const rows: Array<{ room: string }> = await this.ds.query(
      `SELECT 'board:' || id AS room FROM boards WHERE space_id = $1
       UNION ALL SELECT 'topic:' || id FROM topics WHERE space_id = $1 AND id = ANY($2::uuid[])`,
      [spaceId, topicIds],
    );
    const spaceRooms = new Set([...rows.map((r) => r.room), `modqueue:${spaceId}`]);
    for (const socket of sockets) {
      const rooms = [...socket.rooms].filter((r) => spaceRooms.has(r));
      if (rooms.length) await this.recheck(socket as unknown as Socket, rooms);
    }
  }

  /**
   * Every connection of this node checked again in every room it holds (after this node missed
   * other nodes' re-checks, its Redis subscription cut off); returns how many rooms they left.
   * Never throws: a failure is logged.
   */
  async recheckAll(): Promise<number> {
    if (!this.server) return 0;
    let left = 0;
    const work = (async () => {
      for (const socket of await this.server.local.fetchSockets()) left += await this.recheck(socket as unknown as Socket, contentRooms(socket));
    })();
    // Held as every re-check is (here only: the other nodes missed nothing), so no push goes
    // to a room a connection may have lost while this node was cut off.
    this.holdPushes(work, this.recheckWaitMs, 'a re-check of every connection');
    try {
      await work;
    } catch (err) {
      this.log.error({ err }, 'live re-check of every connection failed');
    } finally {
      this.rechecks.delete(work);
    }
    if (left) this.log.warn({ left }, 'connections left rooms they could no longer read');
    return left;
  }

  /**
   * `recheckAll`, fenced as an access change's re-check is (`fence`): every node holds its pushes
   * until it is over, or `recheckWaitMs`. For the live relay's claim that gave up waiting for
   * another node's rows (`LiveRelayConsumer`): they may hold an access change this node heard of,
   * whose re-check that node has not run, while access itself has changed already.
   */
  async recheckAllFenced(): Promise<number> {
    let left = 0;
    await this.fence(async () => {
      left = await this.recheckAll();
    });
    return left;
  }

  /** After a topic changed audience (moved, or hidden through its first post): its room is checked again. */
  private async recheckTopicRoom(topicId: string): Promise<void> {
    for (const socket of await this.server.local.in(`topic:${topicId}`).fetchSockets()) {
      await this.recheck(socket as unknown as Socket, [`topic:${topicId}`]);
    }
  }

  /** After a space-scoped sanction, the user's sockets are checked again. */
  private async recheckUser(userId: string): Promise<void> {
    for (const socket of await this.server.local.in(`user:${userId}`).fetchSockets()) {
      await this.recheck(socket as unknown as Socket, contentRooms(socket));
    }
  }

  /** Sends the connection away from those of `rooms` it may no longer be in; returns how many. */
  private async recheck(socket: Socket, rooms: string[]): Promise<number> {
    let left = 0;
    const viewer = await this.viewerOf(socket);
    for (const room of rooms) {
      if (!(await this.mayBeIn(viewer, room))) {
        await this.leave(socket, room);
        rememberLost(socket.data as SocketData, room);
        socket.emit('access:lost', { room });
        left++;
      }
    }
    return left;
  }

  /** Whether the viewer may be in the room, as joining it asks. */
  private async mayBeIn(viewer: Viewer, room: string): Promise<boolean> {
    const [kind, id] = room.split(':');
    if (kind === 'topic') return !!(await this.forum.topic(viewer, id));
    if (kind === 'board') return !!(await this.spaces.board(viewer, id));
    if (room === GLOBAL_QUEUE) return this.access.moderatesSiteWide(viewer);
    if (kind === 'modqueue') return (await this.access.rankOn(viewer, id)) >= LEVEL_RANK.MODERATE;
    return true;
  }

  /**
   * A sanction of the user ended (lifted, or run out), or a role was given (back): each of their
   * connections on this node goes back to the rooms it was sent away from and has not left since
   * (`SocketData.lost`), those it may read now, as a join of its own would (`join`: access
   * checked before and once more after, the cap on rooms, presence), and hears of each
   * (`access:restored`), so an open topic page follows its topic again (and syncs what it missed,
   * `topic:sync`) without a reload. Rooms it still may not read (another sanction, a grant gone)
   * stay to be restored later.
   */
  private async restoreUser(userId: string): Promise<void> {
    for (const remote of await this.server.local.in(`user:${userId}`).fetchSockets()) {
      const socket = remote as unknown as Socket;
      await this.restoreRooms(socket, [...((socket.data as SocketData).lost ?? [])]);
    }
  }

  /**
   * A space's access changed (a grant given back, a space made PUBLIC again): each connection on
   * this node goes back to the rooms of that space it was sent away from and has not left since,
   * those it may read now, as `restoreUser` puts them back. Which of those rooms belong to the
   * space is asked once, so connections that lost nothing there cost nothing.
   */
  private async restoreSpace(spaceId: string): Promise<void> {
    const sockets = (await this.server.local.fetchSockets()).filter((s) => (s.data as SocketData).lost?.length);
    if (!sockets.length) return;
    const lost = [...new Set(sockets.flatMap((s) => (s.data as SocketData).lost!))];
    const idsOf = (kind: string) => lost.filter((r) => r.startsWith(`${kind}:`) && isUuid(r.slice(kind.length + 1))).map((r) => r.slice(kind.length + 1));
    const rows: Array<{ room: string }> = await this.ds.query(
      `SELECT 'board:' || id AS room FROM boards WHERE space_id = $1 AND id = ANY($2::uuid[])
       UNION ALL SELECT 'topic:' || id FROM topics WHERE space_id = $1 AND id = ANY($3::uuid[])`,
      [spaceId, idsOf('board'), idsOf('topic')],
    );
    const spaceRooms = new Set([...rows.map((r) => r.room), `modqueue:${spaceId}`]);
    for (const remote of sockets) {
      const socket = remote as unknown as Socket;
      await this.restoreRooms(socket, ((socket.data as SocketData).lost ?? []).filter((r) => spaceRooms.has(r)));
    }
  }

  /**
   * A topic came back in sight (its first post unhidden, restored or approved; moved): each
   * connection on this node sent away from its room and not gone elsewhere since goes back, if it
   * may read the topic now, as `restoreUser` puts rooms back.
   */
  private async restoreTopic(topicId: string): Promise<void> {
    const room = `topic:${topicId}`;
    for (const remote of await this.server.local.fetchSockets()) {
      if ((remote.data as SocketData).lost?.includes(room)) await this.restoreRooms(remote as unknown as Socket, [room]);
    }
  }

  /** Puts the connection back in those of `rooms` it may read now, through `join`, telling it of each (`access:restored`). */
  private async restoreRooms(socket: Socket, rooms: string[]): Promise<void> {
    for (const room of rooms) {
      if (!socket.connected) break;
      // Joined again by the client itself meanwhile.
      if (socket.rooms.has(room)) {
        forgetLost(socket.data as SocketData, room);
        continue;
      }
      const ack = await this.join(socket, room, async () => this.mayBeIn(await this.viewerOf(socket), room));
      if (ack.ok) socket.emit('access:restored', { room });
    }
  }

  /**
   * An idea's status and votes, to its topic's and board's rooms, while the topic is visible;
   * the idea it is merged into only while that one is visible too (`IdeaDetails.mergedInto` is
   * null for a reader of a hidden one, and the rooms hold readers). With the topic's version read
   * with it (`topicVersion`; `version` is the idea's, and stays so): a merged idea's push takes it
   * off its board's list, which a client orders by it against the topic's `topic:created`,
   * `topic:removed` and `topic:moved` there, as this node orders them (README, *Order*): a late
   * arrival another node read before the merge (an unmerge's) is then dropped, not listed again.
   * To its board's room alone with `boardOnly` (`sendIdea`).
   */
  private async pushIdea(topicId: string, boardOnly = false): Promise<void> {
    const [i]: Array<IdeaTopicRow & IdeaRow> = await this.ds.query(
      `SELECT t.id AS topic_id, t.board_id, t.state AS topic_state, t.version AS topic_version, ${IDEA_COLUMNS}
         FROM ideas i JOIN topics t ON t.id = i.topic_id WHERE i.topic_id = $1`,
      [topicId],
    );
    if (i) this.sendIdea(i, boardOnly);
  }

  /**
   * `pushIdea`'s push of the idea as read (by it, or with an unmerged idea's first post:
   * `readArrival`), to its topic's and board's rooms; or to its board's alone (`boardOnly`: a
   * move's arrival there, `arriveWithIdea`, which changed nothing of the idea its topic's room holds).
   * What became of it (`IdeaSent`): sent to a room; refused as older than one this node sent of
   * the idea; or sent nowhere, for a topic read hidden or held, or to its board alone (`boardOnly`)
   * when the topic has left that board since the read. (Until 2026-12-07 the last was told as
   * sent, though nobody heard it.)
   */
  private sendIdea(i: IdeaTopicRow & IdeaRow, boardOnly = false): IdeaSent {
    if (i.topic_state !== 'VISIBLE') return 'nowhere';
    // Its board's room only while the topic has not left it since the read (`boardNewsPasses`).
    const rooms = [...(boardOnly ? [] : [`topic:${i.topic_id}`]), ...(this.boardNewsPasses(i.topic_id, i.board_id, i.topic_version) ? [`board:${i.board_id}`] : [])];
    // Its version noted only once it goes somewhere: what nobody heard orders nothing after it.
    if (rooms.length === 0) return 'nowhere';
    if (!this.pushed.admit(pushKey.idea(i.topic_id), i.idea_version)) return 'older';
    const payload: IdeaUpdated = {
      topicId: i.topic_id, status: i.idea_status, voteCount: i.idea_vote_count, mergedIntoId: i.idea_merged_into, version: i.idea_version, topicVersion: i.topic_version,
    };
    this.server.to(rooms).emit('idea:updated', payload);
    return 'sent';
  }

  /**
   * Where a post is as a push reads it: the topic it is in now, and whether it and that topic are
   * visible; undefined for a post that is gone. News about a post (its reactions, its poll) goes
   * to that topic's room, never to the one its event named: that is the topic the post was in when
   * the change committed, and `movePosts` may have taken it elsewhere since (to a space the old
   * room's readers may not read), so the old room would hear of a post it may no longer read and
   * the new one nothing. (`pushPoll` reads the same from `PollsService.forPush`, with the poll.)
   */
  private async whereIs(postId: string): Promise<PostWhere | undefined> {
    const [at] = await this.ds.query(
      `SELECT p.topic_id, p.state = 'VISIBLE' AS post_visible, t.state = 'VISIBLE' AS topic_visible, p.reaction_counts, p.version
         FROM posts p JOIN topics t ON t.id = p.topic_id WHERE p.id = $1`,
      [postId],
    );
    return at && { topicId: at.topic_id, postVisible: at.post_visible, topicVisible: at.topic_visible, reactionCounts: at.reaction_counts, version: at.version };
  }

  /**
   * A poll's change to its topic's room (`poll:updated`), while its post and topic are visible:
   * the room of the topic the post is in as the push reads it (a post moved since the change
   * committed is announced where it went, not in the room it left).
   * Counts go only where they may be seen: to the whole room when every reader sees them
   * (PollsService.resultsPublic), otherwise to the room's sockets whose users see them as
   * Post.poll would answer them (the post's author, the space's moderators, ON_VOTE's voters:
   * PollsService.whoSeesResults, at most two statements for the room, reading the access of its
   * possible moderators alone). Others hear of a vote on such a
   * poll not at all (how many pushes came would count its votes), and of its creation, change,
   * closing or reopening without counts. Each socket is sent its own by `toStillIn`: one that
   * left the room while those statements ran, on any node, hears nothing.
   */
  private async pushPoll(type: string, p: Record<string, unknown>): Promise<void> {
    const named = { topicId: payloadId(p, 'topicId'), postId: payloadId(p, 'postId'), pollId: payloadId(p, 'pollId') };
    if (type === PollEvent.DELETED) {
      // Where the post is now (`whereIs`), as for any change of its poll (below).
      const at = await this.whereIs(named.postId);
      // Final: no push of the poll read before its deletion goes out from this node after this one.
      for (const audience of ['counted', 'bare'] as const) this.pushed.end(pushKey.poll(audience, named.pollId));
      if (at?.postVisible && at.topicVisible) this.server.to(`topic:${at.topicId}`).emit('poll:updated', { ...named, topicId: at.topicId, removed: true });
      return;
    }
    const poll = await this.polls.forPush(named.pollId);
    if (!poll || poll.post_state !== 'VISIBLE' || poll.topic_state !== 'VISIBLE') return;
    // To the topic the post is in now, not the one the event named: a post that movePosts took
    // elsewhere since the change committed takes its poll's news with it, and its old room (whose
    // readers may not read it there) hears none.
    const base = { ...named, topicId: poll.topic_id };
    const room = `topic:${base.topicId}`;
    // Count-free news carries the poll's news version (`newsVersion`: how many edits, closings and
    // reopenings it had), not its `version`, which every vote raises: the difference between two
    // would tell those who may not see the counts how many votes came between. The counts carry
    // `fullVersion`, on the same scale, so a client orders every `poll:updated` of the poll.
    const version = fullVersion(poll);
    const bare = { ...base, closed: poll.closed, closesAt: poll.closes_at, version: newsVersion(poll.news) };
    const counted = { ...bare, voterCount: poll.voter_count, options: poll.options.map((o) => ({ id: o.id, voteCount: o.vote_count })), version };
    // Counts and count-free news go to different sockets, so each keeps its own newest version:
    // a vote's counts (to those who see them) do not keep a reopening's news from the others.
    const admit = (audience: 'counted' | 'bare') => this.pushed.admit(pushKey.poll(audience, poll.id), version);
    if (PollsService.resultsPublic(poll)) {
      // The whole room hears it, those who see no counts while it is open included: their count-free
      // news older than this (a reopening read before a closing) is not sent after it either.
      // (The counts' newest is never older than the news': every push of news admits its counts first.)
      if (admit('counted') && admit('bare')) this.server.to(room).emit('poll:updated', counted);
      return;
    }
    const sockets = await this.server.in(room).fetchSockets();
    const sees = await this.polls.whoSeesResults(poll, signedInUsers(sockets));
    const seeing = (s: { data: unknown }) => {
      const userId = (s.data as SocketData).userId;
      return !!userId && sees.has(userId);
    };
    const groups: StillInGroup[] = [];
    if (admit('counted')) groups.push({ payload: counted, ids: sockets.filter(seeing).map((s) => s.id) });
    // News (`PollEvent.NEWS`, which only a change that raised the news, or a creation, emits) to the others too.
    if (type === PollEvent.NEWS && admit('bare')) groups.push({ payload: bare, ids: sockets.filter((s) => !seeing(s)).map((s) => s.id) });
    this.toStillIn(room, 'poll:updated', groups);
  }

  /**
   * A topic's timers after some changed (`topic:timers`, the list as Topic.timers
   * answers), to each socket in its room as its user may read them
   * (TopicTimersService.forReaders): moderators of the space every timer and who set it, other
   * readers the status timers, and only after a change to one. The room's sockets are every
   * node's (through the adapter); their users are judged together. Each socket is sent its own by
   * `toStillIn`: one that left the room while they were judged, on any node, hears nothing.
   * Each list carries the version read with it: moderators the timers' full one, other readers
   * their news one (`newsVersion`: status timers' changes alone, so it tells nothing of the
   * moderators' own timers), on one scale. Each audience keeps its own newest (`pushed`): a
   * change of an UNPIN timer, told to moderators alone, must not keep an older status change's
   * list from the others.
   */
  private async pushTimers(topicId: string, kinds: TopicTimerKind[]): Promise<void> {
    const room = `topic:${topicId}`;
    const sockets = await this.server.in(room).fetchSockets();
    if (sockets.length === 0) return;
    const userOf = (s: { data: unknown }) => (s.data as SocketData).userId ?? null;
    const { told, version: read } = await this.timers.forReaders(topicId, signedInUsers(sockets), sockets.some((s) => !userOf(s)), kinds);
    if (!read) return;
    const versions = { all: fullVersion(read), news: newsVersion(read.news) };
    const admitted = new Map<keyof typeof versions, boolean>();
    const admit = (audience: keyof typeof versions): boolean => {
      let ok = admitted.get(audience);
      if (ok === undefined) admitted.set(audience, (ok = this.pushed.admit(pushKey.timers(audience, topicId), versions[audience])));
      return ok;
    };
    // One payload per list, so the sockets of the other nodes that get the same go in one group.
    const groups = new Map<unknown, StillInGroup>();
    for (const s of sockets) {
      const list = told.get(userOf(s));
      const audience = list?.moderator ? 'all' : 'news';
      if (!list || !admit(audience)) continue;
      let group = groups.get(list);
      if (!group) groups.set(list, (group = { payload: { topicId, timers: list.timers, version: versions[audience] }, ids: [] }));
      group.ids.push(s.id);
    }
    this.toStillIn(room, 'topic:timers', [...groups.values()]);
  }

  /** A topic's settings as they now are (`topic:updated`), to its room and, unless `board` is false, its board's. */
  private async pushTopic(topicId: string, board = true): Promise<void> {
    const [t]: TopicSettingsRow[] = await this.ds.query(`SELECT id, board_id, title, state, version, ${TOPIC_SETTINGS.join(', ')} FROM topics WHERE id = $1`, [topicId]);
    if (t) this.sendTopic(t, board);
  }

  /** `pushTopic`'s push of the topic as read (by it, or with a moved topic's first post: `readArrival`, `settingsOf`). */
  private sendTopic(t: TopicSettingsRow, board: boolean): void {
    if (t.state !== 'VISIBLE') return;
    // Each room keeps its own newest version: whether the board's room hears it too depends on the
    // event. The board's only while the topic has not left it since the read (`boardNewsPasses`).
    const rooms = [`topic:${t.id}`, ...(board && this.boardNewsPasses(t.id, t.board_id, t.version) ? [`board:${t.board_id}`] : [])].filter((room) =>
      this.pushed.admit(pushKey.updated(t.id, room), t.version),
    );
    if (rooms.length === 0) return;
    const payload = {
      topicId: t.id, title: t.title, pinned: t.pinned, closed: t.closed, locked: t.locked, acceptedPostId: t.accepted_post_id, ...slowMode(t), ...globalPin(t), version: t.version,
    };
    this.server.to(rooms).emit('topic:updated', payload);
  }
}

/** Where a post is as a push reads it (`LiveGateway.whereIs`), with its reactions' counts and its version. */
interface PostWhere {
  topicId: string;
  postVisible: boolean;
  topicVisible: boolean;
  reactionCounts: Record<string, number>;
  version: number;
}

/** A hold on pushes (`LiveGateway.rechecks`): waited for until when at most, and what it is, for the log. */
interface PushHold {
  until: number;
  waitMs: number;
  what: string;
}

/** The site-wide review queue's room (items of no space), for global moderators. */
const GLOBAL_QUEUE = 'modqueue:global';

/** The rooms a socket joined by asking (its own user room aside): the ones the cap and re-checks count. */
function contentRooms(socket: { rooms: Set<string> }): string[] {
  return [...socket.rooms].filter((r) => r.startsWith('topic:') || r.startsWith('board:') || r.startsWith('modqueue:'));
}

/** A relayed type without its case in `onEvent`: only reachable (and compiled) if LIVE_EVENT_TYPES gained one. */
function unhandled(type: never): never {
  throw new Error(`${String(type)} is relayed to the live gateway, which has no case for it`);
}

/** The signed-in users of these sockets, once each. */
function signedInUsers(sockets: Array<{ data: unknown }>): string[] {
  return [...new Set(sockets.map((s) => (s.data as SocketData).userId).filter((id): id is string => !!id))];
}

/**
 * The review queue a `review:join` or `review:leave` names: a space's (`{ spaceId }`), the
 * site-wide one (an object without `spaceId`), or none (bad input, answered before anything is
 * spent on it, as the other room events' are).
 */
function reviewQueueOf(body: unknown): { room: string; spaceId: string | null } | null {
  if (body && typeof body === 'object' && (body as Record<string, unknown>).spaceId === undefined) return { room: GLOBAL_QUEUE, spaceId: null };
  const spaceId = idOf(body, 'spaceId');
  return spaceId ? { room: `modqueue:${spaceId}`, spaceId } : null;
}

/**
 * The id a room event names, in lower case as the API writes ids (and the rooms are named): a UUID
 * in capitals is the same id to PostgreSQL, but not to the loaders keyed by its text, nor to a room's name.
 */
function idOf(body: unknown, key: string): string | null {
  if (!body || typeof body !== 'object') return null;
  const v = (body as Record<string, unknown>)[key];
  return isUuid(v) ? v.toLowerCase() : null;
}
