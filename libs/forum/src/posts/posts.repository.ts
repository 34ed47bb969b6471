import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AUTHOR_COLUMNS, AuthorColumns } from '../../../identity/src/users/user.model';
import { PendingEditModel, PostRevisionModel, PostRow } from './post.model';
import { prepared } from '../../../core/src/database/prepared-statements';
import { Queryable } from '../../../core/src/database/unit-of-work';
import { fullViewSql, listedViewSql } from '../../../access/src/access.service';

/** A topic page row: the post without its markdown source, its author, the viewer's reactions. */
export type PostPageRow = Omit<PostRow, 'body_source'> & { my_kinds: string[] } & AuthorColumns;

/**
 * A page leaves the markdown sources out: they are as large as the HTML and only their
 * authors and moderators ever ask for them (PostsResolver.bodySource loads them then).
 */
const PAGE_COLUMNS = `p.id, p.topic_id, p.space_id, p.number, p.author_id, p.reply_to_post_id, p.body_html,
  p.state, p.deleted_from, p.reaction_counts, p.reaction_total, p.edited_at, p.version, p.removed_version, p.created_at, p.wiki, p.has_poll`;

export const POST_COLUMNS = `${PAGE_COLUMNS}, p.body_source`;

const POSTS_BY_ID = prepared('posts.by_id', `SELECT ${POST_COLUMNS} FROM posts p WHERE p.id = ANY($1::uuid[])`);

/**
 * The topic page of the topic `topic` names ($2 a post number, $3 moderator, $4 viewer, $5
 * limit): the posts after $2 by default, or those `range` picks.
 */
const topicPageSql = (topic: string, range = 'p.number > $2', order = 'p.number', limit = '$5') => `SELECT ${PAGE_COLUMNS}, ${AUTHOR_COLUMNS},
          CASE WHEN $4::uuid IS NULL THEN '{}'::text[]
               ELSE ARRAY(SELECT r.kind FROM reactions r WHERE r.post_id = p.id AND r.user_id = $4::uuid ORDER BY r.created_at) END AS my_kinds
     FROM posts p JOIN users u ON u.id = p.author_id
    WHERE p.topic_id = ${topic} AND ${range}
      AND ${listedViewSql('p', { moderator: '$3', viewer: '$4' })}
    ORDER BY ${order}
    LIMIT ${limit}`;

/**
 * Both sides of a post number in a topic ($2), as the topic page lists them: up to $5 posts
 * before it (the nearest) and up to $6 from it on, in number order, each row saying on which
 * side it is (`before_pivot`). One statement for a page opened at a post, or read backwards.
 */
const TOPIC_WINDOW = `SELECT w.* FROM (
     (SELECT true AS before_pivot, b.* FROM (${topicPageSql('$1', 'p.number < $2', 'p.number DESC', '$5')}) b)
     UNION ALL
     (SELECT false, f.* FROM (${topicPageSql('$1', 'p.number >= $2', 'p.number', '$6')}) f)
   ) w ORDER BY w.number`;

const TOPIC_PAGE = prepared('posts.topic_page', topicPageSql('$1'));
/** The same page of several topics ($1 their ids), for topics listed with their posts. */
const TOPIC_PAGES = prepared('posts.topic_pages', `SELECT page.* FROM unnest($1::uuid[]) AS x(id) CROSS JOIN LATERAL (${topicPageSql('x.id')}) page`);

/** How far back a sync mark reaches: longer than any transaction that writes posts stays open. */
export const SYNC_OVERLAP_SECONDS = 60;

/** Who reads a profile's activity: their id (null when signed out), the spaces they read and those they moderate. */
export interface ActivityReader {
  viewerId: string | null;
  readable: string[];
  moderated: string[];
}

/** A profile's activity as one reader may read it: topics started (first posts) and replies. */
export interface ActivityCounts {
  topics: number;
  replies: number;
}

@Injectable()
export class PostsRepository {
  constructor(private readonly ds: DataSource) {}

  /**
   * Slow mode: the seconds a member still waits before posting in the topic again (0 for
   * none), from their latest post in it, whatever became of it (deleting a post buys no
   * sooner turn). Reads only the window, through the author index.
   */
  async slowModeWait(topicId: string, authorId: string, seconds: number, m: Queryable = this.ds): Promise<number> {
    const [row] = await m.query(
      `SELECT ceil(extract(epoch FROM max(created_at) + make_interval(secs => $3) - now()))::int AS wait FROM posts
        WHERE author_id = $2 AND topic_id = $1 AND created_at > now() - make_interval(secs => $3)`,
      [topicId, authorId, seconds],
    );
    return Math.max(0, Number(row?.wait ?? 0));
  }

  /** Who deleted a post (null when it is not deleted, or when nobody in person did); on `q`, a transaction's manager inside one. */
  async deletedBy(id: string, q: Queryable = this.ds): Promise<string | null> {
    const [row] = await q.query(`SELECT deleted_by FROM posts WHERE id = $1`, [id]);
    return row?.deleted_by ?? null;
  }

  /**
   * Who hid a post last (or its topic, for a first post), from the moderation log; null for
   * automatic moderation or none. On `q`, as `deletedBy`. A review's APPROVE counts when it hid
   * the post (the log's `outcome` HIDDEN) or upheld reports on it while it was hidden (NONE, found
   * HIDDEN): not one that left it visible or deleted, nor one of a held edit (`ContentOutcome`
   * in the moderation lib; matched as data, never by the entry's wording). A restore
   * (`post.restore`) hides nothing of its own: a post deleted hidden comes back hidden as it was
   * (`deleted_from`), by whoever hid it, and nothing hides a deleted post, so the latest hide
   * before the deletion is still who hid it; counted, a moderator who deleted and restored their
   * own post another hid would undo that hiding.
   */
  async hiddenBy(post: { id: string; topicId: string; number: number }, q: Queryable = this.ds): Promise<string | null> {
    const [row] = await q.query(
      `SELECT actor_id FROM moderation_log
        WHERE ((target_type = 'post' AND target_id = $1) OR (target_type = 'topic' AND target_id = $2 AND $3))
          AND (action IN ('post.hide', 'post.auto_hide')
               OR (action = 'review.approve' AND (outcome = 'HIDDEN' OR (outcome = 'NONE' AND before->>'state' = 'HIDDEN'))))
        ORDER BY id DESC LIMIT 1`,
      [post.id, post.topicId, post.number === 1],
    );
    return row?.actor_id ?? null;
  }

  /** Posts by id; read through `m` when given (a caller's transaction). */
  getByIds(ids: readonly string[], m: Queryable = this.ds): Promise<PostRow[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return m.query(POSTS_BY_ID, [ids]);
  }

  /** The first posts of these topics; read through `m` when given (a caller's transaction). */
  firstPosts(topicIds: readonly string[], m: Queryable = this.ds): Promise<PostRow[]> {
    if (topicIds.length === 0) return Promise.resolve([]);
    return m.query(`SELECT ${POST_COLUMNS} FROM posts p WHERE p.topic_id = ANY($1::uuid[]) AND p.number = 1`, [topicIds]);
  }

  /**
   * A keyset page of a topic's posts by number: those contentView shows the viewer, in full
   * or as a placeholder (listedViewSql).
   * The topic page is the hottest read: the posts come with their authors and the
   * viewer's own reactions in the same statement, instead of two more look-ups.
   */
  topicPage(topicId: string, viewerId: string | null, moderator: boolean, afterNumber: number, limit: number): Promise<PostPageRow[]> {
    return this.ds.query(TOPIC_PAGE, [topicId, afterNumber, moderator, viewerId, limit]);
  }

  /** The posts of a topic on each side of post number `pivot`: `behind` of them before it, `from` from it on (TOPIC_WINDOW). */
  topicWindow(topicId: string, viewerId: string | null, moderator: boolean, pivot: number, behind: number, from: number): Promise<Array<PostPageRow & { before_pivot: boolean }>> {
    return this.ds.query(TOPIC_WINDOW, [topicId, pivot, moderator, viewerId, behind, from]);
  }

  /** `topicPage` of several topics in one statement; a topic's rows come out together. */
  topicPages(topicIds: readonly string[], viewerId: string | null, moderator: boolean, afterNumber: number, limit: number): Promise<PostPageRow[]> {
    if (topicIds.length === 1) return this.topicPage(topicIds[0], viewerId, moderator, afterNumber, limit);
    return this.ds.query(TOPIC_PAGES, [topicIds, afterNumber, moderator, viewerId, limit]);
  }

  /**
   * The posts up to `upToNumber` changed after `since` (approved, hidden, edited, deleted…) as
   * the viewer's topic page lists them: what a client that left holds may have gone stale.
   */
  changedUpTo(topicId: string, viewerId: string | null, moderator: boolean, upToNumber: number, since: string, limit: number): Promise<PostPageRow[]> {
    return this.ds.query(topicPageSql('$1', 'p.number <= $2 AND p.updated_at > $6::timestamptz'), [topicId, upToNumber, moderator, viewerId, limit, since]);
  }

  /**
   * Where a client's next `changedUpTo` starts: the database's clock, less a margin for
   * transactions under way, whose rows bear their start time but show only at commit.
   */
  async syncMark(): Promise<string> {
    const [row] = await this.ds.query(`SELECT to_char((now() - interval '${SYNC_OVERLAP_SECONDS} seconds') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS mark`);
    return row.mark;
  }

  /** How many posts each topic's page lists (topics with none are missing from the map). */
  async topicCounts(topicIds: readonly string[], viewerId: string | null, moderator: boolean): Promise<Map<string, number>> {
    const rows: Array<{ topic_id: string; n: number }> = await this.ds.query(
      `SELECT p.topic_id, count(*)::int AS n FROM posts p
        WHERE p.topic_id = ANY($1::uuid[]) AND ${listedViewSql('p', { moderator: '$2', viewer: '$3' })} GROUP BY p.topic_id`,
      [topicIds, moderator, viewerId],
    );
    return new Map(rows.map((r) => [r.topic_id, r.n]));
  }

  /**
   * A user's posts that a reader may read in full (AccessService.contentView, as SQL): the
   * post and its topic both, in a space the reader reads. Others see visible posts in visible
   * topics, the author also their own pending and hidden ones, moderators everything in the
   * spaces they moderate. `author` is `$1` for one author, or the column of `unnest($1)` for
   * several; $2–$4 are the reader's.
   */
  private activityWhere(author: string): string {
    const can = { viewer: '$2', readable: '$3', moderated: '$4' };
    return `p.author_id = ${author} AND ${fullViewSql('p', can)} AND ${fullViewSql('t', can)}`;
  }

  /** [$2, $3, $4] of `activityWhere`. */
  private readerParams(reader: ActivityReader): unknown[] {
    return [reader.viewerId, reader.readable, reader.moderated];
  }

  /**
   * One page of each author's posts, newest first (profile activity), in one statement however
   * many authors a list asks it of: one `LIMIT` per author, through a lateral join.
   */
  activityPages(authorIds: readonly string[], reader: ActivityReader, limit: number, after?: [string, string]): Promise<Array<PostRow & { k_ts: string }>> {
    const keyset = after ? ` AND (p.created_at, p.id) < ($6::timestamptz, $7::uuid)` : '';
    const params = [authorIds, ...this.readerParams(reader), limit, ...(after ?? [])];
    return this.ds.query(
      `SELECT x.* FROM unnest($1::uuid[]) AS a(id) CROSS JOIN LATERAL (
         SELECT ${POST_COLUMNS}, p.created_at::text AS k_ts FROM posts p JOIN topics t ON t.id = p.topic_id
          WHERE ${this.activityWhere('a.id')}${keyset} ORDER BY p.created_at DESC, p.id DESC LIMIT $5) x`,
      params,
    );
  }

  /**
   * How many of each author's posts the reader may read, as `activityPages` lists them: the
   * topics they started (first posts) and their replies (authors with none are missing from the map).
   */
  async activityCounts(authorIds: readonly string[], reader: ActivityReader): Promise<Map<string, ActivityCounts>> {
    const rows: Array<{ author_id: string; topics: number; replies: number }> = await this.ds.query(
      `SELECT p.author_id, count(*) FILTER (WHERE p.number = 1)::int AS topics, count(*) FILTER (WHERE p.number > 1)::int AS replies
         FROM unnest($1::uuid[]) AS a(id) JOIN posts p ON p.author_id = a.id JOIN topics t ON t.id = p.topic_id
        WHERE ${this.activityWhere('a.id')} GROUP BY p.author_id`,
      [authorIds, ...this.readerParams(reader)],
    );
    return new Map(rows.map((r) => [r.author_id, { topics: r.topics, replies: r.replies }]));
  }

  async pendingEdits(postIds: readonly string[]): Promise<Map<string, PendingEditModel>> {
    const rows: Array<{ post_id: string; body_source: string; body_html: string; title: string | null; tags: string[] | null; reason: string | null; note: string | null; version: number; created_at: Date }> =
      await this.ds.query(`SELECT post_id, body_source, body_html, title, tags, reason, note, version, created_at FROM post_pending_edits WHERE post_id = ANY($1::uuid[])`, [postIds]);
    return new Map(
      rows.map((r) => [
        r.post_id,
        Object.assign(new PendingEditModel(), { bodySource: r.body_source, bodyHtml: r.body_html, title: r.title, tags: r.tags, reason: r.reason, note: r.note, version: r.version, createdAt: r.created_at }),
      ]),
    );
  }

  async myReactions(userId: string, postIds: readonly string[]): Promise<Map<string, string[]>> {
    const rows: Array<{ post_id: string; kind: string }> = await this.ds.query(
      `SELECT post_id, kind FROM reactions WHERE user_id = $1 AND post_id = ANY($2::uuid[]) ORDER BY created_at`,
      [userId, postIds],
    );
    const out = new Map<string, string[]>();
    for (const r of rows) out.set(r.post_id, [...(out.get(r.post_id) ?? []), r.kind]);
    return out;
  }

  async revisions(postIds: readonly string[]): Promise<Map<string, PostRevisionModel[]>> {
    const rows: Array<{ post_id: string; number: number; reason: string | null; body_source: string; title: string | null; tags: string[] | null; created_at: Date; editor_id: string; unpublished: boolean }> =
      await this.ds.query(
        `SELECT post_id, number, reason, body_source, title, tags, created_at, editor_id, unpublished FROM post_revisions
          WHERE post_id = ANY($1::uuid[]) ORDER BY post_id, number`,
        [postIds],
      );
    const out = new Map<string, PostRevisionModel[]>();
    for (const r of rows) {
      const m = Object.assign(new PostRevisionModel(), {
        number: r.number, reason: r.reason, bodySource: r.body_source, title: r.title, tags: r.tags, createdAt: r.created_at, editorId: r.editor_id, unpublished: r.unpublished,
      });
      out.set(r.post_id, [...(out.get(r.post_id) ?? []), m]);
    }
    return out;
  }
}
