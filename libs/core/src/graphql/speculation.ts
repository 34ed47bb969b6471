import { AsyncLocalStorage } from 'node:async_hooks';
import { Extensions } from '@nestjs/graphql';

/**
 * The compiled fast path (`jitGateway`, apps/api/src/jit-executor.ts) runs a query with
 * graphql-jit and, when its answer has any error, throws it away and runs the same request
 * again with graphql-js, whose answer is the one sent. Whatever a resolver of that query does
 * besides reading would then be done twice. Two guards keep it once:
 *
 * - `@SideEffects()` marks a field whose resolver writes (spends a rate-limit token, records
 *   something): an operation that names one anywhere in its document is never compiled, only
 *   graphql-js runs it. Marked today: `searchContributions`, `similarTopics`,
 *   `userSuggestions` and `Topic.relatedArticles` (each spends the search or look-up rate).
 * - While the compiled query runs (`speculating`), the pool's connections refuse any statement
 *   that may write (`refuseWhileSpeculating`): a write nobody marked fails before it is sent,
 *   the compiled answer then has an error, and graphql-js runs the request, writing once.
 */
export const SIDE_EFFECTS = 'sideEffects';

/** Marks a query field whose resolver writes: operations selecting it run on graphql-js alone. */
export const SideEffects = (): MethodDecorator & ClassDecorator & PropertyDecorator => Extensions({ [SIDE_EFFECTS]: true });

/** Set while a compiled query runs; its answer is discarded when it has any error. */
export const speculating = new AsyncLocalStorage<true>();

/**
 * A statement that may write (or take a lock, notify, advance a sequence, call a procedure):
 * a word match, so a read that merely mentions such a word is refused too, and only costs the
 * compiled attempt (graphql-js then runs it, as it would have).
 */
const MAY_WRITE = /\b(insert|update|delete|merge|truncate|copy|call|do|notify|listen|nextval|setval|pg_notify|pg_advisory_\w*|lock|for\s+(no\s+key\s+)?(update|share)|begin|start|savepoint|prepare|set|create|alter|drop|grant|vacuum|analyze|refresh)\b/i;

export class SpeculativeWriteRefused extends Error {
  constructor(text: string) {
    super(`A statement that may write ran inside a compiled query and was refused (graphql-js runs the request again): ${text.slice(0, 80)}`);
    this.name = 'SpeculativeWriteRefused';
  }
}

/** Throws when a compiled query is running and `text` may write; the pool's clients call it before each statement. */
export function refuseWhileSpeculating(query: unknown): void {
  if (speculating.getStore() === undefined) return;
  // pg takes a text or a config object ({ text, values, name }); anything else (a stream) is refused.
  const text = typeof query === 'string' ? query : (query as { text?: unknown } | null)?.text;
  if (typeof text !== 'string' || MAY_WRITE.test(text)) throw new SpeculativeWriteRefused(typeof text === 'string' ? text : '(a statement without text)');
}
