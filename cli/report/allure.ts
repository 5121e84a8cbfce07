// allure-results/ of a certify run, for users who aggregate Allure results elsewhere:
// allure-vitest writes them while the suites run, in vitest's terms (an assertion failure is
// "failed", any other exception "broken", a skip "skipped"). After the run, each result file
// is rewritten in bridgelab's verdicts, so that a bridge defect is never a "broken" test:
//   Fail -> failed (whoever is at fault; the category is a label and in the message);
//   Inconclusive -> broken when bridgelab or the rig set-up is at fault (Allure's "broken"
//     means the test could not run properly, which is what that is), otherwise unknown
//     (SGP.23: no verdict could be reached; not a proven defect, not a test error);
//   N/A -> skipped; Pass -> passed.
// Labels bridgelab.verdict, bridgelab.fault, bridgelab.iut are added (self-checks also get
// the tag "self-check"), stack traces lose the absolute paths of the machine, and
// categories.json groups the results by those statuses. bridgelab does not run
// `allure generate` (its HTML cannot open from file://, and it phones home): report.html is
// bridgelab's own page.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CaseResult, Verdict } from '../../suites/framework/verdict.ts';
import { writeFileAtomic } from '../../sim/store/atomic-file.ts';
import { faultLabel, faultOf, reasonOf, safeText, expectedActual } from './model.ts';

export type AllureStatus = 'passed' | 'failed' | 'broken' | 'skipped' | 'unknown';

export function allureStatus(c: CaseResult): AllureStatus {
  const map: Record<Verdict, AllureStatus> = { Pass: 'passed', Fail: 'failed', Inconclusive: 'unknown', 'N/A': 'skipped' };
  if (c.verdict === 'Inconclusive') {
    const f = faultOf(c);
    return f === 'bridgelab' || f === 'setup' ? 'broken' : 'unknown';
  }
  return map[c.verdict];
}

interface AllureLabel {
  name: string;
  value: string;
}

interface AllureStep {
  status?: string;
  statusDetails?: { message?: string; trace?: string; [more: string]: unknown };
  steps?: AllureStep[];
}

interface AllureResult extends AllureStep {
  testCaseId?: string;
  parameters?: { name: string; value: string }[];
  labels?: AllureLabel[];
}

const CATEGORIES = [
  { name: 'Fail: a requirement is not met', matchedStatuses: ['failed'] },
  { name: 'Inconclusive: bridgelab or the rig set-up', matchedStatuses: ['broken'] },
  { name: 'Inconclusive: no verdict reached', matchedStatuses: ['unknown'] },
  { name: 'N/A: not applicable on this rig', matchedStatuses: ['skipped'] },
];

function scrubSteps(steps: AllureStep[] | undefined, reportDir: string): void {
  for (const s of steps ?? []) {
    if (s.statusDetails?.trace) s.statusDetails.trace = safeText(s.statusDetails.trace, reportDir);
    if (s.statusDetails?.message) s.statusDetails.message = safeText(s.statusDetails.message, reportDir);
    scrubSteps(s.steps, reportDir);
  }
}

/** Rewrite every *-result.json of `allure-results/` in bridgelab's verdicts; returns how many were rewritten. */
export function mapAllureResults(reportDir: string, results: readonly CaseResult[]): number {
  const dir = join(reportDir, 'allure-results');
  if (!existsSync(dir)) return 0;
  const byKey = new Map(results.map((r) => [`${r.personality}\u0000${r.id}`, r]));
  let n = 0;
  for (const file of readdirSync(dir).filter((f) => f.endsWith('-result.json'))) {
    const path = join(dir, file);
    const res = JSON.parse(readFileSync(path, 'utf8')) as AllureResult;
    const personality = res.parameters?.find((p) => p.name === 'personality')?.value;
    const c = res.testCaseId && personality ? byKey.get(`${personality}\u0000${res.testCaseId}`) : undefined;
    if (!c) continue;
    res.status = allureStatus(c);
    const { expected, actual } = expectedActual(c);
    const trace = res.statusDetails?.trace;
    res.statusDetails =
      c.verdict === 'Pass'
        ? {}
        : {
            ...res.statusDetails,
            message: safeText(`${c.verdict}${c.verdict === 'N/A' ? '' : ` (at fault: ${faultLabel(c)})`}: ${reasonOf(c)}${expected !== undefined ? ` | expected: ${expected}` : ''}${actual !== undefined ? ` | actual: ${actual}` : ''}`, reportDir),
            ...(trace ? { trace: safeText(trace, reportDir) } : {}),
          };
    scrubSteps(res.steps, reportDir);
    const labels = (res.labels ?? []).filter((l) => !l.name.startsWith('bridgelab.'));
    labels.push({ name: 'bridgelab.verdict', value: c.verdict }, { name: 'bridgelab.iut', value: c.iut });
    const fault = faultOf(c);
    if (fault) labels.push({ name: 'bridgelab.fault', value: fault });
    if (c.iut === 'self' && !labels.some((l) => l.name === 'tag' && l.value === 'self-check')) labels.push({ name: 'tag', value: 'self-check' });
    res.labels = labels;
    writeFileAtomic(path, JSON.stringify(res), 0o644);
    n++;
  }
  writeFileAtomic(join(dir, 'categories.json'), JSON.stringify(CATEGORIES, null, 1), 0o644);
  return n;
}
