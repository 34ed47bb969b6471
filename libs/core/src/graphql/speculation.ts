import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The compiled fast path (`compiledQueriesGateway`, compiled-queries.ts) runs a query with
 * graphql-jit and, when its answer has any error, throws it away and runs the same request
 * again with graphql-js, whose answer is the one sent. Whatever a resolver of that query does
 * besides reading would then be done twice. Two guards keep it once:
 *
 * - `@SideEffects()` (side-effects.ts) marks a field whose resolver writes (spends a rate-limit token, records
 *   something): an operation that names one anywhere in its document is never compiled, only
 *   graphql-js runs it. Marked today: `searchContributions`, `similarTopics`,
 *   `userSuggestions` and `Topic.relatedArticles` (each spends the search or look-up rate).
 * - While the compiled query runs (`speculating`), the pool's connections refuse any statement
 *   that may write (`refuseWhileSpeculating`): a write nobody marked fails before it is sent and
 *   is noted on the run, whose answer is then thrown away (even when a resolver caught the
 *   error), what the request memoized on its viewer meanwhile is forgotten (a memoized refusal
 *   would fail graphql-js's run too), graphql-js runs the request, writing once, and that
 *   operation gives up the compiled path at once, whatever its variables, tried compiled again once
 *   in `COMPILED_RETRY_AFTER` requests (compiled-queries.ts). A word match on SQL only: writes elsewhere
 *   (Redis, the search engine, memory) are not seen, hence the markers.
 *
 * This module imports no Nest: the database's pool uses it, which an `API_WORKERS` primary loads to migrate.
 */
/** One compiled run: the first statement refused in it, if any. */
export interface Speculation {
  refused?: string;
}

/** Set while a compiled query runs; its answer is discarded when it has any error or a statement was refused. */
export const speculating = new AsyncLocalStorage<Speculation>();

/**
 * A statement that may write (or take a lock, notify, advance a sequence, call a procedure,
 * change the pooled connection's settings or drop its prepared statements):
 * a word match, so a read that merely mentions such a word is refused too: graphql-js then
 * answers it, as it would have, and its operation gives up the compiled path whatever its variables
 * (`compiled-queries.ts`), with a warning that may be such a false positive. A read
 * transaction's own statements pass (TRANSACTION_CONTROL).
 */
const MAY_WRITE = /\b(insert|update|delete|merge|truncate|copy|call|do|notify|listen|nextval|setval|pg_notify|pg_advisory_\w*|lock|for\s+(no\s+key\s+)?(update|share)|begin|start|savepoint|prepared?|set|set_config|reset|discard|deallocate|create|alter|drop|grant|vacuum|analyze|refresh)\b/i;

/**
 * A statement of a read transaction that writes nothing itself: opening, ending or rolling back
 * a transaction or to a savepoint (TypeORM's `ds.transaction` sends them), and a setting for the
 * transaction only (SET LOCAL, SET TRANSACTION). Words, numbers and quoted values after the
 * keyword only (no comment: a `--` could hide a word from the quotes' count), and never a
 * two-phase commit's PREPARED: a statement that writes does not fit.
 */
const TRANSACTION_CONTROL = /^\s*(?:begin|start\s+transaction|commit|end|rollback|abort|savepoint|release|set\s+(?:local|transaction))\b(?![^']*\bprepared\b)(?:[\w\s.,=]|-(?!-)|'[^']*')*$/i;

/** Whether `text` may write: some statement of it (split at each `;`, a quoted one counts) matches MAY_WRITE and is no TRANSACTION_CONTROL. */
function mayWrite(text: string): boolean {
  return MAY_WRITE.test(text) && text.split(';').some((statement) => MAY_WRITE.test(statement) && !TRANSACTION_CONTROL.test(statement));
}

export class SpeculativeWriteRefused extends Error {
  constructor(text: string) {
    super(`A statement that may write ran inside a compiled query and was refused (graphql-js runs the request again): ${text.slice(0, 80)}`);
    this.name = 'SpeculativeWriteRefused';
  }
}

/** Throws when a compiled query is running and `text` may write; the pool's clients call it before each statement. */
export function refuseWhileSpeculating(query: unknown): void {
  const speculation = speculating.getStore();
  if (speculation === undefined) return;
  // pg takes a text or a config object ({ text, values, name }); anything else (a stream) is refused.
  const text = typeof query === 'string' ? query : (query as { text?: unknown } | null)?.text;
  if (typeof text === 'string' && !mayWrite(text)) return;
  // Noted on the run as well as thrown: a resolver may catch the error, or keep it memoized.
  speculation.refused ??= typeof text === 'string' ? text : '(a statement without text)';
  throw new SpeculativeWriteRefused(speculation.refused);
}
