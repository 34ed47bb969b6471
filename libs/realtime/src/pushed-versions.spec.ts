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
