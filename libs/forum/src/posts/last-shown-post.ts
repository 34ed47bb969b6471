import { listedViewSql } from '../../../access/src/access.service';

/** Whose standing a reader has in `lastShownPostSql` (SQL): whether they moderate the topic's space, and their id (null when signed out). */
export interface ReaderStanding {
  moderator: string;
  viewer: string;
}

/** A reader who neither moderates the space nor wrote a held reply: what every reader of a topic is shown. */
export const EVERY_READER: ReaderStanding = { moderator: 'false', viewer: 'NULL' };

/**
 * The one rule for "the last post a reader is shown": SQL (a scalar subquery) yielding the number
 * of the last post of topic `topic` that its page lists to a reader of this standing
 * (`listedViewSql`, as the topic page filters its posts: a reply held for approval, or deleted
 * while held, is left out unless the reader wrote it or moderates the space), no further than
 * `upTo` when given; null when no post is. `topics.last_post_number` counts held replies, so a
 * read mark stops here (`markRead`, and `movePosts` setting marks back) and a board's readers are
 * told this (`topic:activity`), never that number. Through the (topic_id, number) index.
 */
export function lastShownPostSql(topic: string, reader: ReaderStanding, upTo?: string): string {
  const bound = upTo ? ` AND ls.number <= ${upTo}` : '';
  return `(SELECT max(ls.number) FROM posts ls WHERE ls.topic_id = ${topic}${bound} AND ${listedViewSql('ls', reader)})`;
}

/**
 * The one rule for "the highest number a post of the topic has had" (SQL, of `topics` row
 * `table`, when the statement names it): a new post takes the number after it. Not
 * `last_post_number` alone: `movePosts` lowers that to what remains of a topic it took replies
 * off the end of, and keeps the old end in `max_post_number` (0 until a move out of the topic,
 * every one of which sets it, one from the middle too), so a number is never
 * given twice in a topic: a read mark, notification or link holding a moved post's number never
 * names a later reply (migration 1765523400000).
 */
export function highestPostNumberSql(table?: string): string {
  const col = table ? `${table}.` : '';
  return `GREATEST(${col}last_post_number, ${col}max_post_number)`;
}

/**
 * The one rule for "a topic's readers see this change": SET items (SQL) of an `UPDATE topics`
 * raising its `version` and `updated_at` (and, given `activity`, setting `last_activity_at` to
 * it) only when `shown`, an SQL boolean; otherwise leaving them as they were. A reply held for
 * approval (reply), or a move of held, hidden or deleted replies alone (movePosts), changes
 * nothing a topic's readers see of the topic: a reader polling it or hearing its pushes
 * (`topic:updated`, `topic:activity`) could otherwise tell that something they may not see
 * happened. `table` is the updated row's alias, when the statement gives it one.
 */
export function raiseTopicWhenShownSql(shown: string, table?: string, activity?: string): string {
  const col = table ? `${table}.` : '';
  const raised = [
    ...(activity ? [`last_activity_at = CASE WHEN ${shown} THEN ${activity} ELSE ${col}last_activity_at END`] : []),
    `version = CASE WHEN ${shown} THEN next_version(${col}version) ELSE ${col}version END`,
    `updated_at = CASE WHEN ${shown} THEN now() ELSE ${col}updated_at END`,
  ];
  return raised.join(', ');
}
