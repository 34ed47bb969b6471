import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { fullViewSql } from '../../../access/src/access.service';
import { outboxInsertSql, Queryable, rowsOf } from '../../../core/src/database/unit-of-work';
import { ActivityReader, POST_COLUMNS } from '../posts/posts.repository';
import { BookmarkRow } from './bookmark.model';

/** Whose bookmarks, and what they may read: the member's id and the spaces they read and moderate. */
export type BookmarkReader = ActivityReader & { viewerId: string };

/**
 * The bookmarks a member may see: those of posts they may read in full, in topics they may
 * read in full (AccessService.contentView, as SQL). The others stay stored, out of sight,
 * until access comes back. $1 is the member, $2 and $3 the spaces they read and moderate.
 */
const LISTED = `b.user_id = $1 AND ${fullViewSql('p', { viewer: '$1', readable: '$2', moderated: '$3' })}
  AND ${fullViewSql('t', { viewer: '$1', readable: '$2', moderated: '$3' })}`;
const LISTED_FROM = `post_bookmarks b JOIN posts p ON p.id = b.post_id JOIN topics t ON t.id = p.topic_id`;

/** The outbox event a due reminder becomes: payload `{ userId, postId, remindAt }` (the notifications handler's). */
export const BOOKMARK_REMINDER_DUE = 'bookmark.reminder_due';

/** Which bookmarks a list takes by their reminder: true those with one, false those without, undefined all. */
function reminderSql(withReminder: boolean | null | undefined): string {
  if (withReminder === undefined || withReminder === null) return '';
  return ` AND b.remind_at IS ${withReminder ? 'NOT ' : ''}NULL`;
}

@Injectable()
export class BookmarksRepository {
  constructor(private readonly ds: DataSource) {}

  /** Which of these posts the user has bookmarked (whether or not they may read them now). */
  async bookmarkedAmong(userId: string, postIds: readonly string[]): Promise<Set<string>> {
    const rows: Array<{ post_id: string }> = await this.ds.query(`SELECT post_id FROM post_bookmarks WHERE user_id = $1 AND post_id = ANY($2::uuid[])`, [userId, postIds]);
    return new Set(rows.map((r) => r.post_id));
  }

  /** A keyset page of the member's listed bookmarks, newest first (`withReminder`: see reminderSql). */
  page(reader: BookmarkReader, limit: number, after?: [string, string], withReminder?: boolean | null): Promise<BookmarkRow[]> {
    const keyset = after ? ` AND (b.created_at, b.post_id) < ($5::timestamptz, $6::uuid)` : '';
    return this.ds.query(
      `SELECT ${POST_COLUMNS}, b.note, b.remind_at, b.created_at AS bookmarked_at, b.created_at::text AS k_ts FROM ${LISTED_FROM}
        WHERE ${LISTED}${reminderSql(withReminder)}${keyset} ORDER BY b.created_at DESC, b.post_id DESC LIMIT $4`,
      [reader.viewerId, reader.readable, reader.moderated, limit, ...(after ?? [])],
    );
  }

  /** How many bookmarks the member's list holds (`m`: inside a transaction that decides on it; `withReminder`: see reminderSql). */
  async count(reader: BookmarkReader, m: Queryable = this.ds, withReminder?: boolean | null): Promise<number> {
    const [row]: Array<{ n: number }> = await m.query(`SELECT count(*)::int AS n FROM ${LISTED_FROM} WHERE ${LISTED}${reminderSql(withReminder)}`, [
      reader.viewerId,
      reader.readable,
      reader.moderated,
    ]);
    return row.n;
  }

  /**
   * The member's bookmark of a post, if any (read under the member's lock, `UsersRepository.lockMember`),
   * locked for the transaction: a reminder the job is firing is read once cleared, so a change
   * that keeps the reminder does not put back one that has fired (and the job skips it meanwhile).
   */
  async find(m: Queryable, userId: string, postId: string): Promise<{ note: string | null; remind_at: Date | null } | undefined> {
    const [row] = await m.query(`SELECT note, remind_at FROM post_bookmarks WHERE user_id = $1 AND post_id = $2 FOR UPDATE`, [userId, postId]);
    return row;
  }

  async save(m: Queryable, userId: string, postId: string, note: string | null, remindAt: Date | null): Promise<void> {
    await m.query(
      `INSERT INTO post_bookmarks (user_id, post_id, note, remind_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (user_id, post_id) DO UPDATE SET note = excluded.note, remind_at = excluded.remind_at`,
      [userId, postId, note, remindAt],
    );
  }

  /**
   * Fires up to `limit` reminders due by `now`, soonest first, in one statement: it claims them
   * down the partial index (`FOR UPDATE SKIP LOCKED`: a reminder another worker holds is
   * theirs), clears them, and writes a BOOKMARK_REMINDER_DUE outbox event for each, so a
   * reminder is cleared exactly when its event is stored. Answers how many it fired.
   */
  async fireDue(now: Date, limit: number): Promise<number> {
    const [row]: Array<{ n: number }> = await this.ds.query(
      outboxInsertSql(
        `SELECT '${BOOKMARK_REMINDER_DUE}', 'user', user_id, 1, jsonb_build_object('userId', user_id, 'postId', post_id, 'remindAt', remind_at) FROM cleared`,
        `due AS (
           SELECT user_id, post_id, remind_at FROM post_bookmarks WHERE remind_at <= $1 ORDER BY remind_at LIMIT $2 FOR UPDATE SKIP LOCKED),
         cleared AS (
           UPDATE post_bookmarks b SET remind_at = NULL FROM due WHERE b.user_id = due.user_id AND b.post_id = due.post_id
           RETURNING b.user_id, b.post_id, due.remind_at)`,
      ),
      [now, limit],
    );
    return row.n;
  }

  /** Whether there was a bookmark to remove. */
  async remove(userId: string, postId: string): Promise<boolean> {
    const rows = await this.ds.query(`DELETE FROM post_bookmarks WHERE user_id = $1 AND post_id = $2 RETURNING 1`, [userId, postId]);
    // TypeORM answers a DELETE … RETURNING with [rows, count].
    return rowsOf(rows).length > 0;
  }
}
