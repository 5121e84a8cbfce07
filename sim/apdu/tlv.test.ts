import { describe, expect, it } from 'vitest';
import { hexToBytes, toHex } from '../bytes.ts';
import { encodeLength, findTlv, parseTlvs, tlv, TlvError } from './tlv.ts';

describe('BER-TLV helper', () => {
  it('encodes tags and lengths', () => {
    expect(toHex(tlv(0x84, hexToBytes('A000')))).toBe('8402a000');
    expect(toHex(tlv(0x9f65, Uint8Array.of(0xff)))).toBe('9f6501ff');
    expect(toHex(tlv(0x88))).toBe('8800');
    expect(toHex(encodeLength(0x7f))).toBe('7f');
    expect(toHex(encodeLength(0x80))).toBe('8180');
    expect(toHex(encodeLength(0x1234))).toBe('821234');
  });

  it('parses a template and skips padding', () => {
    const list = parseTlvs(hexToBytes('6F1084 08 A000000151000000 A504 9F6501FF'.replace(/ /g, '')));
    expect(list).toHaveLength(1);
    const inner = parseTlvs(list[0]!.value);
    expect(toHex(findTlv(inner, 0x84)!.value)).toBe('a000000151000000');
    expect(toHex(findTlv(parseTlvs(findTlv(inner, 0xa5)!.value), 0x9f65)!.value)).toBe('ff');
    expect(parseTlvs(hexToBytes('8100FFFF'))).toEqual([{ tag: 0x81, constructed: false, value: new Uint8Array(0) }]);
    expect(parseTlvs(hexToBytes('BF3E8103' + '5A0101'))[0]!.tag).toBe(0xbf3e);
  });

  it('rejects truncated input', () => {
    expect(() => parseTlvs(hexToBytes('81'))).toThrow(TlvError);
    expect(() => parseTlvs(hexToBytes('8105AA'))).toThrow(TlvError);
    expect(() => parseTlvs(hexToBytes('8180'))).toThrow(TlvError);
  });
});
