// One parsed SGP.22 certificate (SGP.22 4.5.2 "Certificates"; SGP.26 test PKI):
// the fields the RSP chain check and the test servers need (names, key ids,
// policy OIDs, SAN registeredIDs, validity, EC public key and curve, the EID of an
// eUICC certificate, the serialNumber prefix of an EUM name constraint, basic
// constraints, key usage) plus the exact TBS bytes and the signature as r||s.
// Parsing goes through @peculiar/x509; the Certificate envelope through sim/rsp/der.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import * as asn1js from 'asn1js';
import { parseTlv, DerError, type Tlv } from '../sim/rsp/der.ts';
import { equalBytes } from '../sim/bytes.ts';
import { derToRaw } from '../sim/crypto/ecdsa.ts';
import { parseSpki, pemDecode, pemEncode, looksLikePem } from '../sim/crypto/keys.ts';
import { CryptoError } from '../sim/crypto/errors.ts';
import type { CurveName } from '../sim/crypto/curves.ts';

/** SGP.22 certificate policy OIDs (id-rspRole, 2.23.146.1.2.1.x). */
export const RSP_POLICY = {
  CI: '2.23.146.1.2.1.0',
  EUICC: '2.23.146.1.2.1.1',
  EUM: '2.23.146.1.2.1.2',
  DPtls: '2.23.146.1.2.1.3',
  DPauth: '2.23.146.1.2.1.4',
  DPpb: '2.23.146.1.2.1.5',
} as const;

export type CertRole = keyof typeof RSP_POLICY;

export const ECDSA_WITH_SHA256_OID = '1.2.840.10045.4.3.2';
const SERIAL_NUMBER_OID = '2.5.4.5';
const ORGANIZATION_OID = '2.5.4.10';
const NAME_CONSTRAINTS_OID = '2.5.29.30';

export type KeyUsageName =
  | 'digitalSignature'
  | 'nonRepudiation'
  | 'keyEncipherment'
  | 'dataEncipherment'
  | 'keyAgreement'
  | 'keyCertSign'
  | 'cRLSign'
  | 'encipherOnly'
  | 'decipherOnly';

const KEY_USAGE_BITS: readonly [KeyUsageName, number][] = [
  ['digitalSignature', x509.KeyUsageFlags.digitalSignature],
  ['nonRepudiation', x509.KeyUsageFlags.nonRepudiation],
  ['keyEncipherment', x509.KeyUsageFlags.keyEncipherment],
  ['dataEncipherment', x509.KeyUsageFlags.dataEncipherment],
  ['keyAgreement', x509.KeyUsageFlags.keyAgreement],
  ['keyCertSign', x509.KeyUsageFlags.keyCertSign],
  ['cRLSign', x509.KeyUsageFlags.cRLSign],
  ['encipherOnly', x509.KeyUsageFlags.encipherOnly],
  ['decipherOnly', x509.KeyUsageFlags.decipherOnly],
];

/** One attribute of a distinguished name, in certificate order. */
export interface NameAttribute {
  oid: string;
  /** short name (CN, O, serialNumber ...) or the OID when unknown */
  type: string;
  value: string;
}

export interface ParsedCert {
  der: Uint8Array;
  /** the exact TBSCertificate bytes the signature covers */
  tbs: Uint8Array;
  serialNumber: string;
  subject: string;
  subjectAttributes: NameAttribute[];
  /** DER of the subject Name */
  subjectDer: Uint8Array;
  issuer: string;
  issuerAttributes: NameAttribute[];
  issuerDer: Uint8Array;
  /** lowercase hex, undefined when the extension is absent */
  subjectKeyId?: string;
  authorityKeyId?: string;
  policies: string[];
  /** role named by the first SGP.22 policy OID, if any */
  role?: CertRole;
  sanRegisteredIds: string[];
  sanDnsNames: string[];
  notBefore: Date;
  notAfter: Date;
  curve: CurveName;
  /** 65 bytes, 04||X||Y */
  publicKey: Uint8Array;
  signatureAlgorithm: string;
  /** DER ECDSA-Sig-Value as found in the certificate */
  signatureDer: Uint8Array;
  /** r||s, or null when the signature is not a well-formed ECDSA-Sig-Value */
  signatureRaw: Uint8Array | null;
  /** serialNumber attribute of the subject, whatever the role */
  subjectSerialNumber?: string;
  /** eUICC certificates (policy 2.23.146.1.2.1.1): the EID, i.e. the subject serialNumber */
  eid?: string;
  /** EUM certificates: serialNumber in the permitted subtree of the name constraints (EID prefix) */
  eidPrefix?: string;
  /** EUM certificates: organization in the permitted subtree of the name constraints */
  nameConstraintOrganization?: string;
  basicConstraints?: { ca: boolean; pathLength?: number; critical: boolean };
  keyUsage?: KeyUsageName[];
  extendedKeyUsage: string[];
  /** OIDs of every extension, in order, with criticality */
  extensions: { oid: string; critical: boolean }[];
}

export class CertParseError extends Error {
  override readonly name = 'CertParseError';
}

const SHORT_NAMES: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.5': 'serialNumber',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '1.2.840.113549.1.9.1': 'E',
};
const OIDS_BY_X509_NAME: Record<string, string> = { CN: '2.5.4.3', C: '2.5.4.6', L: '2.5.4.7', ST: '2.5.4.8', O: '2.5.4.10', OU: '2.5.4.11', E: '1.2.840.113549.1.9.1' };

function escapeDnValue(v: string): string {
  let s = v.replace(/([\\,+"<>;=])/g, '\\$1');
  if (s.startsWith('#') || s.startsWith(' ')) s = '\\' + s;
  if (s.endsWith(' ')) s = s.slice(0, -1) + '\\ ';
  return s;
}

/** Attributes of a DER Name, in order (multi-valued RDNs flattened). */
export function nameAttributes(nameDer: Uint8Array): NameAttribute[] {
  const json = new x509.Name(nameDer).toJSON();
  const out: NameAttribute[] = [];
  for (const rdn of json) {
    for (const [key, values] of Object.entries(rdn)) {
      const oid = /^[0-9.]+$/.test(key) ? key : (OIDS_BY_X509_NAME[key] ?? key);
      for (const value of values) out.push({ oid, type: SHORT_NAMES[oid] ?? key, value });
    }
  }
  return out;
}

/** RFC 4514-style string in certificate order (`CN=TEST SM-DP\+` keeps the plus escaped). */
export function formatName(nameDer: Uint8Array): string {
  const json = new x509.Name(nameDer).toJSON();
  return json
    .map((rdn) =>
      Object.entries(rdn)
        .flatMap(([key, values]) => {
          const oid = /^[0-9.]+$/.test(key) ? key : (OIDS_BY_X509_NAME[key] ?? key);
          const type = SHORT_NAMES[oid] ?? key;
          return values.map((v) => `${type}=${escapeDnValue(v)}`);
        })
        .join('+'),
    )
    .join(', ');
}

function oidOf(tlv: Tlv | undefined, what: string): string {
  if (!tlv || tlv.tag !== 0x06) throw new CertParseError(`${what}: expected an OBJECT IDENTIFIER`);
  const node = asn1js.fromBER(tlv.raw).result;
  if (!(node instanceof asn1js.ObjectIdentifier)) throw new CertParseError(`${what}: bad OBJECT IDENTIFIER`);
  return node.valueBlock.toString();
}

function parseNameConstraints(value: Uint8Array): { serialNumber?: string; organization?: string } {
  const nc = parseTlv(value);
  const permitted = nc.children.find((c) => c.tag === 0xa0);
  const out: { serialNumber?: string; organization?: string } = {};
  for (const subtree of permitted?.children ?? []) {
    const base = subtree.children[0];
    if (!base || base.tag !== 0xa4 || !base.children[0]) continue; // directoryName [4] EXPLICIT Name
    for (const attr of nameAttributes(base.children[0].raw)) {
      if (attr.oid === SERIAL_NUMBER_OID) out.serialNumber ??= attr.value;
      if (attr.oid === ORGANIZATION_OID) out.organization ??= attr.value;
    }
  }
  return out;
}

function roleOfPolicies(policies: readonly string[]): CertRole | undefined {
  for (const p of policies) {
    const role = (Object.keys(RSP_POLICY) as CertRole[]).find((r) => RSP_POLICY[r] === p);
    if (role) return role;
  }
  return undefined;
}

/** Certificate bytes from PEM text or DER. */
export function certificateDer(input: string | Uint8Array): Uint8Array {
  if (looksLikePem(input)) {
    const text = typeof input === 'string' ? input : Buffer.from(input).toString('latin1');
    const block = pemDecode(text).find((b) => b.label === 'CERTIFICATE');
    if (!block) throw new CertParseError('no CERTIFICATE block in PEM');
    return block.der;
  }
  return typeof input === 'string' ? new Uint8Array(Buffer.from(input, 'latin1')) : input;
}

export function certificatePem(der: Uint8Array): string {
  return pemEncode('CERTIFICATE', der);
}

function wrap<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof CertParseError) throw err;
    if (err instanceof DerError) throw new CertParseError(`${what}: ${err.describe()}`, { cause: err });
    if (err instanceof CryptoError) throw new CertParseError(`${what}: ${err.message}`, { cause: err });
    const msg = err instanceof Error ? err.message : String(err);
    throw new CertParseError(`${what}: ${msg}`, { cause: err });
  }
}

// Parsed certificates by DER content. The SM-DP+ and the eUICC meet the same few
// certificates in every session (eUICC/EUM chains, DPauth/DPpb, the session's eUICC
// certificate again at every ES9+ step); going through @peculiar/x509 costs several
// milliseconds each time. Parsing is a pure function of the bytes, so a bounded cache
// of results is safe: every caller gets its own deep copy. Failures are not cached.
const PARSE_CACHE_LIMIT = 256;
const parseCache = new Map<string, ParsedCert>();

/** Parse a certificate (DER or PEM). Throws CertParseError for anything that is not a DER X.509 v3 EC certificate. */
export function parseCert(input: string | Uint8Array): ParsedCert {
  const der = new Uint8Array(wrap('certificate', () => certificateDer(input))); // own copy, never a Buffer view
  const key = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  const cached = parseCache.get(key);
  if (cached) {
    parseCache.delete(key); // most recently used last
    parseCache.set(key, cached);
    return structuredClone(cached);
  }
  const parsed = parseDer(der);
  parseCache.set(key, structuredClone(parsed));
  if (parseCache.size > PARSE_CACHE_LIMIT) parseCache.delete(parseCache.keys().next().value!);
  return parsed;
}

function parseDer(der: Uint8Array): ParsedCert {
  const envelope = wrap('certificate', () => parseTlv(der));
  const [tbsTlv, algTlv, sigTlv] = envelope.children;
  if (envelope.tag !== 0x30 || envelope.children.length !== 3 || !tbsTlv || tbsTlv.tag !== 0x30 || !algTlv || algTlv.tag !== 0x30 || !sigTlv || sigTlv.tag !== 0x03)
    throw new CertParseError('certificate: not a Certificate SEQUENCE { tbsCertificate, signatureAlgorithm, signature }');
  const signatureAlgorithm = oidOf(algTlv.children[0], 'signatureAlgorithm');
  // RFC 5280 4.1.1.2: the (unsigned) outer signatureAlgorithm must equal tbsCertificate.signature
  const tbsSignature = tbsTlv.children.find((c) => c.tag === 0x30);
  if (!tbsSignature || !equalBytes(tbsSignature.raw, algTlv.raw))
    throw new CertParseError('certificate: signatureAlgorithm differs from tbsCertificate.signature (RFC 5280 4.1.1.2)');
  if (sigTlv.value[0] !== 0) throw new CertParseError('certificate: signature BIT STRING has unused bits');
  const signatureDer = sigTlv.value.slice(1);
  let signatureRaw: Uint8Array | null = null;
  try {
    signatureRaw = derToRaw(signatureDer);
  } catch (err) {
    if (!(err instanceof CryptoError)) throw err;
    signatureRaw = null; // reported by the chain check as a bad signature
  }

  const cert = wrap('certificate', () => new x509.X509Certificate(der));
  const { curve, publicKey } = wrap('subjectPublicKeyInfo', () => parseSpki(new Uint8Array(cert.publicKey.rawData)));
  // lazily re-serialised by @peculiar/x509: a malformed attribute value throws a plain Error here
  const subjectDer = wrap('subject', () => new Uint8Array(cert.subjectName.toArrayBuffer()));
  const issuerDer = wrap('issuer', () => new Uint8Array(cert.issuerName.toArrayBuffer()));
  const subjectAttributes = wrap('subject', () => nameAttributes(subjectDer));

  const out: ParsedCert = {
    der,
    tbs: tbsTlv.raw,
    serialNumber: cert.serialNumber.toLowerCase(),
    subject: wrap('subject', () => formatName(subjectDer)),
    subjectAttributes,
    subjectDer,
    issuer: wrap('issuer', () => formatName(issuerDer)),
    issuerAttributes: wrap('issuer', () => nameAttributes(issuerDer)),
    issuerDer,
    policies: [],
    sanRegisteredIds: [],
    sanDnsNames: [],
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    curve,
    publicKey,
    signatureAlgorithm,
    signatureDer,
    signatureRaw,
    extendedKeyUsage: [],
    // @peculiar/x509 parses the extensions lazily, here: a malformed one throws a plain Error
    extensions: wrap('extensions', () => cert.extensions.map((e) => ({ oid: e.type, critical: e.critical }))),
  };

  wrap('extensions', () => {
    for (const ext of cert.extensions) {
      if (ext instanceof x509.SubjectKeyIdentifierExtension) out.subjectKeyId = ext.keyId.toLowerCase();
      else if (ext instanceof x509.AuthorityKeyIdentifierExtension) {
        if (ext.keyId) out.authorityKeyId = ext.keyId.toLowerCase();
      } else if (ext instanceof x509.CertificatePolicyExtension) out.policies.push(...ext.policies);
      else if (ext instanceof x509.SubjectAlternativeNameExtension) {
        for (const n of ext.names.items) {
          if (n.type === 'id') out.sanRegisteredIds.push(n.value);
          else if (n.type === 'dns') out.sanDnsNames.push(n.value);
        }
      } else if (ext instanceof x509.BasicConstraintsExtension) {
        out.basicConstraints = { ca: ext.ca, critical: ext.critical, ...(ext.pathLength !== undefined ? { pathLength: ext.pathLength } : {}) };
      } else if (ext instanceof x509.KeyUsagesExtension) {
        out.keyUsage = KEY_USAGE_BITS.filter(([, bit]) => (ext.usages & bit) !== 0).map(([name]) => name);
      } else if (ext instanceof x509.ExtendedKeyUsageExtension) {
        out.extendedKeyUsage.push(...ext.usages.map((u) => String(u)));
      } else if (ext.type === NAME_CONSTRAINTS_OID) {
        const nc = parseNameConstraints(new Uint8Array(ext.value));
        if (nc.serialNumber !== undefined) out.eidPrefix = nc.serialNumber;
        if (nc.organization !== undefined) out.nameConstraintOrganization = nc.organization;
      }
    }
  });

  const role = roleOfPolicies(out.policies);
  if (role) out.role = role;
  const serial = subjectAttributes.find((a) => a.oid === SERIAL_NUMBER_OID);
  if (serial) out.subjectSerialNumber = serial.value;
  if (serial && role === 'EUICC') out.eid = serial.value;
  return out;
}
