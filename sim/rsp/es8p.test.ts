import { describe, expect, it } from 'vitest';
import { toHex } from '../bytes.ts';
import { concat, decode, encode } from './der.ts';
import { BoundProfilePackage, bppSegmentsForLoading, ConfigureISDPRequest, InitialiseSecureChannelRequest, iscrSignatureInput, StoreMetadataRequest } from './es8p.ts';
import { derError, expectRoundTrip, h } from './testdata/helpers.ts';

const TX = '0123456789abcdef0123456789abcdef';
const OTPK_DP = '04' + 'aa'.repeat(64);
const OTPK_EUICC = '04' + 'bb'.repeat(64);
const SIG = '22'.repeat(64);
const ICCID1 = '98001032547698103214';

const iscrHex =
  'bf23' + '81ad' + '820101' + '8010' + TX + 'a60f' + '800188' + '810110' + '8407' + '01020304050607' + '5f4941' + OTPK_DP + '5f3740' + SIG;

describe('ES8+.InitialiseSecureChannel (BF23)', () => {
  it('decodes 82 remoteOpId, 80 transactionId, A6 CRT, 5F49, 5F37 byte-exactly', () => {
    expectRoundTrip(InitialiseSecureChannelRequest, iscrHex, {
      remoteOpId: 1,
      transactionId: h(TX),
      controlRefTemplate: { keyType: h('88'), keyLen: h('10'), hostId: h('01020304050607') },
      smdpOtpk: h(OTPK_DP),
      smdpSign: h(SIG),
    });
  });
  it('smdpSign input = 82 | 80 | A6 | 5F49 smdpOtpk | 5F49 euiccOtpk', () => {
    const input = iscrSignatureInput(h(iscrHex), h(OTPK_EUICC));
    expect(toHex(input)).toBe('820101' + '8010' + TX + 'a60f800188810110840701020304050607' + '5f4941' + OTPK_DP + '5f4941' + OTPK_EUICC);
  });
});

describe('ES8+ ConfigureISDP / StoreMetadata', () => {
  it('ConfigureISDP: B8 { 80 dpOid }', () => {
    expectRoundTrip(ConfigureISDPRequest, 'bf2400', {});
    expectRoundTrip(ConfigureISDPRequest, 'bf2407b805800388370a', { dpProprietaryData: { dpOid: '2.999.10' } });
  });
  it('StoreMetadata omits profileClass when it is the DEFAULT operational(2) and rejects it encoded', () => {
    const hex = 'bf2520' + '5a0a' + ICCID1 + '9104' + '47534d41' + '920c' + '546573742050726f66696c65';
    // lengths: 12 + 6 + 14 = 32
    expectRoundTrip(StoreMetadataRequest, hex, { iccid: h(ICCID1), serviceProviderName: 'GSMA', profileName: 'Test Profile' });
    expect(toHex(encode(StoreMetadataRequest, { iccid: h(ICCID1), serviceProviderName: 'GSMA', profileName: 'Test Profile', profileClass: 2 }))).toBe(hex);
    const withDefault = 'bf2523' + hex.slice(6) + '950102';
    const e = derError(() => decode(StoreMetadataRequest, h(withDefault)));
    expect(e.kind).toBe('notDer');
    expect(e.message).toMatch(/DEFAULT/);
    expect(decode(StoreMetadataRequest, h(withDefault), { der: false }).profileClass).toBe(2);
    expectRoundTrip(StoreMetadataRequest, 'bf2523' + hex.slice(6) + '950100', { iccid: h(ICCID1), serviceProviderName: 'GSMA', profileName: 'Test Profile', profileClass: 0 });
  });
});

describe('bppSegmentsForLoading', () => {
  const iscr = decode(InitialiseSecureChannelRequest, h(iscrHex));
  const seg = (byte: string, n: number) => h(byte.repeat(n));
  const bpp = {
    initialiseSecureChannelRequest: iscr,
    firstSequenceOf87: [seg('87', 40)],
    sequenceOf88: [seg('81', 100), seg('82', 30)],
    secondSequenceOf87: [seg('83', 60)],
    sequenceOf86: [seg('91', 1100), seg('92', 1020), seg('93', 17)],
  };

  it('cuts a BPP with 2 x 88 and 3 x 86 (one of 1100 bytes) exactly like an LPA', () => {
    const der = encode(BoundProfilePackage, bpp);
    const segments = bppSegmentsForLoading(der);
    expect(toHex(concat(segments.map((s) => s.bytes)))).toBe(toHex(der));
    expect(segments.map((s) => s.kind)).toEqual([
      'bf36Header+iscr',
      'firstSequenceOf87',
      'sequenceOf88Header',
      'tlv88',
      'tlv88',
      'secondSequenceOf87',
      'sequenceOf86Header',
      'tlv86',
      'tlv86',
      'tlv86',
    ]);
    const first = segments.map((s) => toHex(s.bytes.subarray(0, 4)));
    // BF36 82 xxxx (5 bytes; the BPP is > 255 bytes), then the whole BF23 81 AD (4 + 173 bytes)
    expect(toHex(segments[0]!.bytes.subarray(0, 9))).toMatch(/^bf3682[0-9a-f]{4}bf2381ad$/);
    expect(segments[0]!.bytes.byteLength).toBe(5 + 4 + 173);
    expect(first[1]).toBe('a02a8728'); // A0 2A { 87 28 ... }
    expect(toHex(segments[2]!.bytes)).toBe('a181' + '86'); // A1 header only: 2+100 + 2+30 = 134
    expect(first[3]).toBe('8864' + '8181');
    expect(first[4]).toBe('881e' + '8282');
    expect(first[5]).toBe('a23e873c');
    // A3 header only: 4+1100 + 4+1020 + 2+17 = 2147 = 0x0863
    expect(toHex(segments[6]!.bytes)).toBe('a3820863');
    expect(first[7]).toBe('8682044c'); // 1100 = 0x044C
    expect(first[8]).toBe('868203fc'); // 1020 = 0x03FC
    expect(first[9]).toBe('86119393');
    expect(segments[7]!.bytes.byteLength).toBe(4 + 1100);
    // offsets are positions in the BPP
    for (const s of segments) expect(toHex(der.subarray(s.offset, s.offset + s.bytes.byteLength))).toBe(toHex(s.bytes));
  });

  it('works without the optional secondSequenceOf87 (A2)', () => {
    const { secondSequenceOf87: _, ...noA2 } = bpp;
    void _;
    const der = encode(BoundProfilePackage, noA2);
    const segments = bppSegmentsForLoading(der);
    expect(segments.map((s) => s.kind)).not.toContain('secondSequenceOf87');
    expect(toHex(concat(segments.map((s) => s.bytes)))).toBe(toHex(der));
    expect(decode(BoundProfilePackage, der)).toEqual(noA2);
  });

  it('rejects a BPP whose parts are out of order or of the wrong tag', () => {
    expect(derError(() => bppSegmentsForLoading(h(iscrHex))).tag).toBe(0xbf23);
    const bad = encode(BoundProfilePackage, bpp);
    // change the first 88 item's tag to 87
    const i = toHex(bad).indexOf('886481') / 2;
    const copy = bad.slice();
    copy[i] = 0x87;
    const e = derError(() => bppSegmentsForLoading(copy));
    expect(e.kind).toBe('unexpectedTag');
    expect(e.offset).toBe(i);
  });
});
