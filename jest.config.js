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
  // A worker whose heap passed this after a file is replaced (usually after its third end-to-end
  // file, each of which stays in its heap), so none ends with a heap too big to tear down within
  // Jest's 500 ms: see docs/architecture.md, Tests, "Jest workers' memory".
  workerIdleMemoryLimit: '400MB',
  testTimeout: 60000,
  reporters: ['default', '<rootDir>/test/setup/summary-reporter.js'],
};
