import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { certify, listPersonalities, parseCertifyArgs } from './certify.ts';
import { compareResults } from './report/compare.ts';
import { junitXml } from './report/junit.ts';
import { UsageError } from './errors.ts';
import type { CaseResult } from '../suites/framework/verdict.ts';

describe('bridgelab certify', () => {
  let dir: string;
  let run: Awaited<ReturnType<typeof certify>>;
  let output = '';
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bridgelab-certify-'));
    const opts = { ...parseCertifyArgs(['--report', dir, '--personality', 'quectel-ec25j']), include: ['cli/testdata/certify-fixture/*.suite.ts'] };
    run = await certify(opts, (s) => void (output += s));
  }, 180_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('gives each case its verdict and exits 1 when one failed', () => {
    const verdicts = Object.fromEntries(run.results.map((r) => [r.id, r.verdict]));
    expect(verdicts).toEqual({
      'TC_Fixture_Certify.Verdict_Pass': 'Pass',
      'TC_Fixture_Certify.Verdict_Fail': 'Fail',
      'TC_Fixture_Certify.Verdict_NA': 'N/A',
      'TC_Fixture_Certify.Verdict_Inconclusive': 'Inconclusive',
      'TC_Fixture_Certify.Verdict_RuntimeNA': 'N/A',
      'suite:cli/testdata/certify-fixture/broken.suite.ts': 'Inconclusive',
    });
    expect(run.exitCode).toBe(1);
    expect(run.results.find((r) => r.verdict === 'Fail')!.reason).toMatch(/step 1 \(compute\)/);
    expect(run.results.find((r) => r.verdict === 'N/A')!.reason).toMatch(/lacks uartTiming/);
  });

  it('shows live progress and a verdict table', () => {
    expect(output).toMatch(/PASS {2}TC_Fixture_Certify\.Verdict_Pass/);
    expect(output).toMatch(/FAIL {2}TC_Fixture_Certify\.Verdict_Fail/);
    expect(output).toMatch(/totals: 1 pass, 1 fail, 2 inconclusive, 2 n\/a \(4 applicable of 6\)/);
  });

  it('writes summary.json, junit.xml, evidence, allure results and the HTML report', () => {
    const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
    expect(summary.rig.name).toBe('virtual');
    expect(summary.totals).toMatchObject({ Pass: 1, Fail: 1, Inconclusive: 2, 'N/A': 2 });
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
  });
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
      expect(summary.totals.total).toBe(6);
      expect(code).toBe(1);
      expect(text).toMatch(/merged 2 reports/);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  }, 180_000);
});
