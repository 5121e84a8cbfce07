import { describe, expect, it } from 'vitest';
import { hexToBytes, toHex } from '../../bytes.ts';
import { AtrError, buildAtr, DEFAULT_HISTORICAL_BYTES, parseAtr } from './atr.ts';

const HIST = '8031e073fe211b633a204a83009000';
const xorT0ToEnd = (atr: Uint8Array): number => atr.subarray(1).reduce((a, b) => a ^ b, 0);

describe('buildAtr (ISO 7816-3 8.2, TS 102 221 6.3)', () => {
  it('default offers T=0 and T=1 (TD1 T=0, TD2 T=1 with IFSC/BWI, TD3 T=15) with a TCK', () => {
    const atr = buildAtr();
    expect(toHex(atr)).toBe('3b9f9680b1fe451fc7' + HIST + '9d');
    expect(xorT0ToEnd(atr)).toBe(0);
    const p = parseAtr(atr);
    expect(p.protocols).toEqual([0, 1]);
    expect(p.hasT15).toBe(true);
    expect(toHex(p.historical)).toBe(HIST);
    expect(p.tck).toBe(0x9d);
  });

  it('T=0 only: the usual UICC ATR, TCK present because T=15 is indicated', () => {
    const atr = buildAtr({ protocols: 'T=0' });
    // XOR of T0..historical is 97 (an often-quoted form of this ATR ends in 0F, which is not a valid TCK)
    expect(toHex(atr)).toBe('3b9f96801fc7' + HIST + '97');
    expect(parseAtr(atr).protocols).toEqual([0]);
  });

  it('T=1 only puts the T=1 bytes in group 3', () => {
    const atr = buildAtr({ protocols: 'T=1' });
    expect(toHex(atr.subarray(0, 9))).toBe('3b9f9681b1fe451fc7');
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
    const atr = buildAtr({ protocols: 'T=0', ta1: 0x18, historical: hexToBytes('8000') });
    expect(toHex(atr)).toBe('3b92188' + '01fc78000' + (0x92 ^ 0x18 ^ 0x80 ^ 0x1f ^ 0xc7 ^ 0x80).toString(16).padStart(2, '0'));
    expect(() => buildAtr({ historical: new Uint8Array(16) })).toThrow(AtrError);
    expect(DEFAULT_HISTORICAL_BYTES.length).toBe(15);
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
