// Verdicts and per-case results of a certification run (SGP.23 1.x: Pass, Fail,
// Inconclusive when the initial conditions could not be established, N/A when
// the rig cannot do what the case needs). Each case writes its result as JSON in
// its own evidence directory; `bridgelab certify` merges them into summary.json
// and junit.xml, so a crashed worker shows up as a missing (Inconclusive) case
// instead of silently vanishing.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../sim/store/atomic-file.ts';

export type Verdict = 'Pass' | 'Fail' | 'Inconclusive' | 'N/A';
export const VERDICTS: readonly Verdict[] = ['Pass', 'Fail', 'Inconclusive', 'N/A'];

export type CaseGroup = 'Bridge transport' | 'ES10 through the bridge' | 'Provisioning through the bridge' | 'Negative and security';

export interface CaseResult {
  id: string;
  title: string;
  group: CaseGroup;
  personality: string;
  verdict: Verdict;
  /** why, for anything but Pass */
  reason?: string;
  durationMs: number;
  requirement: string;
  /** paths relative to the report directory */
  evidence: Record<string, string>;
}

export function caseDirName(id: string, personality: string): string {
  return join('cases', personality, id.replace(/[^A-Za-z0-9_.+-]/g, '_'));
}

export function writeCaseResult(reportDir: string, result: CaseResult): void {
  writeFileAtomic(join(reportDir, caseDirName(result.id, result.personality), 'result.json'), JSON.stringify(result, null, 1), 0o644);
}

/** All case results under a report directory. */
export function readCaseResults(reportDir: string): CaseResult[] {
  const root = join(reportDir, 'cases');
  if (!existsSync(root)) return [];
  const out: CaseResult[] = [];
  for (const personality of readdirSync(root))
    for (const dir of readdirSync(join(root, personality))) {
      const file = join(root, personality, dir, 'result.json');
      if (existsSync(file)) out.push(JSON.parse(readFileSync(file, 'utf8')) as CaseResult);
    }
  return out.sort((a, b) => a.personality.localeCompare(b.personality) || a.id.localeCompare(b.id));
}

export function totals(results: readonly CaseResult[]): Record<Verdict, number> & { applicable: number; total: number } {
  const t = { Pass: 0, Fail: 0, Inconclusive: 0, 'N/A': 0 } as Record<Verdict, number>;
  for (const r of results) t[r.verdict]++;
  return { ...t, applicable: results.length - t['N/A'], total: results.length };
}
