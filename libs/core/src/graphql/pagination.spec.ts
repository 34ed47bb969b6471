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

  it('counts lazily past the end, where no row carries the total', async () => {
    const c = toOffsetConnection<{ id: number; total: number }, number>([], 2, 60, 100, (r) => r.id, async () => 50);
    expect(c.edges).toEqual([]);
    expect(typeof c.totalCount).toBe('function');
    expect(await (c.totalCount as () => Promise<number>)()).toBe(50);
  });
});
