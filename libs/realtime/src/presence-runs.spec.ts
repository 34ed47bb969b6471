import { PRESENCE_RUNS_AT_ONCE, presenceRunsAtOnce } from './live.gateway';

describe('presenceRunsAtOnce (presence runs a node has under way at once, by DB_POOL_SIZE)', () => {
  it('takes half the pool, one at least and PRESENCE_RUNS_AT_ONCE at most, leaving the rest to requests', () => {
    expect(PRESENCE_RUNS_AT_ONCE).toBe(4);
    expect([1, 2, 3, 4, 5, 8, 9, 10, 50].map(presenceRunsAtOnce)).toEqual([1, 1, 1, 2, 2, 4, 4, 4, 4]);
  });
});
