import { describe, expect, it } from 'vitest';
import { hexToBytes } from '../bytes.ts';
import { CardLink, CardStatusError, channelOfCla, claForChannel, decodeImsi, decodeSwappedBcd, encodeImsi, encodeSwappedBcd } from './sim-access.ts';
import { FakeCard } from './testing/fake-card.ts';

describe('CLA channel coding (TS 102 221 10.1.1)', () => {
  it.each([
    [0x00, 1, 0x01],
    [0x80, 3, 0x83],
    [0x81, 2, 0x82],
    [0x8f, 2, 0x8e], // secure-messaging bits b4-b3 are kept
    [0x90, 1, 0x91], // chaining kept
    [0x80, 4, 0xc0],
    [0x00, 19, 0x4f],
    [0xc5, 1, 0x81], // further -> first
    [0xe0, 2, 0x8a], // further with SM -> first with SM
    [0x84, 5, 0xe1], // first with SM -> further with SM
    [0xa0, 2, 0xa0], // GSM class: not structured, unchanged
  ])('claForChannel(%i, %i) = %i', (cla, ch, want) => {
    expect(claForChannel(cla, ch)).toBe(want);
  });

  it('channelOfCla and range check', () => {
    expect(channelOfCla(0x83)).toBe(3);
    expect(channelOfCla(0xc1)).toBe(5);
    expect(channelOfCla(0x4f)).toBe(19);
    expect(channelOfCla(0xa0)).toBe(0);
    expect(() => claForChannel(0x80, 20)).toThrow(RangeError);
  });
});

describe('BCD and IMSI', () => {
  it('ICCID nibble swap with F padding', () => {
    expect(decodeSwappedBcd(hexToBytes('98001032547698103214'))).toBe('89000123456789012341');
    expect(Buffer.from(encodeSwappedBcd('8944101032547698101', 10)).toString('hex')).toBe('984401012345678901f1');
    expect(decodeSwappedBcd(encodeSwappedBcd('8944101032547698101', 10))).toBe('8944101032547698101');
  });

  it('EF.IMSI (TS 31.102 4.2.2): length, parity nibble, digits', () => {
    expect(Buffer.from(encodeImsi('001010123456789')).toString('hex')).toBe('080910101032547698');
    expect(decodeImsi(encodeImsi('001010123456789'))).toBe('001010123456789');
    expect(decodeImsi(encodeImsi('44010123456789'))).toBe('44010123456789');
    expect(() => decodeImsi(hexToBytes('FFFFFFFFFFFFFFFFFF'))).toThrow(CardStatusError);
  });
});

describe('CardLink: the MT side of T=0', () => {
  it('GET RESPONSE after 61xx on the same channel, 6Cxx resend', async () => {
    const card = new FakeCard({ t0: true });
    const link = new CardLink(card);
    const r = await link.exchange(hexToBytes('00A4040410A0000005591010FFFFFFFF8900000100'));
    expect(Buffer.from(r).toString('hex').toUpperCase()).toBe('6F128410A0000005591010FFFFFFFF89000001009000');
    expect(card.apdus.at(-1)).toEqual(hexToBytes('00C0000014'));
    await link.selectFid(0x3f00);
    await link.selectFid(0x2fe2);
    const rb = await link.exchange(hexToBytes('00B0000000'));
    expect(Buffer.from(rb).toString('hex')).toBe('980010325476981032149000');
    expect(card.apdus.slice(-2)).toEqual([hexToBytes('00B0000000'), hexToBytes('00B000000A')]);
  });

  it('reads ICCID and IMSI', async () => {
    const link = new CardLink(new FakeCard({ t0: true, iccid: '8944101032547698101' }));
    expect(await link.readIccid()).toBe('8944101032547698101');
    expect(await link.readImsi(hexToBytes('A0000000871002'))).toBe('001010123456789');
  });

  it('a failing step is a CardStatusError naming it', async () => {
    const card = new FakeCard();
    card.transmit = async () => Uint8Array.of(0x6a, 0x82);
    await expect(new CardLink(card).readIccid()).rejects.toThrow('SELECT MF: card answered 6A82');
  });
});
