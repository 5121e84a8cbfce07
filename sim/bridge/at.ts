// AT command client of the reference LPA Bridge: ITU-T V.250 command lines and result
// codes, 3GPP TS 27.007 9.1/9.2 (+CMEE, +CME ERROR) over a serial port (real tty, PTY or
// a serialport mock binding). Used for 27.007 8.17 +CSIM, 8.45 +CCHO, 8.46 +CCHC and
// 8.43 +CGLA by modem-session.ts. Behaviour seen on real modules (public lpac issues, see the personalities' sources): one
// write per command line, echo coming back after a restart despite ATE0, URCs (RDY,
// +CPIN, +QUSIM, +QIND...) interleaved with - even inside - responses, bare ERROR that
// succeeds on retry, silent `=?` test commands, modems that restart under us.
import type { NaiveLineHandling } from './defects.ts';
import type { Duplex } from 'node:stream';

// ---------------------------------------------------------------------------------------
// Result codes and errors

/** Final result code of a command line (V.250 5.7.1; 27.007 9.2 +CME ERROR, 27.005 +CMS ERROR). */
export type AtFinal =
  | { kind: 'ok' }
  | { kind: 'error' }
  | { kind: 'cme'; code: number | undefined; text: string }
  | { kind: 'cms'; code: number | undefined; text: string };

export interface AtResult {
  /** the command line as sent, without the CR */
  command: string;
  /** information text lines (echo and URCs removed, lines broken by a URC re-joined) */
  lines: string[];
  final: AtFinal;
  /** how many times the line was sent (retries after a retryable final) */
  attempts: number;
}

export class AtError extends Error {
  override readonly name: string = 'AtError';
}

/** The command ended with ERROR / +CME ERROR / +CMS ERROR. */
export class AtCommandError extends AtError {
  override readonly name = 'AtCommandError';
  constructor(
    readonly command: string,
    readonly final: AtFinal,
    readonly lines: string[],
  ) {
    super(`${command}: ${formatFinal(final)}`);
  }
}

/** No final result code in time. `lines` holds what arrived for the command. */
export class AtTimeoutError extends AtError {
  override readonly name = 'AtTimeoutError';
  constructor(
    readonly command: string,
    readonly timeoutMs: number,
    readonly lines: string[],
  ) {
    super(`${command}: no final result code within ${timeoutMs} ms${lines.length ? ` (received ${JSON.stringify(lines)})` : ''}`);
  }
}

/** The serial port closed, failed a write, or could not be (re)opened. */
export class AtPortError extends AtError {
  override readonly name: string = 'AtPortError';
}

/** The client was closed. */
export class AtClosedError extends AtPortError {
  override readonly name = 'AtClosedError';
  constructor() {
    super('AT client is closed');
  }
}

/** 27.007 9.2.1 texts printed with +CMEE=2, so verbose errors map back to their numbers. */
const CME_TEXTS: Readonly<Record<string, number>> = {
  'phone failure': 0,
  'no connection to phone': 1,
  'operation not allowed': 3,
  'operation not supported': 4,
  'ph-sim pin required': 5,
  'sim not inserted': 10,
  'sim pin required': 11,
  'sim puk required': 12,
  'sim failure': 13,
  'sim busy': 14,
  'sim wrong': 15,
  'incorrect password': 16,
  'memory full': 20,
  'invalid index': 21,
  'not found': 22,
  'memory failure': 23,
  'text string too long': 24,
  'invalid characters in text string': 25,
  'no network service': 30,
  'network timeout': 31,
  'incorrect parameters': 50,
  unknown: 100,
};

/** Parse a final result code line, or undefined when the line is not one. */
export function parseFinal(line: string): AtFinal | undefined {
  const t = line.trim();
  if (t === 'OK') return { kind: 'ok' };
  if (t === 'ERROR') return { kind: 'error' };
  const m = /^\+(CME|CMS) ERROR:\s*(.*)$/i.exec(t);
  if (!m) return undefined;
  const text = (m[2] as string).trim();
  const code = /^\d{1,5}$/.test(text) ? Number(text) : m[1]!.toUpperCase() === 'CME' ? CME_TEXTS[text.toLowerCase()] : undefined;
  return { kind: m[1]!.toUpperCase() === 'CME' ? 'cme' : 'cms', code, text };
}

export function formatFinal(f: AtFinal): string {
  if (f.kind === 'ok') return 'OK';
  if (f.kind === 'error') return 'ERROR';
  return `+${f.kind.toUpperCase()} ERROR: ${f.text}${f.code !== undefined && String(f.code) !== f.text ? ` (${f.code})` : ''}`;
}

// ---------------------------------------------------------------------------------------
// URCs

/**
 * Unsolicited result codes seen on LTE modules (27.007 +CPIN/+CFUN/+CREG family, Quectel
 * +QUSIM/+QIND, SIMCom SMS DONE/PB DONE, STK and SIM status URCs). A line starting with
 * the in-flight command's own prefix (`+CPIN` for AT+CPIN?) is a response, not a URC.
 */
export const DEFAULT_URC_PATTERNS: readonly RegExp[] = [
  /^RDY$/,
  /^\+CPIN:/,
  /^\+QUSIM:/,
  /^\+QIND:/,
  /^\+CFUN:/,
  /^SMS DONE$/,
  /^PB DONE$/,
  /^\+C(?:5G|G|E)?REG:/,
  /^\+QSTK/,
  /^\+STIN:/,
  /^\+CUSATP?:/,
  /^\+CUSATEND/,
  /^\+SIMCARD:/,
  /^\+QSIMSTAT:/,
  /^\+CIEV:/,
  /^\+CMTI:/,
  // further unsolicited results of 3GPP TS 27.007/27.005: packet domain events (10.1.19),
  // USSD (7.15), SMS/status report delivery (27.005 3.4.1), incoming call, signal
  /^\+CGEV:/,
  /^\+CUSD:/,
  /^\+CMT:/,
  /^\+CDS:/,
  /^\+CDSI:/,
  /^\+CBM:/,
  /^\+CRING:/,
  /^\+CLIP:/,
  /^\+CCWA:/,
  /^\+CSQN:/,
  /^NO CARRIER$/,
  /^\+CTZVE?:/,
  /^\+QNITZ:/,
  /^\+PACSP\d?/,
  /^RING$/,
  /^POWERED DOWN$/,
  /^NORMAL POWER DOWN$/,
  /^\^SIMST:/,
  /^\+SIM READY$/,
];

/** URCs that mean the modem (re)started. */
export const DEFAULT_REBOOT_URCS: readonly RegExp[] = [/^RDY$/, /^\+SIM READY$/];

/** URCs that mean the card went away (its logical channels with it). */
export const DEFAULT_CARD_LOST_URCS: readonly RegExp[] = [/^\+CPIN:\s*(?:NOT READY|NOT INSERTED)/i, /^\+SIMCARD:\s*NOT AVAILABLE/i, /^\+QSIMSTAT:\s*\d+\s*,\s*0\b/];

// ---------------------------------------------------------------------------------------
// Trace

export type AtLineRole = 'response' | 'final' | 'echo' | 'urc' | 'stale' | 'unsolicited';

export type AtRebootReason = 'RDY' | 'echo' | 'no-answer' | 'port-closed' | 'card-lost';

export interface AtRebootEvent {
  reason: AtRebootReason;
  /**
   * true: the modem certainly lost its logical channel sessions (it restarted, the
   * card went away); false: it stopped answering for a while and came back without
   * a restart sign (sessions may or may not have survived)
   */
  certain: boolean;
  detail: string;
}

export type AtTraceEvent =
  | { type: 'at-tx'; line: string }
  | { type: 'at-rx'; line: string; role: AtLineRole }
  | { type: 'at-note'; text: string }
  | { type: 'at-reboot'; reason: AtRebootReason; certain: boolean; detail: string };

// ---------------------------------------------------------------------------------------
// Client

export interface AtClientOptions {
  /** default timeout of a command (ms); default 10000 */
  commandTimeoutMs?: number;
  /** timeout of `=?` probes and of the resynchronisation probe (ms); default 1500 */
  probeTimeoutMs?: number;
  /** how long to wait for a restarting / re-enumerating modem before giving up (ms); default 60000 */
  rebootWaitMs?: number;
  /** pause between resynchronisation probes and port reopen attempts (ms); default 250 */
  probeIntervalMs?: number;
  /** extra URC patterns (added to DEFAULT_URC_PATTERNS) */
  urcPatterns?: RegExp[];
  /** reopen the serial port after it closed (USB modems re-enumerate when they restart) */
  reopen?: () => Promise<Duplex>;
  onTrace?: (event: AtTraceEvent) => void;
  /** deliberate defects of the line reader (defects.ts: urc-as-answer, no-echo-handling); default careful */
  naive?: NaiveLineHandling;
}

export interface AtSendOptions {
  timeoutMs?: number;
  /** resend after a retryable final (default: bare ERROR only); default 0 */
  retries?: number;
  retryDelayMs?: number;
  retryOn?: (final: AtFinal) => boolean;
  /**
   * true when an information line is complete. Used to re-join a line a URC was
   * inserted into (`+CGLA: 4,"90` / `+QIND: SMS DONE` / `00"`).
   */
  complete?: (line: string) => boolean;
}

interface Pending {
  line: string;
  /** `+CGLA` for `AT+CGLA=...`: lines with this prefix are never URCs */
  prefix: string | undefined;
  lines: string[];
  /** index i: lines[i] and lines[i+1] were separated only by a URC (no line break of their own) */
  splits: Set<number>;
  complete: ((line: string) => boolean) | undefined;
  /** resynchronisation probe: everything before a line matching this is stale */
  marker: RegExp | undefined;
  markerSeen: boolean;
  resolve: (r: { lines: string[]; final: AtFinal }) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function commandPrefix(line: string): string | undefined {
  const m = /^AT([+!$%#^*][A-Z0-9]+)/i.exec(line);
  return m ? m[1]!.toUpperCase() : undefined;
}

const bareErrorOnly = (f: AtFinal): boolean => f.kind === 'error';

/**
 * One AT command at a time over a serial port. Every command line goes out in a single
 * write of `AT...\r`. Before a command the client recovers as needed: reopens a port that
 * closed, resynchronises after a timeout (AT+CMEE? until its own answer comes back, so a
 * late answer to the timed-out command is never taken for the next one), and
 * re-initialises (ATE0, AT+CMEE=1) after a restart.
 */
export class AtClient {
  private port: Duplex;
  private readonly opts: Required<Omit<AtClientOptions, 'reopen' | 'onTrace' | 'urcPatterns' | 'naive'>>;
  private readonly naive: NaiveLineHandling;
  private readonly reopen: (() => Promise<Duplex>) | undefined;
  private readonly trace: (e: AtTraceEvent) => void;
  private readonly urcPatterns: RegExp[];
  private readonly rebootListeners = new Set<(e: AtRebootEvent) => void>();
  private readonly urcListeners = new Set<(line: string) => void>();

  private partial = '';
  private lastWasCr = false;
  private blanks = 0;
  private lastKind: 'none' | 'line' | 'urc' | 'echo' = 'none';
  private urcSplitsLine = false;
  private pending: Pending | undefined;
  private chain: Promise<unknown> = Promise.resolve();

  private echoExpected = true;
  private needsResync = true;
  private needsInit = true;
  private portLost = false;
  private closed = false;
  private reboots = 0;
  private initialised = false;

  private readonly onData = (chunk: Buffer | string): void => this.feed(typeof chunk === 'string' ? chunk : chunk.toString('latin1'));
  private readonly onClose = (): void => this.portClosed();
  private readonly onError = (err: Error): void => this.note(`serial port error: ${err.message}`);

  constructor(port: Duplex, options: AtClientOptions = {}) {
    this.port = port;
    this.opts = {
      commandTimeoutMs: options.commandTimeoutMs ?? 10_000,
      probeTimeoutMs: options.probeTimeoutMs ?? 1_500,
      rebootWaitMs: options.rebootWaitMs ?? 60_000,
      probeIntervalMs: options.probeIntervalMs ?? 250,
    };
    this.reopen = options.reopen;
    this.trace = options.onTrace ?? (() => {});
    this.urcPatterns = [...DEFAULT_URC_PATTERNS, ...(options.urcPatterns ?? [])];
    this.naive = options.naive ?? { urcsAsResponse: false, echoAsResponse: false };
    this.attach(port);
  }

  /** Restarts (and card losses) detected so far. */
  get rebootCount(): number {
    return this.reboots;
  }

  /** timeout used for `=?` probes and resynchronisation */
  get probeTimeoutMs(): number {
    return this.opts.probeTimeoutMs;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Called when a restart, a long silence or a card loss is detected. Returns an unsubscribe function. */
  onReboot(listener: (e: AtRebootEvent) => void): () => void {
    this.rebootListeners.add(listener);
    return () => this.rebootListeners.delete(listener);
  }

  onUrc(listener: (line: string) => void): () => void {
    this.urcListeners.add(listener);
    return () => this.urcListeners.delete(listener);
  }

  /**
   * First contact: wait until the modem answers (up to rebootWaitMs), then ATE0 and
   * AT+CMEE=1. Commands sent before init() do the same implicitly.
   */
  init(): Promise<void> {
    return this.run(async () => {
      this.needsResync = true;
      this.needsInit = true;
      await this.prepare();
    });
  }

  /** Send a command line; resolves with any final result code (after retries), rejects on timeout or port failure. */
  send(line: string, options: AtSendOptions = {}): Promise<AtResult> {
    if (/[\r\n]/.test(line)) return Promise.reject(new AtError(`command line must not contain CR/LF: ${JSON.stringify(line)}`));
    return this.run(async () => {
      await this.prepare();
      const retries = options.retries ?? 0;
      const retryOn = options.retryOn ?? bareErrorOnly;
      for (let attempt = 1; ; attempt++) {
        const r = await this.exchange(line, options.timeoutMs ?? this.opts.commandTimeoutMs, options.complete);
        if (r.final.kind !== 'ok' && attempt <= retries && retryOn(r.final)) {
          this.note(`${line}: ${formatFinal(r.final)}; retry ${attempt}/${retries}${options.retryDelayMs ? ` in ${options.retryDelayMs} ms` : ''}`);
          if (options.retryDelayMs) await sleep(options.retryDelayMs);
          await this.prepare();
          continue;
        }
        return { command: line, lines: r.lines, final: r.final, attempts: attempt };
      }
    });
  }

  /** Like send(), but anything other than OK is an AtCommandError. Resolves with the information lines. */
  async command(line: string, options: AtSendOptions = {}): Promise<string[]> {
    const r = await this.send(line, options);
    if (r.final.kind !== 'ok') throw new AtCommandError(line, r.final, r.lines);
    return r.lines;
  }

  /**
   * The answers look out of step with the commands: e.g. a command that always has an
   * information line got a bare OK, which was a spurious result code meant for nothing,
   * and its real answer is still to come (it would be taken for the next command's, and so
   * on for every later command). The next command is preceded by the resynchronisation
   * probe (AT+CMEE?), which drops whatever arrives before its own answer.
   */
  requestResync(reason: string): void {
    if (this.needsResync) return;
    this.needsResync = true;
    this.note(`resynchronising before the next command: ${reason}`);
  }

  /** Stop: the pending command is rejected, listeners are removed from the port. The port itself is not closed. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.detach();
    const p = this.pending;
    if (p) {
      this.pending = undefined;
      clearTimeout(p.timer);
      p.reject(new AtClosedError());
    }
  }

  /** The port currently in use (it changes after a reopen). */
  get currentPort(): Duplex {
    return this.port;
  }

  // ---- serial port -----------------------------------------------------------------

  private attach(port: Duplex): void {
    this.port = port;
    port.on('data', this.onData);
    port.on('close', this.onClose);
    port.on('error', this.onError);
  }

  private detach(): void {
    this.port.off('data', this.onData);
    this.port.off('close', this.onClose);
    this.port.off('error', this.onError);
  }

  private portClosed(): void {
    if (this.closed) return;
    this.portLost = true;
    this.detach();
    this.declareReboot('port-closed', true, 'serial port closed');
    const p = this.pending;
    if (p) {
      this.pending = undefined;
      clearTimeout(p.timer);
      p.reject(new AtPortError(`${p.line}: serial port closed`));
    }
  }

  private async reopenPort(): Promise<void> {
    if (!this.reopen) throw new AtPortError('serial port closed and no way to reopen it');
    const deadline = Date.now() + this.opts.rebootWaitMs;
    for (let attempt = 1; ; attempt++) {
      try {
        const port = await this.reopen();
        this.partial = '';
        this.attach(port);
        this.portLost = false;
        this.needsResync = true;
        this.needsInit = true;
        this.note(`serial port reopened (attempt ${attempt})`);
        return;
      } catch (err) {
        if (this.closed) throw new AtClosedError();
        if (Date.now() >= deadline) throw new AtPortError(`serial port could not be reopened within ${this.opts.rebootWaitMs} ms: ${(err as Error).message}`);
        this.note(`reopening the serial port failed (${(err as Error).message}); retrying`);
        await sleep(Math.max(this.opts.probeIntervalMs, 250));
      }
    }
  }

  private write(line: string): Promise<void> {
    this.trace({ type: 'at-tx', line });
    return new Promise((resolve, reject) => {
      // one write per command line: modems that see a command arrive in pieces drop it
      this.port.write(Buffer.from(line + '\r', 'latin1'), (err) => (err ? reject(new AtPortError(`write failed: ${err.message}`)) : resolve()));
    });
  }

  // ---- command execution -----------------------------------------------------------

  private run<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.chain.then(() => {
      if (this.closed) throw new AtClosedError();
      return fn();
    });
    this.chain = p.catch(() => undefined);
    return p;
  }

  /** Recover before a command: reopen the port, resynchronise, re-initialise. */
  private async prepare(): Promise<void> {
    if (this.closed) throw new AtClosedError();
    if (this.portLost) await this.reopenPort();
    if (this.needsResync) await this.resync();
    if (this.needsInit) await this.initSequence();
  }

  /** Send AT+CMEE? until its own +CMEE: answer comes back; lines before it are stale. */
  private async resync(): Promise<void> {
    const deadline = Date.now() + this.opts.rebootWaitMs;
    let failures = 0;
    for (;;) {
      try {
        await this.exchange('AT+CMEE?', this.opts.probeTimeoutMs, undefined, /^\+CMEE:/i);
        break;
      } catch (err) {
        if (!(err instanceof AtTimeoutError)) throw err;
        failures++;
        if (Date.now() >= deadline) {
          this.needsResync = true;
          throw new AtTimeoutError('AT+CMEE? (resynchronisation)', this.opts.rebootWaitMs, err.lines);
        }
        await sleep(this.opts.probeIntervalMs);
      }
    }
    this.needsResync = false;
    if (failures > 0 && this.initialised) this.declareReboot('no-answer', false, `modem did not answer for ${failures} probe(s)`);
  }

  private async initSequence(): Promise<void> {
    const e = await this.exchange('ATE0', this.opts.probeTimeoutMs * 2);
    if (e.final.kind === 'ok') this.echoExpected = false;
    else this.note(`ATE0 answered ${formatFinal(e.final)}; echo stays expected`);
    const c = await this.exchange('AT+CMEE=1', this.opts.probeTimeoutMs * 2);
    if (c.final.kind !== 'ok') this.note(`AT+CMEE=1 answered ${formatFinal(c.final)}; errors may be bare ERROR or verbose`);
    this.needsInit = false;
    this.note(this.initialised ? 're-initialised after a restart (ATE0, AT+CMEE=1)' : 'initialised (ATE0, AT+CMEE=1)');
    this.initialised = true;
  }

  /** One command line, one final result code. */
  private exchange(line: string, timeoutMs: number, complete?: (line: string) => boolean, marker?: RegExp): Promise<{ lines: string[]; final: AtFinal }> {
    if (this.portLost) return Promise.reject(new AtPortError(`${line}: serial port closed`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.pending !== p) return;
        this.pending = undefined;
        this.needsResync = true;
        this.note(`${line}: timeout after ${timeoutMs} ms`);
        reject(new AtTimeoutError(line, timeoutMs, p.lines));
      }, timeoutMs);
      const p: Pending = { line, prefix: commandPrefix(line), lines: [], splits: new Set(), complete, marker, markerSeen: false, resolve, reject, timer };
      this.pending = p;
      this.lastKind = 'none';
      this.write(line).catch((err: Error) => {
        if (this.pending !== p) return;
        this.pending = undefined;
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  // ---- receive path ----------------------------------------------------------------

  private feed(text: string): void {
    for (const ch of text) {
      if (ch === '\n' && this.lastWasCr) {
        this.lastWasCr = false;
        continue;
      }
      this.lastWasCr = ch === '\r';
      if (ch === '\r' || ch === '\n') {
        const line = this.partial;
        this.partial = '';
        this.onLine(line);
      } else {
        this.partial += ch;
      }
    }
  }

  private isUrc(t: string, p: Pending | undefined): boolean {
    if (p?.prefix && t.toUpperCase().startsWith(p.prefix + ':')) return false;
    if (p?.marker && p.marker.test(t)) return false;
    return this.urcPatterns.some((re) => re.test(t));
  }

  private onLine(raw: string): void {
    const t = raw.trim();
    if (t === '') {
      this.blanks++;
      return;
    }
    const tight = this.blanks === 0;
    this.blanks = 0;
    const p = this.pending;

    if (p && !p.marker && ((this.naive.echoAsResponse && t.toUpperCase() === p.line.toUpperCase()) || (this.naive.urcsAsResponse && this.isUrc(t, p)))) {
      this.lastKind = 'line';
      this.trace({ type: 'at-rx', line: t, role: 'response' });
      p.lines.push(raw);
      return;
    }
    if (p && t.toUpperCase() === p.line.toUpperCase()) return this.echo(t, p);

    if (this.isUrc(t, p) || (!p && parseFinal(t)?.kind === 'cme')) {
      this.urcSplitsLine = tight && this.lastKind === 'line' && p !== undefined && p.lines.length > 0;
      this.lastKind = 'urc';
      this.trace({ type: 'at-rx', line: t, role: 'urc' });
      this.urc(t);
      return;
    }

    const afterSplit = this.lastKind === 'urc' && this.urcSplitsLine && tight;
    this.lastKind = 'line';
    if (!p) {
      this.trace({ type: 'at-rx', line: t, role: parseFinal(t) ? 'stale' : 'unsolicited' });
      return;
    }
    if (afterSplit && p.lines.length > 0) {
      const joined = (p.lines[p.lines.length - 1] as string) + raw;
      const jt = joined.trim();
      if (jt.toUpperCase() === p.line.toUpperCase()) {
        p.lines.pop();
        return this.echo(jt, p);
      }
      const jf = parseFinal(jt);
      if (jf) {
        p.lines.pop();
        this.note(`final result code re-joined around a URC: ${jt}`);
        this.trace({ type: 'at-rx', line: jt, role: 'final' });
        return this.finish(p, jf);
      }
      p.splits.add(p.lines.length - 1);
    }
    if (p.marker && !p.markerSeen) {
      if (p.marker.test(t)) {
        p.markerSeen = true;
        this.trace({ type: 'at-rx', line: t, role: 'response' });
        p.lines.push(raw);
      } else {
        this.trace({ type: 'at-rx', line: t, role: 'stale' });
      }
      return;
    }
    const final = parseFinal(t);
    if (final) {
      this.trace({ type: 'at-rx', line: t, role: 'final' });
      return this.finish(p, final);
    }
    this.trace({ type: 'at-rx', line: t, role: 'response' });
    p.lines.push(raw);
  }

  private echo(t: string, p: Pending): void {
    this.lastKind = 'echo';
    this.trace({ type: 'at-rx', line: t, role: 'echo' });
    if (!this.echoExpected) {
      this.declareReboot('echo', true, `echo of '${p.line}' after ATE0`);
    }
  }

  private urc(t: string): void {
    if (DEFAULT_REBOOT_URCS.some((re) => re.test(t))) this.declareReboot('RDY', true, `URC '${t}'`);
    else if (DEFAULT_CARD_LOST_URCS.some((re) => re.test(t))) this.declareReboot('card-lost', true, `URC '${t}'`);
    for (const l of this.urcListeners) l(t);
  }

  private finish(p: Pending, final: AtFinal): void {
    if (p.marker && !p.markerSeen) {
      this.note(`stale final result code ${formatFinal(final)} dropped while resynchronising`);
      p.lines = [];
      p.splits.clear();
      return;
    }
    clearTimeout(p.timer);
    this.pending = undefined;
    p.resolve({ lines: this.joinSplitLines(p).map((l) => l.trim()), final });
  }

  /** Re-join lines a URC was inserted into, where the halves are incomplete and the whole is complete. */
  private joinSplitLines(p: Pending): string[] {
    const lines = [...p.lines];
    if (!p.complete || p.splits.size === 0) return lines;
    for (const i of [...p.splits].sort((a, b) => b - a)) {
      const a = lines[i];
      const b = lines[i + 1];
      if (a === undefined || b === undefined) continue;
      if (!p.complete(a.trim()) && p.complete((a + b).trim())) {
        lines.splice(i, 2, a + b);
        this.note(`response line re-joined around a URC: ${(a + b).trim()}`);
      }
    }
    return lines;
  }

  private declareReboot(reason: AtRebootReason, certain: boolean, detail: string): void {
    if (reason !== 'card-lost') {
      // one restart shows several signs (RDY, then the echo): count it once
      if (this.needsInit && this.initialised && reason !== 'port-closed') return;
      if (!this.naive.echoAsResponse) this.needsInit = true;
      this.echoExpected = true;
    }
    if (!this.initialised && reason !== 'port-closed') return;
    this.reboots++;
    this.trace({ type: 'at-reboot', reason, certain, detail });
    for (const l of this.rebootListeners) l({ reason, certain, detail });
  }

  private note(text: string): void {
    this.trace({ type: 'at-note', text });
  }
}
