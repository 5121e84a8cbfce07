// The report directory of a certify run: summary.json (rig, identities, versions, every
// case with its verdict and evidence, the bridge's totals and the self-checks' apart),
// junit.xml, report.html (bridgelab's own offline page, html.ts), allure-results/ rewritten
// in bridgelab's verdicts (allure.ts), and the verdict table printed at the end of a run.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { capabilitiesOf, type Rig } from '../../rigs/rig.ts';
import { totalsByIut, type CaseResult, type Totals, type Verdict } from '../../suites/framework/verdict.ts';
import { writeFileAtomic } from '../../sim/store/atomic-file.ts';
import { junitXml } from './junit.ts';
import { htmlReport } from './html.ts';
import { mapAllureResults } from './allure.ts';
import { decisiveStep, faultLabel, reasonOf, safeText } from './model.ts';

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

/** The bridge a rig certifies, in one line. */
export function bridgeDescription(rig: Rig): string {
  const b = rig.bridge;
  return b.kind === 'builtin' ? 'reference bridge (built in)' : b.kind === 'external' ? `external: ${b.command}` : `running at ${b.address}`;
}

export const HTML_REPORT = 'report.html';

/**
 * Write summary.json, junit.xml, report.html (when meta.html) and the Allure results of the
 * case results in `reportDir`. Returns the bridge's totals (self-checks do not count).
 */
/** Lines of a case's bridge.log: those of its decisive step, else the last 40 (for junit's system-err). */
function bridgeOutputExcerpt(reportDir: string, c: CaseResult): string | undefined {
  const rel = c.evidence.bridgeLog;
  if (!rel || !existsSync(join(reportDir, rel))) return undefined;
  const lines = readFileSync(join(reportDir, rel), 'utf8').replace(/\n$/, '').split('\n');
  const range = decisiveStep(c)?.lines?.bridgeLog;
  const picked = range ? lines.slice(range.from - 1, range.to) : lines.slice(-40);
  const text = picked.filter((l) => l.length).join('\n');
  return text ? `${rel}${range ? ` lines ${range.from}-${range.to}` : ' (last lines)'}:\n${text}` : undefined;
}

export function writeReport(reportDir: string, results: CaseResult[], meta: ReportMeta, out: (s: string) => void): Totals {
  const by = totalsByIut(results);
  const finishedAt = new Date().toISOString();
  const capabilities = [...capabilitiesOf(meta.rig)].sort();
  const identities = readIdentities(reportDir);
  const versions = { bridgelab: packageVersion('bridgelab'), node: process.version, vitest: packageVersion('vitest'), 'allure-vitest': packageVersion('allure-vitest') };
  const summary = {
    tool: { name: 'bridgelab', version: packageVersion('bridgelab') },
    startedAt: meta.startedAt.toISOString(),
    finishedAt,
    rig: { name: meta.rig.name, source: meta.rigSource, description: meta.rig.description, definition: meta.rig, capabilities },
    bridge: bridgeDescription(meta.rig),
    identities,
    versions,
    personalities: meta.personalities,
    ...(meta.only !== undefined ? { only: meta.only } : {}),
    ...(meta.shard ? { shard: meta.shard } : {}),
    /** the bridge's cases: these decide the verdict and the exit code */
    totals: by.bridge,
    /** self-checks of bridgelab's own parts, apart */
    selfCheckTotals: by.self,
    cases: results,
  };
  writeFileAtomic(join(reportDir, 'summary.json'), JSON.stringify(summary, null, 1), 0o644);
  writeFileAtomic(join(reportDir, 'junit.xml'), junitXml(results, meta.startedAt, (c) => bridgeOutputExcerpt(reportDir, c)), 0o644);
  mapAllureResults(reportDir, results);
  if (meta.html) {
    const started = performance.now();
    const page = htmlReport({
      reportDir,
      results,
      rigName: meta.rig.name,
      ...(meta.rig.description ? { rigDescription: meta.rig.description } : {}),
      bridge: bridgeDescription(meta.rig),
      capabilities,
      personalities: meta.personalities,
      identities,
      versions,
      startedAt: summary.startedAt,
      finishedAt,
      ...(meta.only !== undefined ? { only: meta.only } : {}),
      ...(meta.shard ? { shard: meta.shard } : {}),
    });
    writeFileAtomic(join(reportDir, HTML_REPORT), page, 0o644);
    out(`HTML report: ${HTML_REPORT} (${(page.length / 1e6).toFixed(1)} MB, built in ${Math.round(performance.now() - started)} ms)\n`);
  }
  return by.bridge;
}

export function verdictTable(results: readonly CaseResult[]): string {
  const groups = new Map<string, { personality: string; group: string; counts: Record<Verdict, number> }>();
  for (const r of [...results].sort((a, b) => (a.iut === b.iut ? 0 : a.iut === 'bridge' ? -1 : 1))) {
    const group = r.iut === 'self' ? `${r.group} (self-checks)` : r.group;
    const k = `${r.personality}\u0000${group}`;
    const g = groups.get(k) ?? { personality: r.personality, group, counts: { Pass: 0, Fail: 0, Inconclusive: 0, 'N/A': 0 } };
    g.counts[r.verdict]++;
    groups.set(k, g);
  }
  const pw = Math.max(16, ...[...groups.values()].map((g) => g.personality.length));
  const gw = Math.max(34, ...[...groups.values()].map((g) => g.group.length));
  const lines = [`${'PERSONALITY'.padEnd(pw)} ${'GROUP'.padEnd(gw)} PASS FAIL INCO  N/A`];
  for (const { personality, group, counts: g } of groups.values()) {
    lines.push(`${personality.padEnd(pw)} ${group.padEnd(gw)} ${String(g.Pass).padStart(4)} ${String(g.Fail).padStart(4)} ${String(g.Inconclusive).padStart(4)} ${String(g['N/A']).padStart(4)}`);
  }
  const notPassed = (iut: 'bridge' | 'self') => results.filter((r) => r.iut === iut && (r.verdict === 'Fail' || r.verdict === 'Inconclusive'));
  const line = (r: CaseResult) => `  ${r.verdict.padEnd(12)} ${r.personality}  ${r.id} [at fault: ${faultLabel(r)}]: ${safeText(reasonOf(r))}`;
  if (notPassed('bridge').length) lines.push('', 'not passed:', ...notPassed('bridge').map(line));
  if (notPassed('self').length) lines.push('', 'self-checks not passed (not counted for the bridge):', ...notPassed('self').map(line));
  return lines.join('\n');
}
