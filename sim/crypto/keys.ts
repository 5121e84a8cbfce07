// EC key files for the SGP.22 curves (SGP.22 2.6.5 / 4.5.2; SGP.26 test keys):
// reads private keys as SEC1 "EC PRIVATE KEY" (with or without a preceding
// "EC PARAMETERS" block) or PKCS#8 "PRIVATE KEY", public keys as SPKI
// "PUBLIC KEY", in PEM or DER, on NIST P-256 or brainpoolP256r1; writes PKCS#8
// and SPKI PEM. Public keys are always returned uncompressed (04||X||Y, 65 bytes).
// Error messages never contain key material.
import * as asn1js from 'asn1js';
import { CURVES, CURVE_OIDS, curveByOid, type CurveName } from './curves.ts';
import { CryptoError } from './errors.ts';

export const EC_PUBLIC_KEY_OID = '1.2.840.10045.2.1';

/** A parsed EC key: always the public key, the private scalar when the input had one. */
export interface EcKey {
  curve: CurveName;
  /** 32-byte private scalar. */
  privateKey?: Uint8Array;
  /** 65 bytes, 04||X||Y. */
  publicKey: Uint8Array;
}

export interface CurveKeyPair extends EcKey {
  privateKey: Uint8Array;
}

export interface PemBlock {
  label: string;
  der: Uint8Array;
}

// ---------------------------------------------------------------------------
// PEM

const PEM_RE = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

/** All PEM blocks of a text, in order. Headers (Proc-Type ...) are not supported. */
export function pemDecode(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const m of text.matchAll(PEM_RE)) {
    const body = m[2]!.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body)) throw new CryptoError('invalidInput', `PEM block '${m[1]}' is not base64`);
    blocks.push({ label: m[1]!, der: new Uint8Array(Buffer.from(body, 'base64')) });
  }
  return blocks;
}

export function pemEncode(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** True when the bytes look like PEM text rather than DER. */
export function looksLikePem(input: string | Uint8Array): boolean {
  const text = typeof input === 'string' ? input : Buffer.from(input.subarray(0, 4096)).toString('latin1');
  return text.includes('-----BEGIN ');
}

// ---------------------------------------------------------------------------
// asn1js helpers

function parseDer(der: Uint8Array, what: string): asn1js.AsnType {
  const res = asn1js.fromBER(der);
  if (res.offset === -1) throw new CryptoError('invalidInput', `${what}: not valid DER (${res.result.error || 'parse error'})`);
  if (res.offset !== der.byteLength) throw new CryptoError('invalidInput', `${what}: ${der.byteLength - res.offset} trailing byte(s)`);
  return res.result;
}

function children(node: asn1js.AsnType, what: string): asn1js.AsnType[] {
  if (!(node instanceof asn1js.Sequence)) throw new CryptoError('invalidInput', `${what}: expected a SEQUENCE`);
  return node.valueBlock.value;
}

function bytesOf(view: Uint8Array | ArrayBuffer): Uint8Array {
  return view instanceof Uint8Array ? new Uint8Array(view) : new Uint8Array(view);
}

function curveOf(oid: string, what: string): CurveName {
  const c = curveByOid(oid);
  if (!c) throw new CryptoError('invalidKey', `${what}: unsupported curve ${oid} (SGP.22 allows P-256 and brainpoolP256r1)`);
  return c;
}

function namedCurveOid(node: asn1js.AsnType | undefined, what: string): string {
  if (!(node instanceof asn1js.ObjectIdentifier)) throw new CryptoError('invalidKey', `${what}: only named curves are supported (no explicit parameters)`);
  return node.valueBlock.toString();
}

/** Validate a public point and return it uncompressed. */
export function normalizePublicKey(curve: CurveName, publicKey: Uint8Array): Uint8Array {
  try {
    return CURVES[curve].Point.fromBytes(publicKey).toBytes(false);
  } catch (err) {
    throw new CryptoError('invalidPoint', `public key is not a valid ${curve} point`, { cause: err });
  }
}

function normalizePrivateKey(curve: CurveName, raw: Uint8Array): Uint8Array {
  if (raw.length > 32 || raw.length === 0) throw new CryptoError('invalidKey', `private key must be at most 32 bytes, got ${raw.length}`);
  const sk = new Uint8Array(32);
  sk.set(raw, 32 - raw.length);
  if (!CURVES[curve].utils.isValidSecretKey(sk)) throw new CryptoError('invalidKey', `private key is not a valid ${curve} scalar`);
  return sk;
}

export function publicKeyFromPrivate(curve: CurveName, privateKey: Uint8Array): Uint8Array {
  return CURVES[curve].getPublicKey(normalizePrivateKey(curve, privateKey), false);
}

// ---------------------------------------------------------------------------
// Decoding

/** SubjectPublicKeyInfo (RFC 5480) DER to curve + uncompressed point. */
export function parseSpki(der: Uint8Array): { curve: CurveName; publicKey: Uint8Array } {
  const [alg, bits] = children(parseDer(der, 'SubjectPublicKeyInfo'), 'SubjectPublicKeyInfo');
  const [algOid, params] = children(alg ?? new asn1js.Null(), 'SubjectPublicKeyInfo.algorithm');
  if (!(algOid instanceof asn1js.ObjectIdentifier) || algOid.valueBlock.toString() !== EC_PUBLIC_KEY_OID)
    throw new CryptoError('invalidKey', 'SubjectPublicKeyInfo: not an EC public key (id-ecPublicKey)');
  const curve = curveOf(namedCurveOid(params, 'SubjectPublicKeyInfo'), 'SubjectPublicKeyInfo');
  if (!(bits instanceof asn1js.BitString) || bits.valueBlock.unusedBits !== 0)
    throw new CryptoError('invalidKey', 'SubjectPublicKeyInfo: subjectPublicKey is not a BIT STRING');
  return { curve, publicKey: normalizePublicKey(curve, bytesOf(bits.valueBlock.valueHexView)) };
}

/**
 * SEC1 ECPrivateKey (RFC 5915). `defaultCurve` comes from an outer PKCS#8
 * AlgorithmIdentifier or a preceding EC PARAMETERS block.
 */
function parseSec1(der: Uint8Array, defaultCurve?: CurveName): CurveKeyPair {
  const items = children(parseDer(der, 'ECPrivateKey'), 'ECPrivateKey');
  const [version, priv] = items;
  if (!(version instanceof asn1js.Integer) || version.valueBlock.valueDec !== 1) throw new CryptoError('invalidKey', 'ECPrivateKey: version must be 1');
  if (!(priv instanceof asn1js.OctetString)) throw new CryptoError('invalidKey', 'ECPrivateKey: privateKey is not an OCTET STRING');
  let curve = defaultCurve;
  let embeddedPublic: Uint8Array | undefined;
  for (const item of items.slice(2)) {
    if (!(item instanceof asn1js.Constructed) || item.idBlock.tagClass !== 3) continue;
    const inner = item.valueBlock.value[0];
    if (item.idBlock.tagNumber === 0) {
      const c = curveOf(namedCurveOid(inner, 'ECPrivateKey.parameters'), 'ECPrivateKey');
      if (curve && curve !== c) throw new CryptoError('invalidKey', `ECPrivateKey: parameters (${c}) contradict the outer curve (${curve})`);
      curve = c;
    } else if (item.idBlock.tagNumber === 1) {
      if (!(inner instanceof asn1js.BitString)) throw new CryptoError('invalidKey', 'ECPrivateKey: publicKey is not a BIT STRING');
      embeddedPublic = bytesOf(inner.valueBlock.valueHexView);
    }
  }
  if (!curve) throw new CryptoError('invalidKey', 'ECPrivateKey: no curve (neither parameters nor EC PARAMETERS)');
  const privateKey = normalizePrivateKey(curve, bytesOf(priv.valueBlock.valueHexView));
  const publicKey = CURVES[curve].getPublicKey(privateKey, false);
  if (embeddedPublic) {
    const embedded = normalizePublicKey(curve, embeddedPublic);
    if (Buffer.compare(embedded, publicKey) !== 0) throw new CryptoError('invalidKey', 'ECPrivateKey: embedded public key does not match the private key');
  }
  return { curve, privateKey, publicKey };
}

/** PKCS#8 PrivateKeyInfo (RFC 5208 / 5915) holding an EC key. */
function parsePkcs8(der: Uint8Array): CurveKeyPair {
  const [version, alg, inner] = children(parseDer(der, 'PrivateKeyInfo'), 'PrivateKeyInfo');
  if (!(version instanceof asn1js.Integer) || (version.valueBlock.valueDec !== 0 && version.valueBlock.valueDec !== 1))
    throw new CryptoError('invalidKey', 'PrivateKeyInfo: unsupported version');
  const [algOid, params] = children(alg ?? new asn1js.Null(), 'PrivateKeyInfo.privateKeyAlgorithm');
  if (!(algOid instanceof asn1js.ObjectIdentifier) || algOid.valueBlock.toString() !== EC_PUBLIC_KEY_OID)
    throw new CryptoError('invalidKey', 'PrivateKeyInfo: not an EC private key (id-ecPublicKey)');
  const curve = curveOf(namedCurveOid(params, 'PrivateKeyInfo'), 'PrivateKeyInfo');
  if (!(inner instanceof asn1js.OctetString)) throw new CryptoError('invalidKey', 'PrivateKeyInfo: privateKey is not an OCTET STRING');
  return parseSec1(bytesOf(inner.valueBlock.valueHexView), curve);
}

type DerKind = 'sec1' | 'pkcs8' | 'spki';

function sniffDer(der: Uint8Array): DerKind {
  const items = children(parseDer(der, 'key'), 'key');
  const first = items[0];
  if (first instanceof asn1js.Sequence) return 'spki';
  if (first instanceof asn1js.Integer) return first.valueBlock.valueDec === 1 ? 'sec1' : 'pkcs8';
  throw new CryptoError('invalidInput', 'key: not an EC private key, PKCS#8 or SubjectPublicKeyInfo');
}

/**
 * Parse a key file (PEM text or DER bytes): SEC1 (optionally after an EC
 * PARAMETERS block), PKCS#8 or SPKI. A private key wins over a public key when a
 * PEM file has both.
 */
export function parseKey(input: string | Uint8Array): EcKey {
  if (looksLikePem(input)) {
    const text = typeof input === 'string' ? input : Buffer.from(input).toString('latin1');
    const blocks = pemDecode(text);
    let paramsCurve: CurveName | undefined;
    let publicOnly: EcKey | undefined;
    for (const b of blocks) {
      switch (b.label) {
        case 'EC PARAMETERS':
          paramsCurve = curveOf(namedCurveOid(parseDer(b.der, 'EC PARAMETERS'), 'EC PARAMETERS'), 'EC PARAMETERS');
          break;
        case 'EC PRIVATE KEY':
          return parseSec1(b.der, paramsCurve);
        case 'PRIVATE KEY':
          return parsePkcs8(b.der);
        case 'PUBLIC KEY':
          publicOnly ??= parseSpki(b.der);
          break;
        default:
          break;
      }
    }
    if (publicOnly) return publicOnly;
    throw new CryptoError('invalidInput', `no EC key in PEM (blocks: ${blocks.map((b) => b.label).join(', ') || 'none'})`);
  }
  const der = typeof input === 'string' ? new Uint8Array(Buffer.from(input, 'latin1')) : input;
  switch (sniffDer(der)) {
    case 'sec1':
      return parseSec1(der);
    case 'pkcs8':
      return parsePkcs8(der);
    case 'spki':
      return parseSpki(der);
  }
}

/** Parse a private key file; throws when the input holds only a public key. */
export function parsePrivateKey(input: string | Uint8Array): CurveKeyPair {
  const key = parseKey(input);
  if (!key.privateKey) throw new CryptoError('invalidKey', 'expected a private key, found only a public key');
  return { curve: key.curve, privateKey: key.privateKey, publicKey: key.publicKey };
}

/** Parse a public key file (SPKI), or derive the public key of a private key file. */
export function parsePublicKey(input: string | Uint8Array): { curve: CurveName; publicKey: Uint8Array } {
  const key = parseKey(input);
  return { curve: key.curve, publicKey: key.publicKey };
}

// ---------------------------------------------------------------------------
// Encoding

function ecAlgorithm(curve: CurveName): asn1js.Sequence {
  return new asn1js.Sequence({
    value: [new asn1js.ObjectIdentifier({ value: EC_PUBLIC_KEY_OID }), new asn1js.ObjectIdentifier({ value: CURVE_OIDS[curve] })],
  });
}

/** SubjectPublicKeyInfo DER for an uncompressed (or compressed) point. */
export function encodeSpki(curve: CurveName, publicKey: Uint8Array): Uint8Array {
  const point = normalizePublicKey(curve, publicKey);
  const spki = new asn1js.Sequence({ value: [ecAlgorithm(curve), new asn1js.BitString({ valueHex: point })] });
  return new Uint8Array(spki.toBER(false));
}

/** PKCS#8 PrivateKeyInfo DER (inner ECPrivateKey carries the public key, not the curve). */
export function encodePkcs8(key: { curve: CurveName; privateKey: Uint8Array }): Uint8Array {
  const privateKey = normalizePrivateKey(key.curve, key.privateKey);
  const publicKey = CURVES[key.curve].getPublicKey(privateKey, false);
  const sec1 = new asn1js.Sequence({
    value: [
      new asn1js.Integer({ value: 1 }),
      new asn1js.OctetString({ valueHex: privateKey }),
      new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 1 }, value: [new asn1js.BitString({ valueHex: publicKey })] }),
    ],
  });
  const pkcs8 = new asn1js.Sequence({
    value: [new asn1js.Integer({ value: 0 }), ecAlgorithm(key.curve), new asn1js.OctetString({ valueHex: sec1.toBER(false) })],
  });
  return new Uint8Array(pkcs8.toBER(false));
}

export function encodePublicKeyPem(key: { curve: CurveName; publicKey: Uint8Array }): string {
  return pemEncode('PUBLIC KEY', encodeSpki(key.curve, key.publicKey));
}

export function encodePrivateKeyPem(key: { curve: CurveName; privateKey: Uint8Array }): string {
  return pemEncode('PRIVATE KEY', encodePkcs8(key));
}

/** A fresh random key pair. */
export function generateKey(curve: CurveName): CurveKeyPair {
  const c = CURVES[curve];
  const privateKey = c.utils.randomSecretKey();
  return { curve, privateKey, publicKey: c.getPublicKey(privateKey, false) };
}
