import { decodeCursor, offsetFromCursor, toOffsetConnection } from './pagination';

describe('position-paged connections', () => {
  const rows = (n: number, total: number) => Array.from({ length: n }, (_, i) => ({ id: i, total }));
  const page = (offset: number, max: number) => toOffsetConnection(rows(3, 50), 2, offset, max, (r) => r.id, async () => 50);

  it('pages on while rows remain, with cursors a later page accepts', () => {
    const c = page(4, 100);
    expect(c.edges.map((e) => e.node)).toEqual([0, 1]);
    expect(c.pageInfo.hasNextPage).toBe(true);
    expect(offsetFromCursor(c.pageInfo.endCursor!, 100)).toBe(6);
    expect(decodeCursor(c.edges[0].cursor, 1)).toEqual([5]);
    expect(c.totalCount).toBe(50);
  });

  it('promises no page past the depth it accepts', () => {
    const c = page(8, 10);
    expect(c.pageInfo.hasNextPage).toBe(false);
    expect(() => offsetFromCursor(page(8, 11).pageInfo.endCursor!, 10)).not.toThrow();
  });

  it('ends the last page at the depth it accepts, so no cursor it issues is refused', () => {
    // 10,015 topics trending, 20 a page, five before the 10,000th: the page holds those five.
    const c = toOffsetConnection(rows(21, 10_015), 20, 9_995, 10_000, (r) => r.id, async () => 10_015);
    expect(c.edges).toHaveLength(5);
    expect(c.pageInfo).toEqual({ hasNextPage: false, endCursor: expect.any(String) });
    for (const cursor of [...c.edges.map((e) => e.cursor), c.pageInfo.endCursor!]) expect(offsetFromCursor(cursor, 10_000)).toBeLessThanOrEqual(10_000);
    expect(offsetFromCursor(c.pageInfo.endCursor!, 10_000)).toBe(10_000);
    // From there (the deepest cursor accepted) the list is empty.
    const end = toOffsetConnection(rows(21, 10_015), 20, 10_000, 10_000, (r) => r.id, async () => 10_015);
    expect([end.edges, end.pageInfo]).toEqual([[], { hasNextPage: false, endCursor: null }]);
  });

  it('counts lazily past the end, where no row carries the total', async () => {
    const c = toOffsetConnection<{ id: number; total: number }, number>([], 2, 60, 100, (r) => r.id, async () => 50);
    expect(c.edges).toEqual([]);
    expect(typeof c.totalCount).toBe('function');
    expect(await (c.totalCount as () => Promise<number>)()).toBe(50);
  });
});
