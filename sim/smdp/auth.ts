// Common mutual authentication, server side (SGP.22 3.1.3): ES9+/ES11.InitiateAuthentication
// (5.6.1, 5.8.1) picks the CI/curve from euiccInfo1's key id lists, issues transactionId and
// serverChallenge and signs serverSigned1 with SK.DPauth; ES9+/ES11.AuthenticateClient
// (5.6.3, 5.8.2) checks the eUICC/EUM chain with the SGP.22 rules (certs/chain.ts), euiccSignature1
// over the received euiccSigned1 bytes, the transactionId and the serverChallenge.
import { randomBytes } from 'node:crypto';
import { derOf } from '../rsp/der.ts';
import { EUICCInfo1, EuiccSigned1, ServerSigned1, Signature, SubjectKeyIdentifier, type CtxParamsForCommonAuthentication } from '../rsp/common.ts';
import { AuthenticateServerResponse, type AuthenticateResponseOk } from '../rsp/es10b.ts';
import { AuthenticateErrorCode } from '../rsp/results.ts';
import {
  base64ToBytes,
  bytesToBase64,
  decodeField,
  JsonFieldError,
  Status,
  statusNameOf,
  transactionIdFromHex,
  transactionIdToHex,
  type InitiateAuthenticationOkJson,
  type StatusCode,
} from '../rsp/json.ts';
import { verifyChain, es9StatusForEuiccChain } from '../../certs/chain.ts';
import { parseCert, CertParseError, type ParsedCert } from '../../certs/cert.ts';
import { verify } from '../crypto/ecdsa.ts';
import { equalBytes, hexToBytes, toHex, toUpperHex } from '../bytes.ts';
import { RspFunctionError, SMDP_STATUS } from './errors.ts';
import type { SmdpCore } from './core.ts';
import { flipLastBit, wrongTransactionId } from './misbehaviour.ts';
import { sessionAllows, type SessionFunction, type SessionKind, type SessionRecord } from './session.ts';
import { deleteSession, makeRoomForSessions, newTransactionId, sessionExpired } from './retention.ts';

export interface InitiateInput {
  kind: SessionKind;
  euiccChallenge: string;
  euiccInfo1: string;
  /** smdpAddress (ES9+) or smdsAddress (ES11) */
  address: string;
  /** network address of the client (kept with the session: who may cancel it before AuthenticateClient) */
  clientAddress?: string;
}

/** Shared body of ES9+/ES11.InitiateAuthentication; returns the success fields. */
export function initiateAuthentication(core: SmdpCore, input: InitiateInput): InitiateAuthenticationOkJson {
  const euiccChallenge = base64ToBytes(input.euiccChallenge, 'euiccChallenge');
  if (euiccChallenge.byteLength !== 16) throw new RspFunctionError(SMDP_STATUS.InvalidRequest, `euiccChallenge must be 16 bytes, got ${euiccChallenge.byteLength}`, 400);
  const info1 = decodeField('euiccInfo1', input.euiccInfo1, EUICCInfo1);

  if (input.kind === 'es9' && !core.isOurAddress(input.address))
    throw new RspFunctionError(Status.InvalidSmdpAddress, `'${input.address}' is not this SM-DP+ (${core.address})`);
  if (input.kind === 'es11' && !core.isOurSmdsAddress(input.address))
    throw new RspFunctionError(SMDP_STATUS.InvalidSmdsAddress, `'${input.address}' is not this SM-DS (${core.smdsAddress})`);
  if (info1.svn[0] !== 2) throw new RspFunctionError(Status.UnsupportedSvn, `SVN ${[...info1.svn].join('.')} is not supported (2.x expected)`);

  const verification = info1.euiccCiPKIdListForVerification.map((k) => toHex(k));
  const signing = info1.euiccCiPKIdListForSigning.map((k) => toHex(k));
  const ciKeyId = verification.find((k) => core.credentials.forCi(k) !== undefined);
  if (ciKeyId === undefined)
    throw new RspFunctionError(Status.NoSupportedCiPkId, `none of euiccCiPKIdListForVerification [${verification.join(', ')}] is a CI this SM-DP+ has certificates for`);
  if (!signing.some((k) => core.credentials.isTrustedCi(k)))
    throw new RspFunctionError(Status.NoSupportedCiPkId, `none of euiccCiPKIdListForSigning [${signing.join(', ')}] is a CI this SM-DP+ trusts`);
  const creds = core.credentials.forCi(ciKeyId, core.expiredCerts());
  if (!creds) throw new RspFunctionError(Status.NoDpAuthCertificateForCi);

  const transactionId = newTransactionId(core.now());
  const serverChallenge = new Uint8Array(randomBytes(16));
  const m = core.misbehaviour;
  const serverAddress = m.serverAddress ?? input.address;
  const serverSigned1 = ServerSigned1.encode({
    transactionId: m.wrongTransactionId?.includes('serverSigned1') ? wrongTransactionId(transactionId) : transactionId,
    euiccChallenge,
    serverAddress,
    serverChallenge,
  });
  let serverSignature1 = creds.dpAuth.sign(serverSigned1);
  if (m.corruptSignatures?.includes('serverSignature1')) serverSignature1 = flipLastBit(serverSignature1);

  const now = core.now();
  const session: SessionRecord = {
    transactionId: toUpperHex(transactionId),
    kind: input.kind,
    state: 'authInitiated',
    createdAt: now,
    updatedAt: now,
    curve: creds.curve,
    ciKeyId,
    signingCiKeyIds: signing,
    euiccChallenge: toHex(euiccChallenge),
    serverChallenge: toHex(serverChallenge),
    serverAddress,
    ...(input.clientAddress !== undefined ? { clientAddress: input.clientAddress } : {}),
  };
  core.db.tx(() => {
    const evicted = makeRoomForSessions(core.db, core.options.retention);
    if (evicted) core.log('warn', `${evicted} oldest session(s) removed: more than ${core.options.retention.maxSessions} sessions`);
    core.db.sessions.put(session.transactionId, session);
  });
  core.log('info', `${input.kind} session ${session.transactionId} started (${creds.curve})`);
  return {
    transactionId: transactionIdToHex(m.wrongTransactionId?.includes('response') ? wrongTransactionId(transactionId) : transactionId),
    serverSigned1: bytesToBase64(serverSigned1),
    serverSignature1: bytesToBase64(Signature.encode(serverSignature1)),
    euiccCiPKIdToBeUsed: bytesToBase64(SubjectKeyIdentifier.encode(hexToBytes(ciKeyId))),
    serverCertificate: bytesToBase64(creds.dpAuth.cert.der),
  };
}

/**
 * The live session of a transactionId, or undefined; a session past its lifetime
 * (retention.ts) is deleted here and counts as unknown.
 */
export function liveSession(core: SmdpCore, id: string): SessionRecord | undefined {
  const s = core.db.sessions.get(id);
  if (!s || !sessionExpired(s, core.options.retention, core.now())) return s;
  core.db.tx(() => deleteSession(core.db, s));
  core.log('info', `session ${id} expired (last step ${new Date(s.updatedAt).toISOString()})`);
  return undefined;
}

/** The session a function addresses; unknown, expired, of another kind or in a state that does not allow it: 8.10.1/3.9. */
export function sessionFor(core: SmdpCore, transactionIdHex: string, fn: SessionFunction): SessionRecord {
  const id = toUpperHex(transactionIdFromHex(transactionIdHex));
  const s = liveSession(core, id);
  if (!s) throw new RspFunctionError(Status.UnknownTransactionId, `transactionId ${id} is unknown or expired`);
  if (!sessionAllows(s, fn)) throw new RspFunctionError(Status.UnknownTransactionId, `transactionId ${id} is not in a state that allows ${fn} (${s.kind} ${s.state})`);
  return s;
}

/** Mark a session failed with the status it failed with (inside or outside a tx). */
export function failSession(core: SmdpCore, transactionId: string, status: StatusCode): void {
  core.db.tx(() => {
    const s = core.db.sessions.get(transactionId);
    if (s && s.state !== 'completed' && s.state !== 'cancelled') core.db.sessions.put(transactionId, { ...s, state: 'failed', failure: status, updatedAt: core.now() });
  });
}

/** Run a step of a session; any function error leaves the session 'failed'. */
export function guarded<T>(core: SmdpCore, session: SessionRecord, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof RspFunctionError) failSession(core, session.transactionId, e.status);
    else if (e instanceof JsonFieldError) failSession(core, session.transactionId, SMDP_STATUS.InvalidRequest);
    throw e;
  }
}

export interface AuthenticatedEuicc {
  eid: string;
  euiccCert: ParsedCert;
  euiccSigned1: EuiccSigned1;
  /** raw r||s as received */
  euiccSignature1: Uint8Array;
  ctx: CtxParamsForCommonAuthentication;
}

/**
 * Verify an AuthenticateServerResponse against its session (5.6.3 steps common to ES9+ and
 * ES11). Throws RspFunctionError with the exact status for every check that fails.
 */
export function verifyAuthenticateServerResponse(core: SmdpCore, session: SessionRecord, field: string, b64: string): AuthenticatedEuicc {
  const resp = decodeField(field, b64, AuthenticateServerResponse);
  if ('authenticateResponseError' in resp) {
    const code = resp.authenticateResponseError.authenticateErrorCode;
    throw new RspFunctionError(SMDP_STATUS.EuiccReturnedError, `the eUICC refused the server: authenticateErrorCode ${AuthenticateErrorCode.describe(code)} (${code})`);
  }
  const ok: AuthenticateResponseOk = resp.authenticateResponseOk;
  const signedTx = toUpperHex(ok.euiccSigned1.transactionId);
  if (signedTx !== session.transactionId) throw new RspFunctionError(Status.UnknownTransactionId, `euiccSigned1.transactionId ${signedTx} is not the session's ${session.transactionId}`);

  const chain = verifyChain(ok.euiccCertificate, [ok.eumCertificate], { trustedCis: core.credentials.trustedCis, at: new Date(core.now()), expectedRole: 'euicc' });
  if (!chain.ok) {
    const code = es9StatusForEuiccChain(chain);
    const name = statusNameOf(code);
    const status = name !== undefined ? Status[name] : Status.EuiccCertificateInvalid;
    throw new RspFunctionError(status, `eUICC certificate chain: ${chain.reason}: ${chain.detail}`);
  }
  if (!session.signingCiKeyIds.includes(chain.ciKeyId))
    throw new RspFunctionError(Status.UnknownCiPublicKey, `the eUICC chain ends at CI ${chain.ciKeyId}, not in euiccCiPKIdListForSigning`);
  let euiccCert: ParsedCert;
  try {
    euiccCert = parseCert(ok.euiccCertificate);
  } catch (e) {
    if (e instanceof CertParseError) throw new RspFunctionError(Status.EuiccCertificateInvalid, e.message);
    throw e;
  }
  const signed = derOf(EuiccSigned1, ok.euiccSigned1);
  if (!verify(euiccCert.curve, euiccCert.publicKey, signed, ok.euiccSignature1)) throw new RspFunctionError(Status.EuiccSignatureInvalid, 'euiccSignature1 does not verify over euiccSigned1');
  if (!equalBytes(ok.euiccSigned1.serverChallenge, hexToBytes(session.serverChallenge)))
    throw new RspFunctionError(Status.EuiccSignatureInvalid, 'euiccSigned1.serverChallenge is not the one of this session');
  const ctx = ok.euiccSigned1.ctxParams1.ctxParamsForCommonAuthentication;
  return { eid: euiccCert.eid!, euiccCert, euiccSigned1: ok.euiccSigned1, euiccSignature1: ok.euiccSignature1, ctx };
}

/** Verify an eUICC signature with the certificate attached to a session. */
export function verifyWithSessionCert(session: SessionRecord, message: Uint8Array, signature: Uint8Array): boolean {
  if (!session.euiccCertificate) return false;
  const cert = parseCert(hexToBytes(session.euiccCertificate));
  return verify(cert.curve, cert.publicKey, message, signature);
}
