import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { p256 } from '@noble/curves/nist.js';
import { brainpoolP256r1 } from '@noble/curves/misc.js';
import { sign, verify, rawToDer, derToRaw } from './ecdsa.ts';
import { parseKey, generateKey } from './keys.ts';
import { CryptoError } from './errors.ts';
import { hexToBytes, toHex } from '../bytes.ts';
import { parseCert } from '../../certs/cert.ts';
import type { CurveName } from './curves.ts';

const SGP26 = fileURLToPath(new URL('../../certs/sgp26/', import.meta.url));
const CURVES: CurveName[] = ['P-256', 'brainpoolP256r1'];
const msg = new TextEncoder().encode('smdpSigned2 || 5F37 40 euiccSignature1');

describe('sign / verify (TR-03111 plain r||s)', () => {
  for (const curve of CURVES) {
    it(`round-trips on ${curve}`, () => {
      const k = generateKey(curve);
      const sig = sign(curve, k.privateKey, msg);
      expect(sig).toHaveLength(64);
      expect(verify(curve, k.publicKey, msg, sig)).toBe(true);
    });

    it(`rejects a changed message, a flipped bit and another key on ${curve}`, () => {
      const k = generateKey(curve);
      const other = generateKey(curve);
      const sig = sign(curve, k.privateKey, msg);
      const flipped = sig.slice();
      flipped[10]! ^= 0x04;
      expect(verify(curve, k.publicKey, new Uint8Array([...msg, 0]), sig)).toBe(false);
      expect(verify(curve, k.publicKey, msg, flipped)).toBe(false);
      expect(verify(curve, other.publicKey, msg, sig)).toBe(false);
    });

    it(`returns false for wrong-length signatures and bad public keys on ${curve}`, () => {
      const k = generateKey(curve);
      const sig = sign(curve, k.privateKey, msg);
      expect(verify(curve, k.publicKey, msg, sig.subarray(0, 63))).toBe(false);
      expect(verify(curve, k.publicKey, msg, new Uint8Array([...sig, 0]))).toBe(false);
      expect(verify(curve, k.publicKey, msg, rawToDer(sig))).toBe(false);
      expect(verify(curve, new Uint8Array(65), msg, sig)).toBe(false);
      expect(verify(curve, k.publicKey.subarray(0, 33), msg, sig)).toBe(false);
    });
  }

  it('hashes with SHA-256 (a P-256 signature over SHA-256(m) as digest verifies without prehash)', () => {
    const k = generateKey('P-256');
    const sig = sign('P-256', k.privateKey, msg);
    const digest = new Uint8Array(createHash('sha256').update(msg).digest()); // independent of noble's prehash
    expect(p256.verify(sig, digest, k.publicKey, { prehash: false, lowS: false })).toBe(true);
  });

  it('signs with the key it is given: signatures of one curve do not verify on the other', () => {
    const k = generateKey('brainpoolP256r1');
    const sig = sign('brainpoolP256r1', k.privateKey, msg);
    expect(brainpoolP256r1.verify(sig, msg, k.publicKey, { lowS: false })).toBe(true);
    expect(verify('P-256', k.publicKey, msg, sig)).toBe(false);
  });

  it('rejects private keys of the wrong length or out of range with CryptoError', () => {
    expect(() => sign('P-256', new Uint8Array(31), msg)).toThrow(CryptoError);
    expect(() => sign('P-256', new Uint8Array(32), msg)).toThrow(/not a valid P-256 scalar/);
    const n = p256.Point.CURVE().n;
    expect(() => sign('P-256', hexToBytes(n.toString(16)), msg)).toThrow(CryptoError);
  });
});

describe('foreign (OpenSSL-made) signatures: the SGP.26 certificates', () => {
  const certs = [
    ['CertificateIssuer/CERT_CI_ECDSA_NIST.der', 'CertificateIssuer/SK_CI_ECDSA_NIST.pem'],
    ['CertificateIssuer/CERT_CI_ECDSA_BRP.der', 'CertificateIssuer/SK_CI_ECDSA_BRP.pem'],
    ['EUM/CERT_EUM_ECDSA_NIST.der', 'CertificateIssuer/SK_CI_ECDSA_NIST.pem'],
    ['EUM/CERT_EUM_ECDSA_BRP.der', 'CertificateIssuer/SK_CI_ECDSA_BRP.pem'],
    ['eUICC/CERT_EUICC_ECDSA_NIST.der', 'EUM/SK_EUM_ECDSA_NIST.pem'],
    ['eUICC/CERT_EUICC_ECDSA_BRP.der', 'EUM/SK_EUM_ECDSA_BRP.pem'],
    ['DPpb/CERT_S_SM_DPpb_ECDSA_NIST.der', 'CertificateIssuer/SK_CI_ECDSA_NIST.pem'],
    ['DPpb/CERT_S_SM_DPpb_ECDSA_BRP.der', 'CertificateIssuer/SK_CI_ECDSA_BRP.pem'],
  ] as const;

  for (const [certFile, issuerKeyFile] of certs) {
    it(`verifies ${certFile} with its issuer's key`, () => {
      const cert = parseCert(readFileSync(SGP26 + certFile));
      const issuer = parseKey(readFileSync(SGP26 + issuerKeyFile, 'utf8'));
      const raw = derToRaw(cert.signatureDer);
      expect(verify(issuer.curve, issuer.publicKey, cert.tbs, raw)).toBe(true);
      expect(toHex(rawToDer(raw))).toBe(toHex(cert.signatureDer));
    });
  }

  it('accepts high-S signatures (noble with lowS: true would reject them)', () => {
    // CERT_EUICC_ECDSA_NIST is signed by the EUM with s > n/2
    const cert = parseCert(readFileSync(SGP26 + 'eUICC/CERT_EUICC_ECDSA_NIST.der'));
    const eum = parseKey(readFileSync(SGP26 + 'EUM/SK_EUM_ECDSA_NIST.pem', 'utf8'));
    const raw = derToRaw(cert.signatureDer);
    const s = BigInt('0x' + toHex(raw.subarray(32)));
    expect(s > p256.Point.CURVE().n / 2n).toBe(true);
    expect(p256.verify(raw, cert.tbs, eum.publicKey)).toBe(false);
    expect(verify('P-256', eum.publicKey, cert.tbs, raw)).toBe(true);
  });
});

describe('rawToDer / derToRaw', () => {
  it('encodes minimal INTEGERs with a 00 pad when the top bit is set', () => {
    const raw = new Uint8Array(64);
    raw[0] = 0x80;
    raw[63] = 0x01;
    raw[33] = 0x00;
    expect(toHex(rawToDer(raw))).toBe('3026022100' + '80' + '00'.repeat(31) + '0201' + '01');
  });

  it('round-trips leading-zero values', () => {
    const raw = new Uint8Array(64);
    raw[5] = 0x12; // r has 5 leading zero bytes
    raw[32] = 0x00;
    raw[33] = 0x7f; // s has a leading zero byte, no pad needed
    raw[63] = 0xff;
    const der = rawToDer(raw);
    expect(toHex(derToRaw(der))).toBe(toHex(raw));
  });

  it('round-trips random signatures', () => {
    for (let i = 0; i < 20; i++) {
      const k = generateKey('P-256');
      const sig = sign('P-256', k.privateKey, new Uint8Array([i]));
      expect(toHex(derToRaw(rawToDer(sig)))).toBe(toHex(sig));
    }
  });

  it('rejects wrong lengths and non-DER encodings', () => {
    expect(() => rawToDer(new Uint8Array(63))).toThrow(CryptoError);
    const good = rawToDer(new Uint8Array(64).fill(0x11));
    expect(() => derToRaw(good.subarray(0, good.length - 1))).toThrow(/bad SEQUENCE length/);
    expect(() => derToRaw(new Uint8Array([...good, 0]))).toThrow(/bad SEQUENCE length/);
    // non-minimal INTEGER (00 11 ...)
    expect(() => derToRaw(hexToBytes('3008020300' + '1111' + '020111'))).toThrow(/non-minimal/);
    // negative INTEGER
    expect(() => derToRaw(hexToBytes('3006020181' + '020111'))).toThrow(/negative/);
    // INTEGER longer than 32 bytes
    expect(() => derToRaw(hexToBytes('3026022101' + '11'.repeat(32) + '020111'))).toThrow(/longer than 32/);
    // trailing bytes inside the SEQUENCE
    expect(() => derToRaw(hexToBytes('3008020111020111' + '0000'))).toThrow(/trailing/);
    expect(() => derToRaw(hexToBytes('3108020111020111'))).toThrow(/expected a SEQUENCE/);
  });
});
