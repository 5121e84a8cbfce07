import { describe, expect, it } from 'vitest';
import { equalBytes, toHex } from '../bytes.ts';
import { iccidToBytes } from '../rsp/iccid.ts';
import { encodeEfImsi } from './ef-imsi.ts';
import { SaipError } from './errors.ts';
import { decodeProfileHeader } from './header.ts';
import { joinProfileElements, splitProfileElements } from './package.ts';
import { personaliseProfile } from './personalise.ts';
import { readProfile } from './profile.ts';
import { loadProfile, TS48_PROFILES } from './testdata/ts48.ts';

const NEW_ICCID_19 = '8944500102198304826';
const NEW_ICCID_20 = '89490200001234567892';
const NEW_IMSI = '262011234567890';

/** Value ranges [start, end) personalisation may change: header iccid, MF EF.ICCID, USIM EF.IMSI content. */
function changeableRanges(upp: Uint8Array): [number, number][] {
  const pes = splitProfileElements(upp);
  const header = pes[0]!.tlv.children.find((c) => c.tag === 0x83)!;
  const mf = pes.find((p) => p.name === 'mf')!.tlv.children.find((c) => c.tag === 0xa4)!.children.find((c) => c.tag === 0x83)!;
  const usim = pes.find((p) => p.name === 'usim')!.tlv.children.find((c) => c.tag === 0xa3)!.children.find((c) => c.tag === 0x83)!;
  return [header, mf, usim].map((t) => [t.valueOffset, t.valueOffset + t.value.byteLength]);
}

function saipError(f: () => unknown): SaipError {
  try {
    f();
  } catch (e) {
    if (e instanceof SaipError) return e;
    throw e;
  }
  throw new Error('no SaipError thrown');
}

describe('personaliseProfile', () => {
  it.each(TS48_PROFILES)('$file: new ICCID and IMSI read back, nothing else changes', (p) => {
    const upp = loadProfile(p.file);
    const before = upp.slice();
    const out = personaliseProfile(upp, { iccid: NEW_ICCID_19, imsi: NEW_IMSI });
    expect(equalBytes(upp, before)).toBe(true); // input untouched

    const s = readProfile(out);
    expect(s.iccid).toBe(NEW_ICCID_19);
    expect(s.efIccid).toBe(NEW_ICCID_19);
    expect(s.imsi).toBe(NEW_IMSI);
    expect(s.elementCount).toBe(p.elementCount);
    expect(s.saipVersion).toBe(p.saipVersion);
    expect(out.byteLength).toBe(upp.byteLength);

    // PE layout unchanged
    const a = splitProfileElements(upp);
    const b = splitProfileElements(out);
    expect(b.map((e) => [e.name, e.offset, e.raw.byteLength])).toEqual(a.map((e) => [e.name, e.offset, e.raw.byteLength]));

    // every differing byte lies in one of the three values, which hold the new codings
    const ranges = changeableRanges(upp);
    for (let i = 0; i < upp.byteLength; i++)
      if (upp[i] !== out[i]) expect(ranges.some(([s0, e0]) => i >= s0 && i < e0), `byte ${i} changed`).toBe(true);
    const [h, mf, usim] = ranges as [[number, number], [number, number], [number, number]];
    expect(toHex(out.subarray(...h))).toBe('8944500102198304826f');
    expect(toHex(out.subarray(...mf))).toBe(toHex(iccidToBytes(NEW_ICCID_19)));
    expect(toHex(out.subarray(...mf))).toBe('984405102091384028f6');
    expect(toHex(out.subarray(...usim))).toBe(toHex(encodeEfImsi(NEW_IMSI)));
    expect(toHex(decodeProfileHeader(b[0]!.raw).iccid)).toBe('8944500102198304826f');
  });

  it('sets a 20-digit ICCID alone, or an even-length IMSI alone', () => {
    const upp = loadProfile('TS48v5_SAIP2.3_BERTLV_SUCI.der');
    const a = readProfile(personaliseProfile(upp, { iccid: NEW_ICCID_20 }));
    expect([a.iccid, a.efIccid, a.imsi]).toEqual([NEW_ICCID_20, NEW_ICCID_20, '001010123456063']);
    const b = readProfile(personaliseProfile(upp, { imsi: '00101012345606' }));
    expect([b.iccid, b.imsi]).toEqual(['89000123456789012341', '00101012345606']);
    // personalising back restores the original bytes exactly
    const there = personaliseProfile(upp, { iccid: NEW_ICCID_20, imsi: NEW_IMSI });
    const back = personaliseProfile(there, { iccid: '89000123456789012341', imsi: '001010123456063' });
    expect(equalBytes(back, upp)).toBe(true);
    // nothing to change: a copy of the input
    expect(equalBytes(personaliseProfile(upp, {}), upp)).toBe(true);
  });

  it.each([
    [{ iccid: '89000123456789012342' }, 'iccid', /Luhn requires 1/],
    [{ iccid: '890001234567890123' }, 'iccid', /19 or 20 digits/],
    [{ iccid: '8900012345678901234X' }, 'iccid', /decimal digits/],
    [{ imsi: '00101' }, 'imsi', /6\.\.15 digits/],
    [{ imsi: '0010101234560631' }, 'imsi', /6\.\.15 digits/],
    [{ imsi: '00101O123456063' }, 'imsi', /decimal digits/],
  ] as const)('rejects %j', (values, field, message) => {
    const e = saipError(() => personaliseProfile(loadProfile('TS48v1_A.der'), values));
    expect([e.kind, e.field]).toEqual(['invalidInput', field]);
    expect(e.message).toMatch(message);
  });

  it('needs the PEs it writes to', () => {
    const upp = loadProfile('TS48v1_A.der');
    const without = (name: string) => joinProfileElements(splitProfileElements(upp).filter((e) => e.name !== name));
    let e = saipError(() => personaliseProfile(without('usim'), { imsi: NEW_IMSI }));
    expect([e.kind, e.peStatus]).toEqual(['missingElement', 5]);
    expect(e.message).toMatch(/no usim PE/);
    e = saipError(() => personaliseProfile(without('mf'), { iccid: NEW_ICCID_19 }));
    expect(e.message).toMatch(/no mf PE/);
    e = saipError(() => personaliseProfile(without('header'), { iccid: NEW_ICCID_19 }));
    expect([e.kind, e.offset]).toEqual(['missingElement', 0]);
    // ICCID only: a profile without USIM is fine
    expect(readProfile(personaliseProfile(without('usim'), { iccid: NEW_ICCID_19 })).iccid).toBe(NEW_ICCID_19);
  });
});
