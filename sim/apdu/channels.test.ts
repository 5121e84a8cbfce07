import { describe, expect, it } from 'vitest';
import { ChannelError, channelOf, ClaError, decodeCla, hasSecureMessaging, isChainingCla, isInterindustryCla, isInvalidCla, isProprietaryCla, withChannel } from './channels.ts';

const ISO = [0x00, 0x01, 0x02, 0x03, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f];
const GP = [0x80, 0x81, 0x82, 0x83, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf];

describe('logical channel CLA coding (ISO 7816-4 5.4.1, TS 102 221 10.1.1)', () => {
  it.each(ISO.map((cla, ch) => [ch, cla]))('channel %i: ISO class %s both ways', (ch, cla) => {
    expect(withChannel(0x00, ch)).toBe(cla);
    expect(channelOf(cla)).toBe(ch);
    // the formula LPAs use, from a channel-0 CLA
    expect(withChannel(0x00, ch)).toBe(ch < 4 ? (0x00 & 0xbc) | ch : (0x00 & 0xb0) | 0x40 | (ch - 4));
  });

  it.each(GP.map((cla, ch) => [ch, cla]))('channel %i: GP class %s both ways', (ch, cla) => {
    expect(withChannel(0x80, ch)).toBe(cla);
    expect(channelOf(cla)).toBe(ch);
    expect(withChannel(0x80, ch)).toBe(ch < 4 ? (0x80 & 0xbc) | ch : (0x80 & 0xb0) | 0x40 | (ch - 4));
  });

  it('re-codes a CLA already coded for another channel', () => {
    // (0x4C & 0xBC) | 1 would give 0x0D (secure messaging bits): withChannel does not
    expect(withChannel(0x4c, 1)).toBe(0x01);
    expect(withChannel(0xcf, 0)).toBe(0x80);
    expect(withChannel(0x83, 19)).toBe(0xcf);
  });

  it('maps secure messaging between b4-b3 and b6', () => {
    expect(withChannel(0x84, 5)).toBe(0xe1); // GP SCP on channel 5
    expect(withChannel(0xe1, 1)).toBe(0x85);
    expect(withChannel(0x08, 4)).toBe(0x60);
    expect(withChannel(0x60, 0)).toBe(0x08);
    expect(() => withChannel(0x0c, 4)).toThrow(ClaError);
  });

  it('rejects channel numbers outside 0..19 and unstructured classes', () => {
    expect(() => withChannel(0x00, 20)).toThrow(ChannelError);
    expect(() => withChannel(0x00, -1)).toThrow(ChannelError);
    expect(() => withChannel(0xa0, 1)).toThrow(ClaError);
    expect(() => channelOf(0xff)).toThrow(ClaError);
    expect(() => channelOf(0x20)).toThrow(ClaError);
  });
});

describe('decodeCla', () => {
  it('classifies', () => {
    expect(decodeCla(0xff)).toMatchObject({ kind: 'invalid', structured: false });
    expect(decodeCla(0x20)).toMatchObject({ kind: 'rfu', structured: false });
    expect(decodeCla(0x3f)).toMatchObject({ kind: 'rfu', structured: false });
    expect(decodeCla(0xa0)).toMatchObject({ kind: 'proprietary', structured: false });
    expect(decodeCla(0x81)).toMatchObject({ kind: 'proprietary', structured: true, further: false, channel: 1, secureMessaging: 'none', chaining: false });
    expect(decodeCla(0x4f)).toMatchObject({ kind: 'interindustry', further: true, channel: 19 });
    expect(decodeCla(0x10)).toMatchObject({ chaining: true, channel: 0 });
    expect(decodeCla(0x0c)).toMatchObject({ secureMessaging: 'iso-authenticated-header' });
    expect(decodeCla(0x04)).toMatchObject({ secureMessaging: 'proprietary' });
    expect(decodeCla(0x62)).toMatchObject({ secureMessaging: 'iso', channel: 6 });
    expect(decodeCla(0xe0)).toMatchObject({ secureMessaging: 'proprietary', channel: 4 });
  });

  it('predicates', () => {
    expect(isInvalidCla(0xff)).toBe(true);
    expect(isProprietaryCla(0x80)).toBe(true);
    expect(isProprietaryCla(0xc5)).toBe(true);
    expect(isProprietaryCla(0x00)).toBe(false);
    expect(isProprietaryCla(0xff)).toBe(false);
    expect(isInterindustryCla(0x03)).toBe(true);
    expect(isInterindustryCla(0x4f)).toBe(true);
    expect(isInterindustryCla(0x20)).toBe(false);
    expect(isInterindustryCla(0x80)).toBe(false);
    expect(hasSecureMessaging(0x84)).toBe(true);
    expect(hasSecureMessaging(0x80)).toBe(false);
    expect(isChainingCla(0x90)).toBe(true);
  });
});
