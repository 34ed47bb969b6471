import { OffsetList } from '../../core/src/graphql/pagination';
import { isUuid } from '../../core/src/ids';
import { TopicFeedView, TopicSort } from './forum.enums';

/*
 * Cursors are opaque to clients but decoded by us: they name their list and sort (see
 * encodeCursor), so another list's or sort's is refused, and each check below runs before a
 * value reaches SQL, so a forged cursor is BAD_USER_INPUT rather than a database error.
 */

/** The name of a board's topic list's cursors in one sort (see encodeCursor). */
export const topicListCursor = (sort: TopicSort): string => `topics:${sort}`;
/** The name of a site-wide topic feed's cursors in one view (Query.topics). */
export const topicFeedCursor = (view: TopicFeedView): string => `topic-feed:${view}`;
/** Board.topics(sort: TRENDING), forum and idea boards alike: paged by position. */
export const TRENDING_TOPICS: OffsetList = { list: topicListCursor(TopicSort.TRENDING), max: 10_000 };
/** A topic's posts (Topic.posts, and a live client's topic:sync). */
export const TOPIC_PAGE_CURSOR = 'posts';
/** A user's contributions (User.posts). */
export const ACTIVITY_CURSOR = 'user-posts';
/** The viewer's bookmarks (Query.bookmarks). */
export const BOOKMARKS_CURSOR = 'bookmarks';
/** The viewer's drafts (Query.drafts). */
export const DRAFTS_CURSOR = 'drafts';

/**
 * A list cursor is [pinned, sort key, id]; the sort key is PostgreSQL's text form of a
 * timestamp (LATEST_ACTIVITY, NEWEST) or an integer (TOP). Anything else is refused before
 * it reaches SQL.
 */
export function validListCursor(after: unknown[], sort: TopicSort): boolean {
  const [pinned, key, id] = after;
  return typeof pinned === 'boolean' && validKeyValue(key, sort === TopicSort.TOP ? 'int' : 'timestamptz') && validKeyValue(id, 'uuid');
}

/** A topic feed cursor: [the view's sort key, a timestamp in PostgreSQL's text form; topic id]. */
export function validFeedCursor(after: unknown[]): boolean {
  const [key, id] = after;
  return validKeyValue(key, 'timestamptz') && validKeyValue(id, 'uuid');
}

/** One value of a keyset cursor, as its key needs it: an int4 or a timestamptz in PostgreSQL's text form, or a uuid. */
export function validKeyValue(value: unknown, type: 'int' | 'timestamptz' | 'uuid'): boolean {
  if (type === 'uuid') return isUuid(value);
  if (typeof value !== 'string') return false;
  return type === 'int' ? /^-?\d{1,10}$/.test(value) && Math.abs(Number(value)) <= 2 ** 31 - 1 : isPgTimestamptz(value);
}

/** PostgreSQL's ISO output of a timestamptz (`2026-11-23 10:31:15.123456+00`), with real calendar values. */
export function isPgTimestamptz(text: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?[+-](\d{2})(?::(\d{2}))?(?::(\d{2}))?$/.exec(text);
  if (!m) return false;
  const [year, month, day, hour, minute, second, offsetHours, offsetMinutes, offsetSeconds] = [m[1], m[2], m[3], m[4], m[5], m[6], m[8], m[9] ?? '0', m[10] ?? '0'].map(Number);
  const date = new Date(Date.UTC(year, month - 1, day));
  return (
    year >= 1 && date.getUTCMonth() === month - 1 && date.getUTCDate() === day &&
    hour <= 23 && minute <= 59 && second <= 59 &&
    // PostgreSQL takes offsets below 16 hours: 15:59:59 at most.
    offsetHours <= 15 && offsetMinutes <= 59 && offsetSeconds <= 59
  );
}

/** A topic page cursor: [post number]. */
export function validPostNumberCursor(after: unknown[]): boolean {
  const [n] = after;
  return Number.isInteger(n) && (n as number) >= 0 && (n as number) <= 2 ** 31 - 1;
}

/**
 * A cursor of [a time as PostgreSQL text, an id]: profile activity (created_at, post id),
 * bookmarks (when bookmarked, post id) and drafts (when last saved, draft id).
 */
export function validTimeIdCursor(after: unknown[]): boolean {
  const [ts, id] = after;
  return typeof ts === 'string' && isPgTimestamptz(ts) && typeof id === 'string' && isUuid(id);
}
