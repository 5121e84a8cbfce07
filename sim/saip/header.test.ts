import { describe, expect, it } from 'vitest';
import { equalBytes, hexToBytes, toHex } from '../bytes.ts';
import { DerError } from '../rsp/der.ts';
import { decodeProfileHeader, digitsToHeaderIccid, encodeProfileHeader, headerIccidToDigits, saipVersion, type ProfileHeader } from './header.ts';
import { splitProfileElements } from './package.ts';
import { tlv } from './testdata/hex.ts';
import { loadProfile, TS48_PROFILES } from './testdata/ts48.ts';

const GFSTE_21 = ['1', '3', '4', '5', '7', '8', '9', '10', '11'].map((n) => `2.23.143.1.2.${n}`);

function derError(f: () => unknown): DerError {
  try {
    f();
  } catch (e) {
    if (e instanceof DerError) return e;
    throw e;
  }
  throw new Error('no DerError thrown');
}

describe('ProfileHeader codec', () => {
  it.each(TS48_PROFILES)('$file: decodes and re-encodes the header byte-exactly', (p) => {
    const headerPe = splitProfileElements(loadProfile(p.file))[0]!;
    expect(headerPe.name).toBe('header');
    const h = decodeProfileHeader(headerPe.raw);
    expect(saipVersion(h)).toBe(p.saipVersion);
    expect(h.profileType).toBe('GSMA Generic eUICC Test Profile');
    expect(headerIccidToDigits(h.iccid)).toBe(p.iccid);
    expect(h.euiccMandatoryServices.join(',')).toBe(p.services);
    expect(h.euiccMandatoryGfsteList.slice(0, 9)).toEqual(GFSTE_21);
    expect(h.pol).toBeUndefined();
    expect(h.euiccMandatoryAids).toBeUndefined();
    // a fresh encoding from a deep copy (no cached DER), byte for byte
    const again = encodeProfileHeader(structuredClone(h));
    expect(toHex(again)).toBe(toHex(headerPe.raw));
  });

  it('SAIP 2.3 headers list two more GFSTE templates', () => {
    const h = decodeProfileHeader(splitProfileElements(loadProfile('TS48v2_SAIP2.3_NoBERTLV.der'))[0]!.raw);
    expect(h.euiccMandatoryGfsteList).toEqual([...GFSTE_21, '2.23.143.1.2.13', '2.23.143.1.2.14']);
  });

  it('round-trips every optional component, unknown services and sorts services into DER order', () => {
    const h: ProfileHeader = {
      majorVersion: 3,
      minorVersion: 3,
      iccid: digitsToHeaderIccid('8944500102198304826'),
      pol: hexToBytes('01'),
      euiccMandatoryServices: ['service40', 'usim', 'milenage', 'eaka'],
      euiccMandatoryGfsteList: [],
      connectivityParameters: hexToBytes('a000'),
      euiccMandatoryAids: [{ aid: hexToBytes('a0000000871002'), version: hexToBytes('0100') }],
      iotOptions: { pix: hexToBytes('10020000000000') },
    };
    const der = encodeProfileHeader(h);
    expect(toHex(der)).toBe(
      tlv('a0', [
        tlv('80', '03'),
        tlv('81', '03'),
        tlv('83', '8944500102198304826f'),
        tlv('84', '01'),
        tlv('a5', [tlv('81', ''), tlv('84', ''), tlv('9d', ''), tlv('9f28', '')]),
        tlv('a6', ''),
        tlv('87', 'a000'),
        tlv('a8', [tlv('30', [tlv('80', 'a0000000871002'), tlv('81', '0100')])]),
        tlv('a9', [tlv('80', '10020000000000')]),
      ]),
    );
    const back = decodeProfileHeader(der);
    expect(back.euiccMandatoryServices).toEqual(['usim', 'milenage', 'eaka', 'service40']);
    expect(back).toEqual({ ...h, euiccMandatoryServices: ['usim', 'milenage', 'eaka', 'service40'] });
    expect(equalBytes(encodeProfileHeader(back), der)).toBe(true);
  });

  it('rejects malformed headers with DerError', () => {
    const head = tlv('80', '02') + tlv('81', '01');
    const iccid = tlv('83', '89000123456789012341');
    const tail = tlv('a5', [tlv('81', '')]) + tlv('a6', '');
    expect(decodeProfileHeader(hexToBytes(tlv('a0', head + iccid + tail))).majorVersion).toBe(2);
    // iccid of 9 bytes
    const e1 = derError(() => decodeProfileHeader(hexToBytes(tlv('a0', head + tlv('83', '890001234567890123') + tail))));
    expect([e1.kind, e1.offset]).toEqual(['invalidValue', 8]); // the 83 TLV after a0 len, 80 01 02, 81 01 01
    // services out of order (82 before 81)
    const e2 = derError(() => decodeProfileHeader(hexToBytes(tlv('a0', head + iccid + tlv('a5', [tlv('82', ''), tlv('81', '')]) + tlv('a6', '')))));
    expect(e2.kind).toBe('invalidValue');
    expect(e2.message).toMatch(/out of order/);
    // a service flag that is not NULL
    const e3 = derError(() => decodeProfileHeader(hexToBytes(tlv('a0', head + iccid + tlv('a5', [tlv('81', '00')]) + tlv('a6', '')))));
    expect(e3.kind).toBe('invalidValue');
    // major-version above UInt8
    const e4 = derError(() => decodeProfileHeader(hexToBytes(tlv('a0', tlv('80', '0100') + tlv('81', '01') + iccid + tail))));
    expect([e4.kind, e4.offset]).toEqual(['invalidValue', 2]);
    // missing eUICC-Mandatory-GFSTEList
    const e5 = derError(() => decodeProfileHeader(hexToBytes(tlv('a0', head + iccid + tlv('a5', '')))));
    expect(e5.kind).toBe('missingField');
    expect(e5.message).toMatch(/euiccMandatoryGfsteList/);
    // wrong PE
    expect(derError(() => decodeProfileHeader(hexToBytes('aa05a003810101'))).kind).toBe('unexpectedTag');
  });

  it('converts header iccid BCD both ways (19 digits F-padded)', () => {
    expect(toHex(digitsToHeaderIccid('89000123456789012341'))).toBe('89000123456789012341');
    expect(toHex(digitsToHeaderIccid('8900012345678901234'))).toBe('8900012345678901234f');
    expect(headerIccidToDigits(hexToBytes('8900012345678901234f'))).toBe('8900012345678901234');
    expect(() => headerIccidToDigits(hexToBytes('98001032547698103214'.replace('98', '9a')))).toThrow(/not F-padded BCD/);
  });
});
