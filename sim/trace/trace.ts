// Evidence capture for every hop of a test: APDU exchanges (LPA<->bridge, modem<->card),
// AT lines (3GPP TS 27.007), HTTP exchanges (SGP.22 ES9+/ES11) and free log lines, in
// order and timestamped, with markers where each step of a test case (SGP.23 test
// sequence) begins and ends. A Trace is written per test case as text logs (APDU, AT,
// HTTP, bridge), JSON lines and a GSMTAP pcap of the APDUs (gsmtap.ts) that Wireshark and
// tshark open (every pcap record that is not an APDU frame names its apdu.log line);
// writing it tells, per step, which lines of each log the step produced.
// Nothing secret passes through here: APDUs and BPPs are protected on the wire, and keys
// never leave the parties that hold them.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toHex } from '../bytes.ts';
import type { ApduTransport } from '../apdu/apdu.ts';
import { gsmtapPcap, legendRecord, LOG_LEVEL, simFrameProblem, SOURCE_FILE, type GsmtapRecord } from './gsmtap.ts';

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

/**
 * Per event (same index as trace.events): the log file it went to and its 1-based line range
 * there; undefined for events no text log shows (free log lines, markers). Each AT line is one
 * log line (CR/LF inside a response are written as \r \n), so a step's events map to a
 * contiguous range of lines.
 */
export type EventLines = ({ log: TraceLog; from: number; to: number } | undefined)[];

function markerLine(e: Extract<TraceEvent, { kind: 'marker' }>): string {
  const what = e.step !== undefined ? `step ${e.step}` : 'initial condition';
  return e.phase === 'begin' ? `=== ${what}: ${e.label}` : `=== end of ${what}`;
}

/** CR and LF inside one logged text, visible and on one line. */
function oneLine(text: string): string {
  return text.replace(/\r/g, '\\r').replace(/\n/g, '\\n');
}

/** Write the evidence files of one trace into `dir` (created). Returns their paths and the lines of each step. */
export function writeTrace(trace: Trace, dir: string, hop?: Hop): WrittenTrace {
  return writeTraceWithLines(trace, dir, hop).files;
}

/** writeTrace, and where each event went in the text logs. */
export function writeTraceWithLines(trace: Trace, dir: string, hop?: Hop): { files: WrittenTrace; eventLines: EventLines } {
  mkdirSync(dir, { recursive: true });
  const logs: Record<TraceLog, string[]> = { apduLog: [], atLog: [], httpLog: [], bridgeLog: [] };
  const write = (log: TraceLog, ...lines: string[]) => {
    const from = logs[log].length + 1;
    logs[log].push(...lines);
    return { log, from, to: from + lines.length - 1 };
  };
  const eventLines: EventLines = [];
  const stepLines: WrittenTrace['stepLines'] = {};
  // the steps open now (a step may hold an initial condition inside it): lines written go to each
  const open: number[] = [];
  const pcap: GsmtapRecord[] = [];
  const hops = new Set<Hop>();
  const source = () => ({ file: SOURCE_FILE.apdu, line: logs.apduLog.length + 1 });
  for (const e of trace.events) {
    let span: EventLines[number];
    if (e.kind === 'marker') {
      for (const log of TRACE_LOGS) write(log, markerLine(e));
      if (e.step !== undefined) {
        if (e.phase === 'begin') open.push(e.step);
        else open.splice(open.lastIndexOf(e.step), 1);
      }
      span = undefined;
    } else if ((e.kind === 'apdu' || e.kind === 'apdu-error' || e.kind === 'atr') && hop && e.hop !== hop) span = undefined;
    else if (e.kind === 'apdu') {
      hops.add(e.hop);
      const problem = simFrameProblem(e.command, e.response);
      pcap.push(problem ? { kind: 'log', timeMs: e.t, hop: e.hop, level: LOG_LEVEL.notice, message: `C-APDU ${toHex(e.command)} R-APDU ${toHex(e.response)}: not a GSM SIM frame: ${problem}`, source: source() } : { kind: 'apdu', timeMs: e.t, hop: e.hop, command: e.command, response: e.response });
      span = write('apduLog', `${iso(e.t)} ${e.hop} >> ${toHex(e.command)}`, `${iso(e.t)} ${e.hop} << ${toHex(e.response)} (${e.ms.toFixed(1)} ms)`);
    } else if (e.kind === 'apdu-error') {
      hops.add(e.hop);
      pcap.push({ kind: 'log', timeMs: e.t, hop: e.hop, level: LOG_LEVEL.error, message: `C-APDU ${toHex(e.command)}: no R-APDU: ${oneLine(e.error)}`, source: source() });
      span = write('apduLog', `${iso(e.t)} ${e.hop} >> ${toHex(e.command)}`, `${iso(e.t)} ${e.hop} !! ${oneLine(e.error)}`);
    } else if (e.kind === 'atr') {
      hops.add(e.hop);
      pcap.push({ kind: 'log', timeMs: e.t, hop: e.hop, level: LOG_LEVEL.info, message: `ATR ${toHex(e.atr)}`, source: source() });
      span = write('apduLog', `${iso(e.t)} ${e.hop} ATR ${toHex(e.atr)}`);
    } else if (e.kind === 'at') span = write('atLog', `${iso(e.t)} ${e.direction === 'to-modem' ? '>>' : '<<'} ${oneLine(e.line)}`);
    else if (e.kind === 'http') span = write('httpLog', `${iso(e.t)} ${e.method} ${e.url} -> ${e.status} (${e.ms.toFixed(1)} ms)`, `  request: ${oneLine(e.request)}`, `  response: ${oneLine(e.response)}`);
    else if (e.kind === 'log' && e.source === BRIDGE_LOG_SOURCE) span = write('bridgeLog', `${iso(e.t)} ${oneLine(e.message)}`);
    else span = undefined;
    eventLines.push(span);
    if (span)
      for (const step of open) {
        const ranges = (stepLines[step] ??= {});
        const range = ranges[span.log];
        ranges[span.log] = { from: range?.from ?? span.from, to: span.to };
      }
  }
  if (pcap.length) pcap.unshift(legendRecord(pcap[0]!.timeMs, [...hops]));
  const files: WrittenTrace = {
    apduLog: join(dir, 'apdu.log'),
    atLog: join(dir, 'at.log'),
    httpLog: join(dir, 'http.log'),
    bridgeLog: join(dir, 'bridge.log'),
    events: join(dir, 'events.jsonl'),
    pcap: join(dir, 'apdu.pcap'),
    stepLines,
  };
  for (const log of TRACE_LOGS) writeFileSync(files[log], logs[log].join('\n') + (logs[log].length ? '\n' : ''));
  writeFileSync(files.events, trace.events.map((e) => JSON.stringify(e, (_k, v: unknown) => (v instanceof Uint8Array ? toHex(v) : v))).join('\n') + '\n');
  writeFileSync(files.pcap, gsmtapPcap(pcap));
  return { files, eventLines };
}
