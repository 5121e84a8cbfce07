// bridgelab report compare: two report directories written by writeReport (a passing run and
// a failing one of a different bridge), compared by the CLI as a user runs it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadRig, parseRig } from '../../rigs/rig.ts';
import { writeReport } from './summary.ts';
import { compareReports, comparisonText } from './compare.ts';
import { caseResult } from './testdata/cases.ts';
import type { CaseResult } from '../../suites/framework/verdict.ts';

const BIN = fileURLToPath(new URL('../../bin/bridgelab.js', import.meta.url));

function cases(failing: boolean): CaseResult[] {
  const fail = (id: string, reason: string): Partial<CaseResult> => ({ verdict: 'Fail', reason, failure: { category: 'bridge', step: 1, message: reason } });
  return [
    caseResult({ id: 'TC_Bridge_APDU.StatusWord_6A80', ...(failing ? fail('TC', "step 1 (send GetEID): expected '6F00' to be '6A80'") : {}) }),
    caseResult({ id: 'TC_Bridge_APDU.StatusWord_6982', ...(failing ? {} : fail('TC', 'step 1: old failure')) }),
    caseResult({ id: 'TC_Bridge_T0.GetResponse_ProfilesInfo', ...(failing ? { verdict: 'Inconclusive', reason: 'initial condition not met', failure: { category: 'setup', message: 'initial condition not met' } } : {}) }),
    caseResult({ id: 'TC_Bridge_Modem.Timing_Uart', verdict: failing ? 'N/A' : 'Pass', ...(failing ? { reason: "rig 'virtual' lacks uartTiming" } : {}) }),
    caseResult({ id: 'TC_eUICC_ES10c.Self_Check', iut: 'self', verdict: failing ? 'Fail' : 'Pass', ...(failing ? { reason: 'eUICC defect' } : {}) }),
    ...(failing ? [] : [caseResult({ id: 'TC_Bridge_Only.InOld_A' }), caseResult({ id: 'TC_Bridge_Only.InOld_B' })]),
  ];
}

describe('bridgelab report compare', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'bridgelab-compare-'));
    const virtual = loadRig('virtual');
    const external = parseRig({ ...virtual, bridge: { kind: 'external', command: './vendor-bridge --tty {tty} --port {port}' } }, 'test');
    for (const [name, rig, failing] of [['passing', virtual, false], ['failing', external, true]] as const) {
      mkdirSync(join(dir, name));
      writeReport(join(dir, name), cases(failing), { startedAt: new Date(), rig, rigSource: 'virtual', personalities: ['quectel-ec25j'], html: false }, () => {});
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints the totals of both, the regression and the fix with reasons, a bridge warning, absent cases in one line; exits 1', () => {
    const r = spawnSync(process.execPath, [BIN, 'report', 'compare', join(dir, 'passing'), join(dir, 'failing')], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(1);
    const lines = r.stdout.split('\n');
    expect(lines.slice(0, 3)).toEqual(['bridge cases      PASS FAIL INCO  N/A  applicable', 'old                5    1    0    0           6', 'new                1    1    1    1           3']);
    expect(r.stdout).toContain("warning: the bridges differ: reference bridge (built in) (old) vs external: ./vendor-bridge --tty {tty} --port {port} (new)");
    expect(r.stdout).toContain('regressions (2):\n  quectel-ec25j  TC_Bridge_APDU.StatusWord_6A80: Pass -> Fail: step 1 (send GetEID): expected \'6F00\' to be \'6A80\'\n  quectel-ec25j  TC_Bridge_T0.GetResponse_ProfilesInfo: Pass -> Inconclusive: initial condition not met');
    expect(r.stdout).toContain('fixes (1):\n  quectel-ec25j  TC_Bridge_APDU.StatusWord_6982: Fail -> Pass: step 1: old failure');
    expect(r.stdout).toContain('applicability changed (N/A on one side) (1):\n  quectel-ec25j  TC_Bridge_Modem.Timing_Uart: Pass -> N/A');
    expect(r.stdout).toContain('self-checks changed (not counted for the bridge) (1):\n  quectel-ec25j  TC_eUICC_ES10c.Self_Check: Pass -> Fail: eUICC defect');
    expect(r.stdout).toMatch(/^absent: 2 cases only in old, 0 only in new \(not compared\)$/m);
  });

  it('--json gives the comparison as JSON; the same report against itself exits 0', () => {
    const r = spawnSync(process.execPath, [BIN, 'report', 'compare', '--json', join(dir, 'failing'), join(dir, 'passing')], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(1);
    const json = JSON.parse(r.stdout);
    expect(json.regressions.map((c: { id: string }) => c.id)).toEqual(['TC_Bridge_APDU.StatusWord_6982']);
    expect(json.fixes.map((c: { id: string }) => c.id)).toEqual(['TC_Bridge_APDU.StatusWord_6A80', 'TC_Bridge_T0.GetResponse_ProfilesInfo']);
    const same = spawnSync(process.execPath, [BIN, 'report', 'compare', join(dir, 'passing'), join(dir, 'passing')], { encoding: 'utf8', timeout: 60_000 });
    expect(same.status).toBe(0);
    expect(same.stdout).toContain('regressions: none\nfixes: none');
    expect(comparisonText(compareReports(join(dir, 'failing'), join(dir, 'passing')))).toMatch(/^absent: 0 cases only in old, 2 only in new/m);
  });

  it('rejects what is not a report with a usage error (exit 2), no stack trace', () => {
    writeFileSync(join(dir, 'summary.json'), '{"not": "json"');
    const bad = spawnSync(process.execPath, [BIN, 'report', 'compare', dir, join(dir, 'failing')], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^bridgelab: .*summary\.json: not JSON/);
    const missing = spawnSync(process.execPath, [BIN, 'report', 'compare', join(dir, 'nope'), join(dir, 'failing')], { encoding: 'utf8' });
    expect(missing.status).toBe(2);
    expect(missing.stderr).toBe(`bridgelab: '${join(dir, 'nope')}' is not a certify report (no summary.json)\n`);
    const one = spawnSync(process.execPath, [BIN, 'report', 'compare', join(dir, 'failing')], { encoding: 'utf8' });
    expect(one.status).toBe(2);
    expect(one.stderr).toMatch(/report compare needs OLD_REPORT and NEW_REPORT, got 1 directories/);
    expect(readFileSync(join(dir, 'failing', 'summary.json'), 'utf8')).toContain('"selfCheckTotals"');
  });
});
