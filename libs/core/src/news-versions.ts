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
