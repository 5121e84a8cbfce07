// Layering rules for bridgelab, checked by `npm run depcheck` and by
// cli/dependency-rules.test.ts (part of `npm test`).
//
// Layers, bottom to top:
//   sim/                  simulators and the reference bridge (sim/bridge/ runs alone on a device)
//   certs/, rigs/, suites/  certificates, rig files, the conformance suites
//   cli/, bench/, fuzz/, bin/, docs/  entry points
// sim/ must not know about the entry points or the suites; the reference bridge must not
// know about the simulated card, SM-DP+, LPA or modem; only tests use test helpers.
//
// KNOWN lists the imports that break a rule today, file by file, so that the rule still
// catches every new one. Each entry is pinned to exactly the modules imported today:
// delete entries as the code is fixed (issue 14, item 4), never add a new file to them
// without a reason written next to it.

/** a test file */
const TEST = '(\\.test\\.ts$|(^|/)vitest\\.config\\.ts$)';
/** a helper module or fixture for tests */
const HELPERS = '(^|/)(testing|testdata)/';
/** code that runs under vitest: tests, their helpers, and the conformance suites (certify runs them in vitest) */
const UNDER_VITEST = [TEST, HELPERS, '^suites/'];
const VITEST = '(^|/)node_modules/(vitest|@vitest)/';
const BRIDGE_MAY_NOT_IMPORT = '^sim/(euicc|smdp|lpa|modem)/';

const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const exactly = (paths) => paths.map((p) => `^${esc(p)}$`);

/**
 * The rule itself for every file not in `known`, and for each file in `known` the same rule
 * minus exactly the modules listed for it.
 */
function withKnown(rule, known) {
  const files = Object.keys(known);
  const pathNot = (r) => [].concat(r.pathNot ?? []);
  return [
    { ...rule, from: { ...rule.from, pathNot: [...pathNot(rule.from), ...exactly(files)] } },
    ...files.map((file) => ({
      ...rule,
      from: { path: `^${esc(file)}$` },
      to: { ...rule.to, pathNot: [...pathNot(rule.to), ...exactly(known[file])] },
    })),
  ];
}

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'This module is part of an import cycle. Cycles that go through a type-only import ' +
        '(`import type`, erased at run time) do not count.',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    ...withKnown(
      {
        name: 'sim-not-to-entry-points',
        severity: 'error',
        comment: 'sim/ is the bottom layer: it must not import from cli/, suites/ or reports/.',
        from: { path: '^sim/' },
        to: { path: '^(cli|suites|reports)/' },
      },
      {
        // end-to-end security tests that run `certify` on the virtual rig (a cli/ test in sim/)
        'sim/security.test.ts': ['cli/certify.ts'],
        // measures the bridge's UART timing on the rig runtime of the suites
        'sim/bridge/uart-timing.test.ts': ['suites/framework/env.ts', 'suites/framework/rig-runtime.ts'],
      },
    ),
    {
      name: 'bridge-standalone',
      severity: 'error',
      comment:
        'sim/bridge/ is the reference bridge that runs alone on a device: it must not import ' +
        'the simulated eUICC, SM-DP+, LPA or modem.',
      from: { path: '^sim/bridge/', pathNot: TEST },
      to: { path: BRIDGE_MAY_NOT_IMPORT },
    },
    ...withKnown(
      {
        name: 'bridge-tests-only-modem-testing',
        severity: 'error',
        comment:
          "sim/bridge/ tests may use the modem's test helpers (sim/modem/testing/) but not the " +
          'rest of the simulated eUICC, SM-DP+, LPA or modem.',
        from: { path: '^sim/bridge/.*\\.test\\.ts$' },
        to: { path: BRIDGE_MAY_NOT_IMPORT, pathNot: '^sim/modem/testing/' },
      },
      {
        // these tests drive the bridge end to end with the software eUICC and the LPA on the far side
        'sim/bridge/bridge.test.ts': ['sim/euicc/euicc.ts', 'sim/lpa/errors.ts', 'sim/lpa/es10.ts', 'sim/lpa/vpcd-transport.ts'],
        'sim/bridge/defects.test.ts': ['sim/lpa/vpcd-transport.ts', 'sim/modem/personality.ts'],
        'sim/bridge/modem-session.test.ts': ['sim/modem/personality.ts'],
        'sim/bridge/pcsc.test.ts': ['sim/euicc/testing/opensc.ts', 'sim/lpa/vpcd-slots.ts'],
        'sim/bridge/uart-timing.test.ts': ['sim/modem/uart.ts'],
      },
    ),
    ...withKnown(
      {
        name: 'no-testing-in-production',
        severity: 'error',
        comment: 'Only tests and other test helpers may import a testing/ or testdata/ module.',
        from: { pathNot: [TEST, HELPERS] },
        to: { path: HELPERS },
      },
      {
        // oracles and simulators that the suites and fuzz targets use from testing/ folders;
        // issue 14 item 4: promote them to a named place that suites and fuzz may import
        'suites/es10/helpers.ts': ['sim/euicc/testing/fixtures.ts', 'sim/euicc/testing/smdp-binder.ts'],
        'suites/es10/es10b-bpp.suite.ts': ['sim/euicc/testing/fixtures.ts', 'sim/euicc/testing/smdp-binder.ts'],
        'suites/es10/es10b-notifications.suite.ts': ['sim/euicc/testing/fixtures.ts'],
        'fuzz/floods.ts': ['sim/lpa/testing/hostile-server.ts', 'sim/smdp/testing/euicc-sim.ts'],
        'fuzz/targets/bridge-at.ts': ['sim/bridge/testing/scripted-port.ts'],
        'fuzz/targets/vpcd.ts': ['sim/bridge/testing/scripted-port.ts'],
        'fuzz/targets/euicc-apdu.ts': ['sim/euicc/testing/fixtures.ts', 'sim/euicc/testing/smdp-binder.ts', 'sim/euicc/testing/test-lpa.ts', 'sim/rsp/testdata/samples.ts'],
        // seed messages for the RSP decoders' fuzzers
        'fuzz/targets/rsp-json.ts': ['sim/rsp/testdata/samples.ts'],
        'fuzz/targets/rsp-der.ts': ['sim/rsp/testdata/samples.ts'],
        'fuzz/targets/euicc-state-damage.ts': ['sim/euicc/testing/fixtures.ts', 'sim/euicc/testing/test-lpa.ts'],
        'fuzz/targets/lpa-hostile.ts': ['sim/lpa/testing/hostile-server.ts'],
        'fuzz/targets/smdp-db-damage.ts': ['sim/smdp/testing/client.ts', 'sim/smdp/testing/euicc-sim.ts'],
        'fuzz/targets/smdp-http.ts': ['sim/smdp/testing/euicc-sim.ts', 'sim/rsp/testdata/samples.ts'],
        'fuzz/targets/smdp-races.ts': ['sim/smdp/testing/client.ts', 'sim/smdp/testing/euicc-sim.ts'],
        'fuzz/targets/smdp-slow.ts': ['sim/smdp/testing/euicc-sim.ts'],
      },
    ),
    ...withKnown(
      {
        name: 'no-vitest-in-production',
        severity: 'error',
        comment: 'Only code that runs under vitest (tests, test helpers, the suites) may import vitest.',
        from: { pathNot: UNDER_VITEST },
        to: { path: VITEST },
      },
      {
        // certify runs the suites through vitest's Node API; it may use that and nothing else of vitest
        'cli/certify.ts': ['node_modules/vitest/dist/node.d.ts'],
      },
    ),
  ],
  options: {
    // the fixture of cli/dependency-rules.test.ts breaks every rule on purpose
    exclude: { path: '^cli/testdata/depcruise/' },
    // node_modules are resolved (to see vitest) but not cruised
    doNotFollow: { path: 'node_modules' },
    // `import type` is then reported as a dependency of type 'type-only'
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // resolve packages through their "exports" the way Node does (tsx/esm/api, vitest/node)
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json', '.d.ts'],
    },
    skipAnalysisNotInRules: true,
  },
};
