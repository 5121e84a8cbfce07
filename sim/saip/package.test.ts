import { describe, expect, it } from 'vitest';
import { equalBytes, hexToBytes } from '../bytes.ts';
import { DerError } from '../rsp/der.ts';
import { joinProfileElements, PROFILE_ELEMENT_NAMES, profileElementTag, splitProfileElements } from './package.ts';
import { loadProfile, PE_SEQUENCE_28, PE_SEQUENCE_29, PE_SEQUENCE_30, TS48_PROFILES } from './testdata/ts48.ts';

function derError(f: () => unknown): DerError {
  try {
    f();
  } catch (e) {
    if (e instanceof DerError) return e;
    throw e;
  }
  throw new Error('no DerError thrown');
}

const SEQUENCES: Record<number, string> = { 28: PE_SEQUENCE_28, 29: PE_SEQUENCE_29, 30: PE_SEQUENCE_30 };

describe('splitProfileElements / joinProfileElements', () => {
  it.each(TS48_PROFILES)('$file: splits into $elementCount PEs covering the input, joins byte-exactly', (p) => {
    const upp = loadProfile(p.file);
    expect(upp.byteLength).toBe(p.size);
    const pes = splitProfileElements(upp);
    expect(pes.map((e) => e.name).join(' ')).toBe(SEQUENCES[p.elementCount]);
    let offset = 0;
    for (const pe of pes) {
      expect(pe.offset).toBe(offset);
      expect(pe.tlv.offset).toBe(offset);
      expect(pe.tag).toBe(profileElementTag(pe.name as (typeof PROFILE_ELEMENT_NAMES)[number]));
      expect(equalBytes(pe.raw, upp.subarray(offset, offset + pe.raw.byteLength))).toBe(true);
      offset += pe.raw.byteLength;
    }
    expect(offset).toBe(upp.byteLength);
    expect(equalBytes(joinProfileElements(pes), upp)).toBe(true);
  });

  it('maps CHOICE alternatives to their AUTOMATIC TAGS identifiers', () => {
    const tags = Object.fromEntries(
      (['header', 'genericFileManagement', 'pinCodes', 'pukCodes', 'akaParameter', 'cdmaParameter', 'securityDomain', 'rfm', 'end', 'mf', 'telecom', 'usim', 'opt-usim', 'isim', 'opt-isim', 'gsm-access', 'csim', 'opt-csim', 'df-5gs', 'df-saip', 'df-5gprose', 'iot', 'opt-iot'] as const).map((n) => [
        n,
        profileElementTag(n).toString(16).toUpperCase(),
      ]),
    );
    expect(tags).toEqual({
      header: 'A0',
      genericFileManagement: 'A1',
      pinCodes: 'A2',
      pukCodes: 'A3',
      akaParameter: 'A4',
      cdmaParameter: 'A5',
      securityDomain: 'A6',
      rfm: 'A7',
      end: 'AA',
      mf: 'B0',
      telecom: 'B2',
      usim: 'B3',
      'opt-usim': 'B4',
      isim: 'B5',
      'opt-isim': 'B6',
      'gsm-access': 'B8',
      csim: 'B9',
      'opt-csim': 'BA',
      'df-5gs': 'BC',
      'df-saip': 'BD',
      'df-5gprose': 'BF1F',
      iot: 'BF20',
      'opt-iot': 'BF21',
    });
  });

  it('names PEs of later versions "unknown" and keeps them', () => {
    const pes = splitProfileElements(hexToBytes('aa05a003810101' + 'bf3f00'));
    expect(pes.map((e) => [e.name, e.tag.toString(16)])).toEqual([
      ['end', 'aa'],
      ['unknown', 'bf3f'],
    ]);
  });

  it('reports a truncated package with the offset of the PE that runs past the end', () => {
    const upp = loadProfile('TS48v1_A.der');
    const pes = splitProfileElements(upp);
    const last = pes[pes.length - 1]!;
    const e = derError(() => splitProfileElements(upp.subarray(0, upp.byteLength - 1)));
    expect(e.kind).toBe('truncated');
    expect(e.offset).toBe(last.offset);
    expect(e.message).toMatch(/profile element #27/);
    // cut inside the USIM PE: the error points into it, at a package offset
    const usim = pes.find((p) => p.name === 'usim')!;
    const e2 = derError(() => splitProfileElements(upp.subarray(0, usim.offset + 100)));
    expect(e2.kind).toBe('truncated');
    expect(e2.offset).toBeGreaterThanOrEqual(usim.offset);
    expect(e2.offset).toBeLessThan(usim.offset + 100);
    // only a tag byte left
    const e3 = derError(() => splitProfileElements(upp.subarray(0, last.offset + 1)));
    expect(e3.kind).toBe('truncated');
    expect(e3.offset).toBe(last.offset);
  });

  it('rejects empty input, non-PE tags and non-DER lengths with offsets', () => {
    expect(derError(() => splitProfileElements(new Uint8Array(0))).kind).toBe('truncated');
    const upp = loadProfile('TS48v1_A.der');
    const withTrailer = new Uint8Array([...upp, 0x30, 0x00]);
    const e = derError(() => splitProfileElements(withTrailer));
    expect([e.kind, e.offset, e.tag]).toEqual(['unexpectedTag', upp.byteLength, 0x30]);
    const primitive = derError(() => splitProfileElements(hexToBytes('8a0100')));
    expect([primitive.kind, primitive.offset]).toEqual(['unexpectedTag', 0]);
    // 'end' PE with a non-minimal length after a valid one
    const nonMinimal = derError(() => splitProfileElements(hexToBytes('aa05a003810101' + 'aa8105a003810101')));
    expect([nonMinimal.kind, nonMinimal.offset]).toEqual(['notDer', 8]);
    expect(splitProfileElements(hexToBytes('aa8105a003810101'), { der: false })).toHaveLength(1);
  });
});
