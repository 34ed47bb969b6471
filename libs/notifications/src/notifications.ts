import { Injectable } from '@nestjs/common';
import DataLoader from 'dataloader';
import { Args, Context, Field, ID, InputType, Int, Mutation, ObjectType, Parent, Query, registerEnumType, ResolveField, Resolver } from '@nestjs/graphql';
import { Transform } from 'class-transformer';
import { IsBoolean, IsEnum, IsOptional, IsUUID, Matches } from 'class-validator';
import { DataSource, EntityManager } from 'typeorm';
import { AppError } from '../../core/src/errors';
import { groupBy } from '../../core/src/group-by';
import { pruneInBatches } from '../../core/src/database/prune';
import type { GqlContext } from '../../core/src/graphql/context';
import { Connection, ConnectionType, decodeCursor, PageArgs, pageSize, toConnection } from '../../core/src/graphql/pagination';
import { Viewer } from '../../core/src/graphql/viewer';
import { Queryable } from '../../core/src/database/unit-of-work';
import { ID_VERSION, isUuid } from '../../core/src/ids';
import { AccessService, fullViewSql } from '../../access/src/access.service';
import { AccessLevel, LEVEL_RANK } from '../../access/src/access-level';
import { validKeyValue } from '../../forum/src/cursors';
import { ForumLoaders } from '../../forum/src/forum.loaders';
import { PostModel } from '../../forum/src/posts/post.model';
import { TopicModel } from '../../forum/src/topics/topic.model';
import { normalizeTag, TAG_RE } from '../../forum/src/topics/dto/topic.inputs';
import { UserModel } from '../../identity/src/users/user.model';
import { UsersLoader } from '../../identity/src/users/users.loader';
import { UsersRepository } from '../../identity/src/users/users.repository';
import { seesGroupSql } from '../../identity/src/groups/group-visibility';
import { BoardModel } from '../../spaces/src/boards/board.model';
import { SpacesLoader } from '../../spaces/src/spaces.loader';
import { ArgsType } from '@nestjs/graphql';
import { Tx } from '../../core/src/database/unit-of-work';
import { inheritedWatchesSql } from './watch-levels';
import { TopicRead } from '../../forum/src/read-listeners';

export enum WatchLevel {
  WATCHING = 'WATCHING',
  WATCHING_FIRST_POST = 'WATCHING_FIRST_POST',
  TRACKING = 'TRACKING',
  NORMAL = 'NORMAL',
  MUTED = 'MUTED',
}
registerEnumType(WatchLevel, {
  name: 'WatchLevel',
  description:
    'WATCHING: every new topic and reply. WATCHING_FIRST_POST (boards and tags only): every new topic, not its replies. TRACKING: unread counts only. NORMAL: mentions and replies to you. MUTED: nothing, not even mentions.',
});

@ObjectType('Notification')
export class NotificationModel {
  @Field(() => ID) id!: string;
  @Field({ description: 'MENTION, GROUP_MENTION (data.group: the group’s slug as it is now, data.groupId its id; both null once you may no longer see the group, or it is gone), QUOTED, REPLY, WATCHED_REPLY, NEW_TOPIC, ANSWER_ACCEPTED, REACTIONS, POST_EDITED (someone else’s edit of your post, one per post an hour), POST_MOVED (a moderator moved your posts: data.count, the post the first), POST_HIDDEN, POST_APPROVED, POST_REMOVED (data.number; a removed topic, number 1, is no longer yours to open: data.title names it as it is titled now; post is the removed post once you may read it in full again, restored, and null until then), SANCTION, APPEAL_DECIDED, REPORT_RESOLVED, BOOKMARK_REMINDER (data.note: the bookmark’s note, if any), GROUP_MEMBERSHIP_REQUEST (to a group’s owners, or the admins when it has none: data.requestId, data.group the slug and data.groupName the name as they are now, data.groupId its id, data.requester the handle), GROUP_MEMBERSHIP_DECIDED (to the requester: data.accepted, data.group, data.groupName, data.groupId, data.requestId), GROUP_REQUEST_CLOSED (to the requester, when the group stopped taking requests and their waiting request was ended: data.joining, OPEN (join it yourself) or CLOSED (its owners add people), data.group, data.groupName, data.groupId, data.requestId; shown while you see the group); for the three, group, groupName and groupId are null once you may no longer see the group, and the kinds idea boards and the knowledge base add (see the README)' }) kind!: string;
  @Field({ description: 'JSON with details (e.g. the reaction count).' }) data!: string;
  @Field() createdAt!: Date;
  @Field(() => Date, { nullable: true }) readAt!: Date | null;
  topicId!: string | null;
  postId!: string | null;
  /** The post a removal (POST_REMOVED) is of, shown as `post` only while its recipient reads it in full (`removedPosts`). */
  removedPostId!: string | null;
  actorId!: string | null;
}
export const NotificationConnection = ConnectionType(NotificationModel, 'Notification');

@ArgsType()
export class NotificationArgs extends PageArgs {
  @Field({ nullable: true }) @IsOptional() @IsBoolean() unreadOnly?: boolean;
}

@InputType()
export class WatchInput {
  @Field(() => ID) @IsUUID(ID_VERSION, { message: 'must be a topic id' }) topicId!: string;
  @Field(() => WatchLevel) @IsEnum(WatchLevel) level!: WatchLevel;
}

@InputType()
export class WatchBoardInput {
  @Field(() => ID) @IsUUID(ID_VERSION, { message: 'must be a board id' }) boardId!: string;
  @Field(() => WatchLevel) @IsEnum(WatchLevel) level!: WatchLevel;
}

@InputType()
export class WatchTagInput {
  @Field({ description: 'A tag, as topics carry it (lower-case a-z, 0-9 and -); it need not be in use yet.' })
  @Transform(normalizeTag) @Matches(TAG_RE, { message: 'must be a tag' })
  tag!: string;
  @Field(() => WatchLevel, { description: 'NORMAL stops watching or muting the tag.' }) @IsEnum(WatchLevel) level!: WatchLevel;
}

@ObjectType('TagWatch')
export class TagWatchModel {
  @Field() tag!: string;
  @Field(() => WatchLevel) level!: WatchLevel;
}

/** How many tags one member may watch or mute. */
export const TAG_WATCHES_MAX = 200;

const WATCH_LEVELS = 'loader:topicWatchLevels';
const BOARD_WATCH_LEVELS = 'loader:boardWatchLevels';

/** A notification as its recipient would see it: who, and what it is about. */
export interface NotificationSubject {
  viewer: Viewer | null;
  postId: string | null | undefined;
  topicId: string | null | undefined;
  kind: string;
  data: unknown;
}

/**
 * Some notifications are for fewer people than their topic's readers: an article's review
 * steps are its team's, even when the article itself is published for all. The module that
 * adds such kinds says which of its notifications it narrows and who may still see them, in
 * code (the list, delivery, the e-mail) and in SQL (the counts), which must agree.
 */
export interface NotificationAudience {
  /** Whether it narrows a notification of this kind and data. */
  narrows(kind: string, data: unknown): boolean;
  /** The same, in SQL on a notification row (alias `n`: its `kind` and `data`). */
  readonly narrowsSql: string;
  /**
   * Whether each viewer may still see such a notification about the topic, the rows read through
   * `rowsVia`'s loaders: those `check` read the posts and topics through, so a delivery reads each
   * row once, whichever recipient comes first among the items an audience narrows.
   */
  sees(items: ReadonlyArray<{ viewer: Viewer; topicId: string }>, rowsVia: Viewer): Promise<boolean[]>;
  /** The same, in SQL (alias `n`: its `topic_id`; `$1` the viewer, `$3` the spaces they moderate). */
  readonly seesSql: string;
}

/** Kinds about a request to join a group (`data.requestId`), which `groupNoticeSql` shows. */
export const GROUP_REQUEST_KINDS = ['GROUP_MEMBERSHIP_REQUEST', 'GROUP_MEMBERSHIP_DECIDED', 'GROUP_REQUEST_CLOSED'];

/**
 * Whether a notice about a request to join a group (its `kind`, `requestId` as a uuid) still
 * reaches the user `viewer` (SQL expressions): the request is still there, did not end without a
 * decision (`ended`: withdrawn, its requester put in another way or their account deleted, which
 * keep it) but for GROUP_REQUEST_CLOSED, the news of its ending because the group stopped taking
 * requests (JOINING_CHANGED), and its requester's account was not deleted since; a request, the
 * news of the group's managers, while they still manage it (one of its owners, or an admin); a
 * decision or a closing, the requester's, while they still see the group (`seesGroupSql`). An owner taken off
 * the group, or a group hidden since, learns nothing more of it from its notices, as from its
 * fields.
 */
function groupNoticeSql(viewer: string, kind: string, requestId: string): string {
  return `EXISTS (
    SELECT 1 FROM group_requests gr JOIN users gv ON gv.id = ${viewer} JOIN groups g ON g.id = gr.group_id JOIN users gu ON gu.id = gr.user_id
     WHERE gr.id = ${requestId} AND gu.deleted_at IS NULL
       AND (CASE WHEN ${kind} = 'GROUP_REQUEST_CLOSED' THEN gr.ended = 'JOINING_CHANGED' ELSE gr.ended IS NULL END)
       AND CASE WHEN ${kind} = 'GROUP_MEMBERSHIP_REQUEST'
                THEN gv.role = 'ADMIN' OR EXISTS (SELECT 1 FROM group_members o WHERE o.group_id = g.id AND o.user_id = gv.id AND o.owner)
                ELSE ${seesGroupSql('g', { viewer: 'gv.id', admin: "gv.role = 'ADMIN'" })} END)`;
}

/**
 * The outcome of a report (`data.reviewItemId`, the item its report was gathered on), about
 * neither a post nor a topic: told and shown while its reporter reads the space the item is in
 * now. Reported content a moderator moved to a space the reporter does not read is decided
 * there, by its moderators, and the reporter learns nothing of it (it goes with its review
 * items); one out of the reporter's reach since (their access gone) goes from their list too.
 */
const REPORT_RESOLVED = 'REPORT_RESOLVED';

/**
 * The rule above, the one place it is said: SQL true while the outcome of a report, its item
 * `itemId` (SQL naming a uuid), is shown to a reporter who reads the spaces `readable` (SQL, a
 * uuid[]): its item is in one of them, or in none (the site-wide queue), or gone. The count
 * (`sql`, the spaces of the viewer's session as $2) and `check` (each recipient's, from theirs)
 * both ask it, so the list, its count and every delivery agree.
 */
function reportOutcomeShownSql(itemId: string, readable: string): string {
  return `NOT EXISTS (SELECT 1 FROM review_items ri WHERE ri.id = ${itemId} AND ri.space_id IS NOT NULL AND NOT (ri.space_id = ANY(${readable})))`;
}

/**
 * Whether a notification tells of a topic's removal: its first post removed by a moderator
 * (POST_REMOVED, `data.number` 1), which took the topic with it. It is about a deleted topic,
 * which its author reads no more than anyone, so it is judged as if the topic were hidden: its
 * author (whom it is for) and the space's moderators read it, while they may read the space.
 * Its title is read as the topic has it now (`asSeenSql`), never as it was when it was removed.
 */
export function removesTopic(kind: string, data: unknown): boolean {
  return kind === 'POST_REMOVED' && (data as { number?: unknown } | null)?.number === 1;
}
/** `removesTopic` in SQL, on a notification's `kind` and `data` columns. */
function removesTopicSql(kind: string, data: string): string {
  return `(${kind} = 'POST_REMOVED' AND ${data}->>'number' = '1')`;
}

/**
 * The SQL rule below as a condition: $1 the viewer, $2 the spaces they read, $3 those they
 * moderate (for counting, alias `n`).
 */
const CAN_READ = { viewer: '$1', readable: '$2', moderated: '$3' };
const READABLE_NOTIFICATION_SQL = `(
  (n.post_id IS NULL AND n.topic_id IS NULL
    AND (n.kind NOT IN (${GROUP_REQUEST_KINDS.map((k) => `'${k}'`).join(', ')}) OR ${groupNoticeSql('$1::uuid', 'n.kind', "(n.data->>'requestId')::uuid")})
    AND (n.kind <> '${REPORT_RESOLVED}' OR ${reportOutcomeShownSql("(n.data->>'reviewItemId')::uuid", '$2::uuid[]')}))
  OR EXISTS (
    SELECT 1 FROM topics t
      LEFT JOIN posts p ON p.id = n.post_id
      -- A removed topic, judged as a hidden one (removesTopic).
      CROSS JOIN LATERAL (SELECT t.space_id, t.author_id, 'HIDDEN'::text AS state) removed
     WHERE t.id = COALESCE(p.topic_id, n.topic_id)
       AND (n.post_id IS NULL OR p.id IS NOT NULL)
       AND (${fullViewSql('t', CAN_READ)} OR (${removesTopicSql('n.kind', 'n.data')} AND t.state = 'DELETED' AND ${fullViewSql('removed', CAN_READ)}))
       AND (n.post_id IS NULL OR ${fullViewSql('p', CAN_READ)})))`;

/** The viewer whose loaders read every row `check` judges `items` by: the first recipient there is. */
const rowsViaOf = (items: ReadonlyArray<{ viewer: Viewer | null }>): Viewer | undefined => items.find((n): n is { viewer: Viewer } => !!n.viewer)?.viewer;

/**
 * Whether a notification may be shown to its recipient: the post it is about must be readable
 * in full (its topic too), or, for one about a topic alone, the topic (a removed one as if it were
 * hidden, `removesTopic`); one about neither only
 * needs a recipient, but for news of a request to join a group (`groupNoticeSql`). An audience a module registered (`register`) may narrow that further.
 * Access may change after a notification is written (a post hidden, a topic moved to a
 * restricted space, an article handed to another owner), so delivery, the in-app list and the
 * e-mail digest all ask `check`, and the counts `sql`, and nothing else.
 */
@Injectable()
export class NotificationVisibility {
  private readonly audiences: NotificationAudience[] = [];

  constructor(
    private readonly forum: ForumLoaders,
    private readonly ds: DataSource,
    private readonly access: AccessService,
  ) {}

  register(audience: NotificationAudience): void {
    this.audiences.push(audience);
  }

  /**
   * `check` in SQL, for counting (alias `n`, with `kind`, `data`, `post_id` and `topic_id`):
   * $1 the viewer, $2 the spaces they read, $3 those they moderate.
   */
  sql(): string {
    return `(${READABLE_NOTIFICATION_SQL}${this.audiences.map((a) => ` AND (NOT ${a.narrowsSql} OR ${a.seesSql})`).join('')})`;
  }

  /**
   * Each post or topic is read once for all the recipients who share it; one recipient's
   * notifications are read together (the forum's loaders batch them).
   */
  async check(items: readonly NotificationSubject[]): Promise<boolean[]> {
    // Rows do not depend on who reads them: one viewer's loaders read them all, so every post,
    // topic and article of the run comes in one statement each, however many recipients they have.
    const rowsVia = rowsViaOf(items);
    if (!rowsVia) return items.map(() => false);
    const visible = await this.readable(items, rowsVia);
    for (const audience of this.audiences) {
      const narrowed = items.flatMap((n, i) => (visible[i] && n.topicId && audience.narrows(n.kind, n.data) ? [i] : []));
      if (narrowed.length === 0) continue;
      const seen = await audience.sees(narrowed.map((i) => ({ viewer: items[i].viewer!, topicId: items[i].topicId! })), rowsVia);
      narrowed.forEach((i, j) => (visible[i] = seen[j]));
    }
    return visible;
  }

  /**
   * The post each removal notice (POST_REMOVED) is of (its `removed_post_id`), as its recipient
   * reads it now, when they read it in full (restored since, or staff) while it is in the notice's
   * topic (which follows the post when it is moved, `movePosts`; a row that does not agree, the
   * post moved meanwhile, points at nothing it shows); else null.
   * Decided by `check`, as every notice about a post is (the post readable in full, its topic too,
   * then the audiences), and by nothing else: the app's `Notification.post` and the e-mail's link
   * (`EmailDigest.removalLinks`) both ask this. A post not readable in full (still removed, hidden
   * from its author, or out of their reach) gives nothing, no placeholder either. Each post and
   * its topic are read once for all the items, through the forum's loaders, the rows memoized on
   * the viewer `check` reads them through: a run of the e-mail, or a page of notices (one call per
   * notice, which the loaders batch), costs the same statements however many it holds.
   */
  async removedPosts(items: ReadonlyArray<{ viewer: Viewer | null; postId: string | null; topicId: string | null }>): Promise<Array<PostModel | null>> {
    const asked = items.map((n) => (n.viewer && n.postId && n.topicId ? { viewer: n.viewer, postId: n.postId, topicId: n.topicId } : null));
    const subjects = asked.map((n) => ({ viewer: n?.viewer ?? null, postId: n?.postId ?? null, topicId: n?.topicId ?? null, kind: 'POST_REMOVED', data: null }));
    const seen = await this.check(subjects);
    // The viewer `check` read the rows through: nothing is read again.
    const rowsVia = rowsViaOf(subjects);
    const byPost = groupBy([...asked.keys()].filter((i) => asked[i] && seen[i]), (i) => asked[i]!.postId);
    const posts: Array<PostModel | null> = items.map(() => null);
    await Promise.all(
      [...byPost].map(async ([postId, group]) => {
        const read = await this.forum.postForEach(group.map((i) => asked[i]!.viewer), postId, rowsVia);
        group.forEach((i, j) => (posts[i] = read[j]?.topicId === asked[i]!.topicId ? read[j] : null));
      }),
    );
    return posts;
  }

  private async readable(items: readonly NotificationSubject[], rowsVia: Viewer): Promise<boolean[]> {
    const visible = items.map((n) => !!n.viewer && !n.postId && !n.topicId);
    const groups = groupBy(
      [...items.keys()].filter((i) => items[i].viewer && (items[i].postId || items[i].topicId)),
      (i) => {
        const n = items[i];
        return n.postId ? `post ${n.postId}` : `${removesTopic(n.kind, n.data) ? 'removed ' : ''}topic ${n.topicId}`;
      },
    );
    await Promise.all([
      this.groupNotices(items, visible),
      this.reportOutcomes(items, visible),
      ...[...groups.values()].map(async (group) => {
        const viewers = group.map((i) => items[i].viewer!);
        const { postId, topicId, kind, data } = items[group[0]];
        const seen = postId
          ? (await this.forum.postForEach(viewers, postId, rowsVia)).map((p) => p?.view === 'full')
          : removesTopic(kind, data)
            ? await this.forum.removedTopicSeenBy(viewers, topicId!, rowsVia)
            : (await this.forum.topicForEach(viewers, topicId!, rowsVia)).map((t) => t !== null);
        group.forEach((i, j) => (visible[i] = seen[j]));
      }),
    ]);
    return visible;
  }

  /** Notices of requests to join groups among `items` (visible so far) that `groupNoticeSql` no longer lets through: one statement for all. */
  private async groupNotices(items: readonly NotificationSubject[], visible: boolean[]): Promise<void> {
    const asked = items.flatMap((n, i) => (visible[i] && GROUP_REQUEST_KINDS.includes(n.kind) ? [i] : []));
    if (asked.length === 0) return;
    const requestOf = (n: NotificationSubject) => {
      const id = (n.data as { requestId?: unknown } | null)?.requestId;
      return typeof id === 'string' && isUuid(id) ? id : null;
    };
    const rows: Array<{ i: string }> = await this.ds.query(
      `SELECT x.i FROM unnest($1::uuid[], $2::uuid[], $3::text[]) WITH ORDINALITY AS x(viewer, request, kind, i)
        WHERE ${groupNoticeSql('x.viewer', 'x.kind', 'x.request')}`,
      [asked.map((i) => items[i].viewer!.id), asked.map((i) => requestOf(items[i])), asked.map((i) => items[i].kind)],
    );
    const seen = new Set(rows.map((r) => Number(r.i) - 1));
    asked.forEach((i, j) => (visible[i] = seen.has(j)));
  }

  /**
   * Outcomes of reports (REPORT_RESOLVED) among `items` (visible so far) that `reportOutcomeShownSql`
   * no longer shows, each recipient judged on the spaces they read (`readableSpaceIds`, read once per
   * viewer, as the count reads them): one statement for all.
   */
  private async reportOutcomes(items: readonly NotificationSubject[], visible: boolean[]): Promise<void> {
    const asked = items.flatMap((n, i) => (visible[i] && n.kind === REPORT_RESOLVED ? [i] : []));
    if (asked.length === 0) return;
    const itemOf = (n: NotificationSubject) => {
      const id = (n.data as { reviewItemId?: unknown } | null)?.reviewItemId;
      return typeof id === 'string' && isUuid(id) ? id : null;
    };
    // Each recipient's spaces once (a PostgreSQL array literal of uuids), their items pointing at them.
    const readerOf = new Map(asked.map((i) => [items[i].viewer!, 0]));
    [...readerOf.keys()].forEach((v, k) => readerOf.set(v, k + 1));
    const readable = await Promise.all([...readerOf.keys()].map(async (v) => `{${(await this.access.readableSpaceIds(v)).join(',')}}`));
    const rows: Array<{ i: string }> = await this.ds.query(
      `SELECT x.i FROM unnest($1::uuid[], $2::int[]) WITH ORDINALITY AS x(item, reader, i)
        WHERE ${reportOutcomeShownSql('x.item', '($3::text[])[x.reader]::uuid[]')}`,
      [asked.map((i) => itemOf(items[i])), asked.map((i) => readerOf.get(items[i].viewer!)), readable],
    );
    const shown = new Set(rows.map((r) => Number(r.i) - 1));
    asked.forEach((i, j) => (visible[i] = shown.has(j)));
  }
}

interface Row {
  id: string;
  kind: string;
  data: unknown;
  created_at: Date;
  read_at: Date | null;
  topic_id: string | null;
  /** Where it leads: its post's topic now (`asSeenSql`). */
  shown_topic_id: string | null;
  post_id: string | null;
  removed_post_id: string | null;
  actor_id: string | null;
  k_ts: string;
}

/** How long notifications are kept once read, and at most. */
const NOTIFICATIONS_READ_RETENTION_DAYS = 90;
const NOTIFICATIONS_UNREAD_RETENTION_DAYS = 365;

/** The channel new notifications (and read ones, `tellRead`) are pushed on to live connections. */
export const NOTIFY_CHANNEL = 'parvis_notifications';

/** Most notification ids one `notifications:read` push names; past it, it names none (refetch). */
const READ_IDS_PUSHED = 100;

/**
 * Tells the user's live connections (every tab, every node) which of their notifications were
 * just marked read, through the notifications channel the worker pushes new ones on: at commit
 * when `q` is a transaction. Only ids, and only to their own room.
 */
async function tellRead(q: Queryable, userId: string, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  const payload = { userId, read: ids.length <= READ_IDS_PUSHED ? ids : null };
  await q.query(`SELECT pg_notify($1, $2)`, [NOTIFY_CHANNEL, JSON.stringify(payload)]);
}

/**
 * Kinds an ignored member's doing never brings: their words and reactions. Steps of a workflow
 * (an idea's status, an article's review), an accepted answer or a moderation notice reach
 * the member whoever took them: a space moderator they ignore still answers for the space.
 */
export const IGNORABLE_KINDS = ['MENTION', 'GROUP_MENTION', 'QUOTED', 'REPLY', 'WATCHED_REPLY', 'NEW_TOPIC', 'REACTIONS', 'ARTICLE_FEEDBACK'];

/** A notification's columns as the SQL below reads them (alias `n` by default). */
export interface NotificationColumns {
  userId: string;
  actorId: string;
  kind: string;
  data: string;
  topicId: string;
  postId: string;
}
const N: NotificationColumns = { userId: 'n.user_id', actorId: 'n.actor_id', kind: 'n.kind', data: 'n.data', topicId: 'n.topic_id', postId: 'n.post_id' };

/** Whether the recipient ignores a member (an id in SQL); staff are never ignored, even ones promoted since. */
export function ignoresSql(userId: string, memberId: string): string {
  return `EXISTS (
    SELECT 1 FROM user_ignores i JOIN users a ON a.id = i.ignored_user_id AND a.role = 'MEMBER'
     WHERE i.user_id = ${userId} AND i.ignored_user_id = ${memberId})`;
}

/**
 * A REACTIONS batch's reactors, `r(id, i)` in their order: its list, or its actor alone for a
 * batch from before batches listed them.
 */
function reactorsSql(n: NotificationColumns): string {
  const listed = `${n.data}->'reactors'`;
  return `jsonb_array_elements_text(CASE WHEN jsonb_typeof(${listed}) = 'array' AND ${listed} <> '[]'::jsonb THEN ${listed} ELSE jsonb_build_array(${n.actorId}) END)
    WITH ORDINALITY AS r(id, i)`;
}

/**
 * Whether a notification (its columns, alias `n` by default) is of IGNORABLE_KINDS and its actor
 * a member its recipient ignores, or, for a batch of reactions, whether its recipient ignores
 * every one of its reactors (one that holds someone else is shown as `asSeenSql` presents it);
 * or, of any kind, whether it brings the words of a member its recipient ignores other than its
 * actor (`data.writerId`: an article's first publication announced to those watching its board
 * or tags, which an editor makes, is its author's new topic, as NEW_TOPIC is).
 * Such news is not delivered, and what came before the ignore is left out wherever
 * notifications are read or counted (the list, its counts, markRead's count, the e-mail, a
 * live push), so unignoring brings it back and nothing has to be rewritten when either happens.
 */
export function fromIgnoredSql(n: NotificationColumns = N): string {
  return `((${n.kind} IN (${IGNORABLE_KINDS.map((k) => `'${k}'`).join(', ')}) AND CASE WHEN ${n.kind} = 'REACTIONS'
    THEN NOT EXISTS (SELECT 1 FROM ${reactorsSql(n)} WHERE NOT ${ignoresSql(n.userId, 'r.id::uuid')})
    ELSE ${ignoresSql(n.userId, n.actorId)} END)
    OR (${n.data}->>'writerId' IS NOT NULL AND ${ignoresSql(n.userId, `(${n.data}->>'writerId')::uuid`)}))`;
}

/**
 * The group a notice names by its id (`data.groupId`; columns as `fromIgnoredSql` takes them),
 * as a jsonb to lay over its data: its slug (`group`) and id, and with `named` its name
 * (`groupName`), as they are now while its recipient still sees it (`seesGroupSql`, as they are
 * now: taken out of a MEMBERS group, the group made OWNERS), all null once they may not, or once
 * it is gone. Found by the id stored with the notice, never by a slug: a group given a new slug
 * since is still the one named, and one that took its old slug is not. Read for a GROUP_MENTION
 * (notices stored with a slug alone were given the id by migration 1764997200000; those whose
 * group was already gone name none) and, named, for news of a request to join a group
 * (`GROUP_REQUEST_KINDS`, renamed by `updateGroup` as often as an admin likes; stored ones were
 * given their request's group by migration 1765008000000).
 */
function groupAsNowSql(n: NotificationColumns, named: boolean): string {
  const admin = `EXISTS (SELECT 1 FROM users ga WHERE ga.id = ${n.userId} AND ga.role = 'ADMIN')`;
  const fields: Array<[string, string]> = [['group', 'g.slug'], ['groupId', 'g.id'], ...(named ? [['groupName', 'g.name'] as [string, string]] : [])];
  return `COALESCE((SELECT jsonb_build_object(${fields.map(([key, column]) => `'${key}', ${column}`).join(', ')}) FROM groups g
                     WHERE g.id = (${n.data}->>'groupId')::uuid AND ${seesGroupSql('g', { viewer: n.userId, admin })}),
                   jsonb_build_object(${fields.map(([key]) => `'${key}', null`).join(', ')}))`;
}

/**
 * The duplicate an IDEA_MERGED notice names (`data.sourceId`), while its recipient may read it
 * in full as a topic (`fullViewSql`'s rule), in the space of the idea it went into, which the
 * notice is about and its recipient reads (else they read no notice at all): visible, or hidden or
 * pending and theirs, or in any state to those who moderate the space now (`AccessService.holdsSql`,
 * the access policy's SQL for `rankOn`: not one silenced there); else null.
 */
function mergedSourceAsSeenSql(n: NotificationColumns): string {
  return `(SELECT st.id FROM topics st JOIN topics tt ON tt.id = ${n.topicId} AND tt.space_id = st.space_id
            WHERE st.id = (${n.data}->>'sourceId')::uuid
              AND (st.state = 'VISIBLE' OR (st.author_id = ${n.userId} AND st.state IN ('PENDING', 'HIDDEN'))
                   OR ${AccessService.holdsSql(n.userId, 'st.space_id', AccessLevel.MODERATE)}))`;
}

/**
 * A post notice's `number` as the post is numbered now (`asSeenSql`), as jsonb to lay over its
 * data; else nothing. `post`: the alias of the notice's post where the statement already joins it.
 */
function numberNowSql(n: NotificationColumns, post?: string): string {
  if (post) return `CASE WHEN ${post}.id IS NOT NULL AND ${n.data} ? 'number' THEN jsonb_build_object('number', ${post}.number) ELSE '{}'::jsonb END`;
  return `COALESCE((SELECT jsonb_build_object('number', sp.number) FROM posts sp WHERE sp.id = ${n.postId} AND ${n.data} ? 'number'), '{}'::jsonb)`;
}

/**
 * A notification's `data` and `actor_id` as its recipient sees them (columns as `fromIgnoredSql`
 * takes them), wherever they are read (the list, a live push, the e-mail): a batch of reactions
 * leaves out the reactors they ignore, from its list and its count, and is named after the first
 * reactor left (the first with an account, as `withdrawReactor` names one); a GROUP_MENTION names
 * its group as it is now (`groupAsNowSql`), and a group they may no longer see not at all
 * (`group` and `groupId` null): it is still news of a post they read, so it stays, listed and
 * counted, but a slug would tell them of a group hidden from them. News of a request to join a
 * group names it so too, with its name as it is now (`groupName`; such news is shown at all only
 * while `groupNoticeSql` holds). An idea's merge names the duplicate only while they may read it
 * (`mergedSourceAsSeenSql`: `sourceId` null once it is hidden or deleted, but to those who
 * still read it so: its author a hidden one, its space's moderators either).
 * Anything else, and a batch with nobody ignored in it, reads as stored. Only for rows
 * `fromIgnoredSql` lets through: of a batch whose reactors are all ignored, nothing is left to show.
 * A topic's removal (`removesTopic`) carries the topic's `title` as it is now, and no removal ever
 * the title stored in it (notices written before titles were read this way held one): only those
 * `NotificationVisibility` lets through read the notice at all, so a topic moved out of their
 * reach, or retitled, shows them no title it had.
 * A notice about a post (`post_id`) leads to where the post is now: `topicId` is the post's topic,
 * and a `number` in its data the post's number (movePosts rewrites the rows of the posts it moves,
 * and a delivery stores a row where its post is when it writes it, `NotificationsHandler.deliver`;
 * rows stored before it did are corrected here). Only notices
 * `NotificationVisibility` lets through are read, and it judges the post where it is now: nobody
 * is shown a place they may not read. Any other notice's topic is its own (a removal's: the
 * notice's topic, `removedPosts`).
 * `post`: the alias of the notice's post (LEFT JOIN posts on its `post_id`) where the statement
 * already joins it, read there instead of looked up again for the topic and the number.
 */
export function asSeenSql(n: NotificationColumns = N, post?: string): { data: string; actorId: string; topicId: string } {
  const ignored = ignoresSql(n.userId, 'r.id::uuid');
  return {
    topicId: post ? `COALESCE(${post}.topic_id, ${n.topicId})` : `COALESCE((SELECT sp.topic_id FROM posts sp WHERE sp.id = ${n.postId}), ${n.topicId})`,
    data: `CASE WHEN ${n.kind} = 'REACTIONS' AND jsonb_typeof(${n.data}->'reactors') = 'array' THEN (
      SELECT CASE WHEN bool_or(r.ignored) THEN ${n.data} || jsonb_build_object(
               'reactors', COALESCE(jsonb_agg(to_jsonb(r.id) ORDER BY r.i) FILTER (WHERE NOT r.ignored), '[]'::jsonb),
               'count', COALESCE((${n.data}->>'count')::int, count(*)) - count(*) FILTER (WHERE r.ignored))
             ELSE ${n.data} END
        FROM (SELECT r.id, r.i, ${ignored} AS ignored FROM ${reactorsSql(n)}) r)
      WHEN ${n.kind} = 'GROUP_MENTION' THEN ${n.data} || ${groupAsNowSql(n, false)}
      WHEN ${n.kind} IN (${GROUP_REQUEST_KINDS.map((k) => `'${k}'`).join(', ')}) THEN ${n.data} || ${groupAsNowSql(n, true)}
      WHEN ${n.kind} = 'IDEA_MERGED' THEN ${n.data} || jsonb_build_object('sourceId', ${mergedSourceAsSeenSql(n)})
      WHEN ${n.kind} = 'POST_REMOVED' THEN (${n.data} - 'title') || CASE WHEN ${removesTopicSql(n.kind, n.data)}
        THEN COALESCE((SELECT jsonb_build_object('title', t.title) FROM topics t WHERE t.id = ${n.topicId}), '{}'::jsonb) ELSE '{}'::jsonb END
      ELSE ${n.data} END || ${numberNowSql(n, post)}`,
    actorId: `CASE WHEN ${n.kind} = 'REACTIONS' AND ${ignoresSql(n.userId, n.actorId)} THEN (
      SELECT u.id FROM ${reactorsSql(n)} JOIN users u ON u.id = r.id::uuid WHERE NOT ${ignored} ORDER BY r.i LIMIT 1)
      ELSE ${n.actorId} END`,
  };
}

/** Kinds that tell of a new post itself: reading the topic on past it reads them. */
export const READ_WITH_THE_TOPIC = ['MENTION', 'GROUP_MENTION', 'QUOTED', 'REPLY', 'WATCHED_REPLY', 'NEW_TOPIC'];

@Injectable()
export class NotificationsService {
  constructor(
    private readonly ds: DataSource,
    private readonly forum: ForumLoaders,
    private readonly spaces: SpacesLoader,
    private readonly access: AccessService,
    private readonly visibility: NotificationVisibility,
    private readonly members: UsersRepository,
  ) {}

  /**
   * A reader moved on in a topic (markRead): news of the posts they passed is read, so it is
   * neither counted as unread nor e-mailed. Not a mention an edit added to an older post: that
   * post was read before it named them.
   */
  async readThrough(tx: Tx, read: TopicRead): Promise<void> {
    const rows: Array<{ id: string }> = await tx.query(
      `UPDATE notifications n SET read_at = now() FROM posts p
        WHERE n.user_id = $1 AND n.read_at IS NULL AND n.kind = ANY($5::text[]) AND NOT COALESCE((n.data->>'edited')::boolean, false)
          AND p.id = n.post_id AND p.topic_id = $2 AND p.number > $3 AND p.number <= $4
        RETURNING n.id`,
      [read.userId, read.topicId, read.from, read.to, READ_WITH_THE_TOPIC],
    );
    await tellRead(tx, read.userId, rows.map((r) => r.id));
  }

  /**
   * Read notifications go after NOTIFICATIONS_READ_RETENTION_DAYS, unread ones after
   * NOTIFICATIONS_UNREAD_RETENTION_DAYS: every reply notifies every watcher, and nobody pages
   * back a year through a bell. Oldest first, down the creation index.
   */
  pruneOld(): Promise<number> {
    return pruneInBatches(
      this.ds,
      'notifications',
      `SELECT id FROM notifications
        WHERE created_at < now() - make_interval(days => $2) AND (read_at IS NOT NULL OR created_at < now() - make_interval(days => $3))
        ORDER BY created_at LIMIT $1`,
      [NOTIFICATIONS_READ_RETENTION_DAYS, NOTIFICATIONS_UNREAD_RETENTION_DAYS],
    );
  }

  /**
   * The viewer's notifications, newest first; any whose content they can no longer read, or
   * whose actor they now ignore (every reactor, for a batch of reactions), is left out, and not
   * counted; a batch of reactions reads without the reactors they ignore.
   */
  async list(viewer: Viewer, args: NotificationArgs): Promise<Connection<NotificationModel>> {
    if (!viewer.id) throw AppError.unauthenticated();
    const size = pageSize(args.first);
    const after = decodeCursor(args.after, 'notifications', 2) as [string, string] | undefined;
    if (after && !(validKeyValue(after[0], 'timestamptz') && validKeyValue(after[1], 'uuid'))) throw AppError.badField('after', 'is not a valid cursor');
    const where = `n.user_id = $1 ${args.unreadOnly ? 'AND n.read_at IS NULL' : ''} AND NOT ${fromIgnoredSql()}`;
    const seen = asSeenSql();
    const rows: Row[] = await this.ds.query(
      `SELECT id, kind, ${seen.data} AS data, created_at, read_at, topic_id, ${seen.topicId} AS shown_topic_id, post_id, removed_post_id, ${seen.actorId} AS actor_id, created_at::text AS k_ts FROM notifications n
        WHERE ${where} ${after ? 'AND (created_at, id) < ($3::timestamptz, $4::uuid)' : ''}
        ORDER BY created_at DESC, id DESC LIMIT $2`,
      after ? [viewer.id, size + 1, after[0], after[1]] : [viewer.id, size + 1],
    );
    // Loaded together so the forum's loaders batch them (two statements for the whole page).
    const visible = await this.visibility.check(rows.map((r) => ({ viewer, postId: r.post_id, topicId: r.topic_id, kind: r.kind, data: r.data })));
    const unseen = new Set(rows.filter((_, i) => !visible[i]).map((r) => r.id));
    // Paged over every row, then the unseen left out: the page may come up short, but
    // hasNextPage and endCursor still follow the whole list, so paging goes on past them.
    const connection = toConnection(
      rows,
      size,
      'notifications',
      (r) => [r.k_ts, r.id],
      (r) => Object.assign(new NotificationModel(), { id: r.id, kind: r.kind, data: JSON.stringify(r.data), createdAt: r.created_at, readAt: r.read_at, topicId: r.shown_topic_id, postId: r.post_id, removedPostId: r.removed_post_id, actorId: r.actor_id }),
      async () => {
        const spaces = await this.spacesAt(viewer);
        const [row] = await this.ds.query(`SELECT count(*)::int AS n FROM notifications n WHERE ${where} AND ${this.visibility.sql()}`, [
          viewer.id,
          spaces.readable,
          spaces.moderated,
        ]);
        return row.n;
      },
    );
    return { ...connection, edges: connection.edges.filter((e) => !unseen.has(e.node.id)) };
  }

  /** The parameters of VISIBLE_NOTIFICATION_SQL after the viewer: the spaces they read, and those they moderate. */
  private async spacesAt(viewer: Viewer): Promise<{ readable: string[]; moderated: string[] }> {
    const ranks = await this.access.spaceRanks(viewer);
    const at = (level: number) => [...ranks].filter(([, rank]) => rank >= level).map(([id]) => id);
    return { readable: at(LEVEL_RANK.READ), moderated: at(LEVEL_RANK.MODERATE) };
  }

  async markRead(viewer: Viewer, ids: string[] | undefined): Promise<number> {
    if (!viewer.id) throw AppError.unauthenticated();
    if (ids && ids.some((id) => !isUuid(id))) throw AppError.badField('ids', 'must be notification ids');
    if (ids && ids.length > 500) throw AppError.badField('ids', 'at most 500 at once');
    // Counted as the list counts them (one statement, whatever their number): one about what the
    // viewer can no longer read, or from someone they ignore (a batch of reactions: everyone in
    // it), is not theirs to count (it is
    // marked all the same: it would be news again if they stopped ignoring its actor).
    const spaces = await this.spacesAt(viewer);
    const rows: Array<{ id: string; visible: boolean }> = await this.ds.query(
      `WITH n AS (UPDATE notifications SET read_at = now() WHERE user_id = $1 AND read_at IS NULL ${ids ? 'AND id = ANY($4::uuid[])' : ''} RETURNING id, user_id, kind, data, actor_id, post_id, topic_id)
       SELECT id, ${this.visibility.sql()} AND NOT ${fromIgnoredSql()} AS visible FROM n`,
      [viewer.id, spaces.readable, spaces.moderated, ...(ids ? [ids] : [])],
    );
    await tellRead(this.ds, viewer.id, rows.map((r) => r.id));
    return rows.filter((r) => r.visible).length;
  }

  async watchTopic(viewer: Viewer, input: WatchInput): Promise<TopicModel> {
    if (!viewer.id) throw AppError.unauthenticated();
    if (input.level === WatchLevel.WATCHING_FIRST_POST) throw AppError.badField('level', 'WATCHING_FIRST_POST is for boards and tags; a topic has one first post');
    const topic = await this.forum.topic(viewer, input.topicId);
    if (!topic) throw AppError.notFound('Topic not found');
    await this.asMember(viewer, (m) =>
      m.query(
        `INSERT INTO topic_watches (user_id, topic_id, level) VALUES ($1, $2, $3)
         ON CONFLICT (user_id, topic_id) DO UPDATE SET level = EXCLUDED.level, via_merge_of = NULL, updated_at = now()`,
        [viewer.id, topic.id, input.level],
      ),
    );
    viewer.peek<DataLoader<string, WatchLevel>>(WATCH_LEVELS)?.clear(topic.id);
    return topic;
  }

  async watchBoard(viewer: Viewer, input: WatchBoardInput): Promise<BoardModel> {
    if (!viewer.id) throw AppError.unauthenticated();
    const board = await this.spaces.board(viewer, input.boardId);
    if (!board) throw AppError.notFound('Board not found');
    await this.asMember(viewer, (m) =>
      m.query(
        `INSERT INTO board_watches (user_id, board_id, level) VALUES ($1, $2, $3)
         ON CONFLICT (user_id, board_id) DO UPDATE SET level = EXCLUDED.level, updated_at = now()`,
        [viewer.id, board.id, input.level],
      ),
    );
    viewer.peek<DataLoader<string, WatchLevel>>(BOARD_WATCH_LEVELS)?.clear(board.id);
    // Every topic of the board may follow it: later fields of the request read levels afresh.
    viewer.forget(WATCH_LEVELS);
    return board;
  }

  /**
   * Sets the viewer's level on a tag, wherever it is used (NORMAL removes it). Up to
   * TAG_WATCHES_MAX tags; changing one already set is always allowed.
   */
  async watchTag(viewer: Viewer, input: WatchTagInput): Promise<TagWatchModel> {
    if (!viewer.id) throw AppError.unauthenticated();
    if (input.level === WatchLevel.NORMAL) {
      await this.ds.query(`DELETE FROM tag_watches WHERE user_id = $1 AND tag = $2`, [viewer.id, input.tag]);
      viewer.forget(WATCH_LEVELS);
      return Object.assign(new TagWatchModel(), { tag: input.tag, level: WatchLevel.NORMAL });
    }
    // One member's tag watches change one at a time, so two requests cannot both pass the cap.
    const rows = await this.asMember(viewer, async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended('parvis:tag-watches:' || $1::text, 0))`, [viewer.id]);
      return tx.query(
        `INSERT INTO tag_watches (user_id, tag, level)
         SELECT $1, $2, $3
          WHERE EXISTS (SELECT 1 FROM tag_watches WHERE user_id = $1 AND tag = $2)
             OR (SELECT count(*) FROM tag_watches WHERE user_id = $1) < $4
         ON CONFLICT (user_id, tag) DO UPDATE SET level = EXCLUDED.level, updated_at = now()
         RETURNING tag`,
        [viewer.id, input.tag, input.level, TAG_WATCHES_MAX],
      );
    });
    if (rows.length === 0) throw AppError.badField('tag', `you can watch or mute at most ${TAG_WATCHES_MAX} tags; set one you no longer follow to NORMAL first`);
    viewer.forget(WATCH_LEVELS);
    return Object.assign(new TagWatchModel(), { tag: input.tag, level: input.level });
  }

  /**
   * A write of the viewer's own (a watch), in a transaction holding their account first
   * (`UsersRepository.holdMember`): an account deletion under way waits for it and takes what it
   * wrote, or it waits for the deletion and finds the account gone (UNAUTHENTICATED, nothing written).
   */
  private asMember<T>(viewer: Viewer, write: (m: EntityManager) => Promise<T>): Promise<T> {
    return this.ds.transaction(async (m) => {
      if (!(await this.members.holdMember(m, viewer.id!))) throw AppError.unauthenticated();
      return write(m);
    });
  }

  /** The tags the viewer watches, tracks or mutes, by name. */
  async tagWatches(viewer: Viewer): Promise<TagWatchModel[]> {
    if (!viewer.id) throw AppError.unauthenticated();
    const rows: Array<{ tag: string; level: WatchLevel }> = await this.ds.query(`SELECT tag, level FROM tag_watches WHERE user_id = $1 ORDER BY tag`, [viewer.id]);
    return rows.map((r) => Object.assign(new TagWatchModel(), r));
  }

  /** The viewer's own level on a board (batched per request); null when anonymous. */
  async boardLevel(viewer: Viewer, boardId: string): Promise<WatchLevel | null> {
    const userId = viewer.id;
    if (!userId) return null;
    const loader = viewer.memoize(BOARD_WATCH_LEVELS, () => new DataLoader<string, WatchLevel>(async (ids) => {
      const rows: Array<{ board_id: string; level: WatchLevel }> = await this.ds.query(
        `SELECT board_id, level FROM board_watches WHERE user_id = $1 AND board_id = ANY($2::uuid[])`,
        [userId, ids],
      );
      const levels = new Map(rows.map((r) => [r.board_id, r.level]));
      return ids.map((id) => levels.get(id) ?? WatchLevel.NORMAL);
    }));
    return loader.load(boardId);
  }

  /**
   * The viewer's watch level on a topic as notifications apply it: the topic's own, else what
   * its board and tags give (see inheritedWatchesSql; batched per request: lists of topics ask
   * for it on every one).
   */
  async topicLevel(viewer: Viewer, topicId: string): Promise<WatchLevel | null> {
    const userId = viewer.id;
    if (!userId) return null;
    const loader = viewer.memoize(WATCH_LEVELS, () => new DataLoader<string, WatchLevel>(async (ids) => {
      const rows: Array<{ topic_id: string; level: WatchLevel | null }> = await this.ds.query(
        `SELECT t.id AS topic_id,
                COALESCE(tw.level, (SELECT i.level FROM (${inheritedWatchesSql('t.id')}) i WHERE i.user_id = $1)) AS level
           FROM topics t
           LEFT JOIN topic_watches tw ON tw.topic_id = t.id AND tw.user_id = $1
          WHERE t.id = ANY($2::uuid[])`,
        [userId, ids],
      );
      const levels = new Map(rows.map((r) => [r.topic_id, r.level]));
      return ids.map((id) => levels.get(id) ?? WatchLevel.NORMAL);
    }));
    return loader.load(topicId);
  }
}

@Resolver(() => NotificationModel)
export class NotificationsResolver {
  constructor(
    private readonly service: NotificationsService,
    private readonly forum: ForumLoaders,
    private readonly users: UsersLoader,
    private readonly visibility: NotificationVisibility,
  ) {}

  @Query(() => NotificationConnection, { description: 'The viewer’s notifications, newest first.' })
  notifications(@Args() args: NotificationArgs, @Context() ctx: GqlContext) {
    return this.service.list(ctx.viewer, args);
  }

  @Mutation(() => Int, { description: 'Marks notifications read (all when ids is absent); returns how many.' })
  markNotificationsRead(@Args('ids', { type: () => [ID], nullable: true }) ids: string[] | undefined, @Context() ctx: GqlContext) {
    return this.service.markRead(ctx.viewer, ids);
  }

  @Mutation(() => TopicModel, { description: 'Set your watch level for a topic (WATCHING, TRACKING, NORMAL or MUTED).' })
  watchTopic(@Args('input') input: WatchInput, @Context() ctx: GqlContext) {
    return this.service.watchTopic(ctx.viewer, input);
  }

  @Mutation(() => BoardModel, { description: 'Set your watch level for a board: new topics and replies notify you accordingly.' })
  watchBoard(@Args('input') input: WatchBoardInput, @Context() ctx: GqlContext) {
    return this.service.watchBoard(ctx.viewer, input);
  }

  @Mutation(() => TagWatchModel, {
    description: `Set your watch level for a tag, in every space you read: its topics notify you as a board's would (MUTED wins over any board or tag you watch; a topic's own level wins over both). NORMAL removes it. At most ${TAG_WATCHES_MAX} tags.`,
  })
  watchTag(@Args('input') input: WatchTagInput, @Context() ctx: GqlContext) {
    return this.service.watchTag(ctx.viewer, input);
  }

  @Query(() => [TagWatchModel], { description: 'The tags you watch, track or mute, by name.' })
  tagWatches(@Context() ctx: GqlContext) {
    return this.service.tagWatches(ctx.viewer);
  }

  @ResolveField(() => TopicModel, { nullable: true })
  topic(@Parent() n: NotificationModel, @Context() ctx: GqlContext) {
    return n.topicId ? this.forum.topic(ctx.viewer, n.topicId) : null;
  }

  @ResolveField(() => PostModel, {
    nullable: true,
    description: 'The post it is about, as you read it now. For a removal (POST_REMOVED), the removed post once you may read it in full again (restored), and null while you may not.',
  })
  async post(@Parent() n: NotificationModel, @Context() ctx: GqlContext) {
    if (n.removedPostId) return (await this.visibility.removedPosts([{ viewer: ctx.viewer, postId: n.removedPostId, topicId: n.topicId }]))[0];
    return n.postId ? this.forum.post(ctx.viewer, n.postId) : null;
  }

  @ResolveField(() => UserModel, { nullable: true })
  actor(@Parent() n: NotificationModel, @Context() ctx: GqlContext) {
    return n.actorId ? this.users.load(ctx.viewer, n.actorId) : null;
  }
}

@Resolver(() => TopicModel)
export class TopicWatchResolver {
  constructor(private readonly service: NotificationsService) {}

  @ResolveField(() => WatchLevel, {
    nullable: true,
    description: 'How closely the viewer follows this topic: its own level, else MUTED if they muted its board or a tag, else the closest of its board’s and tags’ levels; null when anonymous.',
  })
  viewerWatchLevel(@Parent() t: TopicModel, @Context() ctx: GqlContext) {
    return this.service.topicLevel(ctx.viewer, t.id);
  }
}

@Resolver(() => BoardModel)
export class BoardWatchResolver {
  constructor(private readonly service: NotificationsService) {}

  @ResolveField(() => WatchLevel, { nullable: true, description: 'The viewer’s own watch level on this board (NORMAL when they set none); null when anonymous.' })
  viewerWatchLevel(@Parent() b: BoardModel, @Context() ctx: GqlContext) {
    return this.service.boardLevel(ctx.viewer, b.id);
  }
}
