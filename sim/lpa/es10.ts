// ES10 driver of the test LPA (SGP.22 5.7 ES10a/b/c, LPA -> ISD-R) over any ApduTransport:
// opens a logical channel (MANAGE CHANNEL, ETSI TS 102 221 11.1.17) or uses the basic one,
// SELECTs the ISD-R, sends every ES10 command as a GlobalPlatform STORE DATA sequence
// (SGP.22 5.7.2, blocks of 120 bytes by default, up to 255) with the T=0 procedure bytes
// 61xx/6Cxx handled (GET RESPONSE class ISO '0X' or lpac's '8X'), and decodes responses
// with sim/rsp. The BPP goes in the separate sequences of SGP.22 2.5.5 (sim/rsp es8p.ts).
// What a real LPA tolerates is configurable (lpa-profile.ts): the receive buffer (an
// R-APDU over it fails as SCardTransmit fails with SCARD_E_INSUFFICIENT_BUFFER), 6Cxx
// re-sent or fatal, SELECT with or without Le, TERMINAL CAPABILITY sent at open.
import { type ApduTransport, buildCommand, isNormalSw, responseData, responseSw } from '../apdu/apdu.ts';
import { withChannel } from '../apdu/channels.ts';
import { DEFAULT_STORE_DATA_BLOCK, segmentStoreData } from '../apdu/store-data.ts';
import { transmitWithT0Procedure } from '../apdu/t0.ts';
import { hexToBytes, toUpperHex } from '../bytes.ts';
import { type Codec, decode, decodeTolerant, type DerFinding, DerError, parseTlv, tagHex } from '../rsp/der.ts';
import { EUICCInfo1, EUICCInfo2, type NotificationEvent } from '../rsp/common.ts';
import { EuiccConfiguredAddressesRequest, EuiccConfiguredAddressesResponse, SetDefaultDpAddressRequest, SetDefaultDpAddressResponse } from '../rsp/es10a.ts';
import {
  type AuthenticateServerRequest,
  AuthenticateServerRequest as AuthenticateServerRequestCodec,
  AuthenticateServerResponse,
  CancelSessionRequest,
  CancelSessionResponse,
  GetEuiccChallengeRequest,
  GetEuiccChallengeResponse,
  GetEuiccInfo1Request,
  GetEuiccInfo2Request,
  GetRatRequest,
  GetRatResponse,
  ListNotificationRequest,
  ListNotificationResponse,
  LoadCRLRequest,
  LoadCRLResponse,
  NotificationSentRequest,
  NotificationSentResponse,
  type PrepareDownloadRequest,
  PrepareDownloadRequest as PrepareDownloadRequestCodec,
  PrepareDownloadResponse,
  ProfileInstallationResult,
  RetrieveNotificationsListRequest,
  RetrieveNotificationsListResponse,
} from '../rsp/es10b.ts';
import {
  DeleteProfileRequest,
  DeleteProfileResponse,
  DisableProfileRequest,
  DisableProfileResponse,
  EnableProfileRequest,
  EnableProfileResponse,
  EuiccMemoryResetRequest,
  EuiccMemoryResetResponse,
  GetEuiccDataRequest,
  GetEuiccDataResponse,
  ProfileInfoListRequest,
  ProfileInfoListResponse,
  type ResetOptions,
  SetNicknameRequest,
  SetNicknameResponse,
} from '../rsp/es10c.ts';
import { bppSegmentsForLoading, type BppSegment } from '../rsp/es8p.ts';
import { iccidToBytes } from '../rsp/iccid.ts';
import type { Infer } from '../rsp/der.ts';
import { ApduError, Es10ResponseError, LpaError, ReceiveBufferError } from './errors.ts';
export { ISD_R_AID_HEX } from '../apdu/aids.ts';
import { ISD_R_AID_HEX } from '../apdu/aids.ts';

/** ISD-R AID (SGP.02 Annex H / SGP.22 2.2.3). */

export type GetResponseClass = 0x00 | 0x80;

export interface Es10Options {
  /** 'logical' (default): MANAGE CHANNEL then SELECT on it; 'basic': SELECT on channel 0 */
  readonly channel?: 'logical' | 'basic';
  /** AID to select (default the ISD-R) */
  readonly aid?: Uint8Array;
  /** STORE DATA block size 1..255 (default 120, as lpac) */
  readonly blockSize?: number;
  /** class of GET RESPONSE without channel bits: 0x00 ISO / TS 102 221 (default) or 0x80 as lpac */
  readonly getResponseClass?: GetResponseClass;
  /** Le=00 on the last STORE DATA block (default true); false sends it as case 3 like lpac */
  readonly leOnLast?: boolean;
  /** decode responses as strict DER (default true); false accepts any BER silently */
  readonly strictDer?: boolean;
  /**
   * 'tolerant': accept a card's valid BER that is not DER, as field LPAs do, and report
   * each deviation through trace.onFinding; 'strict' (default) rejects it
   */
  readonly peerEncoding?: 'strict' | 'tolerant';
  /** longest R-APDU (data + SW) the LPA takes; longer is a ReceiveBufferError (default: no limit) */
  readonly receiveBuffer?: number;
  /** 6Cxx: re-send with Le = SW2 (default) or fail the command (lpac) */
  readonly on6Cxx?: 'resend' | 'fail';
  /** SELECT the ISD-R with Le 00 (default true); false sends case 3 like lpac */
  readonly selectLe?: boolean;
  /** TERMINAL CAPABILITY C-APDU (hex) sent once before the channel is opened, answer ignored (lpac) */
  readonly terminalCapability?: string;
  readonly trace?: Es10Trace;
}

export interface ApduExchange {
  readonly capdu: Uint8Array;
  readonly rapdu: Uint8Array;
}

export interface Es10CommandRecord {
  /** e.g. 'ES10c.GetEID' */
  readonly fn: string;
  readonly request: Uint8Array;
  /** response data, absent when the command failed */
  readonly response?: Uint8Array;
  readonly error?: unknown;
}

export interface Es10Trace {
  /** every APDU exchange, GET RESPONSE and 6Cxx re-sends included */
  onApdu?(exchange: ApduExchange): void;
  /** every ES10 command (one STORE DATA sequence; a BPP is one record per segment) */
  onCommand?(record: Es10CommandRecord): void;
  /** a response that is valid BER but not DER, accepted by a tolerant LPA */
  onFinding?(fn: string, finding: DerFinding): void;
}

/** Profile reference of ES10c Enable/Disable/Delete: ICCID digits, or the ISD-P AID. */
export type ProfileRef = { readonly iccid: string } | { readonly isdpAid: Uint8Array };

/** searchCriteria of GetProfilesInfo. */
export type ProfileSearch = { readonly iccid: string } | { readonly isdpAid: Uint8Array } | { readonly profileClass: number };

/** searchCriteria of RetrieveNotificationsList. */
export type NotificationSearch = { readonly seqNumber: number } | { readonly profileManagementOperation: NotificationEvent };

export type EuiccConfiguredAddresses = Infer<typeof EuiccConfiguredAddressesResponse>;
export type ProfileInfoListResult = Infer<typeof ProfileInfoListResponse>;

/** Progress of a BPP load, one call per STORE DATA sequence. */
export interface BppLoadProgress {
  readonly index: number;
  readonly total: number;
  readonly segment: BppSegment;
}

export interface LoadBppOptions {
  onSegment?(progress: BppLoadProgress): void;
}

const CMD = { MANAGE_CHANNEL: 0x70, SELECT: 0xa4 } as const;

function profileIdentifier(ref: ProfileRef): { iccid: Uint8Array } | { isdpAid: Uint8Array } {
  return 'iccid' in ref ? { iccid: iccidToBytes(ref.iccid) } : { isdpAid: ref.isdpAid };
}

/**
 * ES10 client: one ISD-R session on one logical channel (or the basic channel).
 * Create with `Es10Client.open(transport)`; `close()` closes the logical channel (not the transport).
 */
export class Es10Client {
  private closed = false;

  private constructor(
    readonly transport: ApduTransport,
    /** logical channel of the ISD-R session (0 = basic) */
    readonly channel: number,
    /** response data of the SELECT (FCI) */
    readonly selectResponse: Uint8Array,
    private readonly options: Es10Options,
  ) {}

  /** Open a logical channel (unless options.channel is 'basic') and SELECT the ISD-R on it. */
  static async open(transport: ApduTransport, options: Es10Options = {}): Promise<Es10Client> {
    const blockSize = options.blockSize ?? DEFAULT_STORE_DATA_BLOCK;
    if (!Number.isInteger(blockSize) || blockSize < 1 || blockSize > 255) throw new RangeError(`STORE DATA block size must be 1..255, got ${blockSize}`);
    const send = (c: Uint8Array) => exchange(transport, options, c);
    // lpac sends it at connect and ignores the answer (ETSI TS 102 221 11.1.19)
    if (options.terminalCapability) await send(hexToBytes(options.terminalCapability));
    let channel = 0;
    if ((options.channel ?? 'logical') === 'logical') {
      const capdu = buildCommand({ cla: 0x00, ins: CMD.MANAGE_CHANNEL, p1: 0x00, p2: 0x00, le: 1 });
      const r = await transmitWithT0Procedure(send, capdu, t0Options(options));
      const sw = responseSw(r);
      const data = responseData(r);
      if (!isNormalSw(sw)) throw new ApduError('MANAGE CHANNEL open', sw, toUpperHex(capdu));
      if (data.length !== 1 || data[0]! < 1 || data[0]! > 19) {
        throw new Es10ResponseError('MANAGE CHANNEL open', 'malformed', `expected one channel number 1..19, got ${toUpperHex(data) || 'nothing'}`, data);
      }
      channel = data[0]!;
    }
    const aid = options.aid ?? hexToBytes(ISD_R_AID_HEX);
    const select = buildCommand({ cla: withChannel(0x00, channel), ins: CMD.SELECT, p1: 0x04, p2: 0x00, data: aid, ...(options.selectLe === false ? {} : { le: 256 }) });
    let r: Uint8Array;
    try {
      r = await transmitWithT0Procedure(send, select, t0Options(options));
    } catch (err) {
      if (channel !== 0) await closeChannelAfterFailure(send, channel, options, err);
      throw err;
    }
    const sw = responseSw(r);
    if (!isNormalSw(sw)) {
      const err = new ApduError(`SELECT ${toUpperHex(aid)}`, sw, toUpperHex(select));
      if (channel !== 0) await closeChannelAfterFailure(send, channel, options, err);
      throw err;
    }
    return new Es10Client(transport, channel, responseData(r), options);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Close the logical channel (MANAGE CHANNEL close, `00 70 80 ch 00`); nothing to do on the basic channel. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.channel === 0) return;
    await closeChannel((c) => exchange(this.transport, this.options, c), this.channel, this.options);
  }

  // -------------------------------------------------------------------------
  // Raw STORE DATA

  /** The STORE DATA C-APDUs of one ES10 command on this session's channel. */
  segments(payload: Uint8Array): Uint8Array[] {
    return segmentStoreData(payload, {
      blockSize: this.options.blockSize ?? DEFAULT_STORE_DATA_BLOCK,
      channel: this.channel,
      leOnLast: this.options.leOnLast ?? true,
    });
  }

  /**
   * Send one complete ES10 command as a STORE DATA sequence and return the response data
   * of the last block. A status word other than 9000/91xx/92xx on any block stops the
   * sequence with an ApduError.
   */
  async storeData(payload: Uint8Array, fn = `STORE DATA ${describeTag(payload)}`): Promise<Uint8Array> {
    if (this.closed) throw new Es10ResponseError(fn, 'unexpected', 'the ES10 session is closed', new Uint8Array(0));
    const send = (c: Uint8Array) => exchange(this.transport, this.options, c);
    let data: Uint8Array = new Uint8Array(0);
    try {
      for (const capdu of this.segments(payload)) {
        const r = await transmitWithT0Procedure(send, capdu, t0Options(this.options));
        const sw = responseSw(r);
        if (!isNormalSw(sw)) throw new ApduError(fn, sw, toUpperHex(capdu));
        data = responseData(r);
      }
    } catch (error) {
      this.options.trace?.onCommand?.({ fn, request: payload, error });
      throw error;
    }
    this.options.trace?.onCommand?.({ fn, request: payload, response: data });
    return data;
  }

  /** Send a command and decode its response with `codec`; an empty or undecodable response is an Es10ResponseError. */
  async call<T>(fn: string, request: Uint8Array, codec: Codec<T>): Promise<T> {
    const response = await this.storeData(request, fn);
    return this.decodeResponse(fn, response, codec);
  }

  private decodeResponse<T>(fn: string, response: Uint8Array, codec: Codec<T>): T {
    if (response.length === 0) throw new Es10ResponseError(fn, 'empty', `no response data (expected ${codec.name})`, response);
    try {
      if (this.options.strictDer !== false && this.options.peerEncoding === 'tolerant') {
        const r = decodeTolerant(codec, response);
        for (const f of r.findings) this.options.trace?.onFinding?.(fn, f);
        return r.value;
      }
      return decode(codec, response, { der: this.options.strictDer ?? true });
    } catch (e) {
      if (e instanceof DerError) throw new Es10ResponseError(fn, 'malformed', `response is not a valid ${codec.name}: ${e.describe()}`, response, { cause: e });
      throw e;
    }
  }

  // -------------------------------------------------------------------------
  // ES10a (5.7.3-5.7.4)

  getConfiguredAddresses(): Promise<EuiccConfiguredAddresses> {
    return this.call('ES10a.GetEuiccConfiguredAddresses', EuiccConfiguredAddressesRequest.encode({}), EuiccConfiguredAddressesResponse);
  }

  setDefaultDpAddress(defaultDpAddress: string): Promise<Infer<typeof SetDefaultDpAddressResponse>> {
    return this.call('ES10a.SetDefaultDpAddress', SetDefaultDpAddressRequest.encode({ defaultDpAddress }), SetDefaultDpAddressResponse);
  }

  // -------------------------------------------------------------------------
  // ES10b (5.7.5-5.7.14, 5.7.22)

  getEuiccInfo1(): Promise<EUICCInfo1> {
    return this.call('ES10b.GetEUICCInfo1', GetEuiccInfo1Request.encode({}), EUICCInfo1);
  }

  getEuiccInfo2(): Promise<EUICCInfo2> {
    return this.call('ES10b.GetEUICCInfo2', GetEuiccInfo2Request.encode({}), EUICCInfo2);
  }

  async getEuiccChallenge(): Promise<Uint8Array> {
    const r = await this.call('ES10b.GetEUICCChallenge', GetEuiccChallengeRequest.encode({}), GetEuiccChallengeResponse);
    return r.euiccChallenge;
  }

  /**
   * AuthenticateServer ('BF38'). Pass the typed request, or its DER when the LPA relays the
   * SM-DP+'s bytes unchanged (the flows do: signatures cover the received bytes).
   */
  authenticateServer(request: AuthenticateServerRequest | Uint8Array): Promise<Infer<typeof AuthenticateServerResponse>> {
    const der = request instanceof Uint8Array ? request : AuthenticateServerRequestCodec.encode(request);
    return this.call('ES10b.AuthenticateServer', der, AuthenticateServerResponse);
  }

  /** PrepareDownload ('BF21'), typed or as DER. */
  prepareDownload(request: PrepareDownloadRequest | Uint8Array): Promise<Infer<typeof PrepareDownloadResponse>> {
    const der = request instanceof Uint8Array ? request : PrepareDownloadRequestCodec.encode(request);
    return this.call('ES10b.PrepareDownload', der, PrepareDownloadResponse);
  }

  /**
   * LoadBoundProfilePackage: sends each segment of `bppSegmentsForLoading(bpp)` as its own
   * STORE DATA sequence (SGP.22 2.5.5) and returns the ProfileInstallationResult of the first
   * sequence whose response is not empty; later segments are not sent. If every segment is
   * accepted without a result, that is an Es10ResponseError.
   */
  async loadBoundProfilePackage(bpp: Uint8Array, options: LoadBppOptions = {}): Promise<Infer<typeof ProfileInstallationResult>> {
    const fn = 'ES10b.LoadBoundProfilePackage';
    const segments = bppSegmentsForLoading(bpp);
    for (let i = 0; i < segments.length; i++) {
      const segment = segments[i]!;
      options.onSegment?.({ index: i, total: segments.length, segment });
      const response = await this.storeData(segment.bytes, `${fn} [${segment.kind} ${i + 1}/${segments.length}]`);
      if (response.length > 0) return this.decodeResponse(fn, response, ProfileInstallationResult);
    }
    throw new Es10ResponseError(fn, 'empty', `all ${segments.length} BPP segments were accepted but no ProfileInstallationResult came back`, new Uint8Array(0));
  }

  cancelSession(transactionId: Uint8Array, reason: number): Promise<Infer<typeof CancelSessionResponse>> {
    return this.call('ES10b.CancelSession', CancelSessionRequest.encode({ transactionId, reason }), CancelSessionResponse);
  }

  listNotification(profileManagementOperation?: NotificationEvent): Promise<Infer<typeof ListNotificationResponse>> {
    const req = profileManagementOperation === undefined ? {} : { profileManagementOperation };
    return this.call('ES10b.ListNotification', ListNotificationRequest.encode(req), ListNotificationResponse);
  }

  retrieveNotificationsList(searchCriteria?: NotificationSearch): Promise<Infer<typeof RetrieveNotificationsListResponse>> {
    let req: Infer<typeof RetrieveNotificationsListRequest> = {};
    if (searchCriteria !== undefined)
      req = 'seqNumber' in searchCriteria
        ? { searchCriteria: { seqNumber: searchCriteria.seqNumber } }
        : { searchCriteria: { profileManagementOperation: searchCriteria.profileManagementOperation } };
    return this.call('ES10b.RetrieveNotificationsList', RetrieveNotificationsListRequest.encode(req), RetrieveNotificationsListResponse);
  }

  notificationSent(seqNumber: number): Promise<Infer<typeof NotificationSentResponse>> {
    return this.call('ES10b.NotificationSent', NotificationSentRequest.encode({ seqNumber }), NotificationSentResponse);
  }

  /** LoadCRL ('BF35'); `crl` is the CertificateList DER (30 ...). */
  loadCrl(crl: Uint8Array): Promise<Infer<typeof LoadCRLResponse>> {
    return this.call('ES10b.LoadCRL', LoadCRLRequest.encode({ crl }), LoadCRLResponse);
  }

  getRat(): Promise<Infer<typeof GetRatResponse>> {
    return this.call('ES10b.GetRAT', GetRatRequest.encode({}), GetRatResponse);
  }

  // -------------------------------------------------------------------------
  // ES10c (5.7.15-5.7.21)

  /** GetProfilesInfo; `tagList` as the tags' bytes (e.g. 5A 90 91 92 9F70 95). */
  getProfilesInfo(search?: ProfileSearch, tagList?: Uint8Array): Promise<ProfileInfoListResult> {
    const req: Infer<typeof ProfileInfoListRequest> = {};
    if (search !== undefined) {
      if ('iccid' in search) req.searchCriteria = { iccid: iccidToBytes(search.iccid) };
      else if ('isdpAid' in search) req.searchCriteria = { isdpAid: search.isdpAid };
      else req.searchCriteria = { profileClass: search.profileClass };
    }
    if (tagList !== undefined) req.tagList = tagList;
    return this.call('ES10c.GetProfilesInfo', ProfileInfoListRequest.encode(req), ProfileInfoListResponse);
  }

  enableProfile(ref: ProfileRef, refreshFlag = false): Promise<Infer<typeof EnableProfileResponse>> {
    return this.call('ES10c.EnableProfile', EnableProfileRequest.encode({ profileIdentifier: profileIdentifier(ref), refreshFlag }), EnableProfileResponse);
  }

  disableProfile(ref: ProfileRef, refreshFlag = false): Promise<Infer<typeof DisableProfileResponse>> {
    return this.call('ES10c.DisableProfile', DisableProfileRequest.encode({ profileIdentifier: profileIdentifier(ref), refreshFlag }), DisableProfileResponse);
  }

  deleteProfile(ref: ProfileRef): Promise<Infer<typeof DeleteProfileResponse>> {
    return this.call('ES10c.DeleteProfile', DeleteProfileRequest.encode(profileIdentifier(ref)), DeleteProfileResponse);
  }

  memoryReset(resetOptions: Infer<typeof ResetOptions>): Promise<Infer<typeof EuiccMemoryResetResponse>> {
    return this.call('ES10c.eUICCMemoryReset', EuiccMemoryResetRequest.encode({ resetOptions }), EuiccMemoryResetResponse);
  }

  /** GetEID: the 32 EID digits. */
  async getEid(): Promise<string> {
    const r = await this.call('ES10c.GetEID', GetEuiccDataRequest.encode({ tagList: Uint8Array.of(0x5a) }), GetEuiccDataResponse);
    return toUpperHex(r.eidValue);
  }

  setNickname(iccid: string, profileNickname: string): Promise<Infer<typeof SetNicknameResponse>> {
    return this.call('ES10c.SetNickname', SetNicknameRequest.encode({ iccid: iccidToBytes(iccid), profileNickname }), SetNicknameResponse);
  }
}

// ---------------------------------------------------------------------------
// helpers

function t0Options(options: Es10Options): { getResponseClass: number } {
  return { getResponseClass: options.getResponseClass ?? 0x00 };
}

async function exchange(transport: ApduTransport, options: Es10Options, capdu: Uint8Array): Promise<Uint8Array> {
  const rapdu = await transport.transmit(capdu);
  options.trace?.onApdu?.({ capdu, rapdu });
  if (options.receiveBuffer !== undefined && rapdu.length > options.receiveBuffer) throw new ReceiveBufferError(toUpperHex(capdu), rapdu.length, options.receiveBuffer);
  if (options.on6Cxx === 'fail' && rapdu.length >= 2 && rapdu[rapdu.length - 2] === 0x6c) throw new ApduError('6Cxx not handled by this LPA', responseSw(rapdu), toUpperHex(capdu));
  return rapdu;
}

async function closeChannel(send: (c: Uint8Array) => Promise<Uint8Array>, channel: number, options: Es10Options): Promise<void> {
  const capdu = buildCommand({ cla: 0x00, ins: CMD.MANAGE_CHANNEL, p1: 0x80, p2: channel, le: 256 });
  const r = await transmitWithT0Procedure(send, capdu, t0Options(options));
  const sw = responseSw(r);
  if (!isNormalSw(sw)) throw new ApduError(`MANAGE CHANNEL close ${channel}`, sw, toUpperHex(capdu));
}

/** Close a channel opened for a session that failed to start; a close failure is recorded on the original error. */
async function closeChannelAfterFailure(send: (c: Uint8Array) => Promise<Uint8Array>, channel: number, options: Es10Options, original: unknown): Promise<void> {
  try {
    await closeChannel(send, channel, options);
  } catch (closeError) {
    if (original instanceof LpaError) original.related.push(closeError);
    else throw new AggregateError([original, closeError], `SELECT failed and closing channel ${channel} failed too`);
  }
}

function describeTag(payload: Uint8Array): string {
  try {
    return tagHex(parseTlv(payload, { der: false }).tag);
  } catch (e) {
    if (e instanceof DerError) return `(${payload.length} bytes, not a TLV)`;
    throw e;
  }
}

