import { describe, expect, it } from 'vitest';
import { hexToBytes, toHex } from '../bytes.ts';
import { decodeEfImsi, encodeEfImsi } from './ef-imsi.ts';
import { SaipError } from './errors.ts';

function saipError(f: () => unknown): SaipError {
  try {
    f();
  } catch (e) {
    if (e instanceof SaipError) return e;
    throw e;
  }
  throw new Error('no SaipError thrown');
}

describe('EF.IMSI coding (3GPP TS 31.102 4.2.2)', () => {
  it.each([
    ['001010123456063', '080910101032540636'], // TS.48 test IMSI, odd number of digits
    ['262011234567890', '082926102143658709'],
    ['00101012345606', '0801101010325406f6'], // even: parity 0, last high nibble F
    ['001010', '04011010f0ffffffff'], // 6 digits, FF after the used bytes
    ['0010101', '0409101010ffffffff'],
  ])('%s <-> %s', (imsi, hex) => {
    expect(toHex(encodeEfImsi(imsi))).toBe(hex);
    expect(decodeEfImsi(hexToBytes(hex))).toBe(imsi);
  });

  it('writes a larger content size FF-padded', () => {
    expect(toHex(encodeEfImsi('001010123456063', 10))).toBe('080910101032540636ff');
  });

  it('treats unset content as no IMSI', () => {
    expect(decodeEfImsi(hexToBytes('ffffffffffffffffff'))).toBeUndefined();
    expect(decodeEfImsi(hexToBytes('00ffffffffffffffff'))).toBeUndefined();
    expect(decodeEfImsi(new Uint8Array(0))).toBeUndefined();
  });

  it('rejects malformed content with SaipError invalidContent / bad-values', () => {
    const e = saipError(() => decodeEfImsi(hexToBytes('090910101032540636')));
    expect([e.kind, e.peStatus]).toEqual(['invalidContent', 3]);
    expect(e.message).toMatch(/length byte 9/);
    expect(saipError(() => decodeEfImsi(hexToBytes('080a10101032540636'))).message).toMatch(/identity type 2/);
    expect(saipError(() => decodeEfImsi(hexToBytes('0801101010325406a6'))).message).toMatch(/last nibble is not F/);
    expect(saipError(() => decodeEfImsi(hexToBytes('08091010103254063a'))).message).toMatch(/non-decimal/);
    expect(saipError(() => decodeEfImsi(hexToBytes('0809101010'))).message).toMatch(/exceeds the content/);
  });

  it('validates IMSI input', () => {
    for (const bad of ['00101', '0010101234560631', '00101A', '']) {
      const e = saipError(() => encodeEfImsi(bad));
      expect([e.kind, e.field]).toEqual(['invalidInput', 'imsi']);
    }
    expect(saipError(() => encodeEfImsi('001010123456063', 8)).message).toMatch(/needs 9 bytes/);
  });
});
