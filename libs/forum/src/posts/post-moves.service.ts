import { Injectable } from '@nestjs/common';
import { AccessLevel } from '../../../access/src/access-level';
import { AccessService } from '../../../access/src/access.service';
import { AuditLog } from '../../../core/src/audit/audit-log';
import { Tx, UnitOfWork } from '../../../core/src/database/unit-of-work';
import { AppError } from '../../../core/src/errors';
import { Viewer } from '../../../core/src/graphql/viewer';
import { newId } from '../../../core/src/ids';
import { BoardKind } from '../../../spaces/src/boards/board.model';
import { SpacesLoader } from '../../../spaces/src/spaces.loader';
import { ForumLoaders } from '../forum.loaders';
import { ContentState, TopicKind } from '../forum.enums';
import { PostingPolicy } from '../posting-policy';
import { TopicModel, TopicRow, toTopicModel } from '../topics/topic.model';
import { TOPIC_COLUMNS } from '../topics/topics.repository';
import { TopicsService } from '../topics/topics.service';
import { appendMove } from '../move-log';
import { fileReportsOnNewTopic, moveReviewItems } from '../moved-review-items';
import { MovePostsInput } from './dto/move-posts.input';
import { highestPostNumberSql, lastShownPostSql, raiseTopicWhenShownSql } from './last-shown-post';

/** Where the moved posts go: an existing topic, or a new one in a board. */
type Destination =
  | { kind: 'topic'; topic: TopicModel; rank: number }
  | { kind: 'new'; boardId: string; spaceId: string; title: string; tags: string[]; rank: number; stored: (tx: Tx, firstPostId: string) => Promise<void> };

/** A moved post as read under its row lock. */
interface MovedRow {
  id: string;
  topic_id: string;
  number: number;
  author_id: string;
  state: ContentState;
  deleted_from: ContentState | null;
  reaction_total: number;
  created_at: Date;
}

/** One post of a `post.moved` event: where it was (and as what), and its number now. */
export type MovedPost = {
  postId: string;
  fromNumber: number;
  number: number;
  state: ContentState;
  /** What a deleted one was before (`posts.deleted_from`): PENDING, it was never its topic's readers' to see. Null otherwise. */
  deletedFrom: ContentState | null;
  authorId: string;
  /** The version its `post:removed` from the topic it left carries: drawn by the move below the one it left the post with, which its arrival carries (absent from a move an older release committed). */
  version: number;
};

/**
 * The payload of `post.moved`, one event per move: from `topicId` (in `fromSpaceId`,
 * `fromBoardId`) to `toTopicId` (in `spaceId`, `boardId`; `newTopic` when the move split it
 * off), by `moverId`, the posts by their new numbers, and the replies it left answering nothing.
 */
export type PostsMovedPayload = {
  topicId: string;
  moverId: string;
  fromSpaceId: string;
  fromBoardId: string;
  toTopicId: string;
  spaceId: string;
  boardId: string;
  newTopic: boolean;
  posts: MovedPost[];
  /** The replies left in `topicId` to a moved post, which answer nothing now (live rooms hear them changed). */
  detachedReplyIds: string[];
};

/** The topics forum boards hold (moves of posts stay among them). */
const FORUM_KINDS: readonly string[] = [TopicKind.DISCUSSION, TopicKind.QUESTION];

/**
 * Moderators move replies out of a topic (Discourse's "move posts"): split into a new topic,
 * whose first post the earliest of them becomes, or merged into an existing one, appended
 * after its last post. Posts keep their ids (links by id keep working) and take new numbers;
 * the mover moderates both sides, as for moveTopic, since the posts may change audience.
 */
@Injectable()
export class PostMovesService {
  constructor(
    private readonly topics: TopicsService,
    private readonly loaders: ForumLoaders,
    private readonly access: AccessService,
    private readonly spaces: SpacesLoader,
    private readonly uow: UnitOfWork,
    private readonly audit: AuditLog,
    private readonly policy: PostingPolicy,
  ) {}

  async move(viewer: Viewer, input: MovePostsInput): Promise<TopicModel> {
    if (!viewer.signedIn) throw AppError.unauthenticated();
    if ((input.toTopicId == null) === (input.newTopic == null)) {
      throw AppError.badInput(['toTopicId', 'newTopic'].map((field) => ({ field, message: 'give exactly one of toTopicId, newTopic' })));
    }
    const postIds = [...new Set(input.postIds)];
    const posts = await Promise.all(postIds.map((id) => this.loaders.post(viewer, id)));
    if (posts.some((p) => !p)) throw AppError.notFound('Post not found');
    const sourceId = posts[0]!.topicId;
    if (posts.some((p) => p!.topicId !== sourceId)) throw AppError.badField('postIds', 'must all be posts of one topic');
    const { topic: source } = await this.topics.moderated(viewer, sourceId);
    if (posts.some((p) => p!.number === 1)) throw AppError.badField('postIds', 'a topic’s first post moves with its topic: use moveTopic');
    // A deleted topic's posts are not brought back by moving them out of it.
    if (source.state === ContentState.DELETED) throw AppError.notFound('Topic not found');
    if (!FORUM_KINDS.includes(source.kind)) throw AppError.badField('postIds', 'only posts of forum topics move');
    const to = await this.destination(viewer, input, source);
    const row = await this.uow.run((tx) => this.write(tx, viewer.id!, source, to, postIds));
    this.loaders.forget(viewer, { topicId: source.id });
    this.loaders.forget(viewer, { topicId: row.id });
    for (const id of postIds) this.loaders.forget(viewer, { postId: id });
    return toTopicModel(row, to.rank);
  }

  /** The destination, checked as moveTopic checks its board: NOT_FOUND unless the mover reads it, FORBIDDEN unless they moderate it. */
  private async destination(viewer: Viewer, input: MovePostsInput, source: TopicModel): Promise<Destination> {
    if (input.toTopicId) {
      const { topic, rank } = await this.topics.moderated(viewer, input.toTopicId);
      if (topic.state === ContentState.DELETED) throw AppError.notFound('Topic not found');
      if (topic.id === source.id) throw AppError.badField('toTopicId', 'the posts are already in this topic');
      if (!FORUM_KINDS.includes(topic.kind)) throw AppError.badField('toTopicId', 'must be a forum topic');
      return { kind: 'topic', topic, rank };
    }
    const wanted = input.newTopic!;
    const board = await this.spaces.board(viewer, wanted.boardId);
    if (!board) throw AppError.notFound('Board not found');
    const rank = await this.access.require(viewer, board.spaceId, AccessLevel.MODERATE, 'Board not found');
    if (board.kind !== BoardKind.FORUM) throw AppError.badField('newTopic.boardId', 'must be a forum board');
    // Its title and tags go through watched words as a new topic's do (masked, or refused; flagged, its first post is reviewed).
    const tags = wanted.tags ?? [];
    const heading = { viewer, spaceId: board.spaceId, title: wanted.title, tags, fields: { title: 'newTopic.title', tags: 'newTopic.tags' } };
    const screened = await this.policy.screenHeading(heading);
    return { kind: 'new', boardId: board.id, spaceId: board.spaceId, title: screened.title, tags, rank, stored: (tx, postId) => this.policy.headingStored(tx, screened, postId) };
  }

  private async write(tx: Tx, actorId: string, source: TopicModel, to: Destination, postIds: string[]): Promise<TopicRow> {
    // Both topics' rows first, in id order, as replies take a topic's row lock first: a reply
    // to either waits for the move (and its number comes after the moved posts'), and two
    // moves between the same topics cannot lock them crosswise.
    const lockIds = to.kind === 'topic' ? [source.id, to.topic.id] : [source.id];
    const locked = await tx.query<{ id: string; board_id: string; state: string; highest: number; version: number }>(
      `SELECT id, board_id, state, ${highestPostNumberSql()} AS highest, version FROM topics WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`,
      [lockIds],
    );
    const here = new Map(locked.map((t) => [t.id, t]));
    if (here.get(source.id)?.board_id !== source.boardId) throw AppError.conflict('The topic was moved meanwhile: read it again');
    if (here.get(source.id)!.state === ContentState.DELETED) throw AppError.notFound('Topic not found');
    if (to.kind === 'topic') {
      const dest = here.get(to.topic.id);
      if (!dest || dest.state === ContentState.DELETED) throw AppError.notFound('Topic not found');
      if (dest.board_id !== to.topic.boardId) throw AppError.conflict('The destination topic was moved meanwhile: read it again');
    }
    const moved = await tx.query<MovedRow>(
      `SELECT id, topic_id, number, author_id, state, deleted_from, reaction_total, created_at FROM posts WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`,
      [postIds],
    );
    if (moved.length !== postIds.length || moved.some((p) => p.topic_id !== source.id)) throw AppError.conflict('Some of the posts were moved meanwhile: read the topic again');
    // Appended in the order they were written.
    moved.sort((a, b) => a.created_at.getTime() - b.created_at.getTime() || a.id.localeCompare(b.id));
    const first = moved[0];
    // `version`: the destination's before the move, which its moved posts' search documents add (below).
    let dest: { id: string; boardId: string; spaceId: string; base: number; version: number };
    if (to.kind === 'new') {
      // The earliest post opens the new topic: its author's, from when it was written (read
      // from the row, not from the Date it was read into, which keeps milliseconds only).
      if (first.state !== ContentState.VISIBLE) throw AppError.badField('postIds', 'the earliest post, which opens the new topic, must be visible');
      const topicId = newId();
      const [created] = await tx.query<{ version: number }>(
        `INSERT INTO topics (id, board_id, space_id, author_id, kind, title, tags, last_post_number, state, created_at, last_activity_at)
         SELECT $1, $2, $3, $4, $5, $6, $7, 0, 'VISIBLE', p.created_at, p.created_at FROM posts p WHERE p.id = $8 RETURNING version`,
        [topicId, to.boardId, to.spaceId, first.author_id, TopicKind.DISCUSSION, to.title, to.tags, first.id],
      );
      dest = { id: topicId, boardId: to.boardId, spaceId: to.spaceId, base: 0, version: created.version };
      // What screening its heading found is recorded on its first post (censoring logged, a flag queued for review).
      await to.stored(tx, first.id);
    } else {
      const locked = here.get(to.topic.id)!;
      dest = { id: to.topic.id, boardId: to.topic.boardId, spaceId: to.topic.spaceId, base: locked.highest, version: locked.version };
    }
    const ids = moved.map((p) => p.id);
    const sourceVersion = here.get(source.id)!.version;
    // New numbers after the highest the destination gave (highestPostNumberSql: its last, or
    // one moved off its end before), never one a post there had; a reply to a post left behind answers nothing
    // any more, and neither does a new topic's first post. A search document's version is its
    // post's plus its topic's plus the post's `search_offset` (SearchDocuments), and the index
    // keeps the higher: a moved post's must grow though the topic it is in now may have a lower
    // version than the one it left. Its post's version grows here, and its offset takes the gap
    // between the two topics' versions; neither topic's version (which readers see) is raised
    // for it, so a move of held, hidden or deleted posts alone changes none of either topic's
    // fields (version, counts, activity); readers still see hidden and deleted ones' placeholders
    // leave the one topic's posts and join the other's (below).
    // Two versions are drawn for each: `left`, which its removal from the topic it left carries,
    // then the one it has in the topic it joined, which its arrival carries, so a client in both
    // rooms that keeps the highest version per post (README, Order) takes the arrival as newer.
    // A hidden or deleted one keeps its arrival's as its removal's (`removed_version`): the version
    // its placeholder answers there, as its arrival's push carries it.
    // Each draw in a CTE of its own, `left` then `arrived` from it: a CTE calling a volatile
    // function is materialized, evaluated once (PostgreSQL's documented rule), so each post
    // draws exactly two versions, the second above the first.
    const renumbered = await tx.query<{ id: string; number: number; left: number }>(
      `WITH l AS (SELECT u.id, u.ord, next_version(q.version) AS left
                    FROM unnest($1::uuid[]) WITH ORDINALITY AS u(id, ord) JOIN posts q ON q.id = u.id),
            m AS (SELECT l.id, l.ord, l.left, next_version(l.left) AS arrived FROM l)
       UPDATE posts p SET topic_id = $2, space_id = $3, number = $4 + m.ord,
              reply_to_post_id = CASE WHEN p.reply_to_post_id = ANY($1::uuid[]) AND $4 + m.ord > 1 THEN p.reply_to_post_id END,
              version = m.arrived, removed_version = CASE WHEN p.state IN ('HIDDEN', 'DELETED') THEN m.arrived END,
              search_offset = p.search_offset + GREATEST(0, $5::bigint - $6::bigint), updated_at = now()
         FROM m
        WHERE p.id = m.id
        RETURNING p.id, p.number, m.left`,
      [ids, dest.id, dest.spaceId, dest.base, sourceVersion, dest.version],
    );
    // Each moved post as it was, read under its lock above: its number, state and author there.
    const before = new Map(moved.map((p) => [p.id, p]));
    const numbers = new Map(renumbered.map((r) => [r.id, r.number]));
    // Replies left behind to a moved post answer nothing any more: a change of theirs, so their
    // version grows as with any other (a push of them must not carry the version they had).
    const detached = await tx.query<{ id: string }>(
      `UPDATE posts SET reply_to_post_id = NULL, version = next_version(version), updated_at = now() WHERE topic_id = $1 AND reply_to_post_id = ANY($2::uuid[]) RETURNING id`,
      [source.id, ids],
    );
    const visible = moved.filter((p) => p.state === ContentState.VISIBLE);
    const replies = visible.length;
    const reactions = visible.reduce((n, p) => n + p.reaction_total, 0);
    // Whether the topics' fields change: only a visible post moving changes any (counts,
    // activity, accepted answer). Held, hidden and deleted posts alone leave both topics'
    // version, updated_at and activity as they were, and neither hears topic.updated (moderators,
    // and a held post's author, are told by post.moved); their numbers still move. Readers see
    // that move only for hidden and deleted replies, which listedViewSql lists to every reader as
    // placeholders (held replies, and ones deleted while held, only to their author and
    // moderators): a placeholder is a post, ordered by its own version (raised above), not by
    // Topic.version, which orders the topic's fields and their topic:updated pushes.
    const shown = replies > 0;
    // The source: counters less what left, its last number and activity what remains, its
    // accepted answer if it left. The highest number it gave is kept (`max_post_number`): a
    // reply after this takes the number after it, never one a moved post had (highestPostNumberSql),
    // which a read mark, a notification or a link may still hold.
    // Its activity is read again only when a visible post that left set it (written at or after
    // it): otherwise it stands, as it may be a held reply's approval, or the creation of a reply
    // hidden or deleted since, later than any visible post left was written, which their creation
    // times would take back (the topic sinking in its board). Read again, it is the latest creation of the
    // visible posts left: an approval between that and the moved post's is not kept (not stored).
    const [src] = await tx.query<TopicRow>(
      `UPDATE topics t SET reply_count = t.reply_count - $2, reaction_count = t.reaction_count - $3,
              max_post_number = ${highestPostNumberSql('t')}, last_post_number = (SELECT COALESCE(max(number), 1) FROM posts WHERE topic_id = t.id),
              last_activity_at = CASE WHEN EXISTS (SELECT 1 FROM posts WHERE id = ANY($4::uuid[]) AND state = 'VISIBLE' AND created_at >= t.last_activity_at)
                                      THEN COALESCE((SELECT max(created_at) FROM posts WHERE topic_id = t.id AND state = 'VISIBLE'), t.created_at)
                                      ELSE t.last_activity_at END,
              accepted_post_id = CASE WHEN t.accepted_post_id = ANY($4::uuid[]) THEN NULL ELSE t.accepted_post_id END,
              ${raiseTopicWhenShownSql('$5', 't')}
        WHERE t.id = $1 RETURNING ${TOPIC_COLUMNS}`,
      [source.id, replies, reactions, ids, shown],
    );
    // Readers past the source's new end: no mark names a number past its topic's last post
    // (lastReadNumber would name a post that is not there), so each is set back, in this
    // transaction, the topic's row held FOR UPDATE since its start: with markRead capping a mark
    // by the topic's last_post_number in its one statement, which waits for this lock, no mark
    // is left past the new end however the two interleave (TopicsService.markRead). Each is set
    // back to the last post they are shown there (lastShownPostSql, as markRead stops a mark), not
    // to the last number, which a reply still held may have: that would name it to
    // them, and count it read once approved. Their own held replies are shown them, and to a
    // moderator of the space (judged now, once per reader: AccessService.moderatesSql) all of them,
    // as their topic page lists them. `updated_at` is left: it is when the reader last read up to
    // their mark (markRead), which a notification's news is judged against (an edit made since
    // counts unread), and a mark the system sets back is no reading of theirs.
    await tx.query(
      `UPDATE topic_reads r SET last_read_number = COALESCE(${lastShownPostSql('$1', { moderator: 'm.moderates', viewer: 'r.user_id' }, '$2')}, 1)
         FROM (SELECT past.user_id, ${AccessService.moderatesSql('past.user_id', '$3::uuid')} AS moderates
                 FROM topic_reads past WHERE past.topic_id = $1 AND past.last_read_number > $2) m
        WHERE r.topic_id = $1 AND r.user_id = m.user_id`,
      [source.id, src.last_post_number, source.spaceId],
    );
    // The destination: the moved posts counted (a new topic's first post is no reply), its
    // activity the latest of its own and their visible ones' (as stored, to the microsecond).
    // Its version grows only when readers see the move (a new topic's first post is visible);
    // the moved posts' search documents are ordered by their own offset (above), not by it.
    const [row] = await tx.query<TopicRow>(
      `UPDATE topics t SET reply_count = t.reply_count + $2, reaction_count = t.reaction_count + $3, last_post_number = $4,
              last_activity_at = GREATEST(t.last_activity_at, (SELECT max(created_at) FROM posts WHERE id = ANY($5::uuid[]) AND state = 'VISIBLE')),
              ${raiseTopicWhenShownSql('$6', 't')}
        WHERE t.id = $1 RETURNING ${TOPIC_COLUMNS}`,
      [dest.id, replies - (to.kind === 'new' ? 1 : 0), reactions, dest.base + moved.length, ids, shown],
    );
    // Notifications about a moved post open it where it is now; so do removal notices of one (a
    // reply removed, then moved, restored or not: its first post never moves), as Discourse's
    // notices follow a moved post's topic and number whatever their type.
    await tx.query(MOVED_POSTS_NOTIFICATIONS, [ids]);
    if (dest.spaceId !== source.spaceId) {
      // Their review items, open or decided, follow the posts into their new space (its queue for open ones).
      await moveReviewItems(tx, `target_type = 'POST' AND target_id = ANY($1::uuid[])`, ids, source.spaceId, dest.spaceId);
    }
    // The reply opening a new topic is its first post now: its open reports are the topic's.
    if (to.kind === 'new') await fileReportsOnNewTopic(tx, first.id, dest.id, dest.spaceId, actorId);
    if (to.kind === 'new') {
      const payload = { topicId: dest.id, postId: first.id, boardId: dest.boardId, spaceId: dest.spaceId, authorId: first.author_id, state: ContentState.VISIBLE };
      await tx.emit({ type: 'topic.created', aggregateType: 'topic', aggregateId: dest.id, version: row.version, payload });
    } else if (shown) {
      await tx.emit({ type: 'topic.updated', aggregateType: 'topic', aggregateId: dest.id, version: row.version, payload: { topicId: dest.id, spaceId: dest.spaceId, boardId: dest.boardId } });
    }
    if (shown) {
      await tx.emit({
        type: 'topic.updated',
        aggregateType: 'topic',
        aggregateId: source.id,
        version: src.version,
        payload: { topicId: source.id, spaceId: source.spaceId, boardId: source.boardId },
      });
    }
    // One for the move, naming every moved post (as it was, read under its lock above, and
    // its number now): the search index files each under its new topic and space (an audience
    // change, so searches leave the topic it left out until then), live rooms see them leave
    // and arrive. `topicId` is the topic they left, where the index still has them.
    const movedPosts: MovedPost[] = renumbered
      .map((r) => {
        const was = before.get(r.id)!;
        return { postId: r.id, fromNumber: was.number, number: r.number, state: was.state, deletedFrom: was.deleted_from, authorId: was.author_id, version: r.left };
      })
      .sort((a, b) => a.number - b.number);
    const moveEvent: PostsMovedPayload = {
      topicId: source.id, moverId: actorId, fromSpaceId: source.spaceId, fromBoardId: source.boardId,
      toTopicId: dest.id, spaceId: dest.spaceId, boardId: dest.boardId, newTopic: to.kind === 'new', posts: movedPosts,
      detachedReplyIds: detached.map((r) => r.id),
    };
    await tx.emit({ type: 'post.moved', aggregateType: 'topic', aggregateId: source.id, version: src.version, payload: moveEvent });
    // Across spaces, each space's log tells its side alone (appendMove).
    await appendMove(this.audit, tx, {
      actorId,
      action: 'posts.move',
      targetType: 'topic',
      from: { spaceId: source.spaceId, targetId: source.id, state: { topicId: source.id, spaceId: source.spaceId, posts: moved.map((p) => ({ id: p.id, number: p.number })) } },
      to: {
        spaceId: dest.spaceId,
        targetId: dest.id,
        state: {
          topicId: dest.id, spaceId: dest.spaceId, newTopic: to.kind === 'new', ...(to.kind === 'new' ? { title: to.title } : {}),
          posts: moved.map((p) => ({ id: p.id, number: numbers.get(p.id) })),
        },
      },
      common: { count: moved.length },
    });
    return row;
  }
}

/**
 * Puts the notifications about posts `$1` (and removal notices of them) where the posts are now.
 * Read through the partial indexes of `notifications.post_id` and `removed_post_id` (migration
 * 1765227600000), not the whole table.
 */
export const MOVED_POSTS_NOTIFICATIONS = `UPDATE notifications n SET topic_id = p.topic_id,
       data = CASE WHEN n.data ? 'number' THEN jsonb_set(n.data, '{number}', to_jsonb(p.number)) ELSE n.data END
  FROM posts p WHERE p.id = ANY($1::uuid[]) AND (p.id = n.post_id OR (p.id = n.removed_post_id AND n.kind = 'POST_REMOVED'))`;
