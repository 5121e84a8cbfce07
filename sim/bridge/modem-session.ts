// The LPA's card, as the bridge builds it out of modem AT commands: detects at start-up
// whether the modem offers 3GPP TS 27.007 8.45 +CCHO / 8.43 +CGLA / 8.46 +CCHC or only
// 8.17 +CSIM, and maps the LPA's logical channels (ISO/IEC 7816-4 11.1.2 MANAGE CHANNEL,
// CLA coding of ETSI TS 102 221 10.1.1) onto modem sessions. Towards the LPA it behaves as
// a T=0 reader (option `t0`, default 'reader'): a short command (ISO/IEC 7816-3 12.1.3,
// Ne <= 256) never gets more than 256 data bytes back; the card's 61xx reaches the LPA,
// which fetches the rest with GET RESPONSE (TS 102 221 7.3.1.1.4), and an answer the modem
// joined itself (modems that run GET RESPONSE internally hand over more than 256 bytes in
// one +CGLA) is served from the bridge's own buffer in pieces of at most 256 bytes, each
// announced by 61xx; 6Cxx is re-sent with Le = SW2 here, as a T=0 transport layer does
// (ISO/IEC 7816-3 12.2.2). Extended-length commands are refused (6700) unless the bridge's
// ATR announces extended Lc/Le; then, as with 'join', the whole answer is joined. 'join'
// runs the whole T=0 procedure in the bridge and hands over one R-APDU of any length;
// 'pass' leaves 61xx/6Cxx untouched. The session also enforces the AID allow-list and the
// AUTHENTICATE ban, and turns AT failures into status words by the table SW_RULES below.
// Modem quirks handled are those of 3GPP TS 27.007 implementations seen in the field.
//
// Channel mapping (CCHO mode):
//   MANAGE CHANNEL open   -> a virtual channel number is allocated and answered; no AT.
//   SELECT by AID on it   -> allow-list check, AT+CCHO="<AID>", then the SELECT itself is
//                            replayed with AT+CGLA so the LPA gets the card's real answer.
//   any other APDU        -> AT+CGLA=<session>,... with the CLA's channel bits rewritten to
//                            the card channel (a numeric session id is the card channel;
//                            an opaque handle (Sierra) gets channel bits 0, 27.007 8.45).
//   MANAGE CHANNEL close  -> AT+CCHC=<session>.
//   basic channel (CLA channel 0) -> AT+CSIM, or 6A81 when the modem has no +CSIM.
// CSIM-only mode: MANAGE CHANNEL open/close go to the card inside +CSIM; APDUs keep the
// card's channel in CLA (rewritten only if the LPA's number differs from the card's).
// After a modem restart the card's channels are gone: every APDU on a channel the LPA had
// open answers 6881 until the LPA closes it (9000, no AT) or SELECTs an allowed AID on it
// again (a new session is opened). Nothing is re-opened behind the LPA's back: the
// application state it had (an ES10 session, a half-loaded BPP) is lost and it must know.
//
// Deliberate defects for certifying the certifier (defects.ts; option `defects`, empty by
// default): the marked `defects` hooks below make this session behave like a broken port.
// Without defects the hooks are skipped and nothing here changes.
import { ApduFormatError, buildResponse, parseCommand, responseData, responseSw, withLe, type CommandApdu } from '../apdu/apdu.ts';
import { ClaError, decodeCla, MAX_LOGICAL_CHANNEL, withChannel } from '../apdu/channels.ts';
import { formatSw, swName } from '../apdu/sw.ts';
import { INS_GET_RESPONSE, transmitWithT0Procedure, T0ProcedureError } from '../apdu/t0.ts';
import { concatBytes, hexToBytes, toUpperHex } from '../bytes.ts';
import { AtClient, AtClosedError, AtPortError, AtTimeoutError, formatFinal, type AtFinal, type AtRebootEvent } from './at.ts';
import { BridgeDefects, DEFECT_NAMES, type DefectName } from './defects.ts';
export { ISD_R_AID_HEX as ISD_R_AID, ECASD_AID_HEX as ECASD_AID } from '../apdu/aids.ts';
import { ISD_R_AID_HEX as ISD_R_AID, ECASD_AID_HEX as ECASD_AID } from '../apdu/aids.ts';

export const DEFAULT_ALLOWED_AIDS: readonly string[] = [ISD_R_AID, ECASD_AID];

// ---------------------------------------------------------------------------------------
// Status word rules

export type SwRuleId =
  | 'apdu-malformed'
  | 'cla-invalid'
  | 'aid-not-allowed'
  | 'authenticate-refused'
  | 'apdu-too-long'
  | 'extended-not-announced'
  | 'channel-not-open'
  | 'channel-lost'
  | 'no-application-selected'
  | 'no-free-channel'
  | 'manage-channel-params'
  | 'basic-channel-unavailable'
  | 'ccho-select-failed'
  | 'ccho-no-channel'
  | 'ccho-refused'
  | 'cme-not-allowed'
  | 'cme-not-supported'
  | 'cme-no-sim'
  | 'cme-sim-failure'
  | 'cme-sim-busy'
  | 'cme-unknown-session'
  | 'cme-other'
  | 'bare-error'
  | 'at-timeout'
  | 'modem-unavailable'
  | 'response-unparseable'
  | 't0-procedure-failed';

export interface SwRule {
  id: SwRuleId;
  sw: number;
  when: string;
}

/**
 * What the LPA sees when the bridge does not get a card answer (documented in bridge.ts).
 * Card status words themselves (including 6881, 6A82 from the card) pass through untouched.
 */
export const SW_RULES: Readonly<Record<SwRuleId, SwRule>> = {
  'apdu-malformed': { id: 'apdu-malformed', sw: 0x6700, when: 'C-APDU matches no ISO 7816-3 case (checked locally, no AT)' },
  'cla-invalid': { id: 'cla-invalid', sw: 0x6e00, when: 'CLA FF (no AT)' },
  'aid-not-allowed': { id: 'aid-not-allowed', sw: 0x6a82, when: 'SELECT by AID of an AID outside the allow-list, any channel (no AT)' },
  'authenticate-refused': { id: 'authenticate-refused', sw: 0x6982, when: 'INS 88 (RUN GSM ALGORITHM / AUTHENTICATE) or 89 without allowAuthenticate (no AT)' },
  'apdu-too-long': { id: 'apdu-too-long', sw: 0x6700, when: 'APDU over maxApduBytes or AT line over maxLineLength; never split (no AT)' },
  'extended-not-announced': { id: 'extended-not-announced', sw: 0x6700, when: 'extended-length C-APDU while the ATR announces no extended Lc/Le (reader procedure; no AT)' },
  'channel-not-open': { id: 'channel-not-open', sw: 0x6881, when: 'APDU or MANAGE CHANNEL close on a channel the LPA has not opened (no AT)' },
  'channel-lost': { id: 'channel-lost', sw: 0x6881, when: 'channel lost in a modem restart / card loss, or the modem no longer knows its session' },
  'no-application-selected': { id: 'no-application-selected', sw: 0x6985, when: 'APDU other than SELECT by AID on a channel opened but not yet bound to a modem session (no AT)' },
  'no-free-channel': { id: 'no-free-channel', sw: 0x6a81, when: 'MANAGE CHANNEL open with all virtual channels in use (no AT)' },
  'manage-channel-params': { id: 'manage-channel-params', sw: 0x6a86, when: 'MANAGE CHANNEL with P1 other than 00/80, or closing channel 0 (no AT)' },
  'basic-channel-unavailable': { id: 'basic-channel-unavailable', sw: 0x6a81, when: 'basic-channel APDU and the modem has no usable +CSIM (no AT)' },
  'ccho-select-failed': { id: 'ccho-select-failed', sw: 0x6a82, when: '+CCHO answered +CME ERROR: 13 (the card refused the SELECT: not an eUICC?)' },
  'ccho-no-channel': { id: 'ccho-no-channel', sw: 0x6a81, when: '+CCHO answered +CME ERROR: 20/21/23 (no free channel on the modem or card)' },
  'ccho-refused': { id: 'ccho-refused', sw: 0x6a81, when: '+CCHO answered +CME ERROR: 3/4 (not allowed / not supported) and +CSIM cannot stand in' },
  'cme-not-allowed': { id: 'cme-not-allowed', sw: 0x6985, when: '+CGLA/+CSIM answered +CME ERROR: 3 (operation not allowed)' },
  'cme-not-supported': { id: 'cme-not-supported', sw: 0x6a81, when: '+CGLA/+CSIM answered +CME ERROR: 4 (operation not supported)' },
  'cme-no-sim': { id: 'cme-no-sim', sw: 0x6f00, when: '+CME ERROR: 10 (SIM not inserted)' },
  'cme-sim-failure': { id: 'cme-sim-failure', sw: 0x6f00, when: '+CME ERROR: 13 (SIM failure) outside +CCHO' },
  'cme-sim-busy': { id: 'cme-sim-busy', sw: 0x6f00, when: '+CME ERROR: 14 (SIM busy), after the retries' },
  'cme-unknown-session': { id: 'cme-unknown-session', sw: 0x6881, when: '+CGLA answered +CME ERROR: 21/50 (invalid index / parameters: the modem does not know the session); the channel becomes lost' },
  'cme-other': { id: 'cme-other', sw: 0x6f00, when: 'any other +CME ERROR / +CMS ERROR' },
  'bare-error': { id: 'bare-error', sw: 0x6f00, when: 'bare ERROR after the retries' },
  'at-timeout': { id: 'at-timeout', sw: 0x6f00, when: 'no final result code in time (the APDU may have reached the card)' },
  'modem-unavailable': { id: 'modem-unavailable', sw: 0x6f00, when: 'serial port closed / not reopened, or the modem did not come back' },
  'response-unparseable': { id: 'response-unparseable', sw: 0x6f00, when: '+CGLA/+CSIM/+CCHO answer missing or malformed' },
  't0-procedure-failed': { id: 't0-procedure-failed', sw: 0x6f00, when: 'the 61xx/6Cxx procedure did not end' },
};

// ---------------------------------------------------------------------------------------
// Public types

export type ChannelMode = 'ccho' | 'csim';
export type LpaT0Procedure = 'reader' | 'join' | 'pass';
export const LPA_T0_PROCEDURES: readonly LpaT0Procedure[] = ['reader', 'join', 'pass'];

/** Largest response data of a short command (ISO/IEC 7816-3 12.1.3: Ne <= 256). */
export const SHORT_NE_MAX = 256;
export type ProbeOutcome = { result: 'ok' } | { result: 'error'; final: string } | { result: 'silent' };
export type ProbedCommand = 'ccho' | 'cgla' | 'cchc' | 'csim';

export interface ModemIdentity {
  ati: string[];
  manufacturer: string | undefined;
  model: string | undefined;
  revision: string | undefined;
  /** vendor command answer (AT+QGMR, AT+GTPKGVER?, AT+SIMCOMATI...), when there is one */
  vendorRevision: string | undefined;
}

export interface ModemDetection {
  mode: ChannelMode;
  /** +CSIM usable for the basic channel */
  csim: boolean;
  probes: Record<ProbedCommand, ProbeOutcome>;
  /** why this mode, in words */
  reasons: string[];
}

export interface ModemReport {
  identity: ModemIdentity;
  detection: ModemDetection;
}

export type SessionTraceEvent =
  | { type: 'decision'; what: string; detail: string; rule?: SwRuleId; sw?: string }
  | { type: 'modem'; event: 'detected' | 'channels-lost' | 'mode-fallback'; detail: string };

export interface ModemSessionOptions {
  /** AIDs (hex) the bridge lets the LPA SELECT; default ISD-R and ECASD */
  allowAids?: readonly string[];
  /** let INS 88/89 (RUN GSM ALGORITHM, AUTHENTICATE) through; default false */
  allowAuthenticate?: boolean;
  /** virtual logical channels the LPA may have open at once (1..19); default 3 */
  maxLogicalChannels?: number;
  /** 'auto' (default) detects; 'ccho' / 'csim' force a mode */
  mode?: 'auto' | ChannelMode;
  /**
   * channel bits of CLA in +CGLA: 'auto' (default: the card channel when the session id
   * is a channel number 1..19, 0 for an opaque handle), 'clear' (always 0: the modem sets them)
   */
  claChannelBits?: 'auto' | 'clear';
  /**
   * what the LPA gets for a card answer over 256 bytes or a 61xx/6Cxx (see the header):
   * 'reader' (default) as a T=0 reader, at most 256 data bytes per short command and 61xx;
   * 'join' the whole answer in one R-APDU; 'pass' 61xx/6Cxx untouched
   */
  t0?: LpaT0Procedure;
  /** extended Lc/Le accepted from the LPA (the bridge's ATR announces them); default false */
  extendedLength?: boolean;
  /** class of the GET RESPONSE the bridge sends, channel bits added (default 0x00, TS 102 221) */
  getResponseClass?: number;
  /** longest APDU one +CGLA/+CSIM may carry (default 261: short APDUs) */
  maxApduBytes?: number;
  /** longest command line, 'AT' included, CR excluded (default 1024) */
  maxLineLength?: number;
  /** retries of +CCHO after +CME ERROR: 14 or bare ERROR (default 3), and the pause between them (default 250 ms) */
  cchoRetries?: number;
  cchoRetryDelayMs?: number;
  /** retries of +CGLA/+CSIM after a bare ERROR (default 2) and pause (default 50 ms) */
  apduRetries?: number;
  apduRetryDelayMs?: number;
  /** timeout of one +CGLA/+CSIM/+CCHO/+CCHC (default 30 s: a card installing a profile segment can take seconds) */
  apduTimeoutMs?: number;
  /** timeout of the `=?` probes at detection (default: the AT client's probe timeout) */
  probeTimeoutMs?: number;
  /** deliberate defects for certifying the certifier (defects.ts); default none. Never in production. */
  defects?: readonly DefectName[];
  onTrace?: (event: SessionTraceEvent) => void;
}

export class ModemUnsupportedError extends Error {
  override readonly name = 'ModemUnsupportedError';
  constructor(
    message: string,
    readonly report: ModemReport,
  ) {
    super(message);
  }
}

export class SessionConfigError extends Error {
  override readonly name = 'SessionConfigError';
}

// ---------------------------------------------------------------------------------------
// Internal

type Backend = { kind: 'ccho'; handle: string; cardChannel: number | undefined } | { kind: 'csim'; cardChannel: number };

interface VirtualChannel {
  vch: number;
  state: 'open' | 'lost';
  backend: Backend | undefined;
  /** the modem went silent for a while: the session may be gone */
  suspect: boolean;
}

/** A decided answer that did not come from the card. */
class SwDecision extends Error {
  override readonly name = 'SwDecision';
  constructor(
    readonly rule: SwRuleId,
    readonly detail: string,
  ) {
    super(`${rule}: ${detail}`);
  }
}

/** An AT command of the APDU path ended with something other than OK. */
class AtApduFailure extends Error {
  override readonly name = 'AtApduFailure';
  constructor(
    readonly op: 'ccho' | 'cgla' | 'csim',
    readonly final: AtFinal,
    readonly rebooted: boolean,
  ) {
    super(`${op}: ${formatFinal(final)}`);
  }
}

/** TERMINAL CAPABILITY carrying eUICC-related terminal capabilities (ETSI TS 102 221 11.1.19, tag A9), the form PC LPAs send. */
const DEFAULT_TERMINAL_CAPABILITY = hexToBytes('80AA00000AA9088100820101830107');

const AT_APDU_LINE = /^\+(CGLA|CSIM):\s*(\d+)\s*,\s*"?([0-9A-Fa-f]*)"?\s*$/i;

/** Parse `+CGLA: <len>,"<hex>"` (space optional, either hex case, len in hex characters). */
export function parseApduResponseLine(line: string, name: 'CGLA' | 'CSIM'): Uint8Array | undefined {
  const m = AT_APDU_LINE.exec(line.trim());
  if (!m || m[1]!.toUpperCase() !== name) return undefined;
  const len = Number(m[2]);
  const hex = m[3] as string;
  if (hex.length % 2 !== 0 || hex.length < 4 || len !== hex.length) return undefined;
  return hexToBytes(hex);
}

/** Parse a +CCHO answer: `+CCHO: 1`, `+CCHO:1`, a bare `1` (Fibocom) or an opaque handle (Sierra). */
export function parseCchoLine(line: string): string | undefined {
  const m = /^(?:\+CCHO:\s*)?"?([0-9A-Fa-f]{1,32})"?$/i.exec(line.trim());
  return m ? m[1] : undefined;
}

/** The card channel a session id stands for: numbers 1..19; anything else is an opaque handle. */
export function cardChannelOfSession(id: string): number | undefined {
  if (!/^\d{1,2}$/.test(id)) return undefined;
  const n = Number(id);
  return n >= 1 && n <= MAX_LOGICAL_CHANNEL ? n : undefined;
}

function isSelectByAid(cmd: CommandApdu): boolean {
  return cmd.ins === 0xa4 && cmd.p1 === 0x04;
}

const sw = (v: number): Uint8Array => Uint8Array.of(v >> 8, v & 0xff);

// ---------------------------------------------------------------------------------------

/** The LPA-facing card: transmit() never throws, every failure becomes a status word. */
export class ModemSession {
  readonly report: ModemReport;
  private mode: ChannelMode;
  private readonly at: AtClient;
  private readonly opts: Required<Omit<ModemSessionOptions, 'onTrace' | 'allowAids' | 'mode' | 'probeTimeoutMs' | 'defects'>>;
  /** deliberate defects (defects.ts); inactive by default */
  private readonly defects: BridgeDefects;
  private readonly allowed: Set<string>;
  private readonly trace: (e: SessionTraceEvent) => void;
  private readonly channels = new Map<number, VirtualChannel>();
  /**
   * The LPA's last accepted TERMINAL CAPABILITY (ETSI TS 102 221 11.1.19: the terminal sends it
   * after each reset of the card, before other commands). Some modems refuse every +CSIM until
   * one was sent; after a reset the modem did behind the LPA's back (restart, REFRESH, card
   * swap) the LPA does not know it must send it again, so the bridge does, once, on the refusal.
   */
  private terminalCapability: Uint8Array = DEFAULT_TERMINAL_CAPABILITY;
  /** reader procedure: response data the LPA has yet to fetch with GET RESPONSE, per LPA channel */
  private readonly pending = new Map<number, { rest: Uint8Array; sw: number }>();
  private chain: Promise<unknown> = Promise.resolve();
  private readonly unsubscribe: () => void;

  private constructor(at: AtClient, report: ModemReport, options: ModemSessionOptions) {
    this.at = at;
    this.report = report;
    this.mode = report.detection.mode;
    this.trace = options.onTrace ?? (() => {});
    this.allowed = new Set((options.allowAids ?? DEFAULT_ALLOWED_AIDS).map((a) => a.toUpperCase()));
    this.opts = {
      allowAuthenticate: options.allowAuthenticate ?? false,
      maxLogicalChannels: options.maxLogicalChannels ?? 3,
      claChannelBits: options.claChannelBits ?? 'auto',
      t0: options.t0 ?? 'reader',
      extendedLength: options.extendedLength ?? false,
      getResponseClass: options.getResponseClass ?? 0x00,
      maxApduBytes: options.maxApduBytes ?? 261,
      maxLineLength: options.maxLineLength ?? 1024,
      cchoRetries: options.cchoRetries ?? 3,
      cchoRetryDelayMs: options.cchoRetryDelayMs ?? 250,
      apduRetries: options.apduRetries ?? 2,
      apduRetryDelayMs: options.apduRetryDelayMs ?? 50,
      apduTimeoutMs: options.apduTimeoutMs ?? 30_000,
    };
    this.defects = new BridgeDefects(options.defects ?? [], (name, detail) => this.decide(`defect:${name}`, detail));
    this.unsubscribe = at.onReboot((e) => this.modemLost(e));
  }

  /** Initialise the modem, read its identity and detect the channel commands. */
  static async start(at: AtClient, options: ModemSessionOptions = {}): Promise<ModemSession> {
    validateOptions(options);
    await at.init();
    const identity = await readIdentity(at, options.apduTimeoutMs);
    const detection = await detect(at, options, identity);
    const report: ModemReport = { identity, detection };
    const session = new ModemSession(at, report, options);
    session.trace({ type: 'modem', event: 'detected', detail: `${identity.manufacturer ?? '?'} ${identity.model ?? '?'} ${identity.revision ?? '?'}: ${detection.reasons.join('; ')}` });
    return session;
  }

  /** Current mode (may change from 'ccho' to 'csim' when +CCHO turns out to be unsupported). */
  get channelMode(): ChannelMode {
    return this.mode;
  }

  /** Virtual channels the LPA has open: number -> 'open' | 'lost'. */
  openChannels(): Record<number, 'open' | 'lost'> {
    const out: Record<number, 'open' | 'lost'> = {};
    for (const [n, c] of this.channels) out[n] = c.state;
    return out;
  }

  /** One LPA APDU, one R-APDU. */
  transmit(capdu: Uint8Array): Promise<Uint8Array> {
    if (this.defects.active) return this.serial(async () => this.defects.rewriteAnswer(await this.handle(capdu)));
    return this.serial(() => this.handle(capdu));
  }

  /** Close every channel the LPA opened (vpcd reset / power off / LPA gone). */
  closeAllChannels(reason: string): Promise<void> {
    return this.serial(async () => {
      const list = [...this.channels.values()];
      this.channels.clear();
      this.pending.clear();
      if (list.length) this.decide('close-all', `${reason}: closing virtual channel(s) ${list.map((c) => c.vch).join(', ')}`);
      for (const c of list) await this.closeBackend(c, reason);
    });
  }

  /** Stop listening to the AT client (the client and port are closed by their owner). */
  dispose(): void {
    this.unsubscribe();
  }

  // ---- plumbing ------------------------------------------------------------------

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.chain.then(fn);
    this.chain = p.catch(() => undefined);
    return p;
  }

  private decide(what: string, detail: string, rule?: SwRuleId): void {
    if (rule) {
      const r = SW_RULES[rule];
      this.trace({ type: 'decision', what, detail, rule, sw: formatSw(r.sw) });
    } else this.trace({ type: 'decision', what, detail });
  }

  private answer(rule: SwRuleId, detail: string): Uint8Array {
    const r = SW_RULES[rule];
    this.decide('sw-mapping', `${detail} -> ${formatSw(r.sw)} (${swName(r.sw)})`, rule);
    return sw(r.sw);
  }

  private modemLost(e: AtRebootEvent): void {
    const affected = [...this.channels.values()].filter((c) => c.backend && c.state === 'open');
    if (e.certain) {
      for (const c of affected) {
        c.state = 'lost';
        c.backend = undefined;
        c.suspect = false;
      }
      if (affected.length)
        this.trace({ type: 'modem', event: 'channels-lost', detail: `${e.reason} (${e.detail}): virtual channel(s) ${affected.map((c) => c.vch).join(', ')} lost; APDUs on them answer 6881 until closed or re-selected` });
    } else {
      for (const c of affected) c.suspect = true;
      if (affected.length)
        this.trace({ type: 'modem', event: 'channels-lost', detail: `${e.reason} (${e.detail}): virtual channel(s) ${affected.map((c) => c.vch).join(', ')} suspect; lost at the first session error` });
    }
  }

  // ---- APDU dispatch ------------------------------------------------------------

  private async handle(capdu: Uint8Array): Promise<Uint8Array> {
    let cmd: CommandApdu;
    try {
      cmd = parseCommand(capdu);
    } catch (err) {
      if (err instanceof ApduFormatError) return this.answer('apdu-malformed', err.message);
      throw err;
    }
    const cla = decodeCla(cmd.cla);
    if (cla.kind === 'invalid') return this.answer('cla-invalid', 'CLA FF');
    const vch = cla.structured ? cla.channel : 0;
    const instead = this.defects.active ? this.defects.answerInstead(cmd) : undefined;
    if (instead) return instead;
    const buffered = this.fromPending(cmd, vch);
    if (buffered) return buffered;
    if (cmd.extended && this.opts.t0 === 'reader' && !this.opts.extendedLength) {
      return this.answer('extended-not-announced', `extended C-APDU (Lc ${cmd.data.length}${cmd.le !== undefined ? `, Ne ${cmd.le}` : ''}) on channel ${vch}; the ATR announces no extended Lc/Le`);
    }

    if ((cmd.ins === 0x88 || cmd.ins === 0x89) && !this.opts.allowAuthenticate) {
      return this.answer('authenticate-refused', `INS ${cmd.ins.toString(16).toUpperCase()} on channel ${vch} refused by policy`);
    }
    if (isSelectByAid(cmd)) {
      const aid = toUpperHex(cmd.data);
      if (!this.allowed.has(aid) && !this.defects.letThroughForeignAid(aid)) return this.answer('aid-not-allowed', `SELECT of AID '${aid}' on channel ${vch}: not in the allow-list`);
    }
    try {
      if (cmd.ins === 0x70 && cla.structured) return await this.manageChannel(cmd, vch);
      if (vch === 0) return await this.basicChannel(capdu);
      return await this.logicalChannel(cmd, capdu, vch);
    } catch (err) {
      return this.failure(err, vch);
    }
  }

  private async basicChannel(capdu: Uint8Array): Promise<Uint8Array> {
    if (!this.report.detection.csim) throw new SwDecision('basic-channel-unavailable', 'basic-channel APDU but the modem has no usable +CSIM');
    return this.sendApdu({ kind: 'csim', cardChannel: 0 }, capdu, 0);
  }

  private async logicalChannel(cmd: CommandApdu, capdu: Uint8Array, vch: number): Promise<Uint8Array> {
    const entry = this.channels.get(vch);
    if (!entry) throw new SwDecision('channel-not-open', `channel ${vch} is not open`);
    if (entry.state === 'lost') {
      if (!isSelectByAid(cmd)) throw new SwDecision('channel-lost', `channel ${vch} was lost in a modem restart; close it or SELECT again`);
      this.decide('reopen', `SELECT on lost channel ${vch}: opening a new modem session`);
      entry.state = 'open';
    }
    if (!entry.backend) {
      if (!isSelectByAid(cmd)) throw new SwDecision('no-application-selected', `channel ${vch} has no modem session yet (the bridge opens one on SELECT by AID)`);
      return this.openAndSelect(entry, cmd, capdu);
    }
    return this.sendApdu(entry.backend, capdu, vch, entry);
  }

  private async openAndSelect(entry: VirtualChannel, cmd: CommandApdu, capdu: Uint8Array): Promise<Uint8Array> {
    const aid = toUpperHex(cmd.data);
    if (this.mode === 'ccho') {
      const opened = await this.ccho(aid, entry.vch);
      if (opened) {
        entry.backend = opened;
        entry.suspect = false;
        this.decide(
          'ccho',
          `virtual channel ${entry.vch} -> modem session ${opened.handle} (${opened.cardChannel !== undefined ? `card channel ${opened.cardChannel}` : 'opaque handle, channel bits left to the modem'}); replaying the SELECT through +CGLA for the card's answer`,
        );
        return this.sendApdu(opened, capdu, entry.vch, entry);
      }
      // +CCHO is not there after all (probe was silent): fall back to MANAGE CHANNEL in +CSIM
      this.mode = 'csim';
      this.report.detection.mode = 'csim';
      this.report.detection.reasons.push('+CCHO refused at first use: switched to MANAGE CHANNEL inside +CSIM');
      this.trace({ type: 'modem', event: 'mode-fallback', detail: '+CCHO not supported: using MANAGE CHANNEL inside +CSIM' });
    }
    const cardChannel = await this.csimOpenChannel();
    entry.backend = { kind: 'csim', cardChannel };
    entry.suspect = false;
    this.decide('csim-open', `virtual channel ${entry.vch} -> card channel ${cardChannel} (MANAGE CHANNEL in +CSIM)`);
    return this.sendApdu(entry.backend, capdu, entry.vch, entry);
  }

  /** AT+CCHO with retries; undefined when +CCHO is unsupported and +CSIM can stand in. */
  private async ccho(aid: string, vch: number): Promise<Backend & { kind: 'ccho' } | undefined> {
    const line = `AT+CCHO="${aid}"`;
    const before = this.at.rebootCount;
    const r = await this.at.send(line, {
      timeoutMs: this.opts.apduTimeoutMs,
      retries: this.defects.retries(this.opts.cchoRetries),
      retryDelayMs: this.opts.cchoRetryDelayMs,
      retryOn: (f) => f.kind === 'error' || (f.kind === 'cme' && f.code === 14),
      complete: (l) => parseCchoLine(l) !== undefined,
    });
    if (r.final.kind === 'ok') {
      const handle = r.lines.map(parseCchoLine).find((h) => h !== undefined);
      if (handle === undefined || handle === '0') {
        // an OK without a session id may be a stray result code: the real answer may still come
        this.at.requestResync(`${line} answered OK without a session id`);
        throw new SwDecision('response-unparseable', `+CCHO answered ${JSON.stringify(r.lines)}`);
      }
      const forced = this.opts.claChannelBits;
      return { kind: 'ccho', handle, cardChannel: forced === 'clear' ? undefined : cardChannelOfSession(handle) };
    }
    const f = r.final;
    const code = f.kind === 'cme' ? f.code : undefined;
    if (f.kind === 'cme' && (code === 3 || code === 4) && this.report.detection.probes.ccho.result !== 'ok' && this.report.detection.csim) {
      this.decide('ccho-unsupported', `${line} on channel ${vch}: ${formatFinal(f)} and the +CCHO=? probe was ${this.report.detection.probes.ccho.result}`);
      return undefined;
    }
    if (this.at.rebootCount !== before) throw new SwDecision('channel-lost', `${line}: modem restarted meanwhile (${formatFinal(f)})`);
    if (f.kind === 'cme' && code === 13) throw new SwDecision('ccho-select-failed', `${line}: ${formatFinal(f)}`);
    if (f.kind === 'cme' && (code === 20 || code === 21 || code === 23)) throw new SwDecision('ccho-no-channel', `${line}: ${formatFinal(f)}`);
    if (f.kind === 'cme' && (code === 3 || code === 4)) throw new SwDecision('ccho-refused', `${line}: ${formatFinal(f)}`);
    throw new AtApduFailure('ccho', f, false);
  }

  /** MANAGE CHANNEL open inside +CSIM; the card's channel number. */
  private async csimOpenChannel(): Promise<number> {
    const r = await this.atApdu({ kind: 'csim', cardChannel: 0 }, Uint8Array.of(0x00, 0x70, 0x00, 0x00, 0x01));
    if (r.length === 3 && responseSw(r) === 0x9000 && r[0]! >= 1 && r[0]! <= MAX_LOGICAL_CHANNEL) return r[0]!;
    throw new CardAnswer(r, `MANAGE CHANNEL open in +CSIM answered ${toUpperHex(r)}`);
  }

  private async manageChannel(cmd: CommandApdu, vch: number): Promise<Uint8Array> {
    if (cmd.p1 === 0x00) {
      const requested = cmd.p2;
      if (requested > MAX_LOGICAL_CHANNEL || (requested !== 0 && this.channels.has(requested))) {
        throw new SwDecision('no-free-channel', `MANAGE CHANNEL open of channel ${requested}: in use or out of range`);
      }
      if (this.channels.size >= this.opts.maxLogicalChannels) {
        throw new SwDecision('no-free-channel', `MANAGE CHANNEL open: all ${this.opts.maxLogicalChannels} virtual channels in use`);
      }
      const cardChannel = this.mode === 'csim' ? await this.csimOpenChannel() : undefined;
      const backend: Backend | undefined = cardChannel !== undefined ? { kind: 'csim', cardChannel } : undefined;
      let n = requested;
      if (n === 0 && cardChannel !== undefined && !this.channels.has(cardChannel)) n = cardChannel;
      for (let c = 1; n === 0 && c <= MAX_LOGICAL_CHANNEL; c++) if (!this.channels.has(c)) n = c;
      this.channels.set(n, { vch: n, state: 'open', backend, suspect: false });
      this.decide(
        'manage-channel-open',
        cardChannel !== undefined ? `virtual channel ${n} -> card channel ${cardChannel} (MANAGE CHANNEL in +CSIM)` : `virtual channel ${n} allocated; modem session opened at SELECT by AID`,
      );
      return requested !== 0 ? sw(0x9000) : Uint8Array.of(n, 0x90, 0x00);
    }
    if (cmd.p1 === 0x80) {
      const target = cmd.p2 !== 0 ? cmd.p2 : vch;
      if (target === 0) throw new SwDecision('manage-channel-params', 'MANAGE CHANNEL close of the basic channel');
      const entry = this.channels.get(target);
      if (!entry) throw new SwDecision('channel-not-open', `MANAGE CHANNEL close of channel ${target}: not open`);
      this.channels.delete(target);
      this.pending.delete(target);
      await this.closeBackend(entry, 'MANAGE CHANNEL close');
      return sw(0x9000);
    }
    throw new SwDecision('manage-channel-params', `MANAGE CHANNEL P1=${cmd.p1.toString(16).padStart(2, '0')}`);
  }

  /** Release the modem side of a virtual channel; failures are logged, the channel is gone either way. */
  private async closeBackend(entry: VirtualChannel, reason: string): Promise<void> {
    const b = entry.backend;
    entry.backend = undefined;
    if (b && this.defects.active && this.defects.leakChannel(`virtual channel ${entry.vch} closed (${reason})`)) return;
    if (!b) {
      this.decide('close', `virtual channel ${entry.vch} closed (${reason}); ${entry.state === 'lost' ? 'lost in a restart' : 'never bound'}: no AT`);
      return;
    }
    try {
      if (b.kind === 'ccho') {
        const r = await this.at.send(`AT+CCHC=${b.handle}`, { timeoutMs: this.opts.apduTimeoutMs, retries: 1, retryDelayMs: this.opts.apduRetryDelayMs });
        this.decide('close', `virtual channel ${entry.vch} (session ${b.handle}) closed (${reason}): +CCHC ${formatFinal(r.final)}${r.final.kind === 'ok' ? '' : ' (ignored: the channel is released for the LPA)'}`);
      } else {
        const r = await this.atApdu({ kind: 'csim', cardChannel: 0 }, Uint8Array.of(0x00, 0x70, 0x80, b.cardChannel, 0x00));
        this.decide('close', `virtual channel ${entry.vch} (card channel ${b.cardChannel}) closed (${reason}): card answered ${toUpperHex(r)}`);
      }
    } catch (err) {
      this.decide('close', `virtual channel ${entry.vch} closed (${reason}); closing its modem side failed: ${(err as Error).message}`);
    }
  }

  // ---- APDU transport -------------------------------------------------------------

  /** One LPA APDU through a backend, with the CLA rewritten and the T=0 procedure run. */
  private async sendApdu(backend: Backend, capdu: Uint8Array, vch: number, entry?: VirtualChannel): Promise<Uint8Array> {
    const remapped = this.cardCla(capdu[0]!, backend);
    const cardCla = this.defects.active ? this.defects.cardCla(capdu[0]!, remapped) : remapped;
    const cardCapdu = Uint8Array.from(capdu);
    cardCapdu[0] = cardCla;
    if (cardCla !== capdu[0]) {
      this.decide('cla', `channel ${vch}: CLA ${hex2(capdu[0]!)} -> ${hex2(cardCla)} (${backend.kind === 'ccho' ? (backend.cardChannel !== undefined ? `card channel ${backend.cardChannel}` : 'channel bits cleared for an opaque handle') : `card channel ${backend.cardChannel}`})`);
    }
    const procedure = this.procedureFor(cardCapdu);
    const send = async (c: Uint8Array): Promise<Uint8Array> => {
      const r = await this.atApdu(backend, c, entry);
      const s = responseSw(r);
      if (procedure === 'join' && (s >> 8 === 0x61 || s >> 8 === 0x6c)) this.decide('t0', `channel ${vch}: ${formatSw(s)} -> ${s >> 8 === 0x61 ? 'GET RESPONSE' : 'resend with Le'} by the bridge`);
      return r;
    };
    const usual = (c: Uint8Array): Promise<Uint8Array> => {
      if (procedure === 'join') return this.joined(send, c, vch);
      if (procedure === 'pass') return send(c);
      return this.asReader(send, c, vch);
    };
    if (this.defects.active) return this.defects.transmit(cardCapdu, { raw: (c) => this.atApdu(backend, c, entry), usual });
    return usual(cardCapdu);
  }

  /** The procedure for one command: extended ones are joined (both ends announced them); the oversized-response defect joins short ones too. */
  private procedureFor(capdu: Uint8Array): LpaT0Procedure {
    if (this.opts.t0 !== 'reader') return this.opts.t0;
    if (isExtendedCommand(capdu)) return 'join';
    if (this.defects.active && this.defects.has('oversized-response')) return 'join';
    return 'reader';
  }

  private async joined(send: (c: Uint8Array) => Promise<Uint8Array>, capdu: Uint8Array, vch: number): Promise<Uint8Array> {
    const r = await transmitWithT0Procedure(send, capdu, { getResponseClass: this.opts.getResponseClass });
    if (this.opts.t0 === 'reader' && r.length - 2 > SHORT_NE_MAX && !isExtendedCommand(capdu)) this.defects.oversizedAnswer(vch, r.length - 2);
    return r;
  }

  /**
   * T=0 reader towards the LPA: 6Cxx re-sent here with Le = SW2 (ISO/IEC 7816-3 12.2.2);
   * at most 256 data bytes per answer, the rest kept for the LPA's GET RESPONSE and
   * announced with 61xx (xx = what is left, 00 for 256 or more).
   */
  private async asReader(send: (c: Uint8Array) => Promise<Uint8Array>, capdu: Uint8Array, vch: number): Promise<Uint8Array> {
    let command = capdu;
    let r = await send(command);
    for (let resends = 0; responseSw(r) >> 8 === 0x6c && resends < MAX_WRONG_LE_RESENDS; resends++) {
      const le = responseSw(r) & 0xff || SHORT_NE_MAX;
      this.decide('t0', `channel ${vch}: ${formatSw(responseSw(r))} -> resent with Le ${le} by the bridge (T=0 transport layer)`);
      command = withLe(command, le);
      r = await send(command);
    }
    const data = responseData(r);
    if (data.length <= SHORT_NE_MAX) return r;
    const sw = responseSw(r);
    const rest = data.slice(SHORT_NE_MAX);
    this.pending.set(vch, { rest, sw });
    this.decide('t0-reader', `channel ${vch}: the modem handed over ${data.length} data bytes + ${formatSw(sw)} for a short command; the LPA gets ${SHORT_NE_MAX} + ${formatSw(moreData(rest.length))}, ${rest.length} kept for its GET RESPONSE`);
    return buildResponse(data.subarray(0, SHORT_NE_MAX), moreData(rest.length));
  }

  /**
   * The LPA's GET RESPONSE for data the bridge keeps (reader procedure), answered as a card
   * would (Le over what is left: 6Cxx); any other command on the channel drops the data.
   */
  private fromPending(cmd: CommandApdu, vch: number): Uint8Array | undefined {
    const p = this.pending.get(vch);
    if (!p) return undefined;
    if (cmd.ins !== INS_GET_RESPONSE || cmd.p1 !== 0 || cmd.p2 !== 0 || cmd.case !== 2 || cmd.extended) {
      this.pending.delete(vch);
      this.decide('t0-reader', `channel ${vch}: ${hex2(cmd.ins)} instead of GET RESPONSE; ${p.rest.length} kept bytes dropped (as a card discards them)`);
      return undefined;
    }
    const le = cmd.le ?? SHORT_NE_MAX;
    if (le > p.rest.length) {
      this.decide('t0-reader', `channel ${vch}: GET RESPONSE Le ${le} for ${p.rest.length} kept bytes -> 6C${hex2(p.rest.length & 0xff)}`);
      return sw(0x6c00 | (p.rest.length & 0xff));
    }
    const piece = p.rest.subarray(0, le);
    const rest = p.rest.slice(le);
    if (rest.length === 0) {
      this.pending.delete(vch);
      this.decide('t0-reader', `channel ${vch}: GET RESPONSE served ${le} kept bytes, the last, with the card's ${formatSw(p.sw)}`);
      return buildResponse(piece, p.sw);
    }
    p.rest = rest;
    this.decide('t0-reader', `channel ${vch}: GET RESPONSE served ${le} kept bytes, ${rest.length} left`);
    return buildResponse(piece, moreData(rest.length));
  }

  private cardCla(cla: number, backend: Backend): number {
    const info = decodeCla(cla);
    if (!info.structured) return cla;
    const target = backend.kind === 'csim' ? backend.cardChannel : (backend.cardChannel ?? 0);
    try {
      return withChannel(cla, target);
    } catch (err) {
      if (err instanceof ClaError) return cla;
      throw err;
    }
  }

  /** Exactly one AT command for one APDU (plus retries of the same line). */
  private async atApdu(backend: Backend, c: Uint8Array, entry?: VirtualChannel): Promise<Uint8Array> {
    if (c.length > this.opts.maxApduBytes) throw new SwDecision('apdu-too-long', `APDU of ${c.length} bytes exceeds the modem's ${this.opts.maxApduBytes}; not split`);
    const isTerminalCapability = (c[0]! & 0xfc) === 0x80 && c[1] === 0xaa;
    let r: Uint8Array;
    try {
      r = await this.atApduLine(backend, c, entry);
    } catch (err) {
      if (!(err instanceof AtApduFailure) || err.op !== 'csim' || err.final.kind !== 'error' || isTerminalCapability) throw err;
      if (!(await this.sendTerminalCapability(err))) throw err;
      r = await this.atApduLine(backend, c, entry);
    }
    if (isTerminalCapability && responseSw(r) === 0x9000) this.terminalCapability = Uint8Array.from(c);
    return r;
  }

  /** +CSIM refused with a bare ERROR: TERMINAL CAPABILITY first (the LPA's last one, or the bridge's), true when the card took it. */
  private async sendTerminalCapability(refusal: AtApduFailure): Promise<boolean> {
    try {
      const r = await this.atApduLine({ kind: 'csim', cardChannel: 0 }, this.terminalCapability);
      const ok = responseSw(r) === 0x9000;
      this.decide('terminal-capability', `+CSIM answered ${formatFinal(refusal.final)}: TERMINAL CAPABILITY ${toUpperHex(this.terminalCapability)} sent (${formatSw(responseSw(r))})${ok ? ', the command sent again' : ''}`);
      return ok;
    } catch (err) {
      this.decide('terminal-capability', `+CSIM answered ${formatFinal(refusal.final)}: TERMINAL CAPABILITY failed too (${(err as Error).message})`);
      return false;
    }
  }

  private async atApduLine(backend: Backend, c: Uint8Array, entry?: VirtualChannel): Promise<Uint8Array> {
    const hex = toUpperHex(c);
    const name = backend.kind === 'ccho' ? 'CGLA' : 'CSIM';
    const line = backend.kind === 'ccho' ? `AT+CGLA=${backend.handle},${hex.length},"${hex}"` : `AT+CSIM=${hex.length},"${hex}"`;
    if (line.length > this.opts.maxLineLength) throw new SwDecision('apdu-too-long', `command line of ${line.length} characters exceeds ${this.opts.maxLineLength}; APDU of ${c.length} bytes not split`);
    const before = this.at.rebootCount;
    const r = await this.at.send(line, {
      timeoutMs: this.opts.apduTimeoutMs,
      retries: this.defects.retries(this.opts.apduRetries),
      retryDelayMs: this.opts.apduRetryDelayMs,
      complete: (l) => parseApduResponseLine(l, name) !== undefined,
    });
    if (r.final.kind === 'error' && this.defects.active) this.defects.noteNoRetry(line);
    if (r.final.kind !== 'ok') throw new AtApduFailure(backend.kind === 'ccho' ? 'cgla' : 'csim', r.final, this.at.rebootCount !== before || entry?.state === 'lost');
    let data = r.lines.map((l) => parseApduResponseLine(l, name)).find((d) => d !== undefined);
    if (this.defects.active) {
      const careful = r.lines.find((l) => parseApduResponseLine(l, name) !== undefined);
      const read = this.defects.answerLine(r.lines, careful);
      data = read === undefined ? undefined : parseApduResponseLine(read, name);
      if (data) data = this.defects.truncateAnswer(data);
    }
    if (!data) {
      // an OK without a +CGLA/+CSIM line may be a stray result code: the real answer may still come
      this.at.requestResync(`${line.slice(0, 24)}... answered OK without a +${name} response`);
      throw new SwDecision('response-unparseable', `${line.slice(0, 24)}... answered ${JSON.stringify(r.lines)}`);
    }
    if (entry) entry.suspect = false;
    return data;
  }

  // ---- failures -------------------------------------------------------------------

  private failure(err: unknown, vch: number): Uint8Array {
    const entry = vch !== 0 ? this.channels.get(vch) : undefined;
    if (err instanceof CardAnswer) {
      this.decide('card-answer', err.message);
      return err.rapdu;
    }
    if (err instanceof SwDecision) {
      if ((err.rule === 'channel-lost' || err.rule === 'cme-unknown-session') && entry) this.lose(entry);
      return this.answer(err.rule, err.detail);
    }
    if (err instanceof AtApduFailure) {
      const f = err.final;
      const code = f.kind === 'cme' ? f.code : undefined;
      if (entry && (err.rebooted || entry.state === 'lost')) {
        this.lose(entry);
        return this.answer('channel-lost', `${err.message} after a modem restart`);
      }
      if (err.op === 'cgla' && f.kind === 'cme' && (code === 21 || code === 50)) {
        if (entry) this.lose(entry);
        return this.answer('cme-unknown-session', err.message);
      }
      if (err.op === 'cgla' && f.kind === 'error' && entry?.suspect) {
        this.lose(entry);
        return this.answer('channel-lost', `${err.message} on a channel suspect since the modem went silent`);
      }
      if (f.kind === 'error') return this.answer('bare-error', err.message);
      const instead = f.kind === 'cme' && this.defects.active ? this.defects.cmeErrorAnswer(formatFinal(f)) : undefined;
      if (instead) return instead;
      if (f.kind === 'cme' && code === 3) return this.answer('cme-not-allowed', err.message);
      if (f.kind === 'cme' && code === 4) return this.answer('cme-not-supported', err.message);
      if (f.kind === 'cme' && code === 10) return this.answer('cme-no-sim', err.message);
      if (f.kind === 'cme' && code === 13) return this.answer('cme-sim-failure', err.message);
      if (f.kind === 'cme' && code === 14) return this.answer('cme-sim-busy', err.message);
      return this.answer('cme-other', err.message);
    }
    if (err instanceof AtTimeoutError) return this.answer('at-timeout', err.message);
    if (err instanceof AtClosedError || err instanceof AtPortError) return this.answer('modem-unavailable', err.message);
    if (err instanceof T0ProcedureError) return this.answer('t0-procedure-failed', err.message);
    return this.answer('cme-other', `unexpected ${(err as Error).name ?? 'error'}: ${(err as Error).message ?? String(err)}`);
  }

  private lose(entry: VirtualChannel): void {
    if (this.channels.get(entry.vch) !== entry) return;
    entry.state = 'lost';
    entry.backend = undefined;
    entry.suspect = false;
  }
}

/** A card status word returned to the LPA as is (e.g. MANAGE CHANNEL refused by the card). */
class CardAnswer extends Error {
  override readonly name = 'CardAnswer';
  constructor(
    readonly rapdu: Uint8Array,
    message: string,
  ) {
    super(message);
  }
}

function hex2(b: number): string {
  return b.toString(16).toUpperCase().padStart(2, '0');
}

function isExtendedCommand(capdu: Uint8Array): boolean {
  try {
    return parseCommand(capdu).extended;
  } catch (err) {
    if (err instanceof ApduFormatError) return false;
    throw err;
  }
}

/** a 6Cxx loop longer than this is the card's problem: its last answer goes to the LPA */
const MAX_WRONG_LE_RESENDS = 8;

/** 61xx for `remaining` bytes (61 00: 256 or more). */
function moreData(remaining: number): number {
  return 0x6100 | (remaining >= SHORT_NE_MAX ? 0 : remaining);
}

function validateOptions(o: ModemSessionOptions): void {
  for (const aid of o.allowAids ?? []) {
    if (!/^([0-9A-Fa-f]{2}){5,16}$/.test(aid)) throw new SessionConfigError(`allowed AID '${aid}' must be 5 to 16 bytes of hex`);
  }
  const m = o.maxLogicalChannels;
  if (m !== undefined && (!Number.isInteger(m) || m < 1 || m > MAX_LOGICAL_CHANNEL)) throw new SessionConfigError(`maxLogicalChannels must be 1..${MAX_LOGICAL_CHANNEL}, got ${m}`);
  const a = o.maxApduBytes;
  if (a !== undefined && (!Number.isInteger(a) || a < 5 || a > 65544)) throw new SessionConfigError(`maxApduBytes must be 5..65544, got ${a}`);
  if (o.t0 !== undefined && !LPA_T0_PROCEDURES.includes(o.t0)) throw new SessionConfigError(`t0 must be one of ${LPA_T0_PROCEDURES.join(', ')}, got ${String(o.t0)}`);
  const g = o.getResponseClass;
  if (g !== undefined && ![0x00, 0x80].includes(g)) throw new SessionConfigError(`getResponseClass must be 0x00 or 0x80, got ${g}`);
  for (const d of o.defects ?? []) {
    if (!(DEFECT_NAMES as readonly string[]).includes(d)) throw new SessionConfigError(`unknown defect '${d}'; known: ${DEFECT_NAMES.join(', ')}`);
  }
}

// ---------------------------------------------------------------------------------------
// Start-up: identity and detection

function stripPrefix(line: string | undefined, prefix: string): string | undefined {
  if (line === undefined) return undefined;
  const re = new RegExp(`^\\${prefix}:\\s*`, 'i');
  return line.replace(re, '').trim() || undefined;
}

/** Lines of an OK answer; undefined for an error or silence (identity is informative only). */
async function optionalLines(at: AtClient, line: string, timeoutMs: number | undefined): Promise<string[] | undefined> {
  try {
    const r = await at.send(line, { timeoutMs });
    return r.final.kind === 'ok' ? r.lines : undefined;
  } catch (err) {
    if (err instanceof AtTimeoutError) return undefined;
    throw err;
  }
}

async function readIdentity(at: AtClient, timeoutMs: number | undefined): Promise<ModemIdentity> {
  const ati = (await optionalLines(at, 'ATI', timeoutMs)) ?? [];
  const manufacturer = stripPrefix((await optionalLines(at, 'AT+CGMI', timeoutMs))?.[0], '+CGMI');
  const model = stripPrefix((await optionalLines(at, 'AT+CGMM', timeoutMs))?.[0], '+CGMM');
  const revision = stripPrefix((await optionalLines(at, 'AT+CGMR', timeoutMs))?.[0], '+CGMR');
  const vendor = `${manufacturer ?? ''} ${ati.join(' ')}`;
  let vendorCommand: string | undefined;
  if (/quectel/i.test(vendor)) vendorCommand = 'AT+QGMR';
  else if (/fibocom/i.test(vendor)) vendorCommand = 'AT+GTPKGVER?';
  else if (/simcom/i.test(vendor)) vendorCommand = 'AT+SIMCOMATI';
  let vendorRevision: string | undefined;
  if (vendorCommand) {
    const lines = await optionalLines(at, vendorCommand, timeoutMs);
    if (lines && lines.length) {
      const rev = lines.find((l) => /^Revision:/i.test(l));
      vendorRevision = rev ? rev.replace(/^Revision:\s*/i, '') : lines.map((l) => l.replace(/^\+[A-Z]+:\s*/i, '').replace(/^"|"$/g, '')).join(' ');
    }
  }
  return { ati, manufacturer, model, revision, vendorRevision };
}

async function probe(at: AtClient, command: string, timeoutMs: number | undefined): Promise<ProbeOutcome> {
  try {
    const r = await at.send(`AT${command}=?`, { timeoutMs: timeoutMs ?? at.probeTimeoutMs });
    return r.final.kind === 'ok' ? { result: 'ok' } : { result: 'error', final: formatFinal(r.final) };
  } catch (err) {
    if (err instanceof AtTimeoutError) return { result: 'silent' };
    throw err;
  }
}

async function detect(at: AtClient, options: ModemSessionOptions, identity: ModemIdentity): Promise<ModemDetection> {
  const t = options.probeTimeoutMs;
  const ccho = await probe(at, '+CCHO', t);
  // a modem that ignores +CCHO=? ignores the test commands of its logical-channel family
  // too (Fibocom): waiting out two more silences would only delay every bridge start.
  // +CSIM=? is still asked, as it decides whether the basic channel can be served.
  const family = ccho.result === 'silent' ? { cgla: ccho, cchc: ccho } : { cgla: await probe(at, '+CGLA', t), cchc: await probe(at, '+CCHC', t) };
  const probes: Record<ProbedCommand, ProbeOutcome> = { ccho, ...family, csim: await probe(at, '+CSIM', t) };
  const skipped = (c: ProbedCommand): boolean => ccho.result === 'silent' && (c === 'cgla' || c === 'cchc');
  // a silent probe leaves the client to resynchronise: do it now, not at the LPA's first APDU
  if (Object.values(probes).some((p) => p.result === 'silent')) await at.send('AT', { timeoutMs: at.probeTimeoutMs });
  const reasons: string[] = [];
  const desc = (c: ProbedCommand): string => {
    const p = probes[c];
    if (skipped(c)) return `AT+${c.toUpperCase()}=? not asked`;
    return `AT+${c.toUpperCase()}=? ${p.result === 'error' ? p.final : p.result === 'ok' ? 'OK' : 'no answer'}`;
  };
  reasons.push([desc('ccho'), desc('cgla'), desc('cchc'), desc('csim')].join(', '));
  const csim = probes.csim.result !== 'error';
  const cchoUsable = probes.ccho.result !== 'error';
  let mode: ChannelMode;
  if (options.mode === 'ccho' || options.mode === 'csim') {
    mode = options.mode;
    reasons.push(`mode forced to ${mode}`);
  } else if (cchoUsable) {
    mode = 'ccho';
    if (probes.ccho.result === 'silent') reasons.push('+CCHO=? is silent (Fibocom-like; its family is taken as silent too): assuming +CCHO/+CGLA, falling back to +CSIM if +CCHO is refused');
    if (probes.cgla.result === 'error') reasons.push('+CGLA=? errors but +CCHO=? does not (Sierra-like): +CGLA is used anyway');
    reasons.push('logical channels through +CCHO/+CGLA/+CCHC');
  } else if (csim) {
    mode = 'csim';
    reasons.push('no +CCHO: logical channels through MANAGE CHANNEL inside +CSIM');
  } else {
    const report: ModemReport = { identity, detection: { mode: 'csim', csim: false, probes, reasons } };
    throw new ModemUnsupportedError(`the modem offers neither +CCHO nor +CSIM (${reasons[0]})`, report);
  }
  reasons.push(csim ? 'basic channel through +CSIM' : 'no +CSIM: basic-channel APDUs are refused (6A81)');
  return { mode, csim, probes, reasons };
}
