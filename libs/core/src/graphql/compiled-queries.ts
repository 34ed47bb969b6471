import type { ApolloServerOptionsWithGateway, BaseContext } from '@apollo/server';
import { DocumentNode, execute, ExecutionResult, GraphQLSchema, TypeInfo, visit, visitWithTypeInfo } from 'graphql';
import { CompiledQuery, compileQuery, isCompiledQuery } from 'graphql-jit';
import { LRUCache } from 'lru-cache';
import { SIDE_EFFECTS, Speculation, speculating } from './speculation';
import { Viewer } from './viewer';

type GatewayInterface = ApolloServerOptionsWithGateway<BaseContext>['gateway'];
type GatewayExecutor = NonNullable<Awaited<ReturnType<GatewayInterface['load']>>['executor']>;
type GatewayGraphQLRequestContext = Parameters<GatewayExecutor>[0];

export interface CompiledQueriesGateway extends GatewayInterface {
  /** The compiled operations, by document hash and operation name (`false`: graphql-js only). */
  readonly compiled: LRUCache<string, Compiled>;
  /** Requests answered compiled, run again by graphql-js after a compiled answer with errors, and run by graphql-js alone. */
  readonly stats: { compiledAnswers: number; fallbacks: number; graphqlJsOnly: number };
}

/** What a document (and operation name) compiled to: the query, or `false` when only graphql-js runs it. */
type Compiled = CompiledQuery | false;

/** How many compiled operations are kept (least recently used first out). */
export const COMPILED_QUERIES_MAX = 500;

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
 */
export function compiledQueriesGateway(schema: GraphQLSchema, max = COMPILED_QUERIES_MAX, onRefused: (statement: string) => void = () => undefined): CompiledQueriesGateway {
  const compiled = new LRUCache<string, Compiled>({ max });
  const stats = { compiledAnswers: 0, fallbacks: 0, graphqlJsOnly: 0 };

  const byGraphqlJs = (rc: GatewayGraphQLRequestContext): Promise<ExecutionResult> | ExecutionResult =>
    execute({ schema, document: rc.document, contextValue: rc.context, variableValues: rc.request.variables, operationName: rc.request.operationName });

  const keyOf = (rc: GatewayGraphQLRequestContext) => `${rc.queryHash ?? rc.source}\u0000${rc.request.operationName ?? ''}`;

  const compiledFor = (rc: GatewayGraphQLRequestContext): Compiled => {
    const key = keyOf(rc);
    let entry = compiled.get(key);
    if (entry === undefined) {
      entry = hasSideEffects(schema, rc.document) ? false : compile(schema, rc.document, rc.request.operationName ?? undefined);
      compiled.set(key, entry);
    }
    return entry;
  };

  const executor: GatewayExecutor = async (rc) => {
    const query = rc.operation?.operation === 'query' ? compiledFor(rc) : false;
    if (query === false) {
      stats.graphqlJsOnly++;
      return byGraphqlJs(rc);
    }
    const viewer = (rc.context as { viewer?: unknown }).viewer;
    const noting = viewer instanceof Viewer ? viewer : undefined;
    noting?.noteMade();
    const speculation: Speculation = {};
    let fast: Awaited<ReturnType<typeof query.query>>;
    try {
      fast = await speculating.run(speculation, async () => query.query(undefined, rc.context, rc.request.variables ?? {}));
    } finally {
      // An unmarked write: whatever the run memoized may hold its refusal.
      noting?.endNoting(speculation.refused !== undefined);
    }
    if (speculation.refused !== undefined) {
      // The operation is graphql-js's from now on.
      compiled.set(keyOf(rc), false);
      onRefused(speculation.refused);
    } else if (fast.errors === undefined || fast.errors.length === 0) {
      stats.compiledAnswers++;
      return { data: fast.data };
    }
    stats.fallbacks++;
    return byGraphqlJs(rc);
  };

  return {
    compiled,
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
    },
  };
}

function compile(schema: GraphQLSchema, document: DocumentNode, operationName: string | undefined): Compiled {
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
