// CLI of the power-loss campaign (power-loss.ts):
//   npx tsx sim/campaign/run.ts [--side euicc|smdp|both] [--points all|1,2,40-60]
//                               [--work DIR] [--json FILE] [--keep]
// --points picks the eUICC kill points (APDU numbers; default all N of a download); the
// SM-DP+ side always runs every ES9+ call in both modes. Prints a line per kill point and
// the outcome counts; exit code 0 when every point passed its checks, 1 otherwise.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { euiccPowerLossCampaign, smdpPowerLossCampaign, type EuiccCampaignResult, type SmdpCampaignResult } from './power-loss.ts';

function parsePoints(spec: string): (n: number) => number[] {
  if (spec === 'all') return (n) => Array.from({ length: n }, (_, i) => i + 1);
  const out: number[] = [];
  for (const part of spec.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new Error(`--points: '${part}' is not a number or a range`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    for (let i = a; i <= b; i++) out.push(i);
  }
  return (n) => out.filter((k) => k <= n);
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { side: { type: 'string', default: 'both' }, points: { type: 'string', default: 'all' }, work: { type: 'string' }, json: { type: 'string' }, keep: { type: 'boolean' } } });
  const side = values.side!;
  if (!['euicc', 'smdp', 'both'].includes(side)) throw new Error(`--side must be euicc, smdp or both, got '${side}'`);
  const pick = parsePoints(values.points!);
  const work = values.work ?? mkdtempSync(join(tmpdir(), 'bridgelab-power-loss-'));
  const log = (line: string) => void process.stdout.write(`${line}\n`);
  let euicc: EuiccCampaignResult | undefined;
  let smdp: SmdpCampaignResult | undefined;
  const t0 = performance.now();
  try {
    if (side !== 'smdp') {
      log('== eUICC killed (SIGKILL) after each APDU of a TS.48 download, restarted from its state file');
      euicc = await euiccPowerLossCampaign({ workDir: join(work, 'euicc'), points: (n) => pick(n), log });
      const c = euicc.counts;
      log(`eUICC: N = ${euicc.apdusPerDownload} APDUs per download, ${euicc.points.length} kill points: ${c.complete} complete profile, ${c.none} no profile; recovered by retry with the same order ${c.recoveredSameOrder}, with a new order ${c.recoveredNewOrder}, not recovered ${c.failed}; points with problems ${c.withProblems}`);
    }
    if (side !== 'euicc') {
      log('== SM-DP+ killed (SIGKILL) after each ES9+ call, restarted from its data dir');
      smdp = await smdpPowerLossCampaign({ workDir: join(work, 'smdp'), log });
      const c = smdp.counts;
      log(`SM-DP+: ${smdp.points.length} kill points: download continued in the same session ${c.continued}, retried with the same order ${c.sameOrder}, with a new order ${c.newOrder}, failed ${c.failed}; points with problems ${c.withProblems}`);
    }
  } finally {
    if (!values.keep && !values.work) rmSync(work, { recursive: true, force: true });
  }
  log(`campaign time ${Math.round((performance.now() - t0) / 1000)} s`);
  if (values.json) writeFileSync(values.json, `${JSON.stringify({ euicc, smdp }, null, 1)}\n`);
  const problems = (euicc?.counts.withProblems ?? 0) + (smdp?.counts.withProblems ?? 0) + (euicc?.counts.failed ?? 0) + (smdp?.counts.failed ?? 0);
  return problems === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`power-loss campaign: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(2);
  },
);
