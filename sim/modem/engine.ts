// The AT engine every fake modem runs (ITU-T V.250 command lines and result codes;
// 3GPP TS 27.007: +CMEE 9.1, +CFUN 8.2, +CPIN 8.3, +CIMI 5.6, +CSIM 8.17, +CRSM 8.18,
// +CCHO 8.45, +CCHC 8.46, +CGLA 8.43, +CME ERROR 9.2) with every behaviour that differs
// between modules taken from a Personality (personality.ts documents every knob and its
// evidence: echo after restart, URCs, +CCHO forms, CLA channel bits, GET RESPONSE,
// spurious ERROR, =? forms, hex case, TERMINAL CAPABILITY gate, 6100 loop, USIM gate)
// and the post-enable lifecycle of the MT: on SW 91xx it runs the proactive session
// (ETSI TS 102 221 10.2.1.1 FETCH, ETSI TS 102 223 6.4.7 REFRESH, 6.8 TERMINAL RESPONSE)
// and then resets the card, ignores the change, or re-enumerates (the serial device
// vanishes and comes back through the DeviceControl of its endpoint).
// Bytes in: receive(); bytes out: the output callback (UART pacing is uart.ts's job).
import { hexToBytes } from '../bytes.ts';
import { argInt, findAtPrefix, parseCommandLine, type AtArg, type AtCommand } from './at-parser.ts';
import type { ApduCommand, CommandId, Personality, SpuriousScope, TimedUrc } from './personality.ts';
import { Prng } from './prng.ts';
import { CardLink, CardStatusError, channelOfCla, claForChannel, swOf } from './sim-access.ts';
import { type ApduTransport, BARE_ERROR, CME_ERROR_TEXT, cmeError, type ErrorSpec, ModemClosedError } from './types.ts';

export type ModemTraceEvent =
  | { kind: 'line'; line: string }
  | { kind: 'response'; text: string }
  | { kind: 'urc'; text: string }
  | { kind: 'apdu'; capdu: Uint8Array; rapdu: Uint8Array }
  | { kind: 'note'; text: string };

export interface ModemEngineOptions {
  personality: Personality;
  transport: ApduTransport;
  /** bytes the modem puts on its TX line */
  output: (bytes: Uint8Array) => void;
  /** multiplies the personality's latencies, restart time and URC times (0: none); default 1 */
  timeScale?: number;
  /** overrides personality.spuriousErrors.seed */
  seed?: number;
  onTrace?: (event: ModemTraceEvent) => void;
  now?: () => number;
}

export interface ModemSession {
  /** the id as the TE must send it back (channel number or opaque handle) */
  id: string;
  channel: number;
}

/** What the endpoint can do with the serial device (serial.ts implements it for the PTY). */
export interface DeviceControl {
  /** the device disappears now and comes back after ms; resolves once it is back */
  vanish(ms: number): Promise<void>;
}

export interface ModemEngineState {
  echo: boolean;
  cmee: 0 | 1 | 2;
  cfun: number;
  cardPresent: boolean;
  restarting: boolean;
  simReady: boolean;
  sessions: ModemSession[];
  /** REFRESH proactive commands the MT fetched (and acted on per lifecycle.onRefresh) */
  refreshes: number;
  /** the TE sent TERMINAL CAPABILITY through +CSIM since the last card reset */
  terminalCapabilitySent: boolean;
  /** the serial device is gone (re-enumeration in progress) */
  deviceGone: boolean;
}

interface CmdResult {
  lines?: string[];
  error?: ErrorSpec;
  silent?: boolean;
  after?: () => void;
}

const TABLE_COMMANDS: Record<string, CommandId> = {
  '+CSIM': 'csim',
  '+CCHO': 'ccho',
  '+CCHC': 'cchc',
  '+CGLA': 'cgla',
  '+CRSM': 'crsm',
  '+CIMI': 'cimi',
  '+CPIN': 'cpin',
  '+CFUN': 'cfun',
  '+CMEE': 'cmee',
};

const CRSM_COMMANDS = new Set([176, 178, 192, 214, 220, 242]);

function isCpinReady(urc: string): boolean {
  return urc.replace(/\s/g, '').toUpperCase() === '+CPIN:READY';
}

/** TS 102 223 9.4: type of command REFRESH. */
const PROACTIVE_REFRESH = 0x01;

interface CommandDetails {
  number: number;
  type: number;
  qualifier: number;
}

/** Command details (tag 01/81, TS 102 223 8.6) of a proactive command 'D0' template. */
function proactiveCommandDetails(data: Uint8Array): CommandDetails | undefined {
  if (data[0] !== 0xd0 || data.length < 2) return undefined;
  let i = 2;
  let end = 2 + (data[1] as number);
  if (data[1] === 0x81) {
    end = 3 + (data[2] as number);
    i = 3;
  }
  while (i + 2 <= Math.min(end, data.length)) {
    const tag = (data[i] as number) & 0x7f;
    const len = data[i + 1] as number;
    if (tag === 0x01 && len === 3 && i + 5 <= data.length) return { number: data[i + 2] as number, type: data[i + 3] as number, qualifier: data[i + 4] as number };
    i += 2 + len;
  }
  return undefined;
}

/** TERMINAL RESPONSE (TS 102 223 6.8): the command details back, terminal -> UICC, result 00 'command performed successfully'. */
function terminalResponse(d: CommandDetails): Uint8Array {
  const body = [0x81, 0x03, d.number, d.type, d.qualifier, 0x82, 0x02, 0x82, 0x81, 0x83, 0x01, 0x00];
  return Uint8Array.of(0x80, 0x14, 0x00, 0x00, body.length, ...body);
}

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

export class ModemEngine {
  readonly personality: Personality;
  private readonly transport: ApduTransport;
  private readonly output: (bytes: Uint8Array) => void;
  private readonly timeScale: number;
  private readonly trace: (e: ModemTraceEvent) => void;
  private readonly now: () => number;
  private readonly link: CardLink;
  private readonly prng: Prng;
  private readonly handlePrng: Prng;

  private echo: boolean;
  private cmee: 0 | 1 | 2;
  private cfun = 1;
  private cardPresent = true;
  private booting = false;
  private simReadyAt = 0;
  private epoch = 0;
  private closed = false;
  private sessions = new Map<string, ModemSession>();
  private usimAidCache: Uint8Array | undefined;
  private lastCchoFailAt: number | undefined;
  private lastSpurious = false;

  private lineBuf = '';
  private overflow = false;
  private lastCharAt = 0;
  private queue: { line: string; overflow: boolean }[] = [];
  private running = false;
  private idleWaiters: (() => void)[] = [];
  private timers = new Map<NodeJS.Timeout, (err: Error) => void>();

  private spuriousOverride: { rate: number; scope: SpuriousScope } | undefined;
  /** channels with a LoadBoundProfilePackage (STORE DATA sequence starting BF36) in progress */
  private bppChannels = new Set<number>();
  private responseDelay: { ms: number; remaining: number | undefined } = { ms: 0, remaining: undefined };
  private injections: { text: string; offset: number | undefined }[] = [];
  private device: DeviceControl | undefined;
  private deviceGone = false;
  private refreshes = 0;
  private proactiveRunning = false;
  private terminalCapabilitySent = false;
  /** whether the card offers a USIM (probed when simRequiresUsim; undefined: not probed since the last reset) */
  private usimPresent: boolean | undefined;

  constructor(opts: ModemEngineOptions) {
    this.personality = opts.personality;
    this.transport = opts.transport;
    this.output = opts.output;
    this.timeScale = opts.timeScale ?? 1;
    this.trace = opts.onTrace ?? (() => {});
    this.now = opts.now ?? (() => performance.now());
    const seed = opts.seed ?? this.personality.spuriousErrors.seed;
    this.prng = new Prng(seed);
    this.handlePrng = new Prng(seed ^ 0x5eed5eed);
    this.link = new CardLink(this.transport, (capdu, rapdu) => this.trace({ kind: 'apdu', capdu, rapdu }));
    this.echo = this.personality.echoDefault;
    this.cmee = this.personality.cmeeDefault;
  }

  // ---- input ---------------------------------------------------------------------------

  /** Bytes that arrived on the modem's RX line. */
  receive(bytes: Uint8Array): void {
    if (this.closed || bytes.length === 0) return;
    const now = this.now();
    if (this.booting) {
      this.note(`ignored ${bytes.length} bytes received while restarting`);
      return;
    }
    if (this.echo) this.write(latin1(bytes));
    const max = this.personality.limits.maxLineLength;
    const ict = this.personality.limits.interCharTimeoutMs;
    for (const b of bytes) {
      if (ict !== null && (this.lineBuf.length > 0 || this.overflow) && now - this.lastCharAt > ict) {
        this.note(`command line discarded: ${Math.round(now - this.lastCharAt)} ms between characters (limit ${ict} ms): '${this.lineBuf}'`);
        this.lineBuf = '';
        this.overflow = false;
      }
      this.lastCharAt = now;
      if (b === 0x0d) {
        if (this.lineBuf.length > 0 || this.overflow) this.queue.push({ line: this.lineBuf, overflow: this.overflow });
        this.lineBuf = '';
        this.overflow = false;
      } else if (b === 0x0a) {
        // LF after CR (or alone) is not part of a command line
      } else if (b === 0x08 || b === 0x7f) {
        this.lineBuf = this.lineBuf.slice(0, -1);
      } else if (this.lineBuf.length >= max) {
        this.overflow = true;
      } else {
        this.lineBuf += String.fromCharCode(b);
      }
    }
    void this.pump();
  }

  /** Resolves when every received command line has been answered. */
  idle(): Promise<void> {
    if (!this.running && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.queue.length > 0 && !this.closed) {
        const item = this.queue.shift() as { line: string; overflow: boolean };
        try {
          await this.handleLine(item.line, item.overflow);
        } catch (err) {
          if (err instanceof ModemClosedError) break;
          this.note(`internal error on '${item.line}': ${(err as Error).stack ?? String(err)}`);
          this.respond([], 'ERROR', this.epoch);
        }
      }
    } finally {
      this.running = false;
      const waiters = this.idleWaiters.splice(0);
      for (const w of waiters) w();
    }
  }

  private async handleLine(line: string, overflow: boolean): Promise<void> {
    const epoch = this.epoch;
    this.trace({ kind: 'line', line });
    const at = findAtPrefix(line);
    if (overflow) {
      this.note(`command line longer than ${this.personality.limits.maxLineLength} characters`);
      return this.respond([], 'ERROR', epoch);
    }
    if (at < 0) {
      if (line.trim() === '') return;
      this.note(`line without AT prefix: '${line}'`);
      if (this.personality.format.nonAtLine === 'error') this.respond([], 'ERROR', epoch);
      return;
    }
    const parsed = parseCommandLine(line.slice(at));
    if (!parsed.ok) {
      this.note(`syntax error at ${parsed.position}: ${parsed.error}`);
      await this.delay(this.latencyFor(''));
      return this.respond([], 'ERROR', epoch);
    }
    const blocks: string[][] = [];
    let final: string | null = 'OK';
    let after: (() => void) | undefined;
    if (parsed.commands.length === 0) await this.delay(this.latencyFor(''));
    for (const cmd of parsed.commands) {
      await this.delay(this.latencyFor(cmd.name));
      if (epoch !== this.epoch) return;
      const r = await this.execute(cmd);
      if (epoch !== this.epoch) return;
      if (r.silent) {
        this.note(`no answer to ${cmd.name}${cmd.kind === 'test' ? '=?' : ''} (personality: silent)`);
        final = null;
        break;
      }
      if (r.lines && r.lines.length > 0) blocks.push(r.lines);
      if (r.error) {
        final = this.renderError(r.error);
        break;
      }
      if (r.after) {
        const prev = after;
        const next = r.after;
        after = prev ? () => (prev(), next()) : next;
      }
    }
    if (this.responseDelay.ms > 0 && (this.responseDelay.remaining === undefined || this.responseDelay.remaining > 0)) {
      if (this.responseDelay.remaining !== undefined) this.responseDelay.remaining--;
      await this.delay(this.responseDelay.ms);
    }
    if (final === null) return;
    this.respond(blocks, final, epoch);
    after?.();
  }

  private latencyFor(name: string): number {
    const t = this.personality.timing;
    return (t.commandLatencyMs[name.toUpperCase()] ?? t.perCommandLatencyMs) * this.timeScale;
  }

  // ---- output --------------------------------------------------------------------------

  private write(s: string): void {
    if (this.closed) return;
    this.output(Buffer.from(s, 'latin1'));
  }

  private respond(blocks: string[][], final: string, epoch: number): void {
    if (epoch !== this.epoch || this.closed) return;
    const le = this.personality.format.lineEnding;
    let text = blocks.map((lines) => le + lines.join(le) + le).join('') + le + final + le;
    const inj = this.injections.shift();
    if (inj) {
      const firstLen = (blocks[0]?.[0] ?? final).length;
      const at = Math.min(text.length, Math.max(0, inj.offset ?? le.length + Math.max(1, Math.floor(firstLen / 2))));
      text = text.slice(0, at) + le + inj.text + le + text.slice(at);
      this.note(`URC '${inj.text}' injected at offset ${at} of the response`);
    }
    this.trace({ kind: 'response', text });
    this.write(text);
  }

  /** Send an unsolicited result code now. */
  emitUrc(text: string): void {
    if (this.closed) return;
    const le = this.personality.format.lineEnding;
    this.trace({ kind: 'urc', text });
    this.write(le + text + le);
  }

  private p(name: string): string {
    return `${name}:${this.personality.format.spaceAfterColon ? ' ' : ''}`;
  }

  private hex(b: Uint8Array): string {
    const h = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
    return this.personality.format.hexCase === 'upper' ? h.toUpperCase() : h;
  }

  renderError(spec: ErrorSpec): string {
    if (spec.kind === 'error' || this.cmee === 0) return 'ERROR';
    if (this.cmee === 1) return `${this.p('+CME ERROR')}${spec.code}`;
    return `${this.p('+CME ERROR')}${CME_ERROR_TEXT[spec.code] ?? 'unknown'}`;
  }

  private note(text: string): void {
    this.trace({ kind: 'note', text });
  }

  // ---- timers --------------------------------------------------------------------------

  private delay(ms: number): Promise<void> {
    if (this.closed) return Promise.reject(new ModemClosedError('delay'));
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.set(t, reject);
    });
  }

  private scaled(ms: number): number {
    return ms * this.timeScale;
  }

  // ---- commands ------------------------------------------------------------------------

  private testResult(lines: string[], id?: CommandId): CmdResult {
    const behaviour = id ? this.personality.commands[id].test : this.personality.testCommands;
    if (behaviour === 'silent') return { silent: true };
    if (behaviour === 'error') return { error: id ? this.personality.commands[id].error : BARE_ERROR };
    return { lines };
  }

  private async execute(cmd: AtCommand): Promise<CmdResult> {
    const pers = this.personality;
    const idn = pers.identity;
    const extraKey = cmd.kind === 'read' ? `${cmd.name}?` : cmd.kind === 'exec' ? cmd.name : undefined;
    if (extraKey !== undefined && idn.extraCommands[extraKey]) return { lines: [...(idn.extraCommands[extraKey] as string[])] };
    if (cmd.kind === 'test' && (idn.extraCommands[cmd.name] || idn.extraCommands[`${cmd.name}?`])) return this.testResult([]);

    const tableId = TABLE_COMMANDS[cmd.name];
    if (tableId) {
      const support = pers.commands[tableId];
      if (!support.supported) return { error: support.error };
      if (cmd.kind === 'test') return this.testResult(this.testLines(tableId), tableId);
      return this.executeTable(tableId, cmd);
    }

    const iccid = pers.iccidCommands.find((c) => c.command === cmd.name);
    if (iccid) {
      if (cmd.kind === 'test') return this.testResult([]);
      if (cmd.kind === 'set') return { error: BARE_ERROR };
      return this.withSim(async () => ({ lines: [`${this.p(iccid.prefix)}${await this.link.readIccid()}`] }));
    }

    const identity: Record<string, string> = {
      '+CGMI': idn.manufacturer,
      '+GMI': idn.manufacturer,
      '+CGMM': idn.model,
      '+GMM': idn.model,
      '+CGMR': idn.revision,
      '+GMR': idn.revision,
      '+CGSN': idn.imei,
      '+GSN': idn.imei,
    };
    const value = identity[cmd.name];
    if (value !== undefined) {
      if (cmd.kind === 'exec') return { lines: [value] };
      if (cmd.kind === 'test') return this.testResult([]);
      return { error: BARE_ERROR };
    }

    switch (cmd.name) {
      case 'E':
        if (cmd.value === undefined || cmd.value === 0 || cmd.value === 1) {
          this.echo = cmd.value === 1;
          return {};
        }
        return { error: BARE_ERROR };
      case 'I':
        return cmd.value === undefined || cmd.value === 0 ? { lines: [...idn.ati] } : { error: BARE_ERROR };
      case 'Z':
      case '&F':
        if (cmd.value !== undefined && cmd.value !== 0) return { error: BARE_ERROR };
        this.echo = pers.echoDefault;
        this.cmee = pers.cmeeDefault;
        return {};
      case 'V':
        return cmd.value === 1 ? {} : { error: BARE_ERROR };
      case 'Q':
        return cmd.value === undefined || cmd.value === 0 ? {} : { error: BARE_ERROR };
      default:
        this.note(`unknown command ${cmd.name}`);
        return { error: BARE_ERROR };
    }
  }

  private testLines(id: CommandId): string[] {
    if (id === 'cmee') return [`${this.p('+CMEE')}(0-2)`];
    if (id === 'cfun') return [`${this.p('+CFUN')}(0,1,4),(0-1)`];
    return [];
  }

  private async executeTable(id: CommandId, cmd: AtCommand): Promise<CmdResult> {
    const bad: CmdResult = { error: this.personality.errors.badParameters };
    switch (id) {
      case 'cmee': {
        if (cmd.kind === 'read') return { lines: [`${this.p('+CMEE')}${this.cmee}`] };
        if (cmd.kind !== 'set' || cmd.args.length !== 1) return { error: BARE_ERROR };
        const n = cmd.args[0]?.kind === 'empty' ? 0 : argInt(cmd.args[0]);
        if (n !== 0 && n !== 1 && n !== 2) return bad;
        this.cmee = n;
        return {};
      }
      case 'cfun':
        return this.cfunCommand(cmd);
      case 'cpin': {
        if (cmd.kind === 'read') return this.withSim(async () => ({ lines: [`${this.p('+CPIN')}READY`] }));
        if (cmd.kind === 'set') return this.withSim(async () => ({ error: cmeError(3) }));
        return { error: BARE_ERROR };
      }
      case 'cimi':
        if (cmd.kind !== 'exec') return { error: BARE_ERROR };
        return this.withSim(async () => ({ lines: [await this.link.readImsi(await this.usimAid())] }));
      case 'csim':
        return cmd.kind === 'set' ? this.csim(cmd.args) : { error: BARE_ERROR };
      case 'ccho':
        return cmd.kind === 'set' ? this.ccho(cmd.args) : { error: BARE_ERROR };
      case 'cchc':
        return cmd.kind === 'set' ? this.cchc(cmd.args) : { error: BARE_ERROR };
      case 'cgla':
        return cmd.kind === 'set' ? this.cgla(cmd.args) : { error: BARE_ERROR };
      case 'crsm':
        return cmd.kind === 'set' ? this.crsm(cmd.args) : { error: BARE_ERROR };
    }
  }

  /** SIM reachable? +CME ERROR 10 (removed), 13 (powered down by CFUN=0), 14 (still initialising). */
  private simGate(): ErrorSpec | null {
    if (!this.cardPresent) return cmeError(10);
    if (this.cfun === 0) return cmeError(13);
    if (this.now() < this.simReadyAt) return cmeError(14);
    return null;
  }

  /** Run a card operation behind the SIM gate; card failures become +CME ERROR: 13. */
  private async withSim(fn: () => Promise<CmdResult>): Promise<CmdResult> {
    const gate = this.simGate();
    if (gate) return { error: gate };
    try {
      if (this.personality.simRequiresUsim && !(await this.hasUsim())) {
        this.note('no USIM on the card (no enabled profile): the MT does not use it (simRequiresUsim)');
        return { error: this.personality.errors.simNotUsable };
      }
      return await fn();
    } catch (err) {
      if (err instanceof ModemClosedError) throw err;
      this.note(`card access failed: ${err instanceof CardStatusError ? err.message : (err as Error).stack ?? String(err)}`);
      return { error: cmeError(13) };
    }
  }

  /** SELECT ADF.USIM on the basic channel once per card reset: does the card carry a usable USIM? */
  private async hasUsim(): Promise<boolean> {
    if (this.usimPresent === undefined) {
      const aid = await this.usimAid();
      this.usimPresent = swOf(await this.link.selectAid(aid)) === 0x9000;
      await this.link.selectFid(0x3f00);
    }
    return this.usimPresent;
  }

  private async usimAid(): Promise<Uint8Array> {
    if (!this.usimAidCache) this.usimAidCache = await this.link.findUsimAid(hexToBytes(this.personality.usimAid));
    return this.usimAidCache;
  }

  private cfunCommand(cmd: AtCommand): CmdResult | Promise<CmdResult> {
    if (cmd.kind === 'read') return { lines: [`${this.p('+CFUN')}${this.cfun}`] };
    if (cmd.kind !== 'set') return { error: BARE_ERROR };
    const fun = argInt(cmd.args[0]);
    const rst = cmd.args[1] === undefined || cmd.args[1].kind === 'empty' ? 0 : argInt(cmd.args[1]);
    if (cmd.args.length > 2 || (fun !== 0 && fun !== 1 && fun !== 4) || (rst !== 0 && rst !== 1)) return { error: this.personality.errors.badParameters };
    if (rst === 1)
      return {
        after: () => {
          this.restart(`AT+CFUN=${fun},1`, fun).catch((err: unknown) => this.note(`restart failed: ${(err as Error).message}`));
        },
      };
    return (async (): Promise<CmdResult> => {
      if (fun === 0) {
        this.cfun = 0;
        this.dropSessions('CFUN=0');
        const lc = this.personality.lifecycle;
        if (lc.serialDropsOnCfun0)
          return {
            after: () => {
              this.vanishDevice(this.scaled(lc.reenumerateGoneMs), 'AT+CFUN=0').catch((err: unknown) => this.note(`vanishing failed: ${(err as Error).message}`));
            },
          };
      } else {
        const wasOff = this.cfun === 0;
        this.cfun = fun;
        if (wasOff && this.cardPresent) await this.resetCard('CFUN=0 -> ' + fun);
      }
      return {};
    })();
  }

  private dropSessions(why: string): void {
    if (this.sessions.size > 0) this.note(`${this.sessions.size} logical channel session(s) dropped: ${why}`);
    this.sessions.clear();
    this.bppChannels.clear();
    this.usimAidCache = undefined;
  }

  private async resetCard(why: string): Promise<void> {
    this.terminalCapabilitySent = false;
    this.usimPresent = undefined;
    this.usimAidCache = undefined;
    try {
      const atr = await this.transport.reset();
      this.note(`card reset (${why}), ATR ${this.hex(atr)}`);
    } catch (err) {
      this.note(`card reset (${why}) failed: ${(err as Error).message}`);
    }
  }

  /** Parse `<len>,"<hex>"`: len counts hex characters (27.007 8.17/8.43). */
  private apduArgs(args: AtArg[], maxBytes: number): Uint8Array | undefined {
    if (args.length !== 2) return undefined;
    const len = argInt(args[0]);
    const h = args[1] as AtArg;
    if (len === undefined || h.kind === 'empty' || !/^[0-9A-Fa-f]*$/.test(h.text)) return undefined;
    if (this.personality.format.hexInput === 'upper' && /[a-f]/.test(h.text)) {
      this.note('lower-case hex refused (personality: upper case only)');
      return undefined;
    }
    if (h.text.length !== len || len % 2 !== 0) {
      this.note(`length ${len} does not match ${h.text.length} hex characters`);
      return undefined;
    }
    const apdu = hexToBytes(h.text);
    if (apdu.length < 4 || apdu.length > maxBytes) {
      this.note(`APDU of ${apdu.length} bytes outside 4..${maxBytes}`);
      return undefined;
    }
    return apdu;
  }

  /** Follow ES10 STORE DATA sequences per channel: block 0 starting BF36 opens a BPP, another BFxx command ends it. */
  private trackBpp(apdu: Uint8Array, channel: number): void {
    if (apdu[1] !== 0xe2 || apdu[3] !== 0x00 || apdu.length < 7 || apdu[5] !== 0xbf) return;
    if (apdu[6] === 0x36) this.bppChannels.add(channel);
    else this.bppChannels.delete(channel);
  }

  private spurious(apdu: Uint8Array, channel: number, command: ApduCommand): boolean {
    this.trackBpp(apdu, channel);
    const cfg = this.spuriousOverride ?? this.personality.spuriousErrors;
    if (cfg.rate <= 0) return false;
    if (!this.spuriousOverride && !this.personality.spuriousErrors.commands.includes(command)) return false;
    if (cfg.scope !== 'all' && apdu[1] !== 0xe2) return false;
    if (cfg.scope === 'bpp' && !this.bppChannels.has(channel)) return false;
    if (this.lastSpurious) {
      this.lastSpurious = false;
      return false;
    }
    this.lastSpurious = this.prng.chance(cfg.rate);
    if (this.lastSpurious) this.note(`spurious error (rate ${cfg.rate}); APDU not sent to the card`);
    return this.lastSpurious;
  }

  private transmitForTe(apdu: Uint8Array): Promise<Uint8Array> {
    return this.personality.getResponse === 'modem' ? this.link.exchange(apdu) : this.link.transmit(apdu);
  }

  private apduLine(name: string, r: Uint8Array): string {
    return `${this.p(name)}${r.length * 2},"${this.hex(r)}"`;
  }

  private csim(args: AtArg[]): Promise<CmdResult> | CmdResult {
    const pers = this.personality;
    const apdu = this.apduArgs(args, pers.limits.maxApduBytes.csim);
    if (!apdu) return { error: pers.errors.badParameters };
    return this.withSim(async () => {
      if (pers.csimStatusOnLogicalChannelFails && apdu[1] === 0xf2 && channelOfCla(apdu[0] as number) !== 0) {
        this.note('STATUS on a logical channel through +CSIM refused (personality)');
        return { error: pers.errors.csimStatusOnLogicalChannel };
      }
      const isTerminalCapability = apdu[1] === 0xaa && ((apdu[0] as number) & 0xf0) === 0x80;
      if (pers.csimNeedsTerminalCapability && !this.terminalCapabilitySent && !isTerminalCapability) {
        this.note('+CSIM before TERMINAL CAPABILITY refused (personality)');
        return { error: pers.errors.terminalCapabilityMissing };
      }
      const looped = this.getResponseLoop(apdu, '+CSIM');
      if (looped) return looped;
      if (this.spurious(apdu, channelOfCla(apdu[0] as number), 'csim')) return { error: pers.spuriousErrors.error };
      const r = await this.transmitForTe(apdu);
      if (isTerminalCapability && swOf(r) === 0x9000) this.terminalCapabilitySent = true;
      return this.apduResult('+CSIM', r);
    });
  }

  /** GET RESPONSE through +CSIM asking for 256 bytes answered 6100 without the card (personality getResponseLe00 'loop6100'). */
  private getResponseLoop(apdu: Uint8Array, name: string): CmdResult | undefined {
    if (this.personality.getResponseLe00 !== 'loop6100' || apdu[1] !== 0xc0 || apdu.length !== 5 || apdu[4] !== 0) return undefined;
    this.note('GET RESPONSE with P3=00 answered 6100 by the MT (personality: 6100 loop)');
    return { lines: [this.apduLine(name, Uint8Array.of(0x61, 0x00))] };
  }

  /** The TE's answer, and the MT's own proactive session afterwards when the card signals one (91xx). */
  private apduResult(name: string, r: Uint8Array): CmdResult {
    const result: CmdResult = { lines: [this.apduLine(name, r)] };
    if (swOf(r) >> 8 === 0x91 && this.personality.lifecycle.proactive === 'mt') {
      const epoch = this.epoch;
      result.after = () => {
        this.runProactiveSession(epoch, swOf(r)).catch((err: unknown) => {
          if (!(err instanceof ModemClosedError)) this.note(`proactive session failed: ${(err as Error).message}`);
        });
      };
    }
    return result;
  }

  private sessionKey(arg: AtArg | undefined): string | undefined {
    if (!arg || arg.kind === 'empty') return undefined;
    if (this.personality.cchoResult === 'handle') return /^[0-9A-Fa-f]{1,16}$/.test(arg.text) ? arg.text.toLowerCase().padStart(16, '0') : undefined;
    const n = argInt(arg);
    return n === undefined ? undefined : String(n);
  }

  private newHandle(channel: number): string {
    for (;;) {
      const h = '00000000' + ((this.handlePrng.u32() | 0x01000000) >>> 0).toString(16).padStart(8, '0');
      if (!this.sessions.has(h)) {
        this.note(`session handle ${h} -> logical channel ${channel}`);
        return h;
      }
    }
  }

  private async ccho(args: AtArg[]): Promise<CmdResult> {
    const pers = this.personality;
    const a = args[0];
    if (args.length !== 1 || !a || a.kind === 'empty' || !/^([0-9A-Fa-f]{2}){1,16}$/.test(a.text)) return { error: pers.errors.badParameters };
    const aid = hexToBytes(a.text);
    const fail = (e: ErrorSpec): CmdResult => {
      this.lastCchoFailAt = this.now();
      return { error: e };
    };
    const gate = this.simGate();
    if (gate) return fail(gate);
    if (pers.cchoRetryMinIntervalMs > 0 && this.lastCchoFailAt !== undefined && this.now() - this.lastCchoFailAt < pers.cchoRetryMinIntervalMs) {
      this.note(`+CCHO ${Math.round(this.now() - this.lastCchoFailAt)} ms after a failed one (needs ${pers.cchoRetryMinIntervalMs} ms)`);
      return fail(pers.errors.cchoTooSoon);
    }
    if (this.sessions.size >= pers.limits.maxChannels) return fail(pers.errors.noFreeChannel);
    return this.withSim(async () => {
      const open = await this.link.transmit(Uint8Array.of(0x00, 0x70, 0x00, 0x00, 0x01));
      if (swOf(open) !== 0x9000 || open.length !== 3) {
        this.note(`MANAGE CHANNEL open answered ${this.hex(open)}`);
        return fail(pers.errors.noFreeChannel);
      }
      const channel = open[0] as number;
      const select = await this.link.exchange(Uint8Array.of(claForChannel(0x00, channel), 0xa4, 0x04, 0x00, aid.length, ...aid));
      if (swOf(select) !== 0x9000) {
        this.note(`SELECT ${a.text} on channel ${channel} answered ${this.hex(select.subarray(select.length - 2))}; closing the channel`);
        await this.link.transmit(Uint8Array.of(0x00, 0x70, 0x80, channel, 0x00));
        return fail(pers.errors.cchoOnNonEuicc);
      }
      const id = pers.cchoResult === 'handle' ? this.newHandle(channel) : String(channel);
      this.sessions.set(id, { id, channel });
      this.lastCchoFailAt = undefined;
      return { lines: [pers.cchoResult === 'bare' ? id : `${this.p('+CCHO')}${id}`] };
    });
  }

  private async cchc(args: AtArg[]): Promise<CmdResult> {
    const key = args.length === 1 ? this.sessionKey(args[0]) : undefined;
    if (key === undefined) return { error: this.personality.errors.badParameters };
    return this.withSim(async () => {
      const s = this.sessions.get(key);
      if (!s) return { error: this.personality.errors.unknownSession };
      this.sessions.delete(key);
      this.bppChannels.delete(s.channel);
      const r = await this.link.transmit(Uint8Array.of(0x00, 0x70, 0x80, s.channel, 0x00));
      if (swOf(r) !== 0x9000) this.note(`MANAGE CHANNEL close ${s.channel} answered ${this.hex(r)}`);
      return {};
    });
  }

  private async cgla(args: AtArg[]): Promise<CmdResult> {
    const key = this.sessionKey(args[0]);
    const apdu = this.apduArgs(args.slice(1), this.personality.limits.maxApduBytes.cgla);
    if (args.length !== 3 || key === undefined || !apdu) return { error: this.personality.errors.badParameters };
    return this.withSim(async () => {
      const s = this.sessions.get(key);
      if (!s) return { error: this.personality.errors.unknownSession };
      if (this.spurious(apdu, s.channel, 'cgla')) return { error: this.personality.spuriousErrors.error };
      if (this.personality.cglaSetsChannelInCla) apdu[0] = claForChannel(apdu[0] as number, s.channel);
      return this.apduResult('+CGLA', await this.transmitForTe(apdu));
    });
  }

  private async crsm(args: AtArg[]): Promise<CmdResult> {
    const bad: CmdResult = { error: this.personality.errors.badParameters };
    const command = argInt(args[0]);
    if (command === undefined || !CRSM_COMMANDS.has(command) || args.length > 7) return bad;
    const fileId = argInt(args[1]);
    const [p1, p2, p3] = [argInt(args[2]), argInt(args[3]), argInt(args[4])];
    const needsParams = command !== 192 && command !== 242;
    if ((fileId === undefined && command !== 242) || (needsParams && (p1 === undefined || p2 === undefined || p3 === undefined))) return bad;
    if ([p1, p2, p3].some((v) => v !== undefined && v > 255) || (fileId !== undefined && fileId > 0xffff)) return bad;
    const dataArg = args[5];
    const data = dataArg && dataArg.kind !== 'empty' ? dataArg.text : '';
    if (!/^([0-9A-Fa-f]{2})*$/.test(data)) return bad;
    if ((command === 214 || command === 220) && data.length === 0) return bad;
    const pathArg = args[6];
    const path = pathArg && pathArg.kind !== 'empty' ? pathArg.text : '';
    if (!/^([0-9A-Fa-f]{4})*$/.test(path)) return bad;
    return this.withSim(async () => {
      let selected: Uint8Array | undefined;
      if (fileId !== undefined) {
        selected = await this.crsmSelect(fileId, path);
        if (swOf(selected) !== 0x9000) return { lines: [this.crsmLine(selected)] };
      }
      const P1 = p1 ?? 0;
      const P2 = p2 ?? 0;
      const P3 = p3 ?? 0;
      let r: Uint8Array;
      switch (command) {
        case 176:
          r = await this.link.exchange(Uint8Array.of(0x00, 0xb0, P1, P2, P3));
          break;
        case 178:
          r = await this.link.exchange(Uint8Array.of(0x00, 0xb2, P1, P2, P3));
          break;
        case 192:
          r = selected ?? Uint8Array.of(0x69, 0x86);
          break;
        case 214:
          r = await this.link.exchange(Uint8Array.of(0x00, 0xd6, P1, P2, data.length / 2, ...hexToBytes(data)));
          break;
        case 220:
          r = await this.link.exchange(Uint8Array.of(0x00, 0xdc, P1, P2, data.length / 2, ...hexToBytes(data)));
          break;
        default:
          r = await this.link.exchange(Uint8Array.of(0x80, 0xf2, P1, P2, P3));
      }
      return { lines: [this.crsmLine(r)] };
    });
  }

  private crsmLine(r: Uint8Array): string {
    const sw = swOf(r);
    const data = r.subarray(0, Math.max(0, r.length - 2));
    return `${this.p('+CRSM')}${sw >> 8},${sw & 0xff}${data.length ? `,"${this.hex(data)}"` : ''}`;
  }

  /** Select a file for +CRSM: MF, then the path (7FFF = ADF.USIM) or, for 6Fxx/4Fxx, ADF.USIM, then the file. */
  private async crsmSelect(fileId: number, path: string): Promise<Uint8Array> {
    let r = await this.link.selectFid(0x3f00);
    if (swOf(r) !== 0x9000 || fileId === 0x3f00) return r;
    const steps: number[] = [];
    for (let i = 0; i < path.length; i += 4) steps.push(parseInt(path.slice(i, i + 4), 16));
    if (steps[0] === 0x3f00) steps.shift();
    if (path.length === 0 && (fileId >> 8 === 0x6f || fileId >> 8 === 0x4f)) steps.push(0x7fff);
    for (const step of steps) {
      r = step === 0x7fff ? await this.link.selectAid(await this.usimAid()) : await this.link.selectFid(step);
      if (swOf(r) !== 0x9000) return r;
    }
    return this.link.selectFid(fileId);
  }

  // ---- lifecycle and faults ------------------------------------------------------------

  /**
   * Restart like CFUN=1,1 or an internal reboot: the modem stops listening for
   * timing.restartMs, forgets its sessions, resets the card, comes back with echo =
   * echoAfterRestart and +CMEE = cmeeDefault, then sends urcsAfterRestart. SIM commands
   * answer +CME ERROR: 14 until the +CPIN: READY URC (if the personality has one).
   * Resolves when the last URC has been sent.
   */
  async restart(reason: string, funAfter = 1, opts: { vanishMs?: number } = {}): Promise<void> {
    if (this.closed) throw new ModemClosedError('restart');
    const pers = this.personality;
    const epoch = ++this.epoch;
    this.queue.length = 0;
    this.lineBuf = '';
    this.overflow = false;
    this.lastSpurious = false;
    this.lastCchoFailAt = undefined;
    this.dropSessions(`restart (${reason})`);
    const restartMs = this.scaled(pers.timing.restartMs);
    this.booting = true;
    // SIM commands answer "SIM busy" until the +CPIN: READY URC goes out (or the boot ends, without one)
    const hasCpinUrc = pers.urcsAfterRestart.some((u) => isCpinReady(u.text));
    this.simReadyAt = Number.POSITIVE_INFINITY;
    this.echo = pers.echoAfterRestart;
    this.cmee = pers.cmeeDefault;
    this.cfun = funAfter;
    this.note(`restart (${reason}): deaf for ${restartMs} ms, echo ${this.echo ? 'on' : 'off'} afterwards`);
    const back = opts.vanishMs !== undefined ? this.vanishDevice(this.scaled(opts.vanishMs), reason) : undefined;
    if (this.cardPresent) await this.resetCard(`restart (${reason})`);
    if (!(await this.sleepUnlessClosed(restartMs)) || epoch !== this.epoch) return;
    if (back) await back;
    if (this.closed || epoch !== this.epoch) return;
    this.booting = false;
    if (!hasCpinUrc) this.simReadyAt = this.now();
    await this.sendTimedUrcs(pers.urcsAfterRestart, epoch);
  }

  /** false when the modem was closed during the wait (the caller just stops). */
  private async sleepUnlessClosed(ms: number): Promise<boolean> {
    try {
      await this.delay(ms);
      return true;
    } catch (err) {
      if (err instanceof ModemClosedError) return false;
      throw err;
    }
  }

  private async sendTimedUrcs(urcs: TimedUrc[], epoch: number): Promise<void> {
    const start = this.now();
    for (const u of [...urcs].sort((a, b) => a.atMs - b.atMs)) {
      if (!(await this.sleepUnlessClosed(start + this.scaled(u.atMs) - this.now()))) return;
      if (epoch !== this.epoch || this.closed) return;
      if (isCpinReady(u.text)) this.simReadyAt = this.now();
      this.emitUrc(u.text);
    }
  }

  /** How the endpoint makes the serial device vanish (PTY); without one a re-enumeration only restarts the modem. */
  setDeviceControl(device: DeviceControl | undefined): void {
    this.device = device;
  }

  /** The serial device disappears for ms (the endpoint closes it and brings it back); resolves once it is back. */
  private async vanishDevice(ms: number, why: string): Promise<void> {
    if (!this.device) {
      this.note(`device would vanish for ${ms} ms (${why}), but this endpoint cannot remove it`);
      return;
    }
    this.deviceGone = true;
    this.note(`serial device vanishes for ${ms} ms (${why})`);
    try {
      await this.device.vanish(ms);
    } finally {
      this.deviceGone = false;
    }
    this.note('serial device is back');
  }

  /**
   * The MT's side of a proactive session (ETSI TS 102 221 10.2.1.1, TS 102 223 6.3): FETCH
   * on the basic channel, TERMINAL RESPONSE 'command performed', until the card has no
   * more; a REFRESH then gets the personality's lifecycle.onRefresh.
   */
  private async runProactiveSession(epoch: number, firstSw: number): Promise<void> {
    if (this.proactiveRunning) return;
    this.proactiveRunning = true;
    try {
      let sw = firstSw;
      for (let guard = 0; guard < 8 && sw >> 8 === 0x91 && epoch === this.epoch && !this.closed; guard++) {
        const fetched = await this.link.transmit(Uint8Array.of(0x80, 0x12, 0x00, 0x00, sw & 0xff));
        if (swOf(fetched) !== 0x9000) {
          this.note(`FETCH answered ${this.hex(fetched.subarray(fetched.length - 2))}`);
          return;
        }
        const details = proactiveCommandDetails(fetched.subarray(0, fetched.length - 2));
        if (!details) {
          this.note(`FETCH returned no proactive command: ${this.hex(fetched)}`);
          return;
        }
        this.note(`proactive command type ${details.type.toString(16).padStart(2, '0')} qualifier ${details.qualifier.toString(16).padStart(2, '0')} fetched`);
        const tr = await this.link.transmit(terminalResponse(details));
        sw = swOf(tr);
        if (details.type === PROACTIVE_REFRESH) this.onRefresh(epoch);
      }
    } finally {
      this.proactiveRunning = false;
    }
  }

  /** A fetched REFRESH: reset the card, ignore it, or re-enumerate, after lifecycle.refreshDelayMs. */
  private onRefresh(epoch: number): void {
    const lc = this.personality.lifecycle;
    this.refreshes++;
    this.note(`REFRESH: ${lc.onRefresh} after ${this.scaled(lc.refreshDelayMs)} ms (personality)`);
    if (lc.onRefresh === 'ignore') return;
    const act = async (): Promise<void> => {
      if (!(await this.sleepUnlessClosed(this.scaled(lc.refreshDelayMs))) || epoch !== this.epoch) return;
      if (lc.onRefresh === 'reenumerate') return this.restart('REFRESH: re-enumeration', 1, { vanishMs: lc.reenumerateGoneMs });
      await this.resetCardForRefresh(epoch);
    };
    act().catch((err: unknown) => this.note(`REFRESH handling failed: ${(err as Error).message}`));
  }

  private async resetCardForRefresh(epoch: number): Promise<void> {
    const lc = this.personality.lifecycle;
    if (lc.sessionsAfterCardReset === 'dropped') this.dropSessions('card reset for REFRESH');
    else if (this.sessions.size > 0) this.note(`${this.sessions.size} session(s) kept although the card closed their channels (personality: stale)`);
    this.bppChannels.clear();
    if (lc.urcsAfterCardReset.some((u) => isCpinReady(u.text))) this.simReadyAt = Number.POSITIVE_INFINITY;
    await this.resetCard('REFRESH');
    await this.sendTimedUrcs(lc.urcsAfterCardReset, epoch);
  }

  /** Card pulled out: sessions gone, SIM commands answer +CME ERROR: 10. */
  removeCard(): Promise<void> {
    if (this.closed) return Promise.reject(new ModemClosedError('removeCard'));
    this.cardPresent = false;
    this.dropSessions('card removed');
    this.note('card removed');
    return this.sendTimedUrcs(this.personality.urcsOnCardRemoval, this.epoch);
  }

  /** Card put back: it is reset; SIM commands work again (after +CPIN: READY if the personality sends one). */
  async insertCard(): Promise<void> {
    if (this.closed) throw new ModemClosedError('insertCard');
    const epoch = this.epoch;
    this.cardPresent = true;
    this.simReadyAt = this.personality.urcsOnCardInsertion.some((u) => isCpinReady(u.text)) ? Number.POSITIVE_INFINITY : this.now();
    await this.resetCard('card inserted');
    this.note('card inserted');
    await this.sendTimedUrcs(this.personality.urcsOnCardInsertion, epoch);
  }

  /** Split the next response (at `offset` characters, default: the middle of its first line) and put a URC there. */
  injectUrcInNextResponse(text: string, offset?: number): void {
    this.injections.push({ text, offset });
  }

  /** Delay every response (count undefined) or the next `count` responses by ms (not scaled). */
  setResponseDelay(ms: number, count?: number): void {
    this.responseDelay = { ms: Math.max(0, ms), remaining: count };
  }

  /** Override the personality's spurious ERROR rate (null: back to the personality's). */
  setSpuriousErrorRate(rate: number | null, scope: SpuriousScope = 'storeData'): void {
    if (rate !== null && !(rate >= 0 && rate <= 1)) throw new RangeError(`spurious error rate must be in [0, 1], got ${rate}`);
    this.spuriousOverride = rate === null ? undefined : { rate, scope };
    this.lastSpurious = false;
  }

  state(): ModemEngineState {
    const now = this.now();
    return {
      echo: this.echo,
      cmee: this.cmee,
      cfun: this.cfun,
      cardPresent: this.cardPresent,
      restarting: this.booting,
      simReady: this.cardPresent && this.cfun !== 0 && now >= this.simReadyAt,
      sessions: [...this.sessions.values()].map((s) => ({ ...s })),
      refreshes: this.refreshes,
      terminalCapabilitySent: this.terminalCapabilitySent,
      deviceGone: this.deviceGone,
    };
  }

  /** Stop: pending timers are cancelled, nothing more is sent. Does not close the transport. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.epoch++;
    for (const [t, reject] of this.timers) {
      clearTimeout(t);
      reject(new ModemClosedError('pending delay'));
    }
    this.timers.clear();
    this.queue.length = 0;
    const waiters = this.idleWaiters.splice(0);
    for (const w of waiters) w();
  }
}
