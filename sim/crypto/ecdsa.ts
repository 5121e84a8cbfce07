// ECDSA with SHA-256 in the BSI TR-03111 "plain" signature format (r||s, 32+32
// bytes) that SGP.22 puts in tag 5F37 (serverSignature1, euiccSignature1/2,
// smdpSignature2, smdpSign; SGP.22 2.6.5 / 5.7.13), on NIST P-256 and
// brainpoolP256r1. Certificates carry the same signatures as a DER ECDSA-Sig-Value
// (SGP.22 4.5.2 / RFC 5480): rawToDer/derToRaw convert between the two forms.
// Signing and verification go through node:crypto (OpenSSL), 10 to 40 times faster than
// @noble/curves on these curves (a download makes about six signatures and verifies about
// ten); signatures are therefore randomised (OpenSSL's k), not RFC 6979 deterministic.
import { sign as opensslSign, verify as opensslVerify } from 'node:crypto';
import { CURVES, type CurveName } from './curves.ts';
import { privateKeyObject, publicKeyObject } from './native.ts';
import { CryptoError } from './errors.ts';

const SCALAR_LENGTH = 32;
const SIGNATURE_LENGTH = 64;
const PUBLIC_KEY_LENGTH = 65;

/** Sign `message` (hashed with SHA-256 here) with a 32-byte private scalar; returns r||s (64 bytes). */
export function sign(curve: CurveName, privateKey: Uint8Array, message: Uint8Array): Uint8Array {
  if (privateKey.length !== SCALAR_LENGTH) throw new CryptoError('invalidLength', `private key must be ${SCALAR_LENGTH} bytes, got ${privateKey.length}`);
  const c = CURVES[curve];
  if (!c.utils.isValidSecretKey(privateKey)) throw new CryptoError('invalidKey', `private key is not a valid ${curve} scalar`);
  return new Uint8Array(opensslSign('sha256', message, { key: privateKeyObject(curve, privateKey), dsaEncoding: 'ieee-p1363' }));
}

/**
 * Verify an r||s signature over `message` (SHA-256 prehash) with an uncompressed
 * 65-byte public key. High-S signatures are accepted (signatures made by OpenSSL
 * and by cards are not normalised). A signature that is not 64 bytes, or a public
 * key that is not a valid point, gives false.
 */
export function verify(curve: CurveName, publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== SIGNATURE_LENGTH) return false;
  if (publicKey.length !== PUBLIC_KEY_LENGTH || publicKey[0] !== 0x04) return false;
  const key = publicKeyObject(curve, publicKey);
  if (!key) return false;
  // ieee-p1363 is r||s; OpenSSL does not normalise S, and answers false for r or s out of [1, n-1]
  return opensslVerify('sha256', message, { key, dsaEncoding: 'ieee-p1363' }, signature);
}

// ---------------------------------------------------------------------------
// ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } (RFC 3279 2.2.3)

function derInteger(value: Uint8Array): Uint8Array {
  let start = 0;
  while (start < value.length - 1 && value[start] === 0) start++;
  const body = value.subarray(start);
  const pad = body[0]! & 0x80 ? 1 : 0;
  const out = new Uint8Array(2 + pad + body.length);
  out[0] = 0x02;
  out[1] = pad + body.length;
  out.set(body, 2 + pad);
  return out;
}

/** r||s (64 bytes) to a DER ECDSA-Sig-Value, as in X.509 certificates. */
export function rawToDer(signature: Uint8Array): Uint8Array {
  if (signature.length !== SIGNATURE_LENGTH) throw new CryptoError('invalidLength', `plain signature must be ${SIGNATURE_LENGTH} bytes, got ${signature.length}`);
  const r = derInteger(signature.subarray(0, SCALAR_LENGTH));
  const s = derInteger(signature.subarray(SCALAR_LENGTH));
  const out = new Uint8Array(2 + r.length + s.length);
  out[0] = 0x30;
  out[1] = r.length + s.length; // at most 2 * 35 = 70 < 128: short form
  out.set(r, 2);
  out.set(s, 2 + r.length);
  return out;
}

function readDerInteger(der: Uint8Array, offset: number): { value: Uint8Array; next: number } {
  if (der[offset] !== 0x02) throw new CryptoError('invalidInput', `ECDSA-Sig-Value: expected INTEGER at offset ${offset}`);
  const len = der[offset + 1];
  if (len === undefined || len === 0 || len > SCALAR_LENGTH + 1) throw new CryptoError('invalidInput', `ECDSA-Sig-Value: bad INTEGER length at offset ${offset}`);
  const start = offset + 2;
  const value = der.subarray(start, start + len);
  if (value.length !== len) throw new CryptoError('invalidInput', 'ECDSA-Sig-Value: truncated INTEGER');
  if (value[0]! & 0x80) throw new CryptoError('invalidInput', 'ECDSA-Sig-Value: negative INTEGER');
  if (len > 1 && value[0] === 0 && !(value[1]! & 0x80)) throw new CryptoError('invalidInput', 'ECDSA-Sig-Value: non-minimal INTEGER');
  const unsigned = value[0] === 0 && len > 1 ? value.subarray(1) : value;
  if (unsigned.length > SCALAR_LENGTH) throw new CryptoError('invalidInput', 'ECDSA-Sig-Value: INTEGER longer than 32 bytes');
  return { value: unsigned, next: start + len };
}

/** DER ECDSA-Sig-Value to r||s (64 bytes). Strict DER: minimal INTEGERs, no trailing bytes. */
export function derToRaw(der: Uint8Array): Uint8Array {
  if (der.length < 8 || der[0] !== 0x30) throw new CryptoError('invalidInput', 'ECDSA-Sig-Value: expected a SEQUENCE');
  const len = der[1]!;
  if (len & 0x80 || len + 2 !== der.length) throw new CryptoError('invalidInput', 'ECDSA-Sig-Value: bad SEQUENCE length');
  const r = readDerInteger(der, 2);
  const s = readDerInteger(der, r.next);
  if (s.next !== der.length) throw new CryptoError('invalidInput', 'ECDSA-Sig-Value: trailing bytes');
  const out = new Uint8Array(SIGNATURE_LENGTH);
  out.set(r.value, SCALAR_LENGTH - r.value.length);
  out.set(s.value, SIGNATURE_LENGTH - s.value.length);
  return out;
}
