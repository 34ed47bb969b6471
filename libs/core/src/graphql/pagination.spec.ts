import { AppError } from '../errors';
import { decodeCursor, encodeCursor, offsetFromCursor, toConnection, toOffsetConnection } from './pagination';

/** The message of the BAD_USER_INPUT `fn` throws on `after`. */
function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    const fields = (err as AppError).details?.fields;
    if (fields?.length === 1 && fields[0].field === 'after') return fields[0].message;
    throw err;
  }
  throw new Error('not refused');
}

describe('position-paged connections', () => {
  const at = (max: number) => ({ list: 'trending', max });
  const rows = (n: number, total: number) => Array.from({ length: n }, (_, i) => ({ id: i, total }));
  const page = (offset: number, max: number) => toOffsetConnection(rows(3, 50), 2, offset, at(max), (r) => r.id, async () => 50);

  it('pages on while rows remain, with cursors a later page accepts', () => {
    const c = page(4, 100);
    expect(c.edges.map((e) => e.node)).toEqual([0, 1]);
    expect(c.pageInfo.hasNextPage).toBe(true);
    expect(offsetFromCursor(c.pageInfo.endCursor!, at(100))).toBe(6);
    expect(decodeCursor(c.edges[0].cursor, 'trending', 1)).toEqual([5]);
    expect(c.totalCount).toBe(50);
  });

  it('promises no page past the depth it accepts', () => {
    const c = page(8, 10);
    expect(c.pageInfo.hasNextPage).toBe(false);
    expect(() => offsetFromCursor(page(8, 11).pageInfo.endCursor!, at(10))).not.toThrow();
  });

  it('ends the last page at the depth it accepts, so no cursor it issues is refused', () => {
    // 10,015 topics trending, 20 a page, five before the 10,000th: the page holds those five.
    const c = toOffsetConnection(rows(21, 10_015), 20, 9_995, at(10_000), (r) => r.id, async () => 10_015);
    expect(c.edges).toHaveLength(5);
    expect(c.pageInfo).toEqual({ hasNextPage: false, endCursor: expect.any(String), hasPreviousPage: true, startCursor: c.edges[0].cursor });
    for (const cursor of [...c.edges.map((e) => e.cursor), c.pageInfo.endCursor!]) expect(offsetFromCursor(cursor, at(10_000))).toBeLessThanOrEqual(10_000);
    expect(offsetFromCursor(c.pageInfo.endCursor!, at(10_000))).toBe(10_000);
    // From there (the deepest cursor accepted) the list is empty.
    const end = toOffsetConnection(rows(21, 10_015), 20, 10_000, at(10_000), (r) => r.id, async () => 10_015);
    expect([end.edges, end.pageInfo]).toEqual([[], { hasNextPage: false, endCursor: null, hasPreviousPage: true, startCursor: null }]);
  });

  it('counts lazily past the end, where no row carries the total', async () => {
    const c = toOffsetConnection<{ id: number; total: number }, number>([], 2, 60, at(100), (r) => r.id, async () => 50);
    expect(c.edges).toEqual([]);
    expect(typeof c.totalCount).toBe('function');
    expect(await (c.totalCount as () => Promise<number>)()).toBe(50);
  });
});

describe('keyset-paged connections', () => {
  it('gives each edge the fields its list adds, beside its cursor and node', () => {
    const rows = [{ id: 'a', note: 'x' }, { id: 'b', note: null }, { id: 'c', note: 'z' }];
    const c = toConnection(rows, 2, 'bookmarks', (r) => [r.id], (r) => r.id.toUpperCase(), async () => 3, { edgeOf: (r) => ({ note: r.note }) });
    expect(c.edges).toEqual([
      { cursor: encodeCursor('bookmarks', ['a']), node: 'A', note: 'x' },
      { cursor: encodeCursor('bookmarks', ['b']), node: 'B', note: null },
    ]);
    expect(c.pageInfo).toEqual({ hasNextPage: true, endCursor: encodeCursor('bookmarks', ['b']), hasPreviousPage: false, startCursor: encodeCursor('bookmarks', ['a']) });
  });
});

describe('cursors name their list and sort', () => {
  it('gives back the values of a cursor of the same list and sort', () => {
    expect(decodeCursor(encodeCursor('topics:NEWEST', [false, '2026-01-01 00:00:00+00', 'x']), 'topics:NEWEST', 3)).toEqual([false, '2026-01-01 00:00:00+00', 'x']);
    expect(decodeCursor(undefined, 'topics:NEWEST', 3)).toBeUndefined();
  });

  it('refuses a cursor of another sort of the list as one for another sort, even of the same shape', () => {
    const newest = encodeCursor('topics:NEWEST', [false, '2026-01-01 00:00:00+00', 'x']);
    expect(refusal(() => decodeCursor(newest, 'topics:LATEST_ACTIVITY', 3))).toBe('is not a valid cursor for this sort');
    expect(refusal(() => offsetFromCursor(encodeCursor('review:SCORE', [3]), { list: 'review:AGE', max: 10 }))).toBe('is not a valid cursor for this sort');
  });

  it('refuses a cursor of another list, an unnamed one and a forged one', () => {
    for (const cursor of [encodeCursor('search:RELEVANCE', [20]), encodeCursor('trending', [20, 1]), Buffer.from('[20]').toString('base64url'), 'garbage', '']) {
      expect(refusal(() => offsetFromCursor(cursor, { list: 'trending', max: 100 }))).toBe('is not a valid cursor');
    }
  });
});
