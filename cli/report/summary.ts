// The report directory of a certify run: summary.json (rig, identities, versions, every
// case with its verdict and evidence, totals), junit.xml and the HTML report, and the
// verdict table printed at the end of a run.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { capabilitiesOf, type Rig } from '../../rigs/rig.ts';
import { totals, type CaseResult, type Verdict } from '../../suites/framework/verdict.ts';
import { writeFileAtomic } from '../../sim/store/atomic-file.ts';
import { junitXml } from './junit.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function packageVersion(name: string): string {
  try {
    const file = name === 'bridgelab' ? join(ROOT, 'package.json') : join(ROOT, 'node_modules', name, 'package.json');
    return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function readIdentities(reportDir: string): Record<string, unknown> {
  const file = join(reportDir, 'identity.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : {};
}

export interface ReportMeta {
  startedAt: Date;
  rig: Rig;
  rigSource: string;
  personalities: string[];
  only?: string;
  shard?: string;
  html: boolean;
}

/** Write summary.json, junit.xml and the HTML report of the case results in `reportDir`. */
export function writeReport(reportDir: string, results: CaseResult[], meta: ReportMeta, out: (s: string) => void): ReturnType<typeof totals> {
  const t = totals(results);
  const summary = {
    tool: { name: 'bridgelab', version: packageVersion('bridgelab') },
    startedAt: meta.startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    rig: { name: meta.rig.name, source: meta.rigSource, description: meta.rig.description, definition: meta.rig, capabilities: [...capabilitiesOf(meta.rig)].sort() },
    identities: readIdentities(reportDir),
    versions: { node: process.version, vitest: packageVersion('vitest'), allure: packageVersion('allure'), 'allure-vitest': packageVersion('allure-vitest') },
    personalities: meta.personalities,
    ...(meta.only !== undefined ? { only: meta.only } : {}),
    ...(meta.shard ? { shard: meta.shard } : {}),
    totals: t,
    cases: results,
  };
  writeFileAtomic(join(reportDir, 'summary.json'), JSON.stringify(summary, null, 1), 0o644);
  writeFileAtomic(join(reportDir, 'junit.xml'), junitXml(results), 0o644);
  if (meta.html && existsSync(join(reportDir, 'allure-results'))) {
    const r = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'allure', 'cli.js'), 'generate', join(reportDir, 'allure-results'), '-o', join(reportDir, 'html'), '--name', `bridgelab certify: ${meta.rig.name}`], {
      encoding: 'utf8',
      timeout: 300_000,
    });
    if (r.status !== 0) out(`warning: the HTML report could not be built: ${(r.stderr || r.stdout || String(r.error)).trim().split('\n')[0]}\n`);
  }
  return t;
}

export function verdictTable(results: readonly CaseResult[]): string {
  const groups = new Map<string, { personality: string; group: string; counts: Record<Verdict, number> }>();
  for (const r of results) {
    const k = `${r.personality}\u0000${r.group}`;
    const g = groups.get(k) ?? { personality: r.personality, group: r.group, counts: { Pass: 0, Fail: 0, Inconclusive: 0, 'N/A': 0 } };
    g.counts[r.verdict]++;
    groups.set(k, g);
  }
  const pw = Math.max(16, ...[...groups.values()].map((g) => g.personality.length));
  const lines = [`${'PERSONALITY'.padEnd(pw)} ${'GROUP'.padEnd(34)} PASS FAIL INCO  N/A`];
  for (const { personality, group, counts: g } of groups.values()) {
    lines.push(`${personality.padEnd(pw)} ${group.padEnd(34)} ${String(g.Pass).padStart(4)} ${String(g.Fail).padStart(4)} ${String(g.Inconclusive).padStart(4)} ${String(g['N/A']).padStart(4)}`);
  }
  const failed = results.filter((r) => r.verdict === 'Fail' || r.verdict === 'Inconclusive');
  if (failed.length) lines.push('', 'not passed:', ...failed.map((r) => `  ${r.verdict.padEnd(12)} ${r.personality}  ${r.id}: ${r.reason ?? ''}`));
  return lines.join('\n');
}

