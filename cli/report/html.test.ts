// report.html from synthetic results (the contract of suites/framework/verdict.ts): line
// ranges become links to marked lines, no range degrades to the log's end, every foreign
// text is escaped and path-free, and a full run's worth of cases stays a sane page.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir, homedir } from 'node:os';
import { join } from 'node:path';
import { caseAnchor, htmlReport, MAX_EXCERPTS, type HtmlReportInput } from './html.ts';
import { caseResult } from './testdata/cases.ts';
import type { CaseResult } from '../../suites/framework/verdict.ts';

function apduLog(n: number): string {
  const lines: string[] = [];
  for (let i = 1; i <= n; i++) lines.push(`2026-01-02T03:04:05.${String(i).padStart(3, '0')}Z ${i % 2 ? 'modem-card' : 'lpa-bridge'} >> 81e2910006bf3e035c015a${i}`);
  return lines.join('\n') + '\n';
}

describe('report.html', () => {
  let dir: string;
  const input = (results: CaseResult[]): HtmlReportInput => ({ reportDir: dir, results, rigName: 'virtual', bridge: 'reference bridge (built in)', capabilities: ['emulatedEuicc'], personalities: ['quectel-ec25j'], identities: { 'quectel-ec25j': { modem: { identity: { ati: ['Quectel', 'EC25'], revision: 'EC25JFAR06A03M4G' } }, eid: '89049032123451234512345678901235', bridgeCommand: `${homedir()}/vendor/bin/lpa-bridge --tty {tty}` } }, versions: { bridgelab: '0.1.0' }, startedAt: '2026-01-02T03:04:05Z', finishedAt: '2026-01-02T03:05:05Z' });
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'bridgelab-htmlunit-'));
    mkdirSync(join(dir, 'cases', 'q', 'A'), { recursive: true });
    writeFileSync(join(dir, 'cases', 'q', 'A', 'apdu.log'), apduLog(200));
    writeFileSync(join(dir, 'cases', 'q', 'A', 'bridge.log'), `\u001b[31mpanic\u001b[0m at ${dir}/x.c:12 and /home/someone/src/bridge.c:99 \u0007\n`);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("links the decisive step to its marked lines, LPA side and card side in their columns", () => {
    const c = caseResult({ id: 'TC_Bridge_APDU.StatusWord_6A80', verdict: 'Fail', failure: { category: 'bridge', step: 2, message: 'the LPA got 6F00', expected: '6A80', actual: '6F00' }, evidence: { apduLog: 'cases/q/A/apdu.log' }, steps: [{ n: 1, action: 'open', expected: 'ok', status: 'pass' }, { n: 2, action: 'send GetEID', expected: '6A80', status: 'fail', lines: { apduLog: { from: 120, to: 123 } } }, { n: 3, action: 'close', expected: 'ok', status: 'not-run' }] });
    const html = htmlReport(input([c]));
    expect(html).toContain('<a class="lines" href="#x0-a120">APDU lines 120-123</a>');
    expect(html).toMatch(/<tr id="x0-a120" class="m"><td>120<\/td><td><span class="t">03:04:05.120<\/span> <span class="hop">lpa-bridge<\/span>/);
    expect(html).toMatch(/<tr id="x0-a121" class="m"><td>121<\/td><td><\/td><td><span class="t">03:04:05.121<\/span> <span class="hop">modem-card<\/span>/);
    expect(html).toContain('<tr id="x0-a124"><td>124</td>');
    expect(html).toContain('id="x0-a116"'); // context before
    expect(html).not.toContain('id="x0-a115"');
    expect(html).toContain('id="x0-a127"');
    expect(html).not.toContain('id="x0-a128"');
    expect(html).toContain(`<div class="excerpt" id="${caseAnchor(c)}-apduLog">`);
    expect(html).toContain('<tr class="st-fail decisive">');
    expect(html).toContain('<td class="status">not-run</td>');
    expect(html).toContain('at fault: the bridge under test');
  });

  it('without line ranges shows the end of the log and says so', () => {
    const c = caseResult({ id: 'TC_Bridge_APDU.NoLines', verdict: 'Fail', reason: "step 1 (x): expected '6F00' to be '6A80' // Object.is equality", evidence: { apduLog: 'cases/q/A/apdu.log' }, steps: [{ n: 1, action: 'x', expected: 'y', status: 'fail' }] });
    const html = htmlReport(input([c]));
    const a = caseAnchor(c);
    expect(html).toContain(`<a class="lines" href="#${a}-apduLog">APDU log excerpt</a>`);
    expect(html).toContain('APDU log: the last 40 of 200 lines (this run recorded no line range for the step)');
    expect(html).toContain('id="x0-a161"');
    expect(html).not.toContain('id="x0-a160"');
    // expected and actual read from the assertion when the framework did not record them
    expect(html).toContain("<b>expected</b> <code>&#39;6A80&#39;</code>");
    expect(html).toContain("<b>actual</b> <code>&#39;6F00&#39;</code>");
  });

  it("escapes what a bridge wrote and shows no path of this machine", () => {
    const evil = `<script>alert(1)</script> \u001b[1m${dir}/cases/x "quoted" /home/runner/work/bridge/build/lpa-bridge`;
    const c = caseResult({ id: 'TC_Bridge_Evil.Output', title: evil, verdict: 'Inconclusive', reason: evil, failure: { category: 'setup', message: evil }, evidence: { apduLog: 'cases/q/A/apdu.log', bridgeLog: 'cases/q/A/bridge.log' }, steps: [{ n: 1, action: 'start', expected: 'up', status: 'not-run' }] });
    const html = htmlReport(input([c]));
    expect(html).not.toContain('<script>alert');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toContain(dir);
    expect(html).not.toContain(homedir() + '/');
    expect(html).not.toContain('/home/runner/');
    expect(html).toContain('./cases/x &quot;quoted&quot; …/lpa-bridge');
    expect(html).toContain('~/vendor/bin/lpa-bridge --tty {tty}');
    expect(html).toContain('panic at ./x.c:12 and …/bridge.c:99 \\x07');
    expect(html).not.toContain('\u001b');
  });

  it('counts bridge cases and self-checks apart and says whether the bridge passes', () => {
    const pass = htmlReport(input([caseResult({ id: 'TC_A.B_C' }), caseResult({ id: 'TC_Self.Check_Fails', iut: 'self', verdict: 'Fail', reason: 'eUICC' }), caseResult({ id: 'TC_A.B_NA', verdict: 'N/A', reason: 'lacks x' })]));
    expect(pass).toContain('<div class="verdict pass" id="verdict">PASS: the bridge passed all 1 applicable cases.</div>');
    expect(pass).toMatch(/<table class="totals" id="totals-bridge">.*?data-verdict="Pass">1<.*?data-verdict="Fail">0<.*?data-verdict="N\/A">1</);
    expect(pass).toMatch(/<table class="totals" id="totals-self">.*?data-verdict="Pass">0<.*?data-verdict="Fail">1</);
    expect(pass).toContain('<h2>Self-checks not passed</h2>');
    expect(htmlReport(input([caseResult({ id: 'TC_A.B_NA', verdict: 'N/A', reason: 'lacks x' })]))).toContain('No applicable case: this run proves nothing about the bridge.');
  });

  it(`embeds excerpts for at most ${MAX_EXCERPTS} non-passing cases of a full run and stays a few MB`, () => {
    const many: CaseResult[] = [];
    for (let i = 0; i < 1626; i++)
      many.push(caseResult({ id: `TC_Bridge_Many.Case_${i}`, personality: `p${i % 6}`, verdict: i % 4 === 0 ? 'Fail' : 'Pass', reason: 'r', evidence: { apduLog: 'cases/q/A/apdu.log' }, steps: [{ n: 1, action: 'send a command to the card through the bridge', expected: 'the right status word reaches the LPA', status: i % 4 === 0 ? 'fail' : 'pass' }] }));
    const html = htmlReport(input(many));
    expect(html.match(/<div class="excerpt"/g)!.length).toBe(MAX_EXCERPTS);
    expect(html.length).toBeLessThan(8e6);
    expect(html).toContain(`Log excerpts are embedded for the first ${MAX_EXCERPTS} non-passing cases`);
  });

  it('is shown in the README: a screenshot of the overview and one of a failing case', () => {
    const root = fileURLToPath(new URL('../../', import.meta.url));
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    for (const [alt, file] of [['report overview', 'docs/report-overview.png'], ['a failing case', 'docs/report-failing-case.png']]) {
      expect(readme).toContain(`![${alt}](${file})`);
      const png = readFileSync(join(root, file));
      expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
      expect(png.readUInt32BE(16)).toBeGreaterThanOrEqual(1000); // width of the IHDR chunk
    }
  });
});
