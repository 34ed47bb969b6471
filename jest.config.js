/** @type {import('jest').Config} */
module.exports = {
  // Jest's node environment, with a worker's quick exit once its event loop is empty: see the file.
  testEnvironment: '<rootDir>/test/setup/test-environment.js',
  rootDir: __dirname,
  // Type-checking is `npm run typecheck`'s job; here files are only transpiled, one by one.
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.test.json', diagnostics: false }] },
  moduleFileExtensions: ['ts', 'js', 'json'],
  testMatch: ['<rootDir>/libs/**/*.spec.ts', '<rootDir>/apps/**/*.spec.ts', '<rootDir>/test/**/*.e2e-spec.ts'],
  globalSetup: '<rootDir>/test/setup/global-setup.ts',
  globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
  maxWorkers: 2,
  // Every end-to-end file leaves its whole module registry behind in the worker (Node keeps the
  // file's vm context reachable: see test/setup/test-environment.js), some 60 MB a file; with the
  // garbage not yet collected, a worker's heap measured some 200 MB after one file, 350 after two,
  // 500 after three. A worker whose heap has grown past this after a file is replaced by a fresh
  // one, so none carries more than about three files' worth. At 1 GB, the worker still running the
  // last file could end the run holding 1 GB, and took longer than Jest's 500 ms to end (its heap
  // freed, the process torn down): "A worker process has failed to exit gracefully".
  workerIdleMemoryLimit: '400MB',
  testTimeout: 60000,
  reporters: ['default', '<rootDir>/test/setup/summary-reporter.js'],
};
