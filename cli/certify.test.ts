import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { certify, listPersonalities, parseCertifyArgs } from './certify.ts';
import { compareResults } from './report/compare.ts';
import { junitXml } from './report/junit.ts';
import { HelpRequested, UsageError } from './errors.ts';
import { totalsByIut, type CaseResult } from '../suites/framework/verdict.ts';

const FIXTURES = ['cli/testdata/certify-fixture/*.suite.ts'];

describe('bridgelab certify', () => {
  let dir: string;
  let run: Awaited<ReturnType<typeof certify>>;
  let output = '';
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bridgelab-certify-'));
    const opts = { ...parseCertifyArgs(['--report', dir, '--personality', 'quectel-ec25j', '--include-self-checks']), include: FIXTURES };
    run = await certify(opts, (s) => void (output += s));
  }, 180_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('gives each case its verdict by the rule of suites/framework/case.ts and exits 1 when one failed', () => {
    const verdicts = Object.fromEntries(run.results.map((r) => [r.id, r.verdict]));
    expect(verdicts).toEqual({
      'TC_Fixture_Certify.Verdict_Pass': 'Pass',
      'TC_Fixture_Certify.Verdict_Fail': 'Fail',
      'TC_Fixture_Certify.Verdict_NA': 'N/A',
      'TC_Fixture_Certify.Verdict_Inconclusive': 'Inconclusive',
      'TC_Fixture_Certify.Verdict_RuntimeNA': 'N/A',
      'TC_Fixture_Certify.Verdict_StepNotRun': 'Inconclusive',
      'TC_Fixture_Certify.Verdict_FrameworkBug': 'Fail',
      'TC_Fixture_Certify.Verdict_SelfCheck': 'Pass',
      'TC_Fixture_Certify.Verdict_SelfCheckFail': 'Fail',
      'suite:cli/testdata/certify-fixture/broken.suite.ts': 'Inconclusive',
    });
    expect(run.exitCode).toBe(1);
    const byId = (id: string) => run.results.find((r) => r.id === `TC_Fixture_Certify.Verdict_${id}`)!;
    expect(byId('Fail').reason).toMatch(/step 1 \(compute\)/);
    expect(byId('Fail').failure).toEqual({ category: 'bridge', step: 1, message: 'expected 2 to be 3 // Object.is equality', expected: '3', actual: '2' });
    expect(byId('NA').reason).toMatch(/lacks uartTiming/);
    expect(byId('Inconclusive').failure).toMatchObject({ category: 'setup', message: "initial condition 'a modem that answers' not met: no modem" });
    expect(byId('FrameworkBug').failure).toMatchObject({ category: 'bridgelab', step: 1 });
    expect(byId('FrameworkBug').failure!.message).toMatch(/^Cannot read properties of undefined/);
  });

  it('a case whose body returns without running a declared step is Inconclusive, naming the step (bridgelab at fault)', () => {
    const r = run.results.find((x) => x.id === 'TC_Fixture_Certify.Verdict_StepNotRun')!;
    expect(r.verdict).toBe('Inconclusive');
    expect(r.reason).toBe('the case ended without running step 2');
    expect(r.failure).toEqual({ category: 'bridgelab', message: 'the case ended without running step 2' });
    expect(r.steps.map((s) => [s.n, s.status])).toEqual([
      [1, 'pass'],
      [2, 'not-run'],
    ]);
  });

  it('records per step the lines of the logs it wrote, with a marker line per step', () => {
    const pass = run.results.find((x) => x.id === 'TC_Fixture_Certify.Verdict_Pass')!;
    // line 1 is the step's marker, 2-3 its exchange, 4 the end marker; the other logs got nothing from it
    expect(pass.steps).toEqual([{ n: 1, action: 'compute', expected: 'the right value', status: 'pass', lines: { apduLog: { from: 2, to: 3 } } }]);
    expect(readFileSync(join(dir, pass.evidence.apduLog!), 'utf8').split('\n')[1]).toMatch(/lpa-bridge >> 00a4040000$/);
    const fail = run.results.find((x) => x.id === 'TC_Fixture_Certify.Verdict_Fail')!;
    // the APDU was traced before step 1 began: no line of step 1's
    expect(fail.steps[0]).toMatchObject({ status: 'fail', detail: 'expected 2 to be 3 // Object.is equality' });
    expect(fail.steps[0]!.lines).toBeUndefined();
    const log = readFileSync(join(dir, fail.evidence.apduLog!), 'utf8').trim().split('\n');
    expect(log[0]).toMatch(/lpa-bridge >> 00a4040000$/);
    expect(log.slice(2)).toEqual(['=== step 1: compute', '=== end of step 1']);
    expect(existsSync(join(dir, fail.evidence.bridgeLog!))).toBe(true);
  });

  it('shows live progress and a verdict table, bridge cases apart from self-checks', () => {
    expect(output).toMatch(/PASS {2}\[bridge\] TC_Fixture_Certify\.Verdict_Pass/);
    expect(output).toMatch(/FAIL {2}\[bridge\] TC_Fixture_Certify\.Verdict_Fail/);
    expect(output).toMatch(/PASS {2}\[self\] {3}TC_Fixture_Certify\.Verdict_SelfCheck/);
    expect(output).toMatch(/bridge: 1 pass, 2 fail, 3 inconclusive, 2 n\/a \(6 applicable of 8\)/);
    expect(output).toMatch(/self-checks: 1 pass, 1 fail, 0 inconclusive, 0 n\/a \(2 applicable of 2\)/);
    expect(output).toMatch(/self-checks of bridgelab's own parts \(not part of the bridge's verdict\):\n.*PASS FAIL INCO/);
  });

  it('writes summary.json, junit.xml, evidence, allure results and the HTML report', () => {
    const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
    expect(summary.rig.name).toBe('virtual');
    // summary.json counts the bridge's cases and, apart, the self-checks
    expect({ bridge: summary.totals, self: summary.selfCheckTotals }).toEqual(totalsByIut(run.results));
    expect(summary.totals.total + summary.selfCheckTotals.total).toBe(10);
    expect(summary.versions.node).toBe(process.version);
    const pass = summary.cases.find((c: CaseResult) => c.verdict === 'Pass');
    expect(existsSync(join(dir, pass.evidence.pcap))).toBe(true);
    expect(existsSync(join(dir, pass.evidence.apduLog))).toBe(true);
    const junit = readFileSync(join(dir, 'junit.xml'), 'utf8');
    expect(junit).toMatch(/<failure message=/);
    expect(junit).toMatch(/<skipped message="N\/A/);
    expect(junit).toMatch(/<error message="Inconclusive/);
    expect(existsSync(join(dir, 'allure-results'))).toBe(true);
    expect(existsSync(join(dir, 'report.html'))).toBe(true);
  });

  it('lists verdict changes against an older report', () => {
    const mk = (id: string, verdict: CaseResult['verdict']): CaseResult => ({ id, title: id, group: 'Bridge transport', iut: 'bridge', personality: 'p', verdict, steps: [], durationMs: 1, requirement: '', evidence: {} });
    expect(compareResults([mk('A', 'Pass'), mk('B', 'Pass'), mk('C', 'Fail')], [mk('A', 'Pass'), mk('B', 'Fail'), mk('D', 'Pass')])).toEqual([
      { id: 'B', personality: 'p', before: 'Pass', after: 'Fail' },
      { id: 'C', personality: 'p', before: 'Fail', after: 'absent' },
      { id: 'D', personality: 'p', before: 'absent', after: 'Pass' },
    ]);
    expect(junitXml([mk('A&B', 'Pass')])).toMatch(/A&amp;B/);
  });

  it('rejects bad arguments with usage errors', () => {
    expect(() => parseCertifyArgs(['--rig', 'nope'])).toThrow(UsageError);
    expect(() => parseCertifyArgs(['--personality', 'nokia-3310'])).toThrow(/unknown personality/);
    expect(() => parseCertifyArgs(['--shard', '3/2'])).toThrow(/between 1 and 2/);
    expect(() => parseCertifyArgs(['--only', '('])).toThrow(/regular expression/);
    expect(() => parseCertifyArgs(['--workers', '0'])).toThrow(/--workers/);
    expect(parseCertifyArgs(['--workers', '3']).workers).toBe(3);
    expect(() => parseCertifyArgs(['--bridge', 'just words'])).toThrow(/--bridge/);
    expect(() => parseCertifyArgs(['--rig', 'rpi-ec25j', '--personality', 'seiko'])).toThrow(/fake modems only/);
    expect(parseCertifyArgs(['--bridge', './mybridge --tty {tty} --port {port}']).rig.bridge).toMatchObject({ kind: 'external' });
    // the virtual rig certifies against every modem personality unless told otherwise
    expect(parseCertifyArgs([]).personalities).toEqual(listPersonalities());
    expect(listPersonalities().length).toBeGreaterThanOrEqual(6);
    expect(parseCertifyArgs(['--personality', 'seiko,quectel-ec25j']).personalities).toEqual(['seiko', 'quectel-ec25j']);
    expect(parseCertifyArgs([]).includeSelfChecks).toBeUndefined();
    expect(parseCertifyArgs(['--include-self-checks']).includeSelfChecks).toBe(true);
  });

  it('--help is a help request (stdout, exit 0), not a usage error', () => {
    expect(() => parseCertifyArgs(['--help'])).toThrow(HelpRequested);
    expect(() => parseCertifyArgs(['--help'])).toThrow(/usage: bridgelab certify .*--include-self-checks/s);
  });
});

describe('certify runs', () => {
  const base = mkdtempSync(join(tmpdir(), 'bridgelab-certify-runs-'));
  afterAll(() => rmSync(base, { recursive: true, force: true }));
  const opts = (report: string, ...args: string[]) => ({ ...parseCertifyArgs(['--report', report, '--personality', 'quectel-ec25j', '--no-html', ...args]), include: ['cli/testdata/certify-fixture/fixture.suite.ts'] });

  it('refuses a report directory that is not empty, so results of an earlier run can never be read back', async () => {
    const dir = join(base, 'used');
    mkdirSync(join(dir, 'cases', 'quectel-ec25j', 'TC_Fixture_Certify.Verdict_Fail'), { recursive: true });
    const stale = { id: 'TC_Fixture_Certify.Verdict_Fail', verdict: 'Pass' };
    writeFileSync(join(dir, 'cases', 'quectel-ec25j', 'TC_Fixture_Certify.Verdict_Fail', 'result.json'), JSON.stringify(stale));
    const run = certify(opts(dir), () => {});
    await expect(run).rejects.toThrow(UsageError);
    await expect(certify(opts(dir), () => {})).rejects.toThrow(`--report '${dir}' is not empty (1 entry, e.g. cases): a report directory holds one run; give a new directory`);
    expect(readdirSync(dir)).toEqual(['cases']);
  });

  it('counts only bridge cases for the bridge by default: self-checks are not run and not counted', async () => {
    const dir = join(base, 'default');
    let output = '';
    const { results, exitCode } = await certify(opts(dir, '--only', 'Verdict_(Pass|SelfCheck)'), (s) => void (output += s));
    expect(results.map((r) => [r.id, r.iut, r.verdict])).toEqual([['TC_Fixture_Certify.Verdict_Pass', 'bridge', 'Pass']]);
    expect(exitCode).toBe(0);
    expect(output).toMatch(/bridge: 1 pass, 0 fail, 0 inconclusive, 0 n\/a \(1 applicable of 1\)/);
    expect(output).toMatch(/self-checks: not run \(--include-self-checks runs them\)/);
  }, 120_000);

  it('runs self-checks with --include-self-checks and keeps a failing one out of the exit code', async () => {
    let output = '';
    const { results, exitCode } = await certify(opts(join(base, 'with-self'), '--include-self-checks', '--only', 'Verdict_(Pass|SelfCheckFail):'), (s) => void (output += s));
    expect(results.map((r) => [r.id, r.iut, r.verdict]).sort()).toEqual([
      ['TC_Fixture_Certify.Verdict_Pass', 'bridge', 'Pass'],
      ['TC_Fixture_Certify.Verdict_SelfCheckFail', 'self', 'Fail'],
    ]);
    expect(results.find((r) => r.iut === 'self')!.failure).toMatchObject({ category: 'bridgelab', step: 1 });
    expect(exitCode).toBe(0);
    expect(output).toMatch(/bridge: 1 pass, 0 fail/);
    expect(output).toMatch(/self-checks: 0 pass, 1 fail/);
  }, 120_000);

  it('a rig that does not start makes the cases of its suite file Inconclusive (set-up), with one reason', async () => {
    const { results, exitCode } = await certify({ ...opts(join(base, 'rig-down')), include: ['cli/testdata/certify-fixture/rig-start/*.suite.ts'] }, () => {});
    expect(results.map((r) => [r.id, r.verdict])).toEqual([
      ['TC_Fixture_Certify.RigDown_1', 'Inconclusive'],
      ['TC_Fixture_Certify.RigDown_2', 'Inconclusive'],
    ]);
    for (const r of results) {
      expect(r.failure?.category).toBe('setup');
      expect(r.reason).toMatch(/^the rig did not start: listen EADDRNOTAVAIL.*192\.0\.2\.1/);
    }
    expect(exitCode).toBe(1);
  }, 120_000);

  it('--only matching no case is a usage error, and leaves no report behind', async () => {
    const dir = join(base, 'nothing');
    await expect(certify(opts(dir, '--only', 'NoSuchCase'), () => {})).rejects.toThrow(new UsageError("--only 'NoSuchCase' matches no case"));
    expect(existsSync(dir)).toBe(false);
    await expect(certify(opts(join(base, 'self-only'), '--only', 'Verdict_SelfCheck'), () => {})).rejects.toThrow(
      "--only 'Verdict_SelfCheck' matches no case; it matches 2 self-checks, which run only with --include-self-checks",
    );
  }, 120_000);
});

describe('sharded certify runs', () => {
  it('runs shards separately and merges them into one report', async () => {
    const { mergeReports } = await import('./report.ts');
    const base = mkdtempSync(join(tmpdir(), 'bridgelab-shards-'));
    try {
      const include = ['cli/testdata/certify-fixture/*.suite.ts'];
      for (const shard of ['1/2', '2/2']) {
        const opts = { ...parseCertifyArgs(['--report', join(base, shard.replace('/', 'of')), '--shard', shard, '--personality', 'quectel-ec25j', '--no-html']), include };
        await certify(opts, () => {});
      }
      let text = '';
      const code = await mergeReports([join(base, '1of2'), join(base, '2of2')], join(base, 'merged'), false, (s) => void (text += s));
      const summary = JSON.parse(readFileSync(join(base, 'merged', 'summary.json'), 'utf8'));
      expect(summary.totals.total).toBe(8);
      expect(code).toBe(1);
      expect(text).toMatch(/merged 2 reports/);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  }, 180_000);
});
