// Evidence capture for every hop of a test (DESIGN.md "sim/trace taps every hop"):
// APDU exchanges (LPA<->bridge, modem<->card), AT lines, HTTP exchanges and free
// log lines, in order and timestamped. A Trace is written per test case as text
// logs, JSON lines and a GSMTAP pcap of the APDUs (gsmtap.ts) that Wireshark and
// tshark open. Nothing secret passes through here: APDUs and BPPs are protected
// on the wire, and keys never leave the parties that hold them.
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
  | { t: number; kind: 'log'; source: string; message: string };

type WithoutTime<E> = E extends unknown ? Omit<E, 't'> : never;

export class Trace {
  readonly events: TraceEvent[] = [];

  add(event: WithoutTime<TraceEvent>): void {
    this.events.push({ t: Date.now(), ...event } as TraceEvent);
  }

  log(source: string, message: string): void {
    this.add({ kind: 'log', source, message });
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
  events: string;
  pcap: string;
}

/** Write the evidence files of one trace into `dir` (created). Returns their paths. */
export function writeTrace(trace: Trace, dir: string, hop?: Hop): TraceFiles {
  mkdirSync(dir, { recursive: true });
  const files: TraceFiles = {
    apduLog: join(dir, 'apdu.log'),
    atLog: join(dir, 'at.log'),
    httpLog: join(dir, 'http.log'),
    events: join(dir, 'events.jsonl'),
    pcap: join(dir, 'apdu.pcap'),
  };
  const apdu: string[] = [];
  const at: string[] = [];
  const http: string[] = [];
  const pcap: GsmtapRecord[] = [];
  for (const e of trace.events) {
    if (e.kind === 'apdu' && (!hop || e.hop === hop)) {
      apdu.push(`${iso(e.t)} ${e.hop} >> ${toHex(e.command)}`, `${iso(e.t)} ${e.hop} << ${toHex(e.response)} (${e.ms.toFixed(1)} ms)`);
      pcap.push({ timeMs: e.t, subType: GSMTAP_SIM_APDU, payload: concatExchange(e.command, e.response) });
    } else if (e.kind === 'apdu-error') apdu.push(`${iso(e.t)} ${e.hop} >> ${toHex(e.command)}`, `${iso(e.t)} ${e.hop} !! ${e.error}`);
    else if (e.kind === 'atr') {
      apdu.push(`${iso(e.t)} ${e.hop} ATR ${toHex(e.atr)}`);
      pcap.push({ timeMs: e.t, subType: GSMTAP_SIM_ATR, payload: e.atr });
    } else if (e.kind === 'at') at.push(`${iso(e.t)} ${e.direction === 'to-modem' ? '>>' : '<<'} ${e.line}`);
    else if (e.kind === 'http') http.push(`${iso(e.t)} ${e.method} ${e.url} -> ${e.status} (${e.ms.toFixed(1)} ms)`, `  request: ${e.request}`, `  response: ${e.response}`);
  }
  writeFileSync(files.apduLog, apdu.join('\n') + (apdu.length ? '\n' : ''));
  writeFileSync(files.atLog, at.join('\n') + (at.length ? '\n' : ''));
  writeFileSync(files.httpLog, http.join('\n') + (http.length ? '\n' : ''));
  writeFileSync(files.events, trace.events.map((e) => JSON.stringify(e, (_k, v: unknown) => (v instanceof Uint8Array ? toHex(v) : v))).join('\n') + '\n');
  writeFileSync(files.pcap, gsmtapPcap(pcap));
  return files;
}

function concatExchange(command: Uint8Array, response: Uint8Array): Uint8Array {
  const out = new Uint8Array(command.length + response.length);
  out.set(command);
  out.set(response, command.length);
  return out;
}
