import { createECDH } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hexToBytes, toHex } from '../bytes.ts';
import type { CurveName } from './curves.ts';
import { assertPublicKey, ecka, generateKeyPair, publicKeyOf } from './ecka.ts';
import { CryptoError } from './errors.ts';
import { deriveSessionKeys } from './kdf.ts';
import { vectors } from './testdata/vectors.ts';

const v = vectors.ecka;
const OPENSSL_NAME: Record<CurveName, string> = { 'P-256': 'prime256v1', brainpoolP256r1: 'brainpoolP256r1' };
const curves: CurveName[] = ['P-256', 'brainpoolP256r1'];

describe('ecka (SGP.22 vector, P-256)', () => {
  it('smdpOtsk * euiccOtpk = sharedSecret (x-coordinate)', () => {
    expect(toHex(ecka('P-256', hexToBytes(v.smdpOtsk), hexToBytes(v.euiccOtpk)))).toBe(v.sharedSecret);
  });

  it('smdpOtpk is the public key of smdpOtsk', () => {
    expect(toHex(publicKeyOf('P-256', hexToBytes(v.smdpOtsk)))).toBe(v.smdpOtpk);
  });

  it('feeds the mode51 KDF vector: ECKA then KDF gives the BSP session keys', () => {
    const k = vectors.kdf.find((x) => x.sharedSecret === v.sharedSecret)!;
    const keys = deriveSessionKeys({
      sharedSecret: ecka('P-256', hexToBytes(v.smdpOtsk), hexToBytes(v.euiccOtpk)),
      hostId: hexToBytes(k.hostId),
      eid: hexToBytes(k.eid),
    });
    expect(toHex(keys.sEnc)).toBe(vectors.bspSegments.sEnc);
    expect(toHex(keys.sMac)).toBe(vectors.bspSegments.sMac);
    expect(toHex(keys.initialMcv)).toBe(vectors.bspSegments.initialMcv);
  });
});

describe.each(curves)('ecka round trip on %s', (curve) => {
  it('both sides derive the same 32-byte secret', () => {
    const a = generateKeyPair(curve);
    const b = generateKeyPair(curve);
    expect(a.privateKey).toHaveLength(32);
    expect(a.publicKey).toHaveLength(65);
    expect(a.publicKey[0]).toBe(0x04);
    const s1 = ecka(curve, a.privateKey, b.publicKey);
    const s2 = ecka(curve, b.privateKey, a.publicKey);
    expect(s1).toHaveLength(32);
    expect(toHex(s1)).toBe(toHex(s2));
  });

  it('agrees with OpenSSL (node:crypto ECDH)', () => {
    const a = generateKeyPair(curve);
    const node = createECDH(OPENSSL_NAME[curve]);
    node.generateKeys();
    const nodePub = new Uint8Array(node.getPublicKey());
    expect(toHex(ecka(curve, a.privateKey, nodePub))).toBe(node.computeSecret(a.publicKey).toString('hex'));
  });

  it('rejects a point that is not on the curve', () => {
    const bad = generateKeyPair(curve).publicKey.slice();
    bad[64] ^= 1;
    const call = () => ecka(curve, generateKeyPair(curve).privateKey, bad);
    expect(call).toThrow(CryptoError);
    expect(call).toThrow(expect.objectContaining({ kind: 'invalidPoint' }));
  });

  it('rejects compressed, truncated and all-zero encodings', () => {
    const { privateKey, publicKey } = generateKeyPair(curve);
    const compressed = Uint8Array.of(0x02 | (publicKey[64]! & 1), ...publicKey.subarray(1, 33));
    for (const p of [compressed, publicKey.subarray(0, 64), Uint8Array.of(0x04, ...new Uint8Array(64)), new Uint8Array(65)])
      expect(() => ecka(curve, privateKey, p)).toThrow(expect.objectContaining({ name: 'CryptoError', kind: 'invalidPoint' }));
  });

  it('rejects a zero or short private key', () => {
    const { publicKey } = generateKeyPair(curve);
    expect(() => ecka(curve, new Uint8Array(32), publicKey)).toThrow(expect.objectContaining({ kind: 'invalidKey' }));
    expect(() => ecka(curve, new Uint8Array(31).fill(1), publicKey)).toThrow(expect.objectContaining({ kind: 'invalidKey' }));
  });
});

it('a P-256 public key is not a brainpoolP256r1 point', () => {
  expect(() => assertPublicKey('brainpoolP256r1', hexToBytes(v.euiccOtpk))).toThrow(
    expect.objectContaining({ kind: 'invalidPoint' }),
  );
});
