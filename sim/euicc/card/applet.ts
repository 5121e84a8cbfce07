// Applets behind the card's SELECT by AID (GlobalPlatform Card Spec 2.3 11.9 SELECT
// with the FCI of 11.9.3: '6F' { '84' AID, 'A5' { '9F65' max command data length } }),
// and the STORE DATA applet base the ISD-R builds on (GP 11.11; SGP.22 5.7: ES10
// commands are complete STORE DATA sequences to the ISD-R). The ISD-R FCI adds the
// SGP.22 ISDRProprietaryApplicationTemplate 'E0' { '82' SVN } (RSPDefinitions, tag E0).
// AIDs of ISD-R and ECASD from SGP.02 Annex H.
import { type CommandApdu, SW, StatusWordError } from '../../apdu/apdu.ts';
import { isProprietaryCla } from '../../apdu/channels.ts';
import { INS_STORE_DATA, StoreDataAssembler } from '../../apdu/store-data.ts';
import { tlv } from '../../apdu/tlv.ts';
import { ECASD_AID_HEX, ISD_R_AID_HEX } from '../../apdu/aids.ts';
import { hexToBytes } from '../../bytes.ts';
import type { TerminalCapability } from './terminal-capability.ts';

export const ISD_R_AID = hexToBytes(ISD_R_AID_HEX);
export const ECASD_AID = hexToBytes(ECASD_AID_HEX);

/** What an applet learns of the channel a command arrived on. */
export interface ChannelContext {
  readonly channel: number;
  readonly terminalCapability: TerminalCapability | undefined;
}

export interface AppletResponse {
  readonly data: Uint8Array;
  readonly sw: number;
}

/**
 * A selectable application. The card routes every command of a channel on which the
 * applet is selected to `process`, except MANAGE CHANNEL, SELECT, GET RESPONSE, STATUS,
 * TERMINAL CAPABILITY and TERMINAL PROFILE, which the card handles. Throw
 * StatusWordError to answer an error SW; any other exception is a bug (card answers 6F00
 * and records it).
 */
export interface Applet {
  readonly aid: Uint8Array;
  /** selected on a channel: return the FCI ('6F' template); throw StatusWordError to refuse */
  select(ctx: ChannelContext): Uint8Array | Promise<Uint8Array>;
  process(cmd: CommandApdu, ctx: ChannelContext): Promise<AppletResponse>;
  /** another selection replaced this applet on the channel, or the channel closed */
  deselect?(ctx: ChannelContext): void;
  /** card reset, power-off or removal: drop all volatile state */
  reset?(): void;
}

/** GlobalPlatform FCI: 6F { 84 AID, A5 { 9F65 01 FF }, ...extra }. */
export function gpFci(aid: Uint8Array, ...extra: Uint8Array[]): Uint8Array {
  return tlv(0x6f, tlv(0x84, aid), tlv(0xa5, tlv(0x9f65, Uint8Array.of(0xff))), ...extra);
}

export type SgpVersion = readonly [number, number, number];

/** ISD-R FCI: the GP FCI plus E0 { 82 03 SVN } (SGP.22 version supported). */
export function isdrFci(svn: SgpVersion = [2, 5, 0], aid: Uint8Array = ISD_R_AID): Uint8Array {
  return gpFci(aid, tlv(0xe0, tlv(0x82, Uint8Array.from(svn))));
}

/** An applet that only answers SELECT (e.g. a placeholder ECASD): every command gets 6D00. */
export class FciOnlyApplet implements Applet {
  constructor(
    readonly aid: Uint8Array,
    private readonly fci: Uint8Array = gpFci(aid),
  ) {}
  select(): Uint8Array {
    return this.fci;
  }
  process(): Promise<AppletResponse> {
    return Promise.reject(new StatusWordError(SW.INS_NOT_SUPPORTED));
  }
}

export interface StoreDataAppletOptions {
  /** largest complete STORE DATA command accepted (default 65536 bytes; above -> 6A84) */
  readonly maxCommandSize?: number;
}

const EMPTY = new Uint8Array(0);

/**
 * Base for the ISD-R: reassembles STORE DATA chains per logical channel and hands each
 * complete command to `handleStoreData`. Intermediate blocks answer 9000 with no data.
 * STORE DATA needs a proprietary class ('80'-'8F'/'C0'-'CF'): an interindustry CLA
 * with INS E2 gets 6E00. A new SELECT of the applet or closing the channel discards
 * a partial chain; other commands in between do not.
 */
export abstract class StoreDataApplet implements Applet {
  private readonly chains = new Map<number, StoreDataAssembler>();
  private readonly maxCommandSize: number | undefined;

  constructor(
    readonly aid: Uint8Array,
    options: StoreDataAppletOptions = {},
  ) {
    this.maxCommandSize = options.maxCommandSize;
  }

  select(ctx: ChannelContext): Uint8Array | Promise<Uint8Array> {
    this.chains.delete(ctx.channel);
    return this.fci(ctx);
  }

  /** FCI returned by SELECT; override to customise (default: ISD-R style for SGP.22 2.5). */
  protected fci(_ctx: ChannelContext): Uint8Array {
    return isdrFci([2, 5, 0], this.aid);
  }

  deselect(ctx: ChannelContext): void {
    this.chains.delete(ctx.channel);
  }

  reset(): void {
    this.chains.clear();
  }

  /** a partial chain is open on `channel` (for tests and traces) */
  chainInProgress(channel: number): boolean {
    return this.chains.get(channel)?.inProgress ?? false;
  }

  async process(cmd: CommandApdu, ctx: ChannelContext): Promise<AppletResponse> {
    if (cmd.ins !== INS_STORE_DATA) return this.processOther(cmd, ctx);
    if (!isProprietaryCla(cmd.cla)) throw new StatusWordError(SW.CLA_NOT_SUPPORTED, 'STORE DATA needs CLA 8X/CX/EX');
    let chain = this.chains.get(ctx.channel);
    if (!chain) {
      chain = new StoreDataAssembler(this.maxCommandSize !== undefined ? { maxCommandSize: this.maxCommandSize } : {});
      this.chains.set(ctx.channel, chain);
    }
    const progress = chain.accept(cmd);
    if (progress.status === 'incomplete') return { data: EMPTY, sw: SW.OK };
    const data = await this.handleStoreData(progress.command, ctx.channel);
    return { data, sw: SW.OK };
  }

  /** Commands other than STORE DATA (default 6D00). */
  protected processOther(_cmd: CommandApdu, _ctx: ChannelContext): Promise<AppletResponse> {
    return Promise.reject(new StatusWordError(SW.INS_NOT_SUPPORTED));
  }

  /**
   * A complete STORE DATA command (the ES10 request TLV) arrived on `channel`; return the
   * response data (the ES10 response TLV). Throw StatusWordError for an APDU-level error.
   */
  protected abstract handleStoreData(command: Uint8Array, channel: number): Promise<Uint8Array>;
}
