import { describe, expect, it } from 'vitest';
import { hexToBytes, toHex } from '../bytes.ts';
import { assertValidIccid, iccidFromBytes, iccidLuhn, iccidToBytes, IccidError, isValidIccid } from './iccid.ts';

function iccidError(f: () => unknown): IccidError {
  try {
    f();
  } catch (e) {
    if (e instanceof IccidError) return e;
    throw e;
  }
  throw new Error('no IccidError thrown');
}

describe('ICCID coding (EF.ICCID, nibble-swapped BCD)', () => {
  it('encodes and decodes the TS.48 test ICCID (20 digits)', () => {
    expect(toHex(iccidToBytes('89000123456789012341'))).toBe('98001032547698103214');
    expect(iccidFromBytes(hexToBytes('98001032547698103214'))).toBe('89000123456789012341');
  });

  it('pads 19-digit ICCIDs with a trailing F (high nibble of the last byte)', () => {
    expect(toHex(iccidToBytes('8900012345678901234'))).toBe('980010325476981032f4');
    expect(iccidFromBytes(hexToBytes('980010325476981032f4'))).toBe('8900012345678901234');
    expect(iccidToBytes('8900012345678901234').byteLength).toBe(10);
    // the other TS.48 ICCID (v2 SAIP 2.1 NoBERTLV)
    expect(toHex(iccidToBytes('89000123456789012358'))).toBe('98001032547698103285');
    // a real-world style 19-digit ICCID round trip
    const nineteen = '8944500102198304826';
    expect(iccidFromBytes(iccidToBytes(nineteen))).toBe(nineteen);
  });

  it('rejects bad input with typed errors', () => {
    expect(iccidError(() => iccidToBytes('8900A')).reason).toBe('notDigits');
    expect(iccidError(() => iccidToBytes('123456789012345678901')).reason).toBe('length');
    expect(iccidError(() => iccidToBytes('')).reason).toBe('length');
    expect(iccidError(() => iccidFromBytes(hexToBytes('98001032547698103a14'))).reason).toBe('badNibble');
    // F in the middle is not padding
    expect(iccidError(() => iccidFromBytes(hexToBytes('9800f032547698103214'))).reason).toBe('badNibble');
    expect(iccidError(() => iccidFromBytes(hexToBytes('ffffffffffffffffffff'))).reason).toBe('length');
    expect(iccidError(() => iccidFromBytes(new Uint8Array(11))).reason).toBe('length');
  });
});

describe('ICCID Luhn check digit', () => {
  it('computes the check digit of the TS.48 ICCIDs', () => {
    expect(iccidLuhn('8900012345678901234')).toBe(1);
    expect(iccidLuhn('8900012345678901235')).toBe(8);
    expect(iccidLuhn('894450010219830482')).toBe(6);
  });

  it('validates 19/20 digit ICCIDs', () => {
    expect(isValidIccid('89000123456789012341')).toBe(true);
    expect(isValidIccid('89000123456789012358')).toBe(true);
    expect(isValidIccid('8944500102198304826')).toBe(true);
    expect(isValidIccid('89000123456789012342')).toBe(false);
    expect(isValidIccid('8900012345678901234')).toBe(false); // 19 digits, wrong check
    expect(isValidIccid('890001234567890123')).toBe(false); // 18 digits
    expect(isValidIccid('8900012345678901234X')).toBe(false);
  });

  it('assertValidIccid names the problem', () => {
    expect(() => assertValidIccid('89000123456789012341')).not.toThrow();
    const e = iccidError(() => assertValidIccid('89000123456789012342'));
    expect(e.reason).toBe('luhn');
    expect(e.message).toMatch(/requires 1/);
    expect(iccidError(() => assertValidIccid('8900')).reason).toBe('length');
    expect(iccidError(() => assertValidIccid('89 00')).reason).toBe('notDigits');
  });
});
