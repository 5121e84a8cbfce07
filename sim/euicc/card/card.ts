// The card layer of the software eUICC: ISO/IEC 7816-4 command dispatch (5.4.1 CLA
// checks, 7.1.1 SELECT by DF name with partial matching, 7.1.2 MANAGE CHANNEL, 7.6.1
// GET RESPONSE), ETSI TS 102 221 logical channels (11.1.17: 3 extra channels, 19 with
// "extended logical channels" in TERMINAL CAPABILITY 11.1.19), STATUS (11.1.2) and the
// UICC file system, and GlobalPlatform applets (ISD-R, ECASD) behind SELECT by AID.
// It is an ApduTransport with fault injection for the conformance suites.
//
// The profile-change lifecycle (SGP.22 5.7.16-5.7.17 refreshFlag; ETSI TS 102 221
// 10.2.1.1 91xx, 11.1.13 TERMINAL RESPONSE, 11.1.14 FETCH; ETSI TS 102 223 6.4.7
// REFRESH): with profileChange.proactiveRefresh an Enable/Disable with refreshFlag leaves
// a REFRESH 'eUICC Profile State Change' (qualifier 09) pending: every 9000 is answered
// 91xx until the terminal FETCHes it, and the proactive session lasts until its TERMINAL
// RESPONSE (EnableProfile then answers catBusy, es10c.ts). With
// profileChange.es10BlockedUntilReset, STORE DATA to the ISD-R answers 6985 from the
// change until the card is reset. Channels opened before stay as they were (stale).

// Status words chosen where the specs leave room (see also store-data.ts, filesystem.ts):
// - CLA FF, RFU 2X/3X, proprietary AX/BX, or a known INS in the wrong class -> 6E00
// - secure messaging bits -> 6882; command chaining bit -> 6884; channel not open -> 6881
// - extended length APDU on a card without extended length support -> 6700
// - MANAGE CHANNEL: no free channel -> 6881 (configurable: Java Card answers 6A81);
//   open P2 > 19 or already open -> 6A86; open P2=00 with Le other than 01 -> 6C01;
//   close basic channel -> 6A86; close a channel that is not open -> 6881; P1 other than 00/80 -> 6A86
// - STORE DATA (or any INS) to a channel whose selection does not implement it, e.g. the
//   MF/USIM when no ISD-R is selected -> 6D00 (the command goes to the selected application)
// - GET RESPONSE with nothing pending -> 6985; Le > pending -> 6Cxx (pending kept)
// - SELECT by AID not found -> 6A82 (selection unchanged); AID longer than 16 -> 6A80
// - an applet throwing anything but StatusWordError -> 6F00, recorded in internalErrors
// - FETCH with no proactive command pending, TERMINAL RESPONSE outside a proactive
//   session -> 6985; FETCH with Le other than the command's length (or 00) -> 6Cxx
import {
  type ApduTransport,
  buildResponse,
  bytesRemainingSw,
  type CommandApdu,
  parseCommand,
  ApduFormatError,
  SW,
  StatusWordError,
} from '../../apdu/apdu.ts';
import { type ClaInfo, decodeCla, MAX_LOGICAL_CHANNEL } from '../../apdu/channels.ts';
import { INS_GET_RESPONSE } from '../../apdu/t0.ts';
import { tlv } from '../../apdu/tlv.ts';
import { type Applet, type ChannelContext, ISD_R_AID } from './applet.ts';
import { type AtrOptions, buildAtr } from '../../apdu/atr.ts';
import {
  aidMatches,
  type CardProfileView,
  type FsCursor,
  INITIAL_CURSOR,
  leIsMaximum,
  responseLength,
  type ShortLeZero,
  UiccFileSystem,
} from './filesystem.ts';
import { INS_TERMINAL_CAPABILITY, parseTerminalCapability, type TerminalCapability } from './terminal-capability.ts';

export const INS_MANAGE_CHANNEL = 0x70;
export const INS_SELECT = 0xa4;
export const INS_STATUS = 0xf2;
export const INS_TERMINAL_PROFILE = 0x10;
export const INS_FETCH = 0x12;
export const INS_TERMINAL_RESPONSE = 0x14;
const INS_STORE_DATA = 0xe2;

/**
 * REFRESH proactive command (TS 102 223 6.6.13): command details 81 03 {number 01, type 01
 * REFRESH, qualifier 09 eUICC Profile State Change}, device identities 82 02 {UICC 81 ->
 * terminal 82}.
 */
export const REFRESH_PROFILE_STATE_CHANGE = Uint8Array.of(0xd0, 0x09, 0x81, 0x03, 0x01, 0x01, 0x09, 0x82, 0x02, 0x81, 0x82);

/** What the card does once the enabled profile changed (SGP.22 5.7.16-5.7.17); both off by default. */
export interface ProfileChangeOptions {
  /** an Enable/Disable with refreshFlag (or a memory reset of the enabled profile) raises a REFRESH proactive command */
  readonly proactiveRefresh?: boolean;
  /** from the change until the next reset, STORE DATA to the ISD-R answers 6985 */
  readonly es10BlockedUntilReset?: boolean;
}

/** Default EF.ICCID without an enabled profile: 89049032000000000011 (Luhn-valid). */
export const DEFAULT_EUICC_ICCID = Uint8Array.of(0x98, 0x40, 0x09, 0x23, 0x00, 0x00, 0x00, 0x00, 0x00, 0x11);

/**
 * How a case-4 command's response data is returned: 'direct' (default) returns up to Ne
 * bytes at once (61xx for the rest); 'get-response' always answers 61xx and serves the
 * data by GET RESPONSE, as a T=0 card does. A command with data but no Le (case 3, as
 * lpac sends the last STORE DATA block) always gets 61xx.
 */
export type Case4Response = 'direct' | 'get-response';

export interface BeforeCommandContext {
  /** copy of the C-APDU */
  readonly capdu: Uint8Array;
  /** 0-based number of this command since the card was created */
  readonly index: number;
}

export interface BeforeCommandAction {
  /** wait before processing */
  readonly delayMs?: number;
  /** answer this SW without processing the command (card state unchanged) */
  readonly sw?: number;
  /** answer these bytes (a whole R-APDU) without processing */
  readonly response?: Uint8Array;
  /** the card is pulled out now: this transmit rejects with CardRemovedError */
  readonly remove?: boolean;
  /** the card never answers: the transmit settles only on reset (CardInterruptedError), power-off or removal */
  readonly hang?: boolean;
}

export type BeforeCommandHook = (ctx: BeforeCommandContext) => BeforeCommandAction | void | Promise<BeforeCommandAction | void>;

export interface AfterCommandContext extends BeforeCommandContext {
  readonly rapdu: Uint8Array;
}

/** Return bytes to replace the R-APDU (e.g. corrupt it), nothing to keep it. */
export type AfterCommandHook = (ctx: AfterCommandContext) => Uint8Array | void | Promise<Uint8Array | void>;

export interface CardOptions {
  /** the ATR, or options to build it (default: T=0 and T=1) */
  readonly atr?: Uint8Array | AtrOptions;
  /** applets in SELECT-by-AID matching order (ISD-R first, like a real eUICC) */
  readonly applets?: readonly Applet[];
  /** the enabled profile's files; undefined = no enabled profile */
  readonly profileView?: () => CardProfileView | undefined;
  /** EF.ICCID when no profile is enabled (default DEFAULT_EUICC_ICCID) */
  readonly euiccIccid?: Uint8Array;
  readonly case4Response?: Case4Response;
  /** short Le 00 for fixed-length data: 'maximum' (default, ISO 7816-4) or 'exact-256' (T=0: 6Cxx unless 256 available) */
  readonly shortLeZero?: ShortLeZero;
  /** accept extended-length APDUs (default false: 6700, like most eUICCs) */
  readonly extendedLength?: boolean;
  /** extra logical channels without TERMINAL CAPABILITY (default 3) */
  readonly logicalChannels?: number;
  /** open channels 4-19 once the terminal indicates extended logical channels (default true) */
  readonly extendedLogicalChannels?: boolean;
  /** SW when no logical channel is free (default 6881) */
  readonly channelsExhaustedSw?: number;
  /** accept GET RESPONSE in class '8X' as lpac sends it (default true) */
  readonly acceptProprietaryGetResponse?: boolean;
  /** an applet bug: answer 6F00 and record it (default), or reject the transmit with the error */
  readonly internalErrorPolicy?: 'sw6f00' | 'throw';
  readonly beforeCommand?: BeforeCommandHook;
  readonly afterCommand?: AfterCommandHook;
  /** the profile-change lifecycle (REFRESH, 6985 until reset); default: neither */
  readonly profileChange?: ProfileChangeOptions;
}

export class CardUnavailableError extends Error {
  override readonly name: string = 'CardUnavailableError';
}

/** The card is not in the reader. */
export class CardRemovedError extends CardUnavailableError {
  override readonly name = 'CardRemovedError';
  constructor(message = 'card removed') {
    super(message);
  }
}

/** The card is not powered (closed / powerOff); reset() powers it. */
export class CardPoweredOffError extends CardUnavailableError {
  override readonly name = 'CardPoweredOffError';
  constructor(message = 'card not powered') {
    super(message);
  }
}

/** The card was reset while a command was being processed: that command has no answer. */
export class CardInterruptedError extends CardUnavailableError {
  override readonly name = 'CardInterruptedError';
  constructor(message = 'card reset during the command') {
    super(message);
  }
}

interface ChannelState {
  applet?: Applet;
  /** FCI the applet returned when selected (for STATUS) */
  appletFci?: Uint8Array;
  fs: FsCursor;
  /** response data waiting for GET RESPONSE */
  pending?: Uint8Array;
}

interface Outcome {
  readonly data: Uint8Array;
  readonly sw: number;
  /** data already fitted to Le: send as is */
  readonly shaped?: boolean;
}

const EMPTY = new Uint8Array(0);
const swOnly = (sw: number): Uint8Array => buildResponse(EMPTY, sw);
const ok = (data: Uint8Array = EMPTY): Outcome => ({ data, sw: SW.OK });

type ClassRule = 'interindustry' | 'proprietary';
const CARD_COMMANDS: ReadonlyMap<number, ClassRule> = new Map<number, ClassRule>([
  [INS_MANAGE_CHANNEL, 'interindustry'],
  [INS_SELECT, 'interindustry'],
  [INS_GET_RESPONSE, 'interindustry'],
  [INS_STATUS, 'proprietary'],
  [INS_TERMINAL_CAPABILITY, 'proprietary'],
  [INS_TERMINAL_PROFILE, 'proprietary'],
  [INS_FETCH, 'proprietary'],
  [INS_TERMINAL_RESPONSE, 'proprietary'],
]);
const FS_INS = new Set([0xb0, 0xb2, 0xd6, 0xdc]);

export class Card implements ApduTransport {
  /** enabled profile's files; settable after construction (the ISD-R is built around the card) */
  profileView: (() => CardProfileView | undefined) | undefined;
  beforeCommand: BeforeCommandHook | undefined;
  afterCommand: AfterCommandHook | undefined;
  /** errors thrown by applets/hooks that were answered with 6F00 */
  readonly internalErrors: unknown[] = [];

  private readonly applets: Applet[] = [];
  private readonly atrBytes: Uint8Array;
  private readonly fs: UiccFileSystem;
  private readonly opts: Required<Pick<CardOptions, 'case4Response' | 'shortLeZero' | 'extendedLength' | 'logicalChannels' | 'extendedLogicalChannels' | 'channelsExhaustedSw' | 'acceptProprietaryGetResponse' | 'internalErrorPolicy'>>;
  private channels = new Map<number, ChannelState>();
  private tc: TerminalCapability | undefined;
  private tp: Uint8Array | undefined;
  private present = true;
  private powered = true;
  private epoch = 0;
  private commandCount = 0;
  private readonly hung = new Set<(e: Error) => void>();
  private readonly profileChange: Required<ProfileChangeOptions>;
  /** proactive command waiting for FETCH */
  private proactiveCommand: Uint8Array | undefined;
  /** a proactive command was raised and its TERMINAL RESPONSE has not come */
  private proactiveSession = false;
  /** the enabled profile changed since the last reset (ES10 blocked when configured) */
  private profileChangedSinceReset = false;
  private queue: Promise<void> = Promise.resolve();

  constructor(options: CardOptions = {}) {
    this.atrBytes = options.atr instanceof Uint8Array ? options.atr.slice() : buildAtr(options.atr ?? {});
    this.profileView = options.profileView;
    this.profileChange = { proactiveRefresh: options.profileChange?.proactiveRefresh ?? false, es10BlockedUntilReset: options.profileChange?.es10BlockedUntilReset ?? false };
    this.beforeCommand = options.beforeCommand;
    this.afterCommand = options.afterCommand;
    this.opts = {
      case4Response: options.case4Response ?? 'direct',
      shortLeZero: options.shortLeZero ?? 'maximum',
      extendedLength: options.extendedLength ?? false,
      logicalChannels: options.logicalChannels ?? 3,
      extendedLogicalChannels: options.extendedLogicalChannels ?? true,
      channelsExhaustedSw: options.channelsExhaustedSw ?? SW.LOGICAL_CHANNEL_NOT_SUPPORTED,
      acceptProprietaryGetResponse: options.acceptProprietaryGetResponse ?? true,
      internalErrorPolicy: options.internalErrorPolicy ?? 'sw6f00',
    };
    if (this.opts.logicalChannels < 0 || this.opts.logicalChannels > MAX_LOGICAL_CHANNEL) throw new RangeError(`logicalChannels must be 0..${MAX_LOGICAL_CHANNEL}`);
    this.fs = new UiccFileSystem(() => this.profileView?.(), { euiccIccid: options.euiccIccid ?? DEFAULT_EUICC_ICCID, shortLeZero: this.opts.shortLeZero });
    for (const a of options.applets ?? []) this.registerApplet(a);
    this.clearVolatileState();
  }

  // -------------------------------------------------------------------------
  // Inspection and lifecycle

  atr(): Uint8Array {
    return this.atrBytes.slice();
  }

  get isPresent(): boolean {
    return this.present;
  }

  get isPowered(): boolean {
    return this.powered;
  }

  get terminalCapability(): TerminalCapability | undefined {
    return this.tc;
  }

  /** data of the last TERMINAL PROFILE since reset */
  get terminalProfile(): Uint8Array | undefined {
    return this.tp;
  }

  /** a proactive session is open: a command raised (91xx) whose TERMINAL RESPONSE has not come */
  get proactiveSessionPending(): boolean {
    return this.proactiveSession;
  }

  /** the proactive command waiting for FETCH, if any */
  get pendingProactiveCommand(): Uint8Array | undefined {
    return this.proactiveCommand?.slice();
  }

  /** the enabled profile changed since the last reset */
  get profileChangePending(): boolean {
    return this.profileChangedSinceReset;
  }

  /**
   * The ISD-R changed the enabled profile (the eUICC's events call this). refresh: the LPA
   * asked for a REFRESH (refreshFlag): raised when profileChange.proactiveRefresh is set.
   */
  profileStateChanged(change: { refresh: boolean }): void {
    this.profileChangedSinceReset = true;
    if (change.refresh && this.profileChange.proactiveRefresh && !this.proactiveCommand) {
      this.proactiveCommand = REFRESH_PROFILE_STATE_CHANGE.slice();
      this.proactiveSession = true;
    }
  }

  /** highest logical channel number that may be opened now */
  get maxLogicalChannel(): number {
    return this.tc?.extendedLogicalChannels && this.opts.extendedLogicalChannels ? MAX_LOGICAL_CHANNEL : this.opts.logicalChannels;
  }

  registerApplet(applet: Applet): void {
    if (applet.aid.length < 5 || applet.aid.length > 16) throw new RangeError(`AID of ${applet.aid.length} bytes (5..16)`);
    if (this.applets.some((a) => aidMatches(a.aid, applet.aid) && a.aid.length === applet.aid.length)) throw new RangeError('an applet with this AID is already registered');
    this.applets.push(applet);
  }

  /** open logical channels, basic channel 0 included */
  openChannels(): number[] {
    return [...this.channels.keys()].sort((a, b) => a - b);
  }

  selectedApplet(channel: number): Applet | undefined {
    return this.channels.get(channel)?.applet;
  }

  fileCursor(channel: number): FsCursor | undefined {
    return this.channels.get(channel)?.fs;
  }

  /** Warm reset (powers the card if needed): closes channels, drops selections, pending data, chains. */
  async reset(): Promise<Uint8Array> {
    if (!this.present) throw new CardRemovedError();
    this.interrupt(() => new CardInterruptedError());
    this.powered = true;
    this.clearVolatileState();
    return this.atr();
  }

  /** ApduTransport.close: deactivate the card (power off). reset() or powerOn() activates it again. */
  async close(): Promise<void> {
    await this.powerOff();
  }

  async powerOff(): Promise<void> {
    if (!this.powered) return;
    this.powered = false;
    this.interrupt(() => new CardPoweredOffError());
    this.clearVolatileState();
  }

  async powerOn(): Promise<void> {
    if (!this.present) throw new CardRemovedError();
    if (this.powered) return;
    this.powered = true;
    this.interrupt(() => new CardInterruptedError());
    this.clearVolatileState();
  }

  /** Pull the card out: every transmit/reset rejects with CardRemovedError until insert(). */
  remove(): void {
    this.present = false;
    this.powered = false;
    this.interrupt(() => new CardRemovedError());
    this.clearVolatileState();
  }

  /** Put the card back; it comes up powered, in its after-ATR state. */
  insert(): void {
    if (this.present) return;
    this.present = true;
    this.powered = true;
    this.epoch++;
    this.clearVolatileState();
  }

  private interrupt(make: () => Error): void {
    this.epoch++;
    for (const reject of this.hung) reject(make());
    this.hung.clear();
  }

  private clearVolatileState(): void {
    this.channels = new Map([[0, { fs: INITIAL_CURSOR }]]);
    this.tc = undefined;
    this.tp = undefined;
    this.proactiveCommand = undefined;
    this.proactiveSession = false;
    this.profileChangedSinceReset = false;
    for (const a of this.applets) a.reset?.();
  }

  private assertUsable(): void {
    if (!this.present) throw new CardRemovedError();
    if (!this.powered) throw new CardPoweredOffError();
  }

  private assertEpoch(epoch: number): void {
    if (epoch === this.epoch) return;
    if (!this.present) throw new CardRemovedError();
    if (!this.powered) throw new CardPoweredOffError();
    throw new CardInterruptedError();
  }

  // -------------------------------------------------------------------------
  // Exchange

  /** Process one C-APDU. Commands are processed one at a time, in call order. */
  transmit(capdu: Uint8Array): Promise<Uint8Array> {
    const run = this.queue.then(() => this.exchange(capdu));
    // the queue only orders commands; each caller receives its own command's outcome from `run`
    this.queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async exchange(capdu: Uint8Array): Promise<Uint8Array> {
    this.assertUsable();
    const epoch = this.epoch;
    const index = this.commandCount++;
    const input = capdu.slice();
    if (this.beforeCommand) {
      const action = await this.beforeCommand({ capdu: input.slice(), index });
      this.assertEpoch(epoch);
      if (action) {
        if (action.remove) {
          this.remove();
          throw new CardRemovedError('card removed during the command');
        }
        if (action.delayMs) {
          await new Promise((resolve) => setTimeout(resolve, action.delayMs));
          this.assertEpoch(epoch);
        }
        if (action.hang) {
          await new Promise<never>((_, reject) => this.hung.add(reject));
        }
        if (action.response) return action.response.slice();
        if (action.sw !== undefined) return swOnly(action.sw);
      }
    }
    let rapdu = await this.process(input);
    this.assertEpoch(epoch);
    if (this.afterCommand) {
      const replaced = await this.afterCommand({ capdu: input.slice(), index, rapdu: rapdu.slice() });
      this.assertEpoch(epoch);
      if (replaced) rapdu = replaced.slice();
    }
    return rapdu;
  }

  private async process(capdu: Uint8Array): Promise<Uint8Array> {
    let cmd: CommandApdu;
    try {
      cmd = parseCommand(capdu);
    } catch (e) {
      if (e instanceof ApduFormatError) return swOnly(e.sw);
      throw e;
    }
    const cla = decodeCla(cmd.cla);
    if (!cla.structured || cla.kind === 'rfu' || cla.kind === 'invalid') return swOnly(SW.CLA_NOT_SUPPORTED);
    const rule = CARD_COMMANDS.get(cmd.ins);
    if (rule && !this.classAllowed(rule, cla, cmd.ins)) return swOnly(SW.CLA_NOT_SUPPORTED);
    if (cla.secureMessaging !== 'none') return swOnly(SW.SECURE_MESSAGING_NOT_SUPPORTED);
    if (cla.chaining) return swOnly(SW.COMMAND_CHAINING_NOT_SUPPORTED);
    const state = this.channels.get(cla.channel);
    if (!state) return swOnly(SW.LOGICAL_CHANNEL_NOT_SUPPORTED);
    if (cmd.extended && !this.opts.extendedLength) return swOnly(SW.WRONG_LENGTH);
    if (cmd.ins !== INS_GET_RESPONSE) state.pending = undefined;
    state.fs = this.fs.revalidate(state.fs);
    try {
      const outcome = await this.dispatch(cmd, cla, state);
      return this.signalProactive(this.finish(state, cmd, outcome));
    } catch (e) {
      if (e instanceof StatusWordError) return this.signalProactive(swOnly(e.sw));
      this.internalErrors.push(e);
      if (this.opts.internalErrorPolicy === 'throw') throw e;
      return swOnly(SW.TECHNICAL_PROBLEM);
    }
  }

  /** TS 102 221 10.2.1.1: while a proactive command waits for FETCH, 9000 is answered 91xx (xx its length). */
  private signalProactive(rapdu: Uint8Array): Uint8Array {
    const n = rapdu.length;
    if (!this.proactiveCommand || rapdu[n - 2] !== 0x90 || rapdu[n - 1] !== 0x00) return rapdu;
    const out = rapdu.slice();
    out[n - 2] = 0x91;
    out[n - 1] = this.proactiveCommand.length;
    return out;
  }

  private classAllowed(rule: ClassRule, cla: ClaInfo, ins: number): boolean {
    if (cla.kind === rule) return true;
    return ins === INS_GET_RESPONSE && cla.kind === 'proprietary' && this.opts.acceptProprietaryGetResponse;
  }

  /** Fit response data to Le; park the rest for GET RESPONSE. */
  private finish(state: ChannelState, cmd: CommandApdu, outcome: Outcome): Uint8Array {
    const { data, sw } = outcome;
    if (outcome.shaped || data.length === 0 || sw !== SW.OK) return buildResponse(data, sw);
    if (cmd.le === undefined || (cmd.case === 4 && this.opts.case4Response === 'get-response')) {
      state.pending = data;
      return swOnly(bytesRemainingSw(data.length));
    }
    if (data.length <= cmd.le) return buildResponse(data, sw);
    state.pending = data.slice(cmd.le);
    return buildResponse(data.subarray(0, cmd.le), bytesRemainingSw(state.pending.length));
  }

  private ctx(channel: number): ChannelContext {
    return { channel, terminalCapability: this.tc };
  }

  private async dispatch(cmd: CommandApdu, cla: ClaInfo, state: ChannelState): Promise<Outcome> {
    const channel = cla.channel;
    switch (cmd.ins) {
      case INS_MANAGE_CHANNEL:
        return this.manageChannel(cmd, channel);
      case INS_SELECT:
        return this.select(cmd, channel, state);
      case INS_GET_RESPONSE:
        return this.getResponse(cmd, state);
      case INS_STATUS:
        return this.status(cmd, state);
      case INS_TERMINAL_CAPABILITY:
        if (cmd.p1 !== 0 || cmd.p2 !== 0) throw new StatusWordError(SW.INCORRECT_P1P2);
        if (cmd.case !== 3) throw new StatusWordError(SW.WRONG_LENGTH, 'TERMINAL CAPABILITY is case 3');
        this.tc = parseTerminalCapability(cmd.data);
        return ok();
      case INS_TERMINAL_PROFILE:
        if (cmd.p1 !== 0 || cmd.p2 !== 0) throw new StatusWordError(SW.INCORRECT_P1P2);
        if (cmd.data.length === 0) throw new StatusWordError(SW.WRONG_LENGTH);
        this.tp = cmd.data.slice();
        return ok();
      case INS_FETCH:
        return this.fetch(cmd);
      case INS_TERMINAL_RESPONSE:
        if (cmd.p1 !== 0 || cmd.p2 !== 0) throw new StatusWordError(SW.INCORRECT_P1P2);
        if (cmd.data.length === 0) throw new StatusWordError(SW.WRONG_LENGTH);
        if (!this.proactiveSession || this.proactiveCommand) throw new StatusWordError(SW.CONDITIONS_NOT_SATISFIED, 'TERMINAL RESPONSE outside a proactive session');
        this.proactiveSession = false;
        return { data: EMPTY, sw: SW.OK, shaped: true };
      default:
        break;
    }
    if (cmd.ins === INS_STORE_DATA && this.profileChangedSinceReset && this.profileChange.es10BlockedUntilReset && state.applet && aidMatches(state.applet.aid, ISD_R_AID) && state.applet.aid.length === ISD_R_AID.length)
      throw new StatusWordError(SW.CONDITIONS_NOT_SATISFIED, 'the enabled profile changed: ES10 refused until the card is reset');
    if (state.applet) return state.applet.process(cmd, this.ctx(channel));
    if (FS_INS.has(cmd.ins)) {
      if (cla.kind !== 'interindustry') throw new StatusWordError(SW.CLA_NOT_SUPPORTED);
      const r = this.fs.process(state.fs, cmd);
      state.fs = r.cursor;
      return ok(r.data);
    }
    throw new StatusWordError(SW.INS_NOT_SUPPORTED);
  }

  // FETCH (TS 102 221 11.1.14): the pending proactive command, Le its length (00: up to 256)
  private fetch(cmd: CommandApdu): Outcome {
    if (cmd.p1 !== 0 || cmd.p2 !== 0) throw new StatusWordError(SW.INCORRECT_P1P2);
    if (cmd.case !== 2) throw new StatusWordError(SW.WRONG_LENGTH, 'FETCH is case 2');
    const command = this.proactiveCommand;
    if (!command) throw new StatusWordError(SW.CONDITIONS_NOT_SATISFIED, 'no proactive command pending');
    if (cmd.le !== command.length && cmd.le !== 256) throw new StatusWordError(0x6c00 | command.length, `FETCH Le must be ${command.length}`);
    this.proactiveCommand = undefined;
    return { data: command.slice(), sw: SW.OK, shaped: true };
  }

  // MANAGE CHANNEL (ISO 7816-4 11.1.2, TS 102 221 11.1.17)
  private async manageChannel(cmd: CommandApdu, origin: number): Promise<Outcome> {
    if (cmd.data.length) throw new StatusWordError(SW.WRONG_LENGTH, 'MANAGE CHANNEL has no command data');
    if (cmd.p1 === 0x00) {
      let number: number;
      if (cmd.p2 === 0x00) {
        const leOk = cmd.le === 1 || leIsMaximum(cmd, this.opts.shortLeZero);
        if (!leOk) throw new StatusWordError(0x6c01, 'MANAGE CHANNEL open returns 1 byte');
        number = 0;
        for (let n = 1; n <= this.maxLogicalChannel; n++) {
          if (!this.channels.has(n)) {
            number = n;
            break;
          }
        }
        if (number === 0) throw new StatusWordError(this.opts.channelsExhaustedSw, 'no logical channel available');
      } else {
        number = cmd.p2;
        if (number > MAX_LOGICAL_CHANNEL || this.channels.has(number)) throw new StatusWordError(SW.INCORRECT_P1P2, `channel ${number} cannot be opened`);
        if (number > this.maxLogicalChannel) throw new StatusWordError(this.opts.channelsExhaustedSw, `channel ${number} above the limit ${this.maxLogicalChannel}`);
      }
      await this.openFrom(number, origin);
      return cmd.p2 === 0x00 ? { data: Uint8Array.of(number), sw: SW.OK, shaped: true } : { data: EMPTY, sw: SW.OK, shaped: true };
    }
    if (cmd.p1 === 0x80) {
      const target = cmd.p2 === 0 ? origin : cmd.p2;
      if (target === 0 || target > MAX_LOGICAL_CHANNEL) throw new StatusWordError(SW.INCORRECT_P1P2, `channel ${target} cannot be closed`);
      const st = this.channels.get(target);
      if (!st) throw new StatusWordError(SW.LOGICAL_CHANNEL_NOT_SUPPORTED, `channel ${target} is not open`);
      st.applet?.deselect?.(this.ctx(target));
      this.channels.delete(target);
      return { data: EMPTY, sw: SW.OK, shaped: true };
    }
    throw new StatusWordError(SW.INCORRECT_P1P2, `MANAGE CHANNEL P1 ${cmd.p1.toString(16)}`);
  }

  /**
   * A new channel opened from the basic channel starts at the MF; opened from another
   * channel it takes over that channel's selection (TS 102 221 11.1.17.2), the applet
   * being selected on the new channel too.
   */
  private async openFrom(number: number, origin: number): Promise<void> {
    const from = this.channels.get(origin);
    const state: ChannelState = { fs: origin === 0 || !from ? INITIAL_CURSOR : from.fs };
    this.channels.set(number, state);
    if (origin !== 0 && from?.applet) {
      try {
        state.appletFci = await from.applet.select(this.ctx(number));
        state.applet = from.applet;
      } catch (e) {
        if (!(e instanceof StatusWordError)) throw e;
        // the applet refuses a second selection: the new channel stays on the file system
      }
    }
  }

  // SELECT (ISO 7816-4 11.2.2 / TS 102 221 11.1.1 / GP 11.9)
  private async select(cmd: CommandApdu, channel: number, state: ChannelState): Promise<Outcome> {
    if (cmd.p1 !== 0x04) {
      const r = this.fs.select(state.fs, cmd);
      if (state.applet) state.applet.deselect?.(this.ctx(channel));
      state.applet = undefined;
      state.appletFci = undefined;
      state.fs = r.cursor;
      return ok(r.data);
    }
    const p2 = cmd.p2;
    const occurrence = p2 & 0x03;
    if ((p2 & 0xb0) !== 0 || (p2 & 0x0c) === 0x08 || occurrence === 0x01 || occurrence === 0x03) throw new StatusWordError(SW.INCORRECT_P1P2, `SELECT by AID P2 ${p2.toString(16)}`);
    if (cmd.data.length > 16) throw new StatusWordError(SW.INCORRECT_DATA, 'AID longer than 16 bytes');
    const noData = (p2 & 0x0c) === 0x0c;
    const usimAid = this.fs.usimAid();
    type Candidate = { aid: Uint8Array; applet?: Applet };
    const candidates: Candidate[] = [...this.applets.map((a) => ({ aid: a.aid, applet: a })), ...(usimAid ? [{ aid: usimAid }] : [])].filter((c) => aidMatches(c.aid, cmd.data));
    let target: Candidate | undefined;
    if (occurrence === 0x02) {
      const current = candidates.findIndex((c) => (c.applet ? c.applet === state.applet : !state.applet && state.fs.df === 'ADF'));
      target = current < 0 ? candidates[0] : candidates[current + 1];
    } else {
      target = candidates[0];
    }
    if (!target) throw new StatusWordError(SW.FILE_NOT_FOUND, 'no application with this AID');
    const ctx = this.ctx(channel);
    if (p2 & 0x40) {
      // termination of the application session
      if (target.applet) {
        if (state.applet === target.applet) {
          state.applet.deselect?.(ctx);
          state.applet = undefined;
          state.appletFci = undefined;
        }
      } else if (state.fs.adfActive) {
        state.fs = INITIAL_CURSOR;
      }
      return ok();
    }
    if (!target.applet) {
      const r = this.fs.selectAdf(p2);
      state.applet?.deselect?.(ctx);
      state.applet = undefined;
      state.appletFci = undefined;
      state.fs = r.cursor;
      return ok(r.data);
    }
    const previous = state.applet;
    previous?.deselect?.(ctx);
    state.applet = undefined;
    state.appletFci = undefined;
    const fci = await target.applet.select(ctx);
    state.applet = target.applet;
    state.appletFci = fci.slice();
    return ok(noData ? EMPTY : fci);
  }

  // GET RESPONSE (ISO 7816-4 7.6.1, TS 102 221 11.1.12)
  private getResponse(cmd: CommandApdu, state: ChannelState): Outcome {
    if (cmd.p1 !== 0 || cmd.p2 !== 0) throw new StatusWordError(SW.INCORRECT_P1P2);
    if (cmd.case !== 2) throw new StatusWordError(SW.WRONG_LENGTH, 'GET RESPONSE is case 2');
    const pending = state.pending;
    if (!pending || pending.length === 0) throw new StatusWordError(SW.CONDITIONS_NOT_SATISFIED, 'no response data pending');
    const n = responseLength(cmd, pending.length, this.opts.shortLeZero);
    const rest = pending.slice(n);
    state.pending = rest.length ? rest : undefined;
    return { data: pending.slice(0, n), sw: rest.length ? bytesRemainingSw(rest.length) : SW.OK, shaped: true };
  }

  // STATUS (TS 102 221 11.1.2)
  private status(cmd: CommandApdu, state: ChannelState): Outcome {
    if (!state.applet) return ok(this.fs.status(state.fs, cmd));
    if (cmd.p1 > 0x02) throw new StatusWordError(SW.INCORRECT_P1P2);
    switch (cmd.p2) {
      case 0x00:
        return ok(state.appletFci ?? EMPTY);
      case 0x01:
        return ok(tlv(0x84, state.applet.aid));
      case 0x0c:
        return ok();
      default:
        throw new StatusWordError(SW.INCORRECT_P1P2);
    }
  }
}
