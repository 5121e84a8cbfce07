// `bridgelab certify`: runs the conformance suites (suites/) through vitest,
// programmatically, once per modem personality, on the chosen rig; shows live
// progress per test case, prints a verdict table and writes the report directory:
// summary.json, junit.xml, allure-results/, the single-file offline report.html
// and per-case evidence (cases/<personality>/<id>/). Before any case runs it
// checks what the rig needs (cli/preflight.ts) and that the report directory is new.
// Cases whose IUT is the bridge run by default; self-checks of bridgelab's own parts
// only with --include-self-checks. Exit 0 only when bridge cases ran and none failed
// or was inconclusive: self-checks never decide the bridge's verdict.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve, relative } from 'node:path';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { HelpRequested, UsageError } from './errors.ts';
import { preflightBridge, programsFor, requirePrograms } from './preflight.ts';
import { builtinRigs, loadRig, parseRig, RigError, type Rig } from '../rigs/rig.ts';
import { ENV } from '../suites/framework/env.ts';
import { bridgeExitCode, readCaseResults, totalsByIut, writeCaseResult, type CaseResult, type Iut, type Totals, type Verdict } from '../suites/framework/verdict.ts';
import { writeComparison } from './report/compare.ts';
import { verdictTable, writeReport } from './report/summary.ts';
import { writeFileAtomic } from '../sim/store/atomic-file.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const HELP = `usage: bridgelab certify [--rig NAME|FILE] [--bridge builtin|HOST:PORT|'CMD {tty} ...']
                         [--personality NAME|all] [--only PATTERN] [--include-self-checks]
                         [--shard I/N] [--report DIR] [--compare OLD_REPORT] [--workers N] [--no-html]

Runs the conformance suites on a rig and writes a report (default reports/<timestamp>/).
  --rig          built-in rig (${'%RIGS%'}) or a rig JSON file (default: virtual)
  --bridge       override the rig's bridge: 'builtin', a running bridge at HOST:PORT,
                 or a command template launched against the fake modem's PTY
  --personality  modem personality of a fake-modem rig, or 'all' (one pass each)
  --only         run only the cases whose id or title contains PATTERN (regex)
  --include-self-checks
                 also run the self-checks of bridgelab's own parts (software eUICC,
                 test SM-DP+, test LPA, TLS); they never count in the bridge's verdict
  --shard        run shard I of N (vitest sharding); merge with 'bridgelab report merge'
  --report       report directory; must be new or empty (one run per directory)
  --compare      compare with an earlier report (as 'bridgelab report compare')
  --workers      suite files run at once (default: 3 per CPU, at most 8, or
                 $BRIDGELAB_SUITE_WORKERS); each runs its own rig
Before any case runs, certify checks the programs the rig needs (socat for a fake
modem) and starts a vendor's bridge command once (or reaches a running bridge).
Exit codes: 0 every applicable bridge case passed, 1 a bridge case failed or was
inconclusive (or none was applicable), 2 usage or set-up error (one line, before any case).`;

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
  /** also run the self-checks of bridgelab's own parts (iut 'self') */
  includeSelfChecks?: boolean;
  /** glob of suite files (tests of certify itself use fixtures) */
  include?: string[];
}

export function listPersonalities(): string[] {
  const dir = join(ROOT, 'sim', 'modem', 'personalities');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
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
        'include-self-checks': { type: 'boolean' },
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
    ...(v['include-self-checks'] ? { includeSelfChecks: true } : {}),
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
  iut: Iut;
  error?: string;
}

interface BrokenFile {
  file: string;
  error: string;
}

interface PassResult {
  seen: SeenCase[];
  broken: BrokenFile[];
  /** self-checks the --only pattern matched but the run left out (no --include-self-checks) */
  selfMatched: number;
}

const SYMBOL: Record<Verdict, string> = { Pass: 'PASS', Fail: 'FAIL', Inconclusive: 'INCO', 'N/A': 'N/A ' };

function verdictOfState(state: string): Verdict {
  return state === 'passed' ? 'Pass' : state === 'failed' ? 'Fail' : 'N/A';
}

const iutOfTags = (tags: readonly string[]): Iut => (tags.includes('self') ? 'self' : 'bridge');
const IUT_COLUMN: Record<Iut, string> = { bridge: '[bridge]', self: '[self]  ' };

/** Run the suites for one personality; returns what vitest reported. */
async function runPass(opts: CertifyOptions, personality: string, out: (s: string) => void): Promise<PassResult> {
  const { startVitest } = await import('vitest/node');
  const seen: SeenCase[] = [];
  const broken: BrokenFile[] = [];
  let selfMatched = 0;
  const only = opts.only !== undefined ? new RegExp(opts.only) : undefined;
  const progress = {
    onTestModuleEnd(testModule: { moduleId: string; errors(): readonly { message: string }[] }) {
      const errors = testModule.errors();
      if (errors.length) {
        const file = relative(ROOT, testModule.moduleId);
        broken.push({ file, error: errors[0]!.message });
        out(`  INCO  ${IUT_COLUMN.bridge} ${file}: suite file failed: ${errors[0]!.message}\n`);
      }
    },
    onTestCaseResult(testCase: { name: string; tags: readonly string[]; result(): { state: string; note?: string; errors?: readonly { message: string }[] }; diagnostic(): { duration: number } | undefined }) {
      const r = testCase.result();
      const iut = iutOfTags(testCase.tags);
      // filtered out by --only/--shard or by its IUT: not part of this run
      if (r.state === 'skipped' && !r.note) {
        if (iut === 'self' && !opts.includeSelfChecks && (!only || only.test(testCase.name))) selfMatched++;
        return;
      }
      const ms = testCase.diagnostic()?.duration;
      const verdict = r.note?.startsWith('Inconclusive') ? 'Inconclusive' : verdictOfState(r.state);
      seen.push({ name: testCase.name, state: r.state, iut, ...(r.errors?.[0] ? { error: r.errors[0].message } : {}) });
      out(`  ${SYMBOL[verdict]}  ${IUT_COLUMN[iut]} ${testCase.name}${ms !== undefined ? ` (${Math.round(ms)} ms)` : ''}${r.note ? `  [${r.note}]` : ''}\n`);
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
      ...(opts.includeSelfChecks ? {} : { tagsFilter: ['!self'] }),
      reporters: [progress, ['allure-vitest/reporter', { resultsDir: join(opts.reportDir, 'allure-results'), environmentInfo: { personality, rig: opts.rig.name } }]],
      passWithNoTests: true,
    },
    {},
  );
  await vitest?.close();
  process.exitCode = 0; // the verdicts decide, not vitest
  return { seen, broken, selfMatched };
}

/** A report directory belongs to one run: an existing one must be empty, so no stale result can be read back. */
function requireFreshReportDir(dir: string): void {
  if (!existsSync(dir)) return;
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch (err) {
    throw new UsageError(`--report '${dir}' is not a directory: ${(err as Error).message}`);
  }
  if (entries.length) throw new UsageError(`--report '${dir}' is not empty (${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}, e.g. ${entries.sort()[0]}): a report directory holds one run; give a new directory`);
}

/** Remove what this run wrote into its report directory (the directory was new or empty). */
function discardReportDir(dir: string, created: boolean): void {
  if (created) rmSync(dir, { recursive: true, force: true });
  else for (const e of readdirSync(dir)) rmSync(join(dir, e), { recursive: true, force: true });
}

const totalsLine = (t: Totals): string => `${t.Pass} pass, ${t.Fail} fail, ${t.Inconclusive} inconclusive, ${t['N/A']} n/a (${t.applicable} applicable of ${t.total})`;

export async function certify(opts: CertifyOptions, out: (s: string) => void = (s) => void process.stdout.write(s)): Promise<{ exitCode: number; results: CaseResult[] }> {
  // pre-flight: nothing runs, and nothing is written, unless the rig can start
  requireFreshReportDir(opts.reportDir);
  requirePrograms(programsFor(opts.rig));
  await preflightBridge(opts.rig, opts.personalities[0]!);
  const created = !existsSync(opts.reportDir);
  mkdirSync(opts.reportDir, { recursive: true });
  writeFileAtomic(join(opts.reportDir, 'rig.json'), JSON.stringify(opts.rig, null, 1), 0o644);
  const startedAt = new Date();
  out(`bridgelab certify: rig '${opts.rig.name}', personalities ${opts.personalities.join(', ')}, ${opts.includeSelfChecks ? 'bridge cases and self-checks' : 'bridge cases (self-checks: --include-self-checks)'}, report ${opts.reportDir}\n`);
  const seenAll: ({ personality: string } & PassResult)[] = [];
  for (const personality of opts.personalities) {
    out(`\n== ${personality}\n`);
    const pass = await runPass(opts, personality, out);
    seenAll.push({ personality, ...pass });
    if (opts.only !== undefined && seenAll.length === 1 && pass.seen.length === 0 && pass.broken.length === 0) {
      discardReportDir(opts.reportDir, created);
      const hint = pass.selfMatched ? `; it matches ${pass.selfMatched} self-check${pass.selfMatched > 1 ? 's' : ''}, which run only with --include-self-checks` : '';
      throw new UsageError(`--only '${opts.only}' matches no case${opts.shard ? ` in shard ${opts.shard}` : ''}${hint}`);
    }
  }
  const results = readCaseResults(opts.reportDir);
  // Suite files that failed to load and cases vitest ran without a result file (framework
  // crash) are Inconclusive, persisted like every other result so that merges keep them.
  const synthetic: CaseResult[] = [];
  for (const { personality, broken } of seenAll)
    for (const b of broken) {
      const reason = `the suite file failed to load or run: ${b.error}`;
      synthetic.push({ id: `suite:${b.file}`, title: `suite file ${b.file}`, group: 'Bridge transport', iut: 'bridge', personality, verdict: 'Inconclusive', reason, failure: { category: 'bridgelab', message: reason }, steps: [], durationMs: 0, requirement: '', evidence: {} });
    }
  for (const { personality, seen } of seenAll)
    for (const s of seen) {
      const id = s.name.split(':')[0]!;
      if (!results.some((r) => r.personality === personality && r.id === id) && s.state !== 'skipped') {
        const reason = `no result recorded: ${s.error ?? s.state}`;
        synthetic.push({ id, title: s.name, group: 'Bridge transport', iut: s.iut, personality, verdict: 'Inconclusive', reason, failure: { category: 'bridgelab', message: reason }, steps: [], durationMs: 0, requirement: '', evidence: {} });
      }
    }
  for (const r of synthetic) writeCaseResult(opts.reportDir, r);
  results.push(...synthetic);
  writeReport(opts.reportDir, results, {
    startedAt,
    rig: opts.rig,
    rigSource: opts.rigSource,
    personalities: opts.personalities,
    ...(opts.only !== undefined ? { only: opts.only } : {}),
    ...(opts.shard ? { shard: opts.shard } : {}),
    html: opts.html,
  }, out);
  const byIut = totalsByIut(results);
  const bridgeResults = results.filter((r) => r.iut === 'bridge');
  const selfResults = results.filter((r) => r.iut === 'self');
  out(`\nthe bridge under test:\n${verdictTable(bridgeResults)}\n`);
  if (selfResults.length) out(`\nself-checks of bridgelab's own parts (not part of the bridge's verdict):\n${verdictTable(selfResults)}\n`);
  out(`\nbridge: ${totalsLine(byIut.bridge)}\n`);
  out(opts.includeSelfChecks ? `self-checks: ${totalsLine(byIut.self)}\n` : `self-checks: not run (--include-self-checks runs them)\n`);
  out(`report: ${relative(process.cwd(), opts.reportDir) || '.'}\n`);
  if (opts.compare) writeComparison(opts.compare, opts.reportDir, (s) => out(`\n${s}`), { save: true });
  return { exitCode: bridgeExitCode(results), results };
}

export async function certifyCommand(args: string[]): Promise<number> {
  const opts = parseCertifyArgs(args);
  const { exitCode } = await certify(opts);
  return exitCode;
}
