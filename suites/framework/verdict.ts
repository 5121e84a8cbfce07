// Verdicts and per-case results of a certification run (SGP.23 1.x: Pass, Fail,
// Inconclusive when the initial conditions could not be established, N/A when
// the rig cannot do what the case needs). Each case writes its result as JSON in
// its own evidence directory; `bridgelab certify` merges them into summary.json
// and junit.xml, so a crashed worker shows up as a missing (Inconclusive) case
// instead of silently vanishing.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../sim/store/atomic-file.ts';
import type { LineRange, TraceLog as EvidenceLog } from '../../sim/trace/trace.ts';

export type Verdict = 'Pass' | 'Fail' | 'Inconclusive' | 'N/A';
export const VERDICTS: readonly Verdict[] = ['Pass', 'Fail', 'Inconclusive', 'N/A'];

export type CaseGroup = 'Bridge transport' | 'ES10 through the bridge' | 'Provisioning through the bridge' | 'Negative and security';

/**
 * Implementation under test of a case (SGP.23 names the IUT in the case id). 'bridge': the
 * LPA Bridge is on the path and its behaviour decides the verdict; these cases make the
 * bridge's verdict and certify's exit code. 'self': a self-check of bridgelab's own parts
 * (software eUICC, test SM-DP+, test LPA) where the bridge is not what is judged.
 */
export type Iut = 'bridge' | 'self';

/**
 * What happened to one declared step. 'not-verifiable': the step ran, but one of its checks
 * needs an observation this rig cannot make (e.g. the card side of a real modem), so the
 * step proves nothing here; `detail` says which observation and why.
 */
export type StepStatus = 'pass' | 'fail' | 'not-run' | 'not-verifiable';

/** 1-based inclusive line numbers in one evidence file (LineRange), and the evidence files a step's exchanges can be located in (EvidenceLog). */
export type { LineRange, EvidenceLog };

export interface StepResult {
  n: number;
  action: string;
  expected: string;
  status: StepStatus;
  /** not-verifiable: the observation missing; fail: the message */
  detail?: string;
  /** lines of each evidence file written while this step ran (absent: none) */
  lines?: Partial<Record<EvidenceLog, LineRange>>;
}

/**
 * Who is at fault for a Fail or an Inconclusive: the bridge under test, a real modem/card of
 * the rig (not bridgelab's), bridgelab itself (a defect of the case or framework), or the
 * rig set-up (a part that did not start, a missing program).
 */
export type FaultCategory = 'bridge' | 'rig-part' | 'bridgelab' | 'setup';

export interface FailureDetail {
  category: FaultCategory;
  /** the step that failed (absent: in an initial condition or outside the steps) */
  step?: number;
  message: string;
  /** from the failed check, when it says (assertions do) */
  expected?: string;
  actual?: string;
}

export interface CaseResult {
  id: string;
  title: string;
  group: CaseGroup;
  iut: Iut;
  personality: string;
  verdict: Verdict;
  /** why, for anything but Pass */
  reason?: string;
  /** Fail and Inconclusive: what failed, where, and whose fault it is */
  failure?: FailureDetail;
  /** every declared step, in order, with what happened to it */
  steps: StepResult[];
  durationMs: number;
  requirement: string;
  /** paths relative to the report directory (apduLog, atLog, httpLog, events, pcap, bridgeLog, result) */
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

export type Totals = Record<Verdict, number> & { applicable: number; total: number };

export function totals(results: readonly CaseResult[]): Totals {
  const t = { Pass: 0, Fail: 0, Inconclusive: 0, 'N/A': 0 } as Record<Verdict, number>;
  for (const r of results) t[r.verdict]++;
  return { ...t, applicable: results.length - t['N/A'], total: results.length };
}

/** Totals of the bridge's cases and, apart, of bridgelab's self-checks. */
export function totalsByIut(results: readonly CaseResult[]): Record<Iut, Totals> {
  return { bridge: totals(results.filter((r) => r.iut === 'bridge')), self: totals(results.filter((r) => r.iut === 'self')) };
}

/**
 * Exit code of a run for the bridge: 0 when bridge cases were applicable and none failed or
 * was inconclusive; self-checks never decide it.
 */
export function bridgeExitCode(results: readonly CaseResult[]): number {
  const t = totalsByIut(results).bridge;
  return t.Fail + t.Inconclusive > 0 || t.applicable === 0 ? 1 : 0;
}
