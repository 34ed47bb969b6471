import type { ApolloServerOptions, ApolloServerPlugin } from '@apollo/server';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import {
  ASTNode, DocumentNode, getNullableType, getVariableValues, GraphQLError, GraphQLSchema, isListType, OperationDefinitionNode, ValidationRule, visit,
} from 'graphql';
import { DEFAULT_PAGE_SIZE } from './pagination';
import { ComplexityEstimator, fieldExtensionsEstimator, getComplexity, simpleEstimator } from 'graphql-query-complexity';

/** What a list without paging (a space's boards, a post's revisions) is taken to hold. */
const LIST_ESTIMATE = 10;

/**
 * The cost of a list without paging that can hold more than LIST_ESTIMATE items: `items` of
 * whatever each holds (a field's `complexity` option), so what is asked of every item counts.
 */
export const listOf = (items: number) => ({ childComplexity }: { childComplexity: number }): number => 1 + childComplexity * items;

/**
 * What one search costs beyond its hits: the engine's work, whatever the page size. A
 * twentieth of the default limit, so 20 searches under aliases are refused before they run
 * rather than part-way through by the search rate. (`relatedArticles` is refused under any
 * list by its resolver, whatever the cost.)
 */
export const SEARCH_COST = 250;

/** The cost of a search-backed field: SEARCH_COST, and its hits like any page (`first`, else `defaultFirst`). */
export const searchOf =
  (defaultFirst: number) =>
  ({ args, childComplexity }: { args: Record<string, unknown>; childComplexity: number }): number =>
    SEARCH_COST + childComplexity * Math.max(1, typeof args.first === 'number' ? args.first : defaultFirst);

/**
 * Lists multiply the cost of what they contain: a `first: 100` (or `last: 100`) page of posts with their
 * authors costs 100x the author lookups. A paged field asked without `first` answers a
 * default page and counts as one; a list without paging counts as LIST_ESTIMATE items. A
 * connection's `edges` are its page, already counted at the connection. A field may set its
 * own cost (`complexity` in its options), which comes first.
 */
const listEstimator: ComplexityEstimator = ({ field, args, childComplexity }) => {
  if (field.args.some((a) => a.name === 'first')) {
    // A list read backwards (`Topic.posts(last:)`) pages by `last`.
    const size = typeof args.first === 'number' ? args.first : typeof args.last === 'number' ? args.last : DEFAULT_PAGE_SIZE;
    return 1 + childComplexity * Math.max(1, size);
  }
  if (field.name !== 'edges' && isListType(getNullableType(field.type))) return 1 + childComplexity * LIST_ESTIMATE;
  return undefined;
};

/**
 * Refuses operations nested deeper than `max` levels (`{ spaces { boards { id } } }` is 2),
 * fragments counted as what they spread. Each fragment's depth is worked out once, so a
 * document whose fragments spread the next one twice costs its size, not 2^n walks.
 */
export function depthLimitRule(max: number): ValidationRule {
  // The rule counts root fields as level 1, so `max` levels are max + 1 of its own.
  return maxDepthRule({
    n: max + 1,
    flattenFragments: true,
    propagateOnRejection: false,
    onReject: [(context, _error) => context?.reportError(new GraphQLError(`Query is nested too deeply (the limit is ${max} levels)`))],
  });
}

/** The names of the variables anywhere under `node`. */
function variablesIn(node: ASTNode, into: Set<string>): void {
  visit(node, {
    Variable(v) {
      into.add(v.name.value);
    },
  });
}

/** Operations (a query text and operation name) whose costs are kept, and costs kept per operation; the least recently used go first. */
const COMPLEXITY_OPERATIONS = 500;
const COMPLEXITY_COSTS_PER_OPERATION = 50;
/** A cost whose key (the values of the variables it depends on, written out) is longer is worked out every time, not kept. */
const COMPLEXITY_KEY_MAX = 256;
/**
 * The costs of a longer query text are worked out every time, not kept: a kept operation
 * holds the names of the variables it depends on, each as long as its text, and anyone may send
 * 500 distinct texts of up to the body limit. Kept, the cache holds at most about 500 times
 * this (twice, as UTF-16) and 50 keys of COMPLEXITY_KEY_MAX per operation: some 30 MB.
 */
const COMPLEXITY_QUERY_MAX = 16_384;

/** Reads `key` of an LRU map, marking it as just used. */
function lruGet<K, V>(map: Map<K, V>, key: K): V | undefined {
  const value = map.get(key);
  if (value !== undefined) {
    map.delete(key);
    map.set(key, value);
  }
  return value;
}

function lruSet<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > max) map.delete(map.keys().next().value as K);
}

interface KnownOperation {
  /**
   * The variables its cost has been seen to depend on: those under a directive (@skip,
   * @include), and those in an argument an estimator read. It only grows; each cost is
   * kept under these names and their values, so a cost kept before it grew is never read.
   */
  reads: Set<string>;
  costs: Map<string, number>;
}

/**
 * The cost of an operation, worked out by graphql-query-complexity: a walk of the whole
 * document with its estimators, the same for every request of the same document. It is
 * kept per query text and operation name, by the values of the variables it depends on, so
 * the topic page of every topic (the same document, another `$id`) costs one walk.
 *
 * What the cost depends on is recorded as it is worked out: each estimator reads the field's
 * arguments through a proxy that notes the variables of each argument it reads (a `first`,
 * or whatever a field's own `complexity` reads), and the variables of every directive
 * count from the start. An estimator runs only on what it read before, so another request
 * whose values agree on those computes the same cost. Whatever else could change the walk's
 * outcome is in the key too: whether each other variable is absent, null or given (a null
 * in a non-null argument is an error), and the variables are coerced on every request,
 * so values of the wrong type are refused as before. Only costs are kept, never errors.
 */
class ComplexityCosts {
  private readonly operations = new Map<string, KnownOperation>();
  /** The variables of the cost being worked out, while it is (the walk is synchronous). */
  private recording: Set<string> | undefined;
  private readonly estimators: ComplexityEstimator[];

  constructor() {
    const record = (estimator: ComplexityEstimator): ComplexityEstimator => (options) => {
      const reads = this.recording;
      if (!reads) return estimator(options);
      const note = (key: string | symbol) => {
        const arg = typeof key === 'string' ? options.node.arguments?.find((a) => a.name.value === key) : undefined;
        if (arg) variablesIn(arg, reads);
      };
      const noteAll = () => options.node.arguments?.forEach((a) => variablesIn(a, reads));
      const args = new Proxy(options.args, {
        get: (target, key, receiver) => (note(key), Reflect.get(target, key, receiver)),
        has: (target, key) => (note(key), Reflect.has(target, key)),
        getOwnPropertyDescriptor: (target, key) => (note(key), Reflect.getOwnPropertyDescriptor(target, key)),
        ownKeys: (target) => (noteAll(), Reflect.ownKeys(target)),
      });
      return estimator({ ...options, args });
    };
    this.estimators = [fieldExtensionsEstimator(), listEstimator, simpleEstimator({ defaultComplexity: 1 })].map(record);
  }

  /** The operation's cost; throws what getComplexity throws. */
  cost(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode | undefined, queryHash: string, operationName: string | undefined, variables: Record<string, unknown>): number {
    const text = document.loc?.source.body.length;
    if (!operation || text === undefined || text > COMPLEXITY_QUERY_MAX) return getComplexity({ schema, operationName, query: document, variables, estimators: this.estimators });
    // The operation by its place in the text, not its name: a name may be as long as the text.
    const opKey = `${queryHash}:${document.definitions.indexOf(operation)}`;
    let known = lruGet(this.operations, opKey);
    if (!known) {
      known = { reads: new Set(), costs: new Map() };
      visit(operation, {
        Directive(d) {
          variablesIn(d, known!.reads);
        },
      });
      // Directives of the fragments it spreads count too.
      for (const def of document.definitions) if (def.kind === 'FragmentDefinition') visit(def, { Directive: (d) => variablesIn(d, known!.reads) });
      lruSet(this.operations, opKey, known, COMPLEXITY_OPERATIONS);
    }
    // Values of the wrong type: getComplexity refuses them, as before.
    const coercible = !getVariableValues(schema, operation.variableDefinitions ?? [], variables).errors;
    const key = coercible ? this.costKey(operation, known.reads, variables) : undefined;
    const cached = key === undefined ? undefined : lruGet(known.costs, key);
    if (cached !== undefined) return cached;

    const reads = new Set(known.reads);
    this.recording = reads;
    let cost: number;
    try {
      cost = getComplexity({ schema, operationName, query: document, variables, estimators: this.estimators });
    } finally {
      this.recording = undefined;
    }
    if (coercible) {
      known.reads = reads;
      const after = this.costKey(operation, reads, variables);
      if (after !== undefined) lruSet(known.costs, after, cost, COMPLEXITY_COSTS_PER_OPERATION);
    }
    return cost;
  }

  /** The values of the variables in `reads`, and whether each other one is absent, null or given; undefined when too long to keep. */
  private costKey(operation: OperationDefinitionNode, reads: Set<string>, variables: Record<string, unknown>): string | undefined {
    let key = '';
    for (const def of operation.variableDefinitions ?? []) {
      const name = def.variable.name.value;
      const value = variables[name];
      key += `${name}${reads.has(name) ? `=${JSON.stringify(value) ?? ''}` : value === undefined ? '?' : value === null ? '!' : '+'};`;
      if (key.length > COMPLEXITY_KEY_MAX) return undefined;
    }
    return key;
  }
}

type DocumentStore = NonNullable<ApolloServerOptions<never>['documentStore']>;

/**
 * Apollo's cache of parsed and validated documents, bounded by what it holds: `maxSize`
 * characters of query text (and of each tree written out). Apollo's own sizes each document by
 * its tree as JSON, which holds neither the comments nor the text, while every node's location
 * keeps the whole text: 1 MB of comments counted a few bytes, and its 30 MiB held gigabytes.
 */
export function documentStore(maxSize = 30 * 2 ** 20): DocumentStore {
  const documents = new Map<string, { document: DocumentNode; size: number }>();
  let total = 0;
  const drop = (key: string) => {
    const entry = documents.get(key);
    if (!entry) return false;
    documents.delete(key);
    total -= entry.size;
    return true;
  };
  return {
    async get(key) {
      return lruGet(documents, key)?.document;
    },
    async set(key, document) {
      drop(key);
      const size = (document.loc?.source.body.length ?? 0) + JSON.stringify(document).length;
      if (size > maxSize) return;
      documents.set(key, { document, size });
      total += size;
      while (total > maxSize) drop(documents.keys().next().value as string);
    },
    async delete(key) {
      return drop(key);
    },
  };
}

export function complexityLimitPlugin(max: number): ApolloServerPlugin {
  const costs = new ComplexityCosts();
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, document, schema, operation, queryHash }) {
          let complexity: number;
          try {
            complexity = costs.cost(schema, document, operation, queryHash, request.operationName ?? undefined, request.variables ?? {});
          } catch (e) {
            // Its refusals (variables of the wrong shape, documents too large to walk) are the client's to fix.
            if (!(e instanceof GraphQLError)) throw e;
            throw new GraphQLError(e.message, { extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } } });
          }
          if (complexity > max) {
            throw new GraphQLError(`Query is too complex: ${complexity} (the limit is ${max})`, {
              extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } },
            });
          }
        },
      };
    },
  };
}

/**
 * Tokens a query document may hold. graphql-js parses recursively: about 1,900 levels of
 * nesting exhaust the stack, and the depth limit only runs after parsing. 2,000 tokens is
 * far more than any client query needs (a 250-alias query is about 1,300).
 */
export const MAX_QUERY_TOKENS = 2000;

/** How deep variables may nest: far beyond any input type of the schema, and safe to walk. */
export const MAX_VARIABLE_DEPTH = 64;

/**
 * A lone UTF-16 surrogate (in a `u` pattern, a pair is one code point and never matches):
 * text columns would store it as U+FFFD, and JSON columns refuse its escape outright.
 */
const LONE_SURROGATE = /\p{Cs}/u;

const TEXT_REFUSALS = {
  nul: 'Text may not contain NUL (U+0000) characters',
  surrogate: 'Text must be well-formed Unicode (it holds a lone UTF-16 surrogate)',
  deep: `Variables may nest at most ${MAX_VARIABLE_DEPTH} levels`,
} as const;
type TextRefusal = keyof typeof TEXT_REFUSALS;

function textRefusal(text: string): TextRefusal | null {
  if (text.includes('\u0000')) return 'nul';
  return LONE_SURROGATE.test(text) ? 'surrogate' : null;
}

/**
 * What is wrong with the text in the variables, if anything, and where: walked without
 * recursion, so no depth overflows the stack. The place is named as the input's own checks
 * name fields (`fieldOfRequestError`): inside the variable (`title`, `sanction.reason`), a list's
 * element by its index (`ids[1]`), the variable itself when it is the text.
 */
function variablesRefusal(variables: unknown): { refusal: TextRefusal; field: string } | null {
  const stack: Array<[unknown, number, string[]]> = [[variables, 0, []]];
  while (stack.length > 0) {
    const [value, depth, path] = stack.pop()!;
    if (typeof value === 'string') {
      const refusal = textRefusal(value);
      if (refusal) return { refusal, field: fieldOfPath(path) };
    } else if (value && typeof value === 'object') {
      if (depth >= MAX_VARIABLE_DEPTH) return { refusal: 'deep', field: fieldOfPath(path) };
      for (const [key, item] of Object.entries(value)) {
        const refusal = textRefusal(key);
        if (refusal) return { refusal, field: fieldOfPath(path) };
        stack.push([item, depth + 1, [...path, Array.isArray(value) ? `[${key}]` : key]]);
      }
    }
  }
  return null;
}

function fieldOfPath(path: string[]): string {
  const whole = path.reduce((field, part) => (part.startsWith('[') || !field ? `${field}${part}` : `${field}.${part}`), '');
  // As graphql-js's own path (`input.title`, `ids[1]`), less the variable's name when inside an input.
  return whole.includes('.') ? whole.slice(whole.indexOf('.') + 1) : whole;
}

/**
 * Text PostgreSQL cannot store as given (a NUL character, a lone UTF-16 surrogate), and
 * variables nested deeper than any input, are refused up front as BAD_USER_INPUT: they
 * would otherwise fail deep in a statement, or in a validator, as INTERNAL.
 */
export function inputTextPlugin(): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, document }) {
          const inVariables = variablesRefusal(request.variables ?? {});
          let refusal = inVariables?.refusal ?? null;
          // A literal holds such text only written raw or as a \u escape: most query texts need no walk.
          if (!refusal && (request.query === undefined || /\\u|\u0000|\p{Cs}/u.test(request.query))) {
            visit(document, {
              StringValue(node) {
                refusal ??= textRefusal(node.value);
              },
            });
          }
          if (refusal) {
            const message = TEXT_REFUSALS[refusal];
            // A literal's place is the request's ('').
            throw new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', http: { status: 400 }, fields: [{ field: inVariables?.field ?? '', message }] } });
          }
        },
      };
    },
  };
}
