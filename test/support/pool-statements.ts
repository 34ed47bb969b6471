import { EventBus } from '../../libs/core/src/events';
import { TestApp } from './test-app';

/**
 * Runs `fn` and answers the statements it ran on the pool rather than through a transaction's
 * manager: each of those takes a connection of its own, a second one while a transaction is
 * open. The live pushes that follow its commits are held back meanwhile (they read on their
 * own, after the work they push).
 */
export async function poolStatementsOf(t: TestApp, fn: () => Promise<unknown>): Promise<string[]> {
  const outside: string[] = [];
  const query = t.ds.query.bind(t.ds);
  const spy = jest.spyOn(t.ds, 'query').mockImplementation((sql: string, params?: unknown[], runner?: unknown) => {
    if (!runner) outside.push(sql);
    return query(sql, params, runner as never);
  });
  const quiet = jest.spyOn(t.get(EventBus), 'publish').mockImplementation(() => undefined);
  try {
    await fn();
  } finally {
    spy.mockRestore();
    quiet.mockRestore();
  }
  return outside;
}
