import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { TopicRow } from '../../../forum/src/topics/topic.model';
import { readableTopicSql, TOPIC_COLUMNS } from '../../../forum/src/topics/topics.repository';
import { GroupMembership, GroupRow } from '../../../identity/src/groups/group.model';
import { GROUP_COLUMNS } from '../../../identity/src/groups/groups.repository';
import { seesGroupSql, standingSql } from '../../../identity/src/groups/group-visibility';
import { Queryable } from '../../../core/src/database/unit-of-work';
import { Viewer } from '../../../core/src/graphql/viewer';
import { ArticleRow, RevisionRow } from './article.model';

export const REVISION_META = `r.id, r.topic_id, r.number, r.title, r.summary, r.author_id, r.note, r.restored_from_id, r.published_at, r.published_by, r.created_at`;

/** An article of a board with its topic, as the tree needs it (and its whole row, to spare the article loader a trip). */
export type TreeRow = TopicRow & { a_board_id: string; parent_id: string | null; position: number; article_state: string; article: Record<string, unknown> };

const ARTICLE_TIMES = ['first_published_at', 'published_at', 'submitted_at', 'changes_requested_at', 'verified_at', 'verified_until', 'reminded_for', 'created_at', 'updated_at'];

/** An article row read as JSON, with its timestamps as dates again (as `pg` returns them from columns). */
export function articleFromJson(json: Record<string, unknown>): ArticleRow {
  const row = { ...json };
  for (const key of ARTICLE_TIMES) if (typeof row[key] === 'string') row[key] = new Date(row[key] as string);
  return row as unknown as ArticleRow;
}


/** Every read query of the knowledge base. Writes live in the services, inside their transactions. */
@Injectable()
export class ArticlesRepository {
  constructor(private readonly ds: DataSource) {}

  byTopicIds(ids: readonly string[], m: Queryable = this.ds): Promise<ArticleRow[]> {
    return m.query(`SELECT * FROM articles WHERE topic_id = ANY($1::uuid[])`, [ids]);
  }

  /** Revisions of these articles without their bodies, newest first. */
  revisionsOf(topicIds: readonly string[]): Promise<RevisionRow[]> {
    return this.ds.query(`SELECT ${REVISION_META} FROM article_revisions r WHERE r.topic_id = ANY($1::uuid[]) ORDER BY r.topic_id, r.number DESC`, [topicIds]);
  }

  revisionsByIds(ids: readonly string[]): Promise<Array<Required<RevisionRow>>> {
    return this.ds.query(`SELECT r.* FROM article_revisions r WHERE r.id = ANY($1::uuid[])`, [ids]);
  }

  /**
   * Every article of these boards, with its topic. Deleted ones too: they are not shown, but
   * their children keep their place under the deleted one's parent.
   */
  trees(boardIds: readonly string[]): Promise<TreeRow[]> {
    return this.ds.query(
      `SELECT ${TOPIC_COLUMNS}, a.board_id AS a_board_id, a.parent_id, a.position, a.state AS article_state, to_jsonb(a) AS article
         FROM articles a JOIN topics t ON t.id = a.topic_id
        WHERE a.board_id = ANY($1::uuid[])`,
      [boardIds],
    );
  }

  /**
   * The groups among `ids` the viewer sees (`seesGroupSql`), with where they stand: an article's
   * owner group, and one an editor names as its owner, is no more shown than anywhere else.
   */
  groupsSeenByIds(viewer: Viewer, ids: readonly string[]): Promise<Array<GroupRow & { standing: GroupMembership }>> {
    return this.ds.query(
      `SELECT ${GROUP_COLUMNS}, ${standingSql('g', '$2')} AS standing FROM groups g
        WHERE g.id = ANY($1::uuid[]) AND ${seesGroupSql('g', { viewer: '$2', admin: '$3' })}`,
      [ids, viewer.id, viewer.isAdmin],
    );
  }

  credits(topicIds: readonly string[]): Promise<Array<{ topic_id: string; user_id: string; role: string }>> {
    return this.ds.query(`SELECT topic_id, user_id, role FROM article_credits WHERE topic_id = ANY($1::uuid[]) ORDER BY topic_id, role, user_id`, [topicIds]);
  }

  /** Published, live articles promoted from these threads. */
  promotedFrom(threadIds: readonly string[]): Promise<Array<TopicRow & { thread_id: string }>> {
    return this.ds.query(
      `SELECT a.promoted_from_topic_id AS thread_id, ${TOPIC_COLUMNS}
         FROM articles a JOIN topics t ON t.id = a.topic_id
        WHERE a.promoted_from_topic_id = ANY($1::uuid[]) AND a.published_revision_id IS NOT NULL AND a.state <> 'ARCHIVED'
        ORDER BY a.first_published_at, t.id`,
      [threadIds],
    );
  }

  ratings(userId: string, topicIds: readonly string[]): Promise<Array<{ topic_id: string; helpful: boolean; comment: string | null; updated_at: Date }>> {
    return this.ds.query(`SELECT topic_id, helpful, comment, updated_at FROM article_ratings WHERE user_id = $1 AND topic_id = ANY($2::uuid[])`, [userId, topicIds]);
  }

  events(topicIds: readonly string[]): Promise<Array<{ topic_id: string; action: string; from_state: string | null; to_state: string | null; note: string | null; at: Date; actor_id: string | null; revision_id: string | null }>> {
    return this.ds.query(
      `SELECT topic_id, action, from_state, to_state, note, at, actor_id, revision_id FROM article_events WHERE topic_id = ANY($1::uuid[]) ORDER BY topic_id, at, id`,
      [topicIds],
    );
  }

  async topicBySlug(boardId: string, slug: string): Promise<string | null> {
    const rows: Array<{ topic_id: string }> = await this.ds.query(`SELECT topic_id FROM article_slugs WHERE board_id = $1 AND slug = $2`, [boardId, slug]);
    return rows[0]?.topic_id ?? null;
  }

  /** Published, live articles of a space past their verification date, oldest due first. */
  stalePage(spaceId: string, viewerId: string | null, moderator: boolean, limit: number, after?: [string, string]) {
    const params: unknown[] = [spaceId];
    return this.topicPage(`${STALE_WHERE} AND ${readableTopicSql(moderator, viewerId, params)}`, params, 'a.verified_until', limit, after);
  }

  staleCount(spaceId: string, viewerId: string | null, moderator: boolean): Promise<number> {
    const params: unknown[] = [spaceId];
    return this.count(`${STALE_WHERE} AND ${readableTopicSql(moderator, viewerId, params)}`, params);
  }

  /** Articles of a space waiting for an editor, oldest submission first (for editors: no visibility filter but deletion). */
  inReviewPage(spaceId: string, limit: number, after?: [string, string]) {
    return this.topicPage(IN_REVIEW_WHERE, [spaceId], 'a.submitted_at', limit, after);
  }

  inReviewCount(spaceId: string): Promise<number> {
    return this.count(IN_REVIEW_WHERE, [spaceId]);
  }

  /** A keyset page of articles (with their topics) by a timestamp column, ascending, then topic id. */
  private topicPage(where: string, params: unknown[], column: string, limit: number, after?: [string, string]): Promise<Array<TopicRow & { k_ts: string }>> {
    const all = [...params, limit];
    let keyset = '';
    if (after) {
      all.push(after[0], after[1]);
      keyset = `AND (${column}, t.id) > ($${all.length - 1}::timestamptz, $${all.length}::uuid)`;
    }
    return this.ds.query(
      `SELECT ${TOPIC_COLUMNS}, ${column}::text AS k_ts FROM articles a JOIN topics t ON t.id = a.topic_id
        WHERE ${where} ${keyset} ORDER BY ${column}, t.id LIMIT $${params.length + 1}`,
      all,
    );
  }

  private async count(where: string, params: unknown[]): Promise<number> {
    const rows = await this.ds.query(`SELECT count(*)::int AS n FROM articles a JOIN topics t ON t.id = a.topic_id WHERE ${where}`, params);
    return rows[0].n;
  }

  /** Readers' comments on an article, newest first. */
  feedbackPage(topicId: string, limit: number, after?: [string, string]): Promise<FeedbackRow[]> {
    const params: unknown[] = [topicId, limit];
    let keyset = '';
    if (after) {
      params.push(after[0], after[1]);
      keyset = `AND (updated_at, user_id) < ($3::timestamptz, $4::uuid)`;
    }
    return this.ds.query(
      `SELECT ${FEEDBACK_COLUMNS} FROM article_ratings
        WHERE topic_id = $1 AND comment IS NOT NULL ${keyset} ORDER BY ${FEEDBACK_ORDER} LIMIT $2`,
      params,
    );
  }

  /** The first page of several articles' feedback, in one statement; an article's rows come out together, in page order. */
  feedbackFirstPages(topicIds: readonly string[], limit: number): Promise<Array<FeedbackRow & { topic_id: string }>> {
    return this.ds.query(
      `SELECT * FROM (
         SELECT topic_id, ${FEEDBACK_COLUMNS}, row_number() OVER (PARTITION BY topic_id ORDER BY ${FEEDBACK_ORDER}) AS rn
           FROM article_ratings WHERE topic_id = ANY($1::uuid[]) AND comment IS NOT NULL) r
        WHERE rn <= $2 ORDER BY topic_id, rn`,
      [topicIds, limit],
    );
  }

  async feedbackCounts(topicIds: readonly string[]): Promise<Map<string, number>> {
    const rows: Array<{ topic_id: string; n: number }> = await this.ds.query(
      `SELECT topic_id, count(*)::int AS n FROM article_ratings WHERE topic_id = ANY($1::uuid[]) AND comment IS NOT NULL GROUP BY topic_id`,
      [topicIds],
    );
    return new Map(rows.map((r) => [r.topic_id, r.n]));
  }
}

/** One page of feedback, whether one article's (with a cursor) or several first pages at once: the same columns and order. */
const FEEDBACK_COLUMNS = `user_id, helpful, comment, updated_at, updated_at::text AS k_ts`;
const FEEDBACK_ORDER = `updated_at DESC, user_id DESC`;

export interface FeedbackRow {
  user_id: string;
  helpful: boolean;
  comment: string | null;
  updated_at: Date;
  k_ts: string;
}

const STALE_WHERE = `t.space_id = $1 AND a.state <> 'ARCHIVED' AND a.published_revision_id IS NOT NULL AND a.verified_until <= now()`;
const IN_REVIEW_WHERE = `t.space_id = $1 AND a.state = 'IN_REVIEW' AND t.state <> 'DELETED'`;
