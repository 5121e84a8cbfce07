// Verdicts that changed between two certify runs (e.g. before and after a modem firmware update).
import type { CaseResult, Verdict } from '../../suites/framework/verdict.ts';

export interface VerdictChange {
  id: string;
  personality: string;
  before: Verdict | 'absent';
  after: Verdict | 'absent';
}

export function compareResults(before: readonly CaseResult[], after: readonly CaseResult[]): VerdictChange[] {
  const key = (r: CaseResult) => `${r.personality}\u0000${r.id}`;
  const old = new Map(before.map((r) => [key(r), r]));
  const now = new Map(after.map((r) => [key(r), r]));
  const changes: VerdictChange[] = [];
  for (const k of new Set([...old.keys(), ...now.keys()])) {
    const b = old.get(k);
    const a = now.get(k);
    if (b?.verdict === a?.verdict) continue;
    const r = (a ?? b)!;
    changes.push({ id: r.id, personality: r.personality, before: b?.verdict ?? 'absent', after: a?.verdict ?? 'absent' });
  }
  return changes.sort((x, y) => x.personality.localeCompare(y.personality) || x.id.localeCompare(y.id));
}

