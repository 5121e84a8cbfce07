// `bridgelab certify`: runs the conformance suites (suites/) through vitest,
// programmatically, once per modem personality, on the chosen rig; shows live
// progress per test case, prints a verdict table and writes the report directory:
// summary.json, junit.xml, allure-results/, the offline HTML report (allure v3,
// html/) and per-case evidence (cases/<personality>/<id>/). Exit 0 only when no
// applicable case failed or was inconclusive.
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { HelpRequested, UsageError } from './errors.ts';
import { builtinRigs, loadRig, parseRig, RigError, type Rig } from '../rigs/rig.ts';
import { ENV } from '../suites/framework/env.ts';
import { readCaseResults, writeCaseResult, type CaseResult, type Verdict } from '../suites/framework/verdict.ts';
import { writeComparison } from './report/compare.ts';
import { verdictTable, writeReport } from './report/summary.ts';
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
  --compare      compare with an earlier report (as 'bridgelab report compare')
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
  if (v.help) throw new HelpRequested(HELP.replace('%RIGS%', builtinRigs().join(', ')));
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
      synthetic.push({ id: `suite:${b.file}`, title: `suite file ${b.file}`, group: 'Bridge transport', iut: 'bridge', personality, verdict: 'Inconclusive', reason: `the suite file failed to load or run: ${b.error}`, steps: [], durationMs: 0, requirement: '', evidence: {} });
  for (const { personality, seen } of seenAll)
    for (const s of seen) {
      const id = s.name.split(':')[0]!;
      if (!results.some((r) => r.personality === personality && r.id === id) && s.state !== 'skipped')
        synthetic.push({ id, title: s.name, group: 'Bridge transport', iut: 'bridge', personality, verdict: 'Inconclusive', reason: `no result recorded: ${s.error ?? s.state}`, steps: [], durationMs: 0, requirement: '', evidence: {} });
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
  if (opts.compare) writeComparison(opts.compare, opts.reportDir, (s) => out(`\n${s}`), { save: true });
  return { exitCode: t.Fail + t.Inconclusive > 0 || t.applicable === 0 ? 1 : 0, results };
}

export async function certifyCommand(args: string[]): Promise<number> {
  const opts = parseCertifyArgs(args);
  const { exitCode } = await certify(opts);
  return exitCode;
}
