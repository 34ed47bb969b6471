import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import type { ApolloServerPlugin } from '@apollo/server';
import { ModuleRef } from '@nestjs/core';
import type { Request, Response } from 'express';
import { AppConfig } from '../../../libs/core/src/config/config';
import type { GqlContext } from '../../../libs/core/src/graphql/context';
import { formatGraphQLError, requestIdOf, requestIdsOfErrors } from '../../../libs/core/src/graphql/errors';
import { complexityLimitPlugin, depthLimitRule, documentStore, MAX_QUERY_TOKENS, inputTextPlugin } from '../../../libs/core/src/graphql/limits';
import { withIdArguments } from '../../../libs/core/src/graphql/id-arguments';
import { withPreloadedFields } from '../../../libs/core/src/graphql/preloaded-fields';
import { SESSION_COOKIE, SessionsService, tokenFrom } from '../../../libs/identity/src/sessions/sessions.service';
import { LiveGateway } from '../../../libs/realtime/src/live.gateway';
import { ParvisApolloDriver, ParvisDriverConfig } from './jit-driver';


/**
 * Closes the live connections as Apollo's drain begins (`LiveGateway.closeConnections`): a
 * long-polling one's poll would hold the drain for its whole ten seconds. Looked up when the
 * drain begins (its module exports nothing for GraphQL's to inject).
 */
function liveConnectionsDrain(modules: ModuleRef): ApolloServerPlugin {
  return {
    async serverWillStart() {
      return {
        async drainServer() {
          modules.get(LiveGateway, { strict: false }).closeConnections();
        },
      };
    },
  };
}

export function graphqlOptions(sessions: SessionsService, config: AppConfig, modules: ModuleRef): ParvisDriverConfig {
  const introspection = config.graphqlIde || config.NODE_ENV !== 'production';
  return {
    driver: ParvisApolloDriver,
    // Query operations run compiled (graphql-jit) only when GRAPHQL_JIT=true (off by default); see compiled-queries.ts.
    compiledQueries: config.GRAPHQL_JIT,
    path: '/graphql',
    autoSchemaFile: true,
    sortSchema: true,
    playground: false,
    graphiql: config.graphqlIde,
    introspection,
    includeStacktraceInErrorResponses: false,
    validationRules: [depthLimitRule(config.GRAPHQL_MAX_DEPTH)],
    // Every ID argument is a UUID before its resolver runs (withIdArguments), as input objects are checked.
    transformSchema: (schema) => withIdArguments(withPreloadedFields(schema)),
    // Apollo's cache-control plugin wraps every field resolver to compute cache hints we
    // do not use (responses are per-viewer); turning it off removes that per-field cost.
    plugins: [complexityLimitPlugin(config.GRAPHQL_MAX_COMPLEXITY), inputTextPlugin(), ApolloServerPluginCacheControlDisabled(), requestIdsOfErrors(), liveConnectionsDrain(modules)],
    parseOptions: { maxTokens: MAX_QUERY_TOKENS },
    // Parsed documents kept by the size of their text, comments included (see documentStore).
    documentStore: documentStore(),
    // No automatic persisted queries: no client of ours sends them, and Apollo's cache would
    // hold any text anyone sends; asked for, they are refused (PERSISTED_QUERY_NOT_SUPPORTED,
    // answered as BAD_USER_INPUT).
    persistedQueries: false,
    // Without introspection, "did you mean" suggestions would list the schema's fields anyway.
    hideSchemaDetailsFromClientErrors: !introspection,
    formatError: (formatted, error) => formatGraphQLError(formatted, error, requestIdOf(error)),
    context: async ({ req, res }: { req: Request; res: Response }): Promise<GqlContext> => {
      const token = tokenFrom(req);
      const viewer = await sessions.resolve(token, req.ip ?? 'unknown');
      // A session kept alive through its cookie gets the cookie again, or the browser would
      // drop it at the first expiry while the session itself lives on.
      if (viewer.sessionRenewed && token && !req.headers.authorization) res.cookie(SESSION_COOKIE, token, sessions.cookieOptions());
      return { req, res, viewer, requestId: String((req as Request & { id?: unknown }).id ?? '') };
    },
  };
}
