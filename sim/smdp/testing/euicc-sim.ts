// Test-side eUICC for the SM-DP+ tests (not the project's eUICC, sim/euicc): what a card
// answers in SGP.22 ES10b, built only from sim/rsp, sim/crypto and certs/. GetEUICCInfo1
// (5.7.8), AuthenticateServer (5.7.13: checks CERT.DPauth and serverSignature1, signs
// euiccSigned1), PrepareDownload (5.7.5: checks CERT.DPpb and smdpSignature2, otPK.EUICC,
// hashCc, euiccSignature2), LoadBoundProfilePackage (5.7.6 / 2.5.4: smdpSign, session keys,
// every 87/88/86 segment through BspSession, ReplaceSessionKeys), notifications (5.7.9/10)
// and CancelSession (5.7.14). SGP.26 EUICC_NIST + EUM_NIST by default.
import { randomBytes } from 'node:crypto';
import { concat, decode, derOf, parseTlv } from '../../rsp/der.ts';
import { EUICCInfo1, EuiccSigned1, EuiccSigned2, NotificationMetadata, ServerSigned1, Signature, SmdpSigned2, type EUICCInfo2, type NotificationEvent } from '../../rsp/common.ts';
import { AuthenticateServerResponse, CancelSessionResponse, EuiccCancelSessionSigned, PendingNotification, PrepareDownloadResponse, ProfileInstallationResultData } from '../../rsp/es10b.ts';
import { ConfigureISDPRequest, InitialiseSecureChannelRequest, iscrSignatureInput, StoreMetadataRequest } from '../../rsp/es8p.ts';
import { AuthenticateErrorCode, DownloadErrorCode } from '../../rsp/results.ts';
import { base64ToBytes, bytesToBase64, type AuthenticateClientOkJson, type InitiateAuthenticationOkJson } from '../../rsp/json.ts';
import { iccidToBytes } from '../../rsp/iccid.ts';
import { verifyChain, type TrustedCi } from '../../../certs/chain.ts';
import { parseCert, type ParsedCert } from '../../../certs/cert.ts';
import { loadCert, loadKeyPair, sgp26TrustedCis } from '../../../certs/store.ts';
import { sign, verify } from '../../crypto/ecdsa.ts';
import { ecka, generateKeyPair, type EcKeyPair } from '../../crypto/ecka.ts';
import { deriveSessionKeys } from '../../crypto/kdf.ts';
import { BspSession, parseReplaceSessionKeys } from '../../crypto/bsp.ts';
import { BspError } from '../../crypto/errors.ts';
import { hashConfirmationCode, type ConfirmationCodeEncoding } from '../../crypto/confirmation.ts';
import type { CurveKeyPair } from '../../crypto/keys.ts';
import { equalBytes, hexToBytes, toHex } from '../../bytes.ts';

const SGP26_CI_NIST = 'f54172bdf98a95d65cbeb88a38a1c11d800a85c3';

/** A BPP the test eUICC refused: the ProfileInstallationResult error it would report. */
export class LoadBppError extends Error {
  override readonly name = 'LoadBppError';
  constructor(
    readonly bppCommandId: number,
    readonly errorReason: number,
    message: string,
  ) {
    super(message);
  }
}

export interface TestEuiccOptions {
  /** eUICC certificate + key (default SGP.26 EUICC_NIST) */
  cert?: Uint8Array;
  key?: CurveKeyPair;
  /** EUM certificate (default the SGP.26 EUM of the key's curve) */
  eumCert?: Uint8Array;
  /** euiccCiPKIdListForVerification / ForSigning (hex; default the SGP.26 NIST CI) */
  ciForVerification?: string[];
  ciForSigning?: string[];
  /** EUICCInfo1 svn (default 2.2.0) */
  svn?: Uint8Array;
}

export interface LoadResult {
  upp: Uint8Array;
  metadata: StoreMetadataRequest;
  configureIsdp: ConfigureISDPRequest;
  replaceSessionKeys: boolean;
  /** number of '88' StoreMetadata segments */
  segments88: number;
  segments86: Uint8Array[];
  transactionId: Uint8Array;
}

interface Session {
  transactionId: Uint8Array;
  serverChallenge: Uint8Array;
  serverAddress: string;
  euiccSignature1: Uint8Array;
  dpPb?: ParsedCert;
  smdpSignature2?: Uint8Array;
  ot?: EcKeyPair;
  curve?: ParsedCert['curve'];
}

export class TestEuicc {
  readonly cert: ParsedCert;
  readonly eumCertDer: Uint8Array;
  readonly eid: string;
  readonly #key: CurveKeyPair;
  readonly #trusted: TrustedCi[] = sgp26TrustedCis();
  readonly #ciVerification: string[];
  readonly #ciSigning: string[];
  readonly #svn: Uint8Array;
  /** one-time keys kept for reuse when an SM-DP+ offers bppEuiccOtpk (hex public key -> pair) */
  readonly #otKeys = new Map<string, EcKeyPair>();
  #challenge?: Uint8Array;
  #session?: Session;
  #seq = 0;

  constructor(opts: TestEuiccOptions = {}) {
    this.cert = parseCert(opts.cert ?? loadCert('EUICC_NIST').der);
    this.#key = opts.key ?? loadKeyPair('EUICC_NIST');
    this.eumCertDer = opts.eumCert ?? loadCert(this.cert.curve === 'P-256' ? 'EUM_NIST' : 'EUM_BRP').der;
    this.eid = this.cert.eid ?? '';
    this.#ciVerification = opts.ciForVerification ?? [SGP26_CI_NIST];
    this.#ciSigning = opts.ciForSigning ?? [SGP26_CI_NIST];
    this.#svn = opts.svn ?? Uint8Array.of(2, 2, 0);
  }

  /** The SGP.26 brainpool eUICC. */
  static brainpool(): TestEuicc {
    const ci = 'c0bc70ba36929d43b467ff57570530e57ab8fcd8';
    return new TestEuicc({ cert: loadCert('EUICC_BRP').der, key: loadKeyPair('EUICC_BRP'), ciForVerification: [ci], ciForSigning: [ci] });
  }

  get transactionId(): Uint8Array | undefined {
    return this.#session?.transactionId;
  }

  euiccInfo1(): Uint8Array {
    return EUICCInfo1.encode({ svn: this.#svn, euiccCiPKIdListForVerification: this.#ciVerification.map(hexToBytes), euiccCiPKIdListForSigning: this.#ciSigning.map(hexToBytes) });
  }

  euiccInfo2(): EUICCInfo2 {
    return {
      profileVersion: Uint8Array.of(2, 3, 1),
      svn: this.#svn,
      euiccFirmwareVer: Uint8Array.of(1, 0, 0),
      extCardResource: hexToBytes('810100820400047c2883022210'),
      uiccCapability: ['usimSupport', 'isimSupport', 'javacard', 'usimTestAlgorithm'],
      rspCapability: ['additionalProfile', 'testProfileSupport'],
      euiccCiPKIdListForVerification: this.#ciVerification.map(hexToBytes),
      euiccCiPKIdListForSigning: this.#ciSigning.map(hexToBytes),
      ppVersion: Uint8Array.of(1, 0, 0),
      sasAcreditationNumber: 'BRIDGELAB-TEST',
    };
  }

  /** ES10b.GetEUICCChallenge + GetEUICCInfo1, as the JSON body of ES9+/ES11.InitiateAuthentication. */
  initiateAuthenticationBody(address: string, field: 'smdpAddress' | 'smdsAddress' = 'smdpAddress'): Record<string, string> {
    this.#challenge = randomBytes(16);
    return { euiccChallenge: bytesToBase64(this.#challenge), euiccInfo1: bytesToBase64(this.euiccInfo1()), [field]: address };
  }

  #authError(transactionId: Uint8Array, code: number): Uint8Array {
    return AuthenticateServerResponse.encode({ authenticateResponseError: { transactionId, authenticateErrorCode: code } });
  }

  /** ES10b.AuthenticateServer on an InitiateAuthentication response; returns the AuthenticateServerResponse DER. */
  authenticateServer(init: InitiateAuthenticationOkJson, ctx: { matchingId?: string } = {}): { der: Uint8Array; ok: boolean; error?: string } {
    const signedBytes = base64ToBytes(init.serverSigned1);
    const serverSigned1 = decode(ServerSigned1, signedBytes);
    const signature = decode(Signature, base64ToBytes(init.serverSignature1));
    const certDer = base64ToBytes(init.serverCertificate);
    const tx = serverSigned1.transactionId;
    const chain = verifyChain(certDer, [], { trustedCis: this.#trusted, at: new Date(), expectedRole: 'dpauth' });
    if (!chain.ok) return { der: this.#authError(tx, chain.reason === 'unknownCi' ? AuthenticateErrorCode.ciPKUnknown : AuthenticateErrorCode.invalidCertificate), ok: false, error: chain.reason };
    const cert = parseCert(certDer);
    if (!verify(cert.curve, cert.publicKey, signedBytes, signature)) return { der: this.#authError(tx, AuthenticateErrorCode.invalidSignature), ok: false, error: 'invalidSignature' };
    if (!this.#challenge || !equalBytes(serverSigned1.euiccChallenge, this.#challenge))
      return { der: this.#authError(tx, AuthenticateErrorCode.euiccChallengeMismatch), ok: false, error: 'euiccChallengeMismatch' };
    const euiccSigned1: EuiccSigned1 = {
      transactionId: tx,
      serverAddress: serverSigned1.serverAddress,
      serverChallenge: serverSigned1.serverChallenge,
      euiccInfo2: this.euiccInfo2(),
      ctxParams1: {
        ctxParamsForCommonAuthentication: {
          ...(ctx.matchingId !== undefined ? { matchingId: ctx.matchingId } : {}),
          deviceInfo: { tac: hexToBytes('35290611'), deviceCapabilities: { eutranEpcSupportedRelease: Uint8Array.of(15, 0, 0) } },
        },
      },
    };
    const euiccSigned1Der = EuiccSigned1.encode(euiccSigned1);
    const euiccSignature1 = sign(this.#key.curve, this.#key.privateKey, euiccSigned1Der);
    this.#session = { transactionId: tx, serverChallenge: serverSigned1.serverChallenge, serverAddress: serverSigned1.serverAddress, euiccSignature1 };
    const der = AuthenticateServerResponse.encode({
      authenticateResponseOk: { euiccSigned1, euiccSignature1, euiccCertificate: this.cert.der, eumCertificate: this.eumCertDer },
    });
    return { der, ok: true };
  }

  #downloadError(transactionId: Uint8Array, code: number): Uint8Array {
    return PrepareDownloadResponse.encode({ downloadResponseError: { transactionId, downloadErrorCode: code } });
  }

  /**
   * ES10b.PrepareDownload on an AuthenticateClient response. Reuses the one-time key the
   * SM-DP+ names in bppEuiccOtpk when it still has it, unless `newOtpk`.
   */
  prepareDownload(
    ac: AuthenticateClientOkJson,
    opts: { confirmationCode?: string; ccEncoding?: ConfirmationCodeEncoding; newOtpk?: boolean; omitHashCc?: boolean } = {},
  ): { der: Uint8Array; ok: boolean; error?: string; euiccOtpk?: Uint8Array } {
    const s = this.#session;
    if (!s) throw new Error('prepareDownload without a session');
    const signedBytes = base64ToBytes(ac.smdpSigned2);
    const smdpSigned2 = decode(SmdpSigned2, signedBytes);
    const smdpSignature2 = decode(Signature, base64ToBytes(ac.smdpSignature2));
    const certDer = base64ToBytes(ac.smdpCertificate);
    const chain = verifyChain(certDer, [], { trustedCis: this.#trusted, at: new Date(), expectedRole: 'dppb' });
    if (!chain.ok) return { der: this.#downloadError(s.transactionId, DownloadErrorCode.invalidCertificate), ok: false, error: chain.reason };
    const dpPb = parseCert(certDer);
    if (!verify(dpPb.curve, dpPb.publicKey, concat([signedBytes, Signature.encode(s.euiccSignature1)]), smdpSignature2))
      return { der: this.#downloadError(s.transactionId, DownloadErrorCode.invalidSignature), ok: false, error: 'invalidSignature' };
    if (!equalBytes(smdpSigned2.transactionId, s.transactionId)) return { der: this.#downloadError(s.transactionId, DownloadErrorCode.invalidTransactionId), ok: false, error: 'invalidTransactionId' };

    const offered = smdpSigned2.bppEuiccOtpk ? this.#otKeys.get(toHex(smdpSigned2.bppEuiccOtpk)) : undefined;
    const ot = offered && !opts.newOtpk ? offered : generateKeyPair(dpPb.curve);
    this.#otKeys.set(toHex(ot.publicKey), ot);
    const euiccSigned2: EuiccSigned2 = { transactionId: s.transactionId, euiccOtpk: ot.publicKey };
    if (smdpSigned2.ccRequiredFlag && opts.confirmationCode !== undefined && !opts.omitHashCc)
      euiccSigned2.hashCc = hashConfirmationCode(opts.confirmationCode, s.transactionId, opts.ccEncoding ?? 'ascii');
    const signed2Der = EuiccSigned2.encode(euiccSigned2);
    const euiccSignature2 = sign(this.#key.curve, this.#key.privateKey, concat([signed2Der, Signature.encode(smdpSignature2)]));
    Object.assign(s, { dpPb, smdpSignature2, ot, curve: dpPb.curve });
    return { der: PrepareDownloadResponse.encode({ downloadResponseOk: { euiccSigned2, euiccSignature2 } }), ok: true, euiccOtpk: ot.publicKey };
  }

  /** ES10b.LoadBoundProfilePackage: verify, derive keys, unwrap every segment. Throws LoadBppError. */
  loadBoundProfilePackage(bpp: Uint8Array): LoadResult {
    const s = this.#session;
    if (!s?.ot || !s.dpPb || !s.curve) throw new LoadBppError(0, 127, 'no PrepareDownload before LoadBoundProfilePackage');
    const tree = parseTlv(bpp);
    if (tree.tag !== 0xbf36) throw new LoadBppError(0, 1, 'not a BF36');
    const [iscrTlv, a0, a1, ...rest] = tree.children;
    if (!iscrTlv || !a0 || !a1) throw new LoadBppError(0, 1, 'incomplete BPP');
    const a2 = rest[0]?.tag === 0xa2 ? rest[0] : undefined;
    const a3 = a2 ? rest[1] : rest[0];
    if (!a3 || a3.tag !== 0xa3) throw new LoadBppError(5, 1, 'no sequenceOf86');
    const iscr = decode(InitialiseSecureChannelRequest, iscrTlv.raw);
    if (!verify(s.dpPb.curve, s.dpPb.publicKey, iscrSignatureInput(iscrTlv.raw, s.ot.publicKey), iscr.smdpSign)) throw new LoadBppError(0, 2, 'smdpSign does not verify');
    if (!equalBytes(iscr.transactionId, s.transactionId)) throw new LoadBppError(0, 3, 'ISCR transactionId is not the session one');
    const shared = ecka(s.curve, s.ot.privateKey, iscr.smdpOtpk);
    const keys = deriveSessionKeys({ sharedSecret: shared, hostId: iscr.controlRefTemplate.hostId, eid: hexToBytes(this.eid) });
    let bsp = new BspSession(keys);
    const step = <T>(cmd: number, f: () => T): T => {
      try {
        return f();
      } catch (e) {
        if (e instanceof BspError) throw new LoadBppError(cmd, e.errorReason, e.message);
        throw e;
      }
    };
    const configureIsdp = step(1, () => decode(ConfigureISDPRequest, bsp.unwrap(a0.children[0]!.raw, 'encryptAndMac', 0x87)));
    const metadata = step(2, () => decode(StoreMetadataRequest, concat(a1.children.map((c) => bsp.unwrap(c.raw, 'macOnly', 0x88)))));
    if (a2) {
      const rsk = step(4, () => parseReplaceSessionKeys(bsp.unwrap(a2.children[0]!.raw, 'encryptAndMac', 0x87)));
      bsp = BspSession.fromReplaceSessionKeys(rsk);
    }
    const segments86 = a3.children.map((c) => c.raw);
    const upp = step(5, () => concat(a3.children.map((c) => bsp.unwrap(c.raw, 'encryptAndMac', 0x86))));
    return { upp, metadata, configureIsdp, replaceSessionKeys: a2 !== undefined, segments88: a1.children.length, segments86, transactionId: iscr.transactionId };
  }

  /** The signed ProfileInstallationResult ('BF37', a PendingNotification). */
  profileInstallationResult(opts: { iccid: string; notificationAddress: string; smdpOid: string; error?: { bppCommandId: number; errorReason: number }; transactionId?: Uint8Array }): Uint8Array {
    const tx = opts.transactionId ?? this.#session?.transactionId;
    if (!tx) throw new Error('no transaction for a ProfileInstallationResult');
    const data: ProfileInstallationResultData = {
      transactionId: tx,
      notificationMetadata: { seqNumber: ++this.#seq, profileManagementOperation: ['notificationInstall'], notificationAddress: opts.notificationAddress, iccid: iccidToBytes(opts.iccid) },
      smdpOid: opts.smdpOid,
      finalResult: opts.error
        ? { errorResult: { bppCommandId: opts.error.bppCommandId, errorReason: opts.error.errorReason } }
        : { successResult: { aid: hexToBytes('a0000005591010ffffffff8900001000'), simaResponse: hexToBytes('3007a00580033001') } },
    };
    const signature = sign(this.#key.curve, this.#key.privateKey, ProfileInstallationResultData.encode(data));
    return PendingNotification.encode({ profileInstallationResult: { profileInstallationResultData: data, euiccSignPIR: signature } });
  }

  /** An OtherSignedNotification (enable/disable/delete), as a PendingNotification. */
  otherNotification(op: NotificationEvent[number], iccid: string, notificationAddress: string): Uint8Array {
    const tbs: NotificationMetadata = { seqNumber: ++this.#seq, profileManagementOperation: [op], notificationAddress, iccid: iccidToBytes(iccid) };
    const sig = sign(this.#key.curve, this.#key.privateKey, derOf(NotificationMetadata, tbs));
    return PendingNotification.encode({ otherSignedNotification: { tbsOtherNotification: tbs, euiccNotificationSignature: sig, euiccCertificate: this.cert.der, eumCertificate: this.eumCertDer } });
  }

  /** ES10b.CancelSession response for the current session. */
  cancelSession(reason: number, smdpOid: string): Uint8Array {
    const tx = this.#session?.transactionId;
    if (!tx) throw new Error('no session to cancel');
    const signed: EuiccCancelSessionSigned = { transactionId: tx, smdpOid, reason };
    const sig = sign(this.#key.curve, this.#key.privateKey, EuiccCancelSessionSigned.encode(signed));
    return CancelSessionResponse.encode({ cancelSessionResponseOk: { euiccCancelSessionSigned: signed, euiccCancelSessionSignature: sig } });
  }
}

