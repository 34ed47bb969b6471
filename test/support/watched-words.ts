import type { TryBudget } from '../../libs/moderation/src/automod/matcher';
import type { WatchedWordsSettings } from '../../libs/moderation/src/automod/watched-words';

/**
 * A save's tries of its pattern with no time limit and a stopped clock: no ordinary pattern is refused as too slow because the
 * machine is loaded (the real budget is real time, 25 ms a try and 1 s for all of a pattern's: on a loaded machine the automod
 * e2e's saves were refused, and almost every test failed). What every test app's saves use unless a test puts the real budget
 * back (`REAL_TRIES`, around patterns slow by construction).
 */
export const UNTIMED_TRIES: Readonly<TryBudget> = Object.freeze({
  now: () => 0,
  run: (re: RegExp, text: string) => {
    re.lastIndex = 0;
    return re.test(text);
  },
});

/** validatePattern's own defaults: real time, as in production. */
export const REAL_TRIES: Readonly<TryBudget> = Object.freeze({});

/** A test app's watched-word settings (its own object: a test sets hooks on it, `matchingSteps.made`, and puts them back). */
export const testWatchedWords = (): WatchedWordsSettings => ({ patternTries: UNTIMED_TRIES, matchingSteps: {} });
