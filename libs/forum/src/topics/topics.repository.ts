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
 * Which topics (alias `t`) a board list shows: moderators everything but deleted ones, others
 * visible topics and their own pending ones. Lists of ideas and articles use the same rule.
 */
export function readableTopicSql(moderator: boolean, viewerParam: string): string {
  return moderator ? `t.state <> 'DELETED'` : `(t.state = 'VISIBLE' OR (t.state = 'PENDING' AND t.author_id = ${viewerParam}::uuid))`;
}

export interface TopicListFilter {
  boardId: string;
  viewerId: string | null;
  /** Moderators see hidden and pending topics too. */
  moderator: boolean;
  tag?: string;
}

/** A board list row: the topic, its keyset value and its author's columns (as `a_*`). */
export type TopicListRow = TopicRow & { k_value: string } & AuthorColumns;

@Injectable()
export class TopicsRepository {
  constructor(private readonly ds: DataSource) {}

  getByIds(ids: readonly string[]): Promise<TopicRow[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.ds.query(TOPICS_BY_ID, [ids]);
  }

  private where(f: TopicListFilter, params: unknown[]): string {
    params.push(f.boardId);
    const clauses = [`t.board_id = $${params.length}`];
    if (f.moderator) {
      clauses.push(readableTopicSql(true, ''));
    } else {
      params.push(f.viewerId);
      clauses.push(readableTopicSql(false, `$${params.length}`));
    }
    if (f.tag) {
      params.push([f.tag]);
      clauses.push(`t.tags @> $${params.length}::text[]`);
    }
    return clauses.join(' AND ');
  }

  /** One keyset page of a board's topics: pinned first, then by the sort, newest first. */
  page(f: TopicListFilter, sort: Exclude<TopicSort, TopicSort.TRENDING>, limit: number, after?: [boolean, string, string]): Promise<TopicListRow[]> {
    const params: unknown[] = [];
    let where = this.where(f, params);
    const col = SORT_COLUMN[sort];
    if (after) {
      params.push(after[0], after[1], after[2]);
      const n = params.length;
      where += ` AND (t.pinned, ${col}, t.id) < ($${n - 2}::boolean, $${n - 1}::${SORT_CAST[sort]}, $${n}::uuid)`;
    }
    params.push(limit);
    return this.ds.query(
      `SELECT ${TOPIC_COLUMNS}, ${col}::text AS k_value, ${AUTHOR_COLUMNS}
         FROM topics t JOIN users u ON u.id = t.author_id
        WHERE ${where}
        ORDER BY t.pinned DESC, ${col} DESC, t.id DESC
        LIMIT $${params.length}`,
      params,
    );
  }

  async count(f: TopicListFilter): Promise<number> {
    const params: unknown[] = [];
    const rows = await this.ds.query(`SELECT count(*)::int AS n FROM topics t WHERE ${this.where(f, params)}`, params);
    return rows[0].n;
  }

  /** Visible posts after the viewer's last read one, per topic. */
  async unreadCounts(userId: string, topicIds: readonly string[]): Promise<Map<string, number>> {
    const rows: Array<{ id: string; unread: number }> = await this.ds.query(
      `SELECT t.id, (SELECT count(*) FROM posts p
                      WHERE p.topic_id = t.id AND p.state = 'VISIBLE' AND p.number > COALESCE(r.last_read_number, 0))::int AS unread
         FROM unnest($2::uuid[]) AS t(id)
         LEFT JOIN topic_reads r ON r.topic_id = t.id AND r.user_id = $1`,
      [userId, topicIds],
    );
    return new Map(rows.map((r) => [r.id, r.unread]));
  }
}
