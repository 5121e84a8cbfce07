import { describe, expect, it } from 'vitest';
import { hexToBytes, toHex } from '../bytes.ts';
import {
  ApduFormatError,
  buildCommand,
  buildResponse,
  bytesRemainingSw,
  encodeCommand,
  formatSw,
  isNormalSw,
  parseCommand,
  ResponseApdu,
  ResponseFormatError,
  responseData,
  responseSw,
  SW,
  StatusWordError,
  swHex,
  swName,
  withLe,
  wrongLeSw,
} from './apdu.ts';

const h = hexToBytes;

describe('parseCommand (ISO 7816-3 12.1.3)', () => {
  it('case 1: header only', () => {
    const c = parseCommand(h('00700000'));
    expect(c).toMatchObject({ cla: 0x00, ins: 0x70, p1: 0, p2: 0, case: 1, extended: false });
    expect(c.le).toBeUndefined();
    expect(c.data.length).toBe(0);
  });

  it('case 2S: Le byte, 00 means 256', () => {
    expect(parseCommand(h('00B000000A'))).toMatchObject({ case: 2, le: 10, extended: false });
    expect(parseCommand(h('00B0000000'))).toMatchObject({ case: 2, le: 256, extended: false });
  });

  it('case 3S: Lc and data', () => {
    const c = parseCommand(h('00A4000C023F00'));
    expect(c).toMatchObject({ case: 3, extended: false });
    expect(c.le).toBeUndefined();
    expect(toHex(c.data)).toBe('3f00');
  });

  it('case 4S: Lc, data and Le', () => {
    const c = parseCommand(h('81E2910006BF3E035C015A00'));
    expect(c).toMatchObject({ cla: 0x81, ins: 0xe2, p1: 0x91, p2: 0x00, case: 4, le: 256, extended: false });
    expect(toHex(c.data)).toBe('bf3e035c015a');
    expect(parseCommand(h('00A40004023F0010')).le).toBe(16);
    // one data byte plus Le: L = 2 + B1 with B1 = 1
    expect(parseCommand(h('00A4000001AA05'))).toMatchObject({ case: 4, le: 5 });
  });

  it('case 2E: 00 then two Le bytes, 0000 means 65536', () => {
    expect(parseCommand(h('00B00000000102'))).toMatchObject({ case: 2, le: 258, extended: true });
    expect(parseCommand(h('00B00000000000'))).toMatchObject({ case: 2, le: 65536, extended: true });
  });

  it('case 3E and 4E', () => {
    const data = new Uint8Array(300).fill(0xab);
    const c3 = parseCommand(Uint8Array.from([0x80, 0xe2, 0x91, 0x00, 0x00, 0x01, 0x2c, ...data]));
    expect(c3).toMatchObject({ case: 3, extended: true });
    expect(c3.le).toBeUndefined();
    expect(c3.data.length).toBe(300);
    const c4 = parseCommand(Uint8Array.from([0x80, 0xe2, 0x91, 0x00, 0x00, 0x01, 0x2c, ...data, 0x00, 0x00]));
    expect(c4).toMatchObject({ case: 4, extended: true, le: 65536 });
    const c4b = parseCommand(h('80E2910000000311223301FF'));
    expect(c4b).toMatchObject({ case: 4, extended: true, le: 0x1ff });
    expect(toHex(c4b.data)).toBe('112233');
  });

  it.each([
    ['shorter than the header', '00A400'],
    ['Lc larger than the data', '00A4000C033F00'],
    ['Lc smaller than the data (2 extra bytes)', '00A4000C013F0000'],
    ['two bytes, B1 = 00', '00A404000000'],
    ['extended Lc 0000 with data', '00A40400000000AA'],
    ['extended Lc mismatch', '00A40400000003AABB'],
    ['extended 4E with one Le byte', '00A40400000002AABB00'],
  ])('malformed: %s -> ApduFormatError (6700)', (_name, hex) => {
    let err: unknown;
    try {
      parseCommand(h(hex));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ApduFormatError);
    expect((err as ApduFormatError).sw).toBe(0x6700);
  });
});

describe('buildCommand', () => {
  it('encodes the four short cases', () => {
    expect(toHex(buildCommand({ cla: 0, ins: 0x70, p1: 0x80, p2: 1 }))).toBe('00708001');
    expect(toHex(buildCommand({ cla: 0, ins: 0x70, p1: 0, p2: 0, le: 1 }))).toBe('0070000001');
    expect(toHex(buildCommand({ cla: 0, ins: 0xa4, p1: 0, p2: 0x0c, data: h('3F00') }))).toBe('00a4000c023f00');
    expect(toHex(buildCommand({ cla: 0x80, ins: 0xe2, p1: 0x91, p2: 0, data: h('BF2E00'), le: 256 }))).toBe('80e2910003bf2e0000');
  });

  it('treats le: 0 as the Le byte 00', () => {
    expect(toHex(buildCommand({ cla: 0, ins: 0xc0, p1: 0, p2: 0, le: 0 }))).toBe('00c0000000');
  });

  it('switches to the extended form for long data or Ne > 256, or when asked', () => {
    const long = buildCommand({ cla: 0x80, ins: 0xe2, p1: 0x91, p2: 0, data: new Uint8Array(256), le: 256 });
    expect(toHex(long.subarray(0, 7))).toBe('80e29100000100');
    expect(toHex(long.subarray(long.length - 2))).toBe('0100');
    expect(long.length).toBe(4 + 3 + 256 + 2);
    expect(toHex(buildCommand({ cla: 0, ins: 0xb0, p1: 0, p2: 0, le: 257 }))).toBe('00b00000000101');
    expect(toHex(buildCommand({ cla: 0, ins: 0xb0, p1: 0, p2: 0, le: 65536 }))).toBe('00b00000000000');
    expect(toHex(buildCommand({ cla: 0, ins: 0xb0, p1: 0, p2: 0, le: 10, extended: true }))).toBe('00b0000000000a');
  });

  it('round-trips through parseCommand', () => {
    for (const hex of ['00a4000c023f00', '80e2910003bf2e0000', '00b0000000', '00708001', '80e2910000000311223301ff']) {
      expect(toHex(encodeCommand(parseCommand(h(hex))))).toBe(hex);
    }
  });

  it('rejects out-of-range fields', () => {
    expect(() => buildCommand({ cla: 0x100, ins: 0, p1: 0, p2: 0 })).toThrow(RangeError);
    expect(() => buildCommand({ cla: 0, ins: 0, p1: 0, p2: 0, le: 65537 })).toThrow(RangeError);
    expect(() => buildCommand({ cla: 0, ins: 0, p1: 0, p2: 0, data: new Uint8Array(65536) })).toThrow(RangeError);
  });

  it('withLe replaces or adds Le', () => {
    expect(toHex(withLe(h('00B0000020'), 0x0a))).toBe('00b000000a');
    expect(toHex(withLe(h('80E2910003BF2E00'), 0x10))).toBe('80e2910003bf2e0010');
  });
});

describe('response helpers and status words', () => {
  it('splits data and SW', () => {
    const r = h('5A109000');
    expect(responseSw(r)).toBe(0x9000);
    expect(toHex(responseData(r))).toBe('5a10');
    expect(swHex(r)).toBe('9000');
    expect(swHex(0x6a82)).toBe('6A82');
    expect(ResponseApdu.sw1(h('6110'))).toBe(0x61);
    expect(ResponseApdu.sw2(h('6110'))).toBe(0x10);
    expect(toHex(buildResponse(h('01'), 0x9000))).toBe('019000');
    expect(() => responseSw(h('90'))).toThrow(ResponseFormatError);
  });

  it('names status words and families', () => {
    expect(swName(0x9000)).toBe('normal processing');
    expect(swName(0x6a82)).toBe('file or application not found');
    expect(swName(0x6881)).toBe('logical channel not supported');
    expect(swName(0x6110)).toBe('16 bytes available (GET RESPONSE)');
    expect(swName(0x6100)).toBe('256 or more bytes available (GET RESPONSE)');
    expect(swName(0x6c0a)).toBe('wrong Le, 10 bytes available');
    expect(swName(0x9112)).toBe('normal processing, proactive command of 18 bytes pending');
    expect(swName(0x63c2)).toBe('verification failed, 2 retries left');
    expect(formatSw(SW.INS_NOT_SUPPORTED)).toBe('6D00');
  });

  it('computes 61xx / 6Cxx', () => {
    expect(bytesRemainingSw(0x10)).toBe(0x6110);
    expect(bytesRemainingSw(256)).toBe(0x6100);
    expect(bytesRemainingSw(700)).toBe(0x6100);
    expect(wrongLeSw(10)).toBe(0x6c0a);
    expect(isNormalSw(0x9000)).toBe(true);
    expect(isNormalSw(0x910b)).toBe(true);
    expect(isNormalSw(0x6110)).toBe(false);
  });

  it('StatusWordError carries the SW', () => {
    const e = new StatusWordError(SW.FILE_NOT_FOUND);
    expect(e.sw).toBe(0x6a82);
    expect(e.message).toBe('6A82 file or application not found');
  });
});
