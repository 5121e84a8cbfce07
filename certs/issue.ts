// Certificate generator for the SGP.22 test PKI (SGP.22 4.5.2 certificates,
// SGP.26 test certificates): mints eUICC, EUM, DPauth, DPpb and DPtls certificates
// from the SGP.26 CI/EUM keys (or from a freshly generated rogue CI), and the
// invalid variants the negative tests need (expired, unknown CI, bad signature,
// EID outside the EUM prefix, wrong policy, missing SAN OID ...). The TBS is built
// with @peculiar/x509 and signed through noble, so brainpool works like P-256.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { randomBytes, randomInt } from 'node:crypto';
import { sha1 } from '@noble/hashes/legacy.js';
import { sign, rawToDer } from '../sim/crypto/ecdsa.ts';
import { encodeSpki, encodePrivateKeyPem, generateKey, type CurveKeyPair } from '../sim/crypto/keys.ts';
import type { CurveName } from '../sim/crypto/curves.ts';
import { toHex } from '../sim/bytes.ts';
import { parseTlv } from '../sim/rsp/der.ts';
import { parseCert, certificatePem, RSP_POLICY, type KeyUsageName, type ParsedCert } from './cert.ts';
import { loadCert, loadKeyPair } from './store.ts';
import { isValidEid, completeEid } from '../sim/rsp/eid.ts';
import type { ChainFailure, ChainRole } from './chain.ts';

export class IssueError extends Error {
  override readonly name = 'IssueError';
}

/** Attribute types a name may use here (PrintableString for C and serialNumber, UTF8String otherwise, as SGP.26). */
export type NameType = 'C' | 'O' | 'OU' | 'CN' | 'serialNumber';
export type NameSpec = readonly (readonly [NameType, string])[];

const NAME_OIDS: Record<NameType, string> = { C: '2.5.4.6', O: '2.5.4.10', OU: '2.5.4.11', CN: '2.5.4.3', serialNumber: '2.5.4.5' };

/** A certificate and the key that signs with it. */
export interface Authority {
  cert: ParsedCert;
  key: CurveKeyPair;
}

export interface CertSpec {
  subject: NameSpec;
  /** subject public key */
  subjectKey: { curve: CurveName; publicKey: Uint8Array };
  /** signer; 'self' for a self-signed CI (signed with `selfKey`) */
  issuer: Authority | { self: CurveKeyPair };
  /** hex; random 8 bytes when absent */
  serialNumber?: string;
  notBefore: Date;
  notAfter: Date;
  policies: readonly string[];
  policiesCritical: boolean;
  keyUsage: readonly KeyUsageName[];
  extendedKeyUsage?: readonly string[];
  basicConstraints?: { ca: boolean; pathLength?: number };
  sanRegisteredIds?: readonly string[];
  sanDnsNames?: readonly string[];
  /** EUM name constraint: permitted directoryName O=<organization>, serialNumber=<prefix> */
  nameConstraint?: { organization: string; serialNumber: string };
  crlUrls?: readonly string[];
  /** override the issuer DN (default: the issuer certificate's subject, byte for byte) */
  issuerName?: NameSpec;
}

export interface IssuedCert {
  der: Uint8Array;
  pem: string;
  cert: ParsedCert;
  key: CurveKeyPair;
  /** PKCS#8 PEM of `key` */
  keyPem: string;
}

// ---------------------------------------------------------------------------
// DER pieces

function tlv(tag: number, content: Uint8Array): Uint8Array {
  const len = content.length;
  let header: number[];
  if (len < 0x80) header = [tag, len];
  else if (len < 0x100) header = [tag, 0x81, len];
  else if (len < 0x10000) header = [tag, 0x82, len >> 8, len & 0xff];
  else throw new IssueError('DER element too long');
  const out = new Uint8Array(header.length + len);
  out.set(header);
  out.set(content, header.length);
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function x509Name(spec: NameSpec): x509.Name {
  return new x509.Name(
    spec.map(([type, value]) => ({
      [NAME_OIDS[type]]: [type === 'C' || type === 'serialNumber' ? { printableString: value } : { utf8String: value }],
    })),
  );
}

/** RFC 5280 4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING value. */
export function keyIdentifier(publicKey: Uint8Array): string {
  return toHex(sha1(publicKey));
}

function nameConstraintsValue(nc: { organization: string; serialNumber: string }): Uint8Array {
  const name = new Uint8Array(x509Name([['O', nc.organization], ['serialNumber', nc.serialNumber]]).toArrayBuffer());
  const subtree = tlv(0x30, tlv(0xa4, name)); // GeneralSubtree { base directoryName [4] }
  return tlv(0x30, tlv(0xa0, subtree)); // NameConstraints { permittedSubtrees [0] }
}

function keyUsageFlags(names: readonly KeyUsageName[]): number {
  return names.reduce((f, n) => f | x509.KeyUsageFlags[n], 0);
}

function randomSerial(): string {
  const b = randomBytes(8);
  b[0] = (b[0]! & 0x7f) | 0x01; // positive, 8 significant bytes
  return toHex(b);
}

/** Build, sign and encode a certificate. */
export async function issueCertificate(spec: CertSpec): Promise<Uint8Array> {
  const signer: CurveKeyPair = 'self' in spec.issuer ? spec.issuer.self : spec.issuer.key;
  const issuerName =
    spec.issuerName !== undefined
      ? x509Name(spec.issuerName)
      : 'self' in spec.issuer
        ? x509Name(spec.subject)
        : new x509.Name(spec.issuer.cert.subjectDer);
  const authorityKeyId = 'self' in spec.issuer ? undefined : spec.issuer.cert.subjectKeyId;

  const extensions: x509.Extension[] = [];
  if (authorityKeyId) extensions.push(new x509.AuthorityKeyIdentifierExtension(authorityKeyId));
  extensions.push(new x509.SubjectKeyIdentifierExtension(keyIdentifier(spec.subjectKey.publicKey)));
  extensions.push(new x509.KeyUsagesExtension(keyUsageFlags(spec.keyUsage), true));
  if (spec.extendedKeyUsage?.length) extensions.push(new x509.ExtendedKeyUsageExtension([...spec.extendedKeyUsage], true));
  extensions.push(new x509.CertificatePolicyExtension([...spec.policies], spec.policiesCritical));
  const san = [...(spec.sanDnsNames ?? []).map((value) => ({ type: 'dns' as const, value })), ...(spec.sanRegisteredIds ?? []).map((value) => ({ type: 'id' as const, value }))];
  if (san.length) extensions.push(new x509.SubjectAlternativeNameExtension(san, false));
  if (spec.basicConstraints) extensions.push(new x509.BasicConstraintsExtension(spec.basicConstraints.ca, spec.basicConstraints.pathLength, true));
  if (spec.crlUrls?.length) extensions.push(new x509.CRLDistributionPointsExtension([...spec.crlUrls]));
  if (spec.nameConstraint) extensions.push(new x509.Extension('2.5.29.30', true, nameConstraintsValue(spec.nameConstraint)));

  // x509 builds the TBSCertificate; the placeholder signature is replaced below.
  const draft = await x509.X509CertificateGenerator.create({
    serialNumber: spec.serialNumber ?? randomSerial(),
    subject: x509Name(spec.subject),
    issuer: issuerName,
    notBefore: spec.notBefore,
    notAfter: spec.notAfter,
    publicKey: encodeSpki(spec.subjectKey.curve, spec.subjectKey.publicKey),
    signature: new Uint8Array(64).fill(1),
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions,
  });
  const draftTlv = parseTlv(new Uint8Array(draft.rawData));
  const [tbs, alg] = draftTlv.children;
  if (!tbs || !alg) throw new IssueError('certificate draft has no TBSCertificate');
  const signature = rawToDer(sign(signer.curve, signer.privateKey, tbs.raw));
  return tlv(0x30, concat(tbs.raw, alg.raw, tlv(0x03, concat(new Uint8Array([0]), signature))));
}

async function finish(spec: CertSpec, key: CurveKeyPair): Promise<IssuedCert> {
  const der = await issueCertificate(spec);
  return { der, pem: certificatePem(der), cert: parseCert(der), key, keyPem: encodePrivateKeyPem(key) };
}

// ---------------------------------------------------------------------------
// Roles

const DAY = 86_400_000;
/** RFC 5280 4.1.2.5: "no well-defined expiration date". */
export const NO_EXPIRY = new Date(Date.UTC(9999, 11, 31, 23, 59, 59));
const TEST_CRLS = ['http://ci.test.example.com/CRL-A.crl', 'http://ci.test.example.com/CRL-B.crl'];

export const SGP26_EID_PREFIX = '89049032';
/** SM-DP+ OID of the SGP.26 DPauth/DPpb/DPtls certificates (SGP.23 SM-DP+OID1). */
export const SGP26_SMDP_OID = '2.999.10';

function curveTag(curve: CurveName): 'NIST' | 'BRP' {
  return curve === 'P-256' ? 'NIST' : 'BRP';
}

/** A store certificate and its key as a signing authority (CI_NIST, EUM_BRP ...). */
export function storeAuthority(name: 'CI_NIST' | 'CI_BRP' | 'EUM_NIST' | 'EUM_BRP'): Authority {
  return { cert: loadCert(name), key: loadKeyPair(name) };
}

export interface IssueOptions {
  curve?: CurveName;
  /** subject key; generated when absent */
  key?: CurveKeyPair;
  notBefore?: Date;
  notAfter?: Date;
  serialNumber?: string;
  /** override the policy OID (negative tests) */
  policy?: string;
  /** signer; default the SGP.26 CI (or EUM for eUICC certificates) of the same curve */
  issuer?: Authority;
  /** override the issuer DN (negative tests) */
  issuerName?: NameSpec;
}

function subjectKey(opts: IssueOptions): CurveKeyPair {
  const key = opts.key ?? generateKey(opts.curve ?? 'P-256');
  if (opts.curve && key.curve !== opts.curve) throw new IssueError(`key is ${key.curve}, curve option says ${opts.curve}`);
  return key;
}

function common(opts: IssueOptions): Pick<CertSpec, 'notBefore' | 'notAfter'> & { serialNumber?: string; issuerName?: NameSpec } {
  return {
    notBefore: opts.notBefore ?? new Date(Date.now() - DAY),
    notAfter: opts.notAfter ?? new Date(Date.now() + 365 * DAY),
    ...(opts.serialNumber !== undefined ? { serialNumber: opts.serialNumber } : {}),
    ...(opts.issuerName !== undefined ? { issuerName: opts.issuerName } : {}),
  };
}

/**
 * An eUICC certificate like the SGP.26 one: subject C=ES, O=RSP Test EUM,
 * serialNumber=<EID>, CN=Test eUICC; policy 2.23.146.1.2.1.1 (critical);
 * keyUsage digitalSignature; AKI = EUM SKI. Valid until 9999 unless notAfter is
 * given. The EID must be valid and under the EUM prefix unless `unchecked`.
 */
export async function issueEuicc(opts: IssueOptions & { eid: string; unchecked?: boolean }): Promise<IssuedCert> {
  const key = subjectKey(opts);
  const eum = opts.issuer ?? storeAuthority(`EUM_${curveTag(key.curve)}`);
  if (!opts.unchecked) {
    if (!isValidEid(opts.eid)) throw new IssueError(`EID ${opts.eid} is not 32 digits with valid check digits (expected ${/^[0-9]{30}/.test(opts.eid) ? completeEid(opts.eid.slice(0, 30)) : '32 digits'})`);
    if (eum.cert.eidPrefix !== undefined && !opts.eid.startsWith(eum.cert.eidPrefix))
      throw new IssueError(`EID ${opts.eid} is outside the EUM prefix ${eum.cert.eidPrefix}`);
  }
  const org = eum.cert.nameConstraintOrganization ?? eum.cert.subjectAttributes.find((a) => a.type === 'O')?.value ?? 'RSP Test EUM';
  return finish(
    {
      ...common(opts),
      notAfter: opts.notAfter ?? NO_EXPIRY,
      subject: [['C', 'ES'], ['O', org], ['serialNumber', opts.eid], ['CN', 'Test eUICC']],
      subjectKey: key,
      issuer: eum,
      policies: [opts.policy ?? RSP_POLICY.EUICC],
      policiesCritical: true,
      keyUsage: ['digitalSignature'],
    },
    key,
  );
}

/** An EUM certificate (CA, pathLen 0, name constraint O + serialNumber prefix) signed by a CI. */
export async function issueEum(opts: IssueOptions & { prefix?: string; organization?: string; ca?: boolean }): Promise<IssuedCert> {
  const key = subjectKey(opts);
  const ci = opts.issuer ?? storeAuthority(`CI_${curveTag(key.curve)}`);
  const organization = opts.organization ?? 'RSP Test EUM';
  const ca = opts.ca ?? true;
  return finish(
    {
      ...common(opts),
      notAfter: opts.notAfter ?? new Date(Date.now() + 20 * 365 * DAY),
      subject: [['C', 'ES'], ['O', organization], ['CN', 'EUM Test']],
      subjectKey: key,
      issuer: ci,
      policies: [opts.policy ?? RSP_POLICY.EUM],
      policiesCritical: true,
      keyUsage: ca ? ['keyCertSign'] : ['digitalSignature'],
      ...(ca ? { basicConstraints: { ca: true, pathLength: 0 } } : {}),
      sanRegisteredIds: ['2.999.5'],
      crlUrls: [TEST_CRLS[1]!],
      nameConstraint: { organization, serialNumber: opts.prefix ?? SGP26_EID_PREFIX },
    },
    key,
  );
}

/** DPauth (policy .1.4) or DPpb (.1.5) certificate: O=ACME, CN=TEST SM-DP+, SAN registeredID = SM-DP+ OID. */
async function issueDpSigning(kind: 'DPauth' | 'DPpb', opts: IssueOptions & { smdpOid?: string | null; commonName?: string }): Promise<IssuedCert> {
  const key = subjectKey(opts);
  const ci = opts.issuer ?? storeAuthority(`CI_${curveTag(key.curve)}`);
  const oid = opts.smdpOid === undefined ? SGP26_SMDP_OID : opts.smdpOid;
  return finish(
    {
      ...common(opts),
      subject: [['O', 'ACME'], ['CN', opts.commonName ?? 'TEST SM-DP+']],
      subjectKey: key,
      issuer: ci,
      policies: [opts.policy ?? RSP_POLICY[kind]],
      policiesCritical: true,
      keyUsage: ['digitalSignature'],
      ...(oid !== null ? { sanRegisteredIds: [oid] } : {}),
      crlUrls: TEST_CRLS,
    },
    key,
  );
}

/** DPauth certificate; `smdpOid: null` leaves out the SAN registeredID. */
export function issueDpAuth(opts: IssueOptions & { smdpOid?: string | null; commonName?: string } = {}): Promise<IssuedCert> {
  return issueDpSigning('DPauth', opts);
}

/** DPpb certificate; `smdpOid: null` leaves out the SAN registeredID. */
export function issueDpPb(opts: IssueOptions & { smdpOid?: string | null; commonName?: string } = {}): Promise<IssuedCert> {
  return issueDpSigning('DPpb', opts);
}

const HOST_RE = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

export function isValidHostname(host: string): boolean {
  return HOST_RE.test(host);
}

/**
 * A DPtls certificate like CERT_S_SM_DP_VARO_TLS: O=ACME, CN=<host>, SAN dNSName
 * <host> (+ registeredID, default 2.999.10), policy 2.23.146.1.2.1.3,
 * extendedKeyUsage serverAuth + clientAuth (critical), signed by the CI.
 */
export async function issueTls(opts: IssueOptions & { host: string; smdpOid?: string | null }): Promise<IssuedCert> {
  if (!isValidHostname(opts.host)) throw new IssueError(`'${opts.host}' is not a valid DNS host name`);
  const key = subjectKey(opts);
  const ci = opts.issuer ?? storeAuthority(`CI_${curveTag(key.curve)}`);
  const oid = opts.smdpOid === undefined ? SGP26_SMDP_OID : opts.smdpOid;
  return finish(
    {
      ...common(opts),
      subject: [['O', 'ACME'], ['CN', opts.host]],
      subjectKey: key,
      issuer: ci,
      policies: [opts.policy ?? RSP_POLICY.DPtls],
      policiesCritical: false,
      keyUsage: ['digitalSignature'],
      extendedKeyUsage: [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth],
      sanDnsNames: [opts.host],
      ...(oid !== null ? { sanRegisteredIds: [oid] } : {}),
      crlUrls: ['http://ci.test.example.com/CRL-1.crl', 'http://ci.test.example.com/CRL-2.crl'],
    },
    key,
  );
}

/** A freshly generated, self-signed CI that no store or eUICC trusts. */
export async function generateRogueCi(curve: CurveName = 'P-256'): Promise<IssuedCert> {
  const key = generateKey(curve);
  return finish(
    {
      subject: [['CN', 'Rogue Test CI'], ['OU', 'TESTCERT'], ['O', 'bridgelab'], ['C', 'IT']],
      subjectKey: key,
      issuer: { self: key },
      notBefore: new Date(Date.now() - DAY),
      notAfter: new Date(Date.now() + 10 * 365 * DAY),
      policies: [RSP_POLICY.CI],
      policiesCritical: true,
      keyUsage: ['keyCertSign', 'cRLSign'],
      basicConstraints: { ca: true },
      sanRegisteredIds: ['2.999.1'],
    },
    key,
  );
}

/** A random EID under `prefix` (8 digits) with valid check digits. */
export function randomEid(prefix = SGP26_EID_PREFIX): string {
  if (!/^[0-9]{1,30}$/.test(prefix)) throw new IssueError('EID prefix must be 1-30 digits');
  let body = prefix;
  while (body.length < 30) body += String(randomInt(10));
  return completeEid(body);
}

/** Copy of a certificate with the lowest bit of its last byte (the end of s) flipped. */
export function flipSignatureBit(der: Uint8Array): Uint8Array {
  const out = new Uint8Array(der); // a copy even when der is a Buffer (Buffer#slice is a view)
  out[out.length - 1]! ^= 0x01;
  return out;
}

// ---------------------------------------------------------------------------
// Invalid variants for negative tests

export type InvalidVariant =
  | 'expired'
  | 'notYetValid'
  | 'wrongCi'
  | 'badSignature'
  | 'wrongPolicy'
  | 'missingSanOid'
  | 'wrongIssuer'
  | 'eidOutsidePrefix'
  | 'invalidEid'
  | 'notCa';

/** The chain failure each variant must produce. */
export const VARIANT_REASON: Record<InvalidVariant, ChainFailure> = {
  expired: 'expired',
  notYetValid: 'notYetValid',
  wrongCi: 'unknownCi',
  badSignature: 'badSignature',
  wrongPolicy: 'wrongPolicy',
  missingSanOid: 'missingSanOid',
  wrongIssuer: 'wrongIssuer',
  eidOutsidePrefix: 'eidOutsidePrefix',
  invalidEid: 'invalidEid',
  notCa: 'notCa',
};

const COMMON_VARIANTS: readonly InvalidVariant[] = ['expired', 'notYetValid', 'wrongCi', 'badSignature', 'wrongPolicy', 'wrongIssuer'];

/** Which variants are meaningful for which leaf role. */
export const INVALID_VARIANTS: Record<Exclude<ChainRole, 'eum'>, readonly InvalidVariant[]> = {
  euicc: [...COMMON_VARIANTS, 'eidOutsidePrefix', 'invalidEid', 'notCa'],
  dpauth: [...COMMON_VARIANTS, 'missingSanOid'],
  dppb: [...COMMON_VARIANTS, 'missingSanOid'],
  dptls: COMMON_VARIANTS,
};

/** A policy of another role, for the wrongPolicy variant. */
const WRONG_POLICY: Record<Exclude<ChainRole, 'eum'>, string> = {
  euicc: RSP_POLICY.EUM,
  dpauth: RSP_POLICY.DPpb,
  dppb: RSP_POLICY.DPauth,
  dptls: RSP_POLICY.DPauth,
};

export interface InvalidChain {
  role: Exclude<ChainRole, 'eum'>;
  variant: InvalidVariant;
  expectedReason: ChainFailure;
  description: string;
  /** the leaf; for badSignature `leaf.der` is the tampered certificate */
  leaf: IssuedCert;
  /** certificates to pass as intermediates (the EUM for eUICC chains) */
  intermediates: Uint8Array[];
}

/**
 * Mint an invalid certificate of `role` that the SGP.22 chain check must reject
 * with VARIANT_REASON[variant]. `at` is the time the check will run at (default now).
 */
export async function issueInvalid(
  role: Exclude<ChainRole, 'eum'>,
  variant: InvalidVariant,
  opts: { curve?: CurveName; at?: Date } = {},
): Promise<InvalidChain> {
  if (!INVALID_VARIANTS[role].includes(variant)) throw new IssueError(`variant '${variant}' does not apply to ${role} certificates`);
  const curve = opts.curve ?? 'P-256';
  const at = opts.at ?? new Date();
  const tag = curveTag(curve);
  const o: IssueOptions = { curve };
  let eum: Authority = storeAuthority(`EUM_${tag}`);
  let description: string;

  switch (variant) {
    case 'expired':
      o.notBefore = new Date(at.getTime() - 30 * DAY);
      o.notAfter = new Date(at.getTime() - DAY);
      description = `notAfter ${o.notAfter.toISOString()} is before the check time`;
      break;
    case 'notYetValid':
      o.notBefore = new Date(at.getTime() + DAY);
      o.notAfter = new Date(at.getTime() + 30 * DAY);
      description = `notBefore ${o.notBefore.toISOString()} is after the check time`;
      break;
    case 'wrongCi': {
      const rogue = await generateRogueCi(curve);
      const rogueCi: Authority = { cert: rogue.cert, key: rogue.key };
      if (role === 'euicc') {
        const rogueEum = await issueEum({ curve, issuer: rogueCi });
        eum = { cert: rogueEum.cert, key: rogueEum.key };
        description = 'EUM signed by a freshly generated CI that is not trusted';
      } else {
        o.issuer = rogueCi;
        description = 'signed by a freshly generated CI that is not trusted';
      }
      break;
    }
    case 'badSignature':
      description = 'one bit of the signature flipped';
      break;
    case 'wrongPolicy':
      o.policy = WRONG_POLICY[role];
      description = `policy ${o.policy} instead of the ${role} policy`;
      break;
    case 'missingSanOid':
      description = 'no subjectAltName registeredID (SM-DP+ OID)';
      break;
    case 'wrongIssuer':
      o.issuerName = role === 'euicc' ? [['C', 'ES'], ['O', 'RSP Test EUM'], ['CN', 'Other EUM']] : [['CN', 'Other CI'], ['OU', 'TESTCERT'], ['O', 'RSPTEST'], ['C', 'IT']];
      description = 'issuer DN does not name the certificate its AKI points to';
      break;
    case 'eidOutsidePrefix':
      description = 'EID with valid check digits outside the EUM prefix';
      break;
    case 'invalidEid':
      description = 'EID under the EUM prefix with wrong check digits';
      break;
    case 'notCa': {
      const plainEum = await issueEum({ curve, ca: false });
      eum = { cert: plainEum.cert, key: plainEum.key };
      description = 'EUM certificate without basicConstraints cA';
      break;
    }
  }

  let leaf: IssuedCert;
  switch (role) {
    case 'euicc': {
      let eid = randomEid();
      if (variant === 'eidOutsidePrefix') eid = randomEid('89049033');
      if (variant === 'invalidEid') eid = eid.slice(0, 30) + String((Number(eid.slice(30)) + 1) % 100).padStart(2, '0');
      leaf = await issueEuicc({ ...o, issuer: eum, eid, unchecked: true });
      break;
    }
    case 'dpauth':
      leaf = await issueDpAuth({ ...o, ...(variant === 'missingSanOid' ? { smdpOid: null } : {}) });
      break;
    case 'dppb':
      leaf = await issueDpPb({ ...o, ...(variant === 'missingSanOid' ? { smdpOid: null } : {}) });
      break;
    case 'dptls':
      leaf = await issueTls({ ...o, host: 'testsmdpplus1.example.com' });
      break;
  }

  if (variant === 'badSignature') {
    const der = flipSignatureBit(leaf.der);
    leaf = { ...leaf, der, pem: certificatePem(der), cert: parseCert(der) };
  }
  return {
    role,
    variant,
    expectedReason: VARIANT_REASON[variant],
    description,
    leaf,
    intermediates: role === 'euicc' ? [eum.cert.der] : [],
  };
}
