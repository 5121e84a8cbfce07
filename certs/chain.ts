// SGP.22 certificate chain check (SGP.22 4.5.2, 4.5.2.1.0.2 name constraints;
// used by ES9+.AuthenticateClient 5.6.3 and ES10b.AuthenticateServer 5.7.13):
// eUICC -> EUM -> CI, DPauth/DPpb/DPtls -> CI. NOT RFC 5280 path validation:
// issuers are found by AKI = SKI, roles by id-rspRole policy OIDs, and the EUM name
// constraint means "the EID starts with this serialNumber prefix", not DN subtree
// matching. Each failure cause has its own ChainFailure string.
import { verify as ecdsaVerify } from '../sim/crypto/ecdsa.ts';
import type { CurveName } from '../sim/crypto/curves.ts';
import { parseCert, CertParseError, RSP_POLICY, ECDSA_WITH_SHA256_OID, type ParsedCert, type NameAttribute } from './cert.ts';
import { isValidEid } from '../sim/rsp/eid.ts';

export type ChainRole = 'euicc' | 'eum' | 'dpauth' | 'dppb' | 'dptls';

export const CHAIN_ROLES: readonly ChainRole[] = ['euicc', 'eum', 'dpauth', 'dppb', 'dptls'];

/** Policy OID the leaf of each chain role must carry. */
export const CHAIN_ROLE_POLICY: Record<ChainRole, string> = {
  euicc: RSP_POLICY.EUICC,
  eum: RSP_POLICY.EUM,
  dpauth: RSP_POLICY.DPauth,
  dppb: RSP_POLICY.DPpb,
  dptls: RSP_POLICY.DPtls,
};

export type ChainFailure =
  | 'malformed'
  | 'wrongPolicy'
  | 'missingSanOid'
  | 'invalidEid'
  | 'eidOutsidePrefix'
  | 'notCa'
  | 'missingIntermediate'
  | 'wrongIssuer'
  | 'unknownCi'
  | 'badSignature'
  | 'expired'
  | 'notYetValid';

/** Which certificate of the chain a failure is about. */
export type ChainPosition = 'leaf' | 'eum' | 'ci';

/** A CI public key the verifier trusts (an eUICC only knows keys; an SM-DP+ may know the certificate). */
export interface TrustedCi {
  /** subject key identifier, lowercase hex */
  keyId: string;
  curve: CurveName;
  publicKey: Uint8Array;
  cert?: ParsedCert;
}

export interface VerifyChainOptions {
  /** CI certificates (DER) or bare CI keys */
  trustedCis: readonly (TrustedCi | Uint8Array)[];
  /** time to check validity at; null skips validity (an eUICC has no trusted clock) */
  at: Date | null;
  expectedRole: ChainRole;
}

export interface ChainSuccess {
  ok: true;
  ciKeyId: string;
  /** leaf first, then the EUM for eUICC chains; the CI is in `ci` */
  chain: ParsedCert[];
  ci: TrustedCi;
}

export interface ChainFailureResult {
  ok: false;
  reason: ChainFailure;
  detail: string;
  position: ChainPosition;
}

export type ChainResult = ChainSuccess | ChainFailureResult;

export function isChainRole(s: string): s is ChainRole {
  return (CHAIN_ROLES as readonly string[]).includes(s);
}

/** Chain role named by a certificate's policy, for certificates that can be a chain leaf. */
export function chainRoleOf(cert: ParsedCert): ChainRole | undefined {
  switch (cert.role) {
    case 'EUICC':
      return 'euicc';
    case 'EUM':
      return 'eum';
    case 'DPauth':
      return 'dpauth';
    case 'DPpb':
      return 'dppb';
    case 'DPtls':
      return 'dptls';
    default:
      return undefined;
  }
}

/** A trusted CI from its certificate (DER or PEM). */
export function trustedCiFromCert(input: Uint8Array | string): TrustedCi {
  const cert = parseCert(input);
  if (!cert.subjectKeyId) throw new CertParseError('CI certificate has no subjectKeyIdentifier');
  return { keyId: cert.subjectKeyId, curve: cert.curve, publicKey: cert.publicKey, cert };
}

class ChainStop extends Error {
  constructor(
    readonly reason: ChainFailure,
    readonly detail: string,
    readonly position: ChainPosition,
  ) {
    super(`${reason}: ${detail}`);
  }
}

function stop(reason: ChainFailure, detail: string, position: ChainPosition): never {
  throw new ChainStop(reason, detail, position);
}

function parseAt(der: Uint8Array, position: ChainPosition, what: string): ParsedCert {
  try {
    return parseCert(der);
  } catch (err) {
    if (err instanceof CertParseError) stop('malformed', `${what}: ${err.message}`, position);
    throw err;
  }
}

function sameName(a: readonly NameAttribute[], b: readonly NameAttribute[]): boolean {
  return a.length === b.length && a.every((x, i) => x.oid === b[i]!.oid && x.value === b[i]!.value);
}

function checkPolicy(cert: ParsedCert, expected: string, position: ChainPosition, what: string): void {
  if (!cert.policies.includes(expected))
    stop('wrongPolicy', `${what} has policy ${cert.policies.join(', ') || '(none)'}, expected ${expected}`, position);
}

function checkCa(cert: ParsedCert, position: ChainPosition, what: string): void {
  if (!cert.basicConstraints?.ca) stop('notCa', `${what} has no basicConstraints cA=TRUE`, position);
  if (cert.keyUsage && !cert.keyUsage.includes('keyCertSign')) stop('notCa', `${what} keyUsage lacks keyCertSign`, position);
}

interface SignerKey {
  curve: CurveName;
  publicKey: Uint8Array;
}

function checkSignature(cert: ParsedCert, signer: SignerKey, position: ChainPosition, what: string): void {
  if (cert.signatureAlgorithm !== ECDSA_WITH_SHA256_OID)
    stop('badSignature', `${what} signature algorithm ${cert.signatureAlgorithm} is not ecdsa-with-SHA256`, position);
  if (!cert.signatureRaw) stop('badSignature', `${what} signature is not a valid ECDSA-Sig-Value`, position);
  if (!ecdsaVerify(signer.curve, signer.publicKey, cert.tbs, cert.signatureRaw))
    stop('badSignature', `${what} signature does not verify with its issuer's key`, position);
}

function checkValidity(cert: ParsedCert, at: Date, position: ChainPosition, what: string): void {
  if (at.getTime() < cert.notBefore.getTime()) stop('notYetValid', `${what} is valid from ${cert.notBefore.toISOString()} (checked at ${at.toISOString()})`, position);
  if (at.getTime() > cert.notAfter.getTime()) stop('expired', `${what} expired ${cert.notAfter.toISOString()} (checked at ${at.toISOString()})`, position);
}

function toTrusted(ci: TrustedCi | Uint8Array): TrustedCi {
  return ci instanceof Uint8Array ? trustedCiFromCert(ci) : { ...ci, keyId: ci.keyId.toLowerCase() };
}

function run(leafDer: Uint8Array, intermediatesDer: readonly Uint8Array[], opts: VerifyChainOptions): ChainSuccess {
  const role = opts.expectedRole;
  const leaf = parseAt(leafDer, 'leaf', 'certificate');
  const leafWhat = `${role} certificate`;

  // 1. what the leaf must be
  checkPolicy(leaf, CHAIN_ROLE_POLICY[role], 'leaf', leafWhat);
  if ((role === 'dpauth' || role === 'dppb') && leaf.sanRegisteredIds.length === 0)
    stop('missingSanOid', `${leafWhat} has no subjectAltName registeredID (SM-DP+ OID)`, 'leaf');
  if (role === 'euicc') {
    if (leaf.eid === undefined) stop('invalidEid', `${leafWhat} subject has no serialNumber (EID)`, 'leaf');
    if (!isValidEid(leaf.eid)) stop('invalidEid', `EID ${leaf.eid} is not 32 digits with valid check digits`, 'leaf');
  }
  if (role === 'eum') checkCa(leaf, 'leaf', leafWhat);
  if (!leaf.authorityKeyId) stop('malformed', `${leafWhat} has no authorityKeyIdentifier`, 'leaf');

  // 2. the EUM of an eUICC certificate
  const chain: ParsedCert[] = [leaf];
  if (role === 'euicc') {
    const candidates = intermediatesDer.map((d, i) => parseAt(d, 'eum', `intermediate #${i + 1}`));
    const eum = candidates.find((c) => c.subjectKeyId === leaf.authorityKeyId);
    if (!eum) stop('missingIntermediate', `no EUM certificate with subjectKeyIdentifier ${leaf.authorityKeyId} was supplied`, 'eum');
    if (!sameName(leaf.issuerAttributes, eum.subjectAttributes))
      stop('wrongIssuer', `issuer '${leaf.issuer}' is not the subject of the EUM with key id ${eum.subjectKeyId} ('${eum.subject}')`, 'leaf');
    checkPolicy(eum, RSP_POLICY.EUM, 'eum', 'EUM certificate');
    checkCa(eum, 'eum', 'EUM certificate');
    if (eum.eidPrefix !== undefined && !leaf.eid!.startsWith(eum.eidPrefix))
      stop('eidOutsidePrefix', `EID ${leaf.eid} does not start with the EUM's permitted prefix ${eum.eidPrefix}`, 'leaf');
    if (!eum.authorityKeyId) stop('malformed', 'EUM certificate has no authorityKeyIdentifier', 'eum');
    chain.push(eum);
  }

  // 3. the CI
  const top = chain[chain.length - 1]!;
  const topPos: ChainPosition = chain.length > 1 ? 'eum' : 'leaf';
  const trusted = opts.trustedCis.map(toTrusted);
  const ci = trusted.find((t) => t.keyId === top.authorityKeyId);
  if (!ci) stop('unknownCi', `no trusted CI with key id ${top.authorityKeyId} (trusted: ${trusted.map((t) => t.keyId).join(', ') || 'none'})`, topPos);
  if (ci.cert && !sameName(top.issuerAttributes, ci.cert.subjectAttributes))
    stop('wrongIssuer', `issuer '${top.issuer}' is not the subject of CI ${ci.keyId} ('${ci.cert.subject}')`, topPos);

  // 4. signatures, top down
  if (chain.length > 1) checkSignature(chain[1]!, ci, 'eum', 'EUM certificate');
  checkSignature(leaf, chain.length > 1 ? chain[1]! : ci, 'leaf', leafWhat);

  // 5. validity
  if (opts.at) {
    if (ci.cert) checkValidity(ci.cert, opts.at, 'ci', 'CI certificate');
    if (chain.length > 1) checkValidity(chain[1]!, opts.at, 'eum', 'EUM certificate');
    checkValidity(leaf, opts.at, 'leaf', leafWhat);
  }
  return { ok: true, ciKeyId: ci.keyId, chain, ci };
}

/**
 * Check `leafDer` as a certificate of `expectedRole` up to one of the trusted CIs.
 * For 'euicc' the EUM is taken from `intermediatesDer` by AKI; other roles are
 * signed by the CI directly and ignore intermediates. Checks, in order: parsing,
 * role policy / SAN OID / EID, EUM linkage and constraints, CI lookup, signatures,
 * validity. Never throws for a bad certificate; throws only for a malformed
 * trusted CI certificate (a configuration error).
 */
export function verifyChain(leafDer: Uint8Array, intermediatesDer: readonly Uint8Array[], opts: VerifyChainOptions): ChainResult {
  try {
    return run(leafDer, intermediatesDer, opts);
  } catch (err) {
    if (err instanceof ChainStop) return { ok: false, reason: err.reason, detail: err.detail, position: err.position };
    throw err;
  }
}

/**
 * ES9+ statusCodeData (SGP.22 5.6.3 AuthenticateClient) for a failed eUICC chain:
 * EUM certificate 8.1.2, eUICC certificate 8.1.3, reason 6.3 expired / 6.1 invalid;
 * unknown CI 8.11.1 / 3.9.
 */
export function es9StatusForEuiccChain(f: ChainFailureResult): { subjectCode: string; reasonCode: string } {
  if (f.reason === 'unknownCi') return { subjectCode: '8.11.1', reasonCode: '3.9' };
  const subjectCode = f.position === 'leaf' ? '8.1.3' : '8.1.2';
  return { subjectCode, reasonCode: f.reason === 'expired' || f.reason === 'notYetValid' ? '6.3' : '6.1' };
}

/**
 * ES10b.AuthenticateServer error (SGP.22 5.7.13) for a failed DPauth chain:
 * ciPKUnknown 7 when the CI is not known, invalidCertificate 1 otherwise.
 */
export function authenticateServerErrorFor(reason: ChainFailure): 1 | 7 {
  return reason === 'unknownCi' ? 7 : 1;
}
