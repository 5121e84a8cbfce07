// One direction of a UART line at a given baud rate (8N1: 10 bit times per byte, so
// 115200 baud carries 11520 bytes/s): a byte is delivered when its last bit would have
// left the wire. Pacing is done with timers batched to ~2 ms, each batch delivering every
// byte whose wire time has passed, so throughput is exact without a timer per byte and
// late timers (a loaded machine) never make the line faster than the baud rate.

export interface UartLineOptions {
  /** bits per second; null: no pacing (bytes delivered on the next microtask) */
  baud: number | null;
  deliver: (bytes: Uint8Array) => void;
  /** smallest timer interval in ms (default 2) */
  granularityMs?: number;
  now?: () => number;
}

interface Segment {
  data: Uint8Array;
  /** wire time (ms) at which the first bit of data[0] starts */
  start: number;
  sent: number;
}

export const BITS_PER_BYTE = 10;

/** Wire time of n bytes at baud, in ms. */
export function wireTimeMs(bytes: number, baud: number): number {
  return (bytes * BITS_PER_BYTE * 1000) / baud;
}

export class UartLine {
  private baud: number | null;
  private readonly deliver: (bytes: Uint8Array) => void;
  private readonly granularityMs: number;
  private readonly now: () => number;
  private segments: Segment[] = [];
  private lineFreeAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private microtaskQueued = false;
  private drainWaiters: (() => void)[] = [];
  private closed = false;
  /** bytes delivered at the far end */
  delivered = 0;

  constructor(opts: UartLineOptions) {
    this.baud = opts.baud;
    this.deliver = opts.deliver;
    this.granularityMs = opts.granularityMs ?? 2;
    this.now = opts.now ?? (() => performance.now());
  }

  get baudRate(): number | null {
    return this.baud;
  }

  /** Change the rate; bytes already queued keep their wire times. */
  setBaud(baud: number | null): void {
    this.baud = baud;
  }

  /** Bytes queued and not yet delivered. */
  get pending(): number {
    return this.segments.reduce((n, s) => n + s.data.length - s.sent, 0);
  }

  push(bytes: Uint8Array): void {
    if (this.closed || bytes.length === 0) return;
    const data = Uint8Array.from(bytes);
    if (this.baud === null) {
      this.segments.push({ data, start: 0, sent: 0 });
      if (!this.microtaskQueued) {
        this.microtaskQueued = true;
        queueMicrotask(() => {
          this.microtaskQueued = false;
          this.flushAll();
        });
      }
      return;
    }
    const start = Math.max(this.now(), this.lineFreeAt);
    this.lineFreeAt = start + wireTimeMs(data.length, this.baud);
    this.segments.push({ data, start, sent: 0 });
    this.schedule();
  }

  /** Resolves when every queued byte has been delivered. */
  drained(): Promise<void> {
    if (this.segments.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private flushAll(): void {
    const segs = this.segments.splice(0);
    for (const s of segs) this.emit(s.data.subarray(s.sent));
    this.checkDrained();
  }

  private emit(chunk: Uint8Array): void {
    if (chunk.length === 0 || this.closed) return;
    this.delivered += chunk.length;
    this.deliver(chunk);
  }

  private schedule(): void {
    if (this.timer || this.closed) return;
    const first = this.segments[0];
    if (!first || this.baud === null) return;
    const due = first.start + wireTimeMs(first.sent + 1, this.baud);
    const wait = Math.max(this.granularityMs, Math.ceil(due - this.now()));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.tick();
    }, wait);
  }

  private tick(): void {
    if (this.closed) return;
    const now = this.now();
    const baud = this.baud;
    const out: Uint8Array[] = [];
    while (this.segments.length > 0) {
      const s = this.segments[0] as Segment;
      const done = baud === null ? s.data.length : Math.min(s.data.length, Math.floor(((now - s.start) * baud) / (BITS_PER_BYTE * 1000)));
      if (done > s.sent) {
        out.push(s.data.subarray(s.sent, done));
        s.sent = done;
      }
      if (s.sent < s.data.length) break;
      this.segments.shift();
    }
    if (out.length === 1) this.emit(out[0] as Uint8Array);
    else if (out.length > 1) this.emit(Buffer.concat(out));
    this.checkDrained();
    this.schedule();
  }

  private checkDrained(): void {
    if (this.segments.length > 0) return;
    for (const w of this.drainWaiters.splice(0)) w();
  }

  /** Drop everything queued (line reset). */
  clear(): void {
    this.segments = [];
    this.lineFreeAt = 0;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.checkDrained();
  }

  close(): void {
    this.clear();
    this.closed = true;
  }
}
