import DataLoader from 'dataloader';
import { Viewer } from './viewer';

/**
 * A list nested under a list (`Space.boards.topics`) asks for one page per parent, all with
 * the same arguments. These loaders gather the parents that ask in the same tick and read
 * their pages, or their counts, in one statement. `key` names the list and every argument
 * that shapes the statement: parents share a statement only when their keys are equal.
 * Nothing is cached past the batch: a mutation earlier in the request (a reply, a new topic)
 * is seen by the lists a later field reads.
 */
export function nestedPage<Row>(
  viewer: Viewer,
  key: string,
  parentId: string,
  load: (parentIds: readonly string[]) => Promise<Row[]>,
  parentOf: (row: Row) => string,
): Promise<Row[]> {
  const loader = viewer.memoize(`nested-page:${key}`, () => new DataLoader<string, Row[]>(async (ids) => {
    const byParent = new Map<string, Row[]>(ids.map((id) => [id, []]));
    for (const row of await load([...byParent.keys()])) byParent.get(parentOf(row))?.push(row);
    return ids.map((id) => byParent.get(id)!);
  }, { cache: false }));
  return loader.load(parentId);
}

/** `nestedPage` for the lists' counts: `load` answers a count per parent (missing ones are 0). */
export function nestedCount(
  viewer: Viewer,
  key: string,
  parentId: string,
  load: (parentIds: readonly string[]) => Promise<Map<string, number>>,
): Promise<number> {
  return nestedCounts(viewer, key, parentId, load, 0);
}

/**
 * `nestedCount` for several counts of a parent read in one statement (a profile's topics and
 * replies): `load` answers them per parent, and parents it leaves out get `none`.
 */
export function nestedCounts<T>(
  viewer: Viewer,
  key: string,
  parentId: string,
  load: (parentIds: readonly string[]) => Promise<Map<string, T>>,
  none: T,
): Promise<T> {
  const loader = viewer.memoize(`nested-count:${key}`, () => new DataLoader<string, T>(async (ids) => {
    const counts = await load([...new Set(ids)]);
    return ids.map((id) => counts.get(id) ?? none);
  }, { cache: false }));
  return loader.load(parentId);
}
