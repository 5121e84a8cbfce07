// Regression tests for crashes the fuzzer (fuzz/, campaign `der`) found in the DER
// engine: every malformed input must end in a DerError, never in another exception, and
// a component must never be read past the end of the TLV that contains it.
import { describe, expect, it } from 'vitest';
import { prescanTlvs, decode, DerError, encode, MAX_NESTING_DEPTH, parseTlv } from './der.ts';
import { GetEuiccDataRequest } from './es10c.ts';
import { AuthenticateClientResponseEs9 } from './es9p.ts';
import { detectByTag } from './registry.ts';
import { derError, h } from './testdata/helpers.ts';
import { samples } from './testdata/samples.ts';

/** `depth` SEQUENCEs around a NULL. */
function nested(depth: number, tag = 0x30): Uint8Array {
  let b = Uint8Array.of(0x05, 0x00);
  for (let i = 0; i < depth; i++) {
    const l = b.length;
    const hdr = l < 0x80 ? [tag, l] : l < 0x100 ? [tag, 0x81, l] : [tag, 0x82, l >> 8, l & 0xff];
    const n = new Uint8Array(hdr.length + l);
    n.set(hdr);
    n.set(b, hdr.length);
    b = n;
  }
  return b;
}

describe('fuzz regressions: DER engine', () => {
  it('a nesting bomb is a DerError, not a stack overflow (fuzz der seed 1 iteration 87)', () => {
    const bomb = nested(5000);
    const e = derError(() => parseTlv(bomb));
    expect(e.kind).toBe('invalidValue');
    expect(e.message).toMatch(/nest deeper than 64/);
    expect(derError(() => detectByTag(bomb)).kind).toBe('invalidValue');
    // also inside a real message (BF22 EUICCInfo2 with a deep component)
    const inner = nested(200);
    const len = inner.length;
    const msg = Uint8Array.of(0xbf, 0x22, 0x82, len >> 8, len & 0xff, ...inner);
    expect(derError(() => detectByTag(msg)).kind).toBe('invalidValue');
  });

  it('accepts nesting up to the limit', () => {
    expect(() => prescanTlvs(nested(MAX_NESTING_DEPTH))).not.toThrow();
    expect(parseTlv(nested(MAX_NESTING_DEPTH)).tag).toBe(0x30);
    expect(() => prescanTlvs(nested(MAX_NESTING_DEPTH + 1))).toThrow(DerError);
    // indefinite lengths (BER) are followed too
    const indefinite = Uint8Array.of(...Array(70).fill([0x30, 0x80]).flat(), 0x05, 0x00, ...Array(70).fill([0x00, 0x00]).flat());
    expect(() => prescanTlvs(indefinite)).toThrow(/nest deeper/);
  });

  it('a long BOOLEAN is a DerError before asn1js decodes it in quadratic time (fuzz der seed 20261122 iteration 59481: 45 s)', () => {
    // RemoteProfileProvisioningResponse-like nesting around a BOOLEAN of 70,001 octets
    const n = 70_001;
    const bool = Uint8Array.of(0x01, 0x83, n >> 16, (n >> 8) & 0xff, n & 0xff, ...new Uint8Array(n).fill(0x1f));
    const started = performance.now();
    const e = derError(() => parseTlv(bool));
    expect(e.kind).toBe('invalidValue');
    expect(e.message).toMatch(/BOOLEAN of 70001 octets/);
    const wrapped = Uint8Array.of(0xbf, 0x3a, 0x83, 0x01, 0x11, 0x76, ...bool);
    expect(derError(() => detectByTag(wrapped)).kind).toBe('invalidValue');
    expect(performance.now() - started).toBeLessThan(1000);
    // a one-octet BOOLEAN still decodes, in BER mode too
    expect(parseTlv(h('0101ff')).value).toEqual(h('ff'));
    expect(parseTlv(h('0101ff'), { der: false }).tag).toBe(0x01);
    expect(derError(() => parseTlv(h('010200ff'), { der: false })).kind).toBe('invalidValue');
  });

  it('bad contents of universal string/time types are DerError (asn1js threw Error/RangeError; iterations 245, 778, 1137)', () => {
    for (const hex of ['1803414243', '1c03414243', '1e03414243', 'bf5c033e015af3']) {
      const e = derError(() => parseTlv(h(hex)));
      expect(e.kind).toBe('invalidValue');
    }
    expect(derError(() => decode(GetEuiccDataRequest, h('bf5c033e015af3'))).kind).toBe('invalidValue');
    expect(derError(() => detectByTag(h('bf5c033e015af3'))).kind).toBe('invalidValue');
  });

  it('a component running past the end of its SEQUENCE is truncated, not read from the next bytes (iteration 496)', () => {
    // 30 09 { 30 03 { 04 03 aa bb cc } 05 00 }: the OCTET STRING overruns the inner SEQUENCE
    const e = derError(() => parseTlv(h('3009300304' + '03aabbcc0500')));
    expect(e.kind).toBe('truncated');
    expect(e.offset).toBe(4);
    expect(e.tag).toBe(0x04);
  });

  it('AuthenticateClientResponseEs9 with smdpSigned2 two bytes too short no longer decodes with shifted fields', () => {
    const der = encode(AuthenticateClientResponseEs9, samples['AuthenticateClientResponseEs9'] as AuthenticateClientResponseEs9);
    // locate smdpSigned2 (30 59 80 10 ...) and shorten its length by 2, as the fuzzer did
    const hex = Buffer.from(der).toString('hex');
    const at = hex.indexOf('305980100123456789abcdef');
    expect(at).toBeGreaterThan(0);
    const mutated = h(hex.slice(0, at) + '3057' + hex.slice(at + 4));
    expect(derError(() => decode(AuthenticateClientResponseEs9, mutated)).kind).toBe('truncated');
  });
});
