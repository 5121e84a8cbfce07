// `npm run fuzz`: runs the fuzz campaigns (campaigns.ts) bounded in iterations and time,
// each in a worker thread watched through a shared-memory heartbeat (a stalled input is
// a hang: the worker is terminated and the campaign resumes after that input's episode),
// prints a table and writes fuzz/results/latest.json. Every finding carries its seed and
// iteration and the command line that replays it:
//   npm run fuzz -- --seed S --only TARGET --from-iteration I --count 1
// Exit code: 0 no findings, 1 findings, 2 usage error.
import { mkdirSync, writeFileSync } from 'node:fs';
import { readmeRefreshed } from '../bench/lib/readme-include.ts';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { CAMPAIGNS, campaignByName } from './campaigns.ts';
import { type Campaign, Stats, type TargetResult } from './harness.ts';
import { runInProcess } from './runner.ts';
import type { WorkerInput, WorkerMessage } from './worker.ts';

export const DEFAULT_SEED = 20261122;
export const DEFAULT_BUDGET_SECONDS = 1800;
/** a campaign's set-up (before its first input: worker start, eUICC template, SM-DP+) may take this long */
const SETUP_TIMEOUT_MS = 300_000;
const RESULTS = fileURLToPath(new URL('./results/latest.json', import.meta.url));

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface CliOptions {
  seed: number;
  budgetSeconds: number;
  only: string[];
  /** per-target iteration counts; '*' applies to every selected target */
  counts: Map<string, number>;
  fromIteration: number;
  inProcess: boolean;
  /** a campaign whose heartbeat stops this long is a hang (worker mode) */
  watchdogSeconds: number;
  output: string;
  list: boolean;
}

const USAGE = `usage: npm run fuzz -- [options]
  --seed N               PRNG seed (default ${DEFAULT_SEED})
  --budget-seconds S     total wall-time budget, shared by the targets by weight (default ${DEFAULT_BUDGET_SECONDS})
  --only T[,T...]        run only these targets (see --list)
  --count N              iterations of every selected target
  --count T=N            iterations of target T (repeatable)
  --from-iteration I     first iteration (stateful targets start at its episode)
  --in-process           no worker threads (no watchdog for synchronous stalls)
  --watchdog-seconds S   heartbeat stall that counts as a hang (default 60)
  --output PATH          results JSON (default fuzz/results/latest.json)
  --list                 list the targets`;

export function parseArgs(argv: readonly string[]): CliOptions {
  const o: CliOptions = { seed: DEFAULT_SEED, budgetSeconds: DEFAULT_BUDGET_SECONDS, only: [], counts: new Map(), fromIteration: 0, inProcess: false, watchdogSeconds: 60, output: RESULTS, list: false };
  const num = (flag: string, v: string | undefined): number => {
    if (v === undefined || !/^\d+$/.test(v)) throw new UsageError(`${flag} needs a non-negative integer, got ${v ?? 'nothing'}`);
    return Number(v);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    const flag = eq > 0 ? a.slice(0, eq) : a;
    const inline = eq > 0 ? a.slice(eq + 1) : undefined;
    const value = (): string | undefined => inline ?? argv[++i];
    switch (flag) {
      case '--seed':
        o.seed = num('--seed', value()) >>> 0;
        break;
      case '--budget-seconds':
        o.budgetSeconds = num('--budget-seconds', value());
        break;
      case '--only':
        o.only.push(...(value() ?? '').split(',').filter(Boolean));
        break;
      case '--count': {
        const v = value() ?? '';
        const m = /^([a-z-]+)=(\d+)$/.exec(v);
        if (m) o.counts.set(m[1]!, Number(m[2]));
        else o.counts.set('*', num('--count', v));
        break;
      }
      case '--from-iteration':
        o.fromIteration = num('--from-iteration', value());
        break;
      case '--in-process':
        o.inProcess = true;
        break;
      case '--watchdog-seconds':
        o.watchdogSeconds = num('--watchdog-seconds', value());
        break;
      case '--output':
        o.output = value() ?? '';
        break;
      case '--list':
        o.list = true;
        break;
      case '--help':
      case '-h':
        throw new UsageError(USAGE);
      default:
        throw new UsageError(`unknown option ${a}\n${USAGE}`);
    }
  }
  for (const t of [...o.only, ...[...o.counts.keys()].filter((k) => k !== '*')]) if (!campaignByName(t)) throw new UsageError(`unknown target ${t}; targets: ${CAMPAIGNS.map((c) => c.name).join(', ')}`);
  return o;
}

/** Run one campaign in a worker thread, restarting it after a hang or a fatal crash. */
async function runInWorker(campaign: Campaign, seed: number, from: number, count: number, budgetMs: number, watchdogMs: number): Promise<TargetResult> {
  const stats = new Stats(campaign.name, seed);
  const started = Date.now();
  const deadline = started + budgetMs;
  const end = Math.ceil((from + count) / campaign.episodeLength) * campaign.episodeLength;
  let next = from;
  let restarts = 0;
  let stoppedBy: TargetResult['stoppedBy'] = 'count';
  while (next < end) {
    const shared = new SharedArrayBuffer(8);
    const beat = new Int32Array(shared);
    Atomics.store(beat, 0, next);
    const input: WorkerInput = { campaign: campaign.name, seed, from: next, count: end - next, budgetMs: Math.max(0, deadline - Date.now()), heartbeat: shared };
    const worker = new Worker(new URL('./worker-entry.js', import.meta.url), { workerData: input });
    let snapshot: TargetResult | undefined;
    const outcome = await new Promise<{ kind: 'done'; result: TargetResult } | { kind: 'hang'; iteration: number } | { kind: 'died'; iteration: number; error: unknown }>((resolve) => {
      let lastTick = -1;
      let lastChange = Date.now();
      let settled = false;
      const settle = (v: Parameters<typeof resolve>[0]): void => {
        if (settled) return;
        settled = true;
        clearInterval(timer);
        resolve(v);
      };
      const timer = setInterval(() => {
        const tick = Atomics.load(beat, 1);
        if (tick !== lastTick) {
          lastTick = tick;
          lastChange = Date.now();
        } else if (Date.now() - lastChange > (tick === 0 ? Math.max(watchdogMs, SETUP_TIMEOUT_MS) : watchdogMs)) {
          settle({ kind: 'hang', iteration: Atomics.load(beat, 0) });
          void worker.terminate();
        }
      }, 250);
      worker.on('message', (m: WorkerMessage) => {
        if (m.type === 'snapshot') snapshot = m.result;
        else settle({ kind: 'done', result: m.result });
      });
      worker.on('error', (error) => settle({ kind: 'died', iteration: Atomics.load(beat, 0), error }));
      worker.on('exit', (code) => settle({ kind: 'died', iteration: Atomics.load(beat, 0), error: new Error(`worker exited with code ${code} before finishing`) }));
    });
    if (outcome.kind === 'done') {
      stats.merge(outcome.result);
      stoppedBy = outcome.result.stoppedBy;
      break;
    }
    if (snapshot) stats.merge(snapshot);
    // inputs the worker ran after its last snapshot, the fatal one included
    stats.count(Math.max(0, outcome.iteration - next + 1 - (snapshot?.iterations ?? 0)));
    restarts++;
    if (outcome.kind === 'hang') stats.hang(outcome.iteration, `no progress for ${watchdogMs} ms (worker terminated; synchronous stall or lost promise)`);
    else stats.crash(outcome.iteration, outcome.error);
    if (Atomics.load(beat, 1) === 0) {
      // the campaign never reached its first input: its set-up failed, a restart would too
      stats.notes.push('campaign set-up failed; not restarted');
      stoppedBy = 'aborted';
      break;
    }
    next = (Math.floor(outcome.iteration / campaign.episodeLength) + 1) * campaign.episodeLength;
    if (Date.now() >= deadline) {
      stoppedBy = 'budget';
      break;
    }
  }
  return stats.result({ fromIteration: from, requestedIterations: end - from, elapsedMs: Date.now() - started, stoppedBy, restarts });
}

function pad(s: string, n: number, right = false): string {
  return right ? s.padStart(n) : s.padEnd(n);
}

export function formatTable(results: readonly TargetResult[]): string {
  const rows = results.map((r) => {
    const rate = r.elapsedMs > 0 ? Math.round((r.iterations / r.elapsedMs) * 1000) : 0;
    const top = Object.entries(r.rejections)
      .slice(0, 4)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    const more = Object.keys(r.rejections).length > 4 ? `, +${Object.keys(r.rejections).length - 4} classes` : '';
    return [r.target, String(r.iterations), `${rate}/s`, String(r.accepted), String(r.crashes), String(r.hangs), String(r.invariantViolations), `${(r.elapsedMs / 1000).toFixed(1)}s`, r.stoppedBy, top + more];
  });
  const head = ['target', 'iterations', 'rate', 'accepted', 'crashes', 'hangs', 'invariant', 'time', 'stop', 'rejections (top classes)'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => pad(c, widths[i]!, i >= 1 && i <= 7)).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** The committed summary the README includes (bench/lib/readme-include.ts): machine, date, command, one row per target. */
export function formatMarkdown(report: { seed: number; budgetSeconds: number; machine: string; loadAverage: { start: string; end: string }; startedAt: string; elapsedMs: number; argv: readonly string[]; results: readonly TargetResult[] }): string {
  const n = (x: number): string => x.toLocaleString('en-US');
  const rows = report.results.map((r) => {
    const rate = r.elapsedMs > 0 ? Math.round((r.iterations / r.elapsedMs) * 1000) : 0;
    return `| ${r.target} | ${n(r.iterations)} | ${n(rate)}/s | ${r.crashes} | ${r.hangs} | ${r.invariantViolations} | ${r.stoppedBy} |`;
  });
  const clean = report.results.every((r) => !r.crashes && !r.hangs && !r.invariantViolations);
  return [
    `Written by \`npm run fuzz${report.argv.length ? ` -- ${report.argv.join(' ')}` : ''}\` (fuzz/run.ts) on ${report.startedAt.slice(0, 16).replace('T', ' ')} UTC, ${(report.elapsedMs / 1000).toFixed(0)} s; seed ${report.seed}, budget ${report.budgetSeconds} s;`,
    `${report.machine}; load average ${report.loadAverage.start} at start, ${report.loadAverage.end} at the end. ${clean ? 'No crash, hang or invariant violation.' : 'FINDINGS: see fuzz/results/latest.json.'}`,
    `Rejection classes per target: fuzz/results/latest.json.`,
    '',
    '| target | iterations | rate | crashes | hangs | invariant violations | stopped by |',
    '|---|---:|---:|---:|---:|---:|---|',
    ...rows,
  ].join('\n');
}

function formatFindings(results: readonly TargetResult[]): string {
  const out: string[] = [];
  for (const r of results)
    for (const f of r.findings) {
      out.push(`[${f.kind}] ${f.target} seed ${f.seed} iteration ${f.iteration} (x${f.count}): ${f.error}`);
      if (f.input) out.push(`    input: ${f.input.slice(0, 300)}`);
      if (f.stack) out.push(...f.stack.split('\n').slice(1, 5).map((l) => `    ${l.trim()}`));
      out.push(`    replay: ${f.reproduce}`);
    }
  return out.join('\n');
}

export async function main(argv: readonly string[]): Promise<number> {
  let o: CliOptions;
  try {
    o = parseArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(e.message);
      return 2;
    }
    throw e;
  }
  if (o.list) {
    for (const c of CAMPAIGNS) console.log(`${pad(c.name, 16)} ${pad(String(c.defaultIterations), 8, true)} ${pad(c.unit + 's', 9)} ${c.description}`);
    return 0;
  }
  const selected = o.only.length ? CAMPAIGNS.filter((c) => o.only.includes(c.name)) : [...CAMPAIGNS];
  const machine = `${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} cores, Node ${process.version}`;
  const load = (): string => loadavg().map((l) => l.toFixed(1)).join(' ');
  const loadAtStart = load();
  console.log(`bridgelab fuzz: seed ${o.seed}, budget ${o.budgetSeconds} s, ${selected.length} target(s), ${o.inProcess ? 'in process' : 'worker threads'}; ${machine}; load ${loadAtStart}`);
  const results: TargetResult[] = [];
  const started = Date.now();
  const deadline = started + o.budgetSeconds * 1000;
  let remainingWeight = selected.reduce((n, c) => n + c.weight, 0);
  for (const c of selected) {
    const count = o.counts.get(c.name) ?? o.counts.get('*') ?? c.defaultIterations;
    // this target's share of what is left of the budget (time a fast target leaves rolls over)
    const budgetMs = Math.max(1000, ((deadline - Date.now()) * c.weight) / remainingWeight);
    remainingWeight -= c.weight;
    process.stdout.write(`  ${pad(c.name, 16)} ${count} ${c.unit}s from ${o.fromIteration}, up to ${(budgetMs / 1000).toFixed(0)} s ... `);
    const r = o.inProcess ? await runInProcess(c, { seed: o.seed, from: o.fromIteration, count, budgetMs }) : await runInWorker(c, o.seed, o.fromIteration, count, budgetMs, o.watchdogSeconds * 1000);
    results.push(r);
    console.log(`${r.iterations} in ${(r.elapsedMs / 1000).toFixed(1)} s, ${r.crashes} crash(es), ${r.hangs} hang(s), ${r.invariantViolations} invariant violation(s)${r.stoppedBy === 'budget' ? ' (stopped by the time budget)' : ''}`);
  }
  console.log('');
  console.log(formatTable(results));
  console.log(`total ${((Date.now() - started) / 1000).toFixed(1)} s; load average ${loadAtStart} at start, ${load()} at the end`);
  const findings = formatFindings(results);
  if (findings) console.log(`\nfindings:\n${findings}`);
  const notes = results.flatMap((r) => r.notes.map((n) => `${r.target}: ${n}`));
  if (notes.length) console.log(`\nnotes:\n${notes.map((n) => `  ${n}`).join('\n')}`);
  const report = { seed: o.seed, budgetSeconds: o.budgetSeconds, machine, loadAverage: { start: loadAtStart, end: load() }, startedAt: new Date(started).toISOString(), elapsedMs: Date.now() - started, argv: [...argv], results };
  mkdirSync(dirname(o.output), { recursive: true });
  writeFileSync(o.output, JSON.stringify(report, null, 1) + '\n');
  writeFileSync(o.output.replace(/\.json$/, '') + '.md', formatMarkdown(report) + '\n');
  console.log(`\nresults: ${o.output}`);
  if (o.output === RESULTS) console.log(readmeRefreshed('fuzz/results/latest.md'));
  return results.some((r) => r.crashes || r.hangs || r.invariantViolations) ? 1 : 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = await main(process.argv.slice(2));
