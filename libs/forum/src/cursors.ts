import { OffsetList } from '../../core/src/graphql/pagination';
import { isPgTimestamptz, validKeyValue } from '../../core/src/graphql/cursor-values';
import { isUuid } from '../../core/src/ids';
import { TopicFeedView, TopicSort } from './forum.enums';

/** Kept in core (groups page by a time too); the forum and the libs above it read them from here as before. */
export { isPgTimestamptz, validKeyValue };

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
