// Regression test for the move of BSP's AES (SCP03t C-DEC/C-MAC, SGP.22 2.5.4) from
// @noble/ciphers to node:crypto: segments must be bit-identical to the ones the noble
// implementation produced, for every data length around the 16-byte block boundary
// (both CMAC subkey branches) and for AES-128/192/256 keys.
import { describe, expect, it } from 'vitest';
import { cbc, cmac, ecb } from '@noble/ciphers/aes.js';
import { randomBytes } from 'node:crypto';
import { BspSession, berLength } from './bsp.ts';
import { concatBytes, toHex } from '../bytes.ts';

/** The previous, noble-based wrap of one segment (reference). */
function referenceWrap(keys: { sEnc: Uint8Array; sMac: Uint8Array; mcv: Uint8Array }, counter: number, tag: number, plaintext: Uint8Array, mode: 'encryptAndMac' | 'macOnly'): { segment: Uint8Array; mac: Uint8Array } {
  let data = plaintext;
  if (mode === 'encryptAndMac') {
    data = new Uint8Array(plaintext.length + 16 - (plaintext.length % 16));
    data.set(plaintext);
    data[plaintext.length] = 0x80;
  }
  const header = concatBytes(Uint8Array.of(tag), berLength(data.length + 8));
  let payload = data;
  if (mode === 'encryptAndMac') {
    const block = new Uint8Array(16);
    new DataView(block.buffer).setBigUint64(8, BigInt(counter));
    const icv = ecb(keys.sEnc, { disablePadding: true }).encrypt(block);
    payload = cbc(keys.sEnc, icv, { disablePadding: true }).encrypt(data);
  }
  const mac = cmac(concatBytes(keys.mcv, header, payload), keys.sMac);
  return { segment: concatBytes(header, payload, mac.subarray(0, 8)), mac };
}

describe('BSP over node:crypto matches the @noble/ciphers implementation', () => {
  for (const keyLength of [16, 24, 32]) {
    it(`wraps and unwraps identically for lengths 0..80 (AES-${keyLength * 8})`, () => {
      const keys = { sEnc: new Uint8Array(randomBytes(keyLength)), sMac: new Uint8Array(randomBytes(keyLength)), initialMcv: new Uint8Array(randomBytes(16)) };
      const sender = new BspSession(keys);
      const receiver = new BspSession(keys);
      let mcv: Uint8Array = keys.initialMcv;
      let counter = 1;
      for (let len = 0; len <= 80; len++) {
        for (const mode of ['macOnly', 'encryptAndMac'] as const) {
          if (mode === 'macOnly' && len === 0) continue;
          const plaintext = new Uint8Array(randomBytes(len));
          const ref = referenceWrap({ sEnc: keys.sEnc, sMac: keys.sMac, mcv }, counter, mode === 'macOnly' ? 0x88 : 0x86, plaintext, mode);
          const segment = sender.wrap(mode === 'macOnly' ? 0x88 : 0x86, plaintext, mode);
          expect(toHex(segment)).toBe(toHex(ref.segment));
          expect(toHex(receiver.unwrap(segment, mode))).toBe(toHex(plaintext));
          mcv = Uint8Array.from(ref.mac);
          counter++;
        }
      }
    });
  }
});
