// The mutation matrix: proof that each bridge case can fail. `npm run mutation` certifies the
// reference bridge once as it is and once per deliberate defect (sim/bridge/defects.ts), each
// time as an external process on the virtual rig (what a vendor's port is), and writes the
// case x defect matrix: suites/mutation/matrix.json (every verdict) and matrix.md (the table),
// plus suites/mutation/summary.md, which the README includes (score, kills per defect, and the
// cases no defect kills with the reason each is kept, from suites/mutation/exceptions.json).
// A case is applicable when it passes against the unbroken bridge on the defect's modem; it is
// killed by a defect whose run does not pass it (Fail or Inconclusive, SGP.23 verdicts).
//   npm run mutation -- [--personality P] [--defect NAME]... [--only REGEX] [--out DIR]
//   npm run mutation -- --from-json suites/mutation/matrix.json   (re-render only)
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { certify, listPersonalities } from './certify.ts';
import { UsageError } from './errors.ts';
import { parseCommandArgs } from './args.ts';
import { readmeRefreshed } from '../bench/lib/readme-include.ts';
import { loadRig, parseRig, type Rig } from '../rigs/rig.ts';
import { DEFECT_NAMES, DEFECT_SUMMARIES, parseDefectNames, type DefectName } from '../sim/bridge/defects.ts';
import type { CaseResult, Verdict } from '../suites/framework/verdict.ts';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const MATRIX_DIR = join(ROOT, 'suites', 'mutation');
export const DEFAULT_PERSONALITY = 'quectel-ec25j';

/**
 * Defects only a modem of another kind can expose: the EC25 sets the logical channel bits of
 * a +CGLA CLA itself (3GPP TS 27.007 8.45), so clearing them is harmless there; a CSIM-only
 * module passes the CLA to the card as it is.
 */
export const PERSONALITY_OF: Readonly<Partial<Record<DefectName, string>>> = { 'drop-channel-bits': 'simcom-sim7600' };

export function personalityFor(defect: DefectName | 'none', base = DEFAULT_PERSONALITY): string {
  return defect === 'none' ? base : (PERSONALITY_OF[defect] ?? base);
}

/** The virtual rig with the reference bridge as an external process, broken by `defect`. */
export function brokenBridgeRig(defect: DefectName | 'none', personality: string): Rig {
  const base = loadRig('virtual-external-bridge');
  const flags = defect === 'none' ? '' : ` --defect ${defect}`;
  // --queue: the rig cannot see when an external bridge has released a departed LPA, so a
  // case connecting in that window would be refused as a second LPA; queued, it waits
  return parseRig(
    {
      ...base,
      name: defect === 'none' ? 'external-reference-bridge' : `broken-bridge-${defect}`,
      modem: { ...base.modem, personality },
      bridge: {
        kind: 'external',
        command: `'${process.execPath}' bin/bridgelab.js bridge --serial {tty} --baud {baud} --listen {host}:{port} --queue${flags}`,
        lpaLink: 'bridge-listens',
        startupTimeoutMs: 60_000,
        cwd: ROOT,
      },
    },
    'cli/mutation.ts',
  );
}

const OUTCOMES = ['killed', 'survived', 'not-applicable'] as const;
type Outcome = (typeof OUTCOMES)[number];

const matrixSchema = z.object({
  startedAt: z.string(),
  machine: z.string(),
  elapsedMs: z.number(),
  argv: z.array(z.string()),
  only: z.string().optional(),
  baselines: z.record(z.string(), z.object({ durationMs: z.number(), cases: z.number(), passed: z.number() })),
  defects: z.array(z.object({ name: z.string(), personality: z.string(), durationMs: z.number(), killed: z.number() })),
  cases: z.array(
    z.object({
      id: z.string(),
      group: z.string(),
      baseline: z.record(z.string(), z.string()),
      verdicts: z.record(z.string(), z.string()),
      outcomes: z.record(z.string(), z.enum(OUTCOMES)),
    }),
  ),
});
export type Matrix = z.infer<typeof matrixSchema>;

const exceptionsSchema = z.record(z.string().regex(/^TC_/), z.string().min(10));
export type Exceptions = z.infer<typeof exceptionsSchema>;

export function loadExceptions(path = join(MATRIX_DIR, 'exceptions.json')): Exceptions {
  return existsSync(path) ? exceptionsSchema.parse(JSON.parse(readFileSync(path, 'utf8'))) : {};
}

export function parseMatrix(text: string, source: string): Matrix {
  const r = matrixSchema.safeParse(JSON.parse(text));
  if (!r.success) throw new UsageError(`${source}: not a mutation matrix: ${r.error.issues[0]?.message ?? 'invalid'}`);
  return r.data;
}

/** Outcome of one defect on one case, given the case's verdict without the defect on the same modem. */
export function outcomeOf(baseline: Verdict | undefined, withDefect: Verdict | undefined): Outcome {
  if (baseline !== 'Pass' || withDefect === undefined || withDefect === 'N/A') return 'not-applicable';
  return withDefect === 'Pass' ? 'survived' : 'killed';
}

/** Build the matrix from the runs: baseline results per personality, defect results per defect. */
export function buildMatrix(
  baselines: ReadonlyMap<string, { results: readonly CaseResult[]; durationMs: number }>,
  runs: ReadonlyArray<{ defect: DefectName; personality: string; results: readonly CaseResult[]; durationMs: number }>,
  meta: { startedAt: string; machine: string; elapsedMs: number; argv: readonly string[]; only?: string },
): Matrix {
  const ids = new Map<string, string>();
  for (const { results } of baselines.values()) for (const r of results) ids.set(r.id, r.group);
  const verdictIn = (results: readonly CaseResult[], id: string): Verdict | undefined => results.find((r) => r.id === id)?.verdict;
  const cases = [...ids.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([id, group]) => {
      const baseline = Object.fromEntries([...baselines.entries()].map(([p, b]) => [p, verdictIn(b.results, id) ?? 'not run']));
      const verdicts: Record<string, string> = {};
      const outcomes: Record<string, Outcome> = {};
      for (const run of runs) {
        const v = verdictIn(run.results, id);
        verdicts[run.defect] = v ?? 'not run';
        outcomes[run.defect] = outcomeOf(verdictIn(baselines.get(run.personality)?.results ?? [], id), v);
      }
      return { id, group, baseline, verdicts, outcomes };
    });
  return {
    ...meta,
    argv: [...meta.argv],
    baselines: Object.fromEntries(
      [...baselines.entries()].map(([p, b]) => [p, { durationMs: b.durationMs, cases: b.results.length, passed: b.results.filter((r) => r.verdict === 'Pass').length }]),
    ),
    defects: runs.map((r) => ({ name: r.defect, personality: r.personality, durationMs: r.durationMs, killed: cases.filter((c) => c.outcomes[r.defect] === 'killed').length })),
    cases,
  };
}

export interface Score {
  applicable: number;
  killed: number;
  /** applicable cases no defect kills */
  survivors: string[];
  /** survivors without a stated exception */
  unexplained: string[];
  /** exceptions for cases that are killed (or not applicable) after all: stale entries */
  staleExceptions: string[];
  percent: number;
}

export function scoreOf(m: Matrix, exceptions: Exceptions): Score {
  const applicable = m.cases.filter((c) => Object.values(c.outcomes).some((o) => o !== 'not-applicable'));
  const killed = applicable.filter((c) => Object.values(c.outcomes).includes('killed'));
  const survivors = applicable.filter((c) => !killed.includes(c)).map((c) => c.id);
  return {
    applicable: applicable.length,
    killed: killed.length,
    survivors,
    unexplained: survivors.filter((id) => !(id in exceptions)),
    staleExceptions: Object.keys(exceptions).filter((id) => !survivors.includes(id)),
    percent: applicable.length === 0 ? 0 : Math.round((1000 * killed.length) / applicable.length) / 10,
  };
}

const MARK: Readonly<Record<Outcome, string>> = { killed: 'K', survived: '.', 'not-applicable': '-' };

/** The whole table: one row per case, one column per defect (K killed, . survived, - not applicable). */
export function formatMatrixMarkdown(m: Matrix): string {
  const defects = m.defects.map((d) => d.name);
  const lines = [
    '# Mutation matrix',
    '',
    `Written by \`npm run mutation\` (cli/mutation.ts) on ${m.startedAt.slice(0, 10)}: ${m.machine}; ${Math.round(m.elapsedMs / 1000)} s.`,
    'K: the defect makes the case fail or be inconclusive; .: the case still passes; -: not applicable (the case does not pass against the unbroken bridge on that modem, or was not run).',
    '',
    `| case | ${defects.join(' | ')} |`,
    `|---|${defects.map(() => ':-:').join('|')}|`,
    ...m.cases.map((c) => `| ${c.id} | ${defects.map((d) => MARK[c.outcomes[d] ?? 'not-applicable']).join(' | ')} |`),
  ];
  return `${lines.join('\n')}\n`;
}

/** The summary the README includes. */
export function formatSummaryMarkdown(m: Matrix, exceptions: Exceptions): string {
  const s = scoreOf(m, exceptions);
  const personalities = Object.keys(m.baselines).join(', ');
  const lines = [
    `Mutation score **${s.percent} %**: ${s.killed} of ${s.applicable} applicable bridge cases are killed by at least one of ${m.defects.length} deliberate defects`,
    `(\`npm run mutation\`, ${m.startedAt.slice(0, 10)}, ${m.machine}, ${Math.round(m.elapsedMs / 1000)} s; modems ${personalities}${m.only ? `; cases matching ${m.only}` : ''}).`,
    'Full table: [suites/mutation/matrix.md](suites/mutation/matrix.md).',
    '',
    '| defect | modem | cases killed | what the broken bridge does |',
    '|---|---|--:|---|',
    ...m.defects.map((d) => `| ${d.name} | ${d.personality} | ${d.killed} | ${DEFECT_SUMMARIES[d.name as DefectName] ?? ''} |`),
  ];
  if (s.survivors.length > 0) {
    lines.push('', 'Cases no defect kills, and why each is kept (suites/mutation/exceptions.json):', '');
    for (const id of s.survivors) lines.push(`- ${id}: ${exceptions[id] ?? 'NO REASON GIVEN'}`);
  }
  return `${lines.join('\n')}\n`;
}

function writeAtomic(path: string, text: string): void {
  mkdirSync(join(path, '..'), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

export function writeMatrix(m: Matrix, dir: string, exceptions = loadExceptions()): string[] {
  const files = { 'matrix.json': `${JSON.stringify(m, null, 1)}\n`, 'matrix.md': formatMatrixMarkdown(m), 'summary.md': formatSummaryMarkdown(m, exceptions) };
  for (const [name, text] of Object.entries(files)) writeAtomic(join(dir, name), text);
  return Object.keys(files).map((n) => join(dir, n));
}

export interface MutationOptions {
  personality: string;
  defects: DefectName[];
  only?: string;
  out: string;
  fromJson?: string;
}

const OPTIONS = {
  personality: { type: 'string' },
  defect: { type: 'string', multiple: true },
  only: { type: 'string' },
  out: { type: 'string' },
  'from-json': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const MUTATION_HELP = `Usage: npm run mutation -- [options]
Certifies the reference bridge unbroken and once per deliberate defect, and writes the
case x defect matrix (matrix.json, matrix.md, summary.md).
  --personality P   modem personality of the runs (default ${DEFAULT_PERSONALITY}; some defects
                    run on the modem that can expose them: ${Object.entries(PERSONALITY_OF).map(([d, p]) => `${d} on ${p}`).join(', ')})
  --defect NAME     only this defect (repeatable; default all: ${DEFECT_NAMES.join(', ')})
  --only REGEX      only the cases whose id or title matches
  --out DIR         where to write (default suites/mutation)
  --from-json FILE  re-render the Markdown from a matrix.json, run nothing`;

export function parseMutationArgs(argv: string[]): MutationOptions | 'help' {
  const { values } = parseCommandArgs('mutation', { args: argv, options: OPTIONS, strict: true, allowPositionals: false });
  if (values.help) return 'help';
  const personality = values.personality ?? DEFAULT_PERSONALITY;
  if (!listPersonalities().includes(personality)) throw new UsageError(`mutation: unknown personality '${personality}'; known: ${listPersonalities().join(', ')}`);
  let defects: DefectName[];
  try {
    defects = values.defect ? parseDefectNames(values.defect) : [...DEFECT_NAMES];
  } catch (err) {
    throw new UsageError(`mutation: ${(err as Error).message}`);
  }
  if (values.only !== undefined) {
    try {
      new RegExp(values.only);
    } catch (err) {
      throw new UsageError(`mutation: --only: ${(err as Error).message}`);
    }
  }
  return { personality, defects, out: values.out ?? MATRIX_DIR, ...(values.only !== undefined ? { only: values.only } : {}), ...(values['from-json'] ? { fromJson: values['from-json'] } : {}) };
}

async function certifyOnce(defect: DefectName | 'none', personality: string, only: string | undefined, log: (line: string) => void): Promise<{ results: CaseResult[]; durationMs: number }> {
  const reportDir = mkdtempSync(join(tmpdir(), `bridgelab-mutation-${defect}-`));
  const started = Date.now();
  try {
    let output = '';
    const { results } = await certify(
      { rig: brokenBridgeRig(defect, personality), rigSource: 'cli/mutation.ts', personalities: [personality], reportDir, html: false, ...(only !== undefined ? { only } : {}) },
      (s) => void (output += s),
    );
    const durationMs = Date.now() - started;
    const notPassed = results.filter((r) => r.verdict === 'Fail' || r.verdict === 'Inconclusive').length;
    log(`${defect.padEnd(22)} ${personality.padEnd(16)} ${results.length} cases, ${notPassed} not passed, ${Math.round(durationMs / 1000)} s`);
    if (results.length === 0) log(output.slice(-1500));
    return { results, durationMs };
  } finally {
    rmSync(reportDir, { recursive: true, force: true });
  }
}

export async function runMutation(o: MutationOptions, argv: readonly string[], log: (line: string) => void): Promise<Matrix> {
  const started = Date.now();
  const machine = `${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} cores, Node ${process.version}`;
  const personalities = [...new Set(['none' as const, ...o.defects].map((d) => personalityFor(d, o.personality)))];
  const baselines = new Map<string, { results: CaseResult[]; durationMs: number }>();
  for (const p of personalities) baselines.set(p, await certifyOnce('none', p, o.only, log));
  const runs = [];
  for (const defect of o.defects) {
    const personality = personalityFor(defect, o.personality);
    runs.push({ defect, personality, ...(await certifyOnce(defect, personality, o.only, log)) });
  }
  return buildMatrix(baselines, runs, { startedAt: new Date(started).toISOString(), machine, elapsedMs: Date.now() - started, argv, ...(o.only !== undefined ? { only: o.only } : {}) });
}

export async function mutationCommand(argv: string[], log: (line: string) => void = (l) => console.log(l)): Promise<number> {
  const o = parseMutationArgs(argv);
  if (o === 'help') {
    log(MUTATION_HELP);
    return 0;
  }
  const m = o.fromJson ? parseMatrix(readFileSync(o.fromJson, 'utf8'), o.fromJson) : await runMutation(o, argv, log);
  const exceptions = loadExceptions();
  const written = writeMatrix(m, o.out, exceptions);
  const s = scoreOf(m, exceptions);
  log(`mutation score ${s.percent} %: ${s.killed} of ${s.applicable} applicable cases killed; ${s.survivors.length} survive (${s.unexplained.length} without a stated exception)`);
  log(`written: ${written.map((f) => relative(ROOT, f)).join(', ')}`);
  if (o.out === MATRIX_DIR) log(readmeRefreshed('suites/mutation/summary.md'));
  return s.unexplained.length === 0 ? 0 : 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  mutationCommand(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      if (err instanceof UsageError) {
        console.error(err.message);
        process.exit(2);
      }
      console.error(`mutation: ${(err as Error).message}`);
      process.exit(1);
    },
  );
}
