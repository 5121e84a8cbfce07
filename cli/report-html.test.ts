// The certify report as a person sees it: the offline HTML report opens in headless
// Chromium (Debian's package, driven through playwright-core) and shows every case,
// and tshark reads a case's GSMTAP trace and shows its APDUs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { spawnSync } from 'node:child_process';
import { chromium } from 'playwright-core';
import { certify, parseCertifyArgs } from './certify.ts';
import type { CaseResult } from '../suites/framework/verdict.ts';

const CHROMIUM = '/usr/bin/chromium';
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.json': 'application/json', '.css': 'text/css', '.svg': 'image/svg+xml' };

function requireTool(ok: boolean, what: string, skip: () => void): void {
  if (ok) return;
  if (process.env.CI) throw new Error(`${what} is required in CI (.ci/run installs it)`);
  skip();
}

describe('certify report, seen by a person', () => {
  let dir: string;
  let server: Server;
  let base: string;
  let cases: CaseResult[];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bridgelab-html-'));
    const opts = { ...parseCertifyArgs(['--report', dir, '--personality', 'quectel-ec25j']), include: ['cli/testdata/certify-fixture/fixture.suite.ts'] };
    cases = (await certify(opts, () => {})).results;
    const root = join(dir, 'html');
    server = createServer((req, res) => {
      const path = normalize(join(root, decodeURIComponent((req.url ?? '/').split('?')[0]!)));
      const file = path.endsWith('/') ? join(path, 'index.html') : path;
      if (!file.startsWith(root) || !existsSync(file)) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  }, 180_000);

  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('opens in headless Chromium with the totals and a page per case with its status', async (ctx) => {
    requireTool(existsSync(CHROMIUM), 'chromium', () => ctx.skip());
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await browser.newPage();
      await page.goto(`${base}index.html`);
      await page.getByText('bridgelab certify').first().waitFor({ timeout: 30_000 });
      const overview = (await page.textContent('body')) ?? '';
      const shown = cases.filter((c) => !c.id.startsWith('suite:')).length;
      expect(overview).toMatch(new RegExp(`Total\\s*${shown}`));
      // every case has its own page with its id and status
      const ids = readdirSync(join(dir, 'html', 'data', 'test-results')).map((f) => f.replace(/\.json$/, ''));
      expect(ids).toHaveLength(shown);
      const seen = new Set<string>();
      for (const id of ids) {
        await page.goto(`${base}index.html#/${id}`);
        await page.getByText(/TC_Fixture_Certify\.Verdict_\w+/).first().waitFor({ timeout: 30_000 });
        const caseId = /TC_Fixture_Certify\.Verdict_\w+/.exec((await page.textContent('body')) ?? '')![0];
        seen.add(caseId);
        // each page shows the case's status as Allure words it
        const { verdict, failure } = cases.find((c) => c.id === caseId)!;
        // Allure calls a failure that is no assertion (bridgelab's own TypeError) 'Broken'
        const status = verdict === 'Pass' ? 'Passed' : verdict === 'Fail' ? (failure?.category === 'bridgelab' ? 'Broken' : 'Failed') : 'Skipped';
        await page.getByText(status, { exact: true }).first().waitFor({ timeout: 30_000 });
      }
      expect([...seen].sort()).toEqual(cases.filter((c) => !c.id.startsWith('suite:')).map((c) => c.id).sort());
    } finally {
      await browser.close();
    }
  }, 120_000);

  it('has per-case GSMTAP traces that tshark decodes as SIM APDUs', (ctx) => {
    requireTool(spawnSync('tshark', ['--version']).status === 0, 'tshark', () => ctx.skip());
    const withTrace = cases.find((c) => c.evidence.pcap);
    expect(withTrace).toBeDefined();
    const r = spawnSync('tshark', ['-r', join(dir, withTrace!.evidence.pcap!)], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/GSM SIM/);
    expect(r.stdout).toMatch(/SELECT/);
  });
});
