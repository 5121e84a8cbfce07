// Regression test for the move of ECDSA verification and ECKA (SGP.22 2.6.5, 3.1.3) from
// @noble/curves to node:crypto: same answers as noble on both curves for valid, tampered,
// high-S and malformed inputs, and the same shared secrets.
import { describe, expect, it } from 'vitest';
import { p256 } from '@noble/curves/nist.js';
import { brainpoolP256r1 } from '@noble/curves/misc.js';
import { randomBytes } from 'node:crypto';
import { sign, verify } from './ecdsa.ts';
import { ecka, generateKeyPair } from './ecka.ts';
import { CryptoError } from './errors.ts';
import { toHex } from '../bytes.ts';
import type { CurveName } from './curves.ts';

const NOBLE = { 'P-256': p256, brainpoolP256r1 } as const;
const CURVES: CurveName[] = ['P-256', 'brainpoolP256r1'];

/** s -> n - s: the other valid signature of the same (r, s) pair. */
function highS(curve: CurveName, sig: Uint8Array): Uint8Array {
  const n = NOBLE[curve].Point.CURVE().n;
  const s = BigInt('0x' + toHex(sig.subarray(32)));
  const out = sig.slice();
  out.set(Buffer.from((n - s).toString(16).padStart(64, '0'), 'hex'), 32);
  return out;
}

describe('verify agrees with @noble/curves', () => {
  for (const curve of CURVES) {
    it(`on ${curve}: valid, flipped, high-S, zero and out-of-range signatures`, () => {
      for (let i = 0; i < 20; i++) {
        const k = generateKeyPair(curve);
        const msg = new Uint8Array(randomBytes(1 + i * 7));
        const sig = sign(curve, k.privateKey, msg);
        const cases = [sig, highS(curve, sig), (() => { const f = sig.slice(); f[i % 64]! ^= 1; return f; })(), new Uint8Array(64), new Uint8Array(64).fill(0xff)];
        for (const candidate of cases) {
          const expected = NOBLE[curve].verify(candidate, msg, k.publicKey, { prehash: true, lowS: false, format: 'compact' });
          expect(verify(curve, k.publicKey, msg, candidate)).toBe(expected);
        }
      }
    });

    it(`on ${curve}: a point that is not on the curve is not a key (false, no throw)`, () => {
      const k = generateKeyPair(curve);
      const sig = sign(curve, k.privateKey, Uint8Array.of(1));
      const off = k.publicKey.slice();
      off[64]! ^= 1;
      expect(verify(curve, off, Uint8Array.of(1), sig)).toBe(false);
      expect(verify(curve, Uint8Array.of(4, ...new Uint8Array(64)), Uint8Array.of(1), sig)).toBe(false);
    });
  }
});

describe('ECKA agrees with @noble/curves', () => {
  for (const curve of CURVES) {
    it(`on ${curve}: the x-coordinate of d * Q, both ways`, () => {
      for (let i = 0; i < 10; i++) {
        const a = generateKeyPair(curve);
        const b = generateKeyPair(curve);
        const expected = NOBLE[curve].getSharedSecret(a.privateKey, b.publicKey, true).subarray(1);
        expect(toHex(ecka(curve, a.privateKey, b.publicKey))).toBe(toHex(expected));
        expect(toHex(ecka(curve, b.privateKey, a.publicKey))).toBe(toHex(expected));
      }
    });

    it(`on ${curve}: an invalid peer point is CryptoError invalidPoint`, () => {
      const a = generateKeyPair(curve);
      const bad = a.publicKey.slice();
      bad[40]! ^= 1;
      try {
        ecka(curve, a.privateKey, bad);
        expect.unreachable('ecka accepted a point off the curve');
      } catch (e) {
        expect(e).toBeInstanceOf(CryptoError);
        expect((e as CryptoError).kind).toBe('invalidPoint');
      }
    });
  }
});
