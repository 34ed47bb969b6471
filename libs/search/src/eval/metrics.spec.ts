import { averagePrecision, mean, ndcgAt } from './metrics';

describe('ranking metrics', () => {
  const rel = new Set(['a', 'c']);

  it('average precision rewards relevant items early and counts missing ones as zero', () => {
    expect(averagePrecision(['a', 'c', 'b'], rel)).toBe(1);
    expect(averagePrecision(['b', 'a', 'c'], rel)).toBeCloseTo((1 / 2 + 2 / 3) / 2);
    expect(averagePrecision(['a', 'b'], rel)).toBe(0.5);
    expect(averagePrecision(['a'], new Set())).toBe(0);
  });

  it('nDCG@k compares with the ideal ordering and ignores ranks past k', () => {
    expect(ndcgAt(10, ['a', 'c'], rel)).toBe(1);
    expect(ndcgAt(10, ['b', 'a', 'c'], rel)).toBeCloseTo((1 / Math.log2(3) + 1 / Math.log2(4)) / (1 + 1 / Math.log2(3)));
    expect(ndcgAt(1, ['b', 'a'], rel)).toBe(0);
    expect(ndcgAt(10, [], new Set())).toBe(0);
  });

  it('mean of nothing is zero', () => {
    expect(mean([])).toBe(0);
    expect(mean([1, 0])).toBe(0.5);
  });
});
