import { bootTestApp, TestApp } from './test-app';

/**
 * A real API whose pool holds one connection, and hands none out after `timeoutMs` of waiting
 * (DB_CONNECTION_TIMEOUT_MS). A transaction holds that connection: a statement it sends on the
 * pool rather than on its own connection waits for the transaction to end, which waits for it,
 * and fails once the timeout passes, as every request would under load with each of the pool's
 * connections held by such a transaction. A pool of one is accepted here as the test apps run
 * no outbox worker (WORKER_IN_PROCESS is off with DATABASE_URL); a process that runs it refuses
 * one at start-up (loadConfig: config.spec, process.spec).
 */
export function bootOnOneConnection(timeoutMs = 2000): Promise<TestApp> {
  return bootTestApp({ DB_POOL_SIZE: '1', DB_CONNECTION_TIMEOUT_MS: String(timeoutMs) });
}
