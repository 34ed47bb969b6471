import { bootTestApp, TestApp } from './test-app';

/**
 * A real API whose pool holds one connection, and hands none out after `timeoutMs` of waiting
 * (the pool's own `connectionTimeoutMillis`, off in the app). A transaction holds that
 * connection: a statement it sends on the pool rather than on its own connection waits for the
 * transaction to end, which waits for it, and fails once the timeout passes, as every request
 * would under load with each of the pool's connections held by such a transaction.
 */
export async function bootOnOneConnection(timeoutMs = 2000): Promise<TestApp> {
  const t = await bootTestApp({ DB_POOL_SIZE: '1' });
  (t.ds.driver as unknown as { master: { options: { connectionTimeoutMillis: number } } }).master.options.connectionTimeoutMillis = timeoutMs;
  return t;
}
