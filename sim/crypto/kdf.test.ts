import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hexToBytes, toHex } from '../bytes.ts';
import { CryptoError } from './errors.ts';
import { deriveSessionKeys, x963Kdf } from './kdf.ts';
import { vectors } from './testdata/vectors.ts';

/** Independent X9.63 KDF on node:crypto. */
function refKdf(z: Uint8Array, info: Uint8Array, length: number): string {
  let out = Buffer.alloc(0);
  for (let c = 1; out.length < length; c++) {
    const ctr = Buffer.alloc(4);
    ctr.writeUInt32BE(c);
    out = Buffer.concat([out, createHash('sha256').update(z).update(ctr).update(info).digest()]);
  }
  return out.subarray(0, length).toString('hex');
}

describe('deriveSessionKeys (SGP.22 vectors)', () => {
  it.each(vectors.kdf.map((v) => [v.note, v] as const))('%s', (_note, v) => {
    const keys = deriveSessionKeys({
      sharedSecret: hexToBytes(v.sharedSecret),
      hostId: hexToBytes(v.hostId),
      eid: hexToBytes(v.eid),
      keyType: parseInt(v.keyType, 16),
      keyLength: parseInt(v.keyLen, 16),
    });
    expect(toHex(keys.initialMcv)).toBe(v.initialMcv);
    expect(toHex(keys.sEnc)).toBe(v.sEnc);
    expect(toHex(keys.sMac)).toBe(v.sMac);
  });

  it('defaults keyType 0x88 and keyLength 16', () => {
    const v = vectors.kdf[0]!;
    const keys = deriveSessionKeys({ sharedSecret: hexToBytes(v.sharedSecret), hostId: hexToBytes(v.hostId), eid: hexToBytes(v.eid) });
    expect(toHex(keys.sEnc)).toBe(v.sEnc);
  });

  it('rejects an EID that is not 16 bytes', () => {
    const v = vectors.kdf[0]!;
    const call = () =>
      deriveSessionKeys({ sharedSecret: hexToBytes(v.sharedSecret), hostId: hexToBytes(v.hostId), eid: hexToBytes(v.eid).subarray(1) });
    expect(call).toThrow(CryptoError);
    expect(call).toThrow(expect.objectContaining({ kind: 'invalidLength' }));
  });

  it('rejects an empty hostId', () => {
    const v = vectors.kdf[0]!;
    expect(() =>
      deriveSessionKeys({ sharedSecret: hexToBytes(v.sharedSecret), hostId: new Uint8Array(0), eid: hexToBytes(v.eid) }),
    ).toThrow(expect.objectContaining({ name: 'CryptoError', kind: 'invalidLength' }));
  });
});

describe('x963Kdf', () => {
  const z = hexToBytes('00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff');
  const info = hexToBytes('8810');
  it.each([0, 1, 16, 32, 33, 48, 70, 100])('matches an independent implementation for %i bytes', (n) => {
    expect(toHex(x963Kdf(z, info, n))).toBe(refKdf(z, info, n));
  });
  it('rejects negative and fractional lengths', () => {
    expect(() => x963Kdf(z, info, -1)).toThrow(expect.objectContaining({ kind: 'invalidLength' }));
    expect(() => x963Kdf(z, info, 1.5)).toThrow(expect.objectContaining({ kind: 'invalidLength' }));
  });
});
