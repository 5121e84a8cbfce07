// Evidence capture for every hop of a test: APDU exchanges (LPA<->bridge, modem<->card),
// AT lines (3GPP TS 27.007), HTTP exchanges (SGP.22 ES9+/ES11) and free log lines, in
// order and timestamped, with markers where each step of a test case (SGP.23 test
// sequence) begins and ends. A Trace is written per test case as text logs (APDU, AT,
// HTTP, bridge), JSON lines and a GSMTAP pcap of the APDUs (gsmtap.ts) that Wireshark and
// tshark open; writing it tells, per step, which lines of each log the step produced.
// Nothing secret passes through here: APDUs and BPPs are protected on the wire, and keys
// never leave the parties that hold them.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toHex } from '../bytes.ts';
import type { ApduTransport } from '../apdu/apdu.ts';
import { GSMTAP_SIM_APDU, GSMTAP_SIM_ATR, gsmtapPcap, type GsmtapRecord } from './gsmtap.ts';

export type Hop = 'lpa-bridge' | 'bridge-modem' | 'modem-card' | 'lpa-card';

export type TraceEvent =
  | { t: number; kind: 'apdu'; hop: Hop; command: Uint8Array; response: Uint8Array; ms: number }
  | { t: number; kind: 'apdu-error'; hop: Hop; command: Uint8Array; error: string }
  | { t: number; kind: 'atr'; hop: Hop; atr: Uint8Array }
  | { t: number; kind: 'at'; direction: 'to-modem' | 'from-modem'; line: string }
  | { t: number; kind: 'http'; method: string; url: string; status: number; request: string; response: string; ms: number }
  | { t: number; kind: 'log'; source: string; message: string }
  /** a step of a test case (step set) or one of its initial conditions (step absent) begins or ends */
  | { t: number; kind: 'marker'; phase: 'begin' | 'end'; step?: number; label: string };

/** Source of the log events that are the bridge's own output (bridge.log). */
export const BRIDGE_LOG_SOURCE = 'bridge';

type WithoutTime<E> = E extends unknown ? Omit<E, 't'> : never;

export class Trace {
  readonly events: TraceEvent[] = [];

  add(event: WithoutTime<TraceEvent>): void {
    this.events.push({ t: Date.now(), ...event } as TraceEvent);
  }

  log(source: string, message: string): void {
    this.add({ kind: 'log', source, message });
  }

  /** Mark the beginning of step `step` (or of an initial condition, step undefined). */
  begin(label: string, step?: number): void {
    this.add({ kind: 'marker', phase: 'begin', label, ...(step !== undefined ? { step } : {}) });
  }

  /** Mark the end of what `begin` opened. */
  end(label: string, step?: number): void {
    this.add({ kind: 'marker', phase: 'end', label, ...(step !== undefined ? { step } : {}) });
  }

  clear(): void {
    this.events.length = 0;
  }

  count(kind: TraceEvent['kind']): number {
    return this.events.filter((e) => e.kind === kind).length;
  }
}

/** Wrap a transport so that every exchange is recorded on `hop`. */
export function tapTransport(inner: ApduTransport, trace: Trace, hop: Hop): ApduTransport {
  return {
    async transmit(command) {
      const start = performance.now();
      try {
        const response = await inner.transmit(command);
        trace.add({ kind: 'apdu', hop, command, response, ms: performance.now() - start });
        return response;
      } catch (err) {
        trace.add({ kind: 'apdu-error', hop, command, error: (err as Error).message });
        throw err;
      }
    },
    async reset() {
      const atr = await inner.reset();
      trace.add({ kind: 'atr', hop, atr });
      return atr;
    },
    close: () => inner.close(),
  };
}

function iso(t: number): string {
  return new Date(t).toISOString();
}

export interface TraceFiles {
  apduLog: string;
  atLog: string;
  httpLog: string;
  bridgeLog: string;
  events: string;
  pcap: string;
}

/** The text logs of a trace, which step line ranges point into. */
export type TraceLog = 'apduLog' | 'atLog' | 'httpLog' | 'bridgeLog';
const TRACE_LOGS: readonly TraceLog[] = ['apduLog', 'atLog', 'httpLog', 'bridgeLog'];

/** 1-based inclusive line numbers in one log file. */
export interface LineRange {
  from: number;
  to: number;
}

export interface WrittenTrace extends TraceFiles {
  /** per step number, the lines of each log written while the step ran (a log without any is absent) */
  stepLines: Record<number, Partial<Record<TraceLog, LineRange>>>;
}

function markerLine(e: Extract<TraceEvent, { kind: 'marker' }>): string {
  const what = e.step !== undefined ? `step ${e.step}` : 'initial condition';
  return e.phase === 'begin' ? `=== ${what}: ${e.label}` : `=== end of ${what}`;
}

/** Write the evidence files of one trace into `dir` (created). Returns their paths and the lines of each step. */
export function writeTrace(trace: Trace, dir: string, hop?: Hop): WrittenTrace {
  mkdirSync(dir, { recursive: true });
  const files: TraceFiles = {
    apduLog: join(dir, 'apdu.log'),
    atLog: join(dir, 'at.log'),
    httpLog: join(dir, 'http.log'),
    bridgeLog: join(dir, 'bridge.log'),
    events: join(dir, 'events.jsonl'),
    pcap: join(dir, 'apdu.pcap'),
  };
  const logs: Record<TraceLog, string[]> = { apduLog: [], atLog: [], httpLog: [], bridgeLog: [] };
  // one entry per line of the file (a modem response spans several), so that line ranges point into the file
  const write = (log: TraceLog, ...entries: string[]) => {
    for (const e of entries) logs[log].push(...e.split(/\r?\n/));
  };
  const stepLines: WrittenTrace['stepLines'] = {};
  // the steps open now (a step may hold an initial condition inside it): lines written go to each
  const open: number[] = [];
  const lengths = () => TRACE_LOGS.map((l) => logs[l].length);
  let before = lengths();
  const pcap: GsmtapRecord[] = [];
  for (const e of trace.events) {
    if (e.kind === 'marker') {
      for (const log of TRACE_LOGS) write(log, markerLine(e));
      if (e.step !== undefined) {
        if (e.phase === 'begin') open.push(e.step);
        else open.splice(open.lastIndexOf(e.step), 1);
      }
      before = lengths();
      continue;
    }
    if (e.kind === 'apdu' && (!hop || e.hop === hop)) {
      write('apduLog', `${iso(e.t)} ${e.hop} >> ${toHex(e.command)}`, `${iso(e.t)} ${e.hop} << ${toHex(e.response)} (${e.ms.toFixed(1)} ms)`);
      pcap.push({ timeMs: e.t, subType: GSMTAP_SIM_APDU, payload: concatExchange(e.command, e.response) });
    } else if (e.kind === 'apdu-error') write('apduLog', `${iso(e.t)} ${e.hop} >> ${toHex(e.command)}`, `${iso(e.t)} ${e.hop} !! ${e.error}`);
    else if (e.kind === 'atr') {
      write('apduLog', `${iso(e.t)} ${e.hop} ATR ${toHex(e.atr)}`);
      pcap.push({ timeMs: e.t, subType: GSMTAP_SIM_ATR, payload: e.atr });
    } else if (e.kind === 'at') write('atLog', `${iso(e.t)} ${e.direction === 'to-modem' ? '>>' : '<<'} ${e.line}`);
    else if (e.kind === 'http') write('httpLog', `${iso(e.t)} ${e.method} ${e.url} -> ${e.status} (${e.ms.toFixed(1)} ms)`, `  request: ${e.request}`, `  response: ${e.response}`);
    else if (e.kind === 'log' && e.source === BRIDGE_LOG_SOURCE) write('bridgeLog', `${iso(e.t)} ${e.message}`);
    const after = lengths();
    for (const step of open)
      TRACE_LOGS.forEach((log, i) => {
        if (after[i]! === before[i]!) return;
        const ranges = (stepLines[step] ??= {});
        const range = ranges[log];
        ranges[log] = { from: range?.from ?? before[i]! + 1, to: after[i]! };
      });
    before = after;
  }
  for (const log of TRACE_LOGS) writeFileSync(files[log], logs[log].join('\n') + (logs[log].length ? '\n' : ''));
  writeFileSync(files.events, trace.events.map((e) => JSON.stringify(e, (_k, v: unknown) => (v instanceof Uint8Array ? toHex(v) : v))).join('\n') + '\n');
  writeFileSync(files.pcap, gsmtapPcap(pcap));
  return { ...files, stepLines };
}

function concatExchange(command: Uint8Array, response: Uint8Array): Uint8Array {
  const out = new Uint8Array(command.length + response.length);
  out.set(command);
  out.set(response, command.length);
  return out;
}
