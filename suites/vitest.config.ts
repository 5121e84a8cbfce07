// vitest configuration of the conformance suites, used by `bridgelab certify`
// (not by `npm test`). Each suite file builds its own rig parts, so files run in
// separate forked workers; how many at once is certify's --workers (cli/certify.ts).
// Every case is tagged with its implementation under test (suites/framework/case.ts):
// certify filters out the 'self' tag unless --include-self-checks.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['suites/**/*.suite.ts'],
    setupFiles: ['allure-vitest/setup'],
    pool: 'forks',
    tags: [
      { name: 'bridge', description: 'the LPA Bridge is the implementation under test' },
      { name: 'self', description: "a self-check of bridgelab's own parts (eUICC, SM-DP+, test LPA, TLS, PKI)" },
    ],
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
