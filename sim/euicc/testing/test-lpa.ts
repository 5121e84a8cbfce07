// Test-side LPA for the eUICC's tests: drives ES10 through real APDUs (SGP.22 5.7.2
// STORE DATA to the ISD-R on a logical channel, GlobalPlatform 11.11 chaining, T=0
// 61xx/GET RESPONSE), loads a BPP as the separate STORE DATA sequences of 2.5.5, and
// runs the download of 3.1.3 against the test SM-DP+ binder. Not the product LPA.
import { buildCommand, responseData, responseSw, type ApduTransport } from '../../apdu/apdu.ts';
import { segmentStoreData } from '../../apdu/store-data.ts';
import { transmitWithT0Procedure } from '../../apdu/t0.ts';
import { decode } from '../../rsp/der.ts';
import { bppSegmentsForLoading } from '../../rsp/es8p.ts';
import { ProfileInstallationResult, GetEuiccChallengeResponse, ListNotificationResponse, type ProfileInstallationResult as Pir } from '../../rsp/es10b.ts';
import { ProfileInfoListResponse, EnableProfileResponse, DisableProfileResponse, DeleteProfileResponse, type ProfileInfoListResponse as ProfileList } from '../../rsp/es10c.ts';
import type { NotificationMetadata, ProfileInfo } from '../../rsp/common.ts';
import { iccidToBytes } from '../../rsp/iccid.ts';
import { hexToBytes } from '../../bytes.ts';
import { ISD_R_AID } from '../card/applet.ts';
import { encodeRaw, type AuthenticatedEuicc, type BindOptions, type BoundPackage, type PreparedEuicc, type PrepareOptions, type TestSmdp } from './smdp-binder.ts';

export class Es10SwError extends Error {
  override readonly name = 'Es10SwError';
  constructor(
    readonly sw: number,
    message: string,
  ) {
    super(message);
  }
}

export interface TestLpaOptions {
  /** open a logical channel for the ISD-R (default true) or use the basic channel */
  readonly logicalChannel?: boolean;
  /** STORE DATA block size (default 120, like lpac) */
  readonly blockSize?: number;
  /** GET RESPONSE class (default 0x80, like lpac) */
  readonly getResponseClass?: number;
}

export interface Es10Exchange {
  readonly data: Uint8Array;
  readonly sw: number;
}

export interface DownloadResult {
  readonly auth: AuthenticatedEuicc;
  readonly prepared: PreparedEuicc;
  readonly bound: BoundPackage;
  /** the response to the last sequence sent (the PIR, or the first failure's PIR) */
  readonly pirDer: Uint8Array;
  readonly pir: Pir;
}

export class TestLpa {
  channel = 0;
  private readonly blockSize: number;
  private readonly grClass: number;

  constructor(
    readonly transport: ApduTransport,
    private readonly opts: TestLpaOptions = {},
  ) {
    this.blockSize = opts.blockSize ?? 120;
    this.grClass = opts.getResponseClass ?? 0x80;
  }

  private send(capdu: Uint8Array): Promise<Uint8Array> {
    return transmitWithT0Procedure((c) => this.transport.transmit(c), capdu, { getResponseClass: this.grClass });
  }

  /** MANAGE CHANNEL open (unless basic channel) + SELECT ISD-R; returns the FCI. */
  async open(): Promise<Uint8Array> {
    if (this.opts.logicalChannel ?? true) {
      const r = await this.send(hexToBytes('0070000001'));
      if (responseSw(r) !== 0x9000) throw new Es10SwError(responseSw(r), 'MANAGE CHANNEL failed');
      this.channel = responseData(r)[0]!;
    }
    const cla = this.channel < 4 ? this.channel : 0x40 | (this.channel - 4);
    const r = await this.send(buildCommand({ cla, ins: 0xa4, p1: 0x04, p2: 0x00, data: ISD_R_AID, le: 256 }));
    if (responseSw(r) !== 0x9000) throw new Es10SwError(responseSw(r), 'SELECT ISD-R failed');
    return responseData(r);
  }

  /** One ES10 command as STORE DATA blocks; every block's SW is returned for the last one. */
  async es10Raw(command: Uint8Array): Promise<Es10Exchange> {
    const blocks = segmentStoreData(command, { blockSize: this.blockSize, channel: this.channel });
    let last: Uint8Array = new Uint8Array(0);
    for (let i = 0; i < blocks.length; i++) {
      last = await this.send(blocks[i]!);
      const sw = responseSw(last);
      if (i < blocks.length - 1 && sw !== 0x9000) return { data: responseData(last), sw };
    }
    return { data: responseData(last), sw: responseSw(last) };
  }

  /** One ES10 command; throws Es10SwError unless 9000. */
  async es10(command: Uint8Array): Promise<Uint8Array> {
    const r = await this.es10Raw(command);
    if (r.sw !== 0x9000) throw new Es10SwError(r.sw, `ES10 command answered ${r.sw.toString(16).toUpperCase()}`);
    return r.data;
  }

  /** Load a BPP sequence by sequence (2.5.5); stops at the first sequence answering data (the PIR). */
  async loadBpp(bpp: Uint8Array, opts: { stopAfter?: number } = {}): Promise<Uint8Array> {
    const segments = bppSegmentsForLoading(bpp);
    for (let i = 0; i < segments.length; i++) {
      if (opts.stopAfter !== undefined && i >= opts.stopAfter) return new Uint8Array(0);
      const data = await this.es10(segments[i]!.bytes);
      if (data.length > 0) return data;
    }
    throw new Es10SwError(0x9000, 'the BPP ended without a ProfileInstallationResult');
  }

  async challenge(): Promise<Uint8Array> {
    return decode(GetEuiccChallengeResponse, await this.es10(hexToBytes('BF2E00'))).euiccChallenge;
  }

  /** GetEUICCChallenge -> AuthenticateServer -> PrepareDownload, checked as the SM-DP+ would. */
  async authenticate(smdp: TestSmdp, prepare: PrepareOptions = {}): Promise<{ auth: AuthenticatedEuicc; prepared: PreparedEuicc }> {
    const challenge = await this.challenge();
    const req = smdp.authenticateServerRequest(challenge);
    const auth = smdp.verifyAuthenticateResponse(req, await this.es10(req.der));
    const pd = smdp.prepareDownloadRequest(auth, prepare);
    const prepared = smdp.verifyPrepareDownloadResponse(auth, pd, await this.es10(pd));
    return { auth, prepared };
  }

  /** The whole download of `upp`; `tamper` may change the BPP parts before they are sent. */
  async download(smdp: TestSmdp, upp: Uint8Array, bind: BindOptions, tamper?: (b: BoundPackage) => Uint8Array): Promise<DownloadResult> {
    const { auth, prepared } = await this.authenticate(smdp);
    const bound = smdp.bind(auth, prepared, upp, bind);
    const pirDer = await this.loadBpp(tamper ? tamper(bound) : bound.bpp);
    return { auth, prepared, bound, pirDer, pir: decode(ProfileInstallationResult, pirDer) };
  }

  // -------------------------------------------------------------------------
  // ES10c / ES10b conveniences

  async profiles(): Promise<ProfileInfo[]> {
    const r: ProfileList = decode(ProfileInfoListResponse, await this.es10(hexToBytes('BF2D00')));
    if (!('profileInfoListOk' in r)) throw new Error(`GetProfilesInfo error ${r.profileInfoListError}`);
    return r.profileInfoListOk;
  }

  async enable(iccid: string, refresh = true): Promise<number> {
    const cmd = encodeRaw(0xbf31, new Uint8Array([...encodeRaw(0xa0, encodeRaw(0x5a, iccidToBytes(iccid))), ...encodeRaw(0x81, Uint8Array.of(refresh ? 0xff : 0x00))]));
    return decode(EnableProfileResponse, await this.es10(cmd)).enableResult;
  }

  async disable(iccid: string, refresh = true): Promise<number> {
    const cmd = encodeRaw(0xbf32, new Uint8Array([...encodeRaw(0xa0, encodeRaw(0x5a, iccidToBytes(iccid))), ...encodeRaw(0x81, Uint8Array.of(refresh ? 0xff : 0x00))]));
    return decode(DisableProfileResponse, await this.es10(cmd)).disableResult;
  }

  async delete(iccid: string): Promise<number> {
    return decode(DeleteProfileResponse, await this.es10(encodeRaw(0xbf33, encodeRaw(0x5a, iccidToBytes(iccid))))).deleteResult;
  }

  async listNotifications(): Promise<NotificationMetadata[]> {
    const r = decode(ListNotificationResponse, await this.es10(hexToBytes('BF2800')));
    if (!('notificationMetadataList' in r)) throw new Error(`ListNotification error ${r.listNotificationsResultError}`);
    return r.notificationMetadataList;
  }
}

