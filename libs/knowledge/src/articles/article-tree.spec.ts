import { breadcrumbsOf, TreeEntry, viewerTree } from './article-tree';

const e = (id: string, parentId: string | null, position = 0, shown = true): TreeEntry => ({ id, parentId, position, order: id, shown });

describe('viewerTree', () => {
  it('orders depth first, siblings by position then age', () => {
    const tree = viewerTree([e('b', null, 1), e('a', null, 0), e('a2', 'a', 1), e('a1', 'a', 0), e('a1x', 'a1', 0), e('c', null, 1)]);
    expect(tree.order).toEqual(['a', 'a1', 'a1x', 'a2', 'b', 'c']);
    expect(tree.childrenOf.get(null)).toEqual(['a', 'b', 'c']);
    expect(tree.depthOf.get('a1x')).toBe(2);
    expect(breadcrumbsOf(tree, 'a1x')).toEqual(['a', 'a1']);
  });

  it('lifts what an unseen article holds to its nearest seen ancestor, in its place', () => {
    const tree = viewerTree([e('a', null, 0), e('draft', 'a', 0, false), e('x', 'draft', 0), e('y', 'draft', 1), e('z', 'a', 1)]);
    expect(tree.order).toEqual(['a', 'x', 'y', 'z']);
    expect(tree.childrenOf.get('a')).toEqual(['x', 'y', 'z']);
    expect(tree.parentOf.get('x')).toBe('a');
    expect(tree.parentOf.has('draft')).toBe(false);
    expect(breadcrumbsOf(tree, 'y')).toEqual(['a']);
  });

  it('makes the children of an unseen top-level article top-level', () => {
    const tree = viewerTree([e('hidden', null, 0, false), e('child', 'hidden', 0)]);
    expect(tree.childrenOf.get(null)).toEqual(['child']);
    expect(tree.depthOf.get('child')).toBe(0);
  });

  it('treats a parent outside the board as the top, and breaks cycles instead of looping', () => {
    expect(viewerTree([e('a', 'elsewhere')]).childrenOf.get(null)).toEqual(['a']);
    const cyclic = viewerTree([e('p', 'q'), e('q', 'p'), e('r', null)]);
    expect(cyclic.order.sort()).toEqual(['p', 'q', 'r']);
  });

  it('walks a very deep tree without overflowing the stack', () => {
    const deep = Array.from({ length: 50_000 }, (_, i) => e(`n${String(i).padStart(5, '0')}`, i ? `n${String(i - 1).padStart(5, '0')}` : null));
    const tree = viewerTree(deep);
    expect(tree.order).toHaveLength(50_000);
    expect(tree.depthOf.get('n49999')).toBe(49_999);
  });
});
