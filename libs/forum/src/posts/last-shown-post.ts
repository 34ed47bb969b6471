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
