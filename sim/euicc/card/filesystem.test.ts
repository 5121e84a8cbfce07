import { describe, expect, it } from 'vitest';
import { hexToBytes, toHex } from '../../bytes.ts';
import { parseCommand } from '../../apdu/apdu.ts';
import { StatusWordError } from '../../apdu/sw.ts';
import { type CardProfileView, INITIAL_CURSOR, UiccFileSystem } from './filesystem.ts';

const USIM_AID = 'a0000000871002ff33ff018900000100';
const view: CardProfileView = {
  iccid: hexToBytes('98001032547698103214'),
  imsi: hexToBytes('080910101032540636'),
  usimAid: hexToBytes(USIM_AID),
  extraFiles: [
    { parent: 'ADF.USIM', fid: 0x6f46, content: hexToBytes('0154455354FFFFFFFFFFFFFFFFFFFFFFFF') },
    { parent: 'MF', fid: 0x2f05, sfi: 0x05, records: [hexToBytes('656E'), hexToBytes('6465')] },
  ],
};
const fs = new UiccFileSystem(() => view, { euiccIccid: new Uint8Array(10) });
const cmd = (hex: string) => parseCommand(hexToBytes(hex));

function swOfThrow(fn: () => unknown): number {
  try {
    fn();
  } catch (e) {
    if (e instanceof StatusWordError) return e.sw;
    throw e;
  }
  throw new Error('no StatusWordError');
}

describe('UiccFileSystem (TS 102 221 11.1.1.3 FCP)', () => {
  it('MF FCP: descriptor 7821, FID, UICC characteristics, LCSI, ARR, PIN status (PIN disabled)', () => {
    const r = fs.select(INITIAL_CURSOR, cmd('00A40004023F00'));
    expect(toHex(r.data)).toBe('6220' + '82027821' + '83023f00' + 'a503800171' + '8a0105' + '8b032f0601' + 'c609900100830101' + '83010a');
    expect(r.cursor).toEqual({ df: 'MF', adfActive: false });
  });

  it('EF.ICCID FCP: transparent, size 10, SFI 02', () => {
    const r = fs.select(INITIAL_CURSOR, cmd('00A40004022FE2'));
    expect(toHex(r.data)).toBe('6217' + '82024121' + '83022fe2' + '8a0105' + '8b032f0601' + '8002000a' + '880110');
    expect(r.cursor).toEqual({ df: 'MF', ef: 0x2fe2, adfActive: false });
  });

  it('linear fixed extra EF: descriptor with record length and count; records by number and next', () => {
    const sel = fs.select(INITIAL_CURSOR, cmd('00A40004022F05'));
    expect(toHex(sel.data).slice(4, 18)).toBe('82054221000202');
    const first = fs.readRecord(sel.cursor, cmd('00B2000202'));
    expect(toHex(first.data)).toBe('656e');
    const second = fs.readRecord(first.cursor, cmd('00B2000202'));
    expect(toHex(second.data)).toBe('6465');
    expect(swOfThrow(() => fs.readRecord(second.cursor, cmd('00B2000202')))).toBe(0x6a83);
    expect(toHex(fs.readRecord(second.cursor, cmd('00B2000302')).data)).toBe('656e');
    expect(toHex(fs.readRecord(INITIAL_CURSOR, cmd('00B2022C02')).data)).toBe('6465'); // SFI 05, record 2
  });

  it('ADF.USIM content and extra EFs', () => {
    const adf = fs.selectAdf(0x0c);
    expect(adf.cursor).toEqual({ df: 'ADF', adfActive: true });
    const spn = fs.select(adf.cursor, cmd('00A4000C026F46'));
    expect(toHex(fs.readBinary(spn.cursor, cmd('00B0000005')).data)).toBe('0154455354');
    expect(toHex(fs.status(spn.cursor, cmd('80F2000100')))).toBe('8410' + USIM_AID);
  });

  it('Le 00 and missing Le', () => {
    const ef = fs.select(INITIAL_CURSOR, cmd('00A4000C022FE2')).cursor;
    expect(fs.readBinary(ef, cmd('00B0000000')).data.length).toBe(10);
    expect(fs.readBinary(ef, cmd('00B00000')).data.length).toBe(10); // card answers 61 0A
    const strict = new UiccFileSystem(() => view, { euiccIccid: new Uint8Array(10), shortLeZero: 'exact-256' });
    expect(swOfThrow(() => strict.readBinary(ef, cmd('00B0000000')))).toBe(0x6c0a);
  });
});
