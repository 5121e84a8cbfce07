// Minimal TE side for tests: writes command lines and collects the modem's raw
// output up to the final result code (V.250 5.7: OK / ERROR / +CME ERROR), keeping the
// exact bytes (echo, line endings, URCs) so tests can assert them. Not a bridge.
import { ModemEndpointError } from '../types.ts';

export interface AtClientOptions {
  /** line ending the modem uses (personality.format.lineEnding); default CR LF */
  lineEnding?: string;
  defaultTimeoutMs?: number;
}

/** Raised when no final result code arrives in time; carries what did arrive. */
export class AtTimeoutError extends ModemEndpointError {
  constructor(
    what: string,
    readonly received: string,
  ) {
    super(`${what}: timed out; received ${JSON.stringify(received)}`);
  }
}

export class AtClient {
  private buf = '';
  private waiters: (() => void)[] = [];
  private readonly le: string;
  private readonly timeoutMs: number;

  constructor(
    private readonly writeBytes: (bytes: Uint8Array) => void,
    opts: AtClientOptions = {},
  ) {
    this.le = opts.lineEnding ?? '\r\n';
    this.timeoutMs = opts.defaultTimeoutMs ?? 5000;
  }

  /** Modem output arrives here. */
  feed(bytes: Uint8Array | string): void {
    this.buf += typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('latin1');
    for (const w of this.waiters.splice(0)) w();
  }

  /** Everything received and not yet consumed (and consume it). */
  take(): string {
    const s = this.buf;
    this.buf = '';
    return s;
  }

  peek(): string {
    return this.buf;
  }

  write(text: string): void {
    this.writeBytes(Buffer.from(text, 'latin1'));
  }

  /** Send `line` + CR and resolve with the raw text up to and including the final result code. */
  async command(line: string, opts: { timeoutMs?: number; eol?: string } = {}): Promise<string> {
    this.write(line + (opts.eol ?? '\r'));
    return this.final(opts.timeoutMs, line);
  }

  /** Wait for the next final result code in the stream. */
  final(timeoutMs = this.timeoutMs, what = 'final result'): Promise<string> {
    const esc = this.le.replace(/\r/g, '\\r').replace(/\n/g, '\\n');
    const re = new RegExp(`(?:^|${esc})(?:OK|ERROR|\\+CME ERROR:[^\\r\\n]*)${esc}`);
    return this.waitMatch(re, timeoutMs, what);
  }

  /** Resolve with the text up to the end of the first match of re (consumed), or time out. */
  waitMatch(re: RegExp, timeoutMs = this.timeoutMs, what = String(re)): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const m = re.exec(this.buf);
        if (!m) return false;
        const end = m.index + m[0].length;
        const out = this.buf.slice(0, end);
        this.buf = this.buf.slice(end);
        resolve(out);
        return true;
      };
      if (check()) return;
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== onData);
        reject(new AtTimeoutError(what, this.buf));
      }, timeoutMs);
      const onData = (): void => {
        if (check()) clearTimeout(timer);
        else this.waiters.push(onData);
      };
      this.waiters.push(onData);
    });
  }

  /** Wait `ms` and return whatever arrived (consumed): for asserting silence. */
  async quiet(ms: number): Promise<string> {
    await new Promise((r) => setTimeout(r, ms));
    return this.take();
  }
}
