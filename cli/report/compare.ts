// Comparing two certify reports (e.g. before and after a modem firmware update, or a bridge
// release against the last one): the totals of both, the cases that regressed and those that
// were fixed, each with its reason, the cases whose applicability changed, a warning when
// the two runs used different rigs, bridges, capabilities or personalities, and the cases
// present on one side only in one line. `bridgelab report compare` and `certify --compare`
// both use it. Regressions count for the bridge's cases only (self-checks judge bridgelab).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { totalsByIut, VERDICTS, type CaseResult, type Totals, type Verdict } from '../../suites/framework/verdict.ts';
import { writeFileAtomic } from '../../sim/store/atomic-file.ts';
import { UsageError } from '../errors.ts';
import { reasonOf, safeText } from './model.ts';
import { bridgeDescription } from './summary.ts';
import type { Rig } from '../../rigs/rig.ts';

export interface VerdictChange {
  id: string;
  personality: string;
  before: Verdict | 'absent';
  after: Verdict | 'absent';
}

/** Every case whose verdict differs between the two runs (absent on one side included). */
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

/** The parts of summary.json a comparison reads. */
export interface ReportSummary {
  rig: { name: string; definition?: Record<string, unknown>; capabilities?: string[] };
  bridge?: string;
  personalities?: string[];
  only?: string;
  shard?: string;
  cases: CaseResult[];
}

export function readSummary(dir: string): ReportSummary {
  const file = join(dir, 'summary.json');
  if (!existsSync(file)) throw new UsageError(`'${dir}' is not a certify report (no summary.json)`);
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`${file}: not JSON (${(err as Error).message})`);
  }
  const s = value as Partial<ReportSummary>;
  if (!s || typeof s !== 'object' || !Array.isArray(s.cases) || typeof s.rig?.name !== 'string') throw new UsageError(`${file}: not a certify summary (no rig or cases)`);
  // reports written before cases carried the IUT judged only the bridge
  return { ...(s as ReportSummary), cases: s.cases.map((c) => ({ ...c, iut: c.iut ?? 'bridge', steps: c.steps ?? [] })) };
}

export interface CaseChange extends VerdictChange {
  group: string;
  /** why the case is not Pass on the side where it is not (the new side for a regression) */
  reason: string;
}

export interface Comparison {
  old: { dir: string; totals: Totals; selfCheckTotals: Totals };
  new: { dir: string; totals: Totals; selfCheckTotals: Totals };
  /** bridge cases applicable on both sides whose verdict got worse (Pass < Inconclusive < Fail) */
  regressions: CaseChange[];
  fixes: CaseChange[];
  /** N/A on one side, applicable on the other */
  applicability: CaseChange[];
  /** self-check cases whose verdict changed (they do not decide the bridge's verdict) */
  selfChecks: CaseChange[];
  onlyOld: number;
  onlyNew: number;
  warnings: string[];
}

const RANK: Record<Exclude<Verdict, 'N/A'>, number> = { Pass: 0, Inconclusive: 1, Fail: 2 };

function differs(what: string, a: unknown, b: unknown, show: (v: unknown) => string = (v) => JSON.stringify(v)): string[] {
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [`the ${what} differ: ${show(a)} (old) vs ${show(b)} (new)`];
}

export function compareReports(oldDir: string, newDir: string): Comparison {
  const a = readSummary(oldDir);
  const b = readSummary(newDir);
  const key = (r: CaseResult) => `${r.personality}\u0000${r.id}`;
  const old = new Map(a.cases.map((r) => [key(r), r]));
  const now = new Map(b.cases.map((r) => [key(r), r]));
  const cmp: Comparison = {
    old: { dir: oldDir, totals: totalsByIut(a.cases).bridge, selfCheckTotals: totalsByIut(a.cases).self },
    new: { dir: newDir, totals: totalsByIut(b.cases).bridge, selfCheckTotals: totalsByIut(b.cases).self },
    regressions: [],
    fixes: [],
    applicability: [],
    selfChecks: [],
    onlyOld: [...old.keys()].filter((k) => !now.has(k)).length,
    onlyNew: [...now.keys()].filter((k) => !old.has(k)).length,
    warnings: [
      ...differs('rigs', a.rig.name, b.rig.name, String),
      ...differs('rig definitions (eUICC, modem, SM-DP+)', strip(a.rig.definition), strip(b.rig.definition), () => 'see summary.json rig.definition'),
      ...differs('bridges', bridgeOf(a), bridgeOf(b), String),
      ...differs('capabilities', a.rig.capabilities, b.rig.capabilities, (v) => (Array.isArray(v) ? v.join(', ') : String(v))),
      ...differs('personalities', a.personalities, b.personalities, (v) => (Array.isArray(v) ? v.join(', ') : String(v))),
      ...(a.only !== b.only || a.shard !== b.shard ? [`the runs covered different subsets: ${a.only ?? a.shard ?? 'all cases'} (old) vs ${b.only ?? b.shard ?? 'all cases'} (new)`] : []),
    ].map((w) => safeText(w)),
  };
  for (const [k, after] of now) {
    const before = old.get(k);
    if (!before || before.verdict === after.verdict) continue;
    const change = (reasonFrom: CaseResult): CaseChange => ({ id: after.id, personality: after.personality, group: after.group, before: before.verdict, after: after.verdict, reason: safeText(reasonOf(reasonFrom)) });
    if (after.iut === 'self' || before.iut === 'self') cmp.selfChecks.push(change(after.verdict === 'Pass' ? before : after));
    else if (before.verdict === 'N/A' || after.verdict === 'N/A') cmp.applicability.push(change(after.verdict === 'N/A' ? after : before));
    else if (RANK[after.verdict] > RANK[before.verdict]) cmp.regressions.push(change(after));
    else cmp.fixes.push(change(before));
  }
  const order = (x: CaseChange, y: CaseChange) => x.personality.localeCompare(y.personality) || x.id.localeCompare(y.id);
  for (const list of [cmp.regressions, cmp.fixes, cmp.applicability, cmp.selfChecks]) list.sort(order);
  return cmp;
}

/** The bridge line of a summary (older reports have only the rig definition). */
function bridgeOf(s: ReportSummary): string | undefined {
  if (s.bridge) return s.bridge;
  const def = s.rig.definition as unknown as Rig | undefined;
  return def?.bridge ? bridgeDescription(def) : undefined;
}

/** The rig definition without its bridge (compared on its own) and name. */
function strip(def: Record<string, unknown> | undefined): unknown {
  if (!def) return undefined;
  const { bridge: _bridge, name: _name, description: _description, ...rest } = def;
  return rest;
}

function totalsRow(label: string, t: Totals): string {
  return `${label.padEnd(14)} ${VERDICTS.map((v) => String(t[v]).padStart(5)).join('')} ${String(t.applicable).padStart(11)}`;
}

/** The comparison for people. */
export function comparisonText(c: Comparison): string {
  const line = (x: CaseChange) => `  ${x.personality}  ${x.id}: ${x.before} -> ${x.after}${x.reason ? `: ${x.reason}` : ''}`;
  const section = (title: string, list: CaseChange[]) => (list.length ? [`${title} (${list.length}):`, ...list.map(line)] : [`${title}: none`]);
  const out = [
    `bridge cases     ${VERDICTS.map((v) => v.toUpperCase().slice(0, 4).padStart(5)).join('')}  applicable`,
    totalsRow('old', c.old.totals),
    totalsRow('new', c.new.totals),
    `old: ${c.old.dir}`,
    `new: ${c.new.dir}`,
    ...c.warnings.map((w) => `warning: ${w}`),
    ...section('regressions', c.regressions),
    ...section('fixes', c.fixes),
    ...(c.applicability.length ? section('applicability changed (N/A on one side)', c.applicability) : []),
    ...(c.selfChecks.length ? section('self-checks changed (not counted for the bridge)', c.selfChecks) : []),
    ...(c.onlyOld || c.onlyNew ? [`absent: ${c.onlyOld} cases only in old, ${c.onlyNew} only in new (not compared)`] : []),
  ];
  return out.join('\n');
}

/**
 * Compare and print (text, or JSON with `json`); with `save`, also write changes.json into the
 * new report (certify --compare). Returns the exit code: 1 when a bridge case regressed.
 */
export function writeComparison(oldDir: string, newDir: string, out: (s: string) => void, opts: { save?: boolean; json?: boolean } = {}): number {
  const c = compareReports(oldDir, newDir);
  if (opts.save) writeFileAtomic(join(newDir, 'changes.json'), JSON.stringify(c, null, 1), 0o644);
  out(opts.json ? `${JSON.stringify(c, null, 1)}\n` : `${comparisonText(c)}\n`);
  return c.regressions.length ? 1 : 0;
}
