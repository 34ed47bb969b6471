const { TestEnvironment } = require('jest-environment-node');

/**
 * Jest's node environment; what is added is how a worker process ends.
 *
 * Once Jest tells a worker to end, the worker only stops listening to it, and exits when its
 * event loop is empty; Jest gives it 500 ms (FORCE_EXIT_DELAY in jest-worker), then kills it
 * and prints "A worker process has failed to exit gracefully ... tests leaking due to
 * improper teardown". No test left anything open: our workers reached `exit` within a few
 * ms of being told to end. The time went after `exit`, in Node's teardown, which frees the
 * heap page by page (seen with strace: some 1500 munmap calls for 400 MB, still going when
 * the SIGTERM came), slowly on a busy machine, and slower the bigger the heap.
 *
 * And the heaps are big: every end-to-end file's module registry stays in its worker after the
 * file, so jest.config.js's workerIdleMemoryLimit replaces a worker grown too big.
 * `process.exit` skips that teardown (the heap goes with the process), but not all the cost of a
 * big heap, hence that limit. What was measured (a file's share of the heap, the heaps that
 * exited in time and those that did not) is told once, in docs/architecture.md, Tests, "Jest
 * workers' memory".
 *
 * `process.exit` is called from `beforeExit`, which Node emits only once the event loop is empty: a worker in which a test
 * left a timer, socket, server or child process open never gets there, and is still killed
 * and reported as before. This is no `forceExit`, which ends the process whatever it still
 * has open.
 *
 * Only in a worker (a child process Jest talks to over IPC): run in band, the environment
 * lives in Jest's own process, which ends as it always has.
 */
if (process.env.JEST_WORKER_ID && typeof process.send === 'function') {
  process.once('beforeExit', (code) => process.exit(code));
}

module.exports = TestEnvironment;
