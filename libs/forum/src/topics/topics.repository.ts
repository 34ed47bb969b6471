import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { NEW_TOPIC_DAYS, TopicFeedView, TopicSort } from '../forum.enums';
import { TopicRow } from './topic.model';
import { prepared } from '../../../core/src/database/prepared-statements';
import { Queryable, Tx } from '../../../core/src/database/unit-of-work';
import { AUTHOR_COLUMNS, AuthorColumns } from '../../../identity/src/users/user.model';
import { TopicFeedExclusion } from '../feed-exclusions';

/**
 * The topic's row held FOR KEY SHARE, before its post's row is locked, by every writer that
 * locks a post and then updates its topic (a state change, a reaction, an edit of the first
 * post, an accepted answer): topics before posts, the order of replies, `moveTopic` and
 * `movePosts` (which lock the topic FOR UPDATE, so this waits for a move, and a move for this)
 * and of polls' votes and publications (which hold it FOR KEY SHARE too). The later update of
 * the topic (a non-key update) waits for no other holder of this lock. A writer holding the post
 * while it waited for the topic a move held, the move waiting for the post, deadlocked.
 * Answers the board and space the topic is in as held (no move changes them until the commit),
 * null when there is no such topic.
 */
export async function holdTopic(tx: Tx, topicId: string): Promise<{ board_id: string; space_id: string } | null> {
  return (await tx.one<{ board_id: string; space_id: string }>(`SELECT board_id, space_id FROM topics WHERE id = $1 FOR KEY SHARE`, [topicId])) ?? null;
}

export const TOPIC_COLUMNS = `t.id, t.board_id, t.space_id, t.author_id, t.kind, t.title, t.state, t.pinned, t.closed, t.locked,
  t.tags, t.reply_count, t.reaction_count, t.last_post_number, t.last_activity_at, t.accepted_post_id, t.version, t.created_at,
  t.slow_mode_seconds, t.slow_mode_until, t.pinned_globally_at, t.pinned_globally_until`;

/**
 * One topic by id, as a topic page reads it, and several. PostgreSQL never settles on a
 * generic plan for `= ANY($1::uuid[])` (it costs the generic plan for an array of ten, above
 * the custom plan of one), so that text is planned again at every call (about 0.1 ms, five
 * times what running it costs); `= $1` is planned once per connection.
 */
const TOPIC_BY_ID = prepared('topics.by_id', `SELECT ${TOPIC_COLUMNS} FROM topics t WHERE t.id = $1`);
const TOPICS_BY_IDS = prepared('topics.by_ids', `SELECT ${TOPIC_COLUMNS} FROM topics t WHERE t.id = ANY($1::uuid[])`);

/** The sort column of each order; the keyset is (pinned, column, id), all descending. */
const SORT_COLUMN: Record<Exclude<TopicSort, TopicSort.TRENDING>, string> = {
  LATEST_ACTIVITY: 't.last_activity_at',
  NEWEST: 't.created_at',
  TOP: 't.top_score',
};
const SORT_CAST: Record<Exclude<TopicSort, TopicSort.TRENDING>, string> = {
  LATEST_ACTIVITY: 'timestamptz',
  NEWEST: 'timestamptz',
  TOP: 'int',
};

/**
 * Which topics (alias `t`) a board list shows, in a board the viewer reads: what they may open
 * in full (AccessService.contentView), deleted topics left out even for moderators. So others
 * see visible topics, and authors their own pending and hidden ones too. Lists of ideas and
 * articles use the same rule; a test holds it to contentView.
 */
export function readableTopicSql(moderator: boolean, viewerId: string | null, params: unknown[]): string {
  if (moderator) return `t.state <> 'DELETED'`;
  // The viewer's id is a parameter only where the clause uses it: an unused one fails the statement.
  params.push(viewerId);
  return `(t.state = 'VISIBLE' OR (t.state IN ('PENDING', 'HIDDEN') AND (t.author_id = $${params.length}::uuid) IS TRUE))`;
}

/**
 * readableTopicSql across spaces, for lists that span several (the topic feeds): the
 * moderator's view in the spaces the viewer moderates, the reader's everywhere else.
 */
export function readableTopicAcrossSql(moderatedSpaceIds: readonly string[], viewerId: string | null, params: unknown[]): string {
  const reader = readableTopicSql(false, viewerId, params);
  if (moderatedSpaceIds.length === 0) return reader;
  params.push(moderatedSpaceIds);
  return `((t.space_id = ANY($${params.length}::uuid[]) AND ${readableTopicSql(true, viewerId, params)}) OR ${reader})`;
}

/**
 * The posts (alias `p`) of a topic a reader has not read past `lastRead`: visible posts of
 * others, since what you wrote yourself you have read. Topic.unreadCount counts them; the
 * UNREAD feed lists the topics that have one.
 */
function unreadPostSql(lastRead: string, viewer: string): string {
  return `p.state = 'VISIBLE' AND p.number > ${lastRead} AND p.author_id <> ${viewer}`;
}

/**
 * Topics of FORUM boards: the kinds createTopic gives a forum board's topics (a topic keeps
 * its board's kind: moves stay within a kind). Word for word the predicate of the feeds'
 * partial indexes (migration topic-feeds), so the planner can use them.
 */
export const FORUM_TOPICS_SQL = `t.kind IN ('DISCUSSION', 'QUESTION')`;

/** The sort column of each feed view; the keyset is (column, id), both descending. */
const FEED_COLUMN: Record<TopicFeedView, string> = {
  LATEST: 't.last_activity_at',
  UNREAD: 't.last_activity_at',
  NEW: 't.created_at',
};

/** Which topics a site-wide feed (Query.topics) shows. */
export interface TopicFeedQuery {
  view: TopicFeedView;
  /** Null when signed out: only LATEST then. */
  viewerId: string | null;
  /** The spaces to list, all of them readable by the viewer (the access policy's answer, narrowed by the filter). */
  spaceIds: readonly string[];
  /** Those of `spaceIds` the viewer moderates: their hidden and pending topics are listed too, as on a board. */
  moderatedSpaceIds: readonly string[];
  tag?: string;
  /** What leaves a topic out for the signed-in viewer (TopicFeedExclusions). */
  excluded: readonly TopicFeedExclusion[];
  /** Only this board's topics (a topic's suggestions look there first). */
  boardId?: string;
  /** Topics to leave out (the topic being read, suggestions already made). */
  notIds?: readonly string[];
}

/** Which topics a board list shows; the boards themselves are given to each read. */
export interface TopicListFilter {
  viewerId: string | null;
  /** Moderators see hidden and pending topics too. */
  moderator: boolean;
  tag?: string;
  /** The board kind's own condition (BoardKindBehaviour.listedSql). */
  kindSql?: string;
}

/**
 * TRENDING on boards whose kind has no trending of its own (forums, knowledge bases), in
 * SQL: each visible reply of the last 14 days weighs e^(-days ago / 3), each reaction on the
 * topic's visible posts half that; the sum plus one is divided by the square root of (2 + the
 * topic's age in days). Fresh activity lifts a topic and fades within days; quiet topics
 * (no activity for 14 days) skip the sums and simply age.
 */
export const TOPIC_TRENDING_SCORE = `((1 + CASE WHEN t.last_activity_at > now() - interval '14 days' THEN
    COALESCE((SELECT sum(exp(-extract(epoch FROM now() - p.created_at) / 259200.0)) FROM posts p
               WHERE p.topic_id = t.id AND p.number > 1 AND p.state = 'VISIBLE' AND p.created_at > now() - interval '14 days'), 0)
  + 0.5 * COALESCE((SELECT sum(exp(-extract(epoch FROM now() - r.created_at) / 259200.0)) FROM reactions r JOIN posts p ON p.id = r.post_id
               WHERE p.topic_id = t.id AND p.state = 'VISIBLE' AND r.created_at > now() - interval '14 days'), 0)
  ELSE 0 END) / sqrt(2 + extract(epoch FROM now() - t.created_at) / 86400.0))`;

/** A board list row: the topic, its keyset value and its author's columns (as `a_*`). */
export type TopicListRow = TopicRow & { k_value: string } & AuthorColumns;

/** The select list of a page of topics `t` with their authors `u` (TopicListRow), keyed by `column`. */
const listColumns = (column: string) => `${TOPIC_COLUMNS}, ${column}::text AS k_value, ${AUTHOR_COLUMNS}`;

/** Topics `t` carrying `tag`. */
function tagSql(tag: string, params: unknown[]): string {
  params.push([tag]);
  return `t.tags @> $${params.length}::text[]`;
}

@Injectable()
export class TopicsRepository {
  constructor(private readonly ds: DataSource) {}

  /** The topics with these ids; read through `m` when given (a caller's transaction). */
  getByIds(ids: readonly string[], m: Queryable = this.ds): Promise<TopicRow[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return ids.length === 1 ? m.query(TOPIC_BY_ID, [ids[0]]) : m.query(TOPICS_BY_IDS, [ids]);
  }

  /**
   * Dates a topic anew, as if it were started now (a publication: `TopicsService.writePublication`):
   * its `created_at` and `last_activity_at`, and its first post's `created_at`; its replies keep
   * theirs. Its posts' edits so far were made before it was published: readers do not see them
   * as edits (`edited_at` cleared), and every version but the one each post is published with is
   * `unpublished`, for its author's and moderators' eyes (`publishedHistory`). Each post redated
   * gets a new version, as any change of what a live push carries does (a client drops a post's
   * push whose version it has, the same state). One statement whatever the number of posts.
   * Answers the topic as it now is, with its first post's id.
   */
  async redateAsNew(tx: Tx, topicId: string): Promise<TopicRow & { first_post_id: string }> {
    const [row] = await tx.query<TopicRow & { first_post_id: string }>(
      `WITH superseded AS (
         UPDATE post_revisions r SET unpublished = true
          WHERE r.post_id IN (SELECT id FROM posts WHERE topic_id = $1) AND NOT r.unpublished
            AND r.number < (SELECT max(l.number) FROM post_revisions l WHERE l.post_id = r.post_id)),
       redated AS (
         UPDATE posts SET created_at = CASE WHEN number = 1 THEN now() ELSE created_at END, edited_at = NULL, version = next_version(version)
          WHERE topic_id = $1 AND (number = 1 OR edited_at IS NOT NULL) RETURNING id, number)
       UPDATE topics t SET created_at = now(), last_activity_at = now(), version = next_version(version), updated_at = now()
        WHERE t.id = $1 RETURNING ${TOPIC_COLUMNS}, (SELECT id FROM redated WHERE number = 1) AS first_post_id`,
      [topicId],
    );
    return row;
  }

  /** The filter's conditions on topics `t` of the board `boardSql` names. */
  private where(f: TopicListFilter, params: unknown[], boardSql: string): string {
    const clauses = [`t.board_id = ${boardSql}`];
    clauses.push(readableTopicSql(f.moderator, f.viewerId, params));
    if (f.kindSql) clauses.push(f.kindSql);
    if (f.tag) clauses.push(tagSql(f.tag, params));
    return clauses.join(' AND ');
  }

  /**
   * One keyset page of each board's topics, in one statement: pinned first, then by the
   * sort, newest first. A board's rows come out together; `board_id` tells them apart.
   */
  pages(f: TopicListFilter, boardIds: readonly string[], sort: Exclude<TopicSort, TopicSort.TRENDING>, limit: number, after?: [boolean, string, string]): Promise<TopicListRow[]> {
    const params: unknown[] = [boardIds];
    let where = this.where(f, params, 'b.id');
    const col = SORT_COLUMN[sort];
    if (after) {
      params.push(after[0], after[1], after[2]);
      const n = params.length;
      where += ` AND (t.pinned, ${col}, t.id) < ($${n - 2}::boolean, $${n - 1}::${SORT_CAST[sort]}, $${n}::uuid)`;
    }
    params.push(limit);
    return this.ds.query(
      `SELECT page.* FROM unnest($1::uuid[]) AS b(id) CROSS JOIN LATERAL (
         SELECT ${listColumns(col)}
           FROM topics t JOIN users u ON u.id = t.author_id
          WHERE ${where}
          ORDER BY t.pinned DESC, ${col} DESC, t.id DESC
          LIMIT $${params.length}) page`,
      params,
    );
  }

  /** One page of each board's topics by TRENDING, pinned first; by offset, since the order moves with time. */
  trendingPages(f: TopicListFilter, boardIds: readonly string[], limit: number, offset: number): Promise<Array<TopicRow & AuthorColumns & { total: number }>> {
    const params: unknown[] = [boardIds];
    const where = this.where(f, params, 'b.id');
    params.push(limit, offset);
    return this.ds.query(
      `SELECT page.* FROM unnest($1::uuid[]) AS b(id) CROSS JOIN LATERAL (
         SELECT ${TOPIC_COLUMNS}, ${AUTHOR_COLUMNS}, count(*) OVER ()::int AS total
           FROM topics t JOIN users u ON u.id = t.author_id
          WHERE ${where}
          ORDER BY t.pinned DESC, ${TOPIC_TRENDING_SCORE} DESC, t.id DESC
          LIMIT $${params.length - 1} OFFSET $${params.length}) page`,
      params,
    );
  }

  /** How many topics each board's list holds (boards with none are missing from the map). */
  async counts(f: TopicListFilter, boardIds: readonly string[]): Promise<Map<string, number>> {
    const params: unknown[] = [boardIds];
    const rows: Array<{ board_id: string; n: number }> = await this.ds.query(
      `SELECT t.board_id, count(*)::int AS n FROM topics t WHERE ${this.where(f, params, 'ANY($1::uuid[])')} GROUP BY t.board_id`,
      params,
    );
    return new Map(rows.map((r) => [r.board_id, r.n]));
  }

  /**
   * The feed's topics and conditions (see TopicFeedQuery), shared by its page and its count.
   * UNREAD starts from the viewer's reads (one index look-up per topic they opened), NEW and
   * LATEST from the feeds' indexes (migration topic-feeds).
   */
  private feedSql(f: TopicFeedQuery, params: unknown[]): { from: string; where: string } {
    params.push(f.spaceIds);
    const clauses = [`t.space_id = ANY($${params.length}::uuid[])`, FORUM_TOPICS_SQL, readableTopicAcrossSql(f.moderatedSpaceIds, f.viewerId, params)];
    if (f.tag) clauses.push(tagSql(f.tag, params));
    if (f.boardId) {
      params.push(f.boardId);
      clauses.push(`t.board_id = $${params.length}::uuid`);
    }
    if (f.notIds?.length) {
      params.push(f.notIds);
      clauses.push(`t.id <> ALL($${params.length}::uuid[])`);
    }
    let from = 'topics t';
    if (f.viewerId) {
      params.push(f.viewerId);
      const me = `$${params.length}::uuid`;
      for (const excluded of f.excluded) clauses.push(`NOT (${excluded(me)})`);
      if (f.view === TopicFeedView.UNREAD) {
        from += ` JOIN topic_reads r ON r.topic_id = t.id AND r.user_id = ${me}`;
        // The first test spares the posts' look-up where nothing was posted since the last read.
        clauses.push(`t.last_post_number > r.last_read_number`, `EXISTS (SELECT 1 FROM posts p WHERE p.topic_id = t.id AND ${unreadPostSql('r.last_read_number', me)})`);
      } else if (f.view === TopicFeedView.NEW) {
        clauses.push(
          `t.created_at > now() - interval '${NEW_TOPIC_DAYS} days'`,
          `t.author_id <> ${me}`,
          `NOT EXISTS (SELECT 1 FROM topic_reads r WHERE r.topic_id = t.id AND r.user_id = ${me})`,
        );
      }
    } else if (f.view !== TopicFeedView.LATEST) {
      throw new Error(`The ${f.view} feed is a signed-in member's`);
    }
    return { from, where: clauses.join(' AND ') };
  }

  /** One keyset page of a site-wide feed, newest first by the view's column (no pinned topics first: pins are a board's). */
  feedPage(f: TopicFeedQuery, limit: number, after?: [string, string]): Promise<TopicListRow[]> {
    const params: unknown[] = [];
    const { from, where } = this.feedSql(f, params);
    const col = FEED_COLUMN[f.view];
    let keyset = '';
    if (after) {
      params.push(after[0], after[1]);
      keyset = ` AND (${col}, t.id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`;
    }
    params.push(limit);
    return this.ds.query(
      `SELECT ${listColumns(col)} FROM ${from} JOIN users u ON u.id = t.author_id
        WHERE ${where}${keyset} ORDER BY ${col} DESC, t.id DESC LIMIT $${params.length}`,
      params,
    );
  }

  /** How many topics a feed holds for the viewer (its page's conditions, without the keyset). */
  async feedCount(f: TopicFeedQuery): Promise<number> {
    const params: unknown[] = [];
    const { from, where } = this.feedSql(f, params);
    const [row]: Array<{ n: number }> = await this.ds.query(`SELECT count(*)::int AS n FROM ${from} WHERE ${where}`, params);
    return row.n;
  }

  /** Which of these topics satisfy a board kind's list condition (`kindSql`, on alias `t`). */
  async listedAmong(topicIds: readonly string[], kindSql: string): Promise<Set<string>> {
    if (topicIds.length === 0) return new Set();
    const rows: Array<{ id: string }> = await this.ds.query(`SELECT t.id FROM topics t WHERE t.id = ANY($1::uuid[]) AND (${kindSql})`, [topicIds]);
    return new Set(rows.map((r) => r.id));
  }

  /**
   * Each topic's most frequent writers of visible posts (the topic map's posters), most posts
   * first, then the latest to write; at most `limit` a topic, in one statement for them all.
   */
  async participants(topicIds: readonly string[], limit: number): Promise<Map<string, Array<{ user_id: string; posts: number }>>> {
    const rows: Array<{ topic_id: string; user_id: string; posts: number }> = await this.ds.query(
      `SELECT t.id AS topic_id, w.user_id, w.posts FROM unnest($1::uuid[]) AS t(id)
         CROSS JOIN LATERAL (SELECT p.author_id AS user_id, count(*)::int AS posts FROM posts p
                              WHERE p.topic_id = t.id AND p.state = 'VISIBLE' GROUP BY p.author_id
                              ORDER BY count(*) DESC, max(p.created_at) DESC, p.author_id LIMIT $2) w`,
      [topicIds, limit],
    );
    const byTopic = new Map<string, Array<{ user_id: string; posts: number }>>();
    for (const r of rows) byTopic.set(r.topic_id, [...(byTopic.get(r.topic_id) ?? []), { user_id: r.user_id, posts: r.posts }]);
    return byTopic;
  }

  /** Visible posts of others after the viewer's last read one, per topic: what you wrote yourself you have read. */
  /** Per topic, the user's unread posts and the last post number they read (null: never opened). */
  async unreadCounts(userId: string, topicIds: readonly string[]): Promise<Map<string, { unread: number; lastRead: number | null }>> {
    const rows: Array<{ id: string; unread: number; last_read: number | null }> = await this.ds.query(
      `SELECT t.id, (SELECT count(*) FROM posts p WHERE p.topic_id = t.id AND ${unreadPostSql('COALESCE(r.last_read_number, 0)', '$1')})::int AS unread,
              r.last_read_number AS last_read
         FROM unnest($2::uuid[]) AS t(id)
         LEFT JOIN topic_reads r ON r.topic_id = t.id AND r.user_id = $1`,
      [userId, topicIds],
    );
    return new Map(rows.map((r) => [r.id, { unread: r.unread, lastRead: r.last_read }]));
  }
}
