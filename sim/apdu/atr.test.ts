import { describe, expect, it } from 'vitest';
import { hexToBytes, toHex } from '../bytes.ts';
import { AtrError, atrAnnouncesExtendedLength, buildAtr, DEFAULT_HISTORICAL_BYTES, parseAtr } from './atr.ts';

const HIST = '8031e073fe211b633a204a83009000';
const xorT0ToEnd = (atr: Uint8Array): number => atr.subarray(1).reduce((a, b) => a ^ b, 0);
/** A field eUICC's ATR (Infineon OPTIGA Connect Consumer LPA, list of tested eUICC ATRs). */
const FIELD_EUICC_ATR = '3b9f96803fc7828031e073f62157574a4d020b60010069';

describe('buildAtr (ISO 7816-3 8.2, TS 102 221 6.3)', () => {
  it('default is a field eUICC ATR: T=0 only, T=15 global bytes TA C7 TB 82, TCK', () => {
    const atr = buildAtr();
    expect(toHex(atr)).toBe('3b9f96803fc782' + HIST + '35');
    expect(toHex(atr.subarray(0, 7))).toBe(FIELD_EUICC_ATR.slice(0, 14));
    expect(xorT0ToEnd(atr)).toBe(0);
    const p = parseAtr(atr);
    expect(p.protocols).toEqual([0]);
    expect(p.hasT15).toBe(true);
    expect(p.groups[2]).toEqual({ ta: 0xc7, tb: 0x82 });
    expect(toHex(p.historical)).toBe(HIST);
    expect(p.tck).toBe(0x35);
  });

  it('parses the field eUICC ATR it is modelled on the same way', () => {
    const p = parseAtr(hexToBytes(FIELD_EUICC_ATR));
    expect(p.protocols).toEqual([0]);
    expect(p.hasT15).toBe(true);
    expect(p.groups[2]).toEqual({ ta: 0xc7, tb: 0x82 });
  });

  it('T=0 and T=1 as an option (TD1 T=0, TD2 T=1 with IFSC/BWI, TD3 T=15)', () => {
    const atr = buildAtr({ protocols: 'T=0,T=1' });
    expect(toHex(atr)).toBe('3b9f9680b1fe453fc782' + HIST + '3f');
    expect(xorT0ToEnd(atr)).toBe(0);
    expect(parseAtr(atr).protocols).toEqual([0, 1]);
  });

  it('without the T=15 TB: the often-quoted 3B 9F 96 80 1F C7 form', () => {
    const atr = buildAtr({ t15Tb: null });
    expect(toHex(atr)).toBe('3b9f96801fc7' + HIST + '97');
    expect(parseAtr(atr).protocols).toEqual([0]);
  });

  it('T=1 only puts the T=1 bytes in group 3', () => {
    const atr = buildAtr({ protocols: 'T=1' });
    expect(toHex(atr.subarray(0, 9))).toBe('3b9f9681b1fe453fc7');
    expect(xorT0ToEnd(atr)).toBe(0);
    expect(parseAtr(atr).protocols).toEqual([1]);
  });

  it('T=0 only without T=15 has no TCK', () => {
    const atr = buildAtr({ protocols: 'T=0', t15: false });
    expect(toHex(atr)).toBe('3b9f9600' + HIST);
    const p = parseAtr(atr);
    expect(p.protocols).toEqual([0]);
    expect(p.tck).toBeUndefined();
  });

  it('custom historical bytes and TA1', () => {
    const atr = buildAtr({ protocols: 'T=0', ta1: 0x18, historical: hexToBytes('8000'), t15Tb: null });
    expect(toHex(atr)).toBe('3b92188' + '01fc78000' + (0x92 ^ 0x18 ^ 0x80 ^ 0x1f ^ 0xc7 ^ 0x80).toString(16).padStart(2, '0'));
    expect(() => buildAtr({ historical: new Uint8Array(16) })).toThrow(AtrError);
    expect(() => buildAtr({ t15Tb: 256 })).toThrow('T=15 TB must be a byte, got 256');
    expect(DEFAULT_HISTORICAL_BYTES.length).toBe(15);
  });
});

describe('atrAnnouncesExtendedLength (ISO 7816-4 12.1.1.9 card capabilities)', () => {
  it('is false for the default ATR and true when asked for', () => {
    expect(atrAnnouncesExtendedLength(buildAtr())).toBe(false);
    const ext = buildAtr({ extendedLength: true });
    expect(toHex(ext)).toBe('3b9f96803fc7828031e073fe215b633a204a8300900075');
    expect(atrAnnouncesExtendedLength(ext)).toBe(true);
  });

  it('is false for an ATR without compact-TLV capabilities or one that does not parse', () => {
    expect(atrAnnouncesExtendedLength(hexToBytes('3b028050'))).toBe(false);
    expect(atrAnnouncesExtendedLength(hexToBytes('3b9f96'))).toBe(false);
  });
});

describe('parseAtr', () => {
  it('rejects a wrong or missing TCK', () => {
    const atr = buildAtr();
    const bad = atr.slice();
    bad[bad.length - 1] ^= 0xff;
    expect(() => parseAtr(bad)).toThrow(AtrError);
    expect(() => parseAtr(atr.subarray(0, atr.length - 1))).toThrow(AtrError);
    expect(() => parseAtr(hexToBytes('3b9f96'))).toThrow(AtrError);
    expect(() => parseAtr(hexToBytes('3c00'))).toThrow(AtrError);
  });

  it('reads a real-world T=0 ATR without TCK', () => {
    const p = parseAtr(hexToBytes('3b028050'));
    expect(p.protocols).toEqual([0]);
    expect(toHex(p.historical)).toBe('8050');
  });
});
