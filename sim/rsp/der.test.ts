import { describe, expect, it } from 'vitest';
import { hexToBytes, toHex } from '../bytes.ts';
import { choice, decode, decodeTolerant, DerError, derOf, describeFinding, encode, explicit, flags, implicit, integer, octets, opt, seq, seqOf, utf8, oid, withDefault, boolean } from './der.ts';
import { StoreMetadataRequest as StoreMetadataRequestForTest } from './es8p.ts';
import { EnableProfileRequest as EnableProfileRequestForTest } from './es10c.ts';

const hexToBytesForTest = (spaced: string): Uint8Array => hexToBytes(spaced.replace(/\s+/g, ''));

const Inner = seq('Inner', { a: implicit(0, octets()), b: opt(implicit(1, integer())), c: withDefault(implicit(2, integer()), 1) });
const Outer = implicit(0xbf20, seq('Outer', { inner: implicit(3, Inner), list: implicit(4, seqOf(octets())), name: opt(utf8()), ok: opt(boolean()) }));
const Ch = choice('Ch', { x: implicit(0, integer()), y: explicit(1, Inner) });
const Ev = flags(['install', 'enable', 'disable', 'delete'] as const);

describe('DER engine', () => {
  it('encodes and decodes a nested structure byte-exactly', () => {
    const v = { inner: { a: hexToBytes('0102'), b: 300 }, list: [hexToBytes('aa'), hexToBytes('bbcc')], name: 'é', ok: true };
    const der = encode(Outer, v);
    expect(toHex(der)).toBe('bf201aa308800201028102012ca4070401aa0402bbcc0c02c3a90101ff');
    const back = decode(Outer, der);
    expect(back).toEqual(v);
    expect(toHex(derOf(Outer, back))).toBe(toHex(der));
  });

  it('omits DEFAULT values and rejects them when encoded', () => {
    expect(toHex(encode(Inner, { a: new Uint8Array(0), c: 1 }))).toBe('30028000');
    expect(() => decode(Inner, hexToBytes('3005800082010 1'.replace(/ /g, '')))).toThrow(/DEFAULT/);
  });

  it('reports truncation, trailing bytes, wrong tags and missing fields with offsets', () => {
    const err = (h: string) => {
      try {
        decode(Outer, hexToBytes(h));
      } catch (e) {
        return e as DerError;
      }
      throw new Error('no error');
    };
    expect(err('bf2019a30880').kind).toBe('truncated');
    const t = err('bf2004a3028000' + '00');
    expect(t.kind).toBe('trailing');
    expect(t.offset).toBe(7);
    expect(err('bf2104a3028000').kind).toBe('unexpectedTag');
    const m = err('bf2004a3028000');
    expect(m.kind).toBe('missingField');
    expect(m.message).toMatch(/list/);
    expect(m.describe()).toMatch(/offset \d+/);
  });

  it('rejects non-DER lengths, booleans and integers but accepts them in lenient mode', () => {
    const longLen = 'bf20810aa3028000a4810400'.replace(/ /g, '');
    expect(() => decode(Outer, hexToBytes('bf20820009a3028000a40401aa'.slice(0, 8) + ''))).toThrow(DerError);
    const nonMinimalLen = hexToBytes('30 81 02 80 00'.replace(/ /g, ''));
    expect(() => decode(Inner, nonMinimalLen)).toThrow(/non-minimal length/);
    expect(decode(Inner, nonMinimalLen, { der: false })).toEqual({ a: new Uint8Array(0) });
    expect(() => decode(seq('B', { b: boolean() }), hexToBytes('3003010101'))).toThrow(/FF/);
    expect(() => decode(seq('I', { i: integer() }), hexToBytes('300402020001'))).toThrow(/non-minimal INTEGER/);
    expect(() => decode(Inner, hexToBytes('3080800000000'.padEnd(14, '0')))).toThrow(DerError);
    void longLen;
  });

  it('decodes CHOICE alternatives including explicit ones', () => {
    expect(decode(Ch, hexToBytes('800105'))).toEqual({ x: 5 });
    const y = encode(Ch, { y: { a: hexToBytes('01') } });
    expect(toHex(y)).toBe('a10530038001' + '01');
    expect(decode(Ch, y)).toEqual({ y: { a: hexToBytes('01') } });
  });

  it('encodes named bit strings minimally', () => {
    expect(toHex(encode(Ev, ['install']))).toBe('030207' + '80');
    expect(toHex(encode(Ev, ['delete']))).toBe('030204' + '10');
    expect(decode(Ev, hexToBytes('03020410'))).toEqual(['delete']);
    expect(() => decode(Ev, hexToBytes('03020411'))).toThrow(/padding/);
  });

  it('encodes OIDs', () => {
    const O = oid();
    expect(toHex(encode(O, '2.23.146.1.2.1.1'))).toBe('0607678112010201' + '01');
    expect(decode(O, hexToBytes('060767811201020101'))).toBe('2.23.146.1.2.1.1');
  });

  it('allows mandatory components to share a tag but rejects ambiguous OPTIONAL ones (X.680 25.5)', () => {
    const Two = seq('Two', { a: seq('A', { x: integer() }), b: opt(octets()), c: seq('C', { y: integer() }) });
    expect(decode(Two, encode(Two, { a: { x: 1 }, c: { y: 2 } }))).toEqual({ a: { x: 1 }, c: { y: 2 } });
    expect(decode(Two, encode(Two, { a: { x: 1 }, b: hexToBytes('aa'), c: { y: 2 } }))).toEqual({ a: { x: 1 }, b: hexToBytes('aa'), c: { y: 2 } });
    expect(() => seq('Bad', { a: opt(integer()), b: integer() })).toThrow(/tag 02 used by optional a and by b/);
    expect(() => seq('Bad2', { a: opt(integer()), b: opt(octets()), c: integer() })).toThrow(/optional a/);
    expect(() => seq('Ok', { a: opt(integer()), b: octets(), c: integer() })).not.toThrow();
  });

  it('skips unknown extension components but keeps them in the received DER', () => {
    const der = hexToBytes('3006800101 850100'.replace(/ /g, '').replace('3006800101850100', '30068001018501' + '00'));
    const v = decode(Inner, der);
    expect(v).toEqual({ a: hexToBytes('01') });
    expect(toHex(derOf(Inner, v))).toBe(toHex(der));
  });
});

describe('tolerant BER: what field peers send, accepted and recorded (X.690 10-11)', () => {
  // profile metadata as an open-source SM-DP+ (osmo-smdpp) encodes it: profileClass
  // operational(2) written out although it is the DEFAULT (SGP.22 5.5.3), which DER omits
  const iccid = '981032547698103214f0';
  const spn = '4f534d4f'; // "OSMO"
  const name = '54657374'; // "Test"
  const metadataExplicitDefault = hexToBytesForTest(`bf251b 5a0a${iccid} 9104${spn} 9204${name} 950102`);
  // EnableProfile with refreshFlag TRUE as 01 (BER allows any non-zero octet; DER wants FF)
  const enableBoolean01 = hexToBytesForTest(`bf3111 a00c 5a0a${iccid} 810101`);

  it('strict DER rejects both with the exact rule', () => {
    expect(() => decode(StoreMetadataRequestForTest, metadataExplicitDefault)).toThrow('StoreMetadataRequest.profileClass encodes its DEFAULT value');
    expect(() => decode(EnableProfileRequestForTest, enableBoolean01)).toThrow('BOOLEAN true encoded as 01, must be FF in DER');
  });

  it('a tolerant decode accepts them and returns one finding each, with offset, tag and path', () => {
    const m = decodeTolerant(StoreMetadataRequestForTest, metadataExplicitDefault);
    expect(m.value.profileClass).toBe(2);
    expect(m.value.serviceProviderName).toBe('OSMO');
    expect(m.findings).toEqual([{ rule: 'default-encoded', message: 'StoreMetadataRequest.profileClass encodes its DEFAULT value', offset: 27, tag: 0x95, path: '' }]);
    expect(describeFinding(m.findings[0]!)).toBe('not DER (default-encoded): StoreMetadataRequest.profileClass encodes its DEFAULT value at offset 27, tag 95');
    const e = decodeTolerant(EnableProfileRequestForTest, enableBoolean01);
    expect(e.value.refreshFlag).toBe(true);
    expect(e.findings.map((f) => [f.rule, f.offset, f.path])).toEqual([['boolean-not-ff', 19, 'EnableProfileRequest.refreshFlag']]);
  });

  it('DER input gives no finding; plain BER (der false) records nothing', () => {
    expect(decodeTolerant(StoreMetadataRequestForTest, StoreMetadataRequestForTest.encode(decodeTolerant(StoreMetadataRequestForTest, metadataExplicitDefault).value)).findings).toEqual([]);
    expect(decode(StoreMetadataRequestForTest, metadataExplicitDefault, { der: false }).profileClass).toBe(2);
  });

  it('non-minimal lengths are findings too', () => {
    const longLength = hexToBytesForTest(`bf25811b 5a0a${iccid} 9104${spn} 9204${name} 950101`);
    const r = decodeTolerant(StoreMetadataRequestForTest, longLength);
    expect(r.findings.map((f) => f.rule)).toEqual(['non-minimal-length']);
    expect(r.value.profileClass).toBe(1);
  });
});
