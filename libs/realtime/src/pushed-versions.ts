/**
 * How far apart two news of a thing are in the versions its pushes carry (`fullVersion`,
 * `newsVersion`): above any `version` the thing can have (an integer column, 0 to 2^31 - 1), so
 * every news version is above every full version of the news before; and a power of two, so that
 * the versions stay exact numbers in JavaScript up to 2^22 news of one thing.
 */
export const NEWS_STEP = 2 ** 31;

/**
 * Versions of a thing that some of its readers see only part of: a poll whose counts they may
 * not see, a topic whose UNPIN, DELETE and PUBLISH_TO_BOARD timers are its moderators' alone.
 * What every reader hears of (a poll's closing, a status timer set) is its news: `news` counts
 * them; `version` counts every change, those only some readers hear of (votes, the moderators'
 * timers) too. Both are written in the change's own statement, under the thing's row lock, and
 * only grow: two changes' values are in the order they commit.
 *
 * Those who see the whole thing get `fullVersion`, `news` * NEWS_STEP + `version`, the others
 * `newsVersion`, `news` * NEWS_STEP: one scale, so a client keeping the highest version of the
 * thing orders both kinds of push, and a reader who moves from one audience to the other (an
 * ON_VOTE poll's voter) compares them. Both grow with every change they tell of, and every news
 * version is above every full version of the news before it (`version` < NEWS_STEP). A thing
 * without news (0) pushes its `version` to those who see it whole, as before there were news.
 * `version` alone would not do for the others: the difference between two of its values would
 * count the changes between them they may not hear of (the votes, the timers). A reader shown the
 * news only never sees anything between two of its steps.
 */
export function fullVersion(thing: { version: number; news: number }): number {
  return thing.news * NEWS_STEP + thing.version;
}

/** The version a push of a thing's news alone carries to those who see no more of it (`fullVersion`). */
export function newsVersion(news: number): number {
  return news * NEWS_STEP;
}

/**
 * The newest version of each entity's state this process has pushed, per audience (a poll's
 * counts and its count-free news are told apart: they go to different sockets).
 *
 * A push reads its entity's state and version in one statement, then emits: two pushes of one
 * entity started back to back (two votes) run apart, and the later read could be emitted first,
 * leaving its readers with the older state. Asked right before the emit, with no wait between,
 * `admit` refuses a version older than one this process already sent, so one process never
 * sends an older state after a newer one. Equal versions are admitted: they are the same state,
 * read twice. Pushes started on another API process reach the same sockets through the Redis
 * adapter, in no order this one knows: for those the client's rule holds (each push carries its
 * version; a client drops one older than what it shows).
 *
 * Bounded (`limit` entities, the least recently pushed forgotten first): a forgotten entity's
 * older push could go out again, which the client's rule still drops (see README's *Order*).
 */
export class PushedVersions {
  private readonly newest = new Map<string, number>();

  constructor(private readonly limit = 10_000) {}

  /** Whether `version` of `key` may be sent: not older than one sent already. Notes it when so. */
  admit(key: string, version: number): boolean {
    const sent = this.newest.get(key);
    if (sent !== undefined && version < sent) return false;
    // Deleted first, so the entry moves to the end: the map's order is the order of last use.
    this.newest.delete(key);
    this.newest.set(key, version);
    if (this.newest.size > this.limit) this.newest.delete(this.newest.keys().next().value as string);
    return true;
  }

  /** `key` is gone for good (a poll deleted): nothing of it is sent from now on. */
  end(key: string): void {
    this.newest.delete(key);
    this.newest.set(key, Infinity);
    if (this.newest.size > this.limit) this.newest.delete(this.newest.keys().next().value as string);
  }
}
