// junit.xml as strict consumers read it: libxml2 (xmllint, Debian's libxml2-utils) parses
// it and validates it against the Jenkins xUnit junit-10.xsd, for synthetic results full of
// what XML 1.0 forbids and for a real certify run whose bridge prints control characters.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { failureBody, junitClassname, junitXml } from './junit.ts';
import { certify, parseCertifyArgs } from '../certify.ts';
import type { CaseResult } from '../../suites/framework/verdict.ts';
import { caseResult } from './testdata/cases.ts';

const XSD = fileURLToPath(new URL('./testdata/junit-10.xsd', import.meta.url));
const NOISY_BRIDGE = fileURLToPath(new URL('./testdata/noisy-bridge.mjs', import.meta.url));

function haveXmllint(skip: () => void): void {
  if (spawnSync('xmllint', ['--version']).status === 0) return;
  if (process.env.CI) throw new Error('xmllint is required in CI (.ci/run installs libxml2-utils)');
  skip();
}

/** xmllint's verdict on a file: well-formed (strict parser) and valid against junit-10.xsd. */
function xmllint(file: string): { wellFormed: string; valid: string } {
  const parse = spawnSync('xmllint', ['--noout', file], { encoding: 'utf8' });
  const schema = spawnSync('xmllint', ['--noout', '--schema', XSD, file], { encoding: 'utf8' });
  return { wellFormed: parse.status === 0 ? 'ok' : parse.stderr, valid: schema.status === 0 ? 'ok' : schema.stderr };
}


describe('junit.xml', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'bridgelab-junit-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('stays well-formed and schema-valid whatever a bridge, modem or card wrote', (ctx) => {
    haveXmllint(() => ctx.skip());
    const nasty = 'bridge said \u001b[31mERROR\u001b[0m \u0000\u0001\u0007\u000b \ud800 lone, \udfff lone, \ufffe & <tag> "q" \'a\'';
    const results: CaseResult[] = [
      caseResult({ id: 'TC_Bridge_APDU.Nasty_Fail', title: nasty, verdict: 'Fail', reason: nasty, failure: { category: 'bridge', step: 1, message: nasty, expected: '6A80', actual: `6F00 ${nasty}` }, steps: [{ n: 1, action: nasty, expected: nasty, status: 'fail', lines: { apduLog: { from: 3, to: 6 } } }] }),
      caseResult({ id: 'TC_Bridge_APDU.Nasty_Inconclusive', title: 't', verdict: 'Inconclusive', reason: nasty, failure: { category: 'setup', message: nasty } }),
      caseResult({ id: 'TC_Bridge_APDU.Nasty_NA', title: 't', verdict: 'N/A', reason: nasty }),
      caseResult({ id: 'TC_eUICC_ES10c.Self_Pass', title: 't', iut: 'self', group: 'ES10 through the bridge', verdict: 'Pass' }),
    ];
    const file = join(dir, 'nasty.xml');
    const xml = junitXml(results, new Date('2026-01-02T03:04:05Z'));
    writeFileSync(file, xml);
    expect(xmllint(file)).toEqual({ wellFormed: 'ok', valid: 'ok' });
    expect(xml).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/);
    expect(xml).toContain('bridge said ERROR \\x00\\x01\\x07\\x0b \ufffd lone, \ufffd lone, \ufffd &amp; &lt;tag&gt;');
    expect(xml).toContain('<failure message="Fail: bridge said ERROR');
    expect(xml).toMatch(/<failure message="[^"]*" type="Fail.bridge">Verdict: Fail \(at fault: the bridge under test\)/);
    expect(xml).toMatch(/<error message="[^"]*" type="Inconclusive.setup">/);
    expect(xml).toContain('<error message="Inconclusive: bridge said');
    expect(xml).toContain('<skipped message="N/A: bridge said');
    expect(xml).toMatch(/<testsuites name="bridgelab certify" tests="4" failures="1" errors="1" time="0\.048">/);
    expect(xml).toMatch(/<testsuite id="0" name="quectel-ec25j \/ Bridge transport" package="bridgelab\.quectel-ec25j\.BridgeTransport" tests="3" failures="1" errors="1" skipped="1" time="0\.036" timestamp="2026-01-02T03:04:05">/);
    expect(xml).toContain('name="quectel-ec25j / ES10 through the bridge (self-checks of bridgelab)"');
  });

  it('names classes with dots, never a path, and self-checks apart', () => {
    expect(junitClassname({ personality: 'quectel-ec25j', group: 'Bridge transport', iut: 'bridge' })).toBe('bridgelab.quectel-ec25j.BridgeTransport');
    expect(junitClassname({ personality: 'seiko', group: 'Provisioning through the bridge', iut: 'self' })).toBe('bridgelab.seiko.SelfCheck.ProvisioningThroughTheBridge');
  });

  it('gives a failure body with the step, expected and actual, the requirement and the evidence lines', () => {
    const c = caseResult({ id: 'TC_Bridge_APDU.StatusWord_6A80', title: 'a 6A80 reaches the LPA', verdict: 'Fail', reason: "step 1 (send GetEID): expected '6F00' to be '6A80' // Object.is equality", steps: [{ n: 1, action: 'send GetEID', expected: 'exactly 6A80', status: 'fail', lines: { apduLog: { from: 17, to: 20 } } }] });
    expect(failureBody(c)).toBe(
      [
        'Verdict: Fail (at fault: not recorded)',
        'Case: TC_Bridge_APDU.StatusWord_6A80: a 6A80 reaches the LPA [quectel-ec25j]',
        'Requirement: ISO/IEC 7816-4 5.6',
        'Step 1: send GetEID (expected: exactly 6A80)',
        "Expected: '6A80'",
        "Actual: '6F00'",
        "Reason: step 1 (send GetEID): expected '6F00' to be '6A80' // Object.is equality",
        'Evidence (relative to the report directory):',
        '  apduLog: cases/quectel-ec25j/X/apdu.log (lines 17-20)',
      ].join('\n'),
    );
  });

  it('from a real certify run with a bridge that prints control characters, parses and validates', async (ctx) => {
    haveXmllint(() => ctx.skip());
    const report = join(dir, 'noisy');
    const opts = parseCertifyArgs(['--report', report, '--personality', 'quectel-ec25j', '--only', 'TC_Bridge_APDU\\.StatusWord_6A80', '--no-html', '--bridge', `node ${NOISY_BRIDGE} {tty} {baud} {host}:{port}`]);
    const run = await certify(opts, () => {});
    expect(run.results.map((r) => r.verdict)).not.toContain('Pass');
    const file = join(report, 'junit.xml');
    const xml = readFileSync(file, 'utf8');
    expect(xml).toContain('<system-err>');
    expect(xml).toContain('FATAL modem');
    expect(xml).toContain('\\x01\\x07');
    expect(xml).not.toContain('\u001b');
    expect(xmllint(file)).toEqual({ wellFormed: 'ok', valid: 'ok' });
  }, 120_000);
});
