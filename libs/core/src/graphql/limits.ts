import type { ApolloServerPlugin } from '@apollo/server';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { getNullableType, GraphQLError, isListType, ValidationRule, visit } from 'graphql';
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
 * twentieth of the default limit, so a search asked of every topic of a page
 * (`relatedArticles` under `topics(first: 20)`) or under 20 aliases is refused before it
 * runs rather than part-way through by the search rate.
 */
export const SEARCH_COST = 250;

/** The cost of a search-backed field: SEARCH_COST, and its hits like any page (`first`, else `defaultFirst`). */
export const searchOf =
  (defaultFirst: number) =>
  ({ args, childComplexity }: { args: Record<string, unknown>; childComplexity: number }): number =>
    SEARCH_COST + childComplexity * Math.max(1, typeof args.first === 'number' ? args.first : defaultFirst);

/**
 * Lists multiply the cost of what they contain: a `first: 100` page of posts with their
 * authors costs 100x the author lookups. A paged field asked without `first` answers a
 * default page and counts as one; a list without paging counts as LIST_ESTIMATE items. A
 * connection's `edges` are its page, already counted at the connection. A field may set its
 * own cost (`complexity` in its options), which comes first.
 */
const listEstimator: ComplexityEstimator = ({ field, args, childComplexity }) => {
  if (field.args.some((a) => a.name === 'first')) {
    const first = typeof args.first === 'number' ? args.first : DEFAULT_PAGE_SIZE;
    return 1 + childComplexity * Math.max(1, first);
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

export function complexityLimitPlugin(max: number): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, document, schema }) {
          let complexity: number;
          try {
            complexity = getComplexity({
              schema,
              operationName: request.operationName ?? undefined,
              query: document,
              variables: request.variables ?? {},
              estimators: [fieldExtensionsEstimator(), listEstimator, simpleEstimator({ defaultComplexity: 1 })],
            });
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

function holdsNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (Array.isArray(value)) return value.some(holdsNul);
  if (value && typeof value === 'object') return Object.entries(value).some(([k, v]) => k.includes('\u0000') || holdsNul(v));
  return false;
}

/**
 * Text with a NUL character is refused up front, as BAD_USER_INPUT: PostgreSQL cannot store
 * one, and it would otherwise fail deep in a statement as INTERNAL.
 */
export function nulCharacterPlugin(): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, document }) {
          let found = holdsNul(request.variables ?? {});
          // A literal can hold NUL only written raw or as a \u escape: most query texts need no walk.
          if (!found && (request.query === undefined || /\\u|\u0000/.test(request.query))) {
            visit(document, {
              StringValue(node) {
                if (node.value.includes('\u0000')) found = true;
              },
            });
          }
          if (found) {
            throw new GraphQLError('Text may not contain NUL (U+0000) characters', { extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } } });
          }
        },
      };
    },
  };
}
