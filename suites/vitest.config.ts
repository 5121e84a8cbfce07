// vitest configuration of the conformance suites, used by `bridgelab certify`
// (not by `npm test`). Each suite file builds its own rig parts, so files run in
// separate forked workers; two at a time on the 2-core machines CI uses.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['suites/**/*.suite.ts'],
    setupFiles: ['allure-vitest/setup'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
