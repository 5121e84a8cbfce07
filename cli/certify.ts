// `bridgelab certify`: runs the conformance suites (suites/) through vitest,
// programmatically, once per modem personality, on the chosen rig; shows live
// progress per test case, prints a verdict table and writes the report directory:
// summary.json, junit.xml, allure-results/, the offline HTML report (allure v3,
// html/) and per-case evidence (cases/<personality>/<id>/). Exit 0 only when no
// applicable case failed or was inconclusive.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { UsageError } from './errors.ts';
import { builtinRigs, capabilitiesOf, loadRig, parseRig, RigError, type Rig } from '../rigs/rig.ts';
import { ENV } from '../suites/framework/env.ts';
import { readCaseResults, totals, writeCaseResult, type CaseResult, type Verdict } from '../suites/framework/verdict.ts';
import { writeFileAtomic } from '../sim/store/atomic-file.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const HELP = `usage: bridgelab certify [--rig NAME|FILE] [--bridge builtin|HOST:PORT|'CMD {tty} ...']
                         [--personality NAME|all] [--only PATTERN] [--shard I/N]
                         [--report DIR] [--compare OLD_REPORT] [--workers N] [--no-html]

Runs the conformance suites on a rig and writes a report (default reports/<timestamp>/).
  --rig          built-in rig (${'%RIGS%'}) or a rig JSON file (default: virtual)
  --bridge       override the rig's bridge: 'builtin', a running bridge at HOST:PORT,
                 or a command template launched against the fake modem's PTY
  --personality  modem personality of a fake-modem rig, or 'all' (one pass each)
  --only         run only the cases whose id or title contains PATTERN (regex)
  --shard        run shard I of N (vitest sharding); merge with 'bridgelab report merge'
  --compare      list the cases whose verdict changed against an earlier report
  --workers      suite files run at once (default: 3 per CPU, at most 8, or
                 $BRIDGELAB_SUITE_WORKERS); each runs its own rig
Exit codes: 0 all applicable cases passed, 1 a case failed or was inconclusive, 2 usage.`;

export interface CertifyOptions {
  rig: Rig;
  rigSource: string;
  personalities: string[];
  only?: string;
  shard?: string;
  reportDir: string;
  html: boolean;
  compare?: string;
  /** suite files run at once, each with its own rig (default defaultWorkers()) */
  workers?: number;
  /** glob of suite files (tests of certify itself use fixtures) */
  include?: string[];
}

export function listPersonalities(): string[] {
  const dir = join(ROOT, 'sim', 'modem', 'personalities');
  if (!existsSync(dir)) return [];
  return spawnSync('ls', [dir], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -5))
    .sort();
}

function applyBridgeOverride(rig: Rig, bridge: string): Rig {
  let value: unknown;
  if (bridge === 'builtin') value = { kind: 'builtin' };
  else if (bridge.includes('{tty}')) value = { kind: 'external', command: bridge };
  else if (/^[^\s]+:\d+$/.test(bridge)) value = { kind: 'running', address: bridge };
  else throw new UsageError(`--bridge must be 'builtin', HOST:PORT or a command template containing {tty}; got '${bridge}'`);
  return parseRig({ ...rig, bridge: value }, '--bridge');
}

export function parseCertifyArgs(args: string[], now = new Date()): CertifyOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: false,
      options: {
        rig: { type: 'string', default: 'virtual' },
        bridge: { type: 'string' },
        personality: { type: 'string' },
        only: { type: 'string' },
        shard: { type: 'string' },
        report: { type: 'string' },
        compare: { type: 'string' },
        workers: { type: 'string' },
        'no-html': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n${HELP.replace('%RIGS%', builtinRigs().join(', '))}`);
  }
  const v = parsed.values;
  if (v.help) throw new UsageError(HELP.replace('%RIGS%', builtinRigs().join(', ')));
  let rig: Rig;
  try {
    rig = loadRig(v.rig!);
    if (v.bridge) rig = applyBridgeOverride(rig, v.bridge);
  } catch (err) {
    if (err instanceof RigError) throw new UsageError(err.message);
    throw err;
  }
  const known = listPersonalities();
  let personalities: string[];
  if (rig.modem.kind === 'fake') {
    const want = v.personality ?? rig.modem.personality;
    personalities = want === 'all' ? known : want.split(',');
    for (const p of personalities) if (!known.includes(p)) throw new UsageError(`unknown personality '${p}'; known: ${known.join(', ')}, all`);
  } else {
    if (v.personality && v.personality !== rig.modem.personality)
      throw new UsageError(`rig '${rig.name}' drives a real modem (${rig.modem.personality ?? 'unspecified'}); --personality applies to fake modems only`);
    personalities = [rig.modem.personality ?? 'real-modem'];
  }
  if (v.shard && !/^\d+\/\d+$/.test(v.shard)) throw new UsageError(`--shard must look like 1/4, got '${v.shard}'`);
  if (v.shard) {
    const [i, n] = v.shard.split('/').map(Number) as [number, number];
    if (i < 1 || i > n) throw new UsageError(`--shard ${v.shard}: index must be between 1 and ${n}`);
  }
  if (v.only !== undefined) {
    try {
      new RegExp(v.only);
    } catch {
      throw new UsageError(`--only '${v.only}' is not a valid regular expression`);
    }
  }
  if (v.compare && !existsSync(join(v.compare, 'summary.json'))) throw new UsageError(`--compare: no summary.json in '${v.compare}'`);
  if (v.workers !== undefined && !/^[1-9]\d?$/.test(v.workers)) throw new UsageError(`--workers must be a number from 1 to 99, got '${v.workers}'`);
  const stamp = now.toISOString().replace(/[:.]/g, '-');
  return {
    rig,
    rigSource: v.rig!,
    personalities,
    ...(v.only !== undefined ? { only: v.only } : {}),
    ...(v.shard ? { shard: v.shard } : {}),
    reportDir: resolve(v.report ?? join(ROOT, 'reports', stamp)),
    html: !v['no-html'],
    ...(v.compare ? { compare: v.compare } : {}),
    ...(v.workers !== undefined ? { workers: Number(v.workers) } : {}),
  };
}

/**
 * Suite files run at once. Much of a case's time is waiting (modem latencies, UART pacing,
 * time-outs the cases provoke), so several rigs per CPU keep the machine busy: on 2 cores
 * 6 workers certify a personality in about half the time 2 workers take.
 */
export function defaultWorkers(): number {
  const fromEnv = Number(process.env.BRIDGELAB_SUITE_WORKERS);
  if (Number.isInteger(fromEnv) && fromEnv > 0) return fromEnv;
  return Math.max(2, Math.min(8, 3 * availableParallelism()));
}

interface SeenCase {
  name: string;
  state: string;
  error?: string;
}

interface BrokenFile {
  file: string;
  error: string;
}

const SYMBOL: Record<Verdict, string> = { Pass: 'PASS', Fail: 'FAIL', Inconclusive: 'INCO', 'N/A': 'N/A ' };

function verdictOfState(state: string): Verdict {
  return state === 'passed' ? 'Pass' : state === 'failed' ? 'Fail' : 'N/A';
}

/** Run the suites for one personality; returns what vitest reported. */
async function runPass(opts: CertifyOptions, personality: string, out: (s: string) => void): Promise<{ seen: SeenCase[]; broken: BrokenFile[] }> {
  const { startVitest } = await import('vitest/node');
  const seen: SeenCase[] = [];
  const broken: BrokenFile[] = [];
  const progress = {
    onTestModuleEnd(testModule: { moduleId: string; errors(): readonly { message: string }[] }) {
      const errors = testModule.errors();
      if (errors.length) {
        const file = relative(ROOT, testModule.moduleId);
        broken.push({ file, error: errors[0]!.message });
        out(`  INCO  ${file}: suite file failed: ${errors[0]!.message}\n`);
      }
    },
    onTestCaseResult(testCase: { name: string; result(): { state: string; note?: string; errors?: readonly { message: string }[] }; diagnostic(): { duration: number } | undefined }) {
      const r = testCase.result();
      // filtered out by --only/--shard: not part of this run
      if (r.state === 'skipped' && !r.note) return;
      const ms = testCase.diagnostic()?.duration;
      const verdict = r.note?.startsWith('Inconclusive') ? 'Inconclusive' : verdictOfState(r.state);
      seen.push({ name: testCase.name, state: r.state, ...(r.errors?.[0] ? { error: r.errors[0].message } : {}) });
      out(`  ${SYMBOL[verdict]}  ${testCase.name}${ms !== undefined ? ` (${Math.round(ms)} ms)` : ''}${r.note ? `  [${r.note}]` : ''}\n`);
    },
  };
  process.env[ENV.rigFile] = join(opts.reportDir, 'rig.json');
  process.env[ENV.personality] = personality;
  process.env[ENV.reportDir] = opts.reportDir;
  const vitest = await startVitest(
    'test',
    [],
    {
      root: ROOT,
      config: join(ROOT, 'suites', 'vitest.config.ts'),
      watch: false,
      maxWorkers: opts.workers ?? defaultWorkers(),
      ...(opts.include ? { include: opts.include } : {}),
      ...(opts.only !== undefined ? { testNamePattern: opts.only } : {}),
      ...(opts.shard ? { shard: opts.shard } : {}),
      reporters: [progress, ['allure-vitest/reporter', { resultsDir: join(opts.reportDir, 'allure-results'), environmentInfo: { personality, rig: opts.rig.name } }]],
      passWithNoTests: true,
    },
    {},
  );
  await vitest?.close();
  process.exitCode = 0; // the verdicts decide, not vitest
  return { seen, broken };
}

function xmlEscape(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}

export function junitXml(results: readonly CaseResult[]): string {
  const byGroup = new Map<string, CaseResult[]>();
  for (const r of results) {
    const key = `${r.personality} / ${r.group}`;
    byGroup.set(key, [...(byGroup.get(key) ?? []), r]);
  }
  const suites = [...byGroup.entries()].map(([name, cases]) => {
    const t = totals(cases);
    const body = cases
      .map((c) => {
        const inner =
          c.verdict === 'Fail'
            ? `<failure message="${xmlEscape(c.reason ?? '')}"/>`
            : c.verdict === 'Inconclusive'
              ? `<error message="${xmlEscape(`Inconclusive: ${c.reason ?? ''}`)}"/>`
              : c.verdict === 'N/A'
                ? `<skipped message="${xmlEscape(`N/A: ${c.reason ?? ''}`)}"/>`
                : '';
        return `    <testcase classname="${xmlEscape(name)}" name="${xmlEscape(`${c.id}: ${c.title}`)}" time="${(c.durationMs / 1000).toFixed(3)}">${inner}</testcase>`;
      })
      .join('\n');
    return `  <testsuite name="${xmlEscape(name)}" tests="${t.total}" failures="${t.Fail}" errors="${t.Inconclusive}" skipped="${t['N/A']}">\n${body}\n  </testsuite>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="bridgelab certify">\n${suites.join('\n')}\n</testsuites>\n`;
}

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

export async function certify(opts: CertifyOptions, out: (s: string) => void = (s) => void process.stdout.write(s)): Promise<{ exitCode: number; results: CaseResult[] }> {
  mkdirSync(opts.reportDir, { recursive: true });
  writeFileAtomic(join(opts.reportDir, 'rig.json'), JSON.stringify(opts.rig, null, 1), 0o644);
  const startedAt = new Date();
  out(`bridgelab certify: rig '${opts.rig.name}', personalities ${opts.personalities.join(', ')}, report ${opts.reportDir}\n`);
  const seenAll: { personality: string; seen: SeenCase[]; broken: BrokenFile[] }[] = [];
  for (const personality of opts.personalities) {
    out(`\n== ${personality}\n`);
    seenAll.push({ personality, ...(await runPass(opts, personality, out)) });
  }
  const results = readCaseResults(opts.reportDir);
  // A case vitest ran whose result file is missing (framework crash): Inconclusive.
  // Suite files that failed to load and cases without a result file (framework crash)
  // are Inconclusive, persisted like every other result so that merges keep them.
  const synthetic: CaseResult[] = [];
  for (const { personality, broken } of seenAll)
    for (const b of broken)
      synthetic.push({ id: `suite:${b.file}`, title: `suite file ${b.file}`, group: 'Bridge transport', personality, verdict: 'Inconclusive', reason: `the suite file failed to load or run: ${b.error}`, durationMs: 0, requirement: '', evidence: {} });
  for (const { personality, seen } of seenAll)
    for (const s of seen) {
      const id = s.name.split(':')[0]!;
      if (!results.some((r) => r.personality === personality && r.id === id) && s.state !== 'skipped')
        synthetic.push({ id, title: s.name, group: 'Bridge transport', personality, verdict: 'Inconclusive', reason: `no result recorded: ${s.error ?? s.state}`, durationMs: 0, requirement: '', evidence: {} });
    }
  for (const r of synthetic) writeCaseResult(opts.reportDir, r);
  results.push(...synthetic);
  const t = writeReport(opts.reportDir, results, {
    startedAt,
    rig: opts.rig,
    rigSource: opts.rigSource,
    personalities: opts.personalities,
    ...(opts.only !== undefined ? { only: opts.only } : {}),
    ...(opts.shard ? { shard: opts.shard } : {}),
    html: opts.html,
  }, out);
  out(`\n${verdictTable(results)}\n`);
  out(`totals: ${t.Pass} pass, ${t.Fail} fail, ${t.Inconclusive} inconclusive, ${t['N/A']} n/a (${t.applicable} applicable of ${t.total})\n`);
  out(`report: ${relative(process.cwd(), opts.reportDir) || '.'}\n`);
  if (opts.compare) {
    const old = JSON.parse(readFileSync(join(opts.compare, 'summary.json'), 'utf8')) as { cases: CaseResult[] };
    const changes = compareResults(old.cases, results);
    writeFileSync(join(opts.reportDir, 'changes.json'), JSON.stringify(changes, null, 1));
    out(changes.length ? `\nverdicts changed against ${opts.compare}:\n${changes.map((c) => `  ${c.personality}  ${c.id}: ${c.before} -> ${c.after}`).join('\n')}\n` : `\nno verdict changed against ${opts.compare}\n`);
  }
  return { exitCode: t.Fail + t.Inconclusive > 0 || t.applicable === 0 ? 1 : 0, results };
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

export async function certifyCommand(args: string[]): Promise<number> {
  const opts = parseCertifyArgs(args);
  const { exitCode } = await certify(opts);
  return exitCode;
}
