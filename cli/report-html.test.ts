// The certify report as a vendor engineer opens it: report.html of a run with a deliberately
// defective reference bridge (--defect status-word-rewrite), opened from file:// in headless
// Chromium (Debian's package, driven through playwright-core, no browser download), with
// every request the page makes intercepted. The page must show summary.json's counts, a
// failed case with its failing step, expected and actual, linked to its APDU lines, and make
// no request but file://. The run's GSMTAP traces go through tshark, with the shipped ES10
// dissector, without one malformed frame.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';
import { certify, parseCertifyArgs } from './certify.ts';
import { expectedActual } from './report/model.ts';
import { caseAnchor } from './report/html.ts';
import type { CaseResult, Totals } from '../suites/framework/verdict.ts';

const CHROMIUM = '/usr/bin/chromium';
const ROOT = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
const LUA = join(ROOT, 'sim', 'trace', 'wireshark', 'es10.lua');
const DEFECTIVE_BRIDGE = 'node bin/bridgelab.js bridge --serial {tty} --baud {baud} --listen {host}:{port} --queue --defect status-word-rewrite';
// a Pass, Fails of the bridge, an N/A (no container engine) and the fixture's Inconclusive
const ONLY = 'TC_Bridge_APDU\\.StatusWord_6A80|TC_Bridge_Policy\\.SelectUsim_Refused|TC_Bridge_vpcd\\.PowerOn_ATR|TC_Bridge_T0\\.GetResponse_ProfilesInfo|TC_SM-DP\\+_Container|TC_Fixture_Certify\\.Verdict_Inconclusive';

function requireTool(ok: boolean, what: string, skip: () => void): void {
  if (ok) return;
  if (process.env.CI) throw new Error(`${what} is required in CI (.ci/run installs it)`);
  skip();
}

interface Summary {
  totals: Totals;
  selfCheckTotals: Totals;
  cases: CaseResult[];
}

describe('report.html of a defective bridge, seen by a person', () => {
  let dir: string;
  let profile: string;
  let summary: Summary;
  let context: BrowserContext | undefined;
  const requests: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bridgelab-html-'));
    profile = mkdtempSync(join(tmpdir(), 'bridgelab-chromium-'));
    const opts = {
      ...parseCertifyArgs(['--report', dir, '--personality', 'quectel-ec25j', '--include-self-checks', '--only', ONLY, '--bridge', DEFECTIVE_BRIDGE]),
      include: ['suites/**/*.suite.ts', 'cli/testdata/certify-fixture/fixture.suite.ts'],
    };
    await certify(opts, () => {});
    summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as Summary;
    if (!existsSync(CHROMIUM)) return;
    // a fresh profile directory (playwright passes it as --user-data-dir)
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    await context.route('**/*', async (route) => {
      const url = route.request().url();
      requests.push(url);
      if (url.startsWith('file://')) await route.continue();
      else await route.abort();
    });
  }, 240_000);

  afterAll(async () => {
    await context?.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(profile, { recursive: true, force: true });
  });

  it('ran the defective bridge into every verdict', () => {
    const verdicts = new Set(summary.cases.map((c) => c.verdict));
    expect([...verdicts].sort()).toEqual(['Fail', 'Inconclusive', 'N/A', 'Pass']);
    expect(summary.totals.Fail).toBeGreaterThanOrEqual(2);
  });

  it('opens from file:// with the counts of summary.json, bridge cases and self-checks apart, and requests nothing but file://', async (ctx) => {
    requireTool(existsSync(CHROMIUM), 'chromium', () => ctx.skip());
    const page = await context!.newPage();
    await page.goto(pathToFileURL(join(dir, 'report.html')).href);
    for (const [table, t] of [['#totals-bridge', summary.totals], ['#totals-self', summary.selfCheckTotals]] as const)
      for (const v of ['Pass', 'Fail', 'Inconclusive', 'N/A'] as const) expect(await page.locator(`${table} td[data-verdict="${v}"]`).textContent(), `${table} ${v}`).toBe(String(t[v]));
    expect(await page.locator('#verdict').textContent()).toBe(`NOT PASSED: ${summary.totals.Fail} of ${summary.totals.applicable} applicable cases failed, ${summary.totals.Inconclusive} were inconclusive.`);
    // the overview names the failing requirement, step, expected and actual above the fold
    const first = summary.cases.find((c) => c.verdict === 'Fail' && c.iut === 'bridge')!;
    const row = page.locator('tr.problem', { hasText: first.id });
    await expect.poll(() => row.isVisible()).toBe(true);
    const box = await row.boundingBox();
    expect(box!.y).toBeLessThan(page.viewportSize()!.height);
    const { expected, actual } = expectedActual(first);
    const rowText = (await row.textContent())!;
    expect(rowText).toContain(first.requirement);
    expect(rowText).toContain(expected!);
    expect(rowText).toContain(actual!);
    // an Inconclusive shows its reason where a failure shows its expected/actual
    const inconclusive = summary.cases.find((c) => c.id === 'TC_Fixture_Certify.Verdict_Inconclusive')!;
    expect(inconclusive.verdict).toBe('Inconclusive');
    expect(await page.locator('tr.problem', { hasText: inconclusive.id }).locator('.reason').textContent()).toBe("initial condition 'a modem that answers' not met: no modem");
    await page.close();
    expect(requests.length).toBeGreaterThan(0);
    expect(requests.filter((u) => !u.startsWith('file://'))).toEqual([]);
  });

  it('shows a failed case with its failing step, expected and actual, linked to its APDU lines (LPA side and card side)', async (ctx) => {
    requireTool(existsSync(CHROMIUM), 'chromium', () => ctx.skip());
    const page = await context!.newPage();
    await page.goto(pathToFileURL(join(dir, 'report.html')).href);
    const failed = summary.cases.find((c) => c.id === 'TC_Bridge_APDU.StatusWord_6A80')!;
    expect(failed.verdict).toBe('Fail');
    await page.locator('tr.problem', { hasText: failed.id }).locator(`a[href="#${caseAnchor(failed)}"]`).click();
    const block = page.locator(`#${caseAnchor(failed)}`);
    expect(await block.getAttribute('open')).not.toBeNull();
    const { expected, actual } = expectedActual(failed);
    const failureBox = (await block.locator('.box').textContent())!;
    expect(failureBox).toContain(`expected ${expected}`);
    expect(failureBox).toContain(`actual ${actual}`);
    const step = block.locator('table.steps tr.decisive');
    expect(await step.locator('td').nth(1).textContent()).toBe(failed.steps.find((s) => s.status === 'fail')!.action);
    const apduLink = step.locator('a.lines', { hasText: 'APDU' });
    const target = (await apduLink.getAttribute('href'))!;
    await apduLink.click();
    // the link points at the first line of the step in the embedded excerpt of the APDU log
    const firstLine = page.locator(target);
    expect(await firstLine.isVisible()).toBe(true);
    expect(await firstLine.locator('td').first().textContent()).toBe(String(failed.steps.find((s) => s.status === 'fail')!.lines!.apduLog!.from));
    const excerpt = page.locator('div.excerpt', { has: firstLine });
    // the LPA-side column holds what the LPA got (6f00 from the defective bridge), the card side what the card said (6a80)
    expect(await excerpt.locator('table.apduLog td:nth-child(2)', { hasText: '<< 6f00' }).count()).toBeGreaterThan(0);
    expect(await excerpt.locator('table.apduLog td:nth-child(3)', { hasText: '<< 6a80' }).count()).toBeGreaterThan(0);
    // the evidence file links are relative and resolve to the files next to the report
    const href = (await excerpt.locator('.xh a').getAttribute('href'))!;
    expect(href).toBe(failed.evidence.apduLog);
    expect(existsSync(join(dir, decodeURI(href)))).toBe(true);
    await page.close();
    expect(requests.filter((u) => !u.startsWith('file://'))).toEqual([]);
  });

  it('holds no absolute path of this machine and fetches nothing (CSP, no external URL)', () => {
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    for (const p of [dir, ROOT, dirname(ROOT), tmpdir(), homedir()]) expect(html.includes(`${p}/`), p).toBe(false);
    expect(html).toContain(`content="default-src 'none'`);
    expect(html).not.toMatch(/(?:src|href)="(?:https?:)?\/\//);
    expect(html).not.toMatch(/googletagmanager|analytics/i);
  });

  it("has GSMTAP traces that tshark reads, with the shipped ES10 dissector, without a malformed frame", (ctx) => {
    requireTool(spawnSync('tshark', ['--version']).status === 0, 'tshark', () => ctx.skip());
    const pcaps = summary.cases.flatMap((c) => (c.evidence.pcap ? [join(dir, c.evidence.pcap)] : []));
    expect(pcaps.length).toBeGreaterThanOrEqual(4);
    for (const pcap of pcaps) {
      const r = spawnSync('tshark', ['-X', `lua_script:${LUA}`, '-r', pcap], { encoding: 'utf8', timeout: 60_000 });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout, pcap).not.toMatch(/Malformed/);
      expect(r.stderr, pcap).not.toMatch(/Lua/);
    }
    const failed = summary.cases.find((c) => c.id === 'TC_Bridge_APDU.StatusWord_6A80')!;
    const text = spawnSync('tshark', ['-X', `lua_script:${LUA}`, '-r', join(dir, failed.evidence.pcap!), '-T', 'fields', '-e', 'ip.src', '-e', 'gsm_sim.apdu.sw', '-e', 'es10.function', '-Y', 'es10'], { encoding: 'utf8' }).stdout;
    // the GetEID the LPA sent, answered 6F00 by the defective bridge and 6A80 by the card, on the two hops
    expect(text).toContain('127.0.1.1\t0x6f00\tGetEID');
    expect(text).toContain('127.0.3.1\t0x6a80\tGetEID');
  });
});
