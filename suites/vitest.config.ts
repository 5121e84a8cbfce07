// vitest configuration of the conformance suites, used by `bridgelab certify`
// (not by `npm test`). Each suite file builds its own rig parts, so files run in
// separate forked workers; how many at once is certify's --workers (cli/certify.ts).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['suites/**/*.suite.ts'],
    setupFiles: ['allure-vitest/setup'],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
