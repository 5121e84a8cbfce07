// LPA flows of the test LPA (SGP.23 S_LPAd) with a progress event per step: profile download
// (SGP.22 3.1.3: by activation code 4.1, by the default SM-DP+ 3.1.3.2, by SM-DS event 3.1.3.3
// and ES11 5.8; common mutual authentication 3.1.2; ES9+ 5.6), the LPA's own checks on
// serverSigned1 with CancelSession on failure, end-user confirmation and confirmation code,
// local profile management (3.2, ES10c 5.7.15-5.7.21), notifications (3.3, ES10b 5.7.9-5.7.11
// and ES9+.HandleNotification 5.6.4), chip information and eUICC memory reset.
import { concatBytes, equalBytes, toUpperHex } from '../bytes.ts';
import { hashConfirmationCode, type ConfirmationCodeEncoding } from '../crypto/confirmation.ts';
import { type ActivationCode, parseActivationCode } from '../rsp/activation-code.ts';
import { CtxParams1, type DeviceInfo, EUICCInfo1, type EUICCInfo2, type NotificationEvent, type NotificationMetadata, type ProfileInfo, type RulesAuthorisationTable } from '../rsp/common.ts';
import { derOf, encodeTlv, type Infer } from '../rsp/der.ts';
import { AuthenticateServerResponse, CancelSessionResponse, PendingNotification, PrepareDownloadResponse, ProfileInstallationResult } from '../rsp/es10b.ts';
import type { ResetOptions } from '../rsp/es10c.ts';
import type { StoreMetadataRequest } from '../rsp/es8p.ts';
import { iccidFromBytes } from '../rsp/iccid.ts';
import type { JsonValue } from '../rsp/registry.ts';
import {
  AuthenticateErrorCode,
  BppCommandId,
  CancelSessionReason,
  DeleteNotificationStatus,
  DeleteProfileResult,
  DisableProfileResult,
  DownloadErrorCode,
  EnableProfileResult,
  ErrorReason,
  EuiccMemoryResetResult,
  type NamedNumbersApi,
  ListNotificationsResultError,
  NotificationsListResultError,
  ProfileClasses,
  ProfileInfoListError,
  SetDefaultDpAddressResult,
  SetNicknameResult,
} from '../rsp/results.ts';
import { transactionIdToHex } from '../rsp/json.ts';
import type { ApduTransport } from '../apdu/apdu.ts';
import { type EuiccConfiguredAddresses, Es10Client, type Es10Options, type ProfileRef } from './es10.ts';
import { type Es9pApi, Es9pClient, type InitiateAuthenticationResult } from './es9p-client.ts';
import { type Es11Api, Es11Client, type Es11ClientOptions, type EventEntry } from './es11-client.ts';
import type { RspHttpOptions } from './rsp-http.ts';
import {
  ConfirmationCodeRequiredError,
  describeError,
  DownloadCancelledError,
  Es10ResponseError,
  Es9TransportError,
  EuiccResultError,
  LpaCheckError,
  LpaConfigurationError,
  LpaError,
  ProfileInstallationError,
} from './errors.ts';

// ---------------------------------------------------------------------------
// Progress events

export type LpaStep =
  | 'lpa.parseActivationCode'
  | 'lpa.checkServerSigned1'
  | 'lpa.profileMetadata'
  | 'lpa.userConfirmation'
  | 'lpa.confirmationCode'
  | 'es10a.GetEuiccConfiguredAddresses'
  | 'es10a.SetDefaultDpAddress'
  | 'es10b.GetEUICCChallenge'
  | 'es10b.GetEUICCInfo1'
  | 'es10b.GetEUICCInfo2'
  | 'es10b.AuthenticateServer'
  | 'es10b.PrepareDownload'
  | 'es10b.LoadBoundProfilePackage'
  | 'es10b.CancelSession'
  | 'es10b.ListNotification'
  | 'es10b.RetrieveNotificationsList'
  | 'es10b.NotificationSent'
  | 'es10b.GetRAT'
  | 'es10c.GetProfilesInfo'
  | 'es10c.EnableProfile'
  | 'es10c.DisableProfile'
  | 'es10c.DeleteProfile'
  | 'es10c.eUICCMemoryReset'
  | 'es10c.GetEID'
  | 'es10c.SetNickname'
  | 'es9p.initiateAuthentication'
  | 'es9p.authenticateClient'
  | 'es9p.getBoundProfilePackage'
  | 'es9p.handleNotification'
  | 'es9p.cancelSession'
  | 'es11.initiateAuthentication'
  | 'es11.authenticateClient';

export type LpaPhase = 'start' | 'done' | 'error';

export type ProgressDetail = Readonly<Record<string, JsonValue>>;

export interface LpaProgressEvent {
  readonly step: LpaStep;
  readonly phase: LpaPhase;
  readonly detail?: ProgressDetail;
}

export type ProgressListener = (event: LpaProgressEvent) => void;

// ---------------------------------------------------------------------------
// Options and results

export type UserDecision = 'accept' | 'reject' | 'postpone';

/** What the end user is asked to accept (after ES9+.AuthenticateClient). */
export interface ProfileOffer {
  readonly smdpAddress: string;
  readonly transactionId: Uint8Array;
  readonly metadata: StoreMetadataRequest;
  readonly confirmationCodeRequired: boolean;
}

export interface LpaOptions {
  /** HTTPS trust, routing, timeouts and trace for ES9+/ES11 */
  readonly http?: RspHttpOptions;
  /** ES11 path/field variants */
  readonly es11?: Pick<Es11ClientOptions, 'paths' | 'addressField'>;
  /** SM-DP+ client per address (default: Es9pClient over HTTPS) */
  readonly es9pFactory?: (smdpAddress: string) => Es9pApi;
  /** SM-DS client per address (default: Es11Client over HTTPS) */
  readonly es11Factory?: (smdsAddress: string) => Es11Api;
  readonly onProgress?: ProgressListener;
  /** DeviceInfo of ctxParams1 (default DEFAULT_DEVICE_INFO) */
  readonly deviceInfo?: DeviceInfo;
  /** how the confirmation code is turned into bytes before hashing (default 'ascii', as lpac) */
  readonly confirmationCodeEncoding?: ConfirmationCodeEncoding;
  /** CancelSession reason after a failed LPA check (default undefinedReason 127) */
  readonly checkFailureCancelReason?: number;
  /** CancelSession reason when a confirmation code is required but missing (default endUserRejection 0) */
  readonly missingConfirmationCodeCancelReason?: number;
}

export type NotificationHandling = 'process' | 'leave';

export interface DownloadOptions {
  /** the confirmation code, or a callback asked only when ccRequiredFlag is set */
  readonly confirmationCode?: string | (() => Promise<string | undefined> | string | undefined);
  /** end-user confirmation of the offered profile (default: accept) */
  readonly confirm?: (offer: ProfileOffer) => UserDecision | Promise<UserDecision>;
  /** deliver the install notification right away ('process', default) or leave it pending */
  readonly notifications?: NotificationHandling;
  /** DeviceInfo of ctxParams1 for this download (default LpaOptions.deviceInfo) */
  readonly deviceInfo?: DeviceInfo;
}

export interface DownloadTarget {
  readonly smdpAddress: string;
  /** undefined: omit ctxParams1.matchingId; '' sends an empty one */
  readonly matchingId: string | undefined;
}

export interface NotificationDelivery {
  readonly seqNumber: number;
  readonly notificationAddress: string;
  readonly operation: NotificationEvent;
  readonly iccid?: string;
  /** HandleNotification accepted by the server */
  readonly delivered: boolean;
  /** NotificationSent done */
  readonly removed: boolean;
  /** the failure, when not delivered */
  readonly error?: unknown;
}

export interface DownloadResult {
  readonly smdpAddress: string;
  readonly transactionId: Uint8Array;
  readonly metadata: StoreMetadataRequest;
  readonly iccid: string;
  readonly isdpAid: Uint8Array;
  readonly profileInstallationResult: Infer<typeof ProfileInstallationResult>;
  /** the install notification, when it was processed; undefined when left pending */
  readonly notification?: NotificationDelivery;
}

export interface ChipInfo {
  readonly eid: string;
  readonly configuredAddresses: EuiccConfiguredAddresses;
  readonly euiccInfo2: EUICCInfo2;
  readonly rat: RulesAuthorisationTable;
}

export interface LocalOperationOptions {
  readonly refreshFlag?: boolean;
  /** process pending notifications afterwards (default 'leave') */
  readonly notifications?: NotificationHandling;
}

export interface ProcessNotificationsOptions {
  /** only these sequence numbers (default: every pending notification) */
  readonly seqNumbers?: readonly number[];
  /** NotificationSent after a successful delivery (default true, SGP.22 3.3) */
  readonly remove?: boolean;
}

/** DeviceInfo sent in ctxParams1 unless configured: TAC 35290611, LTE/UMTS/GSM device. */
export const DEFAULT_DEVICE_INFO: DeviceInfo = {
  tac: Uint8Array.of(0x35, 0x29, 0x06, 0x11),
  deviceCapabilities: {
    gsmSupportedRelease: Uint8Array.of(15, 0, 0),
    utranSupportedRelease: Uint8Array.of(15, 0, 0),
    eutranEpcSupportedRelease: Uint8Array.of(15, 0, 0),
  },
};

type AuthServerKind = 'es9p' | 'es11';

interface AuthPeer {
  readonly kind: AuthServerKind;
  readonly address: string;
  initiateAuthentication(input: { euiccChallenge: Uint8Array; euiccInfo1: Uint8Array }): Promise<InitiateAuthenticationResult>;
  /** ES9+ only (ES11 has no CancelSession) */
  cancelSession?(transactionId: Uint8Array, cancelSessionResponse: Uint8Array): Promise<unknown>;
}

interface Authenticated {
  readonly transactionId: Uint8Array;
  /** DER of AuthenticateServerResponse ('BF38'), relayed to the server */
  readonly authenticateServerResponse: Uint8Array;
  /** the eUICC's error code when AuthenticateServer failed (the response still goes to the server) */
  readonly euiccError?: number;
}

function resultError(fn: string, names: NamedNumbersApi<string>, code: number, step?: LpaStep): EuiccResultError {
  const err = new EuiccResultError(fn, names.typeName, code, names.describe(code));
  if (step !== undefined) err.step = step;
  return err;
}

function hex(b: Uint8Array): string {
  return toUpperHex(b);
}


function operationName(op: NotificationEvent): string {
  return op.map((o) => o.replace(/^notification/, '').toLowerCase()).join(',');
}

function metadataDetail(m: StoreMetadataRequest): ProgressDetail {
  return {
    iccid: iccidFromBytes(m.iccid),
    serviceProviderName: m.serviceProviderName,
    profileName: m.profileName,
    profileClass: ProfileClasses.describe(m.profileClass ?? 2),
  };
}

/**
 * The test LPA on one eUICC session. `Lpa.open(transport)` opens the ES10 session
 * (logical channel + SELECT ISD-R); `close()` closes the channel, not the transport.
 */
export class Lpa {
  constructor(
    readonly es10: Es10Client,
    private readonly options: LpaOptions = {},
  ) {}

  static async open(transport: ApduTransport, options: LpaOptions & { es10?: Es10Options } = {}): Promise<Lpa> {
    return new Lpa(await Es10Client.open(transport, options.es10), options);
  }

  close(): Promise<void> {
    return this.es10.close();
  }

  // -------------------------------------------------------------------------
  // plumbing

  private emit(event: LpaProgressEvent): void {
    this.options.onProgress?.(event);
  }

  private async step<T>(step: LpaStep, detail: ProgressDetail | undefined, run: () => Promise<T>, done?: (r: T) => ProgressDetail | undefined): Promise<T> {
    this.emit(detail === undefined ? { step, phase: 'start' } : { step, phase: 'start', detail });
    let result: T;
    try {
      result = await run();
    } catch (err) {
      if (err instanceof LpaError) err.step ??= step;
      this.emit({ step, phase: 'error', detail: describeError(err) });
      throw err;
    }
    const d = done?.(result);
    this.emit(d === undefined ? { step, phase: 'done' } : { step, phase: 'done', detail: d });
    return result;
  }

  private es9p(address: string): Es9pApi {
    return this.options.es9pFactory ? this.options.es9pFactory(address) : new Es9pClient(address, this.options.http ?? {});
  }

  private es11(address: string): Es11Api {
    return this.options.es11Factory ? this.options.es11Factory(address) : new Es11Client(address, { ...(this.options.http ?? {}), ...(this.options.es11 ?? {}) });
  }

  /**
   * CancelSession on the eUICC, then (ES9+ only) on the server with the eUICC's response
   * (SGP.22 3.1.3, 5.6.5, 5.7.14). Failures are collected in `related`, never dropped.
   */
  private async cancelSession(peer: AuthPeer, transactionId: Uint8Array, reason: number, related: unknown[]): Promise<void> {
    const tid = transactionIdToHex(transactionId);
    let response: Infer<typeof CancelSessionResponse>;
    try {
      response = await this.step('es10b.CancelSession', { transactionId: tid, reason, reasonName: CancelSessionReason.describe(reason) }, () => this.es10.cancelSession(transactionId, reason), (r): ProgressDetail =>
        'cancelSessionResponseError' in r ? { cancelSessionResponseError: r.cancelSessionResponseError } : { ok: true },
      );
    } catch (err) {
      related.push(err);
      return;
    }
    if (!peer.cancelSession) return;
    const cancel = peer.cancelSession.bind(peer);
    try {
      await this.step('es9p.cancelSession', { smdpAddress: peer.address, transactionId: tid }, () => cancel(transactionId, derOf(CancelSessionResponse, response)));
    } catch (err) {
      related.push(err);
    }
  }

  /**
   * Cancel the session on both sides, then throw `err`. Clean-up failures go to
   * `err.related`; for an error that is not an LpaError they are thrown together with it
   * as an AggregateError.
   */
  private async failWithCancel(peer: AuthPeer, transactionId: Uint8Array, reason: number, err: unknown): Promise<never> {
    const related: unknown[] = [];
    await this.cancelSession(peer, transactionId, reason, related);
    if (err instanceof LpaError) {
      err.related.push(...related);
      throw err;
    }
    if (related.length) throw new AggregateError([err, ...related], `${err instanceof Error ? err.message : String(err)} (and CancelSession failed)`);
    throw err;
  }

  /** SGP.22 3.1.2 up to ES10b.AuthenticateServer, with the LPA's checks on serverSigned1. */
  private async mutualAuthentication(peer: AuthPeer, matchingId: string | undefined, deviceInfo: DeviceInfo): Promise<Authenticated> {
    const prefix = peer.kind;
    const euiccChallenge = await this.step('es10b.GetEUICCChallenge', undefined, () => this.es10.getEuiccChallenge(), (c) => ({ euiccChallenge: hex(c) }));
    const info1 = await this.step('es10b.GetEUICCInfo1', undefined, () => this.es10.getEuiccInfo1());
    const init = await this.step(`${prefix}.initiateAuthentication`, { address: peer.address }, () => peer.initiateAuthentication({ euiccChallenge, euiccInfo1: derOf(EUICCInfo1, info1) }), (r) => ({
      transactionId: transactionIdToHex(r.transactionId),
      serverAddress: r.serverSigned1.serverAddress,
    }));
    const tid = init.transactionId;
    // SGP.22 3.1.2: the LPAd checks that the server is the one it contacted and that the transactionIds agree
    await this.step('lpa.checkServerSigned1', { address: peer.address, transactionId: transactionIdToHex(tid) }, async () => {
      const signed = init.serverSigned1;
      if (signed.serverAddress !== peer.address) {
        const err = new LpaCheckError('serverAddress', `${peer.kind === 'es9p' ? 'ES9+' : 'ES11'}.InitiateAuthentication serverSigned1`, peer.address, signed.serverAddress);
        await this.failWithCancel(peer, tid, this.options.checkFailureCancelReason ?? CancelSessionReason.undefinedReason, err);
      }
      if (!equalBytes(signed.transactionId, tid)) {
        const err = new LpaCheckError('transactionId', `${peer.kind === 'es9p' ? 'ES9+' : 'ES11'}.InitiateAuthentication serverSigned1`, transactionIdToHex(tid), hex(signed.transactionId));
        await this.failWithCancel(peer, tid, this.options.checkFailureCancelReason ?? CancelSessionReason.undefinedReason, err);
      }
    });
    const ctx = CtxParams1.encode({
      ctxParamsForCommonAuthentication: { ...(matchingId !== undefined ? { matchingId } : {}), deviceInfo },
    });
    // relay the server's TLVs byte for byte (the eUICC verifies signatures over them)
    const request = encodeTlv({ cls: 'context', num: 56 }, true, concatBytes(init.der.serverSigned1, init.der.serverSignature1, init.der.euiccCiPKIdToBeUsed, init.der.serverCertificate, ctx));
    const asr = await this.step('es10b.AuthenticateServer', matchingId !== undefined ? { matchingId } : undefined, () => this.es10.authenticateServer(request), (r): ProgressDetail =>
      'authenticateResponseError' in r
        ? { authenticateErrorCode: r.authenticateResponseError.authenticateErrorCode, name: AuthenticateErrorCode.describe(r.authenticateResponseError.authenticateErrorCode) }
        : { ok: true },
    );
    const authenticateServerResponse = derOf(AuthenticateServerResponse, asr);
    if ('authenticateResponseError' in asr) return { transactionId: tid, authenticateServerResponse, euiccError: asr.authenticateResponseError.authenticateErrorCode };
    return { transactionId: tid, authenticateServerResponse };
  }

  /**
   * The LPA rejected what the SM-DP+ answered mid-download (a field that does not decode,
   * e.g. profile metadata): the session is cancelled on both sides, ES10b.CancelSession to
   * the eUICC and then ES9+.CancelSession with the eUICC's signed response (SGP.22 3.1.3,
   * 5.6.5, 5.7.14; reason undefinedReason), before the error is thrown. Other failures
   * (an ES9+ Failed status: the server ended the session itself; the network) are thrown as is.
   */
  private async cancelOnRejected(peer: AuthPeer, transactionId: Uint8Array, err: unknown): Promise<never> {
    if (err instanceof Es9TransportError && err.problem === 'invalid-message') return this.failWithCancel(peer, transactionId, CancelSessionReason.undefinedReason, err);
    throw err;
  }

  /** After the server answered an eUICC error it was sent, throw the eUICC error (the server's answer is kept in `related`). */
  private async relayEuiccError(send: () => Promise<unknown>, error: EuiccResultError): Promise<never> {
    try {
      await send();
    } catch (err) {
      error.related.push(err);
      throw error;
    }
    throw error;
  }

  // -------------------------------------------------------------------------
  // Download (SGP.22 3.1.3)

  /** Download with an Activation Code (SGP.22 4.1): SM-DP+ address and matching ID from the code. */
  async downloadProfile(activationCode: string | ActivationCode, options: DownloadOptions = {}): Promise<DownloadResult> {
    const ac = typeof activationCode === 'string' ? await this.step('lpa.parseActivationCode', undefined, async () => parseActivationCode(activationCode), (a) => ({ smdpAddress: a.smdpAddress, matchingId: a.matchingId ?? null, confirmationCodeRequired: a.confirmationCodeRequired })) : activationCode;
    return this.download({ smdpAddress: ac.smdpAddress, matchingId: ac.matchingId ?? '' }, options);
  }

  /** Download from the default SM-DP+ (SGP.22 3.1.3.2): address from GetEuiccConfiguredAddresses, empty matching ID. */
  async downloadFromDefaultSmdp(options: DownloadOptions & { matchingId?: string | undefined } = {}): Promise<DownloadResult> {
    const addresses = await this.configuredAddresses();
    const smdp = addresses.defaultDpAddress;
    if (smdp === undefined || smdp === '') throw new LpaConfigurationError('the eUICC has no default SM-DP+ address (GetEuiccConfiguredAddresses)');
    return this.download({ smdpAddress: smdp, matchingId: 'matchingId' in options ? options.matchingId : '' }, options);
  }

  /** SM-DS event retrieval (SGP.22 3.1.3.3 / 5.8): mutual authentication with the SM-DS, then its event entries. */
  async discoverEvents(options: { smdsAddress?: string; deviceInfo?: DeviceInfo } = {}): Promise<{ smdsAddress: string; eventEntries: readonly EventEntry[] }> {
    const smdsAddress = options.smdsAddress ?? (await this.configuredAddresses()).rootDsAddress;
    if (!smdsAddress) throw new LpaConfigurationError('no SM-DS address (rootDsAddress is empty)');
    const es11 = this.es11(smdsAddress);
    const peer: AuthPeer = { kind: 'es11', address: smdsAddress, initiateAuthentication: (i) => es11.initiateAuthentication(i) };
    const auth = await this.mutualAuthentication(peer, undefined, options.deviceInfo ?? this.options.deviceInfo ?? DEFAULT_DEVICE_INFO);
    const send = () =>
      this.step('es11.authenticateClient', { smdsAddress, transactionId: transactionIdToHex(auth.transactionId) }, () => es11.authenticateClient(auth.transactionId, auth.authenticateServerResponse), (r) => ({
        eventEntries: r.eventEntries.map((e) => ({ eventId: e.eventId, rspServerAddress: e.rspServerAddress })),
      }));
    if (auth.euiccError !== undefined) await this.relayEuiccError(send, resultError('ES10b.AuthenticateServer', AuthenticateErrorCode, auth.euiccError, 'es10b.AuthenticateServer'));
    const res = await send();
    return { smdsAddress, eventEntries: res.eventEntries };
  }

  /** Download through SM-DS discovery: the chosen event's SM-DP+ with the event id as matching ID (default: first event). */
  async downloadFromSmds(options: DownloadOptions & { smdsAddress?: string; selectEvent?: (events: readonly EventEntry[]) => EventEntry | undefined } = {}): Promise<DownloadResult> {
    const { eventEntries } = await this.discoverEvents({ ...(options.smdsAddress !== undefined ? { smdsAddress: options.smdsAddress } : {}), ...(options.deviceInfo ? { deviceInfo: options.deviceInfo } : {}) });
    const event = options.selectEvent ? options.selectEvent(eventEntries) : eventEntries[0];
    if (!event) throw new LpaConfigurationError('the SM-DS returned no event for this eUICC');
    return this.download({ smdpAddress: event.rspServerAddress, matchingId: event.eventId }, options);
  }

  /** The download procedure proper (SGP.22 3.1.3.1 onwards) with one SM-DP+. */
  async download(target: DownloadTarget, options: DownloadOptions = {}): Promise<DownloadResult> {
    const smdpAddress = target.smdpAddress;
    const es9 = this.es9p(smdpAddress);
    const peer: AuthPeer = {
      kind: 'es9p',
      address: smdpAddress,
      initiateAuthentication: (i) => es9.initiateAuthentication(i),
      cancelSession: (t, r) => es9.cancelSession(t, r),
    };
    const deviceInfo = options.deviceInfo ?? this.options.deviceInfo ?? DEFAULT_DEVICE_INFO;
    const auth = await this.mutualAuthentication(peer, target.matchingId, deviceInfo);
    const tid = auth.transactionId;
    const tidHex = transactionIdToHex(tid);
    const fail = (reason: number, err: unknown) => this.failWithCancel(peer, tid, reason, err);

    // ES9+.AuthenticateClient
    const sendAuthClient = () =>
      this.step('es9p.authenticateClient', { smdpAddress, transactionId: tidHex }, () => es9.authenticateClient(tid, auth.authenticateServerResponse), (r) => ({
        ccRequiredFlag: r.smdpSigned2.ccRequiredFlag,
      }));
    if (auth.euiccError !== undefined) await this.relayEuiccError(sendAuthClient, resultError('ES10b.AuthenticateServer', AuthenticateErrorCode, auth.euiccError, 'es10b.AuthenticateServer'));
    const client = await sendAuthClient().catch((err: unknown) => this.cancelOnRejected(peer, tid, err));
    if (!equalBytes(client.transactionId, tid))
      await fail(CancelSessionReason.undefinedReason, new LpaCheckError('transactionId', 'ES9+.AuthenticateClient response', tidHex, transactionIdToHex(client.transactionId)));

    // profile metadata, end-user confirmation, confirmation code
    await this.step('lpa.profileMetadata', undefined, async () => client.profileMetadata, (m) => metadataDetail(m));
    const ccRequired = client.smdpSigned2.ccRequiredFlag;
    const offer: ProfileOffer = { smdpAddress, transactionId: tid, metadata: client.profileMetadata, confirmationCodeRequired: ccRequired };
    const confirm = options.confirm;
    const decision = confirm ? await this.step('lpa.userConfirmation', undefined, async () => confirm(offer), (d) => ({ decision: d })) : 'accept';
    if (decision !== 'accept') {
      const reason = decision === 'reject' ? CancelSessionReason.endUserRejection : CancelSessionReason.postponed;
      await fail(reason, new DownloadCancelledError(reason, CancelSessionReason.describe(reason), `download ${decision === 'reject' ? 'rejected' : 'postponed'} by the end user`));
    }
    let hashCc: Uint8Array | undefined;
    if (ccRequired) {
      const source = options.confirmationCode;
      const code = await this.step('lpa.confirmationCode', undefined, async () => (typeof source === 'function' ? await source() : source), (c) => ({ provided: c !== undefined && c !== '' }));
      if (code === undefined || code === '')
        await fail(this.options.missingConfirmationCodeCancelReason ?? CancelSessionReason.endUserRejection, new ConfirmationCodeRequiredError());
      hashCc = hashConfirmationCode(code as string, tid, this.options.confirmationCodeEncoding ?? 'ascii');
    }

    // ES10b.PrepareDownload, relaying the SM-DP+'s TLVs unchanged
    const pdReq = encodeTlv(
      { cls: 'context', num: 33 },
      true,
      concatBytes(client.der.smdpSigned2, client.der.smdpSignature2, ...(hashCc ? [encodeTlv({ cls: 'universal', num: 4 }, false, hashCc)] : []), client.der.smdpCertificate),
    );
    const pdr = await this.step('es10b.PrepareDownload', { ccRequired }, () => this.es10.prepareDownload(pdReq), (r): ProgressDetail =>
      'downloadResponseError' in r ? { downloadErrorCode: r.downloadResponseError.downloadErrorCode, name: DownloadErrorCode.describe(r.downloadResponseError.downloadErrorCode) } : { ok: true },
    );
    const pdrDer = derOf(PrepareDownloadResponse, pdr);

    // ES9+.GetBoundProfilePackage
    const sendGetBpp = () =>
      this.step('es9p.getBoundProfilePackage', { smdpAddress, transactionId: tidHex }, () => es9.getBoundProfilePackage(tid, pdrDer), (r) => ({ bytes: r.boundProfilePackage.length }));
    if ('downloadResponseError' in pdr)
      await this.relayEuiccError(sendGetBpp, resultError('ES10b.PrepareDownload', DownloadErrorCode, pdr.downloadResponseError.downloadErrorCode, 'es10b.PrepareDownload'));
    const bpp = await sendGetBpp().catch((err: unknown) => this.cancelOnRejected(peer, tid, err));
    if (!equalBytes(bpp.transactionId, tid))
      await fail(CancelSessionReason.undefinedReason, new LpaCheckError('transactionId', 'ES9+.GetBoundProfilePackage response', tidHex, transactionIdToHex(bpp.transactionId)));

    // ES10b.LoadBoundProfilePackage
    let pir: Infer<typeof ProfileInstallationResult>;
    try {
      pir = await this.step('es10b.LoadBoundProfilePackage', { bytes: bpp.boundProfilePackage.length }, () => this.es10.loadBoundProfilePackage(bpp.boundProfilePackage), (r): ProgressDetail => {
        const fr = r.profileInstallationResultData.finalResult;
        return 'successResult' in fr
          ? { result: 'success', isdpAid: hex(fr.successResult.aid) }
          : { result: 'error', bppCommandId: BppCommandId.describe(fr.errorResult.bppCommandId), errorReason: ErrorReason.describe(fr.errorResult.errorReason) };
      });
    } catch (err) {
      // SGP.22 3.1.3.3: the load did not complete -> CancelSession(loadBppExecutionError)
      return fail(CancelSessionReason.loadBppExecutionError, err);
    }
    const pirDer = derOf(ProfileInstallationResult, pir);
    const data = pir.profileInstallationResultData;

    // install notification (SGP.22 3.1.3.3 end, 3.3)
    let notification: NotificationDelivery | undefined;
    if ((options.notifications ?? 'process') === 'process') notification = await this.deliver(data.notificationMetadata, pirDer, true);

    const fr = data.finalResult;
    if ('errorResult' in fr) {
      const e = fr.errorResult;
      const err = new ProfileInstallationError(e.bppCommandId, BppCommandId.describe(e.bppCommandId), e.errorReason, ErrorReason.describe(e.errorReason), pirDer);
      err.step = 'es10b.LoadBoundProfilePackage';
      if (notification?.error !== undefined) err.related.push(notification.error);
      throw err;
    }
    return {
      smdpAddress,
      transactionId: tid,
      metadata: client.profileMetadata,
      iccid: iccidFromBytes(data.notificationMetadata.iccid ?? client.profileMetadata.iccid),
      isdpAid: fr.successResult.aid,
      profileInstallationResult: pir,
      ...(notification ? { notification } : {}),
    };
  }

  /**
   * Send one pending notification to its address, then NotificationSent when `remove`.
   * Delivery failures are returned in the result (and emitted as error events), not thrown.
   */
  private async deliver(md: NotificationMetadata, der: Uint8Array, remove: boolean): Promise<NotificationDelivery> {
    const base = {
      seqNumber: md.seqNumber,
      notificationAddress: md.notificationAddress,
      operation: md.profileManagementOperation,
      ...(md.iccid ? { iccid: iccidFromBytes(md.iccid) } : {}),
    };
    try {
      await this.step('es9p.handleNotification', { seqNumber: md.seqNumber, address: md.notificationAddress, operation: operationName(md.profileManagementOperation) }, () =>
        this.es9p(md.notificationAddress).handleNotification(der),
      );
    } catch (error) {
      return { ...base, delivered: false, removed: false, error };
    }
    if (!remove) return { ...base, delivered: true, removed: false };
    await this.removeNotification(md.seqNumber);
    return { ...base, delivered: true, removed: true };
  }

  // -------------------------------------------------------------------------
  // Local profile management (SGP.22 3.2)

  async configuredAddresses(): Promise<EuiccConfiguredAddresses> {
    return this.step('es10a.GetEuiccConfiguredAddresses', undefined, () => this.es10.getConfiguredAddresses(), (a) => ({
      defaultDpAddress: a.defaultDpAddress ?? null,
      rootDsAddress: a.rootDsAddress,
    }));
  }

  async setDefaultDpAddress(address: string): Promise<void> {
    await this.step('es10a.SetDefaultDpAddress', { address }, async () => {
      const r = await this.es10.setDefaultDpAddress(address);
      if (r.setDefaultDpAddressResult !== 0) throw resultError('ES10a.SetDefaultDpAddress', SetDefaultDpAddressResult, r.setDefaultDpAddressResult);
    });
  }

  async listProfiles(tagList?: Uint8Array): Promise<ProfileInfo[]> {
    return this.step(
      'es10c.GetProfilesInfo',
      undefined,
      async () => {
        const r = await this.es10.getProfilesInfo(undefined, tagList);
        if ('profileInfoListError' in r) throw resultError('ES10c.GetProfilesInfo', ProfileInfoListError, r.profileInfoListError);
        return r.profileInfoListOk;
      },
      (list) => ({ profiles: list.length }),
    );
  }

  async enableProfile(ref: ProfileRef, options: LocalOperationOptions = {}): Promise<readonly NotificationDelivery[]> {
    await this.step('es10c.EnableProfile', refDetail(ref), async () => {
      const r = await this.es10.enableProfile(ref, options.refreshFlag ?? false);
      if (r.enableResult !== 0) throw resultError('ES10c.EnableProfile', EnableProfileResult, r.enableResult);
    });
    return options.notifications === 'process' ? this.processNotifications() : [];
  }

  async disableProfile(ref: ProfileRef, options: LocalOperationOptions = {}): Promise<readonly NotificationDelivery[]> {
    await this.step('es10c.DisableProfile', refDetail(ref), async () => {
      const r = await this.es10.disableProfile(ref, options.refreshFlag ?? false);
      if (r.disableResult !== 0) throw resultError('ES10c.DisableProfile', DisableProfileResult, r.disableResult);
    });
    return options.notifications === 'process' ? this.processNotifications() : [];
  }

  async deleteProfile(ref: ProfileRef, options: Omit<LocalOperationOptions, 'refreshFlag'> = {}): Promise<readonly NotificationDelivery[]> {
    await this.step('es10c.DeleteProfile', refDetail(ref), async () => {
      const r = await this.es10.deleteProfile(ref);
      if (r.deleteResult !== 0) throw resultError('ES10c.DeleteProfile', DeleteProfileResult, r.deleteResult);
    });
    return options.notifications === 'process' ? this.processNotifications() : [];
  }

  async setNickname(iccid: string, nickname: string): Promise<void> {
    await this.step('es10c.SetNickname', { iccid, nickname }, async () => {
      const r = await this.es10.setNickname(iccid, nickname);
      if (r.setNicknameResult !== 0) throw resultError('ES10c.SetNickname', SetNicknameResult, r.setNicknameResult);
    });
  }

  async memoryReset(resetOptions: Infer<typeof ResetOptions>): Promise<void> {
    await this.step('es10c.eUICCMemoryReset', { resetOptions }, async () => {
      const r = await this.es10.memoryReset(resetOptions);
      if (r.resetResult !== 0) throw resultError('ES10c.eUICCMemoryReset', EuiccMemoryResetResult, r.resetResult);
    });
  }

  /** EID, configured addresses, EUICCInfo2 and RAT (what lpac's `chip info` shows). */
  async chipInfo(): Promise<ChipInfo> {
    const eid = await this.step('es10c.GetEID', undefined, () => this.es10.getEid(), (e) => ({ eid: e }));
    const configuredAddresses = await this.configuredAddresses();
    const rat = await this.step('es10b.GetRAT', undefined, async () => (await this.es10.getRat()).rat, (r) => ({ rules: r.length }));
    const euiccInfo2 = await this.step('es10b.GetEUICCInfo2', undefined, () => this.es10.getEuiccInfo2());
    return { eid, configuredAddresses, euiccInfo2, rat };
  }

  // -------------------------------------------------------------------------
  // Notifications (SGP.22 3.3)

  async listNotifications(filter?: NotificationEvent): Promise<NotificationMetadata[]> {
    return this.step(
      'es10b.ListNotification',
      undefined,
      async () => {
        const r = await this.es10.listNotification(filter);
        if ('listNotificationsResultError' in r) throw resultError('ES10b.ListNotification', ListNotificationsResultError, r.listNotificationsResultError);
        return r.notificationMetadataList;
      },
      (list) => ({ notifications: list.length }),
    );
  }

  /**
   * Send every pending notification (or the given ones) to its notificationAddress with
   * ES9+.HandleNotification, then NotificationSent unless `remove` is false. Stops at the
   * first notification that cannot be retrieved or delivered (EuiccResultError / the ES9+ error).
   */
  async processNotifications(options: ProcessNotificationsOptions = {}): Promise<NotificationDelivery[]> {
    const all = await this.listNotifications();
    const wanted = options.seqNumbers ? all.filter((m) => options.seqNumbers!.includes(m.seqNumber)) : all;
    if (options.seqNumbers) {
      const missing = options.seqNumbers.filter((s) => !all.some((m) => m.seqNumber === s));
      if (missing.length) throw new LpaConfigurationError(`no pending notification with seqNumber ${missing.join(', ')}`);
    }
    const out: NotificationDelivery[] = [];
    for (const md of wanted) {
      const pending = await this.step('es10b.RetrieveNotificationsList', { seqNumber: md.seqNumber }, async () => {
        const r = await this.es10.retrieveNotificationsList({ seqNumber: md.seqNumber });
        if ('notificationsListResultError' in r) throw resultError('ES10b.RetrieveNotificationsList', NotificationsListResultError, r.notificationsListResultError);
        const first = r.notificationList[0];
        if (!first) throw new Es10ResponseError('ES10b.RetrieveNotificationsList', 'unexpected', `no notification returned for seqNumber ${md.seqNumber}`, new Uint8Array(0));
        return first;
      });
      const delivery = await this.deliver(md, derOf(PendingNotification, pending), options.remove ?? true);
      if (delivery.error !== undefined) throw delivery.error;
      out.push(delivery);
    }
    return out;
  }

  /** NotificationSent: remove a pending notification (SGP.22 5.7.11). */
  async removeNotification(seqNumber: number): Promise<void> {
    await this.step('es10b.NotificationSent', { seqNumber }, async () => {
      const r = await this.es10.notificationSent(seqNumber);
      if (r.deleteNotificationStatus !== 0) throw resultError('ES10b.NotificationSent', DeleteNotificationStatus, r.deleteNotificationStatus);
    });
  }
}

function refDetail(ref: ProfileRef): ProgressDetail {
  return 'iccid' in ref ? { iccid: ref.iccid } : { isdpAid: hex(ref.isdpAid) };
}
