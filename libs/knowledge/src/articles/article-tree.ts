/** One article of a board, as the tree needs it. */
export interface TreeEntry {
  id: string;
  parentId: string | null;
  position: number;
  /** Tie-break among siblings with the same position (ids are time-ordered UUIDv7). */
  order: string;
  /** Whether this viewer's tree shows the article (readable, and not archived unless asked for). */
  shown: boolean;
}

export interface ViewerTree {
  /** Shown articles in display order (depth first, siblings by position). */
  order: string[];
  /** Nearest shown ancestor (null at the top). */
  parentOf: Map<string, string | null>;
  /** Shown children of an article (`null`: the top level), in order. */
  childrenOf: Map<string | null, string[]>;
  depthOf: Map<string, number>;
}

/**
 * The tree of a board as one viewer sees it. Articles the viewer may not see (drafts of
 * others, hidden or archived ones) are left out, and what they held moves up to the nearest
 * article the viewer does see, in their place: a reader never learns that a draft exists, yet
 * every published article stays reachable. A parent outside the board makes an article a
 * root; a cycle (which the writes prevent) is broken rather than looping.
 */
export function viewerTree(entries: readonly TreeEntry[]): ViewerTree {
  const byId = new Map(entries.map((e) => [e.id, e]));
  const children = new Map<string | null, TreeEntry[]>();
  for (const e of entries) {
    const parent = e.parentId && byId.has(e.parentId) ? e.parentId : null;
    const list = children.get(parent) ?? [];
    list.push(e);
    children.set(parent, list);
  }
  const bySiblingOrder = (a: TreeEntry, b: TreeEntry) => a.position - b.position || (a.order < b.order ? -1 : a.order > b.order ? 1 : 0);
  for (const list of children.values()) list.sort(bySiblingOrder);

  const tree: ViewerTree = { order: [], parentOf: new Map(), childrenOf: new Map([[null, []]]), depthOf: new Map() };
  const visited = new Set<string>();
  const visit = (root: TreeEntry, ancestor: string | null) => {
    // Iterative depth-first walk: a deep tree cannot overflow the stack.
    const stack: Array<[TreeEntry, string | null]> = [[root, ancestor]];
    while (stack.length) {
      const [e, shownAncestor] = stack.pop()!;
      if (visited.has(e.id)) continue;
      visited.add(e.id);
      let next = shownAncestor;
      if (e.shown) {
        tree.order.push(e.id);
        tree.parentOf.set(e.id, shownAncestor);
        tree.depthOf.set(e.id, shownAncestor === null ? 0 : tree.depthOf.get(shownAncestor)! + 1);
        tree.childrenOf.get(shownAncestor)!.push(e.id);
        tree.childrenOf.set(e.id, []);
        next = e.id;
      }
      const kids = children.get(e.id) ?? [];
      for (let i = kids.length - 1; i >= 0; i--) stack.push([kids[i], next]);
    }
  };
  for (const root of children.get(null) ?? []) visit(root, null);
  // Only a cycle leaves articles unvisited: each such loop is entered at its first article.
  for (const e of [...entries].sort(bySiblingOrder)) if (!visited.has(e.id)) visit(e, null);
  return tree;
}

/** The shown ancestors of an article, from the top down (empty for a top-level one). */
export function breadcrumbsOf(tree: ViewerTree, id: string): string[] {
  const path: string[] = [];
  for (let p = tree.parentOf.get(id) ?? null; p !== null; p = tree.parentOf.get(p) ?? null) path.unshift(p);
  return path;
}
