// allure-results rewritten in bridgelab's verdicts: a bridge defect is failed, never broken.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allureStatus, mapAllureResults } from './allure.ts';
import { caseResult } from './testdata/cases.ts';
import type { CaseResult } from '../../suites/framework/verdict.ts';

describe('allure-results in bridgelab verdicts', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'bridgelab-allure-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('maps every verdict and fault to an Allure status', () => {
    const c = (o: Partial<CaseResult>) => caseResult({ id: 'TC_A.B_C', ...o });
    expect(allureStatus(c({ verdict: 'Pass' }))).toBe('passed');
    expect(allureStatus(c({ verdict: 'Fail', failure: { category: 'bridge', message: 'm' } }))).toBe('failed');
    expect(allureStatus(c({ verdict: 'Fail', failure: { category: 'bridgelab', message: 'm' } }))).toBe('failed');
    expect(allureStatus(c({ verdict: 'Inconclusive', failure: { category: 'setup', message: 'm' } }))).toBe('broken');
    expect(allureStatus(c({ verdict: 'Inconclusive', failure: { category: 'bridgelab', message: 'm' } }))).toBe('broken');
    expect(allureStatus(c({ verdict: 'Inconclusive', failure: { category: 'bridge', message: 'm' } }))).toBe('unknown');
    expect(allureStatus(c({ verdict: 'Inconclusive' }))).toBe('unknown');
    expect(allureStatus(c({ verdict: 'N/A' }))).toBe('skipped');
  });

  it('rewrites the result files vitest left (a thrown bridge error was "broken"), with labels, paths scrubbed and categories', () => {
    const results = join(dir, 'allure-results');
    mkdirSync(results);
    const trace = `Error: the LPA got 6F00\n    at ${process.cwd()}/suites/bridge-transport/apdu.suite.ts:10:5`;
    writeFileSync(join(results, 'a-result.json'), JSON.stringify({ name: 'TC_Bridge_APDU.X_Y: t', status: 'broken', statusDetails: { message: 'the LPA got 6F00', trace }, testCaseId: 'TC_Bridge_APDU.X_Y', parameters: [{ name: 'personality', value: 'quectel-ec25j' }], labels: [{ name: 'suite', value: 'Bridge transport' }], steps: [{ status: 'broken', statusDetails: { trace } }] }));
    writeFileSync(join(results, 'b-result.json'), JSON.stringify({ name: 'TC_eUICC.S_T: t', status: 'passed', testCaseId: 'TC_eUICC.S_T', parameters: [{ name: 'personality', value: 'quectel-ec25j' }], labels: [] }));
    writeFileSync(join(results, 'c-attachment.log'), 'not a result');
    const n = mapAllureResults(dir, [
      caseResult({ id: 'TC_Bridge_APDU.X_Y', verdict: 'Fail', failure: { category: 'bridge', step: 1, message: 'the LPA got 6F00', expected: '6A80', actual: '6F00' } }),
      caseResult({ id: 'TC_eUICC.S_T', iut: 'self' }),
    ]);
    expect(n).toBe(2);
    const a = JSON.parse(readFileSync(join(results, 'a-result.json'), 'utf8'));
    expect(a.status).toBe('failed');
    expect(a.statusDetails.message).toBe('Fail (at fault: the bridge under test): the LPA got 6F00 | expected: 6A80 | actual: 6F00');
    expect(a.statusDetails.trace).toBe('Error: the LPA got 6F00\n    at <bridgelab>/suites/bridge-transport/apdu.suite.ts:10:5');
    expect(a.steps[0].statusDetails.trace).not.toContain(process.cwd());
    expect(a.labels).toEqual([{ name: 'suite', value: 'Bridge transport' }, { name: 'bridgelab.verdict', value: 'Fail' }, { name: 'bridgelab.iut', value: 'bridge' }, { name: 'bridgelab.fault', value: 'bridge' }]);
    const b = JSON.parse(readFileSync(join(results, 'b-result.json'), 'utf8'));
    expect(b.labels).toContainEqual({ name: 'tag', value: 'self-check' });
    expect(JSON.parse(readFileSync(join(results, 'categories.json'), 'utf8')).map((c: { matchedStatuses: string[] }) => c.matchedStatuses[0])).toEqual(['failed', 'broken', 'unknown', 'skipped']);
  });
});
