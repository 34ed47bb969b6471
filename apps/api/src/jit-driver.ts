import { ApolloDriver, ApolloDriverConfig } from '@nestjs/apollo';
import { Injectable, Logger } from '@nestjs/common';
import { CompiledQueriesGateway, compiledQueriesGateway } from '../../../libs/core/src/graphql/compiled-queries';

/** The API's GraphQL options: Apollo's, and whether queries run compiled (GRAPHQL_JIT). */
export interface ParvisDriverConfig extends ApolloDriverConfig {
  compiledQueries?: boolean;
}

/**
 * Nest's Apollo driver, handing Apollo the compiled fast path (`compiledQueriesGateway`) as its
 * executor when `compiledQueries` is on. Nest passes its options to `ApolloServer` unchanged;
 * the gateway serves the very schema Nest built (transforms applied), so parsing, validation,
 * plugins and error formatting are Apollo's as before.
 */
@Injectable()
export class ParvisApolloDriver extends ApolloDriver {
  /**
   * The fast path's executor, when on. Private: no code of the app reads it; the compiled-queries
   * spec reads its cache and counts (`driver['compiledQueries']`), a test seam, not the driver's API.
   */
  private compiledQueries?: CompiledQueriesGateway;

  protected override async registerExpress(options: ParvisDriverConfig, hooks?: { preStartHook?: () => void }): Promise<void> {
    const { compiledQueries, ...apollo } = options;
    if (compiledQueries && apollo.schema) {
      const log = new Logger('CompiledQueries');
      // A query field that writes without @SideEffects(): its operation gives up the compiled path whatever its variables (warned as it does), and should be marked.
      this.compiledQueries = compiledQueriesGateway(apollo.schema, undefined, (statement) => log.warn(`a compiled query ran a statement that may write (a word match: a read that mentions such a word is refused too); if it writes, mark its field @SideEffects(): ${statement.slice(0, 80)}`));
      Object.assign(apollo, { gateway: this.compiledQueries });
    }
    return super.registerExpress(apollo, hooks);
  }
}
