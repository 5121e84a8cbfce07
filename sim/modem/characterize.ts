// Modem characterization (`bridgelab characterize`): probe a real modem over its AT
// serial port and write what was learned as a personality (personality.ts) that the fake
// modem runs (a personality is data). Every probe has a timeout, so
// a silent modem never hangs the run, and every exchange is kept as an observation.
//
// Command lines and answers follow ITU-T V.250: 5.2.1 command line (spaces ignored, lines
// without "AT" ignored), 5.7 result codes (OK / ERROR), 6.1.3 I, 6.1.4-6.1.7 +GMI/+GMM/
// +GMR/+GSN, 6.2.4 E (echo). SIM access follows 3GPP TS 27.007: +CGMI 5.1, +CGMM 5.2,
// +CGMR 5.3, +CGSN 5.4, +CIMI 5.6, +CFUN 8.2, +CPIN 8.3, +CSIM 8.17, +CRSM 8.18, +CGLA 8.43,
// +CCHO 8.45, +CCHC 8.46, +CMEE 9.1, +CME ERROR 9.2; test forms `=?` per 27.007 4.1.
//
// Card safety: the probes only read. APDUs sent are SELECT (MF, and AIDs that match no
// application), GET RESPONSE, STATUS, READ BINARY of EF.ICCID (+CRSM), and the one ES10c
// function GetEID (STORE DATA BF3E, SGP.22 5.7.20); channels are opened with +CCHO (the
// ISD-R, a USIM fallback, and an AID that matches nothing) and every one is closed again.
// Modem settings changed on the way (E0, +CMEE=1) are put back at the end.
import { SerialPort } from 'serialport';
import { toUpperHex } from '../bytes.ts';
import {
  type CchoResult,
  COMMAND_IDS,
  type CommandId,
  type GetResponseMode,
  type HexCase,
  type LineEnding,
  type Personality,
  parsePersonality,
  type TestCommandBehaviour,
} from './personality.ts';
import { claForChannel } from './sim-access.ts';
import { BARE_ERROR, CME_ERROR_TEXT, cmeError, type ErrorSpec } from './types.ts';
import { wireTimeMs } from './uart.ts';
export { ISD_R_AID_HEX as ISD_R_AID } from '../apdu/aids.ts';
import { ISD_R_AID_HEX as ISD_R_AID } from '../apdu/aids.ts';

// ---- public types ------------------------------------------------------------------------

/** What characterizeModem needs of a port: serialport's SerialPort (any binding) satisfies it. */
export interface SerialPortLike {
  write(data: Buffer, callback?: (error: Error | null | undefined) => void): boolean;
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  off(event: 'data', listener: (chunk: Buffer) => void): unknown;
}

/** A serial device to open (serialport's default binding: LinuxBinding on Linux). */
export interface SerialPathTarget {
  path: string;
  /** default 115200 */
  baudRate?: number;
}

export type CharacterizeTarget = SerialPortLike | SerialPathTarget;

/** One probe exchange (or a decision taken without one): what was sent, what came back, what it means. */
export interface Observation {
  probe: string;
  sent: string;
  received: string;
  conclusion: string;
  /** round trip of the exchange, when there was one */
  ms?: number;
}

export interface CharacterizeProgress {
  step: number;
  total: number;
  probe: string;
  detail: string;
}

export interface CharacterizeOptions {
  /** personality id (lower case, digits, . _ -); default derived from manufacturer and model */
  name?: string;
  /** line rate the port runs at: timing.baud, and the wire time taken off measured latencies (default 115200) */
  baud?: number;
  /** how long to wait for a final result code (default 5000 ms) */
  commandTimeoutMs?: number;
  /** no answer for this long counts as "silent", for probes where silence is a possible answer (default 1500 ms) */
  silenceMs?: number;
  /** longest command line the line-length probe sends (default 4096 characters) */
  maxLineProbe?: number;
  /** longest inter-character gap the split-write probe tries (default 1000 ms) */
  maxGapProbeMs?: number;
  /** values for the properties that cannot be probed (URCs, restart time, spurious errors...) instead of the defaults */
  base?: Personality;
  /** replace the IMEI in every identity string by 000000000000000 (for personality files that get published) */
  redactImei?: boolean;
  /** names the port in the characterization text (default: the path, or 'serial port') */
  portLabel?: string;
  /** stop probing (the cleanup still closes channels and restores E/+CMEE) */
  signal?: AbortSignal;
  onProgress?: (progress: CharacterizeProgress) => void;
}

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export interface CharacterizeResult {
  /** validated by parsePersonality */
  personality: Personality;
  /** the personality file content (what parsePersonality was given) */
  document: JsonObject;
  observations: Observation[];
  /** things a person must look at (a channel that could not be closed, a setting not restored) */
  warnings: string[];
}

export class CharacterizeError extends Error {
  override readonly name: string = 'CharacterizeError';
  /** the exchanges up to the failure (filled in when the probes stop on this error) */
  observations: Observation[] = [];
}

/** The modem did not answer `AT` with a final result code at all. */
export class ModemSilentError extends CharacterizeError {
  override readonly name = 'ModemSilentError';
  constructor(
    readonly port: string,
    readonly received: string,
    readonly waitedMs: number,
  ) {
    const what =
      received.length === 0
        ? 'nothing came back'
        : `${received.length} byte(s) came back but no OK/ERROR (${JSON.stringify(received.slice(0, 60))}${received.length > 60 ? '...' : ''}: wrong baud rate?)`;
    super(`no answer to AT on ${port} within ${Math.round(waitedMs)} ms: ${what}; is it the modem's AT port, powered, and not held by another program?`);
  }
}

/** The modem answered at first, then stopped answering in the middle of the probes. */
export class ModemStoppedError extends CharacterizeError {
  override readonly name = 'ModemStoppedError';
}

export class CharacterizeAbortedError extends CharacterizeError {
  override readonly name = 'CharacterizeAbortedError';
}

export class SerialWriteError extends CharacterizeError {
  override readonly name = 'SerialWriteError';
}

// ---- constants ---------------------------------------------------------------------------

/** RID + PIX start of every USIM (ETSI TS 101 220): SELECT by this partial AID finds the USIM. */
const USIM_AID_PREFIX = 'A0000000871002';
/** 'F0' = a proprietary, unregistered RID (ISO/IEC 7816-5), then "BRIDGELAB": matches no application. */
const NO_SUCH_AID = 'F0425249444745' + '4C4142';
/** GetEID (SGP.22 5.7.20): STORE DATA, one block, BF3E { 5C 01 5A }; CLA set per probe. */
const GET_EID_BODY = 'E2910006BF3E035C015A';
const DEFAULT_IMEI = '000000000000000';
/** Without TERMINAL CAPABILITY a UICC opens at most 3 extra channels (ETSI TS 102 221 11.1.19: more only when the terminal announces them). */
const DEFAULT_MAX_CHANNELS = 3;
/** Short APDU limit: CLA INS P1 P2 Lc + 255 data + Le. */
const SHORT_APDU_MAX = 261;
const DEFAULT_RESTART_MS = 15000;

/** Vendor identity commands, read-only on the modules that define them; key = as typed after AT. */
const VENDOR_PROBES: readonly string[] = ['+QGMR', '+SIMCOMATI', '+CSUB', '!GSTATUS?', '!PRIID?', '+GTPKGVER?'];
/** ICCID commands of the known modules: command name, and the line that asks. */
const ICCID_PROBES: readonly { command: string; line: string }[] = [
  { command: '+CCID', line: 'AT+CCID' },
  { command: '+QCCID', line: 'AT+QCCID' },
  { command: '+ICCID', line: 'AT+ICCID' },
  { command: '+CICCID', line: 'AT+CICCID' },
  { command: '!ICCID', line: 'AT!ICCID?' },
];
const TABLE_NAMES: Record<CommandId, string> = {
  csim: '+CSIM',
  ccho: '+CCHO',
  cchc: '+CCHC',
  cgla: '+CGLA',
  crsm: '+CRSM',
  cimi: '+CIMI',
  cpin: '+CPIN',
  cfun: '+CFUN',
  cmee: '+CMEE',
};
/** Waits before retrying a refused +CCHO (each refusal restarts a modem's retry clock, so the first that works is the interval). */
const CCHO_RETRY_GRID_MS: readonly number[] = [50, 100, 150, 200, 250, 300, 400, 500, 750, 1000, 1500, 2000, 3000];
const GAP_GRID_MS: readonly number[] = [25, 50, 100, 150, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000];
/** Lines modems send on their own (27.007 URCs and vendor start-up lines), kept out of identity answers. */
const URC_LINE = /^(RDY|\+CFUN: ?\d+|\+CPIN: ?READY|\+QUSIM: ?\d+|\+QIND: ?.*|SMS DONE|PB DONE|\+C(E|G)?REG: ?.*|\+STIN: ?.*|\+CIEV: ?.*|\^[A-Z]+: ?.*)$/;

const STEPS = [
  'AT and echo',
  'latency',
  'error verbosity',
  'identity',
  'vendor commands',
  'lines without AT',
  'SIM status',
  'ICCID commands',
  'IMSI',
  'restricted SIM access',
  'test forms',
  'CSIM exchange',
  'bad parameters',
  'line length',
  'CSIM APDU size',
  'logical channels',
  'inter-character timeout',
  'restore settings',
] as const;
type Step = (typeof STEPS)[number];

// ---- AT session --------------------------------------------------------------------------

type Final = { kind: 'ok'; text: string } | { kind: 'error'; spec: ErrorSpec; text: string };

interface Reply {
  sent: string;
  /** everything received for this command, up to and including the final result code */
  raw: string;
  echo: boolean;
  /** information lines: not empty, not the echo, not the final result code */
  lines: string[];
  /** null: no final result code within the timeout */
  final: Final | null;
  ms: number;
}

const FINAL_LINE = /^(OK|ERROR|NO CARRIER|BUSY|NO ANSWER|NO DIALTONE|\+CM[ES] ERROR:.*)$/;
const CME_BY_TEXT = new Map(Object.entries(CME_ERROR_TEXT).map(([code, text]) => [text.toLowerCase(), Number(code)]));

/** V.250 5.7 / 27.007 9.2: OK, ERROR, +CME ERROR: <n|text> (any spacing). */
function parseFinal(line: string): Final {
  if (line === 'OK') return { kind: 'ok', text: line };
  const cme = /^\+CME ERROR: ?(.*)$/.exec(line);
  if (cme) {
    const v = (cme[1] as string).trim();
    if (/^\d{1,4}$/.test(v)) return { kind: 'error', spec: cmeError(Number(v)), text: line };
    const code = CME_BY_TEXT.get(v.toLowerCase());
    return { kind: 'error', spec: cmeError(code ?? 100), text: line };
  }
  return { kind: 'error', spec: BARE_ERROR, text: line };
}

function findFinal(buf: string): { end: number; line: string; terminator: string } | undefined {
  const re = /([^\r\n]*)(\r\n|\n|\r)/g;
  for (let m = re.exec(buf); m; m = re.exec(buf)) {
    const line = (m[1] as string).trim();
    if (FINAL_LINE.test(line)) return { end: m.index + m[0].length, line, terminator: m[2] as string };
  }
  return undefined;
}

class AtSession {
  private buf = '';
  private waiters = new Set<() => void>();
  private readonly onData = (chunk: Buffer): void => {
    this.buf += chunk.toString('latin1');
    for (const w of [...this.waiters]) w();
  };
  /** once known: a final line ending in CR waits briefly for the LF of CR LF */
  lineEnding: LineEnding | undefined;
  /** a command whose wait was interrupted (abort): its answer is still to come */
  private unanswered: string | undefined;

  constructor(
    private readonly port: SerialPortLike,
    private readonly baud: number,
    private readonly signal: AbortSignal | undefined,
    private readonly onUnsolicited: (text: string) => void,
  ) {
    port.on('data', this.onData);
  }

  dispose(): void {
    this.port.off('data', this.onData);
    this.waiters.clear();
  }

  /** Throw when aborted (probing stops; cleanup passes ignoreAbort). */
  checkAbort(): void {
    if (this.signal?.aborted) throw new CharacterizeAbortedError('characterization interrupted');
  }

  /** One write per command line (split writes break some modems, as lpac users report). */
  write(text: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.port.write(Buffer.from(text, 'latin1'), (err) => (err ? reject(new SerialWriteError(`write to the modem failed: ${err.message}`)) : resolve()));
    });
  }

  /** Bytes that arrived when no command was waiting for them. */
  flush(): void {
    if (this.buf.trim() !== '') this.onUnsolicited(this.buf);
    this.buf = '';
  }

  /** Resolve true once pred() holds, false after timeoutMs (abort rejects unless ignoreAbort). */
  private waitFor(pred: () => boolean, timeoutMs: number, ignoreAbort = false): Promise<boolean> {
    if (pred()) return Promise.resolve(true);
    return new Promise<boolean>((resolve, reject) => {
      const done = (v: boolean | Error): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
        this.signal?.removeEventListener('abort', onAbort);
        if (v instanceof Error) reject(v);
        else resolve(v);
      };
      const check = (): void => {
        if (pred()) done(true);
      };
      const onAbort = (): void => done(new CharacterizeAbortedError('characterization interrupted'));
      const timer = setTimeout(() => done(false), timeoutMs);
      this.waiters.add(check);
      if (!ignoreAbort) this.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  async sleep(ms: number, ignoreAbort = false): Promise<void> {
    await this.waitFor(() => false, ms, ignoreAbort);
  }

  /** Send `line` CR and collect the answer up to its final result code, or what came within timeoutMs. */
  async command(line: string, timeoutMs: number, ignoreAbort = false): Promise<Reply> {
    if (!ignoreAbort) this.checkAbort();
    this.flush();
    const t0 = performance.now();
    await this.write(line + '\r');
    let found: ReturnType<typeof findFinal>;
    this.unanswered = line;
    // the time the line itself takes on the wire comes on top (4096 characters take 4.3 s at 9600 baud)
    const wait = timeoutMs + wireTimeMs(line.length + 1, this.baud);
    const got = await this.waitFor(() => (found = findFinal(this.buf)) !== undefined, wait, ignoreAbort);
    this.unanswered = undefined;
    if (!got || !found) {
      const raw = this.buf;
      this.buf = '';
      return { sent: line, raw, echo: this.isEcho(raw.split(/\r\n|\r|\n/), line), lines: [], final: null, ms: performance.now() - t0 };
    }
    const ms = performance.now() - t0;
    let end = found.end;
    if (found.terminator === '\r' && this.lineEnding !== '\r' && this.buf.length === end) {
      await this.waitFor(() => this.buf.length > end, 30, true);
      if (this.buf[end] === '\n') end++;
    }
    const raw = this.buf.slice(0, end);
    this.buf = this.buf.slice(end);
    const lines = raw.split(/\r\n|\r|\n/).filter((l) => l.trim() !== '');
    const echo = this.isEcho(lines, line);
    if (echo) lines.shift();
    lines.pop();
    return { sent: line, raw, echo, lines, final: parseFinal(found.line), ms };
  }

  private isEcho(lines: string[], sent: string): boolean {
    const first = lines.find((l) => l.trim() !== '');
    return first !== undefined && first.trim().toUpperCase() === sent.trim().toUpperCase();
  }

  /** Write raw text (no CR added) and return nothing: for the split-write probe. */
  async writeRaw(text: string): Promise<void> {
    this.checkAbort();
    await this.write(text);
  }

  /** Wait for a final result code that answers something already written. */
  async awaitFinal(sent: string, timeoutMs: number, t0: number): Promise<Reply> {
    let found: ReturnType<typeof findFinal>;
    const got = await this.waitFor(() => (found = findFinal(this.buf)) !== undefined, timeoutMs);
    const raw = got && found ? this.buf.slice(0, found.end) : this.buf;
    this.buf = got && found ? this.buf.slice(found.end) : '';
    const lines = raw.split(/\r\n|\r|\n/).filter((l) => l.trim() !== '');
    if (got && found) lines.pop();
    return { sent, raw, echo: false, lines, final: got && found ? parseFinal(found.line) : null, ms: performance.now() - t0 };
  }

  /**
   * After an interrupted wait, take the answer of that command off the line (or wait
   * timeoutMs for it), so the next command is not paired with it. Returns what was dropped.
   */
  async settle(timeoutMs: number): Promise<string | undefined> {
    const line = this.unanswered;
    if (line === undefined) return undefined;
    this.unanswered = undefined;
    let found: ReturnType<typeof findFinal>;
    const got = await this.waitFor(() => (found = findFinal(this.buf)) !== undefined, timeoutMs, true);
    const end = got && found ? found.end : this.buf.length;
    const dropped = this.buf.slice(0, end);
    this.buf = this.buf.slice(end);
    return `${line}: ${got ? JSON.stringify(dropped) : `no answer within ${timeoutMs} ms`}`;
  }

  /** Wait ms and return (consume) whatever arrived. */
  async quiet(ms: number): Promise<string> {
    await this.sleep(ms, true);
    const s = this.buf;
    this.buf = '';
    return s;
  }
}

// ---- helpers -----------------------------------------------------------------------------

export function errorSpecText(spec: ErrorSpec): string {
  return spec.kind === 'error' ? 'ERROR' : `+CME ERROR: ${spec.code}`;
}

function sameError(a: ErrorSpec | undefined, b: ErrorSpec | undefined): boolean {
  if (!a || !b) return false;
  return a.kind === b.kind && (a.kind === 'error' || (b.kind === 'cme' && a.code === b.code));
}

function isNotSupported(spec: ErrorSpec): boolean {
  return spec.kind === 'cme' && spec.code === 4;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

function hexByte(n: number): string {
  return n.toString(16).padStart(2, '0').toUpperCase();
}

function abbreviate(s: string, max = 160): string {
  return s.length <= max ? s : `${s.slice(0, max)}... (${s.length} characters)`;
}

/** `<prefix>:[ ]<len>,"<hex>"` (27.007 8.17 / 8.43), quotes optional. */
function parseApduLine(lines: string[], prefix: string): { space: boolean; hex: string } | undefined {
  const re = new RegExp(`^\\${prefix}:( ?)(\\d+),"?([0-9A-Fa-f]*)"?$`);
  for (const l of lines) {
    const m = re.exec(l.trim());
    if (m) return { space: m[1] === ' ', hex: m[3] as string };
  }
  return undefined;
}

function swOfHex(hex: string): number | undefined {
  if (hex.length < 4) return undefined;
  return parseInt(hex.slice(-4), 16);
}

/** SELECT by AID (P2 0C) of `total` bytes whose AID matches nothing; 261 bytes adds Le. */
function selectNoSuchAid(cla: number, total: number): string {
  const withLe = total > 5 + 255;
  const lc = total - 5 - (withLe ? 1 : 0);
  let data = '';
  while (data.length < lc * 2) data += NO_SUCH_AID;
  return `${hexByte(cla)}A4040${withLe ? '0' : 'C'}${hexByte(lc)}${data.slice(0, lc * 2)}${withLe ? '00' : ''}`;
}

function slug(s: string): string {
  const out = s
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^[^a-z0-9]+|-+$/g, '');
  return out || 'characterized-modem';
}

// ---- serialization -----------------------------------------------------------------------

/** A Personality back as a personality file (the inverse of parsePersonality; `source` is dropped). */
export function personalityToJson(p: Personality): JsonObject {
  const commands: JsonObject = {};
  for (const id of COMMAND_IDS) {
    const c = p.commands[id];
    commands[id] = { supported: c.supported, error: errorSpecText(c.error), test: c.test };
  }
  const urcs = (list: Personality['urcsAfterRestart']): JsonValue => list.map((u) => ({ text: u.text, atMs: u.atMs }));
  return {
    id: p.id,
    description: p.description,
    characterization: p.characterization,
    identity: {
      manufacturer: p.identity.manufacturer,
      model: p.identity.model,
      revision: p.identity.revision,
      imei: p.identity.imei,
      ati: [...p.identity.ati],
      extraCommands: Object.fromEntries(Object.entries(p.identity.extraCommands).map(([k, v]) => [k, [...v]])),
    },
    format: { ...p.format },
    echoDefault: p.echoDefault,
    echoAfterRestart: p.echoAfterRestart,
    cmeeDefault: p.cmeeDefault,
    testCommands: p.testCommands,
    commands,
    iccidCommands: p.iccidCommands.map((c) => ({ command: c.command, prefix: c.prefix })),
    cchoResult: p.cchoResult,
    cglaSetsChannelInCla: p.cglaSetsChannelInCla,
    csimStatusOnLogicalChannelFails: p.csimStatusOnLogicalChannelFails,
    getResponse: p.getResponse,
    limits: {
      maxLineLength: p.limits.maxLineLength,
      maxApduBytes: { ...p.limits.maxApduBytes },
      maxChannels: p.limits.maxChannels,
      interCharTimeoutMs: p.limits.interCharTimeoutMs,
    },
    errors: {
      badParameters: errorSpecText(p.errors.badParameters),
      unknownSession: errorSpecText(p.errors.unknownSession),
      noFreeChannel: errorSpecText(p.errors.noFreeChannel),
      cchoOnNonEuicc: errorSpecText(p.errors.cchoOnNonEuicc),
      csimStatusOnLogicalChannel: errorSpecText(p.errors.csimStatusOnLogicalChannel),
      cchoTooSoon: errorSpecText(p.errors.cchoTooSoon),
    },
    usimAid: p.usimAid,
    urcsAfterRestart: urcs(p.urcsAfterRestart),
    urcsOnCardRemoval: urcs(p.urcsOnCardRemoval),
    urcsOnCardInsertion: urcs(p.urcsOnCardInsertion),
    spuriousErrors: { rate: p.spuriousErrors.rate, scope: p.spuriousErrors.scope, seed: p.spuriousErrors.seed, error: errorSpecText(p.spuriousErrors.error) },
    cchoRetryMinIntervalMs: p.cchoRetryMinIntervalMs,
    timing: {
      baud: p.timing.baud,
      perCommandLatencyMs: p.timing.perCommandLatencyMs,
      commandLatencyMs: { ...p.timing.commandLatencyMs },
      restartMs: p.timing.restartMs,
    },
  };
}

function getPath(obj: JsonObject, path: string): JsonValue | undefined {
  let cur: JsonValue | undefined = obj;
  for (const k of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    cur = cur[k];
  }
  return cur;
}

function setPath(obj: JsonObject, path: string, value: JsonValue): void {
  const keys = path.split('.');
  let cur: JsonObject = obj;
  for (const k of keys.slice(0, -1)) {
    const next = cur[k];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) throw new CharacterizeError(`internal: personality path ${path} has no object at ${k}`);
    cur = next;
  }
  cur[keys[keys.length - 1] as string] = value;
}

// ---- the probes --------------------------------------------------------------------------

type TestResult = { kind: 'ok' } | { kind: 'silent' } | { kind: 'error'; spec: ErrorSpec };

interface Support {
  supported: boolean;
  error: ErrorSpec;
}

interface Session {
  id: string;
  /** logical channel number, when the id is one (not an opaque handle) */
  channel: number | undefined;
}

class Characterizer {
  readonly observations: Observation[] = [];
  readonly warnings: string[] = [];
  /** personality fields left at a default (or taken from --base), with the reason */
  private readonly defaulted: { path: string; reason: string }[] = [];
  private readonly at: AtSession;
  private readonly timeoutMs: number;
  private readonly silenceMs: number;
  private readonly baud: number;
  private readonly latencies = new Map<string, number[]>();
  private stepIndex = 0;

  // settings to restore
  private echoTurnedOff = false;
  private cmeeChangedFrom: 0 | 1 | 2 | undefined;
  private sessions: Session[] = [];

  // findings
  private echoDefault = true;
  private echoOff = false;
  private lineEnding: LineEnding = '\r\n';
  private cmeeDefault: 0 | 1 | 2 = 0;
  private spaceAfterColon: boolean | undefined;
  private spaceFrom: string | undefined;
  private hexEvidence: { upper: number; lower: number } = { upper: 0, lower: 0 };
  private identity = { manufacturer: '', model: '', revision: '', imei: DEFAULT_IMEI, ati: [] as string[], extraCommands: {} as Record<string, string[]> };
  private nonAtLine: 'ignore' | 'error' = 'ignore';
  private support = new Map<CommandId, Support>();
  private tests = new Map<CommandId, TestResult>();
  private globalTest: 'ok' | 'silent' | undefined;
  private iccidCommands: { command: string; prefix: string }[] = [];
  private getResponse: GetResponseMode | undefined;
  private getResponseWhy = '';
  private cchoResult: CchoResult | undefined;
  private cglaSetsChannelInCla: boolean | undefined;
  private csimStatusFails: boolean | undefined;
  private maxLineLength: number | undefined;
  private maxCsim: number | undefined;
  private maxCgla: number | undefined;
  private maxChannels: number | undefined;
  private interCharTimeoutMs: number | null | undefined;
  private cchoRetryMs: number | undefined;
  private lastCchoFailAt: number | undefined;
  private errors: Partial<Record<'badParameters' | 'unknownSession' | 'noFreeChannel' | 'cchoOnNonEuicc' | 'csimStatusOnLogicalChannel' | 'cchoTooSoon', ErrorSpec>> = {};
  private perCommandLatencyMs = 0;
  /** median AT round trip, wire time included: how long the line takes both ways */
  private atRttMs = 0;

  constructor(
    port: SerialPortLike,
    private readonly opts: CharacterizeOptions,
    private readonly portLabel: string,
  ) {
    this.timeoutMs = opts.commandTimeoutMs ?? 5000;
    this.silenceMs = opts.silenceMs ?? 1500;
    this.baud = opts.baud ?? 115200;
    this.at = new AtSession(port, this.baud, opts.signal, (text) =>
      this.observations.push({ probe: 'unsolicited', sent: '', received: text, conclusion: 'output no command asked for (a URC, or a late answer to the command before)' }),
    );
  }

  private progress(step: Step, detail = ''): void {
    this.stepIndex = STEPS.indexOf(step) + 1;
    this.opts.onProgress?.({ step: this.stepIndex, total: STEPS.length, probe: step, detail });
  }

  /** What the current step is doing now (same step number, new detail). */
  private detail(text: string): void {
    const step = STEPS[this.stepIndex - 1];
    if (step !== undefined) this.opts.onProgress?.({ step: this.stepIndex, total: STEPS.length, probe: step, detail: text });
  }

  private observe(probe: string, r: Reply, conclusion: string, sentLabel?: string): void {
    this.observations.push({ probe, sent: sentLabel ?? abbreviate(r.sent), received: abbreviate(r.raw, 2000), conclusion, ms: Math.round(r.ms * 10) / 10 });
  }

  private note(probe: string, conclusion: string): void {
    this.observations.push({ probe, sent: '', received: '', conclusion });
  }

  private useDefault(path: string, reason: string): void {
    this.defaulted.push({ path, reason });
  }

  private timed(name: string, r: Reply): void {
    if (r.final?.kind !== 'ok') return;
    const wire = wireTimeMs(r.sent.length + 1 + r.raw.length, this.baud);
    const list = this.latencies.get(name) ?? [];
    list.push(Math.max(0, r.ms - wire));
    this.latencies.set(name, list);
  }

  /** A command whose silence is a real answer: after silence, make sure the modem listens again. */
  private async sendMaybeSilent(line: string): Promise<Reply> {
    this.detail(abbreviate(line, 40));
    const r = await this.at.command(line, this.silenceMs);
    if (r.final === null) await this.resync(line);
    return r;
  }

  private async send(line: string, timeoutMs = this.timeoutMs): Promise<Reply> {
    this.detail(abbreviate(line, 40));
    const r = await this.at.command(line, timeoutMs);
    if (r.final === null) await this.resync(line);
    return r;
  }

  /** After a silence: AT must be answered again, then anything late is drained. */
  private async resync(after: string): Promise<void> {
    for (let i = 0; i < 2; i++) {
      const r = await this.at.command('AT', this.timeoutMs);
      if (r.final?.kind === 'ok') {
        const late = await this.at.quiet(50);
        if (late.trim()) this.note('resync', `late output after '${abbreviate(after, 40)}' discarded: ${JSON.stringify(late)}`);
        return;
      }
    }
    throw new ModemStoppedError(`the modem stopped answering AT after '${abbreviate(after, 60)}'`);
  }

  private recordHex(hex: string): void {
    if (/[a-f]/.test(hex)) this.hexEvidence.lower++;
    if (/[A-F]/.test(hex)) this.hexEvidence.upper++;
  }

  /** Evidence for the space after the colon; the card answers (+CSIM, then +CGLA) decide, other answers break a tie. */
  private setSpace(space: boolean, from: string): void {
    const rank = (f: string): number => (f === '+CSIM' ? 0 : f === '+CGLA' ? 1 : 2);
    const prev = this.spaceFrom;
    if (prev === undefined || rank(from) < rank(prev)) {
      if (prev !== undefined && this.spaceAfterColon !== space)
        this.note('format', `${from} answers ${space ? 'with' : 'without'} a space after the colon, ${prev} did not: mixed formatting, ${from} decides`);
      this.spaceAfterColon = space;
      this.spaceFrom = from;
    } else if (this.spaceAfterColon !== space)
      this.note('format', `${from} answers ${space ? 'with' : 'without'} a space after the colon, unlike ${prev}: mixed formatting, ${prev} decides`);
  }

  private colonSpace(lines: string[], prefix: string): boolean | undefined {
    for (const l of lines) if (l.startsWith(`${prefix}:`)) return l.charAt(prefix.length + 1) === ' ';
    return undefined;
  }

  private step(step: Step): void {
    this.at.checkAbort();
    this.progress(step);
  }

  // ---- run ------------------------------------------------------------------------------

  async run(): Promise<CharacterizeResult> {
    try {
      await this.probeAtAndEcho();
      this.step('latency');
      await this.probeLatency();
      this.step('error verbosity');
      await this.probeCmee();
      this.step('identity');
      await this.probeIdentity();
      this.step('vendor commands');
      await this.probeVendor();
      this.step('lines without AT');
      await this.probeNonAtLine();
      this.step('SIM status');
      await this.probeSimStatus();
      this.step('ICCID commands');
      await this.probeIccid();
      this.step('IMSI');
      await this.probeCimi();
      this.step('restricted SIM access');
      await this.probeCrsm();
      this.step('test forms');
      await this.probeTestForms();
      this.step('CSIM exchange');
      await this.probeCsim();
      this.step('bad parameters');
      await this.probeBadParameters();
      this.step('line length');
      await this.probeLineLength();
      this.step('CSIM APDU size');
      await this.probeCsimLimit();
      this.step('logical channels');
      await this.probeChannels();
      this.step('inter-character timeout');
      await this.probeInterChar();
    } catch (err) {
      await this.cleanup();
      if (err instanceof CharacterizeError) err.observations = [...this.observations, ...this.warnings.map((w) => ({ probe: 'warning', sent: '', received: '', conclusion: w }))];
      throw err;
    }
    await this.cleanup();
    return this.build();
  }

  // ---- AT, echo, line ending ----------------------------------------------------------

  private async probeAtAndEcho(): Promise<void> {
    this.progress('AT and echo');
    const t0 = performance.now();
    // an empty line ends whatever partial command line the modem may hold
    await this.at.write('\r');
    const before = await this.at.quiet(100);
    if (before.trim()) this.note('AT and echo', `output before the first command: ${JSON.stringify(before)}`);
    const firstTimeout = Math.min(this.timeoutMs, 2000);
    let first: Reply | undefined;
    let received = '';
    for (let attempt = 1; attempt <= 3; attempt++) {
      const r = await this.at.command('AT', firstTimeout);
      this.observe('AT and echo', r, r.final ? `answered ${r.final.text}${r.echo ? ', with the command echoed' : ''}` : `no final result code within ${firstTimeout} ms`);
      received += r.raw;
      if (r.final?.kind === 'ok') {
        first = r;
        break;
      }
    }
    if (!first) throw new ModemSilentError(this.portLabel, received, performance.now() - t0);
    this.echoDefault = first.echo;
    this.note('AT and echo', `echo ${this.echoDefault ? 'on' : 'off'} before any ATE (V.250 6.2.4; this is the default only if nothing changed it since power-on)`);
    const e0 = await this.send('ATE0');
    this.observe('AT and echo', e0, e0.final?.kind === 'ok' ? 'echo off for the probes' : 'ATE0 refused: echo lines are recognised and skipped');
    if (e0.final?.kind === 'ok' && this.echoDefault) this.echoTurnedOff = true;
    const r = await this.send('AT');
    this.echoOff = !r.echo;
    const body = r.echo ? r.raw.slice(r.raw.toUpperCase().indexOf('AT') + 2).replace(/^\r/, '') : r.raw;
    this.lineEnding = body.includes('\r\n') ? '\r\n' : body.includes('\n') ? '\n' : '\r';
    this.at.lineEnding = this.lineEnding;
    this.observe('AT and echo', r, `line ending ${JSON.stringify(this.lineEnding)}; echo now ${this.echoOff ? 'off' : 'still on'}`);
  }

  private async probeLatency(): Promise<void> {
    const rtts: number[] = [];
    const raw: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await this.send('AT');
      if (r.final?.kind !== 'ok') continue;
      raw.push(r.ms);
      rtts.push(Math.max(0, r.ms - wireTimeMs(r.sent.length + 1 + r.raw.length, this.baud)));
    }
    if (raw.length > 0) this.atRttMs = median(raw);
    if (rtts.length === 0) {
      this.useDefault('timing.perCommandLatencyMs', 'AT round trips failed');
      return;
    }
    this.perCommandLatencyMs = Math.round(median(rtts));
    this.note('latency', `AT round trips ${rtts.map((v) => v.toFixed(1)).join(', ')} ms after ${this.baud}-baud wire time: median ${this.perCommandLatencyMs} ms`);
  }

  // ---- +CMEE ----------------------------------------------------------------------------

  private async probeCmee(): Promise<void> {
    const r = await this.send('AT+CMEE?');
    const m = r.lines.map((l) => /^\+CMEE: ?([012])$/.exec(l.trim())).find((x) => x);
    if (r.final?.kind === 'ok' && m) {
      this.cmeeDefault = Number(m[1]) as 0 | 1 | 2;
      this.support.set('cmee', { supported: true, error: BARE_ERROR });
      const space = this.colonSpace(r.lines, '+CMEE');
      if (space !== undefined) this.setSpace(space, '+CMEE?');
      this.observe('error verbosity', r, `+CMEE is ${this.cmeeDefault} (27.007 9.1; the default only if nothing changed it since power-on)`);
    } else {
      this.support.set('cmee', { supported: false, error: r.final?.kind === 'error' ? r.final.spec : BARE_ERROR });
      this.observe('error verbosity', r, 'no +CMEE: read form not answered; error verbosity inferred from the errors seen');
      return;
    }
    if (this.cmeeDefault !== 1) {
      const s = await this.send('AT+CMEE=1');
      if (s.final?.kind === 'ok') this.cmeeChangedFrom = this.cmeeDefault;
      this.observe('error verbosity', s, s.final?.kind === 'ok' ? 'numeric +CME ERROR codes for the probes (restored at the end)' : 'could not switch to numeric codes: errors are read as they come');
    }
  }

  // ---- identity -------------------------------------------------------------------------

  /** Answer lines as the modem wrote them (trailing spaces are part of an answer), URCs left out. */
  private infoLines(r: Reply): string[] {
    return r.lines.filter((l) => !URC_LINE.test(l.trim()));
  }

  private async probeIdentity(): Promise<void> {
    const ati = await this.send('ATI');
    this.identity.ati = ati.final?.kind === 'ok' ? this.infoLines(ati) : [];
    this.observe('identity', ati, ati.final?.kind === 'ok' ? `ATI: ${this.identity.ati.length} line(s)` : 'ATI refused: the fake will answer ATI with no lines');

    const pair = async (what: 'manufacturer' | 'model' | 'revision', cForm: string, gForm: string): Promise<void> => {
      const rc = await this.send(`AT${cForm}`);
      const rg = await this.send(`AT${gForm}`);
      const lc = rc.final?.kind === 'ok' ? this.infoLines(rc) : undefined;
      const lg = rg.final?.kind === 'ok' ? this.infoLines(rg) : undefined;
      const prefixRe = new RegExp(`^\\${cForm}: ?`);
      let value: string | undefined;
      if (lg && lg.length === 1) value = lg[0];
      else if (lc && lc.length === 1) value = (lc[0] as string).replace(prefixRe, '');
      else if (lc && lc.length > 0) value = (lc[0] as string).replace(prefixRe, '');
      if (value === undefined) {
        const fromAti = this.identity.ati.find((l) => new RegExp(`^${what}:`, 'i').test(l));
        value = fromAti ? fromAti.replace(/^[^:]*: ?/, '') : 'unknown';
      }
      this.identity[what] = value;
      if (lc && !(lc.length === 1 && lc[0] === value)) this.identity.extraCommands[cForm] = lc;
      if (lg && !(lg.length === 1 && lg[0] === value)) this.identity.extraCommands[gForm] = lg;
      this.observe('identity', rc, lc ? (this.identity.extraCommands[cForm] ? `answer differs from the ${what} '${value}': kept as a fixed answer` : `${what} '${value}'`) : `${cForm} refused`);
      this.observe('identity', rg, lg ? (this.identity.extraCommands[gForm] ? `answer differs from the ${what} '${value}': kept as a fixed answer` : `${what} '${value}'`) : `${gForm} refused (the fake answers it with the ${what})`);
    };
    await pair('manufacturer', '+CGMI', '+GMI');
    await pair('model', '+CGMM', '+GMM');
    await pair('revision', '+CGMR', '+GMR');

    const rc = await this.send('AT+CGSN');
    const rg = await this.send('AT+GSN');
    const lc = rc.final?.kind === 'ok' ? this.infoLines(rc) : undefined;
    const lg = rg.final?.kind === 'ok' ? this.infoLines(rg) : undefined;
    const imei = [...(lg ?? []), ...(lc ?? [])].map((l) => /(?:^|\D)(\d{15})(?:\D|$)/.exec(l)?.[1]).find((x) => x !== undefined);
    if (imei) this.identity.imei = imei;
    else this.useDefault('identity.imei', `no 15-digit IMEI in the +CGSN/+GSN answers; placeholder ${DEFAULT_IMEI}`);
    if (lc && !(lc.length === 1 && lc[0] === this.identity.imei)) this.identity.extraCommands['+CGSN'] = lc;
    if (lg && !(lg.length === 1 && lg[0] === this.identity.imei)) this.identity.extraCommands['+GSN'] = lg;
    this.observe('identity', rc, lc ? `IMEI ${imei ?? 'not found'}` : '+CGSN refused');
    this.observe('identity', rg, lg ? `IMEI ${imei ?? 'not found'}` : '+GSN refused');
  }

  private async probeVendor(): Promise<void> {
    for (const key of VENDOR_PROBES) {
      const r = await this.send(`AT${key}`);
      const lines = r.final?.kind === 'ok' ? this.infoLines(r) : [];
      if (r.final?.kind === 'ok' && lines.length > 0) {
        this.identity.extraCommands[key] = lines;
        this.observe('vendor commands', r, `answered: kept as a fixed answer of ${key}`);
      } else this.observe('vendor commands', r, r.final?.kind === 'ok' ? 'OK without lines: not kept' : 'not a command of this modem');
    }
  }

  private async probeNonAtLine(): Promise<void> {
    const r = await this.sendMaybeSilent('XYZ');
    if (r.final?.kind === 'error') this.nonAtLine = 'error';
    this.observe(
      'lines without AT',
      r,
      r.final === null ? 'ignored (V.250 5.2.1)' : r.final.kind === 'error' ? 'answered ERROR' : `answered ${r.final.text}: recorded as ignored (a personality cannot answer OK to a line without AT)`,
    );
  }

  // ---- SIM status, ICCID, IMSI, CRSM --------------------------------------------------

  /** Support of a command from the answer of its set/exec/read form. */
  private supportFrom(id: CommandId, r: Reply, worked: boolean): void {
    if (worked) this.support.set(id, { supported: true, error: BARE_ERROR });
    else if (r.final?.kind === 'error' && isNotSupported(r.final.spec)) this.support.set(id, { supported: false, error: r.final.spec });
    else if (!this.support.has(id)) this.support.set(id, { supported: true, error: BARE_ERROR });
  }

  private async probeSimStatus(): Promise<void> {
    const r = await this.send('AT+CPIN?');
    const ready = r.lines.find((l) => /^\+CPIN: ?/.test(l.trim()));
    this.supportFrom('cpin', r, r.final?.kind === 'ok');
    if (ready) {
      const space = this.colonSpace(r.lines, '+CPIN');
      if (space !== undefined) this.setSpace(space, '+CPIN?');
    }
    this.observe('SIM status', r, r.final?.kind === 'ok' ? `SIM: ${ready ?? '(no +CPIN line)'}` : `SIM status not available (${r.final?.text ?? 'no answer'}): card probes may fail`);
    const f = await this.send('AT+CFUN?');
    this.supportFrom('cfun', f, f.final?.kind === 'ok');
    this.observe('SIM status', f, f.final?.kind === 'ok' ? `functionality ${f.lines.join(' ')}` : '+CFUN? not answered');
  }

  private async probeIccid(): Promise<void> {
    for (const probe of ICCID_PROBES) {
      const r = await this.send(probe.line);
      const m = r.final?.kind === 'ok' ? r.lines.map((l) => /^(.+?): ?"?([0-9A-Fa-f]{18,22})"?$/.exec(l.trim())).find((x) => x) : undefined;
      if (m) {
        this.iccidCommands.push({ command: probe.command, prefix: m[1] as string });
        this.observe('ICCID commands', r, `works; answers with prefix '${m[1]}'`);
      } else if (r.final?.kind === 'ok') this.observe('ICCID commands', r, 'OK but no `<prefix>: <iccid>` line: not recorded (a personality cannot answer without a prefix)');
      else this.observe('ICCID commands', r, `not available (${r.final?.text ?? 'no answer'})`);
    }
  }

  private async probeCimi(): Promise<void> {
    const r = await this.send('AT+CIMI');
    const ok = r.final?.kind === 'ok' && r.lines.some((l) => /^\d{5,15}$/.test(l.trim()));
    this.supportFrom('cimi', r, ok);
    this.observe('IMSI', r, ok ? 'works' : r.final?.kind === 'error' && isNotSupported(r.final.spec) ? 'not supported' : `no IMSI (${r.final?.text ?? 'no answer'}); counted as supported`);
  }

  private async probeCrsm(): Promise<void> {
    // READ BINARY (176) of EF.ICCID (2FE2 = 12258), 10 bytes
    const r = await this.send('AT+CRSM=176,12258,0,0,10');
    const line = r.lines.find((l) => /^\+CRSM: ?\d+,\d+/.test(l.trim()));
    this.supportFrom('crsm', r, r.final?.kind === 'ok' && line !== undefined);
    if (line) {
      const space = this.colonSpace(r.lines, '+CRSM');
      if (space !== undefined) this.setSpace(space, '+CRSM');
      const hex = /"([0-9A-Fa-f]+)"/.exec(line)?.[1];
      if (hex) this.recordHex(hex);
    }
    this.observe('restricted SIM access', r, line ? 'works' : `no +CRSM answer (${r.final?.text ?? 'no answer'})`);
  }

  // ---- test forms -----------------------------------------------------------------------

  private async probeTestForms(): Promise<void> {
    for (const id of COMMAND_IDS) {
      const r = await this.sendMaybeSilent(`AT${TABLE_NAMES[id]}=?`);
      const t: TestResult = r.final === null ? { kind: 'silent' } : r.final.kind === 'ok' ? { kind: 'ok' } : { kind: 'error', spec: r.final.spec };
      this.tests.set(id, t);
      this.observe('test forms', r, t.kind === 'silent' ? `silent for ${this.silenceMs} ms` : t.kind === 'ok' ? 'OK' : `error ${errorSpecText(t.spec)}`);
    }
    // a test form outside the SIM commands: what the modem does with =? in general
    const g = await this.sendMaybeSilent('AT+CGMI=?');
    this.globalTest = g.final === null ? 'silent' : g.final.kind === 'ok' ? 'ok' : undefined;
    this.observe('test forms', g, g.final === null ? 'silent: =? is silent in general' : g.final.kind === 'ok' ? 'OK: =? answers in general' : 'error: the general =? behaviour is taken from the SIM commands');
  }

  // ---- +CSIM ----------------------------------------------------------------------------

  private noteGetResponse(sw: number, dataBytes: number, from: string): void {
    if (sw >> 8 === 0x61) {
      if (this.getResponse !== 'passthrough') this.getResponseWhy = `${from} came back with ${hexByte(sw >> 8)}${hexByte(sw & 0xff)}: the TE does GET RESPONSE`;
      this.getResponse = 'passthrough';
    } else if (dataBytes > 0 && this.getResponse === undefined) {
      this.getResponse = 'modem';
      this.getResponseWhy = `${from} came back with its data and ${hexByte(sw >> 8)}${hexByte(sw & 0xff)}: the modem fetched the data (or the card answers without 61xx, as on T=1; check with a T=0 card)`;
    }
  }

  private async probeCsim(): Promise<void> {
    // SELECT MF, FCP requested (P2 04): a case 4 command on the basic channel, changes nothing on the card
    const r = await this.send('AT+CSIM=14,"00A40004023F00"');
    const a = parseApduLine(r.lines, '+CSIM');
    this.supportFrom('csim', r, r.final?.kind === 'ok' && a !== undefined);
    if (!a) {
      this.observe('CSIM exchange', r, `no +CSIM answer (${r.final?.text ?? 'no answer'})`);
      return;
    }
    this.timed('+CSIM', r);
    this.setSpace(a.space, '+CSIM');
    this.recordHex(a.hex);
    const sw = swOfHex(a.hex) ?? 0;
    this.noteGetResponse(sw, a.hex.length / 2 - 2, 'SELECT MF through +CSIM');
    this.observe('CSIM exchange', r, `SELECT MF: SW ${a.hex.slice(-4)}, ${a.hex.length / 2 - 2} data byte(s)`);
    if (sw >> 8 === 0x61) {
      const g = await this.send(`AT+CSIM=10,"00C00000${hexByte(sw & 0xff)}"`);
      const ga = parseApduLine(g.lines, '+CSIM');
      if (ga) {
        this.timed('+CSIM', g);
        this.recordHex(ga.hex);
      }
      this.observe('CSIM exchange', g, ga ? `GET RESPONSE: SW ${ga.hex.slice(-4)}, ${ga.hex.length / 2 - 2} data byte(s)` : 'GET RESPONSE through +CSIM failed');
    }
  }

  private async probeBadParameters(): Promise<void> {
    // length 4 announces 4 hex characters, 2 follow (27.007 8.17: <length> counts characters)
    const line = this.support.get('csim')?.supported !== false ? 'AT+CSIM=4,"00"' : 'AT+CCHO=""';
    const r = await this.send(line);
    if (r.final?.kind === 'error' && !isNotSupported(r.final.spec)) {
      this.errors.badParameters = r.final.spec;
      this.observe('bad parameters', r, `bad parameters answer ${errorSpecText(r.final.spec)}`);
    } else {
      this.useDefault('errors.badParameters', `'${line}' gave ${r.final?.text ?? 'no answer'}`);
      this.observe('bad parameters', r, 'inconclusive: default kept');
    }
  }

  // ---- limits ---------------------------------------------------------------------------

  /** AT followed by spaces (V.250 5.2.1: ignored): OK while the line fits the modem's buffer. */
  private async lineFits(length: number): Promise<boolean> {
    const line = 'AT' + ' '.repeat(length - 2);
    const r = await this.sendMaybeSilent(line);
    const fits = r.final?.kind === 'ok';
    this.observe('line length', r, `${length} characters: ${fits ? 'accepted' : r.final ? `refused (${r.final.text})` : 'no answer'}`, `AT + ${length - 2} spaces (${length} characters)`);
    return fits;
  }

  private async probeLineLength(): Promise<void> {
    const limit = Math.max(64, this.opts.maxLineProbe ?? 4096);
    let ok = 0;
    let bad: number | undefined;
    for (let n = 64; ; n = Math.min(n * 2, limit)) {
      if (await this.lineFits(n)) ok = n;
      else {
        bad = n;
        break;
      }
      if (n >= limit) break;
    }
    if (bad === undefined) {
      this.maxLineLength = ok;
      this.note('line length', `every line up to the probe limit of ${limit} characters was accepted: recorded ${limit} (the real limit may be higher)`);
      return;
    }
    if (ok === 0) {
      this.useDefault('limits.maxLineLength', 'even a 64-character line was refused (the modem may not ignore spaces, V.250 5.2.1)');
      return;
    }
    while (bad - ok > 1) {
      const mid = Math.floor((ok + bad) / 2);
      if (await this.lineFits(mid)) ok = mid;
      else bad = mid;
    }
    this.maxLineLength = ok;
    this.note('line length', `longest command line accepted: ${ok} characters (AT included, CR excluded)`);
  }

  /** Largest APDU (bytes) accepted by `accepts`, searching 7..261 (short APDUs only). */
  private async apduLimit(accepts: (bytes: number) => Promise<boolean>, lineFor: (bytes: number) => number): Promise<number | undefined> {
    let hi = SHORT_APDU_MAX;
    while (hi > 7 && this.maxLineLength !== undefined && lineFor(hi) > this.maxLineLength) hi--;
    if (await accepts(hi)) return hi;
    let ok = 7;
    if (!(await accepts(ok))) return undefined;
    let bad = hi;
    while (bad - ok > 1) {
      const mid = Math.floor((ok + bad) / 2);
      if (await accepts(mid)) ok = mid;
      else bad = mid;
    }
    return ok;
  }

  private async probeCsimLimit(): Promise<void> {
    if (this.support.get('csim')?.supported === false) {
      this.useDefault('limits.maxApduBytes.csim', '+CSIM is not supported');
      return;
    }
    const lineFor = (n: number): number => `AT+CSIM=${n * 2},""`.length + n * 2;
    const max = await this.apduLimit(async (n) => {
      const apdu = selectNoSuchAid(0x00, n);
      const r = await this.send(`AT+CSIM=${apdu.length},"${apdu}"`);
      const a = parseApduLine(r.lines, '+CSIM');
      this.observe('CSIM APDU size', r, `${n}-byte SELECT of an AID that matches nothing: ${a ? `reached the card (SW ${a.hex.slice(-4)})` : `refused by the modem (${r.final?.text ?? 'no answer'})`}`);
      return a !== undefined;
    }, lineFor);
    if (max === undefined) this.useDefault('limits.maxApduBytes.csim', 'no padded SELECT reached the card');
    else {
      this.maxCsim = max;
      this.note('CSIM APDU size', max === SHORT_APDU_MAX ? `${max} bytes (every short APDU; extended-length APDUs not probed)` : `largest APDU +CSIM takes: ${max} bytes`);
    }
  }

  // ---- logical channels -------------------------------------------------------------------

  private async waitCchoInterval(): Promise<void> {
    if (this.lastCchoFailAt === undefined || !this.cchoRetryMs) return;
    const wait = this.lastCchoFailAt + this.cchoRetryMs + 10 - performance.now();
    if (wait > 0) await this.at.sleep(wait);
  }

  /** +CCHO after the modem's retry interval; once more, later, when it still says "too soon". */
  private async cchoAfterInterval(aid: string, label: string): Promise<{ r: Reply; session?: Session; error?: ErrorSpec }> {
    await this.waitCchoInterval();
    const r = await this.ccho(aid, label);
    const tooSoon = this.errors.cchoTooSoon;
    if (r.session || !r.error || !this.cchoRetryMs || !sameError(r.error, tooSoon)) return r;
    this.note('logical channels', `refused as too soon after the ${this.cchoRetryMs} ms interval: trying once more after ${this.cchoRetryMs * 2} ms`);
    await this.at.sleep(this.cchoRetryMs * 2);
    return this.ccho(aid, `${label}, again`);
  }

  /** +CCHO; on success the session is tracked for closing. */
  private async ccho(aid: string, label: string): Promise<{ r: Reply; session?: Session; error?: ErrorSpec }> {
    const r = await this.send(`AT+CCHO="${aid}"`);
    if (r.final?.kind !== 'ok') {
      this.lastCchoFailAt = performance.now();
      const error = r.final?.kind === 'error' ? r.final.spec : undefined;
      this.observe('logical channels', r, `${label}: ${r.final?.text ?? 'no answer'}`);
      return { r, error };
    }
    this.timed('+CCHO', r);
    let form: CchoResult | undefined;
    let id: string | undefined;
    for (const raw of r.lines) {
      const l = raw.trim();
      const p = /^\+CCHO: ?"?([0-9A-Za-z]+)"?$/.exec(l);
      if (p) {
        id = p[1] as string;
        form = 'prefixed';
        const space = this.colonSpace([l], '+CCHO');
        if (space !== undefined) this.setSpace(space, '+CCHO');
        break;
      }
      const b = /^"?([0-9A-Za-z]+)"?$/.exec(l);
      if (b && !URC_LINE.test(l)) {
        id = b[1] as string;
        form = 'bare';
        break;
      }
    }
    if (id === undefined || form === undefined) {
      this.observe('logical channels', r, `${label}: OK without a session id: cannot use the channel`);
      this.warnings.push(`+CCHO answered OK without a session id (${JSON.stringify(r.raw)}); if it opened a channel it is still open`);
      return { r };
    }
    const channel = /^\d{1,2}$/.test(id) && Number(id) >= 1 && Number(id) <= 19 ? Number(id) : undefined;
    const kind: CchoResult = channel === undefined ? 'handle' : form;
    if (this.cchoResult === undefined) {
      this.cchoResult = kind;
      if (kind === 'handle' && form === 'bare') this.note('logical channels', 'an opaque handle without +CCHO: prefix: recorded as handle (the fake prints it with the prefix)');
    }
    const session: Session = { id, channel };
    this.sessions.push(session);
    this.observe('logical channels', r, `${label}: opened ${channel !== undefined ? `channel ${channel}` : `session handle ${id}`} (${kind === 'handle' ? 'opaque handle' : kind === 'bare' ? 'bare number, no +CCHO: prefix' : '+CCHO: prefix'})`);
    return { r, session };
  }

  private async cchc(s: Session, label: string): Promise<Reply> {
    const r = await this.send(`AT+CCHC=${s.id}`);
    if (r.final?.kind === 'ok') {
      this.sessions = this.sessions.filter((x) => x !== s);
      this.timed('+CCHC', r);
    }
    this.observe('logical channels', r, `${label}: ${r.final?.text ?? 'no answer'}`);
    return r;
  }

  private async cgla(s: Session, apdu: string, label: string): Promise<{ r: Reply; hex?: string; sw?: number }> {
    const r = await this.send(`AT+CGLA=${s.id},${apdu.length},"${apdu}"`);
    const a = parseApduLine(r.lines, '+CGLA');
    if (!a) {
      this.observe('logical channels', r, `${label}: ${r.final?.text ?? 'no answer'}`);
      return { r };
    }
    this.timed('+CGLA', r);
    this.setSpace(a.space, '+CGLA');
    this.recordHex(a.hex);
    const sw = swOfHex(a.hex) ?? 0;
    this.observe('logical channels', r, `${label}: SW ${a.hex.slice(-4)}, ${a.hex.length / 2 - 2} data byte(s)`);
    return { r, hex: a.hex, sw };
  }

  private static cardOk(sw: number | undefined): boolean {
    return sw !== undefined && (sw === 0x9000 || sw >> 8 === 0x61 || sw >> 8 === 0x91 || sw >> 8 === 0x9f);
  }

  private async probeChannels(): Promise<void> {
    // 1. a +CCHO whose SELECT must fail: the error for "no such application", and whether +CCHO exists
    const bogus = await this.ccho(NO_SUCH_AID, `+CCHO of an AID that matches nothing (${NO_SUCH_AID})`);
    if (bogus.session) {
      this.note('logical channels', 'the card selected an AID that should match nothing; closing it');
      await this.cchc(bogus.session, 'close it');
    }
    if (bogus.error && isNotSupported(bogus.error)) {
      this.support.set('ccho', { supported: false, error: bogus.error });
      await this.probeChannelCommandsWithoutSession();
      for (const p of ['cchoResult', 'cglaSetsChannelInCla', 'csimStatusOnLogicalChannelFails', 'limits.maxChannels', 'limits.maxApduBytes.cgla', 'errors.unknownSession', 'errors.noFreeChannel', 'errors.cchoOnNonEuicc', 'errors.cchoTooSoon', 'cchoRetryMinIntervalMs'])
        this.useDefault(p, '+CCHO is not supported');
      return;
    }
    const selectError = bogus.error;
    if (selectError) this.errors.cchoOnNonEuicc = selectError;

    // 2. the ISD-R, right after that failure: a "too soon" refusal shows a retry interval
    const main = await this.openIsdr(selectError);
    let session = main.session;
    let onIsdr = true;
    if (!session) {
      onIsdr = false;
      if (main.error) this.errors.cchoOnNonEuicc = main.error;
      this.note('logical channels', `no ISD-R on this card (${main.error ? errorSpecText(main.error) : 'no answer'}): not an eUICC, or +CCHO does not work; trying the USIM to learn the +CCHO form`);
      const usim = await this.cchoAfterInterval(USIM_AID_PREFIX, '+CCHO of the USIM (partial AID)');
      session = usim.session;
      if (!session) {
        // an unimplemented command answers every form with the same bare ERROR (V.250: not a command)
        const t = this.tests.get('ccho');
        if (t?.kind === 'error' && [selectError, main.error, usim.error].every((e) => sameError(e, t.spec))) {
          this.support.set('ccho', { supported: false, error: t.spec });
          this.note('logical channels', `+CCHO=? and every +CCHO answered ${errorSpecText(t.spec)}: recorded as not supported`);
          delete this.errors.cchoOnNonEuicc;
          delete this.errors.cchoTooSoon;
          for (const p of ['errors.cchoOnNonEuicc', 'errors.cchoTooSoon']) this.useDefault(p, '+CCHO is not supported');
        }
      }
    }
    if (!session) {
      this.support.set('ccho', this.support.get('ccho') ?? { supported: true, error: BARE_ERROR });
      await this.probeChannelCommandsWithoutSession();
      for (const p of ['cchoResult', 'cglaSetsChannelInCla', 'csimStatusOnLogicalChannelFails', 'limits.maxChannels', 'limits.maxApduBytes.cgla', 'errors.unknownSession', 'errors.noFreeChannel'])
        this.useDefault(p, 'no logical channel could be opened');
      if (this.cchoRetryMs === undefined) this.useDefault('cchoRetryMinIntervalMs', 'no logical channel could be opened');
      return;
    }
    this.support.set('ccho', { supported: true, error: BARE_ERROR });

    // 3. +CGLA: channel bits in CLA, GET RESPONSE
    await this.probeCgla(session, onIsdr);
    // 4. STATUS through +CSIM on the logical channel
    await this.probeCsimStatus(session);
    // 5. the largest APDU +CGLA takes
    await this.probeCglaLimit(session);
    // 6. how many sessions at once
    await this.probeMaxChannels(onIsdr ? ISD_R_AID : USIM_AID_PREFIX, selectError);
    // 7. close, then close again: the error for a session that is not open
    const close = await this.cchc(session, 'close the first session');
    if (close.final?.kind === 'ok') {
      this.support.set('cchc', { supported: true, error: BARE_ERROR });
      const again = await this.cchc({ ...session }, 'close it again (no longer open)');
      if (again.final?.kind === 'error') this.errors.unknownSession = again.final.spec;
      else this.useDefault('errors.unknownSession', `closing a closed session answered ${again.final?.text ?? 'nothing'}`);
    } else {
      if (close.final?.kind === 'error' && isNotSupported(close.final.spec)) this.support.set('cchc', { supported: false, error: close.final.spec });
      this.useDefault('errors.unknownSession', '+CCHC did not close the session');
    }
  }

  /** +CCHO of the ISD-R, measuring the modem's retry interval when it refuses right after a failure. */
  private async openIsdr(selectError: ErrorSpec | undefined): Promise<{ session?: Session; error?: ErrorSpec }> {
    const first = await this.ccho(ISD_R_AID, '+CCHO of the ISD-R right after a failed +CCHO');
    if (first.session || !first.error) {
      if (first.session) {
        this.cchoRetryMs = 0;
        this.note('logical channels', 'a +CCHO right after a failed one works: no retry interval');
      } else this.useDefault('cchoRetryMinIntervalMs', 'the ISD-R +CCHO gave no answer');
      return first;
    }
    const e1 = first.error;
    const grid = sameError(e1, selectError) ? [1000] : CCHO_RETRY_GRID_MS;
    let refusedAt = performance.now();
    for (const wait of grid) {
      await this.at.sleep(wait - (performance.now() - refusedAt));
      // a timer can fire late on a busy machine, and the modem's clock also counts the line
      // both ways (about one AT round trip): what counts is the time that really passed
      const elapsed = performance.now() - refusedAt + this.atRttMs;
      const interval = elapsed <= wait + 10 ? wait : Math.ceil(elapsed / 10) * 10;
      const r = await this.ccho(ISD_R_AID, `+CCHO of the ISD-R ${wait} ms after the last refusal`);
      if (r.session) {
        this.cchoRetryMs = interval;
        this.errors.cchoTooSoon = e1;
        this.note(
          'logical channels',
          sameError(e1, selectError)
            ? `the ISD-R opened ${Math.round(elapsed)} ms after a refusal that looked like a failed SELECT: retry interval up to ${interval} ms, "too soon" error ${errorSpecText(e1)}`
            : `+CCHO refused with ${errorSpecText(e1)} until ${Math.round(elapsed)} ms after the last failure: retry interval ${interval} ms (probe grid ${CCHO_RETRY_GRID_MS.join('/')} ms)`,
        );
        return r;
      }
      if (r.error && !sameError(r.error, e1)) {
        if (sameError(r.error, selectError)) {
          // the modem took this +CCHO (it was refused "too soon" before), the card then refused the ISD-R
          this.cchoRetryMs = interval;
          this.errors.cchoTooSoon = e1;
          this.note('logical channels', `+CCHO refused with ${errorSpecText(e1)} until ${Math.round(elapsed)} ms after the last failure (retry interval ${interval} ms); then the card refused the ISD-R`);
        } else this.useDefault('cchoRetryMinIntervalMs', `+CCHO of the ISD-R keeps failing (${errorSpecText(e1)}, then ${errorSpecText(r.error)})`);
        return { error: r.error };
      }
      refusedAt = performance.now();
    }
    this.useDefault('cchoRetryMinIntervalMs', `+CCHO of the ISD-R keeps failing with ${errorSpecText(e1)}`);
    this.useDefault('errors.cchoTooSoon', 'no retry interval seen');
    return { error: e1 };
  }

  /** +CCHO does not work: decide +CGLA/+CCHC support from a session id that cannot be open (0). */
  private async probeChannelCommandsWithoutSession(): Promise<void> {
    const g = await this.send('AT+CGLA=0,10,"80F2000C00"');
    this.supportWithoutSession('cgla', g, parseApduLine(g.lines, '+CGLA') !== undefined);
    this.observe('logical channels', g, `+CGLA on session 0 (never opened): ${g.final?.text ?? 'no answer'}: ${this.support.get('cgla')?.supported ? 'counted as supported' : 'not supported'}`);
    const c = await this.send('AT+CCHC=0');
    this.supportWithoutSession('cchc', c, c.final?.kind === 'ok');
    this.observe('logical channels', c, `+CCHC of session 0: ${c.final?.text ?? 'no answer'}: ${this.support.get('cchc')?.supported ? 'counted as supported' : 'not supported'}`);
  }

  /** As supportFrom; also "not supported" when +CCHO is not and the =? form failed the same way. */
  private supportWithoutSession(id: CommandId, r: Reply, worked: boolean): void {
    this.supportFrom(id, r, worked);
    const t = this.tests.get(id);
    if (!worked && this.support.get('ccho')?.supported === false && t?.kind === 'error' && r.final?.kind === 'error' && sameError(t.spec, r.final.spec))
      this.support.set(id, { supported: false, error: t.spec });
  }

  private async probeCgla(s: Session, onIsdr: boolean): Promise<void> {
    // GetEID on the ISD-R (SGP.22 ES10c, read only); on a USIM, STATUS with no data (P2 0C)
    const body = onIsdr ? GET_EID_BODY : 'F2000C00';
    const what = onIsdr ? 'GetEID' : 'STATUS';
    /** one exchange; 61xx is fetched at once so the card never keeps a response pending */
    const exchange = async (cla: number, label: string): Promise<{ r: Reply; sw?: number }> => {
      const x = await this.cgla(s, `${hexByte(cla)}${body}`, `${what} with ${label}`);
      if (x.hex === undefined || x.sw === undefined) return x;
      if (Characterizer.cardOk(x.sw)) this.noteGetResponse(x.sw, x.hex.length / 2 - 2, `${what} through +CGLA`);
      if (x.sw >> 8 === 0x61) {
        const g = await this.cgla(s, `${hexByte(cla & 0x7f)}C00000${hexByte(x.sw & 0xff)}`, `GET RESPONSE for ${what}`);
        const eid = g.hex && onIsdr ? /5A10([0-9A-Fa-f]{32})/.exec(g.hex)?.[1] : undefined;
        if (eid) this.note('logical channels', `EID ${eid.toUpperCase()}`);
      }
      return x;
    };
    const noBits = await exchange(0x80, 'CLA 80 (no channel bits)');
    if (noBits.sw !== undefined) this.support.set('cgla', { supported: true, error: BARE_ERROR });
    else if (noBits.r.final?.kind === 'error' && isNotSupported(noBits.r.final.spec)) {
      this.support.set('cgla', { supported: false, error: noBits.r.final.spec });
      this.useDefault('cglaSetsChannelInCla', '+CGLA is not supported');
      return;
    }
    const withBits = s.channel !== undefined ? await exchange(claForChannel(0x80, s.channel), `the channel (${s.channel}) in CLA`) : undefined;
    if (withBits?.sw !== undefined) this.support.set('cgla', { supported: true, error: BARE_ERROR });

    if (Characterizer.cardOk(noBits.sw)) {
      // CLA 80 also works when the basic channel has the application selected: a channel nobody opened settles it
      const wrong = s.channel === 19 ? 18 : 19;
      const w = await exchange(claForChannel(0x80, wrong), `channel ${wrong} (not open) in CLA`);
      this.cglaSetsChannelInCla = Characterizer.cardOk(w.sw);
      this.note(
        'logical channels',
        this.cglaSetsChannelInCla
          ? '+CGLA reaches the session whatever channel CLA names: the modem sets the channel bits (27.007 8.43)'
          : 'CLA 80 worked but a CLA naming an unopened channel did not: the modem passes CLA through (the basic channel had the application selected too)',
      );
    } else if (Characterizer.cardOk(withBits?.sw)) {
      this.cglaSetsChannelInCla = false;
      this.note('logical channels', '+CGLA needs the channel in CLA: the modem passes CLA through to the card');
    } else this.useDefault('cglaSetsChannelInCla', `${what} through +CGLA did not work with any CLA`);
  }

  private async probeCsimStatus(s: Session): Promise<void> {
    if (s.channel === undefined) {
      this.useDefault('csimStatusOnLogicalChannelFails', 'the session id is a handle: its channel number is unknown');
      return;
    }
    if (this.support.get('csim')?.supported === false) {
      this.useDefault('csimStatusOnLogicalChannelFails', '+CSIM is not supported');
      return;
    }
    const apdu = `${hexByte(claForChannel(0x80, s.channel))}F2000C00`;
    const r = await this.send(`AT+CSIM=${apdu.length},"${apdu}"`);
    const a = parseApduLine(r.lines, '+CSIM');
    if (a) {
      this.csimStatusFails = false;
      this.observe('logical channels', r, `STATUS on channel ${s.channel} through +CSIM works (SW ${a.hex.slice(-4)})`);
    } else if (r.final?.kind === 'error') {
      this.csimStatusFails = true;
      this.errors.csimStatusOnLogicalChannel = r.final.spec;
      this.observe('logical channels', r, `STATUS on channel ${s.channel} through +CSIM refused: ${errorSpecText(r.final.spec)}`);
    } else {
      this.observe('logical channels', r, 'no answer');
      this.useDefault('csimStatusOnLogicalChannelFails', 'STATUS through +CSIM was not answered');
    }
  }

  private async probeCglaLimit(s: Session): Promise<void> {
    if (this.support.get('cgla')?.supported === false || this.cglaSetsChannelInCla === undefined || (!this.cglaSetsChannelInCla && s.channel === undefined)) {
      this.useDefault('limits.maxApduBytes.cgla', '+CGLA could not be used');
      return;
    }
    const cla = this.cglaSetsChannelInCla ? 0x00 : claForChannel(0x00, s.channel as number);
    const lineFor = (n: number): number => `AT+CGLA=${s.id},${n * 2},""`.length + n * 2;
    const max = await this.apduLimit(async (n) => {
      const apdu = selectNoSuchAid(cla, n);
      const r = await this.send(`AT+CGLA=${s.id},${apdu.length},"${apdu}"`);
      const a = parseApduLine(r.lines, '+CGLA');
      this.observe('logical channels', r, `${n}-byte SELECT of an AID that matches nothing through +CGLA: ${a ? `reached the card (SW ${a.hex.slice(-4)})` : `refused by the modem (${r.final?.text ?? 'no answer'})`}`);
      return a !== undefined;
    }, lineFor);
    if (max === undefined) this.useDefault('limits.maxApduBytes.cgla', 'no padded SELECT through +CGLA reached the card');
    else this.maxCgla = max;
  }

  private async probeMaxChannels(aid: string, selectError: ErrorSpec | undefined): Promise<void> {
    const extra: Session[] = [];
    let useAid = aid;
    let refused: ErrorSpec | undefined;
    let answered = true;
    while (this.sessions.length < 19) {
      const r = await this.cchoAfterInterval(useAid, `another session (${this.sessions.length + 1})`);
      if (r.session) {
        extra.push(r.session);
        continue;
      }
      if (useAid === ISD_R_AID && r.error && sameError(r.error, selectError)) {
        // the card may refuse a second ISD-R selection: count with the USIM instead
        this.note('logical channels', 'the ISD-R was refused like a failed SELECT: counting further sessions with the USIM');
        useAid = USIM_AID_PREFIX;
        continue;
      }
      refused = r.error;
      answered = r.r.final !== null;
      break;
    }
    this.maxChannels = this.sessions.length;
    if (refused) {
      this.errors.noFreeChannel = refused;
      this.note('logical channels', `${this.maxChannels} session(s) at once, the next refused with ${errorSpecText(refused)} (the smaller of the modem's and the card's limit)`);
    } else {
      this.useDefault('errors.noFreeChannel', answered ? 'no +CCHO was refused up to 19 sessions' : '+CCHO gave no answer');
      this.note('logical channels', `${this.maxChannels} session(s) open at once`);
    }
    for (const s of extra) await this.cchc(s, `close session ${s.id}`);
  }

  // ---- inter-character timeout -------------------------------------------------------------

  /**
   * 'A', a pause, then 'T' CR: answered OK when the modem kept the partial line. The pause
   * is a margin longer than `limitMs`, so jitter on the line cannot make a modem whose
   * timeout is exactly `limitMs` keep the line.
   */
  private async gapKept(limitMs: number): Promise<boolean> {
    const margin = Math.max(10, limitMs / 10);
    const gap = limitMs + margin;
    const label = `A <${Math.round(gap)} ms> T`;
    for (let attempt = 1; ; attempt++) {
      this.detail(`A, ${Math.round(gap)} ms pause, T`);
      this.at.flush();
      const t0 = performance.now();
      await this.at.writeRaw('A');
      const tA = performance.now();
      await this.at.sleep(gap);
      // a timer that fires late makes the pause longer than meant: a discarded line then proves nothing
      const actual = performance.now() - tA;
      await this.at.writeRaw('T\r');
      const r = await this.at.awaitFinal(label, this.silenceMs, t0);
      const kept = r.final?.kind === 'ok';
      const late = !kept && actual > gap + margin;
      this.observe(
        'inter-character timeout',
        r,
        `${Math.round(actual)} ms between characters: ${kept ? 'line kept' : r.final ? `line discarded (${r.final.text})` : 'line discarded (no answer)'}${late ? `; the pause overshot ${Math.round(gap)} ms, repeated` : ''}`,
      );
      if (r.final === null) await this.resync(label);
      if (!late || attempt === 3) return kept;
    }
  }

  private async probeInterChar(): Promise<void> {
    const maxGap = this.opts.maxGapProbeMs ?? 1000;
    const grid = GAP_GRID_MS.filter((g) => g <= maxGap);
    if (grid.length === 0) {
      this.useDefault('limits.interCharTimeoutMs', 'probe disabled');
      return;
    }
    if (await this.gapKept(grid[grid.length - 1] as number)) {
      this.interCharTimeoutMs = null;
      this.note('inter-character timeout', `a pause of over ${grid[grid.length - 1]} ms inside a command line is tolerated: recorded as no timeout (none up to ${maxGap} ms)`);
      return;
    }
    let lo = -1;
    let hi = grid.length - 1;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (await this.gapKept(grid[mid] as number)) lo = mid;
      else hi = mid;
    }
    this.interCharTimeoutMs = grid[hi] as number;
    this.note(
      'inter-character timeout',
      `a command line is discarded when its characters arrive just over ${grid[hi]} ms apart${lo >= 0 ? ` (kept just over ${grid[lo]} ms)` : ''}: recorded ${grid[hi]} ms; write each command line in one piece`,
    );
  }

  // ---- cleanup ------------------------------------------------------------------------------

  private async cleanup(): Promise<void> {
    this.progress('restore settings');
    try {
      await this.restore();
    } catch (err) {
      // the port broke while putting things back: say what may be left behind, keep the first error
      if (!(err instanceof CharacterizeError)) throw err;
      this.warnings.push(`restoring the modem failed (${err.message}); open sessions: ${this.sessions.map((x) => x.id).join(', ') || 'none'}`);
    } finally {
      this.at.dispose();
    }
  }

  private async restore(): Promise<void> {
    const dropped = await this.at.settle(this.timeoutMs);
    if (dropped !== undefined) this.note('restore settings', `answer of the interrupted command taken off the line: ${dropped}`);
    for (const s of [...this.sessions]) {
      const r = await this.at.command(`AT+CCHC=${s.id}`, this.timeoutMs, true);
      this.observe('restore settings', r, r.final?.kind === 'ok' ? `closed session ${s.id}` : `could not close session ${s.id}`);
      if (r.final?.kind === 'ok') this.sessions = this.sessions.filter((x) => x !== s);
      else this.warnings.push(`logical channel session ${s.id} could not be closed (${r.final?.text ?? 'no answer'}): restart the modem before using the card`);
    }
    if (this.cmeeChangedFrom !== undefined) {
      const r = await this.at.command(`AT+CMEE=${this.cmeeChangedFrom}`, this.timeoutMs, true);
      this.observe('restore settings', r, r.final?.kind === 'ok' ? `+CMEE back to ${this.cmeeChangedFrom}` : 'could not restore +CMEE');
      if (r.final?.kind !== 'ok') this.warnings.push(`+CMEE could not be set back to ${this.cmeeChangedFrom}`);
    }
    if (this.echoTurnedOff) {
      const r = await this.at.command('ATE1', this.timeoutMs, true);
      this.observe('restore settings', r, r.final?.kind === 'ok' ? 'echo back on' : 'could not turn echo back on');
      if (r.final?.kind !== 'ok') this.warnings.push('echo could not be turned back on (ATE1)');
    }
  }

  // ---- the personality ----------------------------------------------------------------------

  private build(): CharacterizeResult {
    const obs = (probe: string, conclusion: string): void => this.note(probe, conclusion);
    // formatting
    if (this.spaceAfterColon === undefined) this.useDefault('format.spaceAfterColon', 'no prefixed answer seen');
    else obs('format', `space after the colon: ${this.spaceAfterColon ? 'yes' : 'no'} (from the ${this.spaceFrom} answers)`);
    let hexCase: HexCase = 'upper';
    if (this.hexEvidence.lower > 0 && this.hexEvidence.upper === 0) hexCase = 'lower';
    else if (this.hexEvidence.lower > 0 && this.hexEvidence.upper > 0) obs('format', `hex digits came in both cases (${this.hexEvidence.upper} upper, ${this.hexEvidence.lower} lower answers): recorded upper`);
    else if (this.hexEvidence.upper === 0) this.useDefault('format.hexCase', 'no hex letters in any card answer');

    // commands and test forms
    const globalTest: 'ok' | 'silent' = this.globalTest ?? (() => {
      const supported = COMMAND_IDS.filter((id) => this.support.get(id)?.supported !== false).map((id) => this.tests.get(id)?.kind);
      return supported.filter((k) => k === 'silent').length > supported.filter((k) => k === 'ok').length ? 'silent' : 'ok';
    })();
    const commands: JsonObject = {};
    for (const id of COMMAND_IDS) {
      const sup = this.support.get(id) ?? { supported: true, error: BARE_ERROR };
      const t = this.tests.get(id);
      if (!sup.supported) {
        commands[id] = { supported: false, error: errorSpecText(sup.error), test: 'error' };
        continue;
      }
      let test: TestCommandBehaviour = globalTest;
      let error: ErrorSpec = BARE_ERROR;
      if (t?.kind === 'ok' || t?.kind === 'silent') test = t.kind;
      else if (t?.kind === 'error') {
        test = 'error';
        error = t.spec;
      }
      commands[id] = { supported: true, error: errorSpecText(error), test };
    }

    if (this.cchoResult === undefined) this.defaultIfUnlisted('cchoResult', 'no session was opened');
    if (this.getResponse === undefined) this.useDefault('getResponse', 'no case 4 command came back with data or 61xx');
    else obs('GET RESPONSE', this.getResponseWhy);
    if (this.maxChannels === undefined) this.defaultIfUnlisted('limits.maxChannels', 'not measured');
    if (this.maxLineLength === undefined) this.defaultIfUnlisted('limits.maxLineLength', 'not measured');
    if (this.interCharTimeoutMs === undefined) this.defaultIfUnlisted('limits.interCharTimeoutMs', 'not measured');
    if (this.cchoRetryMs === undefined) this.defaultIfUnlisted('cchoRetryMinIntervalMs', 'not measured');
    for (const k of ['badParameters', 'unknownSession', 'noFreeChannel', 'cchoOnNonEuicc', 'csimStatusOnLogicalChannel', 'cchoTooSoon'] as const)
      if (this.errors[k] === undefined) this.defaultIfUnlisted(`errors.${k}`, k === 'csimStatusOnLogicalChannel' && this.csimStatusFails === false ? 'STATUS on a logical channel works' : 'not seen');
    if (this.cglaSetsChannelInCla === undefined) this.defaultIfUnlisted('cglaSetsChannelInCla', 'not measured');
    if (this.csimStatusFails === undefined) this.defaultIfUnlisted('csimStatusOnLogicalChannelFails', 'not measured');
    if (this.maxCsim === undefined) this.defaultIfUnlisted('limits.maxApduBytes.csim', 'not measured');
    if (this.maxCgla === undefined) this.defaultIfUnlisted('limits.maxApduBytes.cgla', 'not measured');
    // never probed: they need a restart, a card swap, or many hours of traffic
    this.useDefault('echoAfterRestart', 'needs a modem restart; default true: V.250 6.2.4 factory default E1, and modules that come back with echo on after a restart');
    this.useDefault('urcsAfterRestart', 'needs a modem restart; default none');
    this.useDefault('urcsOnCardRemoval', 'needs a card removal; default none');
    this.useDefault('urcsOnCardInsertion', 'needs a card insertion; default none');
    this.useDefault('spuriousErrors', 'a rate needs long runs of real traffic; default 0');
    this.useDefault('timing.restartMs', `needs a modem restart; default ${DEFAULT_RESTART_MS} ms, the slowest known module`);
    this.useDefault('usimAid', 'not visible through AT; default the 3GPP USIM AID');
    if (this.cmeeChangedFrom === undefined && this.support.get('cmee')?.supported === false) this.useDefault('cmeeDefault', '+CMEE? not answered; inferred from the errors seen');

    const cmeeDefault: 0 | 1 | 2 = this.support.get('cmee')?.supported === false ? this.inferCmee() : this.cmeeDefault;
    const identity = this.opts.redactImei ? this.redactedIdentity() : this.identity;
    const id = this.opts.name ?? slug(`${identity.manufacturer.split(/[\s,]/)[0] ?? ''}-${identity.model}`);
    const latency: JsonObject = {};
    for (const [name, values] of this.latencies) {
      const v = Math.round(median(values));
      // an override only when clearly slower than a plain AT (a few ms of scheduling noise is not a property)
      if (v >= this.perCommandLatencyMs + 5 && v >= this.perCommandLatencyMs * 1.5) latency[name] = v;
    }
    const date = new Date().toISOString().slice(0, 10);
    const doc: JsonObject = {
      $comment: `generated by bridgelab characterize; what each value rests on is in the observations file written next to it`,
      id,
      description: `${identity.manufacturer} ${identity.model}, firmware ${identity.revision}: characterized from the module`,
      characterization: '',
      identity: { ...identity, ati: [...identity.ati], extraCommands: { ...identity.extraCommands } },
      format: { spaceAfterColon: this.spaceAfterColon ?? true, hexCase, lineEnding: this.lineEnding, nonAtLine: this.nonAtLine },
      echoDefault: this.echoDefault,
      echoAfterRestart: true,
      cmeeDefault,
      testCommands: globalTest,
      commands,
      iccidCommands: this.iccidCommands.map((c) => ({ ...c })),
      cchoResult: this.cchoResult ?? 'prefixed',
      cglaSetsChannelInCla: this.cglaSetsChannelInCla ?? false,
      csimStatusOnLogicalChannelFails: this.csimStatusFails ?? false,
      getResponse: this.getResponse ?? 'passthrough',
      limits: {
        maxLineLength: this.maxLineLength ?? 1024,
        maxApduBytes: { csim: this.maxCsim ?? SHORT_APDU_MAX, cgla: this.maxCgla ?? this.maxCsim ?? SHORT_APDU_MAX },
        maxChannels: this.maxChannels ?? DEFAULT_MAX_CHANNELS,
        interCharTimeoutMs: this.interCharTimeoutMs ?? null,
      },
      errors: {
        badParameters: errorSpecText(this.errors.badParameters ?? BARE_ERROR),
        unknownSession: errorSpecText(this.errors.unknownSession ?? cmeError(50)),
        noFreeChannel: errorSpecText(this.errors.noFreeChannel ?? cmeError(20)),
        cchoOnNonEuicc: errorSpecText(this.errors.cchoOnNonEuicc ?? cmeError(13)),
        csimStatusOnLogicalChannel: errorSpecText(this.errors.csimStatusOnLogicalChannel ?? BARE_ERROR),
        cchoTooSoon: errorSpecText(this.errors.cchoTooSoon ?? cmeError(14)),
      },
      usimAid: 'A0000000871002FFFFFFFF8907090000',
      urcsAfterRestart: [],
      urcsOnCardRemoval: [],
      urcsOnCardInsertion: [],
      spuriousErrors: { rate: 0, scope: 'bpp', seed: 1, error: 'ERROR' },
      cchoRetryMinIntervalMs: this.cchoRetryMs ?? 0,
      timing: { baud: this.baud, perCommandLatencyMs: this.perCommandLatencyMs, commandLatencyMs: latency, restartMs: DEFAULT_RESTART_MS },
    };

    // defaults: from --base when given, and every one is said in the observations
    const base = this.opts.base ? personalityToJson(this.opts.base) : undefined;
    const seen = new Set<string>();
    for (const d of this.defaulted) {
      if (seen.has(d.path)) continue;
      seen.add(d.path);
      const fromBase = base ? getPath(base, d.path) : undefined;
      if (fromBase !== undefined) setPath(doc, d.path, fromBase);
      obs('defaults', `${d.path}: not probed (${d.reason}); ${fromBase !== undefined ? `taken from ${this.opts.base?.id}: ${JSON.stringify(fromBase)}` : `default ${JSON.stringify(getPath(doc, d.path))}`}`);
    }
    const defaultedPaths = [...seen];
    doc['characterization'] =
      `bridgelab characterize on ${date}, ${this.portLabel} at ${this.baud} baud, firmware ${identity.revision}: identity, formatting, command support, test forms, ` +
      `limits, channel behaviour and error codes probed; not probed (${base ? `from ${this.opts.base?.id} or ` : ''}defaults): ${defaultedPaths.join(', ')}`;
    const personality = parsePersonality(doc, `characterize:${this.portLabel}`);
    return { personality, document: doc, observations: this.observations, warnings: this.warnings };
  }

  /** A default for a path the probes should have set; recorded once. */
  private defaultIfUnlisted(path: string, reason: string): void {
    if (!this.defaulted.some((d) => d.path === path)) this.useDefault(path, reason);
  }

  private inferCmee(): 0 | 1 | 2 {
    const finals = this.observations.map((o) => /\+CME ERROR: ?(.+)\r?\n/.exec(o.received)?.[1]?.trim()).filter((x): x is string => x !== undefined);
    if (finals.some((f) => /^\d+$/.test(f))) return 1;
    if (finals.length > 0) return 2;
    return 0;
  }

  private redactedIdentity(): Characterizer['identity'] {
    const imei = this.identity.imei;
    const r = (s: string): string => (imei === DEFAULT_IMEI ? s : s.split(imei).join(DEFAULT_IMEI));
    return {
      manufacturer: r(this.identity.manufacturer),
      model: r(this.identity.model),
      revision: r(this.identity.revision),
      imei: DEFAULT_IMEI,
      ati: this.identity.ati.map(r),
      extraCommands: Object.fromEntries(Object.entries(this.identity.extraCommands).map(([k, v]) => [k, v.map(r)])),
    };
  }
}

// ---- entry point ---------------------------------------------------------------------------

function isPort(t: CharacterizeTarget): t is SerialPortLike {
  return typeof (t as SerialPortLike).write === 'function';
}

async function openPort(path: string, baudRate: number): Promise<SerialPort> {
  const port = new SerialPort({ path, baudRate, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(new CharacterizeError(`cannot open ${path}: ${err.message}`)) : resolve())));
  return port;
}

/**
 * Probe the modem on `target` (an open port, or a path opened and closed here) and
 * return the personality it behaves like, with an observation for every exchange.
 * Throws ModemSilentError when `AT` gets no final result code at all.
 */
export async function characterizeModem(target: CharacterizeTarget, options: CharacterizeOptions = {}): Promise<CharacterizeResult> {
  if (options.name !== undefined && !/^[a-z0-9][a-z0-9._-]*$/.test(options.name))
    throw new CharacterizeError(`personality name must be lower-case letters, digits, '.', '_' or '-', got ${JSON.stringify(options.name)}`);
  if (isPort(target)) return new Characterizer(target, options, options.portLabel ?? 'serial port').run();
  const baud = target.baudRate ?? options.baud ?? 115200;
  const port = await openPort(target.path, baud);
  let result: CharacterizeResult | undefined;
  let failure: unknown;
  try {
    result = await new Characterizer(port, { ...options, baud }, options.portLabel ?? target.path).run();
  } catch (err) {
    failure = err;
  }
  const closeError = await new Promise<Error | null>((resolve) => port.close((err) => resolve(err ?? null)));
  if (failure !== undefined) throw failure;
  const done = result as CharacterizeResult;
  if (closeError) done.warnings.push(`closing ${target.path} failed: ${closeError.message}`);
  return done;
}
