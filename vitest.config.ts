// Unit and integration tests live next to the code they test (*.test.ts).
// Conformance suites (suites/) are run by `bridgelab certify`, not by `npm test`.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['sim/**/*.test.ts', 'certs/**/*.test.ts', 'cli/**/*.test.ts', 'rigs/**/*.test.ts', 'suites/**/*.test.ts'],
    // fixtures of the dependency-rule test are source trees to analyse, not tests to run
    exclude: ['**/node_modules/**', '**/testdata/**'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // certify runs started by tests share the machine with the other test files
    env: { BRIDGELAB_SUITE_WORKERS: '2' },
  },
});
