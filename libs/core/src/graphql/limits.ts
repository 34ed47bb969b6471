import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError } from 'graphql';
import { ComplexityEstimator, getComplexity, simpleEstimator } from 'graphql-query-complexity';

/**
 * Lists multiply the cost of what they contain: a `first: 100` page of posts with
 * their authors costs 100x the author lookups. Lists without `first` count as a
 * default page.
 */
const connectionEstimator: ComplexityEstimator = ({ args, childComplexity }) => {
  if (typeof args.first === 'number') return 1 + childComplexity * Math.max(1, args.first);
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
            estimators: [connectionEstimator, simpleEstimator({ defaultComplexity: 1 })],
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
