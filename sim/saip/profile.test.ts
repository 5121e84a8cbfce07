import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { hexToBytes, toHex } from '../bytes.ts';
import { DerError } from '../rsp/der.ts';
import { SaipError } from './errors.ts';
import { joinProfileElements, splitProfileElements } from './package.ts';
import { readProfile } from './profile.ts';
import { loadProfile, TS48_PROFILES } from './testdata/ts48.ts';

const USIM_AID = 'a0000000871002ff49ff0589';
const TS48_K = '000102030405060708090a0b0c0d0e0f';
const TS48_OPC = '00000000000000000000000000000000';

function thrown<E extends Error>(type: new (...args: never[]) => E, f: () => unknown): E {
  try {
    f();
  } catch (e) {
    if (e instanceof type) return e;
    throw e;
  }
  throw new Error(`no ${type.name} thrown`);
}

function replaceElement(upp: Uint8Array, index: number, raw: Uint8Array | undefined): Uint8Array {
  const pes = splitProfileElements(upp);
  if (raw) pes.splice(index, 1, { ...pes[index]!, raw });
  else pes.splice(index, 1);
  return joinProfileElements(pes);
}

describe('readProfile on the TS.48 test profiles', () => {
  it.each(TS48_PROFILES)('$file: ICCID $iccid, IMSI $imsi, SAIP $saipVersion, $elementCount PEs', (p) => {
    const s = readProfile(loadProfile(p.file));
    expect(s.iccid).toBe(p.iccid);
    expect(s.efIccid).toBe(p.iccid);
    expect(s.imsi).toBe(p.imsi);
    expect(s.saipVersion).toBe(p.saipVersion);
    expect(s.elementCount).toBe(p.elementCount);
    expect(s.size).toBe(p.size);
    expect(s.profileType).toBe('GSMA Generic eUICC Test Profile');
    expect(s.hasUsim).toBe(true);
    expect(s.usimAid).toBe(USIM_AID);
    expect(s.header.euiccMandatoryServices.join(',')).toBe(p.services);
    const aka = s.akaParameters!;
    expect(aka.algorithm).toBe('usim-test-algorithm');
    expect(aka.algorithmOptions).toBe(0x02);
    expect(toHex(aka.ki!)).toBe(TS48_K);
    expect(toHex(aka.opc!)).toBe(TS48_OPC);
  });

  it('never prints K or OPc through JSON or util.inspect', () => {
    const s = readProfile(loadProfile('TS48v1_A.der'));
    const json = JSON.stringify(s);
    expect(json).toContain('"ki":"<redacted 16 bytes>"');
    expect(json).toContain('"opc":"<redacted 16 bytes>"');
    expect(json).toContain('"algorithm":"usim-test-algorithm"');
    const text = inspect(s, { depth: 10 });
    expect(text).toContain('<redacted 16 bytes>');
    expect(text).not.toMatch(/ki: Uint8Array/);
    expect(inspect(s.akaParameters)).toBe(
      'AkaParameters {"algorithm":"usim-test-algorithm","ki":"<redacted 16 bytes>","opc":"<redacted 16 bytes>","algorithmOptions":2}',
    );
  });

  it('reports a profile without USIM', () => {
    const upp = loadProfile('TS48v1_A.der');
    const usimIndex = splitProfileElements(upp).findIndex((e) => e.name === 'usim');
    const s = readProfile(replaceElement(upp, usimIndex, undefined));
    expect(s.hasUsim).toBe(false);
    expect(s.imsi).toBeUndefined();
    expect(s.usimAid).toBeUndefined();
    expect(s.elementCount).toBe(27);
    expect(s.akaParameters?.algorithm).toBe('usim-test-algorithm');
  });

  it('reads a mappingParameter AKA configuration', () => {
    const upp = loadProfile('TS48v1_A.der');
    const akaIndex = splitProfileElements(upp).findIndex((e) => e.name === 'akaParameter');
    // akaParameter { aka-header { identification 11 }, algoConfiguration mappingParameter { mappingOptions 01, mappingSource AID } }
    const mapping = hexToBytes('a418' + 'a003810111' + 'a111' + 'a00f' + '800101' + '810a' + 'a0000000871002ff49ff');
    const s = readProfile(replaceElement(upp, akaIndex, mapping));
    expect(s.akaParameters?.algorithm).toBe('mapping');
    expect(s.akaParameters?.mappingSource).toBe('a0000000871002ff49ff');
    expect(s.akaParameters?.ki).toBeUndefined();
  });

  it('rejects an unknown AKA algorithm with SaipError bad-values', () => {
    const upp = loadProfile('TS48v1_A.der');
    const pes = splitProfileElements(upp);
    const akaIndex = pes.findIndex((e) => e.name === 'akaParameter');
    const aka = pes[akaIndex]!.raw.slice();
    // algorithmID is the first 80 01 xx inside the algoParameter: set it to 9
    const at = toHex(aka).indexOf('800103') / 2;
    aka[at + 2] = 9;
    const e = thrown(SaipError, () => readProfile(replaceElement(upp, akaIndex, aka)));
    expect([e.kind, e.peStatus, e.offset]).toEqual(['invalidContent', 3, pes[akaIndex]!.offset]);
    expect(e.message).toMatch(/algorithmID 9/);
  });

  it('requires the header first', () => {
    const upp = loadProfile('TS48v1_A.der');
    const e = thrown(SaipError, () => readProfile(replaceElement(upp, 0, undefined)));
    expect([e.kind, e.peStatus, e.offset]).toEqual(['missingElement', 5, 0]);
  });

  it('reports truncation and malformed PE content as DerError at package offsets', () => {
    const upp = loadProfile('TS48v2_SAIP2.3_BERTLV.der');
    const e = thrown(DerError, () => readProfile(upp.subarray(0, 5000)));
    expect(e.kind).toBe('truncated');
    const pes = splitProfileElements(upp);
    expect(pes.some((p) => p.offset === e.offset)).toBe(true);
    // EF.IMSI fillFileContent turned into a constructed tag: the File codec rejects it in place
    const usim = pes.find((p) => p.name === 'usim')!;
    const efImsi = usim.tlv.children.find((c) => c.tag === 0xa3)!;
    const content = efImsi.children.find((c) => c.tag === 0x83)!;
    const bad = upp.slice();
    bad[content.offset] = 0xa3; // [3] constructed: no longer a fillFileContent, and its value is no TLV list
    const e2 = thrown(DerError, () => readProfile(bad));
    expect(e2.offset).toBeGreaterThanOrEqual(usim.offset);
    expect(e2.offset).toBeLessThan(usim.offset + usim.raw.byteLength);
  });
});
