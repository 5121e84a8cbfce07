// ES10b functions of the ISD-R (SGP.22 5.7.5-5.7.14, 5.7.22): PrepareDownload,
// LoadBoundProfilePackage (delegated to download.ts), GetEUICCChallenge,
// GetEUICCInfo1/2 (4.3), ListNotification, RetrieveNotificationsList, NotificationSent
// (RemoveNotificationFromList), LoadCRL, AuthenticateServer, CancelSession and GetRAT,
// with the result codes of the RSPDefinitions v2.5 module. Signatures are verified
// over the received bytes (derOf) and computed over the DER sent (TR-03111 r||s).

// Choices where SGP.22 leaves room (documented):
// - AuthenticateServer order: noSessionContext 4 (no GetEUICCChallenge, or the
//   challenge already used) -> ciPKUnknown 7 (euiccCiPKIdToBeUsed not in the lists) ->
//   unsupportedCurve 3 (the certificate's curve is not one of the eUICC's) ->
//   invalidOid 5 (CERT.XXauth policy is not DPauth, or no SAN registeredID) ->
//   invalidCertificate 1 (any other chain failure to that CI, validity not checked) ->
//   invalidSignature 2 -> euiccChallengeMismatch 6. A failure keeps the challenge.
//   The serverAddress is not compared with anything: that is the LPA's job (3.1.3).
// - PrepareDownload order: noSessionContext 4 -> unsupportedCurve 3 -> invalidCertificate 1
//   (also when the DPpb OID differs from the DPauth OID of the session) ->
//   invalidTransactionId 5 -> invalidSignature 2 -> undefinedError 127 (ccRequiredFlag
//   without hashCc). bppEuiccOtpk naming the retained one-time key reuses it.
// - CancelSession with a transactionId that is not the session's: error 5; as any
//   other ES10 command it still interrupts a BPP in progress.
// - LoadCRL: crlSupport is not announced; the request is decoded and answered with
//   loadCRLResponseError undefinedError (127).
// - RetrieveNotificationsList for an unknown seqNumber: an empty list.
import { concat, derOf, encode, encodeTlv, oid, parseTlv, type Tlv } from '../rsp/der.ts';
import {
  CtxParams1,
  EUICCInfo1,
  EUICCInfo2,
  EuiccSigned2,
  ServerSigned1,
  SmdpSigned2,
  type NotificationEvent,
} from '../rsp/common.ts';
import {
  AuthenticateServerRequest,
  AuthenticateServerResponse,
  CancelSessionRequest,
  CancelSessionResponse,
  EuiccCancelSessionSigned,
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
  PrepareDownloadRequest,
  PrepareDownloadResponse,
  RetrieveNotificationsListRequest,
} from '../rsp/es10b.ts';
import { AuthenticateErrorCode, DownloadErrorCode } from '../rsp/results.ts';
import { tlv } from '../apdu/tlv.ts';
import { verify as ecdsaVerify } from '../crypto/ecdsa.ts';
import { generateKeyPair } from '../crypto/ecka.ts';
import { curveByOid, type CurveName } from '../crypto/curves.ts';
import { verifyChain, type ChainResult, type TrustedCi } from '../../certs/chain.ts';
import { equalBytes, hexToBytes, toHex } from '../bytes.ts';
import { decodeFailure, decodeRequest, type Es10Env, type EuiccContext } from './context.ts';
import { svnAtLeast, versionOf } from './options.ts';
import { kindsOfEvent, metadataOf, pendingNotifications, removeNotification, retrieveNotifications } from './notifications.ts';
import type { NotificationKind } from './state.ts';

const SEQUENCE = { cls: 'universal' as const, num: 16 };
const SIGNATURE = { cls: 'application' as const, num: 55 };
const ctxTag = (n: number) => ({ cls: 'context' as const, num: n });

// ---------------------------------------------------------------------------
// EUICCInfo1 / EUICCInfo2 (4.3, 5.7.8)

/** Minimal big-endian unsigned bytes of n, at least `min` bytes. */
function uintBytes(n: number, min: number): Uint8Array {
  const out: number[] = [];
  let v = Math.max(0, Math.floor(n));
  do {
    out.unshift(v & 0xff);
    v = Math.floor(v / 256);
  } while (v > 0);
  while (out.length < min) out.unshift(0);
  return Uint8Array.from(out);
}

/**
 * ETSI TS 102 226 8.2.1.7.2 extended card resources: 81 number of installed
 * applications (here: ISD-Ps), 82 free non-volatile memory, 83 free volatile memory.
 */
export function extCardResource(ctx: EuiccContext): Uint8Array {
  return concat([
    tlv(0x81, uintBytes(ctx.state.profiles.length, 1)),
    tlv(0x82, uintBytes(ctx.freeNvm(), 4)),
    tlv(0x83, uintBytes(ctx.options.freeVolatileMemory, 2)),
  ]);
}

/** NVM left for a typical TS.48-sized profile: rspCapability.additionalProfile is set when this fits. */
export const ADDITIONAL_PROFILE_BYTES = 16 * 1024;

function ciKeyIdList(ctx: EuiccContext): Uint8Array[] {
  return ctx.ciKeyIds().map((k) => hexToBytes(k));
}

export function euiccInfo1(ctx: EuiccContext): EUICCInfo1 {
  const list = ciKeyIdList(ctx);
  return { svn: Uint8Array.from(versionOf(ctx.options.svn)), euiccCiPKIdListForVerification: list, euiccCiPKIdListForSigning: list };
}

export function euiccInfo2(ctx: EuiccContext): EUICCInfo2 {
  const o = ctx.options;
  const v25 = svnAtLeast(o.svn, '2.5.0');
  const v23 = svnAtLeast(o.svn, '2.3.0');
  const list = ciKeyIdList(ctx);
  const rsp: EUICCInfo2['rspCapability'] = [];
  if (ctx.freeNvm() >= ctx.profileFootprint(ADDITIONAL_PROFILE_BYTES)) rsp.push('additionalProfile');
  if (o.testProfileSupport) rsp.push('testProfileSupport');
  rsp.push('deviceInfoExtensibilitySupport', 'serviceSpecificDataSupport');
  const forbidden = (['ppr1', 'ppr2'] as const).filter((p) => !o.rat.some((r) => r.pprIds.includes(p)));
  return {
    profileVersion: Uint8Array.from(o.profileVersion),
    svn: Uint8Array.from(versionOf(o.svn)),
    euiccFirmwareVer: Uint8Array.from(o.firmwareVersion),
    extCardResource: extCardResource(ctx),
    uiccCapability: [
      'usimSupport',
      'isimSupport',
      'csimSupport',
      'akaMilenage',
      'akaCave',
      'akaTuak128',
      'akaTuak256',
      'usimTestAlgorithm',
      'gbaAuthenUsim',
      'gbaAuthenISim',
      'eapClient',
      'javacard',
      'multipleUsimSupport',
      'multipleIsimSupport',
      'berTlvFileSupport',
      'dfLinkSupport',
      'catTp',
      'getIdentity',
      ...(v25 ? (['profile-a-x25519', 'profile-b-p256', 'suciCalculatorApi'] as const) : []),
    ],
    ts102241Version: Uint8Array.of(9, 2, 0),
    globalplatformVersion: Uint8Array.of(2, 3, 0),
    rspCapability: rsp,
    euiccCiPKIdListForVerification: list,
    euiccCiPKIdListForSigning: list,
    euiccCategory: o.euiccCategory,
    ...(forbidden.length ? { forbiddenProfilePolicyRules: [...forbidden] } : {}),
    ppVersion: Uint8Array.from(o.ppVersion),
    sasAcreditationNumber: o.sasAccreditationNumber,
    ...(v23 ? { treProperties: ['isDiscrete' as const] } : {}),
  };
}

export function getEuiccInfo1(env: Es10Env, command: Uint8Array): Uint8Array {
  decodeRequest(GetEuiccInfo1Request, command);
  return encode(EUICCInfo1, euiccInfo1(env.ctx));
}

export function getEuiccInfo2(env: Es10Env, command: Uint8Array): Uint8Array {
  decodeRequest(GetEuiccInfo2Request, command);
  return encode(EUICCInfo2, euiccInfo2(env.ctx));
}

// ---------------------------------------------------------------------------
// GetEUICCChallenge (5.7.7)

export function getEuiccChallenge(env: Es10Env, command: Uint8Array): Uint8Array {
  decodeRequest(GetEuiccChallengeRequest, command);
  const challenge = env.random(16);
  env.download.newSession(challenge);
  return encode(GetEuiccChallengeResponse, { euiccChallenge: challenge });
}

// ---------------------------------------------------------------------------
// Certificates

/** The namedCurve of a certificate's SubjectPublicKeyInfo: a CurveName, 'unsupported', or undefined when unreadable. */
export function certificateCurve(der: Uint8Array): CurveName | 'unsupported' | undefined {
  let cert: Tlv;
  try {
    cert = parseTlv(der, { der: false });
  } catch (e) {
    if (decodeFailure(e) !== undefined) return undefined; // not even a TLV: the chain check reports it
    throw e;
  }
  const tbs = cert.children[0];
  if (!tbs) return undefined;
  const first = tbs.children[0]?.tag === 0xa0 ? 1 : 0;
  const spki = tbs.children[first + 5];
  const curveTlv = spki?.children[0]?.children[1];
  if (!curveTlv || curveTlv.tag !== 0x06) return undefined;
  let name: string;
  try {
    name = oid().decodeTlv(curveTlv, { der: false, path: 'namedCurve' });
  } catch (e) {
    if (decodeFailure(e) !== undefined) return undefined; // malformed OID: the chain check reports it
    throw e;
  }
  return curveByOid(name) ?? 'unsupported';
}

/**
 * verifyChain for a certificate received from outside. certs/cert.ts lets some
 * @peculiar/x509 / asn1js exceptions escape for corrupt certificates (about 7% of
 * single bit flips); for the eUICC that is a malformed certificate (the trusted CIs
 * are keys parsed at start-up, so only the received certificate can throw).
 */
function verifyReceivedChain(der: Uint8Array, ci: TrustedCi, role: 'dpauth' | 'dppb'): ChainResult {
  try {
    return verifyChain(der, [], { trustedCis: [ci], at: null, expectedRole: role });
  } catch (e) {
    if (e instanceof Error) return { ok: false, reason: 'malformed', detail: `${e.name}: ${e.message}`, position: 'leaf' };
    throw e;
  }
}

function supportsCurve(ctx: EuiccContext, c: CurveName | 'unsupported' | undefined): boolean | undefined {
  if (c === undefined) return undefined;
  return c !== 'unsupported' && ctx.identities.some((i) => i.curve === c);
}

// ---------------------------------------------------------------------------
// AuthenticateServer (5.7.13)

function authError(transactionId: Uint8Array, code: number): Uint8Array {
  return encode(AuthenticateServerResponse, { authenticateResponseError: { transactionId, authenticateErrorCode: code } });
}

export function authenticateServer(env: Es10Env, command: Uint8Array): Uint8Array {
  const { ctx, download } = env;
  const req = decodeRequest(AuthenticateServerRequest, command);
  const ss1 = req.serverSigned1;
  const tid = ss1.transactionId;
  const session = download.session;
  if (!session || session.stage !== 'challenged') return authError(tid, AuthenticateErrorCode.noSessionContext);

  const ciKeyId = toHex(req.euiccCiPKIdToBeUsed).toLowerCase();
  const identity = ctx.identityForCi(ciKeyId);
  const ci = ctx.options.trustedCis.find((c) => c.keyId.toLowerCase() === ciKeyId);
  if (!identity || !ci) return authError(tid, AuthenticateErrorCode.ciPKUnknown);

  if (supportsCurve(ctx, certificateCurve(req.serverCertificate)) === false) return authError(tid, AuthenticateErrorCode.unsupportedCurve);
  const chain = verifyReceivedChain(req.serverCertificate, ci, 'dpauth');
  if (!chain.ok) {
    const code = chain.reason === 'wrongPolicy' || chain.reason === 'missingSanOid' ? AuthenticateErrorCode.invalidOid : AuthenticateErrorCode.invalidCertificate;
    return authError(tid, code);
  }
  const server = chain.chain[0]!;
  if (!ecdsaVerify(server.curve, server.publicKey, derOf(ServerSigned1, ss1), req.serverSignature1)) return authError(tid, AuthenticateErrorCode.invalidSignature);
  if (!equalBytes(ss1.euiccChallenge, session.euiccChallenge)) return authError(tid, AuthenticateErrorCode.euiccChallengeMismatch);

  // euiccSigned1 {transactionId, serverAddress, serverChallenge as received, euiccInfo2, ctxParams1 as received}
  const received = parseTlv(derOf(ServerSigned1, ss1));
  const field = (tag: number): Uint8Array => received.children.find((c) => c.tag === tag)!.raw;
  const euiccSigned1 = encodeTlv(SEQUENCE, true, concat([field(0x80), field(0x83), field(0x84), encode(EUICCInfo2, euiccInfo2(ctx)), derOf(CtxParams1, req.ctxParams1)]));
  const euiccSignature1 = identity.sign(euiccSigned1);
  download.session = {
    stage: 'authenticated',
    euiccChallenge: session.euiccChallenge,
    transactionId: tid,
    serverAddress: ss1.serverAddress,
    dpauthOid: server.sanRegisteredIds[0]!,
    identity,
    ci,
    euiccSignature1,
  };
  const ok = concat([euiccSigned1, encodeTlv(SIGNATURE, false, euiccSignature1), identity.certificate, identity.eumCertificate]);
  return encodeTlv(ctxTag(56), true, encodeTlv(ctxTag(0), true, ok));
}

// ---------------------------------------------------------------------------
// PrepareDownload (5.7.5)

function downloadError(transactionId: Uint8Array, code: number): Uint8Array {
  return encode(PrepareDownloadResponse, { downloadResponseError: { transactionId, downloadErrorCode: code } });
}

export function prepareDownload(env: Es10Env, command: Uint8Array): Uint8Array {
  const { download } = env;
  const req = decodeRequest(PrepareDownloadRequest, command);
  const signed = req.smdpSigned2;
  const tid = signed.transactionId;
  const s = download.session;
  if (!s || (s.stage !== 'authenticated' && s.stage !== 'prepared') || !s.identity || !s.ci || !s.transactionId || !s.euiccSignature1)
    return downloadError(tid, DownloadErrorCode.noSessionContext);

  if (supportsCurve(env.ctx, certificateCurve(req.smdpCertificate)) === false) return downloadError(tid, DownloadErrorCode.unsupportedCurve);
  const chain = verifyReceivedChain(req.smdpCertificate, s.ci, 'dppb');
  if (!chain.ok) return downloadError(tid, DownloadErrorCode.invalidCertificate);
  const dppb = chain.chain[0]!;
  const dppbOid = dppb.sanRegisteredIds[0]!;
  if (s.dpauthOid !== undefined && dppbOid !== s.dpauthOid) return downloadError(tid, DownloadErrorCode.invalidCertificate);

  if (!equalBytes(tid, s.transactionId)) return downloadError(tid, DownloadErrorCode.invalidTransactionId);
  const signedInput = concat([derOf(SmdpSigned2, signed), encodeTlv(SIGNATURE, false, s.euiccSignature1)]);
  if (!ecdsaVerify(dppb.curve, dppb.publicKey, signedInput, req.smdpSignature2)) return downloadError(tid, DownloadErrorCode.invalidSignature);
  if (signed.ccRequiredFlag && !req.hashCc) return downloadError(tid, DownloadErrorCode.undefinedError);

  const curve = s.identity.curve;
  const { key } = download.oneTimeKeyFor(curve, signed.bppEuiccOtpk, () => generateKeyPair(curve));
  const euiccSigned2: EuiccSigned2 = { transactionId: s.transactionId, euiccOtpk: key.publicKey, ...(req.hashCc ? { hashCc: req.hashCc } : {}) };
  const smdpSignature2Tlv = parseTlv(command).children.find((c) => c.tag === 0x5f37)!.raw;
  const euiccSignature2 = s.identity.sign(concat([encode(EuiccSigned2, euiccSigned2), smdpSignature2Tlv]));
  s.stage = 'prepared';
  s.dppb = { curve: dppb.curve, publicKey: dppb.publicKey, oid: dppbOid };
  s.oneTimeKey = key;
  delete s.bpp;
  return encode(PrepareDownloadResponse, { downloadResponseOk: { euiccSigned2, euiccSignature2 } });
}

// ---------------------------------------------------------------------------
// LoadBoundProfilePackage (5.7.6): one STORE DATA sequence of the BPP

export function loadBoundProfilePackage(env: Es10Env, command: Uint8Array): Uint8Array {
  return env.download.loadBpp(command);
}

// ---------------------------------------------------------------------------
// CancelSession (5.7.14)

export function cancelSession(env: Es10Env, command: Uint8Array): Uint8Array {
  const { download } = env;
  const req = decodeRequest(CancelSessionRequest, command);
  const s = download.session;
  if (!s || !s.transactionId || !s.identity || s.dpauthOid === undefined || !equalBytes(s.transactionId, req.transactionId)) {
    if (download.bppInProgress) download.interrupt();
    return encode(CancelSessionResponse, { cancelSessionResponseError: 5 });
  }
  const signed = { transactionId: s.transactionId, smdpOid: s.dpauthOid, reason: req.reason };
  const signature = s.identity.sign(encode(EuiccCancelSessionSigned, signed));
  download.interrupt();
  return encode(CancelSessionResponse, { cancelSessionResponseOk: { euiccCancelSessionSigned: signed, euiccCancelSessionSignature: signature } });
}

// ---------------------------------------------------------------------------
// Notifications (5.7.9-5.7.11)

function kindsOf(event: NotificationEvent | undefined): NotificationKind[] | undefined {
  return event === undefined ? undefined : kindsOfEvent(event);
}

export function listNotification(env: Es10Env, command: Uint8Array): Uint8Array {
  const req = decodeRequest(ListNotificationRequest, command);
  const list = pendingNotifications(env.ctx, kindsOf(req.profileManagementOperation));
  return encode(ListNotificationResponse, { notificationMetadataList: list.map(metadataOf) });
}

export function retrieveNotificationsList(env: Es10Env, command: Uint8Array): Uint8Array {
  const req = decodeRequest(RetrieveNotificationsListRequest, command);
  const sc = req.searchCriteria;
  const criteria = sc === undefined ? undefined : 'seqNumber' in sc ? { seqNumber: sc.seqNumber } : { kinds: kindsOfEvent(sc.profileManagementOperation) };
  const items = retrieveNotifications(env.ctx, criteria);
  return encodeTlv(ctxTag(43), true, encodeTlv(ctxTag(0), true, concat(items)));
}

export function notificationSent(env: Es10Env, command: Uint8Array): Uint8Array {
  const req = decodeRequest(NotificationSentRequest, command);
  const removed = removeNotification(env.ctx, req.seqNumber);
  if (removed) env.ctx.save();
  return encode(NotificationSentResponse, { deleteNotificationStatus: removed ? 0 : 1 });
}

// ---------------------------------------------------------------------------
// LoadCRL (5.7.12), GetRAT (5.7.22)

export function loadCrl(env: Es10Env, command: Uint8Array): Uint8Array {
  decodeRequest(LoadCRLRequest, command);
  return encode(LoadCRLResponse, { loadCRLResponseError: 127 });
}

export function getRat(env: Es10Env, command: Uint8Array): Uint8Array {
  decodeRequest(GetRatRequest, command);
  return encode(GetRatResponse, { rat: [...env.ctx.options.rat] });
}
