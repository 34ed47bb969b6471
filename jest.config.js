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
  // file's vm context reachable: see test/setup/test-environment.js), some 60 MB a file. A worker
  // whose heap has grown past this after a file is replaced by a fresh one, so a worker never
  // carries gigabytes, which slow every garbage collection and its exit at the end.
  workerIdleMemoryLimit: '1GB',
  testTimeout: 60000,
  reporters: ['default', '<rootDir>/test/setup/summary-reporter.js'],
};
