import type { ApolloServerPlugin } from '@apollo/server';
import { getNullableType, GraphQLError, isListType } from 'graphql';
import { DEFAULT_PAGE_SIZE } from './pagination';
import { ComplexityEstimator, getComplexity, simpleEstimator } from 'graphql-query-complexity';

/** What a list without paging (a space's boards, a post's revisions) is taken to hold. */
export const LIST_ESTIMATE = 10;

/**
 * Lists multiply the cost of what they contain: a `first: 100` page of posts with their
 * authors costs 100x the author lookups. A paged field asked without `first` answers a
 * default page and counts as one; a list without paging counts as LIST_ESTIMATE items. A
 * connection's `edges` are its page, already counted at the connection.
 */
const listEstimator: ComplexityEstimator = ({ field, args, childComplexity }) => {
  if (field.args.some((a) => a.name === 'first')) {
    const first = typeof args.first === 'number' ? args.first : DEFAULT_PAGE_SIZE;
    return 1 + childComplexity * Math.max(1, first);
  }
  if (field.name !== 'edges' && isListType(getNullableType(field.type))) return 1 + childComplexity * LIST_ESTIMATE;
  return undefined;
};

export function complexityLimitPlugin(max: number): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, document, schema }) {
          const complexity = getComplexity({
            schema,
            operationName: request.operationName ?? undefined,
            query: document,
            variables: request.variables ?? {},
            estimators: [listEstimator, simpleEstimator({ defaultComplexity: 1 })],
          });
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
