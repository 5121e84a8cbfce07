// EC keys of SGP.22 (NIST P-256, brainpoolP256r1; SGP.22 2.6.5) as node:crypto KeyObjects,
// for the OpenSSL fast paths of ecdsa.ts and ecka.ts: a raw 65-byte point wrapped as an
// RFC 5480 SubjectPublicKeyInfo, a raw 32-byte scalar as an RFC 5915 ECPrivateKey (no
// public key: OpenSSL derives it). OpenSSL checks points on import (not on the curve:
// ERR_OSSL_* error). Imported keys are cached: a download meets the same few keys again
// and again (certificate keys, the session's one-time keys).
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { equalBytes, hexToBytes } from '../bytes.ts';
import type { CurveName } from './curves.ts';

const TEMPLATES: Record<CurveName, { spkiPrefix: Uint8Array; sec1Prefix: Uint8Array; sec1Suffix: Uint8Array }> = {
  'P-256': {
    // SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING 00 || 65-byte point }
    spkiPrefix: hexToBytes('3059301306072a8648ce3d020106082a8648ce3d030107034200'),
    // SEQUENCE { INTEGER 1, OCTET STRING (32) d, [0] { prime256v1 } }
    sec1Prefix: hexToBytes('30310201010420'),
    sec1Suffix: hexToBytes('a00a06082a8648ce3d030107'),
  },
  brainpoolP256r1: {
    spkiPrefix: hexToBytes('305a301406072a8648ce3d020106092b2403030208010107034200'),
    sec1Prefix: hexToBytes('30320201010420'),
    sec1Suffix: hexToBytes('a00b06092b2403030208010107'),
  },
};

/** True for the errors OpenSSL raises on a key it cannot decode (a point off the curve, a zero scalar ...). */
export function isOpensslKeyError(err: unknown): boolean {
  return String((err as { code?: unknown } | null)?.code).startsWith('ERR_OSSL');
}

const PUBLIC_CACHE_LIMIT = 512;
const publicKeys = new Map<string, KeyObject | null>();

/** The 65-byte uncompressed point as a public KeyObject, or null when OpenSSL refuses it. */
export function publicKeyObject(curve: CurveName, point: Uint8Array): KeyObject | null {
  const id = `${curve}:${Buffer.from(point.buffer, point.byteOffset, point.byteLength).toString('base64')}`;
  const cached = publicKeys.get(id);
  if (cached !== undefined) return cached;
  const t = TEMPLATES[curve];
  let key: KeyObject | null;
  try {
    key = createPublicKey({ key: Buffer.concat([t.spkiPrefix, point]), format: 'der', type: 'spki' });
  } catch (err) {
    if (!isOpensslKeyError(err)) throw err;
    key = null; // not a point on the curve: not a key
  }
  publicKeys.set(id, key);
  if (publicKeys.size > PUBLIC_CACHE_LIMIT) publicKeys.delete(publicKeys.keys().next().value!);
  return key;
}

// Private keys are cached by the array holding them (identities keep theirs), with a copy
// of the bytes so that an array changed in place is imported again.
const privateKeys = new WeakMap<Uint8Array, { curve: CurveName; bytes: Uint8Array; key: KeyObject }>();

/** The 32-byte scalar as a private KeyObject (the caller has checked it is in [1, n-1]). */
export function privateKeyObject(curve: CurveName, scalar: Uint8Array): KeyObject {
  const hit = privateKeys.get(scalar);
  if (hit && hit.curve === curve && equalBytes(hit.bytes, scalar)) return hit.key;
  const t = TEMPLATES[curve];
  const der = Buffer.concat([t.sec1Prefix, scalar, t.sec1Suffix]);
  const key = createPrivateKey({ key: der, format: 'der', type: 'sec1' });
  der.fill(0);
  privateKeys.set(scalar, { curve, bytes: scalar.slice(), key });
  return key;
}

/** OpenSSL's name of the curve (createECDH, generateKeyPair). */
export function opensslCurveName(curve: CurveName): string {
  return curve === 'P-256' ? 'prime256v1' : 'brainpoolP256r1';
}

/** Left-pad a big-endian scalar to 32 bytes (OpenSSL may drop leading zero bytes). */
export function scalar32(b: Uint8Array): Uint8Array {
  if (b.length === 32) return new Uint8Array(b);
  if (b.length > 32) throw new Error(`scalar of ${b.length} bytes`);
  const out = new Uint8Array(32);
  out.set(b, 32 - b.length);
  return out;
}
