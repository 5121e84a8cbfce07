// The test side acting as an SM-DP+ towards the eUICC (not a case file): builds the
// ES10b.AuthenticateServer (SGP.22 5.7.13) and ES10b.PrepareDownload (5.7.5) inputs an
// SM-DP+ would relay through the LPA, signed with any certificate and key: the SGP.26
// DPauth/DPpb (valid) or an invalid variant minted by certs/issue.ts. The embedded
// SM-DP+ cannot be made to present arbitrary certificates, so these cases sign here and
// send the result through the bridge with the test LPA's ES10 driver. Also: an eUICC
// identity built from an invalid eUICC certificate (for the SM-DP+ side checks, 5.6.3).
import { randomBytes } from 'node:crypto';
import { concat, derOf, encode } from '../../sim/rsp/der.ts';
import { CtxParams1, ServerSigned1, Signature, SmdpSigned2, type EUICCInfo1 } from '../../sim/rsp/common.ts';
import { AuthenticateServerRequest, PrepareDownloadRequest } from '../../sim/rsp/es10b.ts';
import { sign } from '../../sim/crypto/ecdsa.ts';
import type { CurveName } from '../../sim/crypto/curves.ts';
import type { CurveKeyPair } from '../../sim/crypto/keys.ts';
import { loadCert, loadKeyPair } from '../../certs/store.ts';
import type { IssuedCert } from '../../certs/issue.ts';
import type { EuiccIdentity } from '../../sim/euicc/identity.ts';
import { DEFAULT_DEVICE_INFO } from '../../sim/lpa/flows.ts';
import { hexToBytes, toHex } from '../../sim/bytes.ts';

export type CurveTag = 'NIST' | 'BRP';

export const CURVE_OF: Record<CurveTag, CurveName> = { NIST: 'P-256', BRP: 'brainpoolP256r1' };

/** A certificate with the key that signs with it. */
export interface Signer {
  cert: Uint8Array;
  key: CurveKeyPair;
}

/** The SGP.26 DPauth/DPpb of a curve (valid, chained to the SGP.26 CI). */
export function sgp26Signer(role: 'DPauth' | 'DPpb', curve: CurveTag): Signer {
  return { cert: loadCert(`${role}_${curve}`).der, key: loadKeyPair(`${role}_${curve}`) };
}

export function signerOf(issued: IssuedCert): Signer {
  return { cert: issued.der, key: issued.key };
}

/** Subject key identifier of the SGP.26 CI of a curve (bytes). */
export function sgp26CiKeyId(curve: CurveTag): Uint8Array {
  const id = loadCert(`CI_${curve}`).subjectKeyId;
  if (!id) throw new Error(`CI_${curve} has no subject key identifier`);
  return hexToBytes(id);
}

/** The SGP.26 curve the eUICC verifies with (NIST preferred), from its EUICCInfo1. */
export function curveFor(info1: EUICCInfo1): CurveTag | undefined {
  const listed = info1.euiccCiPKIdListForVerification.map((k) => toHex(k).toLowerCase());
  for (const tag of ['NIST', 'BRP'] as const) if (listed.includes(toHex(sgp26CiKeyId(tag)).toLowerCase())) return tag;
  return undefined;
}

export function random16(): Uint8Array {
  return new Uint8Array(randomBytes(16));
}

export interface AuthenticateServerInput {
  transactionId: Uint8Array;
  euiccChallenge: Uint8Array;
  serverAddress: string;
  serverChallenge?: Uint8Array;
  signer: Signer;
  /** euiccCiPKIdToBeUsed */
  ciKeyId: Uint8Array;
  matchingId?: string;
}

/** AuthenticateServerRequest ('BF38') signed by `signer` over serverSigned1. */
export function authenticateServerRequest(i: AuthenticateServerInput): Uint8Array {
  const serverSigned1 = { transactionId: i.transactionId, euiccChallenge: i.euiccChallenge, serverAddress: i.serverAddress, serverChallenge: i.serverChallenge ?? random16() };
  const signature = sign(i.signer.key.curve, i.signer.key.privateKey, derOf(ServerSigned1, serverSigned1));
  return encode(AuthenticateServerRequest, {
    serverSigned1,
    serverSignature1: signature,
    euiccCiPKIdToBeUsed: i.ciKeyId,
    serverCertificate: i.signer.cert,
    ctxParams1: { ctxParamsForCommonAuthentication: { ...(i.matchingId !== undefined ? { matchingId: i.matchingId } : {}), deviceInfo: DEFAULT_DEVICE_INFO } },
  });
}

export interface PrepareDownloadInput {
  transactionId: Uint8Array;
  /** euiccSignature1 of the AuthenticateServer response (raw r||s) */
  euiccSignature1: Uint8Array;
  signer: Signer;
  ccRequired?: boolean;
}

/** PrepareDownloadRequest ('BF21'): smdpSignature2 over smdpSigned2 || 5F37 euiccSignature1. */
export function prepareDownloadRequest(i: PrepareDownloadInput): Uint8Array {
  const smdpSigned2 = { transactionId: i.transactionId, ccRequiredFlag: i.ccRequired ?? false };
  const signature = sign(i.signer.key.curve, i.signer.key.privateKey, concat([derOf(SmdpSigned2, smdpSigned2), encode(Signature, i.euiccSignature1)]));
  return encode(PrepareDownloadRequest, { smdpSigned2, smdpSignature2: signature, smdpCertificate: i.signer.cert });
}

/** CtxParams1 DER as the eUICC signs it (for checks). */
export function ctxParams1(matchingId?: string): Uint8Array {
  return encode(CtxParams1, { ctxParamsForCommonAuthentication: { ...(matchingId !== undefined ? { matchingId } : {}), deviceInfo: DEFAULT_DEVICE_INFO } });
}

/**
 * An eUICC identity from a (possibly invalid) eUICC certificate, its EUM certificate and
 * the leaf key. `ciKeyId` is what the eUICC announces in EUICCInfo1: the SGP.26 CI, so that
 * the SM-DP+ goes on to check the chain even when the EUM was signed by another CI.
 */
export function identityFrom(leaf: IssuedCert, eumCertificate: Uint8Array, ciKeyId: Uint8Array): EuiccIdentity {
  const eid = leaf.cert.subjectAttributes.find((a) => a.type === 'serialNumber')?.value;
  if (eid === undefined) throw new Error('the eUICC certificate has no serialNumber (EID)');
  const key = leaf.key;
  return {
    curve: key.curve,
    eid,
    certificate: leaf.der,
    eumCertificate,
    ciKeyId: toHex(ciKeyId).toLowerCase(),
    sign: (message: Uint8Array) => sign(key.curve, key.privateKey, message),
  };
}
