// SM-DP+ throughput (SGP.22 ES9+ under load): complete downloads per second with N
// virtual devices at once, each its own software eUICC (in memory: no NVM writes on the
// device side, so that the devices' disk does not count against the server) driven by
// its own test LPA directly (no bridge), all against one SM-DP+ over loopback HTTPS. The
// SM-DP+ runs in its own process (as a server does; on a 2-core machine it gets one core,
// the devices the other). Reported: downloads/s over the measured window, download
// latency, the LPA-side latency of every ES9+ function (TLS connection included) and the
// server-side handler time, and CPU ms per download on each side (which side is the limit).
import { join } from 'node:path';
import { createEuicc, type Euicc } from '../sim/euicc/euicc.ts';
import { Lpa } from '../sim/lpa/flows.ts';
import { SmdpProcess } from '../sim/campaign/processes.ts';
import { DEFAULT_TEMPLATE, lpaHttp } from './lib/rig.ts';
import { summarize, type Summary } from './lib/stats.ts';
import { cpuMsSince, HttpTimer } from './lib/timing.ts';

export interface ThroughputOptions {
  readonly concurrency: readonly number[];
  /** downloads measured at a concurrency */
  readonly downloads: (concurrency: number) => number;
  readonly template?: string;
  readonly workDir: string;
  readonly log?: (line: string) => void;
  /** extra node options of the SM-DP+ process (--cpu-prof ...) */
  readonly smdpExecArgv?: readonly string[];
}

export interface FunctionLatency {
  /** LPA side: TCP + TLS handshake + request + server + response */
  readonly client: Summary;
  /** server side: request start -> response finished */
  readonly server: Summary;
}

export interface ThroughputResult {
  readonly concurrency: number;
  readonly downloads: number;
  readonly failures: number;
  readonly firstFailure?: string;
  readonly wallMs: number;
  readonly downloadsPerSecond: number;
  readonly latency: Summary;
  readonly es9: Readonly<Record<string, FunctionLatency>>;
  readonly smdpCpuMsPerDownload: number;
  readonly devicesCpuMsPerDownload: number;
}

function inMemoryEuicc(): Promise<Euicc> {
  return createEuicc({ identity: 'both', svn: '2.5.0' });
}

async function oneDownload(euicc: Euicc, activationCode: string, smdp: SmdpProcess, http: HttpTimer): Promise<void> {
  const lpa = await Lpa.open(euicc, { http: lpaHttp({ trustAnchorPem: smdp.trustAnchorPem, port: smdp.port }, http) });
  try {
    const r = await lpa.downloadProfile(activationCode);
    if (!euicc.state.profile(r.iccid)) throw new Error(`${r.iccid} is not installed`);
  } finally {
    await lpa.close();
  }
}

export async function benchThroughput(o: ThroughputOptions): Promise<ThroughputResult[]> {
  const log = o.log ?? (() => undefined);
  const warmup = 8;
  const total = o.concurrency.reduce((n, c) => n + o.downloads(c), 0) + warmup;
  const smdp = new SmdpProcess({ dataDir: join(o.workDir, 'smdp-throughput'), template: o.template ?? DEFAULT_TEMPLATE, count: total + 4 }, o.smdpExecArgv ?? []);
  await smdp.start();
  const results: ThroughputResult[] = [];
  try {
    // warm-up (JIT and caches on both sides), not measured
    const warm = await smdp.orders(warmup);
    await Promise.all(warm.map(async (order) => oneDownload(await inMemoryEuicc(), order.activationCode, smdp, new HttpTimer())));

    for (const c of o.concurrency) {
      const n = o.downloads(c);
      const devices = await Promise.all(Array.from({ length: n }, () => inMemoryEuicc()));
      const orders = await smdp.orders(n);
      const http = new HttpTimer();
      await smdp.stats(); // reset the server counters
      const latencies: number[] = [];
      let failures = 0;
      let firstFailure: string | undefined;
      let next = 0;
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const worker = async (): Promise<void> => {
        for (;;) {
          const i = next++;
          if (i >= n) return;
          const start = performance.now();
          try {
            await oneDownload(devices[i]!, orders[i]!.activationCode, smdp, http);
            latencies.push(performance.now() - start);
          } catch (e) {
            failures++;
            firstFailure ??= e instanceof Error ? `${e.name}: ${e.message}` : String(e);
          }
        }
      };
      await Promise.all(Array.from({ length: c }, () => worker()));
      const wallMs = performance.now() - t0;
      const devicesCpu = cpuMsSince(cpu0);
      const server = await smdp.stats();
      const client = new Map<string, number[]>();
      for (const s of http.take()) client.set(s.fn, [...(client.get(s.fn) ?? []), s.ms]);
      const es9: Record<string, FunctionLatency> = {};
      for (const [fn, ms] of client) es9[fn] = { client: summarize(ms), server: summarize(server.handlerMs[fn] ?? []) };
      const ok = n - failures;
      const r: ThroughputResult = {
        concurrency: c,
        downloads: ok,
        failures,
        ...(firstFailure !== undefined ? { firstFailure } : {}),
        wallMs,
        downloadsPerSecond: ok / (wallMs / 1000),
        latency: summarize(latencies),
        es9,
        smdpCpuMsPerDownload: server.cpuMs / Math.max(1, ok),
        devicesCpuMsPerDownload: devicesCpu / Math.max(1, ok),
      };
      log(`throughput c=${c}: ${r.downloadsPerSecond.toFixed(1)} downloads/s (${ok}/${n} in ${(wallMs / 1000).toFixed(1)} s), SM-DP+ CPU ${r.smdpCpuMsPerDownload.toFixed(1)} ms/download, devices ${r.devicesCpuMsPerDownload.toFixed(1)} ms/download`);
      results.push(r);
      await Promise.all(devices.map((d) => d.close()));
    }
  } finally {
    await smdp.close();
  }
  return results;
}
