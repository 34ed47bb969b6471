import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { TopicSort } from '../forum.enums';
import { TopicRow } from './topic.model';
import { prepared } from '../../../core/src/database/prepared-statements';
import { AUTHOR_COLUMNS, AuthorColumns } from '../../../identity/src/users/user.model';

export const TOPIC_COLUMNS = `t.id, t.board_id, t.space_id, t.author_id, t.kind, t.title, t.state, t.pinned, t.closed, t.locked,
  t.tags, t.reply_count, t.reaction_count, t.last_post_number, t.last_activity_at, t.accepted_post_id, t.version, t.created_at`;

const TOPICS_BY_ID = prepared('topics.by_id', `SELECT ${TOPIC_COLUMNS} FROM topics t WHERE t.id = ANY($1::uuid[])`);

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

@Injectable()
export class TopicsRepository {
  constructor(private readonly ds: DataSource) {}

  getByIds(ids: readonly string[]): Promise<TopicRow[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.ds.query(TOPICS_BY_ID, [ids]);
  }

  /** The filter's conditions on topics `t` of the board `boardSql` names. */
  private where(f: TopicListFilter, params: unknown[], boardSql: string): string {
    const clauses = [`t.board_id = ${boardSql}`];
    clauses.push(readableTopicSql(f.moderator, f.viewerId, params));
    if (f.kindSql) clauses.push(f.kindSql);
    if (f.tag) {
      params.push([f.tag]);
      clauses.push(`t.tags @> $${params.length}::text[]`);
    }
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
         SELECT ${TOPIC_COLUMNS}, ${col}::text AS k_value, ${AUTHOR_COLUMNS}
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

  /** Which of these topics satisfy a board kind's list condition (`kindSql`, on alias `t`). */
  async listedAmong(topicIds: readonly string[], kindSql: string): Promise<Set<string>> {
    if (topicIds.length === 0) return new Set();
    const rows: Array<{ id: string }> = await this.ds.query(`SELECT t.id FROM topics t WHERE t.id = ANY($1::uuid[]) AND (${kindSql})`, [topicIds]);
    return new Set(rows.map((r) => r.id));
  }

  /** Visible posts of others after the viewer's last read one, per topic: what you wrote yourself you have read. */
  async unreadCounts(userId: string, topicIds: readonly string[]): Promise<Map<string, number>> {
    const rows: Array<{ id: string; unread: number }> = await this.ds.query(
      `SELECT t.id, (SELECT count(*) FROM posts p
                      WHERE p.topic_id = t.id AND p.state = 'VISIBLE' AND p.number > COALESCE(r.last_read_number, 0)
                        AND p.author_id <> $1)::int AS unread
         FROM unnest($2::uuid[]) AS t(id)
         LEFT JOIN topic_reads r ON r.topic_id = t.id AND r.user_id = $1`,
      [userId, topicIds],
    );
    return new Map(rows.map((r) => [r.id, r.unread]));
  }
}
