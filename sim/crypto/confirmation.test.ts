import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hexToBytes, toHex } from '../bytes.ts';
import { confirmationCodeBytes, hashConfirmationCode } from './confirmation.ts';

const sha = (...parts: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};
const txId = hexToBytes('0123456789ABCDEF0123456789ABCDEF');

describe('hashConfirmationCode', () => {
  it('ascii (default) = SHA256(SHA256(ASCII bytes) || transactionId)', () => {
    const expected = sha(sha(Buffer.from('1234', 'ascii')), txId).toString('hex');
    expect(toHex(hashConfirmationCode('1234', txId))).toBe(expected);
    expect(toHex(hashConfirmationCode('1234', txId, 'ascii'))).toBe(expected);
  });

  it('hex = SHA256(SHA256(hex-decoded bytes) || transactionId)', () => {
    const expected = sha(sha(Buffer.from([0x12, 0x34])), txId).toString('hex');
    expect(toHex(hashConfirmationCode('1234', txId, 'hex'))).toBe(expected);
  });

  it('ascii and hex readings of the same code differ', () => {
    expect(toHex(hashConfirmationCode('1234', txId, 'ascii'))).not.toBe(toHex(hashConfirmationCode('1234', txId, 'hex')));
  });

  it('depends on the transactionId', () => {
    const other = hexToBytes('0123456789ABCDEF0123456789ABCDEE');
    expect(toHex(hashConfirmationCode('1234', txId))).not.toBe(toHex(hashConfirmationCode('1234', other)));
  });

  it('pinned values, computed once with node:crypto', () => {
    // SHA256("1234") = 03ac6742..46f4; hashCc = SHA256(that || 0123456789abcdef0123456789abcdef)
    expect(toHex(hashConfirmationCode('1234', txId))).toBe('a9ba29186c54042c9b61755664fd9d5292cf7464dcc058801b20b74071736e56');
    expect(toHex(hashConfirmationCode('1234', txId, 'hex'))).toBe('3e33f5d3ca0bc619a7de32403c1321f7659a8931559c154c9901211ddc9ab57b');
  });

  it('rejects non-hex input in hex mode and non-ASCII in ascii mode', () => {
    expect(() => hashConfirmationCode('12G4', txId, 'hex')).toThrow(expect.objectContaining({ name: 'CryptoError', kind: 'invalidInput' }));
    expect(() => hashConfirmationCode('123', txId, 'hex')).toThrow(expect.objectContaining({ kind: 'invalidInput' }));
    expect(() => confirmationCodeBytes('12é4')).toThrow(expect.objectContaining({ kind: 'invalidInput' }));
  });

  it('rejects a transactionId outside 1..16 bytes', () => {
    expect(() => hashConfirmationCode('1234', new Uint8Array(0))).toThrow(expect.objectContaining({ kind: 'invalidLength' }));
    expect(() => hashConfirmationCode('1234', new Uint8Array(17))).toThrow(expect.objectContaining({ kind: 'invalidLength' }));
  });
});
