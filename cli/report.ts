// `bridgelab report merge`: joins the reports of sharded certify runs
// (`certify --shard i/n` on several CI machines) into one report directory with
// one summary.json, junit.xml and HTML report, as if the run had not been split.
import { cpSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { UsageError } from './errors.ts';
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

export async function reportCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'merge') throw new UsageError("usage: bridgelab report merge SHARD_DIR... --out DIR [--no-html]");
  let parsed;
  try {
    parsed = parseArgs({ args: rest, allowPositionals: true, options: { out: { type: 'string' }, 'no-html': { type: 'boolean' } } });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (!parsed.values.out || parsed.positionals.length === 0) throw new UsageError('usage: bridgelab report merge SHARD_DIR... --out DIR [--no-html]');
  return mergeReports(parsed.positionals.map((p) => resolve(p)), resolve(parsed.values.out), !parsed.values['no-html'], (s) => void process.stdout.write(s));
}
