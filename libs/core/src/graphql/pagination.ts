import { Type } from '@nestjs/common';
import { ArgsType, Field, FieldMiddleware, Int, MiddlewareContext, NextFn, ObjectType } from '@nestjs/graphql';
import { AppError } from '../errors';
import { isUuid } from '../ids';
import { CacheableArgs } from './validated-args';
import { ValueOnly } from './value-only-checks';

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/** A page of a list: its validated arguments are kept (CacheableArgs); a subclass is kept only when marked itself. */
@CacheableArgs()
@ArgsType()
export class PageArgs {
  @Field(() => Int, { nullable: true, description: `Page size: default ${DEFAULT_PAGE_SIZE}, at most ${MAX_PAGE_SIZE}.` })
  @ValueOnly.IsOptional() @ValueOnly.IsInt() @ValueOnly.Min(1) @ValueOnly.Max(MAX_PAGE_SIZE)
  first?: number;

  @Field(() => String, { nullable: true, description: 'Cursor of the last edge already seen.' })
  @ValueOnly.IsOptional() @ValueOnly.IsString() @ValueOnly.MaxLength(500)
  after?: string;
}

@ObjectType()
export class PageInfo {
  @Field() hasNextPage!: boolean;
  @Field(() => String, { nullable: true }) endCursor!: string | null;
  @Field({
    description:
      'Whether the list holds items ahead of this page: exact for `Topic.posts` (whichever way it pages) and for lists paged by position (search, trending); ' +
      'other lists page forwards only and answer false, as Relay allows.',
  })
  hasPreviousPage!: boolean;
  @Field(() => String, { nullable: true, description: 'The first edge’s cursor: the `before` of the page ahead, where a list pages backwards.' })
  startCursor!: string | null;
}

/** A page's PageInfo from its edges: `hasPreviousPage` as the caller knows it. */
export function pageInfoOf(edges: ReadonlyArray<{ cursor: string }>, hasNextPage: boolean, hasPreviousPage: boolean): PageInfo {
  return {
    hasNextPage,
    hasPreviousPage,
    startCursor: edges.length ? edges[0].cursor : null,
    endCursor: edges.length ? edges[edges.length - 1].cursor : null,
  };
}

/** An edge: its cursor and node, and `E`, what the edge says about its node in this list (a bookmark's note, say). */
export type Edge<T, E extends object = object> = { cursor: string; node: T } & E;

export interface Connection<T, E extends object = object> {
  edges: Array<Edge<T, E>>;
  pageInfo: PageInfo;
  /** Resolved only when asked for (graphql-js calls function-valued fields). */
  totalCount: number | (() => Promise<number>);
}

/** A connection with nothing in it (a list the viewer may not read, say). */
export function emptyConnection<T>(): Connection<T> {
  return { edges: [], pageInfo: pageInfoOf([], false, false), totalCount: 0 };
}

/** Calls a function-valued field, so an expensive count runs only when a client asks for it. */
const resolveLazy: FieldMiddleware = async (_ctx: MiddlewareContext, next: NextFn) => {
  const value = await next();
  return typeof value === 'function' ? value() : value;
};

/**
 * Builds the Relay connection type for a node type (code-first generics). `edgeFields`, an
 * abstract @ObjectType, adds its fields to each edge: what the list says about the node
 * (a bookmark's note and time), which is not the node's own.
 */
export function ConnectionType<T, E extends object = object>(nodeType: Type<T>, name: string, edgeFields?: Type<E>): Type<Connection<T, E>> {
  const EdgeBase = (edgeFields ?? class {}) as Type<object>;
  @ObjectType(`${name}Edge`)
  class EdgeType extends EdgeBase {
    @Field() cursor!: string;
    @Field(() => nodeType) node!: T;
  }
  @ObjectType(`${name}Connection`, { isAbstract: false })
  class ConnectionClass {
    @Field(() => [EdgeType]) edges!: EdgeType[];
    @Field(() => PageInfo) pageInfo!: PageInfo;
    @Field(() => Int, { description: 'How many items the whole list holds for this viewer.', middleware: [resolveLazy] })
    totalCount!: number;
  }
  return ConnectionClass as unknown as Type<Connection<T, E>>;
}

/**
 * Cursors name the list they page and, where it has several, its order: `list` is
 * `<list>` or `<list>:<sort>` (`topics:NEWEST`, `review:SCORE`, `moderation-log`). Two
 * orders can share a cursor's shape (two timestamps and an id, or a position), so the values
 * alone cannot tell whose cursor it is: the name does, and decodeCursor refuses another's.
 */
export function encodeCursor(list: string, values: unknown[]): string {
  return Buffer.from(JSON.stringify([list, ...values])).toString('base64url');
}

const listPart = (list: string) => list.split(':')[0];

/**
 * The values of a cursor encodeCursor made for `list`, which holds `arity` of them; undefined
 * without a cursor. A forged cursor, or one of another list, is BAD_USER_INPUT on `field`; one of another
 * order of this list says so. Each value still needs checking for its type before it reaches SQL.
 */
export function decodeCursor(cursor: string | undefined, list: string, arity: number, field: 'after' | 'before' = 'after'): unknown[] | undefined {
  if (cursor === undefined || cursor === null) return undefined;
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    /* refused below */
  }
  if (Array.isArray(decoded) && decoded[0] === list && decoded.length === arity + 1) return decoded.slice(1);
  if (Array.isArray(decoded) && typeof decoded[0] === 'string' && decoded[0] !== list && listPart(decoded[0]) === listPart(list)) {
    throw AppError.badField(field, 'is not a valid cursor for this sort');
  }
  throw AppError.badField(field, 'is not a valid cursor');
}

/**
 * The id an `after` cursor of `list` holds, for lists paged by their time-ordered UUIDv7 ids
 * alone (`[id]` cursors); null without one. Anything else is BAD_USER_INPUT.
 */
export function idFromCursor(after: string | undefined, list: string): string | null {
  const values = decodeCursor(after, list, 1);
  if (!values) return null;
  if (!isUuid(values[0])) throw AppError.badField('after', 'is not a valid cursor');
  return values[0];
}

/**
 * A list paged by position (see offsetFromCursor): its cursors' name (see encodeCursor) and
 * how deep it goes.
 */
export interface OffsetList {
  list: string;
  max: number;
}

/**
 * Where an offset cursor points (0 without one), for the few lists whose order moves with
 * time or with the query (trending, relevance), where a keyset would skip or repeat rows:
 * at most `max` deep. A cursor that is not one of this list's is BAD_USER_INPUT.
 */
export function offsetFromCursor(after: string | undefined, { list, max }: OffsetList): number {
  const values = decodeCursor(after, list, 1);
  if (!values) return 0;
  const n = values[0];
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > max) throw AppError.badField('after', 'is not a valid cursor');
  return n;
}

/**
 * A page of a list paged by position (see offsetFromCursor): `rows` are up to size + 1 rows
 * from `offset`, each carrying the whole list's length as `total` (a window count). Past the
 * end no row carries it, so `count` answers, and only when totalCount is asked for. The list
 * ends at `max`, the depth offsetFromCursor accepts: the page is cut there and promises no
 * next one, so every cursor it hands out is one offsetFromCursor takes back.
 */
export function toOffsetConnection<R extends { total: number }, N>(
  rows: R[],
  size: number,
  offset: number,
  { list, max }: OffsetList,
  toNode: (row: R) => N,
  count: () => Promise<number>,
): Connection<N> {
  const page = rows.slice(0, Math.max(0, Math.min(size, max - offset)));
  const edges = page.map((r, i) => ({ cursor: encodeCursor(list, [offset + i + 1]), node: toNode(r) }));
  return {
    edges,
    pageInfo: pageInfoOf(edges, rows.length > page.length && offset + page.length < max, offset > 0),
    totalCount: rows.length ? rows[0].total : offset > 0 ? count : 0,
  };
}

export function pageSize(first: number | undefined): number {
  return first ?? DEFAULT_PAGE_SIZE;
}

/**
 * Turns rows fetched with LIMIT size+1 into a connection whose cursors are `list`'s (see
 * encodeCursor). `edgeOf` gives each edge's own fields, for a connection that has some;
 * `hasPreviousPage` is false unless the caller knows better (Relay lets a forward list say so).
 */
export function toConnection<R, N, E extends object = object>(
  rows: R[],
  size: number,
  list: string,
  cursorOf: (row: R) => unknown[],
  toNode: (row: R) => N,
  totalCount: () => Promise<number>,
  { edgeOf, hasPreviousPage = false }: { edgeOf?: (row: R) => E; hasPreviousPage?: boolean } = {},
): Connection<N, E> {
  const hasNextPage = rows.length > size;
  const page = hasNextPage ? rows.slice(0, size) : rows;
  const edges = page.map((r) => ({ ...(edgeOf?.(r) as E), cursor: encodeCursor(list, cursorOf(r)), node: toNode(r) }));
  return { edges, pageInfo: pageInfoOf(edges, hasNextPage, hasPreviousPage), totalCount };
}
