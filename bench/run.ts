// `npm run bench`: bridgelab's benchmarks on the virtual rig (not part of `npm test`).
// Sections (all by default; --only picks some):
//   direct      TS.48 download, LPA -> in-process eUICC, unthrottled (download.ts)
//   bridge      the same through vpcd -> reference bridge -> PTY fake modem (timeScale 0)
//   uart        the bridge path at 115200 baud, next to the wire-time floor
//   pcscd       the same download from a PC/SC LPA through pcscd + vpcd (pcscd.ts), with
//               and without the bridge's TCP_QUICKACK, next to the bridge's AT round trips
//   throughput  SM-DP+ downloads/s with 1, 8 and 64 concurrent virtual devices
//   apdu        eUICC APDU rates: GetProfilesInfo, BPP segment processing
//   certify     `bridgelab certify` wall time per personality (virtual rig, no HTML)
//   report      writing the report of a full run (1626 cases: summary.json, junit.xml, report.html)
// Prints tables (with the machine) and writes bench/results/latest.json (+ latest.md).
// Options: --quick, --only a,b  --runs N  --uart-runs N  --personality p1,p2|all
//          --tmp DIR  --out FILE  --profile-smdp DIR (CPU profile of the SM-DP+ process)
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { listPersonalities } from '../cli/certify.ts';
import { benchDownloads, type DownloadRun } from './download.ts';
import { benchThroughput, type ThroughputResult } from './throughput.ts';
import { benchGetProfilesInfo, bppRate, type BppRate, type GetProfilesInfoRate } from './apdu-rate.ts';
import { timeCertify, type CertifyTiming } from './certify-time.ts';
import { benchReportHtml, type ReportTiming } from './report-html.ts';
import { benchPcscd, type PcscdBench } from './pcscd.ts';
import { machineInfo } from './lib/machine.ts';
import { readmeRefreshed } from './lib/readme-include.ts';
import { round, summarize, type Summary } from './lib/stats.ts';
import { markdown, table, type Cell } from './lib/table.ts';

const SECTIONS = ['direct', 'bridge', 'uart', 'pcscd', 'throughput', 'apdu', 'certify', 'report'] as const;
type Section = (typeof SECTIONS)[number];
const HERE = dirname(fileURLToPath(import.meta.url));
const DEFAULT_OUT = join(HERE, 'results', 'latest.json');

const TARGETS = {
  downloadMedianMs: 150,
  /** PC/SC LPA download through pcscd within this factor of the bridge's AT round-trip sum */
  pcscdOverAt: 1.2,
  uartRatio: 1.15,
  throughputAt64: 100,
  certifyMs: 60_000,
  reportWriteMs: 5_000,
} as const;

interface ScenarioSummary {
  readonly runs: number;
  readonly totalMs: Summary;
  readonly cpuMs: Summary;
  readonly euiccMs: Summary;
  readonly smdpMs: Summary;
  readonly es10LinkMs: Summary;
  readonly httpsMs: Summary;
  readonly lpaMs: Summary;
  readonly apdus: number;
  readonly wire?: { readonly bytes: number; readonly floorMs: number; readonly ratio: Summary };
  /** medians over the runs of DownloadRun.at */
  readonly at?: { readonly exchanges: number; readonly commandMs: number; readonly commandWireMs: number; readonly modemMs: number; readonly responseMs: number; readonly responseWireMs: number };
}

function scenario(runs: readonly DownloadRun[]): ScenarioSummary {
  const s = (k: 'totalMs' | 'cpuMs' | 'euiccMs' | 'smdpMs' | 'es10LinkMs' | 'httpsMs' | 'lpaMs') => summarize(runs.map((r) => r[k]));
  const wired = runs.filter((r) => r.wire);
  return {
    runs: runs.length,
    totalMs: s('totalMs'),
    cpuMs: s('cpuMs'),
    euiccMs: s('euiccMs'),
    smdpMs: s('smdpMs'),
    es10LinkMs: s('es10LinkMs'),
    httpsMs: s('httpsMs'),
    lpaMs: s('lpaMs'),
    apdus: runs[0]?.apdus ?? 0,
    ...(wired.length
      ? { wire: { bytes: wired[0]!.wire!.bytes, floorMs: wired[0]!.wire!.floorMs, ratio: summarize(wired.map((r) => r.totalMs / r.wire!.floorMs)) } }
      : {}),
    ...(runs.every((r) => r.at)
      ? (() => {
          const m = (f: (a: NonNullable<DownloadRun['at']>) => number) => summarize(runs.map((r) => f(r.at!))).median;
          return { at: { exchanges: m((a) => a.exchanges), commandMs: m((a) => a.commandMs), commandWireMs: m((a) => a.commandWireMs), modemMs: m((a) => a.modemMs), responseMs: m((a) => a.responseMs), responseWireMs: m((a) => a.responseWireMs) } };
        })()
      : {}),
  };
}

function parse(): { sections: Section[]; runs: number; uartRuns: number; personalities: string[]; tmp: string; out: string; quick: boolean; profileSmdp?: string } {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean' },
      only: { type: 'string' },
      runs: { type: 'string' },
      'uart-runs': { type: 'string' },
      personality: { type: 'string' },
      tmp: { type: 'string' },
      out: { type: 'string' },
      'profile-smdp': { type: 'string' },
    },
  });
  const quick = values.quick ?? false;
  const sections = values.only ? values.only.split(',').map((s) => s.trim()) : [...SECTIONS];
  for (const s of sections) if (!(SECTIONS as readonly string[]).includes(s)) throw new Error(`--only: unknown section '${s}' (known: ${SECTIONS.join(', ')})`);
  const known = listPersonalities();
  const p = values.personality ?? (quick ? 'quectel-ec25j' : 'all');
  const personalities = p === 'all' ? known : p.split(',');
  for (const x of personalities) if (!known.includes(x)) throw new Error(`--personality: unknown '${x}' (known: ${known.join(', ')})`);
  const int = (v: string | undefined, d: number, name: string) => {
    if (v === undefined) return d;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
    return n;
  };
  return {
    sections: sections as Section[],
    runs: int(values.runs, quick ? 10 : 50, 'runs'),
    uartRuns: int(values['uart-runs'], quick ? 3 : 50, 'uart-runs'),
    personalities,
    tmp: values.tmp ?? tmpdir(),
    out: values.out ?? DEFAULT_OUT,
    quick,
    ...(values['profile-smdp'] ? { profileSmdp: values['profile-smdp'] } : {}),
  };
}

async function main(): Promise<void> {
  const o = parse();
  const machine = machineInfo();
  const work = mkdtempSync(join(o.tmp, 'bridgelab-bench-'));
  const say = (s: string) => void process.stderr.write(`${s}\n`);
  const startedAt = new Date();
  say(`bridgelab bench: ${machine.cpus} x ${machine.model}, ${machine.memoryMiB} MiB, node ${machine.node}, load ${machine.loadAverage.join(' ')}; work dir ${work}`);
  const progress = (label: string) => (i: number, r: DownloadRun) => {
    if (i % 10 === 9 || i === 0) say(`  ${label} run ${i + 1}: ${Math.round(r.totalMs)} ms`);
  };

  const downloads: Partial<Record<'direct' | 'bridge' | 'uart115200', ScenarioSummary>> = {};
  let bpp: BppRate | undefined;
  let throughput: ThroughputResult[] | undefined;
  let gpi: GetProfilesInfoRate[] | undefined;
  const certify: CertifyTiming[] = [];
  let report: ReportTiming | undefined;
  let pcscd: PcscdBench | undefined;
  try {
    let directRuns: DownloadRun[] | undefined;
    if (o.sections.includes('direct') || o.sections.includes('apdu')) {
      say(`direct: ${o.runs} downloads, LPA -> eUICC in process`);
      directRuns = await benchDownloads({ mode: 'direct', runs: o.runs, warmup: 3, baud: null, personality: 'quectel-ec25j', workDir: join(work, 'direct'), onRun: progress('direct') });
      downloads.direct = scenario(directRuns);
    }
    if (o.sections.includes('bridge')) {
      say(`bridge: ${o.runs} downloads, LPA -> vpcd -> bridge -> PTY modem (quectel-ec25j, timeScale 0) -> eUICC`);
      downloads.bridge = scenario(await benchDownloads({ mode: 'bridge', runs: o.runs, warmup: 3, baud: null, personality: 'quectel-ec25j', workDir: join(work, 'bridge'), onRun: progress('bridge') }));
    }
    if (o.sections.includes('uart')) {
      say(`uart: ${o.uartRuns} downloads through the bridge at 115200 baud`);
      downloads.uart115200 = scenario(await benchDownloads({ mode: 'bridge', runs: o.uartRuns, warmup: 1, baud: 115200, personality: 'quectel-ec25j', workDir: join(work, 'uart'), onRun: progress('uart') }));
    }
    if (o.sections.includes('pcscd')) {
      say(`pcscd: ${o.runs} downloads each with and without TCP_QUICKACK, PC/SC LPA (lpac-pcsc) -> pcscd -> vpcd -> bridge -> PTY modem -> eUICC`);
      pcscd = await benchPcscd({ runs: o.runs, workDir: join(work, 'pcscd'), log: say });
      if (pcscd.unavailable) say(`  pcscd: skipped: ${pcscd.unavailable}`);
    }
    if (o.sections.includes('apdu')) {
      if (directRuns) bpp = bppRate(directRuns);
      say('apdu: GetProfilesInfo rates');
      gpi = [];
      for (const profiles of [1, 8]) gpi.push(await benchGetProfilesInfo({ workDir: join(work, `gpi-${profiles}`), profiles, durationMs: o.quick ? 1000 : 3000 }));
    }
    if (o.sections.includes('throughput')) {
      say('throughput: 1, 8, 64 concurrent devices against one SM-DP+ process');
      throughput = await benchThroughput({
        concurrency: [1, 8, 64],
        downloads: (c) => (o.quick ? Math.max(10, c) : Math.max(50, c * 4)),
        workDir: work,
        log: say,
        ...(o.profileSmdp ? { smdpExecArgv: ['--cpu-prof', `--cpu-prof-dir=${o.profileSmdp}`] } : {}),
      });
    }
    if (o.sections.includes('certify')) {
      for (const p of o.personalities) {
        say(`certify: ${p}`);
        const r = await timeCertify(p, join(work, 'certify'));
        say(`  ${p}: ${r.error ?? `${Math.round(r.wallMs / 1000)} s, ${r.cases} cases`}`);
        certify.push(r);
      }
    }
    if (o.sections.includes('report')) {
      say('report: writing the report of 1626 synthetic cases');
      report = benchReportHtml(join(work, 'report'));
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }

  // ---- report -------------------------------------------------------------------------
  const md: string[] = [];
  const out: string[] = [];
  const emit = (title: string, header: string[], rows: Cell[][]) => {
    out.push(`\n${title}\n${table(header, rows)}`);
    md.push(`\n**${title}**\n\n${markdown(header, rows)}`);
  };
  out.push(`machine: ${machine.cpus} x ${machine.model}, ${machine.memoryMiB} MiB RAM, node ${machine.node}, ${machine.platform}/${machine.arch} ${machine.kernel}; load average at start ${machine.loadAverage.join(' ')}, at end ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const argv = process.argv.slice(2);
  md.push(`Written by \`npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}\` (bench/run.ts) on ${startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC, ${((Date.now() - startedAt.getTime()) / 1000).toFixed(0)} s; what each column means: bench/README.md.`);
  md.push(`\n${out[0]!}`);

  const names = { direct: 'in-process (LPA -> eUICC)', bridge: 'vpcd -> bridge -> PTY modem', uart115200: 'same at 115200 baud' } as const;
  const dl = Object.entries(downloads) as [keyof typeof names, ScenarioSummary][];
  if (dl.length)
    emit(
      'TS.48 download, end to end (ms; median unless noted; CPU = this process, all parts in it)',
      ['path', 'runs', 'median', 'p95', 'min', 'CPU', 'eUICC', 'SM-DP+', 'ES10 link', 'HTTPS', 'LPA', 'APDUs'],
      dl.map(([k, s]) => [names[k], s.runs, s.totalMs.median, s.totalMs.p95, s.totalMs.min, s.cpuMs.median, s.euiccMs.median, s.smdpMs.median, s.es10LinkMs.median, s.httpsMs.median, s.lpaMs.median, s.apdus]),
    );
  const u = downloads.uart115200;
  if (u?.wire)
    emit('115200 baud: download time against the wire-time floor (bytes both ways x 10 / baud)', ['runs', 'bytes on the wire', 'floor ms', 'median ms', 'p95 ms', 'ratio median', 'ratio p95'], [[u.runs, u.wire.bytes, u.wire.floorMs, u.totalMs.median, u.totalMs.p95, u.wire.ratio.median, u.wire.ratio.p95]]);
  if (u?.at)
    emit(
      '115200 baud: where the time over the floor goes (sums over one download, medians; ms)',
      ['AT exchanges', 'command line: measured', 'wire', 'modem + card', 'response: measured', 'wire', 'outside the serial line'],
      [[u.at.exchanges, u.at.commandMs, u.at.commandWireMs, u.at.modemMs, u.at.responseMs, u.at.responseWireMs, u.totalMs.median - u.at.commandMs - u.at.modemMs - u.at.responseMs]],
    );
  const pcscdRows = (quickAck: boolean) => {
    const rs = (pcscd?.runs ?? []).filter((r) => r.quickAck === quickAck);
    if (!rs.length) return undefined;
    const total = summarize(rs.map((r) => r.totalMs));
    const at = summarize(rs.map((r) => r.atSumMs));
    const per = summarize(rs.map((r) => r.perApduMs));
    const ratio = summarize(rs.map((r) => r.totalMs / r.atSumMs));
    return { rs, total, at, per, ratio };
  };
  const qa = pcscdRows(true);
  const noQa = pcscdRows(false);
  if (qa || noQa)
    emit(
      'PC/SC LPA (lpac-pcsc profile) -> pcscd -> vpcd -> bridge -> PTY modem: TS.48 download against the sum of its AT round trips (medians, ms)',
      ['bridge vpcd socket', 'runs', 'download', 'p95', 'APDUs', 'per APDU at the LPA', 'AT exchanges', 'AT round-trip sum', 'download / AT sum', 'p95'],
      [
        ...(qa ? [['TCP_QUICKACK (default)', qa.rs.length, qa.total.median, qa.total.p95, qa.rs[0]!.apdus, qa.per.median, qa.rs[0]!.atExchanges, qa.at.median, qa.ratio.median, qa.ratio.p95] as Cell[]] : []),
        ...(noQa ? [['delayed ACK (--no-quickack)', noQa.rs.length, noQa.total.median, noQa.total.p95, noQa.rs[0]!.apdus, noQa.per.median, noQa.rs[0]!.atExchanges, noQa.at.median, noQa.ratio.median, noQa.ratio.p95] as Cell[]] : []),
      ],
    );
  if (throughput) {
    emit(
      'SM-DP+ throughput (one SM-DP+ process, N devices each with its own in-memory eUICC, direct LPA, loopback HTTPS)',
      ['devices', 'downloads', 'failed', 'downloads/s', 'latency median ms', 'latency p95 ms', 'SM-DP+ CPU ms/dl', 'devices CPU ms/dl'],
      throughput.map((t) => [t.concurrency, t.downloads, t.failures, t.downloadsPerSecond, t.latency.median, t.latency.p95, t.smdpCpuMsPerDownload, t.devicesCpuMsPerDownload]),
    );
    const fns = ['initiateAuthentication', 'authenticateClient', 'getBoundProfilePackage', 'handleNotification'];
    emit(
      'ES9+ latency p95 per function, ms (LPA side incl. TLS connection / SM-DP+ handler)',
      ['devices', ...fns],
      throughput.map((t) => [t.concurrency, ...fns.map((f) => (t.es9[f] ? `${round(t.es9[f]!.client.p95)} / ${round(t.es9[f]!.server.p95)}` : '-'))]),
    );
  }
  if (gpi || bpp) {
    const rows: Cell[][] = [];
    for (const g of gpi ?? []) rows.push([`GetProfilesInfo, ${g.profiles} profile(s) (${g.responseBytes} B response)`, g.apdusPerSecond, `${round(g.callsPerSecond)} calls/s incl. LPA codec`]);
    if (bpp) {
      rows.push([`BPP segment processing (${round(bpp.apdusPerDownload)} STORE DATA APDUs, ${round(bpp.bytesPerDownload / 1024)} KiB per BPP), all but the last`, bpp.segmentApdusPerSecond, `mean ${round(bpp.segmentApduMs.mean * 1000)} us/APDU (ISCR, MAC checks, decryption, NVM marker writes)`]);
      rows.push(['BPP, all APDUs incl. the final install', bpp.apdusPerSecond, `${round(bpp.kibPerSecond)} KiB/s; install APDU median ${round(bpp.installApduMs.median)} ms`]);
    }
    emit('eUICC APDU rates (time inside the eUICC, in process)', ['command', 'APDUs/s', 'note'], rows);
  }
  if (certify.length)
    emit(
      'bridgelab certify, virtual rig, --no-html, all suites present (s)',
      ['personality', 'wall s', 'process s', 'cases', 'pass', 'fail', 'inconclusive', 'n/a', 'note'],
      certify.map((c) => [c.personality, c.wallMs / 1000, c.processMs / 1000, c.cases, c.totals.Pass ?? 0, c.totals.Fail ?? 0, c.totals.Inconclusive ?? 0, c.totals['N/A'] ?? 0, c.error ?? `${c.suiteFiles.length} suite files`]),
    );

  if (report)
    emit('certify report of a full run (summary.json + junit.xml + report.html)', ['cases', 'failing', 'write s', 'report.html MB', 'junit.xml MB'], [[report.cases, report.failing, report.writeMs / 1000, report.htmlBytes / 1e6, report.junitBytes / 1e6]]);

  const targets: { target: string; measured: string; met: boolean; factor: number }[] = [];
  const check = (target: string, value: number, limit: number, higherIsBetter: boolean, unit: string) => {
    if (!Number.isFinite(value)) return;
    const met = higherIsBetter ? value >= limit : value <= limit;
    targets.push({ target, measured: `${Number(value.toPrecision(3))} ${unit}`, met, factor: higherIsBetter ? limit / value : value / limit });
  };
  if (downloads.direct) check(`in-process download median < ${TARGETS.downloadMedianMs} ms`, downloads.direct.totalMs.median, TARGETS.downloadMedianMs, false, 'ms');
  if (downloads.bridge) check(`bridge-path download median < ${TARGETS.downloadMedianMs} ms`, downloads.bridge.totalMs.median, TARGETS.downloadMedianMs, false, 'ms');
  if (qa) check(`PC/SC download through pcscd within ${TARGETS.pcscdOverAt}x of its AT round-trip sum`, qa.ratio.median, TARGETS.pcscdOverAt, false, 'x');
  if (u?.wire) check(`115200 baud within ${TARGETS.uartRatio}x of the wire floor`, u.wire.ratio.median, TARGETS.uartRatio, false, 'x');
  const t64 = throughput?.find((t) => t.concurrency === 64);
  if (t64) check(`SM-DP+ >= ${TARGETS.throughputAt64} downloads/s at 64 devices`, t64.downloadsPerSecond, TARGETS.throughputAt64, true, '/s');
  for (const c of certify) check(`certify ${c.personality} < ${TARGETS.certifyMs / 1000} s`, c.wallMs / 1000, TARGETS.certifyMs / 1000, false, 's');
  if (report) check(`report of ${report.cases} cases written in < ${TARGETS.reportWriteMs / 1000} s`, report.writeMs / 1000, TARGETS.reportWriteMs / 1000, false, 's');
  if (targets.length)
    emit('targets', ['target', 'measured', 'met', 'off by'], targets.map((t) => [t.target, t.measured, t.met ? 'yes' : 'NO', t.met ? '-' : `${t.factor.toFixed(2)}x`]));

  process.stdout.write(`${out.join('\n')}\n`);
  mkdirSync(dirname(o.out), { recursive: true });
  const result = {
    tool: 'bridgelab bench',
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    machine,
    loadAverageAtEnd: loadavg().map((l) => Math.round(l * 100) / 100),
    options: { sections: o.sections, runs: o.runs, uartRuns: o.uartRuns, personalities: o.personalities, quick: o.quick },
    targets,
    downloads,
    ...(bpp ? { bpp } : {}),
    ...(gpi ? { getProfilesInfo: gpi } : {}),
    ...(throughput ? { throughput } : {}),
    ...(certify.length ? { certify } : {}),
    ...(report ? { report } : {}),
    ...(pcscd ? { pcscd } : {}),
  };
  writeFileSync(o.out, `${JSON.stringify(result, null, 1)}\n`);
  writeFileSync(o.out.replace(/\.json$/, '') + '.md', `${md.join('\n')}\n`);
  say(`results: ${o.out}`);
  if (o.out === DEFAULT_OUT) say(readmeRefreshed('bench/results/latest.md'));
}

main().catch((e: unknown) => {
  process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
