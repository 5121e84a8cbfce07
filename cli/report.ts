// `bridgelab report`: work on finished certify reports.
//   merge: joins the reports of sharded certify runs (`certify --shard i/n` on several CI
//          machines) into one report directory with one summary.json, junit.xml and
//          report.html, as if the run had not been split.
//   compare: totals of two reports, regressions and fixes with their reasons, warnings when
//          the runs differ in rig, bridge or capabilities (cli/report/compare.ts); exit 1
//          when a bridge case regressed.
import { cpSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { HelpRequested, UsageError } from './errors.ts';
import { writeComparison } from './report/compare.ts';
import { verdictTable, writeReport } from './report/summary.ts';
import { parseRig, type Rig } from '../rigs/rig.ts';
import { bridgeExitCode, readCaseResults } from '../suites/framework/verdict.ts';

interface ShardSummary {
  startedAt: string;
  rig: { source: string; definition: unknown };
  personalities: string[];
}

export async function mergeReports(shards: string[], outDir: string, html: boolean, out: (s: string) => void): Promise<number> {
  const metas: ShardSummary[] = shards.map((d) => {
    const file = join(d, 'summary.json');
    if (!existsSync(file)) throw new UsageError(`'${d}' is not a certify report (no summary.json)`);
    return JSON.parse(readFileSync(file, 'utf8')) as ShardSummary;
  });
  const rig: Rig = parseRig(metas[0]!.rig.definition, `${shards[0]}/summary.json`);
  if (metas.some((m) => JSON.stringify(m.rig.definition) !== JSON.stringify(metas[0]!.rig.definition)))
    throw new UsageError('the shards were run on different rigs; merge only shards of one certify run');
  mkdirSync(outDir, { recursive: true });
  for (const d of shards) {
    for (const sub of ['cases', 'allure-results']) if (existsSync(join(d, sub))) cpSync(join(d, sub), join(outDir, sub), { recursive: true });
    if (existsSync(join(d, 'identity.json'))) cpSync(join(d, 'identity.json'), join(outDir, 'identity.json'));
  }
  const results = readCaseResults(outDir);
  const t = writeReport(outDir, results, {
    startedAt: new Date(Math.min(...metas.map((m) => Date.parse(m.startedAt)))),
    rig,
    rigSource: metas[0]!.rig.source,
    personalities: [...new Set(metas.flatMap((m) => m.personalities))],
    html,
  }, out);
  out(`${verdictTable(results)}\nmerged ${shards.length} reports into ${outDir}: ${t.Pass} pass, ${t.Fail} fail, ${t.Inconclusive} inconclusive, ${t['N/A']} n/a\n`);
  return bridgeExitCode(results);
}

const HELP = `usage: bridgelab report compare OLD_REPORT NEW_REPORT [--json]
       bridgelab report merge SHARD_DIR... --out DIR [--no-html]

  compare   totals of both reports, the bridge cases that regressed and those fixed (with
            the reason), cases whose applicability changed, self-check changes apart; warns
            when the runs used different rigs, bridges, capabilities or personalities.
            --json prints the comparison as JSON.
  merge     joins the reports of sharded certify runs (certify --shard i/n) into DIR.
Exit codes: compare 1 when a bridge case regressed; merge 1 when a bridge case did not
pass; 2 usage (e.g. a directory without summary.json); 0 otherwise.`;

/** parseArgs' errors are usage errors. */
function asUsage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n${HELP}`);
  }
}

export async function reportCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  const out = (s: string) => void process.stdout.write(s);
  if (sub === undefined) throw new UsageError(HELP);
  if (sub === '--help' || sub === '-h' || sub === 'help') throw new HelpRequested(HELP);
  if (sub === 'compare') {
    const { values, positionals } = asUsage(() => parseArgs({ args: rest, allowPositionals: true, options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } }));
    if (values.help) throw new HelpRequested(HELP);
    if (positionals.length !== 2) throw new UsageError(`report compare needs OLD_REPORT and NEW_REPORT, got ${positionals.length} directories\n${HELP}`);
    return writeComparison(resolve(positionals[0]!), resolve(positionals[1]!), out, { json: values.json === true });
  }
  if (sub === 'merge') {
    const { values, positionals } = asUsage(() => parseArgs({ args: rest, allowPositionals: true, options: { out: { type: 'string' }, 'no-html': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } }));
    if (values.help) throw new HelpRequested(HELP);
    if (typeof values.out !== 'string' || positionals.length === 0) throw new UsageError(HELP);
    return mergeReports(positionals.map((p) => resolve(p)), resolve(values.out), !values['no-html'], out);
  }
  throw new UsageError(`unknown report command '${sub}'\n${HELP}`);
}
