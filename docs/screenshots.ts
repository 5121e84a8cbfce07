// Takes the README's screenshots of report.html: the overview and a failing case, with
// Debian's Chromium driven by playwright-core (no browser download), from file://.
// Usage: node --import tsx docs/screenshots.ts REPORT_DIR [CASE_ANCHOR]
//   REPORT_DIR: a certify report of a deliberately defective bridge, e.g.
//   npx bridgelab certify --personality quectel-ec25j --report /tmp/defect \
//     --bridge 'node bin/bridgelab.js bridge --serial {tty} --baud {baud} --listen {host}:{port} --queue --defect status-word-rewrite'
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const [reportDir, anchor] = process.argv.slice(2);
if (!reportDir) {
  process.stderr.write('usage: node --import tsx docs/screenshots.ts REPORT_DIR [CASE_ANCHOR]\n');
  process.exit(2);
}
const out = fileURLToPath(new URL('.', import.meta.url));
const profile = mkdtempSync(join(tmpdir(), 'bridgelab-shot-'));
// a fresh profile directory is playwright's --user-data-dir
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  viewport: { width: 1400, height: 900 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage();
  const url = pathToFileURL(join(resolve(reportDir), 'report.html')).href;
  await page.goto(url);
  await page.screenshot({ path: join(out, 'report-overview.png') });
  const target = anchor ?? (await page.locator('tr.problem a').first().getAttribute('href'))!.slice(1);
  await page.goto(`${url}#${target}`);
  await page.locator(`#${target}`).scrollIntoViewIfNeeded();
  await page.locator(`#${target}`).screenshot({ path: join(out, 'report-failing-case.png') });
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
