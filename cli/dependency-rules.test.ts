// The layering rules of .dependency-cruiser.cjs (`npm run depcheck`): the repository keeps
// them, and a fixture that breaks each rule once proves that the check can fail.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const DEPCRUISE = join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');
const FIXTURE = join(ROOT, 'cli/testdata/depcruise');
const TIMEOUT_MS = 60_000;

interface Violation {
  rule: { name: string };
  from: string;
  to: string;
}

function depcruise(cwd: string, folders: string[]): Violation[] {
  const r = spawnSync(process.execPath, [DEPCRUISE, '--config', CONFIG, '--output-type', 'json', ...folders], {
    cwd,
    encoding: 'utf8',
    timeout: TIMEOUT_MS,
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  if (r.stdout === '') throw new Error(`dependency-cruiser exited ${r.status} with no output: ${r.stderr}`);
  // (with --output-type json it exits 0 whatever it found)
  return (JSON.parse(r.stdout) as { summary: { violations: Violation[] } }).summary.violations;
}

const show = (vs: Violation[]): string[] => vs.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`).sort();

describe('dependency rules (.dependency-cruiser.cjs)', () => {
  it('the repository keeps them', { timeout: TIMEOUT_MS + 5_000 }, () => {
    // the folders of `npm run depcheck`
    const script = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts['depcheck'] ?? '';
    const folders = script.split(/\s+/).slice(script.split(/\s+/).indexOf('err') + 1);
    expect(folders).toEqual(expect.arrayContaining(['cli', 'sim', 'suites']));
    expect(show(depcruise(ROOT, folders))).toEqual([]);
  });

  it('a fixture that breaks each rule once is reported, rule by rule', { timeout: TIMEOUT_MS + 5_000 }, () => {
    expect(show(depcruise(FIXTURE, ['sim', 'cli']))).toEqual([
      'bridge-standalone: sim/bridge/bridge.ts -> sim/euicc/card.ts',
      'bridge-tests-only-modem-testing: sim/bridge/bridge.test.ts -> sim/euicc/card.ts',
      'no-circular: sim/loop-a.ts -> sim/loop-b.ts',
      'no-testing-in-production: cli/tool.ts -> sim/modem/testing/fake.ts',
      'no-vitest-in-production: sim/no-vitest.ts -> ../../../node_modules/vitest/dist/index.d.ts',
      'sim-not-to-entry-points: sim/uses-cli.ts -> cli/tool.ts',
    ]);
  });
});
