import type { ApolloServerOptionsWithGateway, BaseContext } from '@apollo/server';
import { DocumentNode, execute, ExecutionResult, GraphQLSchema, TypeInfo, visit, visitWithTypeInfo } from 'graphql';
import { CompiledQuery, compileQuery, isCompiledQuery } from 'graphql-jit';
import { LRUCache } from 'lru-cache';
import { SIDE_EFFECTS } from './side-effects';
import { Speculation, speculating } from './speculation';
import { Viewer } from './viewer';

type GatewayInterface = ApolloServerOptionsWithGateway<BaseContext>['gateway'];
type GatewayExecutor = NonNullable<Awaited<ReturnType<GatewayInterface['load']>>['executor']>;
type GatewayGraphQLRequestContext = Parameters<GatewayExecutor>[0];

export interface CompiledQueriesGateway extends GatewayInterface {
  /** The compiled operations, by document hash and operation name (`false`: graphql-js only). */
  readonly compiled: LRUCache<string, Compiled>;
  /** The failure streaks of compiled operations, by operation and variables: only while failing, bounded. */
  readonly failing: LRUCache<string, Streak>;
  /**
   * Requests answered compiled, run again by graphql-js after a compiled answer with errors, and
   * run by graphql-js alone (a given-up operation's included); operations that gave up (for a set of variables, or for all on a refusal).
   */
  readonly stats: { compiledAnswers: number; fallbacks: number; graphqlJsOnly: number; gaveUp: number };
}

/** A compiled operation. */
interface CompiledOperation {
  query: CompiledQuery;
  /**
   * Set once a run of it was refused a statement that may write: it has given up whatever its
   * variables (its code writes, not its data), tried compiled once in COMPILED_RETRY_AFTER, and
   * cleared by a run refused nothing.
   */
  refused?: Streak;
}

/** How the last runs of one compiled operation with one set of variables (or, refused, with any) went, while they fail. */
interface Streak {
  /** Its compiled runs thrown away in a row (an answer with an error); from COMPILED_GIVE_UP_AFTER on it has given up. */
  thrownAway: number;
  /** Requests graphql-js alone ran since it gave up, or since its last retry. */
  sinceRetry: number;
}

/** What a document (and operation name) compiled to: the operation, or `false` when only graphql-js runs it. */
type Compiled = CompiledOperation | false;

/** How many compiled operations are kept (least recently used first out). */
export const COMPILED_QUERIES_MAX = 500;

/**
 * How many failure streaks are kept for each compiled operation kept (least recently used first
 * out, 10,000 in all, their keys 256 characters each on average at most), and how long a streak's
 * key (operation and variables) may be: a longer one is not kept, so its requests never give up
 * (each pays its thrown-away run, as its sender chose).
 */
export const COMPILED_STREAKS_PER_OPERATION = 20;
const STREAK_KEY_MAX = 2_000;

/**
 * Compiled runs of one operation with the same variables thrown away in a row after which it
 * gives up for them: graphql-js alone runs it, as an operation whose answers always carry an error
 * (NOT_FOUND for an id that is gone) would otherwise pay its reads twice on every request. Kept by
 * operation and variables, so that one client's missing ids do not give the operation up for
 * everyone's. A run refused a statement that may write (speculation.ts) gives its operation up at
 * once, whatever the variables: its next run would most likely be refused again, and a write the
 * pool does not see (Redis, memory) would be done twice by each.
 */
export const COMPILED_GIVE_UP_AFTER = 3;

/**
 * A given-up operation runs compiled again once in this many requests with those variables (the
 * rest on graphql-js alone): an answer without errors takes it back to the compiled path, one with an error keeps it
 * given up for as many requests again. So what it failed for a while (a crawler asking for deleted
 * topics through the topic page's query) does not cost it the fast path until a restart, and the
 * reads thrown away once it gave up are at most one request's in this many.
 */
export const COMPILED_RETRY_AFTER = 100;

/**
 * Apollo's executor for the compiled fast path (GRAPHQL_JIT, off by default): handed to Apollo as a
 * `gateway` (Apollo 5 takes a custom executor only so) whose schema is the one Apollo would
 * have run. Apollo still parses, validates (the depth limit), runs the plugins (the complexity
 * limit, `didResolveOperation`) and formats the errors; only the execution is ours.
 *
 * A query operation runs with graphql-jit's compiled form of its document, kept in a bounded
 * LRU by the document's hash and the operation's name. When that answer has any error it is
 * thrown away and graphql-js executes the request (same context, variables and operation), so
 * every answer that has an error is graphql-js's own: graphql-jit nulls and reports errors
 * differently (one error per failed list item, no `extensions`, siblings of a failed root
 * field still run). Mutations and subscriptions never run compiled; neither does an operation
 * whose document names a field marked `@SideEffects()`, and statements that may write are
 * refused while a compiled query runs (speculation.ts), so nothing a resolver records is
 * done twice. An answer without errors is the same JSON as graphql-js's (compiled-queries spec).
 * An operation whose compiled answers with the same variables were thrown away
 * COMPILED_GIVE_UP_AFTER times in a row gives up for those variables (one whose compiled run was
 * refused a statement, for all): graphql-js alone runs it with them, but for one request in
 * COMPILED_RETRY_AFTER, which tries it compiled again (a decay, not until a restart; a streak
 * the bounded LRU of them drops starts afresh).
 */
export function compiledQueriesGateway(schema: GraphQLSchema, max = COMPILED_QUERIES_MAX, onRefused: (statement: string) => void = () => undefined): CompiledQueriesGateway {
  const compiled = new LRUCache<string, Compiled>({ max });
  const failing = new LRUCache<string, Streak>({ max: max * COMPILED_STREAKS_PER_OPERATION, maxSize: max * COMPILED_STREAKS_PER_OPERATION * 256, maxEntrySize: STREAK_KEY_MAX, sizeCalculation: (_, key) => key.length });
  const stats = { compiledAnswers: 0, fallbacks: 0, graphqlJsOnly: 0, gaveUp: 0 };

  const byGraphqlJs = (rc: GatewayGraphQLRequestContext): Promise<ExecutionResult> | ExecutionResult =>
    execute({ schema, document: rc.document, contextValue: rc.context, variableValues: rc.request.variables, operationName: rc.request.operationName });

  const keyOf = (rc: GatewayGraphQLRequestContext) => `${rc.queryHash ?? rc.source}\u0000${rc.request.operationName ?? ''}`;

  const compiledFor = (rc: GatewayGraphQLRequestContext, key: string): Compiled => {
    const entry = compiled.get(key);
    if (entry !== undefined) return entry;
    const query = hasSideEffects(schema, rc.document) ? false : compile(schema, rc.document, rc.request.operationName ?? undefined);
    const made: Compiled = query && { query };
    compiled.set(key, made);
    return made;
  };

  /** Whether a given-up streak skips the compiled run this time (all but one request in COMPILED_RETRY_AFTER). */
  const skips = (streak: Streak | undefined): boolean => {
    if (streak === undefined) return false;
    if (streak.thrownAway < COMPILED_GIVE_UP_AFTER || ++streak.sinceRetry >= COMPILED_RETRY_AFTER) {
      streak.sinceRetry = 0;
      return false;
    }
    return true;
  };

  const byGraphqlJsOnly = (rc: GatewayGraphQLRequestContext) => {
    stats.graphqlJsOnly++;
    return byGraphqlJs(rc);
  };

  /** graphql-js runs a request whose compiled answer was thrown away. */
  const fallback = (rc: GatewayGraphQLRequestContext) => {
    stats.fallbacks++;
    return byGraphqlJs(rc);
  };

  const executor: GatewayExecutor = async (rc) => {
    if (rc.operation?.operation !== 'query') return byGraphqlJsOnly(rc);
    const key = keyOf(rc);
    const operation = compiledFor(rc, key);
    if (operation === false || skips(operation.refused)) return byGraphqlJsOnly(rc);
    // Its variables' key is built only while some streak is kept or once this run failed: a clean run pays for nothing.
    let streakKey: string | undefined;
    const keyOfStreak = () => (streakKey ??= `${key}\u0000${JSON.stringify(rc.request.variables ?? {})}`);
    const streak = failing.size > 0 ? failing.get(keyOfStreak()) : undefined;
    // An operation given up for a refusal, past its skips above, is on its retry whatever its variables' streak.
    if (operation.refused === undefined && skips(streak)) return byGraphqlJsOnly(rc);
    const { query } = operation;
    const viewer = (rc.context as { viewer?: unknown }).viewer;
    const noting = viewer instanceof Viewer ? viewer : undefined;
    noting?.noteMade();
    const speculation: Speculation = {};
    // The refusal this run retries, if any: a run that began before another's refusal does not undo it when it ends.
    const retrying = operation.refused;
    let fast: Awaited<ReturnType<typeof query.query>>;
    try {
      fast = await speculating.run(speculation, async () => query.query(undefined, rc.context, rc.request.variables ?? {}));
    } finally {
      // An unmarked write: whatever the run memoized may hold its refusal.
      noting?.endNoting(speculation.refused !== undefined);
    }
    if (speculation.refused !== undefined) {
      if (operation.refused === undefined) {
        operation.refused = { thrownAway: COMPILED_GIVE_UP_AFTER, sinceRetry: 0 };
        stats.gaveUp++;
        onRefused(speculation.refused);
      }
      return fallback(rc);
    }
    if (retrying !== undefined && operation.refused === retrying) operation.refused = undefined;
    // The streak as it is now, not as it was before the run: runs of the same variables at once each count.
    if (fast.errors === undefined || fast.errors.length === 0) {
      stats.compiledAnswers++;
      if (failing.size > 0) failing.delete(keyOfStreak());
      return { data: fast.data };
    }
    const now = failing.get(keyOfStreak());
    const thrownAway = (now?.thrownAway ?? 0) + 1;
    if (now === undefined) failing.set(keyOfStreak(), { thrownAway, sinceRetry: 0 });
    else now.thrownAway = thrownAway;
    if (thrownAway === COMPILED_GIVE_UP_AFTER) stats.gaveUp++;
    return fallback(rc);
  };

  return {
    compiled,
    failing,
    stats,
    async load() {
      return { schema, executor };
    },
    onSchemaLoadOrUpdate(callback) {
      callback({ apiSchema: schema, coreSupergraphSdl: '' });
      return () => {};
    },
    async stop() {
      compiled.clear();
      failing.clear();
    },
  };
}

function compile(schema: GraphQLSchema, document: DocumentNode, operationName: string | undefined): CompiledQuery | false {
  try {
    const result = compileQuery(schema, document, operationName);
    return isCompiledQuery(result) ? result : false;
  } catch {
    // A document graphql-jit cannot compile runs on graphql-js, which answers it.
    return false;
  }
}

/** Whether any field the document names (in any operation or fragment) is marked @SideEffects(). */
function hasSideEffects(schema: GraphQLSchema, document: DocumentNode): boolean {
  const types = new TypeInfo(schema);
  let found = false;
  visit(
    document,
    visitWithTypeInfo(types, {
      Field() {
        if (types.getFieldDef()?.extensions?.[SIDE_EFFECTS]) found = true;
      },
    }),
  );
  return found;
}
