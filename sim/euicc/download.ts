// The RSP session of the ISD-R (SGP.22 3.1.3; started by GetEUICCChallenge 5.7.7,
// advanced by AuthenticateServer 5.7.13 and PrepareDownload 5.7.5, ended by
// CancelSession 5.7.14) and the Bound Profile Package processing (2.5.4, 2.5.5, 5.7.6
// LoadBoundProfilePackage, 5.5 ES8+ ISCR/ConfigureISDP/StoreMetadata/ReplaceSessionKeys/
// loadProfileElements) ending with the signed ProfileInstallationResult, also stored
// as the install notification.

// The BPP is a byte stream cut into STORE DATA sequences: 'BF36' tag+length with the
// whole 'BF23'; the whole 'A0' (87 ConfigureISDP); 'A1' tag+length then each '88'
// (StoreMetadata, MAC only); the whole 'A2' (87 ReplaceSessionKeys) if present; 'A3'
// tag+length then each '86'. Each sequence must hold whole elements (several are
// accepted). Intermediate sequences answer 9000 without data; the last '86' (or the
// first failure) answers the ProfileInstallationResult. Choices (documented):
// - a sequence cutting an element, or an element out of order: ErrorResult with the
//   bppCommandId being processed and incorrectInputValues (1);
// - BPP commands without a prepared session, or after the BPP ended: SW 6985;
// - the 'BF36' length is not checked against the sum of the elements;
// - interruption (another ES10 command, a card reset, CancelSession, a process
//   restart with the marker) reports the command expected next: configureISDP after
//   the ISCR, storeMetadata inside 'A1', loadProfileElements after StoreMetadata;
// - nothing is installed before the last '86' verified and the package parsed; the
//   profile, its PIR notification and the cleared marker go in one atomic write.
import { SW, StatusWordError } from '../apdu/sw.ts';
import { concat, decode, decodeTolerant, encode, encodeTlv, parseTlv, type Tlv } from '../rsp/der.ts';
import { InitialiseSecureChannelRequest, ConfigureISDPRequest, StoreMetadataRequest, iscrSignatureInput } from '../rsp/es8p.ts';
import { ProfileInstallationResultData, type ErrorResult } from '../rsp/es10b.ts';
import { iccidFromBytes, iccidToBytes } from '../rsp/iccid.ts';
import type { ProfilePolicyAuthorisationRule } from '../rsp/common.ts';
import { BspSession, parseReplaceSessionKeys } from '../crypto/bsp.ts';
import { BspError, CryptoError } from '../crypto/errors.ts';
import { ecka, type EcKeyPair } from '../crypto/ecka.ts';
import { deriveSessionKeys } from '../crypto/kdf.ts';
import { verify as ecdsaVerify } from '../crypto/ecdsa.ts';
import type { CurveName } from '../crypto/curves.ts';
import type { TrustedCi } from '../../certs/chain.ts';
import { readProfile, type ProfileSummary } from '../saip/profile.ts';
import { SaipError } from '../saip/errors.ts';
import { equalBytes, hexToBytes, toHex, toUpperHex } from '../bytes.ts';
import { allowedProfileClasses } from './options.ts';
import { decodeFailure, type EuiccContext } from './context.ts';
import type { EuiccIdentity } from './identity.ts';
import { addInstallNotification, emitNotificationEvents, kindsOfEvent } from './notifications.ts';
import { profileClassOf, type BppMarker, type PprName, type StoredNotification, type StoredProfile } from './state.ts';

export const BPP_COMMAND = { initialiseSecureChannel: 0, configureISDP: 1, storeMetadata: 2, storeMetadata2: 3, replaceSessionKeys: 4, loadProfileElements: 5 } as const;

export const ERROR_REASON = {
  incorrectInputValues: 1,
  invalidSignature: 2,
  invalidTransactionId: 3,
  unsupportedCrtValues: 4,
  unsupportedRemoteOperationType: 5,
  unsupportedProfileClass: 6,
  scp03tStructureError: 7,
  scp03tSecurityError: 8,
  installFailedDueToIccidAlreadyExistsOnEuicc: 9,
  installFailedDueToInsufficientMemoryForProfile: 10,
  installFailedDueToInterruption: 11,
  installFailedDueToPEProcessingError: 12,
  installFailedDueToDataMismatch: 13,
  testProfileInstallFailedDueToInvalidNaaKey: 14,
  pprNotAllowed: 15,
  installFailedDueToUnknownError: 127,
} as const;

/** SAIP EUICCResponse { peStatus { PEStatus { status ok } } }: the simaResponse of a success. */
export const SIMA_RESPONSE_OK = hexToBytes('3007A0053003800100');

/** EUICCResponse with one failed PEStatus and profileInstallationAborted (SAIP PEDefinitions). */
export function simaResponseError(status: number): Uint8Array {
  const peStatus = encodeTlv({ cls: 'universal', num: 16 }, true, encodeTlv({ cls: 'context', num: 0 }, false, Uint8Array.of(status & 0x7f)));
  return encodeTlv({ cls: 'universal', num: 16 }, true, concat([encodeTlv({ cls: 'context', num: 0 }, true, peStatus), encodeTlv({ cls: 'context', num: 1 }, false, new Uint8Array(0))]));
}

export type SessionStage = 'challenged' | 'authenticated' | 'prepared' | 'loading';

/** The volatile RSP session (one at a time; a new GetEUICCChallenge replaces it). */
export interface RspSession {
  stage: SessionStage;
  euiccChallenge: Uint8Array;
  /** set by AuthenticateServer */
  transactionId?: Uint8Array;
  serverAddress?: string;
  /** SM-DP+ OID from CERT.DPauth (SAN registeredID) */
  dpauthOid?: string;
  identity?: EuiccIdentity;
  ci?: TrustedCi;
  euiccSignature1?: Uint8Array;
  /** set by PrepareDownload */
  dppb?: { curve: CurveName; publicKey: Uint8Array; oid: string };
  oneTimeKey?: EcKeyPair;
  /** set by the first BPP sequence */
  bpp?: BppLoader;
}

/** A BPP step failed: becomes ErrorResult {bppCommandId, errorReason, simaResponse?}. */
class BppFailure extends Error {
  constructor(
    readonly bppCommandId: number,
    readonly errorReason: number,
    message: string,
    readonly simaResponse?: Uint8Array,
  ) {
    super(message);
  }
}

type LoaderStage = 'iscr' | 'a0' | 'a1' | 'seq88' | 'a2orA3' | 'a3' | 'seq86' | 'finished';

const STAGE_COMMAND: Record<LoaderStage, number> = {
  iscr: BPP_COMMAND.initialiseSecureChannel,
  a0: BPP_COMMAND.configureISDP,
  a1: BPP_COMMAND.storeMetadata,
  seq88: BPP_COMMAND.storeMetadata,
  a2orA3: BPP_COMMAND.loadProfileElements,
  a3: BPP_COMMAND.loadProfileElements,
  seq86: BPP_COMMAND.loadProfileElements,
  finished: BPP_COMMAND.loadProfileElements,
};

interface Header {
  tag: number;
  headerLength: number;
  length: number;
}

/** Tag and definite length at `off`; undefined when truncated or malformed. */
function readHeader(b: Uint8Array, off: number): Header | undefined {
  let i = off;
  const first = b[i++];
  if (first === undefined) return undefined;
  let tag = first;
  if ((first & 0x1f) === 0x1f) {
    for (let n = 0; ; n++) {
      const x = b[i++];
      if (x === undefined || n > 2) return undefined;
      tag = tag * 256 + x;
      if ((x & 0x80) === 0) break;
    }
  }
  const l = b[i++];
  if (l === undefined || l === 0x80) return undefined;
  let length = l;
  if (l > 0x80) {
    const n = l & 0x7f;
    if (n > 3 || i + n > b.length) return undefined;
    length = 0;
    for (let k = 0; k < n; k++) length = length * 256 + b[i++]!;
  }
  return { tag, headerLength: i - off, length };
}

const hex2 = (t: number): string => t.toString(16).toUpperCase();

/** Does a RAT rule authorise `ppr` for a profile of this owner? (SGP.22 2.9.2.2: 'E' nibbles are wildcards) */
function ratAllows(rat: readonly ProfilePolicyAuthorisationRule[], ppr: 'ppr1' | 'ppr2', owner: StoredProfile['profileOwner']): boolean {
  const nibbleMatch = (rule: Uint8Array, value: string | undefined): boolean => {
    const r = toUpperHex(rule);
    if (value === undefined) return /^E+$/.test(r);
    const v = value.toUpperCase();
    return r.length === v.length && [...r].every((c, i) => c === 'E' || c === v[i]);
  };
  return rat.some(
    (rule) =>
      rule.pprIds.includes(ppr) &&
      rule.allowedOperators.some(
        (op) =>
          nibbleMatch(op.mccMnc, owner?.mccMnc) &&
          (op.gid1 === undefined || (owner?.gid1 !== undefined && toUpperHex(op.gid1) === owner.gid1.toUpperCase())) &&
          (op.gid2 === undefined || (owner?.gid2 !== undefined && toUpperHex(op.gid2) === owner.gid2.toUpperCase())),
      ),
  );
}

interface PirInput {
  transactionId: Uint8Array;
  address: string;
  smdpOid: string;
  identity: EuiccIdentity;
  iccid?: string;
  finalResult: { successResult: { aid: Uint8Array; simaResponse: Uint8Array } } | { errorResult: ErrorResult };
}

/** Build and sign a ProfileInstallationResult, and append it as the install notification (caller saves). */
export function buildPir(ctx: EuiccContext, input: PirInput): { der: Uint8Array; notification: StoredNotification } {
  const seqNumber = ctx.nextSeqNumber();
  const data = encode(ProfileInstallationResultData, {
    transactionId: input.transactionId,
    notificationMetadata: {
      seqNumber,
      profileManagementOperation: ['notificationInstall'],
      notificationAddress: input.address,
      ...(input.iccid !== undefined ? { iccid: iccidToBytes(input.iccid) } : {}),
    },
    smdpOid: input.smdpOid,
    finalResult: input.finalResult,
  });
  const signature = input.identity.sign(data);
  const der = encodeTlv({ cls: 'context', num: 55 }, true, concat([data, encodeTlv({ cls: 'application', num: 55 }, false, signature)]));
  const notification = addInstallNotification(ctx, { seqNumber, address: input.address, ...(input.iccid !== undefined ? { iccid: input.iccid } : {}), pirDer: der });
  return { der, notification };
}

/**
 * After a restart: a BPP was in progress when the process stopped. Store the
 * installFailedDueToInterruption PIR and clear the marker (one atomic write).
 */
export function recoverInterruptedBpp(ctx: EuiccContext): StoredNotification | undefined {
  const m = ctx.state.bppInProgress;
  if (!m) return undefined;
  const { notification } = buildPir(ctx, {
    transactionId: hexToBytes(m.transactionId),
    address: m.smdpAddress,
    smdpOid: m.smdpOid,
    identity: ctx.identityByCurve(m.identityCurve),
    ...(m.iccid !== undefined ? { iccid: m.iccid } : {}),
    finalResult: { errorResult: { bppCommandId: m.bppCommandId, errorReason: ERROR_REASON.installFailedDueToInterruption } },
  });
  delete ctx.state.bppInProgress;
  ctx.save();
  emitNotificationEvents(ctx, [notification]);
  return notification;
}

/** Processes one BPP, sequence by sequence. */
export class BppLoader {
  private stage: LoaderStage = 'iscr';
  private bsp: BspSession | undefined;
  private accepted = false;
  private a1Remaining = 0;
  private a3Remaining = 0;
  private readonly metadataParts: Uint8Array[] = [];
  private dpOid: string | undefined;
  private metadata: { request: StoreMetadataRequest; der: Uint8Array; iccid: string } | undefined;
  private readonly uppParts: Uint8Array[] = [];
  private uppLength = 0;
  private segment86 = 0;
  /** the success PIR once installed */
  private installed: Uint8Array | undefined;

  constructor(
    private readonly ctx: EuiccContext,
    private readonly session: RspSession,
    private readonly dropOneTimeKey: () => void,
  ) {}

  /** The ISCR was accepted and the BPP has not ended: an interruption must be reported. */
  get inProgress(): boolean {
    return this.accepted && this.stage !== 'finished';
  }

  get finished(): boolean {
    return this.stage === 'finished';
  }

  /** bppCommandId being processed or expected next */
  get currentCommandId(): number {
    return STAGE_COMMAND[this.stage];
  }

  /**
   * One STORE DATA sequence. Returns undefined for an intermediate sequence (9000, no
   * data), the PIR DER when the BPP ended (installed or failed).
   */
  process(command: Uint8Array): Uint8Array | undefined {
    if (this.stage === 'finished') throw new StatusWordError(SW.CONDITIONS_NOT_SATISFIED, 'the Bound Profile Package already ended');
    try {
      this.consume(command);
    } catch (e) {
      if (e instanceof BppFailure) return this.fail(e);
      throw e;
    }
    return this.finished ? this.installed : undefined;
  }

  /** Abort with installFailedDueToInterruption (11): stores the PIR, clears the marker. */
  interrupt(): StoredNotification | undefined {
    if (!this.inProgress) return undefined;
    const pir = this.pirError(new BppFailure(this.currentCommandId, ERROR_REASON.installFailedDueToInterruption, 'interrupted'));
    return pir.notification;
  }

  // -------------------------------------------------------------------------

  private structural(message: string): BppFailure {
    return new BppFailure(this.currentCommandId, ERROR_REASON.incorrectInputValues, message);
  }

  /** A complete TLV at `off`, as a der.ts tree (BER lengths accepted: the C-MACs cover the exact bytes). */
  private element(command: Uint8Array, off: number, expectedTag: number): Tlv {
    const h = readHeader(command, off);
    if (!h) throw this.structural(`truncated element at offset ${off}`);
    if (h.tag !== expectedTag) throw this.structural(`expected ${hex2(expectedTag)} at offset ${off}, found ${hex2(h.tag)}`);
    const end = off + h.headerLength + h.length;
    if (end > command.length) throw this.structural(`${hex2(h.tag)} of ${h.length} bytes is cut by the end of the STORE DATA sequence`);
    try {
      return parseTlv(command.subarray(off, end), { der: expectedTag === 0xbf23 });
    } catch (e) {
      const why = decodeFailure(e);
      if (why !== undefined) throw this.structural(`${hex2(h.tag)}: ${why}`);
      throw e;
    }
  }

  private consume(command: Uint8Array): void {
    let off = 0;
    if (this.stage === 'iscr') {
      const h = readHeader(command, 0);
      if (!h || h.tag !== 0xbf36) throw this.structural('a Bound Profile Package starts with BF36');
      off = h.headerLength;
    }
    while (off < command.length) {
      switch (this.stage) {
        case 'iscr': {
          const t = this.element(command, off, 0xbf23);
          this.initialiseSecureChannel(t.raw);
          off += t.raw.length;
          this.stage = 'a0';
          this.updateMarker();
          break;
        }
        case 'a0': {
          const t = this.element(command, off, 0xa0);
          this.configureIsdp(t);
          off += t.raw.length;
          this.stage = 'a1';
          this.updateMarker();
          break;
        }
        case 'a1': {
          const h = readHeader(command, off);
          if (!h || h.tag !== 0xa1) throw this.structural(`expected A1 (sequenceOf88) at offset ${off}`);
          this.a1Remaining = h.length;
          off += h.headerLength;
          this.stage = 'seq88';
          if (this.a1Remaining === 0) this.storeMetadata();
          break;
        }
        case 'seq88': {
          const t = this.element(command, off, 0x88);
          off += t.raw.length;
          this.a1Remaining -= t.raw.length;
          if (this.a1Remaining < 0) throw this.structural('88 elements overrun the A1 length');
          this.metadataParts.push(this.unwrap(t.raw, 'macOnly', 0x88, BPP_COMMAND.storeMetadata));
          if (this.a1Remaining === 0) this.storeMetadata();
          break;
        }
        case 'a2orA3': {
          const h = readHeader(command, off);
          if (h?.tag === 0xa2) {
            const t = this.element(command, off, 0xa2);
            this.replaceSessionKeys(t);
            off += t.raw.length;
            this.stage = 'a3';
          } else {
            this.stage = 'a3';
          }
          break;
        }
        case 'a3': {
          const h = readHeader(command, off);
          if (!h || h.tag !== 0xa3) throw this.structural(`expected A3 (sequenceOf86) at offset ${off}`);
          this.a3Remaining = h.length;
          off += h.headerLength;
          this.stage = 'seq86';
          if (this.a3Remaining === 0) throw this.structural('sequenceOf86 is empty');
          break;
        }
        case 'seq86': {
          const t = this.element(command, off, 0x86);
          off += t.raw.length;
          this.a3Remaining -= t.raw.length;
          if (this.a3Remaining < 0) throw this.structural('86 elements overrun the A3 length');
          this.loadProfileElements(t.raw);
          if (this.a3Remaining === 0) this.installed = this.install();
          break;
        }
        case 'finished':
          return; // trailing bytes after the last 86 are ignored
      }
    }
  }

  private forced(bppCommandId: number, segment86?: number): void {
    const reason = this.ctx.faults.installErrorFor(bppCommandId, segment86);
    if (reason !== undefined) throw new BppFailure(bppCommandId, reason, 'forced by fault injection');
  }

  private unwrap(tlv: Uint8Array, mode: 'macOnly' | 'encryptAndMac', tag: number, bppCommandId: number): Uint8Array {
    if (!this.bsp) throw new BppFailure(bppCommandId, ERROR_REASON.scp03tStructureError, 'no secure channel');
    try {
      return this.bsp.unwrap(tlv, mode, tag);
    } catch (e) {
      if (e instanceof BspError) throw new BppFailure(bppCommandId, e.errorReason, e.message);
      throw e;
    }
  }

  /** ES8+.InitialiseSecureChannel (5.5.1) */
  private initialiseSecureChannel(raw: Uint8Array): void {
    const C = BPP_COMMAND.initialiseSecureChannel;
    let iscr: InitialiseSecureChannelRequest;
    try {
      iscr = decode(InitialiseSecureChannelRequest, raw);
    } catch (e) {
      const why = decodeFailure(e);
      if (why !== undefined) throw new BppFailure(C, ERROR_REASON.incorrectInputValues, `ISCR: ${why}`);
      throw e;
    }
    this.forced(C);
    const s = this.session;
    if (iscr.remoteOpId !== 1) throw new BppFailure(C, ERROR_REASON.unsupportedRemoteOperationType, `remoteOpId ${iscr.remoteOpId}`);
    if (!s.transactionId || !equalBytes(iscr.transactionId, s.transactionId)) throw new BppFailure(C, ERROR_REASON.invalidTransactionId, 'ISCR transactionId is not the session one');
    const crt = iscr.controlRefTemplate;
    if (crt.keyType[0] !== 0x88 || crt.keyLen[0] !== 0x10) throw new BppFailure(C, ERROR_REASON.unsupportedCrtValues, `CRT keyType ${toHex(crt.keyType)} keyLen ${toHex(crt.keyLen)}`);
    const otk = s.oneTimeKey;
    const dppb = s.dppb;
    if (!otk || !dppb) throw new BppFailure(C, ERROR_REASON.installFailedDueToUnknownError, 'no one-time key');
    if (!ecdsaVerify(dppb.curve, dppb.publicKey, iscrSignatureInput(raw, otk.publicKey), iscr.smdpSign)) throw new BppFailure(C, ERROR_REASON.invalidSignature, 'smdpSign does not verify with CERT.DPpb');
    let shared: Uint8Array;
    try {
      shared = ecka(s.identity!.curve, otk.privateKey, iscr.smdpOtpk);
    } catch (e) {
      if (e instanceof CryptoError) throw new BppFailure(C, ERROR_REASON.incorrectInputValues, `smdpOtpk: ${e.message}`);
      throw e;
    }
    const keys = deriveSessionKeys({ sharedSecret: shared, hostId: crt.hostId, eid: this.ctx.eidBytes, keyType: 0x88, keyLength: 16 });
    this.bsp = new BspSession(keys);
    this.dropOneTimeKey(); // otSK.EUICC.ECKA is used once
    this.accepted = true;
    this.ctx.state.bppInProgress = {
      transactionId: toUpperHex(s.transactionId),
      smdpAddress: s.serverAddress ?? '',
      smdpOid: dppb.oid,
      identityCurve: s.identity!.curve,
      bppCommandId: BPP_COMMAND.configureISDP,
      startedAt: new Date().toISOString(),
    };
  }

  private updateMarker(): void {
    const m = this.ctx.state.bppInProgress;
    if (!m) return;
    const next: BppMarker = { ...m, bppCommandId: this.currentCommandId, ...(this.metadata ? { iccid: this.metadata.iccid } : {}) };
    this.ctx.state.bppInProgress = next;
    this.ctx.save();
  }

  /** ES8+.ConfigureISDP (5.5.2): the 87 segments of A0 */
  private configureIsdp(a0: Tlv): void {
    const C = BPP_COMMAND.configureISDP;
    if (a0.children.length === 0) throw new BppFailure(C, ERROR_REASON.incorrectInputValues, 'firstSequenceOf87 is empty');
    const plain = concat(a0.children.map((c) => this.unwrap(c.raw, 'encryptAndMac', 0x87, C)));
    this.forced(C);
    try {
      const req = decode(ConfigureISDPRequest, plain);
      this.dpOid = req.dpProprietaryData?.dpOid;
    } catch (e) {
      const why = decodeFailure(e);
      if (why !== undefined) throw new BppFailure(C, ERROR_REASON.incorrectInputValues, `ConfigureISDP: ${why}`);
      throw e;
    }
  }

  /** ES8+.StoreMetadata (5.5.3): the concatenated 88 segments */
  private storeMetadata(): void {
    const C = BPP_COMMAND.storeMetadata;
    if (this.metadataParts.length === 0) throw new BppFailure(C, ERROR_REASON.incorrectInputValues, 'sequenceOf88 is empty');
    const der = concat(this.metadataParts);
    let request: StoreMetadataRequest;
    let iccid: string;
    try {
      if (this.ctx.options.peerEncoding === 'strict') request = decode(StoreMetadataRequest, der);
      else {
        // real cards take valid BER from the SM-DP+ (e.g. profileClass DEFAULT written out); the deviation is reported
        const r = decodeTolerant(StoreMetadataRequest, der);
        request = r.value;
        for (const finding of r.findings) this.ctx.events.emit('finding', { source: 'ES8+.StoreMetadata', finding });
      }
      iccid = iccidFromBytes(request.iccid);
    } catch (e) {
      const why = decodeFailure(e);
      if (why !== undefined) throw new BppFailure(C, ERROR_REASON.incorrectInputValues, `StoreMetadata: ${why}`);
      throw e;
    }
    this.forced(C);
    if (this.ctx.findByIccid(iccid)) throw new BppFailure(C, ERROR_REASON.installFailedDueToIccidAlreadyExistsOnEuicc, `ICCID ${iccid} is already installed`);
    const cls = profileClassOf(request.profileClass ?? 2);
    if (!cls || !allowedProfileClasses(this.ctx.options).includes(cls)) throw new BppFailure(C, ERROR_REASON.unsupportedProfileClass, `profileClass ${request.profileClass}`);
    const owner = ownerOf(request);
    for (const ppr of ['ppr1', 'ppr2'] as const) {
      if ((request.profilePolicyRules ?? []).includes(ppr) && !ratAllows(this.ctx.options.rat, ppr, owner))
        throw new BppFailure(C, ERROR_REASON.pprNotAllowed, `${ppr} is not allowed by the RAT for this profile owner`);
    }
    this.metadata = { request, der, iccid };
    this.stage = 'a2orA3';
    this.updateMarker();
  }

  /** ES8+.ReplaceSessionKeys (5.5.4): A2's 87 segments carry the PPKs */
  private replaceSessionKeys(a2: Tlv): void {
    const C = BPP_COMMAND.replaceSessionKeys;
    if (a2.children.length === 0) throw new BppFailure(C, ERROR_REASON.incorrectInputValues, 'secondSequenceOf87 is empty');
    const plain = concat(a2.children.map((c) => this.unwrap(c.raw, 'encryptAndMac', 0x87, C)));
    this.forced(C);
    try {
      this.bsp = BspSession.fromReplaceSessionKeys(parseReplaceSessionKeys(plain));
    } catch (e) {
      if (e instanceof CryptoError) throw new BppFailure(C, ERROR_REASON.incorrectInputValues, `ReplaceSessionKeys: ${e.message}`);
      throw e;
    }
  }

  /** loadProfileElements: one 86 segment */
  private loadProfileElements(raw: Uint8Array): void {
    const C = BPP_COMMAND.loadProfileElements;
    this.segment86++;
    const plain = this.unwrap(raw, 'encryptAndMac', 0x86, C);
    this.forced(C, this.segment86);
    this.uppParts.push(plain);
    this.uppLength += plain.length;
    const need = this.ctx.profileFootprint(this.uppLength);
    if (need > this.ctx.freeNvm()) throw new BppFailure(C, ERROR_REASON.installFailedDueToInsufficientMemoryForProfile, `profile needs ${need} bytes of NVM, ${this.ctx.freeNvm()} free`);
  }

  /** The last 86 arrived: check the package and install it. */
  private install(): Uint8Array {
    const C = BPP_COMMAND.loadProfileElements;
    const meta = this.metadata;
    if (!meta) throw new BppFailure(C, ERROR_REASON.incorrectInputValues, 'no StoreMetadata');
    const upp = concat(this.uppParts);
    let summary: ProfileSummary;
    try {
      summary = readProfile(upp);
    } catch (e) {
      // SaipError: well-formed but unusable; anything else: the package does not decode
      const why = decodeFailure(e);
      if (why !== undefined) throw new BppFailure(C, ERROR_REASON.installFailedDueToPEProcessingError, `profile package: ${why}`, simaResponseError(e instanceof SaipError ? (e.peStatus ?? 3) : 5));
      throw e;
    }
    if (summary.iccid !== meta.iccid) throw new BppFailure(C, ERROR_REASON.installFailedDueToDataMismatch, `ProfileHeader ICCID ${summary.iccid} is not the StoreMetadata ICCID ${meta.iccid}`);
    const size = this.ctx.profileFootprint(upp.length);
    if (size > this.ctx.freeNvm()) throw new BppFailure(C, ERROR_REASON.installFailedDueToInsufficientMemoryForProfile, `profile needs ${size} bytes of NVM`);

    const s = this.session;
    const r = meta.request;
    const profile: StoredProfile = {
      iccid: meta.iccid,
      isdpAid: this.ctx.allocateIsdpAid(),
      enabled: false,
      serviceProviderName: r.serviceProviderName,
      profileName: r.profileName,
      ...(r.iconType !== undefined ? { iconType: r.iconType } : {}),
      ...(r.icon !== undefined ? { icon: toHex(r.icon) } : {}),
      profileClass: profileClassOf(r.profileClass ?? 2)!,
      notificationConfiguration: (r.notificationConfigurationInfo ?? []).map((c) => ({ events: kindsOfEvent(c.profileManagementOperation), address: c.notificationAddress })),
      ...(ownerOf(r) ? { profileOwner: ownerOf(r)! } : {}),
      ...(this.dpOid !== undefined ? { dpOid: this.dpOid } : {}),
      policyRules: (r.profilePolicyRules ?? []).filter((p): p is PprName => p === 'pprUpdateControl' || p === 'ppr1' || p === 'ppr2'),
      ...(serviceSpecificRaw(meta.der) ? { serviceSpecificData: toHex(serviceSpecificRaw(meta.der)!) } : {}),
      metadataDer: toHex(meta.der),
      smdpAddress: s.serverAddress ?? '',
      smdpOid: s.dppb!.oid,
      identityCurve: s.identity!.curve,
      upp: toHex(upp),
      size,
      ...(summary.profileType !== undefined ? { profileType: summary.profileType } : {}),
      ...(summary.imsi !== undefined ? { imsi: summary.imsi } : {}),
      ...(summary.usimAid !== undefined ? { usimAid: summary.usimAid.toUpperCase() } : {}),
      installedAt: new Date().toISOString(),
    };
    this.ctx.state.profiles.push(profile);
    const pir = buildPir(this.ctx, {
      transactionId: s.transactionId!,
      address: s.serverAddress ?? '',
      smdpOid: s.dppb!.oid,
      identity: s.identity!,
      iccid: meta.iccid,
      finalResult: { successResult: { aid: hexToBytes(profile.isdpAid), simaResponse: SIMA_RESPONSE_OK } },
    });
    delete this.ctx.state.bppInProgress;
    this.stage = 'finished';
    this.ctx.save();
    this.ctx.events.emit('profile', { change: 'installed', iccid: profile.iccid, isdpAid: profile.isdpAid, cause: 'download' });
    emitNotificationEvents(this.ctx, [pir.notification]);
    return pir.der;
  }

  private fail(e: BppFailure): Uint8Array {
    return this.pirError(e).der;
  }

  private pirError(e: BppFailure): { der: Uint8Array; notification: StoredNotification } {
    const s = this.session;
    const errorResult: ErrorResult = { bppCommandId: e.bppCommandId, errorReason: e.errorReason, ...(e.simaResponse ? { simaResponse: e.simaResponse } : {}) };
    this.stage = 'finished';
    const pir = buildPir(this.ctx, {
      transactionId: s.transactionId ?? new Uint8Array(1),
      address: s.serverAddress ?? '',
      smdpOid: s.dppb?.oid ?? '0.0',
      identity: s.identity ?? this.ctx.identities[0]!,
      ...(this.metadata ? { iccid: this.metadata.iccid } : {}),
      finalResult: { errorResult },
    });
    delete this.ctx.state.bppInProgress;
    this.ctx.save();
    emitNotificationEvents(this.ctx, [pir.notification]);
    return pir;
  }
}

function ownerOf(r: StoreMetadataRequest): StoredProfile['profileOwner'] | undefined {
  const o = r.profileOwner;
  if (!o) return undefined;
  return { mccMnc: toUpperHex(o.mccMnc), ...(o.gid1 ? { gid1: toUpperHex(o.gid1) } : {}), ...(o.gid2 ? { gid2: toUpperHex(o.gid2) } : {}) };
}

/** The received 'BF22' serviceSpecificDataStoredInEuicc element of a StoreMetadata DER, if any. */
function serviceSpecificRaw(metadataDer: Uint8Array): Uint8Array | undefined {
  return parseTlv(metadataDer).children.find((c) => c.tag === 0xbf22)?.raw.slice();
}

/** Owner of the volatile session state of the ISD-R. */
export class DownloadManager {
  session: RspSession | undefined;
  /** the last one-time key pair, kept across sessions for a PrepareDownload retry (5.7.5 bppEuiccOtpk) */
  private retainedOneTimeKey: { curve: CurveName; key: EcKeyPair } | undefined;

  constructor(private readonly ctx: EuiccContext) {}

  /** GetEUICCChallenge: a new session with a fresh challenge (the old one is dropped). */
  newSession(challenge: Uint8Array): RspSession {
    this.session = { stage: 'challenged', euiccChallenge: challenge };
    return this.session;
  }

  /** PrepareDownload: reuse the retained one-time key when the SM-DP+ names it, else a new one. */
  oneTimeKeyFor(curve: CurveName, bppEuiccOtpk: Uint8Array | undefined, generate: () => EcKeyPair): { key: EcKeyPair; reused: boolean } {
    const kept = this.retainedOneTimeKey;
    if (bppEuiccOtpk && kept && kept.curve === curve && equalBytes(kept.key.publicKey, bppEuiccOtpk)) return { key: kept.key, reused: true };
    const key = generate();
    this.retainedOneTimeKey = { curve, key };
    return { key, reused: false };
  }

  /** A BPP is being loaded (ISCR accepted, not ended). */
  get bppInProgress(): boolean {
    return this.session?.bpp?.inProgress ?? false;
  }

  /** One LoadBoundProfilePackage STORE DATA sequence. */
  loadBpp(command: Uint8Array): Uint8Array {
    const s = this.session;
    const first = command[0] === 0xbf && command[1] === 0x36;
    if (first && s?.bpp) {
      // a new BPP while one is open: the open one is interrupted, the session is gone
      this.interrupt();
      throw new StatusWordError(SW.CONDITIONS_NOT_SATISFIED, 'a new BF36 interrupted the Bound Profile Package in progress');
    }
    if (!s || (s.stage !== 'prepared' && s.stage !== 'loading')) throw new StatusWordError(SW.CONDITIONS_NOT_SATISFIED, 'no PrepareDownload was executed in this session');
    if (!s.bpp) {
      if (!first) throw new StatusWordError(SW.CONDITIONS_NOT_SATISFIED, 'a Bound Profile Package starts with BF36');
      s.bpp = new BppLoader(this.ctx, s, () => {
        this.retainedOneTimeKey = undefined;
      });
      s.stage = 'loading';
    }
    const out = s.bpp.process(command);
    if (s.bpp.finished) this.session = undefined;
    return out ?? new Uint8Array(0);
  }

  /**
   * Another ES10 command, a card reset or CancelSession: a BPP in progress ends with
   * installFailedDueToInterruption, and the session is dropped.
   */
  interrupt(): StoredNotification | undefined {
    const n = this.session?.bpp?.interrupt();
    this.session = undefined;
    return n;
  }
}
