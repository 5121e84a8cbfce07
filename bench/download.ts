// End-to-end TS.48 profile download on the virtual rig (SGP.22 3.1.3 with an activation
// code: ES10b/ES9+ exchanges, BPP load, install notification delivered and removed), one
// download at a time, each onto a fresh software eUICC, with the wall time split into:
//   eUICC      time inside the eUICC's transmit (ES10 processing, eUICC crypto, NVM writes)
//   SM-DP+     server-side handler time of the ES9+ requests (SM-DP+ crypto, BPP binding, db)
//   ES10 link  LPA-side ES10 transmit time minus eUICC time (vpcd, bridge, AT, PTY, UART)
//   HTTPS      LPA-side ES9+ call time minus SM-DP+ handler time (TCP+TLS, HTTP, loopback)
//   LPA        the rest: the LPA's own encoding/decoding and flow logic
// Modes: 'direct' (LPA -> in-process eUICC) and 'bridge' (LPA -> vpcd -> reference
// bridge -> PTY -> fake modem -> eUICC), the latter optionally with UART pacing, where
// the wire-time floor (bytes both ways x 10 bits / baud) is reported next to the time.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Lpa } from '../sim/lpa/flows.ts';
import { connectVpcdReader } from '../sim/lpa/vpcd-transport.ts';
import type { ApduTransport } from '../sim/apdu/apdu.ts';
import { wireTimeMs } from '../sim/modem/uart.ts';
import { CardSlot, lpaHttp, newEuicc, startBenchSmdp, startSerialChain, statePathFor, type SerialChain } from './lib/rig.ts';
import { cpuMsSince, HttpTimer, ServerTimer, sumMs, TimedTransport, type ApduTiming } from './lib/timing.ts';

export type DownloadMode = 'direct' | 'bridge';

export interface DownloadScenario {
  readonly mode: DownloadMode;
  readonly runs: number;
  /** downloads before the measured ones (JIT, caches, TLS session state of the process) */
  readonly warmup: number;
  /** bridge mode: UART rate of the fake modem (null: unthrottled) */
  readonly baud: number | null;
  /** bridge mode: modem personality */
  readonly personality: string;
  readonly template?: string;
  /** STORE DATA block size of the LPA (the virtual rig's default is 120) */
  readonly blockSize?: number;
  readonly workDir: string;
  readonly onRun?: (i: number, run: DownloadRun) => void;
}

export interface DownloadRun {
  readonly totalMs: number;
  /** CPU time of this process during the download (the SM-DP+, eUICC, bridge and modem all run in it) */
  readonly cpuMs: number;
  readonly euiccMs: number;
  readonly smdpMs: number;
  readonly es10LinkMs: number;
  readonly httpsMs: number;
  readonly lpaMs: number;
  readonly apdus: number;
  readonly httpCalls: number;
  /** APDUs of ES10b.LoadBoundProfilePackage as the eUICC saw them (BPP segment processing) */
  readonly bpp: { readonly apdus: number; readonly euiccMs: number; readonly bytes: number; readonly perApduMs: readonly number[] };
  /** bridge mode: bytes that crossed the UART (both directions) and their wire time at the baud rate */
  readonly wire?: { readonly bytes: number; readonly floorMs: number };
  /**
   * bridge mode: AT exchanges split at the modem (bridge writes the command -> the modem
   * has the whole line -> the modem answers -> the bridge has the final result code),
   * summed over the download, with the wire time of each direction at the baud rate
   */
  readonly at?: { readonly exchanges: number; readonly commandMs: number; readonly commandWireMs: number; readonly modemMs: number; readonly responseMs: number; readonly responseWireMs: number };
}

/** Times of one AT exchange seen from both ends of the serial line. */
interface AtExchange {
  tx?: number;
  txBytes?: number;
  line?: number;
  response?: number;
  responseBytes?: number;
  final?: number;
}

/** Run the scenario; returns the measured runs (warm-up runs are not returned). */
export async function benchDownloads(s: DownloadScenario): Promise<DownloadRun[]> {
  mkdirSync(s.workDir, { recursive: true });
  const total = s.runs + s.warmup;
  const smdp = await startBenchSmdp(join(s.workDir, 'smdp'), { ...(s.template !== undefined ? { template: s.template } : {}), count: total + 2 });
  const server = new ServerTimer().start();
  const http = new HttpTimer();
  let chain: SerialChain | undefined;
  // bridge mode: the modem keeps one card transport; each run puts a fresh card in the slot
  let slot: CardSlot | undefined;
  let slotTimer: TimedTransport | undefined;
  let exchanges: AtExchange[] = [];
  const out: DownloadRun[] = [];
  try {
    for (let i = 0; i < total; i++) {
      const euicc = await newEuicc(statePathFor(s.workDir, 'euicc', i), smdp);
      let card: TimedTransport;
      if (s.mode === 'bridge') {
        slot ??= new CardSlot(euicc);
        slot.card = euicc;
        slotTimer ??= new TimedTransport(slot);
        card = slotTimer;
        chain ??= await startSerialChain(card, {
          personality: s.personality,
          baud: s.baud,
          timeScale: 0,
          onModemTrace: (e) => {
            const x = exchanges.at(-1);
            if (!x) return;
            if (e.kind === 'line' && x.line === undefined) x.line = performance.now();
            else if (e.kind === 'response' && x.response === undefined) {
              x.response = performance.now();
              x.responseBytes = Buffer.byteLength(e.text, 'latin1');
            }
          },
          onBridgeTrace: (e) => {
            if (e.type === 'at-tx') exchanges.push({ tx: performance.now(), txBytes: Buffer.byteLength(e.line, 'latin1') + 1 });
            else if (e.type === 'at-rx' && /^(OK|ERROR|\+CME ERROR)/.test(e.line)) {
              const x = exchanges.at(-1);
              if (x && x.final === undefined) x.final = performance.now();
            }
          },
        });
      } else card = new TimedTransport(euicc);
      const bppTimings: ApduTiming[] = [];
      let inBpp = false;
      card.onApdu = (t) => {
        if (inBpp) bppTimings.push(t);
      };
      const activationCode = smdp.es2.order({}).activationCode;
      const reader: ApduTransport = s.mode === 'bridge' ? await connectVpcdReader(chain!.vpcd.host, chain!.vpcd.port, { commandTimeoutMs: 60_000 }) : card;
      const lpaSide = new TimedTransport(reader);
      const wireBefore = chain?.modem.counters();
      server.take();
      http.take();
      card.take();
      exchanges = [];
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const lpa = await Lpa.open(lpaSide, {
        http: lpaHttp(smdp, http),
        es10: { blockSize: s.blockSize ?? 120 },
        onProgress: (e) => {
          if (e.step === 'es10b.LoadBoundProfilePackage') inBpp = e.phase === 'start';
        },
      });
      const result = await lpa.downloadProfile(activationCode);
      await lpa.close();
      const totalMs = performance.now() - t0;
      const cpuMs = cpuMsSince(cpu0);
      if (chain) await chain.modem.settled();
      const wireAfter = chain?.modem.counters();
      if (!euicc.state.profile(result.iccid)) throw new Error(`download ${i}: ICCID ${result.iccid} is not installed on the eUICC`);
      if (s.mode === 'bridge') await reader.close();
      const cardSide = card.take();
      const lpaEs10 = lpaSide.take();
      const serverSamples = server.take();
      const httpSamples = http.take();
      const failed = httpSamples.filter((h) => h.error !== undefined || (h.status !== 200 && h.status !== 204));
      if (failed.length) throw new Error(`download ${i}: ES9+ calls failed: ${failed.map((f) => `${f.fn} ${f.status} ${f.error ?? ''}`).join('; ')}`);
      const smdpMs = sumMs(serverSamples);
      const lpaHttpMs = sumMs(httpSamples);
      const wireBytes = wireBefore && wireAfter ? wireAfter.toTe.bytes - wireBefore.toTe.bytes + wireAfter.fromTe.bytes - wireBefore.fromTe.bytes : undefined;
      const run: DownloadRun = {
        totalMs,
        cpuMs,
        euiccMs: cardSide.ms,
        smdpMs,
        es10LinkMs: Math.max(0, lpaEs10.ms - cardSide.ms),
        httpsMs: Math.max(0, lpaHttpMs - smdpMs),
        lpaMs: Math.max(0, totalMs - lpaEs10.ms - lpaHttpMs),
        apdus: lpaEs10.apdus,
        httpCalls: httpSamples.length,
        bpp: {
          apdus: bppTimings.length,
          euiccMs: bppTimings.reduce((a, t) => a + t.ms, 0),
          bytes: bppTimings.reduce((a, t) => a + t.capdu.length, 0),
          perApduMs: bppTimings.map((t) => t.ms),
        },
        ...(wireBytes !== undefined && s.baud !== null ? { wire: { bytes: wireBytes, floorMs: wireTimeMs(wireBytes, s.baud) }, at: atSplit(exchanges, s.baud) } : {}),
      };
      await euicc.close();
      if (i >= s.warmup) {
        out.push(run);
        s.onRun?.(i - s.warmup, run);
      }
    }
  } finally {
    server.stop();
    await chain?.close();
    await smdp.close();
  }
  return out;
}

/** Sum the complete AT exchanges of a download (see DownloadRun.at). */
function atSplit(list: readonly AtExchange[], baud: number): NonNullable<DownloadRun['at']> {
  const done = list.filter((x): x is Required<AtExchange> => x.tx !== undefined && x.line !== undefined && x.response !== undefined && x.final !== undefined);
  const sum = (f: (x: Required<AtExchange>) => number) => done.reduce((a, x) => a + f(x), 0);
  return {
    exchanges: done.length,
    commandMs: sum((x) => x.line - x.tx),
    commandWireMs: sum((x) => wireTimeMs(x.txBytes, baud)),
    modemMs: sum((x) => x.response - x.line),
    responseMs: sum((x) => x.final - x.response),
    responseWireMs: sum((x) => wireTimeMs(x.responseBytes, baud)),
  };
}
