import { fullVersion, newsVersion } from '../../core/src/news-versions';
import { PushedVersions } from './pushed-versions';

describe('PushedVersions', () => {
  it('admits newer and equal versions of a key, refuses older ones, and keeps keys apart', () => {
    const v = new PushedVersions();
    expect(v.admit('poll:a', 2)).toBe(true);
    expect(v.admit('poll:a', 1)).toBe(false);
    expect(v.admit('poll:a', 2)).toBe(true);
    expect(v.admit('poll:b', 1)).toBe(true);
    expect(v.admit('poll:a', 3)).toBe(true);
    expect(v.admit('poll:a', 2)).toBe(false);
  });

  it('passes tells whether a version would be admitted, and notes nothing', () => {
    const v = new PushedVersions();
    expect(v.passes('topic:a@board:b', 1)).toBe(true);
    v.admit('topic:a@board:b', 5);
    expect(v.passes('topic:a@board:b', 4)).toBe(false);
    expect(v.passes('topic:a@board:b', 5)).toBe(true);
    expect(v.passes('topic:a@board:b', 9)).toBe(true);
    // 9 passed, not noted: 6 is still admitted.
    expect(v.admit('topic:a@board:b', 6)).toBe(true);
  });

  it('admits and passes a push without a version (an older release’s event), and notes nothing of it', () => {
    const v = new PushedVersions();
    expect(v.admit('post:a', 5)).toBe(true);
    for (const none of [undefined, null]) {
      expect(v.admit('post:a', none)).toBe(true);
      expect(v.passes('post:a', none)).toBe(true);
    }
    // 5 is still the newest sent: an older version is refused, the versionless ones noted nothing.
    expect(v.admit('post:a', 4)).toBe(false);
    expect(v.admit('post:b', undefined)).toBe(true);
    expect(v.admit('post:b', 1)).toBe(true);
    expect(v.admit('post:b', 0)).toBe(false);
  });

  it('refuses every version of an ended key', () => {
    const v = new PushedVersions();
    expect(v.admit('poll:a', 1)).toBe(true);
    v.end('poll:a');
    expect(v.admit('poll:a', 1_000_000)).toBe(false);
  });

  it('forgets the least recently pushed key past its limit, not one pushed since', () => {
    const v = new PushedVersions(2);
    v.admit('a', 5);
    v.admit('b', 5);
    v.admit('a', 6); // a is now the more recent
    v.admit('c', 1); // b forgotten, a kept
    expect(v.admit('a', 5)).toBe(false);
    expect(v.admit('b', 1)).toBe(true);
  });
});

describe('fullVersion and newsVersion', () => {
  // The columns are integers: `version` at most 2^31 - 1, and `news` exact up to 2^22 - 1 (NEWS_STEP's note).
  const MAX_VERSION = 2 ** 31 - 1;
  const MAX_NEWS = 2 ** 22 - 1;

  it('stay exact JavaScript numbers up to the last news they are exact for, with the most changes after it', () => {
    const last = fullVersion({ version: MAX_VERSION, news: MAX_NEWS });
    expect(Number.isSafeInteger(last)).toBe(true);
    expect(last).toBe(Number.MAX_SAFE_INTEGER);
    // One change less is one less: nothing rounded away.
    expect(fullVersion({ version: MAX_VERSION - 1, news: MAX_NEWS })).toBe(last - 1);
  });

  it('put every news above every full version of the news before it, and a full version at or above its own news', () => {
    for (const news of [0, 1, 1000, MAX_NEWS - 1]) {
      const mostBefore = fullVersion({ version: MAX_VERSION, news });
      expect(newsVersion(news + 1)).toBeGreaterThan(mostBefore);
      // The news' own change (or the first of the thing's versions, 0): at or above its news version.
      expect(fullVersion({ version: 0, news })).toBe(newsVersion(news));
      expect(fullVersion({ version: 7, news })).toBeGreaterThan(newsVersion(news));
    }
  });

  it('give a thing without news its version, as its pushes carried before there were news', () => {
    for (const version of [0, 1, 7, MAX_VERSION]) expect(fullVersion({ version, news: 0 })).toBe(version);
  });

  it('grow with every change, whether it is news or not', () => {
    // Votes (or moderators' timers), then a news, then more: the full versions in commit order.
    const steps = [
      { version: 1, news: 0 },
      { version: 2, news: 0 },
      { version: 3, news: 1 },
      { version: 4, news: 1 },
      { version: 5, news: 2 },
    ];
    const full = steps.map(fullVersion);
    expect(full).toEqual([...full].sort((a, b) => a - b));
    expect(new Set(full).size).toBe(full.length);
  });
});
