import { facetCounts, filterOf } from './meili.engine';

describe('Meilisearch filters', () => {
  it('limits to the given spaces and to visible content, unless moderating', () => {
    expect(filterOf({ spaceIds: ['a', 'b'] })).toBe('spaceId IN ["a", "b"] AND state = "VISIBLE"');
    expect(filterOf({ spaceIds: ['a', 'b'], moderatedSpaceIds: ['b'] })).toBe('spaceId IN ["a", "b"] AND (state = "VISIBLE" OR spaceId IN ["b"])');
  });

  it('adds boards, kinds, every tag, the author and first posts', () => {
    expect(filterOf({ spaceIds: ['s'], boardIds: ['b'], kinds: ['QUESTION'], tags: ['x', 'y'], authorId: 'u', topicsOnly: true })).toBe(
      'spaceId IN ["s"] AND state = "VISIBLE" AND boardId IN ["b"] AND kind IN ["QUESTION"] AND tags = "x" AND tags = "y" AND authorId = "u" AND postNumber = 1',
    );
  });

  it('leaves out topics whose audience is changing', () => {
    expect(filterOf({ spaceIds: ['s'], excludeTopicIds: ['t1', 't2'] })).toBe('spaceId IN ["s"] AND state = "VISIBLE" AND topicId NOT IN ["t1", "t2"]');
    expect(filterOf({ spaceIds: ['s'], excludeTopicIds: [] })).toBe('spaceId IN ["s"] AND state = "VISIBLE"');
  });

  it('quotes values so none can close its string and add a condition', () => {
    expect(filterOf({ spaceIds: ['s'], tags: ['a" OR spaceId = "secret', 'back\\slash'] })).toBe(
      'spaceId IN ["s"] AND state = "VISIBLE" AND tags = "a\\" OR spaceId = \\"secret" AND tags = "back\\\\slash"',
    );
  });

  it('orders facet counts by count, then value', () => {
    expect(facetCounts({ b: 2, a: 2, c: 5 })).toEqual([{ value: 'c', count: 5 }, { value: 'a', count: 2 }, { value: 'b', count: 2 }]);
    expect(facetCounts(undefined)).toEqual([]);
  });
});
