// Instruments that split a download's wall time by where it was spent, without touching
// the code being measured:
// - TimedTransport wraps an ApduTransport and sums the time spent in transmit(): around
//   the eUICC it measures the card (ES10 processing, eUICC crypto, NVM writes); around
//   the LPA's transport it measures everything below the LPA (vpcd, bridge, AT, UART).
// - ServerTimer subscribes to node:http's diagnostics channels (request start -> response
//   finish) and so measures the SM-DP+ handler time per ES9+ function, server side.
// - HttpTimer is the LPA's HttpTrace hook: time per ES9+ call as the LPA sees it (TLS
//   connection, request, server handler, response).
// The differences (LPA-side minus card-side, LPA-side minus server-side) are transport.
import dc from 'node:diagnostics_channel';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApduTransport } from '../../sim/apdu/apdu.ts';
import type { HttpRequestRecord, HttpResponseRecord, HttpTrace } from '../../sim/lpa/rsp-http.ts';

/** Name of the ES9+/ES11/ES2+ function in an RSP URL or path (its last path segment). */
export function functionOfUrl(url: string): string {
  const path = url.replace(/^https?:\/\/[^/]+/, '').split('?')[0] ?? '';
  const parts = path.split('/').filter(Boolean);
  const iface = parts.length >= 2 ? parts[parts.length - 2] : '';
  const fn = parts[parts.length - 1] ?? path;
  return iface === 'es11' ? `es11.${fn}` : fn;
}

export interface ApduTiming {
  readonly capdu: Uint8Array;
  readonly rapdu: Uint8Array;
  readonly ms: number;
}

/** An ApduTransport that measures the transport it wraps (which can be swapped, like a card). */
export class TimedTransport implements ApduTransport {
  apdus = 0;
  ms = 0;
  /** called after every exchange (tests and per-APDU statistics) */
  onApdu: ((t: ApduTiming) => void) | undefined;

  constructor(public inner: ApduTransport) {}

  async transmit(capdu: Uint8Array): Promise<Uint8Array> {
    const start = performance.now();
    const rapdu = await this.inner.transmit(capdu);
    const ms = performance.now() - start;
    this.apdus++;
    this.ms += ms;
    this.onApdu?.({ capdu, rapdu, ms });
    return rapdu;
  }

  reset(): Promise<Uint8Array> {
    return this.inner.reset();
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /** The counters since the last take(), then zero them. */
  take(): { apdus: number; ms: number } {
    const out = { apdus: this.apdus, ms: this.ms };
    this.apdus = 0;
    this.ms = 0;
    return out;
  }
}

export interface CallSample {
  readonly fn: string;
  readonly ms: number;
}

/** Server-side handler time of every HTTP request served by this process (SM-DP+ in-process). */
export class ServerTimer {
  private readonly started = new WeakMap<object, { at: number; fn: string }>();
  private samples: CallSample[] = [];
  private active = false;

  private readonly onStart = (message: unknown): void => {
    const m = message as { request: IncomingMessage; response: ServerResponse };
    this.started.set(m.response, { at: performance.now(), fn: functionOfUrl(m.request.url ?? '') });
  };

  private readonly onFinish = (message: unknown): void => {
    const m = message as { response: ServerResponse };
    const s = this.started.get(m.response);
    if (!s) return;
    this.started.delete(m.response);
    this.samples.push({ fn: s.fn, ms: performance.now() - s.at });
  };

  start(): this {
    if (this.active) return this;
    this.active = true;
    dc.subscribe('http.server.request.start', this.onStart);
    dc.subscribe('http.server.response.finish', this.onFinish);
    return this;
  }

  stop(): void {
    if (!this.active) return;
    this.active = false;
    dc.unsubscribe('http.server.request.start', this.onStart);
    dc.unsubscribe('http.server.response.finish', this.onFinish);
  }

  /** Samples since the last take(). */
  take(): CallSample[] {
    const out = this.samples;
    this.samples = [];
    return out;
  }
}

/** The LPA's view of every ES9+ call (an RspHttpOptions trace hook). */
export class HttpTimer implements HttpTrace {
  private samples: (CallSample & { status: number; error?: string })[] = [];

  onHttp(request: HttpRequestRecord, response: HttpResponseRecord): void {
    this.samples.push({ fn: functionOfUrl(request.url), ms: response.durationMs, status: response.status ?? 0, ...(response.error !== undefined ? { error: response.error } : {}) });
  }

  take(): (CallSample & { status: number; error?: string })[] {
    const out = this.samples;
    this.samples = [];
    return out;
  }
}

export function sumMs(samples: readonly CallSample[]): number {
  return samples.reduce((s, x) => s + x.ms, 0);
}

/** CPU time (user + system) of this process in ms since `since` (process.cpuUsage). */
export function cpuMsSince(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
}
