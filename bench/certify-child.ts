// One `bridgelab certify` pass, run programmatically (cli/certify.ts certify()) on the
// built-in virtual rig for one modem personality, without the HTML report, in its own
// process (certify drives vitest, which forks its workers). Prints one JSON line:
// { personality, wallMs, exitCode, totals, cases, suiteFiles }. The case-by-case progress
// certify prints goes to <reportDir>/certify.log.
// Run: node --import tsx bench/certify-child.ts <personality> <reportDir>
import { appendFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { certify } from '../cli/certify.ts';
import { loadRig } from '../rigs/rig.ts';
import { totals } from '../suites/framework/verdict.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Suite files certify will run (suites/**\/*.suite.ts), as they exist right now. */
export function suiteFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(dir, e.name));
      else if (e.name.endsWith('.suite.ts')) out.push(relative(ROOT, join(dir, e.name)));
    }
  };
  walk(join(ROOT, 'suites'));
  return out.sort();
}

async function main(): Promise<void> {
  const [personality, reportDir] = process.argv.slice(2);
  if (!personality || !reportDir) throw new Error('usage: certify-child.ts <personality> <reportDir>');
  mkdirSync(reportDir, { recursive: true });
  const logFile = join(reportDir, 'certify.log');
  const files = suiteFiles();
  const t0 = performance.now();
  const { exitCode, results } = await certify({ rig: loadRig('virtual'), rigSource: 'virtual', personalities: [personality], reportDir, html: false }, (s) => appendFileSync(logFile, s));
  const wallMs = performance.now() - t0;
  process.stdout.write(`${JSON.stringify({ personality, wallMs, exitCode, totals: totals(results), cases: results.length, suiteFiles: files })}\n`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`certify-child: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
