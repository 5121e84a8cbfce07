import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { concatBytes, hexToBytes, toHex } from '../../bytes.ts';
import { parseTlvs, findTlv } from '../../apdu/tlv.ts';
import { segmentStoreData } from '../../apdu/store-data.ts';
import { transmitWithT0Procedure } from '../../apdu/t0.ts';
import { ECASD_AID, FciOnlyApplet, ISD_R_AID, isdrFci, StoreDataApplet } from './applet.ts';
import { Card, CardInterruptedError, CardPoweredOffError, CardRemovedError, DEFAULT_EUICC_ICCID } from './card.ts';
import type { CardProfileView } from './filesystem.ts';
import { parseAtr } from '../../apdu/atr.ts';

const ISDR = 'A0000005591010FFFFFFFF8900000100';
const USIM_AID = 'A0000000871002FF33FF018900000100';
/** EF.ICCID of 89000123456789012341 (TS.48 header ICCID) */
const PROFILE_ICCID = '98001032547698103214';
/** EF.IMSI of 001010123456063 */
const PROFILE_IMSI = '080910101032540636';

/** A stand-in ISD-R: records complete STORE DATA commands, answers with a scripted response. */
class RecordingIsdR extends StoreDataApplet {
  readonly received: Array<{ command: string; channel: number }> = [];
  respond: (command: Uint8Array) => Uint8Array = () => hexToBytes('BF3E125A1089049032123451234512345678901235');
  constructor() {
    super(ISD_R_AID);
  }
  protected async handleStoreData(command: Uint8Array, channel: number): Promise<Uint8Array> {
    this.received.push({ command: toHex(command), channel });
    return this.respond(command);
  }
}

const profile: CardProfileView = { iccid: hexToBytes(PROFILE_ICCID), imsi: hexToBytes(PROFILE_IMSI), usimAid: hexToBytes(USIM_AID) };

let isdr: RecordingIsdR;
let view: CardProfileView | undefined;
let card: Card;

/** transmit hex, answer hex (upper case, data then SW) */
async function tx(hex: string): Promise<string> {
  return toHex(await card.transmit(hexToBytes(hex.replace(/\s+/g, '')))).toUpperCase();
}
const swOf = (r: string): string => r.slice(-4);
const dataOf = (r: string): string => r.slice(0, -4);

beforeEach(() => {
  isdr = new RecordingIsdR();
  view = profile;
  card = new Card({ applets: [isdr, new FciOnlyApplet(ECASD_AID)], profileView: () => view });
});

afterEach(async () => {
  await card.close();
});

describe('ATR and reset', () => {
  it('reset returns the ATR (T=0 with T=15 global bytes by default, like field eUICCs)', async () => {
    const atr = await card.reset();
    expect(parseAtr(atr).protocols).toEqual([0]);
    expect(parseAtr(atr).hasT15).toBe(true);
    expect(card.openChannels()).toEqual([0]);
  });
});

describe('MANAGE CHANNEL (TS 102 221 11.1.17)', () => {
  it('opens 3 extra channels, the 4th gets 6881', async () => {
    expect(await tx('0070000001')).toBe('019000');
    expect(await tx('0070000001')).toBe('029000');
    expect(await tx('0070000001')).toBe('039000');
    expect(await tx('0070000001')).toBe('6881');
    expect(card.openChannels()).toEqual([0, 1, 2, 3]);
  });

  it('closes and reuses a channel number', async () => {
    await tx('0070000001');
    await tx('0070000001');
    await tx('0070000001');
    expect(await tx('00708002')).toBe('9000');
    expect(card.openChannels()).toEqual([0, 1, 3]);
    expect(await tx('0070000001')).toBe('029000');
    // closing from the channel itself (P2=00, channel in CLA)
    expect(await tx('03708000')).toBe('9000');
    expect(card.openChannels()).toEqual([0, 1, 2]);
  });

  it('SW choices for open/close errors', async () => {
    expect(await tx('00708001')).toBe('6881'); // not open
    expect(await tx('00708000')).toBe('6A86'); // basic channel cannot be closed
    expect(await tx('00700002')).toBe('9000'); // specific channel
    expect(await tx('00700002')).toBe('6A86'); // already open
    expect(await tx('00700005')).toBe('6881'); // above the limit without TERMINAL CAPABILITY
    expect(await tx('00700014')).toBe('6A86'); // 20 does not exist
    expect(await tx('00700000')).toBe('6C01'); // Le missing
    expect(await tx('0070000002')).toBe('6C01'); // wrong Le
    expect(await tx('0070000000')).toBe('019000'); // Le 00: up to 256
    expect(await tx('00704000')).toBe('6A86'); // P1 neither 00 nor 80
    expect(await tx('8070000001')).toBe('6E00'); // MANAGE CHANNEL is an ISO class command
    expect(await tx('02700000 01')).toBe('039000'); // opened from channel 2
  });

  it('the exhausted SW is configurable (Java Card answers 6A81)', async () => {
    card = new Card({ channelsExhaustedSw: 0x6a81, logicalChannels: 1 });
    expect(await tx('0070000001')).toBe('019000');
    expect(await tx('0070000001')).toBe('6A81');
  });

  it('a command on a channel that is not open gets 6881', async () => {
    expect(await tx('01A4000C023F00')).toBe('6881');
    expect(await tx('45A4000C023F00')).toBe('6881');
  });
});

describe('TERMINAL CAPABILITY (TS 102 221 11.1.19)', () => {
  it('"extended logical channels" (tag 81) raises the limit to 19', async () => {
    expect(await tx('80AA000004A9028100')).toBe('9000');
    expect(card.terminalCapability?.extendedLogicalChannels).toBe(true);
    expect(card.maxLogicalChannel).toBe(19);
    for (let n = 1; n <= 19; n++) expect(await tx('0070000001')).toBe(n.toString(16).padStart(2, '0').toUpperCase() + '9000');
    expect(await tx('0070000001')).toBe('6881');
  });

  it('CLAs of channels 4-19 are accepted once open', async () => {
    await tx('80AA000004A9028100');
    expect(await tx('00700005')).toBe('9000');
    expect(await tx('00700013')).toBe('9000');
    // channel 5 = 41 (ISO) / C1 (GP); channel 19 = 4F / CF
    expect(swOf(await tx(`41A4040010${ISDR}00`))).toBe('9000');
    expect(await tx('C1F2000C00')).toBe('9000');
    const r = await tx('C1E2910006BF3E035C015A00');
    expect(dataOf(r)).toBe('BF3E125A1089049032123451234512345678901235');
    expect(isdr.received).toEqual([{ command: 'bf3e035c015a', channel: 5 }]);
    expect(await tx('4FA4000C023F00')).toBe('9000');
    expect(await tx('4EA4000C023F00')).toBe('6881'); // channel 18 not open
  });

  it('records the eUICC indications (tag 83) and power supply', async () => {
    expect(await tx('80AA00000BA909800301000083020700')).toBe('9000');
    expect(toHex(card.terminalCapability!.euiccIndications!)).toBe('0700');
    expect(toHex(card.terminalCapability!.powerSupply!)).toBe('010000');
    expect(card.terminalCapability!.extendedLogicalChannels).toBe(false);
    expect(card.maxLogicalChannel).toBe(3);
  });

  it('errors: malformed data 6A80, P1P2 6A86, ISO class 6E00, no data 6700', async () => {
    expect(await tx('80AA000003A90181')).toBe('6A80');
    expect(await tx('80AA000004A8028100')).toBe('6A80');
    expect(await tx('80AA010004A9028100')).toBe('6A86');
    expect(await tx('00AA000004A9028100')).toBe('6E00');
    expect(await tx('80AA0000')).toBe('6700');
  });

  it('is forgotten on reset', async () => {
    await tx('80AA000004A9028100');
    await card.reset();
    expect(card.terminalCapability).toBeUndefined();
    expect(card.maxLogicalChannel).toBe(3);
  });
});

describe('SELECT and STORE DATA on logical channels', () => {
  it('SELECT ISD-R on channel 2 then STORE DATA on 2 reaches the applet; on 1 (nothing selected) 6D00', async () => {
    await tx('0070000001');
    await tx('0070000001');
    const sel = await tx(`02A4040010${ISDR}00`);
    expect(sel).toBe(toHex(isdrFci()).toUpperCase() + '9000');
    expect(card.selectedApplet(2)).toBe(isdr);
    const r = await tx('82E2910006BF3E035C015A00');
    expect(r).toBe('BF3E125A1089049032123451234512345678901235' + '9000');
    expect(isdr.received).toEqual([{ command: 'bf3e035c015a', channel: 2 }]);
    // channel 1 is open, the MF is selected there: STORE DATA is not an MF/USIM command
    expect(await tx('81E2910006BF3E035C015A00')).toBe('6D00');
    // channel 3 is not open
    expect(await tx('83E2910006BF3E035C015A00')).toBe('6881');
    expect(isdr.received).toHaveLength(1);
  });

  it('ISD-R FCI: 6F { 84 AID, A5 { 9F65 FF }, E0 { 82 SVN } }', () => {
    expect(toHex(isdrFci([2, 3, 0])).toUpperCase()).toBe(`6F1F8410${ISDR}A5049F6501FFE00582030203` + '00');
  });

  it('lpac flow: case-3 STORE DATA gets 61xx, GET RESPONSE in class 80|ch serves the data', async () => {
    await tx('0070000001');
    expect(await tx(`01A4040010${ISDR}`)).toBe('6121'); // SELECT without Le: T=0 style
    expect(await tx('01C0000021')).toBe(toHex(isdrFci()).toUpperCase() + '9000');
    expect(await tx('81E2910006BF3E035C015A')).toBe('6115');
    expect(await tx('81C0000015')).toBe('BF3E125A1089049032123451234512345678901235' + '9000');
  });

  it('STORE DATA with an ISO class is refused with 6E00', async () => {
    await tx(`00A4040010${ISDR}00`);
    expect(await tx('00E2910006BF3E035C015A00')).toBe('6E00');
  });

  it('a 3000-byte command in 120-byte blocks: 9000 for each intermediate block, the response on the last', async () => {
    await tx('0070000001');
    await tx(`01A4040C10${ISDR}`);
    const payload = Uint8Array.from({ length: 3000 }, (_, i) => i & 0xff);
    isdr.respond = (c) => Uint8Array.of(c.length >> 8, c.length & 0xff);
    const blocks = segmentStoreData(payload, { channel: 1 });
    for (const b of blocks.slice(0, -1)) expect(toHex(await card.transmit(b))).toBe('9000');
    expect(toHex(await card.transmit(blocks[blocks.length - 1]!))).toBe('0bb89000');
    expect(isdr.received[0]!.command).toBe(toHex(payload));
  });

  it('a sequence error answers 6A86 and discards the chain', async () => {
    await tx(`00A4040C10${ISDR}`);
    const blocks = segmentStoreData(Uint8Array.from({ length: 600 }, (_, i) => i & 0xff));
    expect(toHex(await card.transmit(blocks[0]!))).toBe('9000');
    expect(isdr.chainInProgress(0)).toBe(true);
    expect(toHex(await card.transmit(blocks[2]!))).toBe('6a86');
    expect(isdr.chainInProgress(0)).toBe(false);
    expect(toHex(await card.transmit(blocks[1]!))).toBe('6a86');
    expect(isdr.received).toHaveLength(0);
  });

  it('a channel opened from a channel with the ISD-R selected has the ISD-R selected too', async () => {
    await tx('0070000001');
    await tx(`01A4040C10${ISDR}`);
    expect(await tx('0170000001')).toBe('029000');
    expect(card.selectedApplet(2)).toBe(isdr);
    expect(swOf(await tx('82E2910006BF3E035C015A00'))).toBe('9000');
    // closing deselects: a reopened channel starts at the MF
    expect(await tx('00708002')).toBe('9000');
    expect(await tx('0070000001')).toBe('029000');
    expect(await tx('82E2910006BF3E035C015A00')).toBe('6D00');
  });

  it('SELECT by AID: partial AID, not found 6A82 (selection kept), P2 and length errors', async () => {
    expect(swOf(await tx('00A4040007A000000559101000'))).toBe('9000'); // partial: ISD-R first
    expect(card.selectedApplet(0)).toBe(isdr);
    expect(await tx('00A4040010A0000005591010FFFFFFFF8900000300')).toBe('6A82');
    expect(card.selectedApplet(0)).toBe(isdr);
    expect(swOf(await tx('00A4040207A000000559101000'))).toBe('9000'); // next occurrence: ECASD
    expect(card.selectedApplet(0)?.aid).toEqual(ECASD_AID);
    expect(await tx(`00A4040110${ISDR}`)).toBe('6A86'); // last occurrence not supported
    expect(await tx(`00A4040810${ISDR}`)).toBe('6A86'); // FMD
    expect(await tx(`00A4040011${ISDR}FF`)).toBe('6A80'); // 17 bytes
  });

  it('ECASD placeholder answers SELECT with its FCI and 6D00 to anything else', async () => {
    const ecasd = toHex(ECASD_AID).toUpperCase();
    expect(await tx(`00A4040010${ecasd}00`)).toBe(`6F188410${ecasd}A5049F6501FF9000`);
    expect(await tx('80E2910003BF2E0000')).toBe('6D00');
  });

  it('reselecting the ISD-R discards a partial STORE DATA chain', async () => {
    await tx(`00A4040C10${ISDR}`);
    await card.transmit(segmentStoreData(new Uint8Array(300))[0]!);
    expect(isdr.chainInProgress(0)).toBe(true);
    await tx(`00A4040C10${ISDR}`);
    expect(isdr.chainInProgress(0)).toBe(false);
  });

  it('STATUS on an applet channel: FCI, DF name, no data', async () => {
    await tx(`00A4040C10${ISDR}`);
    expect(await tx('80F2000000')).toBe(toHex(isdrFci()).toUpperCase() + '9000');
    expect(await tx('80F2000100')).toBe(`8410${ISDR}9000`);
    expect(await tx('80F2000C00')).toBe('9000');
    expect(await tx('80F2000500')).toBe('6A86');
    expect(await tx('00F2000C00')).toBe('6E00');
  });
});

describe('GET RESPONSE (ISO 7816-4 7.6.1)', () => {
  beforeEach(async () => {
    isdr.respond = () => Uint8Array.from({ length: 700 }, (_, i) => (i * 13) & 0xff);
    await tx('0070000001');
    await tx(`01A4040C10${ISDR}`);
  });
  const expected = toHex(Uint8Array.from({ length: 700 }, (_, i) => (i * 13) & 0xff)).toUpperCase();

  it('chains a 700-byte response: 256 + 6100, 256 + 61BC, 188 + 9000', async () => {
    const r1 = await tx('81E2910003BF2D0000');
    expect(swOf(r1)).toBe('6100');
    expect(dataOf(r1).length / 2).toBe(256);
    const r2 = await tx('01C0000000');
    expect(swOf(r2)).toBe('61BC');
    expect(dataOf(r2).length / 2).toBe(256);
    const r3 = await tx('01C00000BC');
    expect(swOf(r3)).toBe('9000');
    expect(dataOf(r3).length / 2).toBe(188);
    expect(dataOf(r1) + dataOf(r2) + dataOf(r3)).toBe(expected);
    expect(await tx('01C0000010')).toBe('6985'); // nothing left
  });

  it('the T=0 procedure collects the whole response', async () => {
    const r = await transmitWithT0Procedure((c) => card.transmit(c), hexToBytes('81E2910003BF2D00'), { getResponseClass: 0x80 });
    expect(toHex(r).toUpperCase()).toBe(expected + '9000');
  });

  it('Le larger than what is pending gets 6Cxx and keeps the data; smaller Le gets 61xx', async () => {
    await tx('81E2910003BF2D0000');
    await tx('01C0000000');
    expect(await tx('01C00000C0')).toBe('6CBC');
    const part = await tx('01C0000010');
    expect(swOf(part)).toBe('61AC');
    expect(swOf(await tx('01C00000AC'))).toBe('9000');
  });

  it('another command on the channel drops the pending data; other channels keep theirs', async () => {
    await tx('81E2910003BF2D0000');
    expect(await tx('00A4000C023F00')).toBe('9000'); // channel 0
    expect(swOf(await tx('01C0000000'))).toBe('61BC');
    expect(await tx('81F2000C00')).toBe('9000');
    expect(await tx('01C0000000')).toBe('6985');
  });

  it('GET RESPONSE errors: P1P2 6A86, case 1 6700, class 80 refused when configured', async () => {
    await tx('81E2910003BF2D0000');
    expect(await tx('01C0010000')).toBe('6A86');
    expect(await tx('01C00000')).toBe('6700');
    card = new Card({ acceptProprietaryGetResponse: false });
    expect(await tx('80C0000010')).toBe('6E00');
  });

  it('case4Response "get-response" answers 61xx even with Le present', async () => {
    card = new Card({ applets: [isdr], case4Response: 'get-response' });
    await tx(`00A4040C10${ISDR}`);
    expect(await tx('80E2910003BF2D0000')).toBe('6100');
    // a case-2 command is still answered directly
    expect(swOf(await tx('00C0000000'))).toBe('6100');
  });
});

describe('file system through the card (what a modem does for AT+CCID / AT+CRSM)', () => {
  it('AT+CCID: SELECT 3F00, SELECT 2FE2, READ BINARY 10', async () => {
    const mf = await tx('00A40004023F00');
    expect(mf.slice(0, 2)).toBe('61');
    const fcpMf = await tx(`00C00000${mf.slice(2)}`);
    expect(fcpMf.slice(0, 2)).toBe('62');
    expect(swOf(fcpMf)).toBe('9000');
    const ef = await tx('00A40004022FE2');
    const fcp = await tx(`00C00000${ef.slice(2)}`);
    const tlvs = parseTlvs(parseTlvs(hexToBytes(dataOf(fcp)))[0]!.value);
    expect(toHex(findTlv(tlvs, 0x82)!.value)).toBe('4121'); // transparent working EF
    expect(toHex(findTlv(tlvs, 0x83)!.value)).toBe('2fe2');
    expect(toHex(findTlv(tlvs, 0x80)!.value)).toBe('000a');
    expect(await tx('00B000000A')).toBe(PROFILE_ICCID + '9000');
  });

  it('AT+CRSM=176,28423,0,0,9 (EF.IMSI) and 192 (GET RESPONSE) via 7FFF', async () => {
    expect(await tx('00A4000C023F00')).toBe('9000');
    expect(await tx('00A4000C027FFF')).toBe('9000');
    const sel = await tx('00A40004026F07');
    const fcp = await tx(`00C00000${sel.slice(2)}`);
    const tlvs = parseTlvs(parseTlvs(hexToBytes(dataOf(fcp)))[0]!.value);
    expect(toHex(findTlv(tlvs, 0x80)!.value)).toBe('0009');
    expect(toHex(findTlv(tlvs, 0x88)!.value)).toBe('38'); // SFI 07
    expect(await tx('00B0000009')).toBe(PROFILE_IMSI + '9000');
    expect(await tx('00B0000000')).toBe(PROFILE_IMSI + '9000'); // Le 00: whole EF
  });

  it('AT+CRSM=242 (STATUS) and the modem STATUS poll', async () => {
    expect(swOf(await tx('80F2000000'))).toBe('9000');
    expect((await tx('80F2000000')).slice(0, 2)).toBe('62');
    expect(await tx('80F2000C00')).toBe('9000');
    expect(await tx('80F2000100')).toBe('6A88'); // no application active
    await tx(`00A4040C10${USIM_AID}`);
    expect(await tx('80F2000100')).toBe(`8410${USIM_AID}9000`);
    // application session termination (P2 b7) deactivates ADF.USIM on the channel
    expect(await tx(`00A4044C10${USIM_AID}`)).toBe('9000');
    expect(await tx('80F2000100')).toBe('6A88');
  });

  it('READ BINARY: 6Cxx for a wrong Le, 6B00 beyond the EF, 6986 without current EF, SFI', async () => {
    await tx('00A4000C023F00');
    expect(await tx('00B0000010')).toBe('6986');
    await tx('00A4000C022FE2');
    expect(await tx('00B0000020')).toBe('6C0A');
    expect(await tx('00B0000805')).toBe('6C02');
    expect(await tx('00B0000802')).toBe('3214' + '9000');
    expect(await tx('00B0000A01')).toBe('6B00');
    await tx('00A4000C023F00');
    expect(await tx('00B082000A')).toBe(PROFILE_ICCID + '9000'); // SFI 02
    expect(await tx('00B2010420')).toBe('6981'); // READ RECORD on a transparent EF
    expect(await tx('00D600000100')).toBe('6982'); // UPDATE BINARY needs ADM
  });

  it('READ BINARY with Le 00 in exact-256 mode (T=0 reading) gets 6Cxx', async () => {
    card = new Card({ profileView: () => view, shortLeZero: 'exact-256' });
    await tx('00A4000C022FE2');
    expect(await tx('00B0000000')).toBe('6C0A');
  });

  it('EF.DIR lists ADF.USIM; SELECT by full or partial AID returns the ADF FCP', async () => {
    await tx('00A4000C022F00');
    const rec = await tx('00B2010420');
    expect(rec).toBe(`61184F10${USIM_AID}5004${toHex(new TextEncoder().encode('USIM')).toUpperCase()}` + 'FF'.repeat(6) + '9000');
    expect(await tx('00B2010410')).toBe('6C20');
    expect(await tx('00B2020420')).toBe('6A83');
    const adf = await tx(`00A4040410${USIM_AID}00`);
    const tlvs = parseTlvs(parseTlvs(hexToBytes(dataOf(adf)))[0]!.value);
    expect(toHex(findTlv(tlvs, 0x84)!.value).toUpperCase()).toBe(USIM_AID);
    expect(toHex(findTlv(tlvs, 0x82)!.value)).toBe('7821');
    expect(swOf(await tx('00A4040C07A0000000871002'))).toBe('9000');
    expect(await tx('00B0870009')).toBe(PROFILE_IMSI + '9000'); // by SFI inside the ADF
  });

  it('SELECT by path from the MF (with or without 3F00) and from the current DF', async () => {
    expect(await tx('00A4080C047FFF6F07')).toBe('9000');
    expect(await tx('00B0000009')).toBe(PROFILE_IMSI + '9000');
    expect(await tx('00A4080C063F007FFF6FAD')).toBe('9000');
    expect(await tx('00B0000004')).toBe('00000002' + '9000');
    expect(await tx('00A4090C026F07')).toBe('9000');
    expect(await tx('00A4080C022FE2')).toBe('9000');
    expect(await tx('00A4000C026F07')).toBe('6A82'); // EF.IMSI is not a child of the MF
    expect(await tx('00A4000C023F01')).toBe('6A82');
    expect(await tx('00A40300')).toBe('6A82'); // MF has no parent
    expect(await tx('00A4050C023F00')).toBe('6A86');
    expect(await tx('00A4000C033F0000')).toBe('6700');
  });

  it('without an enabled profile: EF.ICCID is the eUICC one, ADF.USIM is absent', async () => {
    view = undefined;
    expect(await tx('00A4080C022FE2')).toBe('9000');
    expect(await tx('00B000000A')).toBe(toHex(DEFAULT_EUICC_ICCID).toUpperCase() + '9000');
    expect(await tx(`00A4040410${USIM_AID}`)).toBe('6A82');
    expect(await tx('00A4000C027FFF')).toBe('6A82');
    expect(await tx('00A4080C047FFF6F07')).toBe('6A82');
    expect(await tx('00B2010420')).toBe('6981'); // failed SELECTs kept EF.ICCID (transparent) current
  });

  it('a profile switch is visible at once, an ADF selection falls back to the MF', async () => {
    await tx(`00A4040C10${USIM_AID}`);
    view = { iccid: hexToBytes('98001032547698103225') };
    expect(await tx('00B0000009')).toBe('6986'); // ADF gone: MF current, no EF
    expect(await tx('00A4000C022FE2')).toBe('9000');
    expect(await tx('00B000000A')).toBe('98001032547698103225' + '9000');
  });
});

describe('class, instruction, parameter and length errors', () => {
  it.each([
    ['unknown INS, ISO class', '00EE0000', '6D00'],
    ['unknown INS, GP class', '80EE0000', '6D00'],
    ['CLA FF', 'FFA4000C023F00', '6E00'],
    ['GSM class A0', 'A0A40000023F00', '6E00'],
    ['RFU class 20', '20A4000C023F00', '6E00'],
    ['SELECT in GP class', '80A4000C023F00', '6E00'],
    ['READ BINARY in GP class', '80B000000A', '6E00'],
    ['secure messaging', '0CA4000C023F00', '6882'],
    ['command chaining', '10A4000C023F00', '6884'],
    ['SELECT bad P1', '00A4020C023F00', '6A86'],
    ['SELECT bad P2', '00A40001023F00', '6A86'],
    ['3-byte APDU', '00A400', '6700'],
    ['Lc mismatch', '00A4000C033F00', '6700'],
    ['extended length not supported', '00B00000000100', '6700'],
  ])('%s: %s -> %s', async (_name, capdu, sw) => {
    expect(await tx(capdu)).toBe(sw);
  });

  it('extended length when enabled', async () => {
    card = new Card({ profileView: () => view, extendedLength: true });
    await tx('00A4000C022FE2');
    expect(await tx('00B00000000000')).toBe(PROFILE_ICCID + '9000');
  });
});

describe('reset, power and removal', () => {
  it('reset closes channels and clears selection, pending GET RESPONSE and STORE DATA chains', async () => {
    await tx('0070000001');
    await tx(`01A4040C10${ISDR}`);
    await card.transmit(segmentStoreData(new Uint8Array(300), { channel: 1 })[0]!);
    expect(isdr.chainInProgress(1)).toBe(true);
    await tx(`00A4040410${ISDR}`); // 61xx pending on channel 0
    const atr = await card.reset();
    expect(toHex(atr)).toBe(toHex(card.atr()));
    expect(card.openChannels()).toEqual([0]);
    expect(card.selectedApplet(0)).toBeUndefined();
    expect(isdr.chainInProgress(1)).toBe(false);
    expect(await tx('00C0000021')).toBe('6985');
    expect(await tx('81E2910003BF2E00')).toBe('6881');
    expect(await tx('0070000001')).toBe('019000');
    expect(await tx('81E2910003BF2E00')).toBe('6D00');
  });

  it('removal: transmit and reset reject with CardRemovedError until reinserted', async () => {
    await tx('0070000001');
    card.remove();
    expect(card.isPresent).toBe(false);
    await expect(card.transmit(hexToBytes('00A4000C023F00'))).rejects.toBeInstanceOf(CardRemovedError);
    await expect(card.reset()).rejects.toBeInstanceOf(CardRemovedError);
    card.insert();
    expect(await tx('00A4000C023F00')).toBe('9000');
    expect(card.openChannels()).toEqual([0]);
  });

  it('close powers off; reset powers on again', async () => {
    await card.close();
    await expect(card.transmit(hexToBytes('00A4000C023F00'))).rejects.toBeInstanceOf(CardPoweredOffError);
    await card.reset();
    expect(await tx('00A4000C023F00')).toBe('9000');
    await card.powerOff();
    await card.powerOn();
    expect(card.isPowered).toBe(true);
  });
});

describe('fault injection hooks', () => {
  it('beforeCommand forces an SW without processing', async () => {
    card.beforeCommand = ({ index }) => (index === 1 ? { sw: 0x6f00 } : undefined);
    expect(await tx('0070000001')).toBe('019000');
    expect(await tx('0070000001')).toBe('6F00');
    expect(card.openChannels()).toEqual([0, 1]);
    expect(await tx('0070000001')).toBe('029000');
  });

  it('beforeCommand delays and commands stay in order', async () => {
    card.beforeCommand = ({ index }) => (index === 0 ? { delayMs: 30 } : undefined);
    const t0 = Date.now();
    const [a, b] = await Promise.all([card.transmit(hexToBytes('0070000001')), card.transmit(hexToBytes('0070000001'))]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(25);
    expect(toHex(a)).toBe('019000');
    expect(toHex(b)).toBe('029000');
  });

  it('removal during a command rejects it with CardRemovedError', async () => {
    card.beforeCommand = () => ({ remove: true });
    await expect(card.transmit(hexToBytes('00A4000C023F00'))).rejects.toBeInstanceOf(CardRemovedError);
    expect(card.isPresent).toBe(false);
  });

  it('a hung command ends with CardInterruptedError on reset; the next command works', async () => {
    card.beforeCommand = ({ index }) => (index === 0 ? { hang: true } : undefined);
    const hung = card.transmit(hexToBytes('00A4000C023F00'));
    const queued = card.transmit(hexToBytes('0070000001'));
    await new Promise((r) => setTimeout(r, 10));
    await card.reset();
    await expect(hung).rejects.toBeInstanceOf(CardInterruptedError);
    expect(toHex(await queued)).toBe('019000');
  });

  it('afterCommand replaces the response', async () => {
    card.afterCommand = ({ rapdu }) => concatBytes(rapdu.subarray(0, -2), Uint8Array.of(0x6f, 0x00));
    expect(await tx('0070000001')).toBe('016F00');
  });

  it('an applet bug answers 6F00 and is recorded', async () => {
    isdr.respond = () => {
      throw new TypeError('boom');
    };
    await tx(`00A4040C10${ISDR}`);
    expect(await tx('80E2910003BF2E0000')).toBe('6F00');
    expect(card.internalErrors).toHaveLength(1);
    expect(card.internalErrors[0]).toBeInstanceOf(TypeError);
  });

  it('with internalErrorPolicy "throw" the transmit rejects', async () => {
    isdr.respond = () => {
      throw new TypeError('boom');
    };
    card = new Card({ applets: [isdr], internalErrorPolicy: 'throw' });
    await tx(`00A4040C10${ISDR}`);
    await expect(card.transmit(hexToBytes('80E2910003BF2E0000'))).rejects.toBeInstanceOf(TypeError);
  });
});

describe('profile change lifecycle (SGP.22 5.7.16; TS 102 221 10.2.1.1, 11.1.13-14; TS 102 223 6.4.7)', () => {
  const REFRESH = 'D009810301010982028182';
  const TR = '80140000' + '0C' + '810301010982028281830100';
  const lifecycleCard = (profileChange: { proactiveRefresh?: boolean; es10BlockedUntilReset?: boolean }): Card =>
    new Card({ applets: [isdr, new FciOnlyApplet(ECASD_AID)], profileView: () => view, profileChange });
  const openIsdr = async (): Promise<void> => {
    expect(await tx('0070000001')).toBe('019000');
    expect(swOf(await tx(`01A4040010${ISDR}00`))).toBe('9000');
  };

  it('off by default: a profile change raises nothing and blocks nothing', async () => {
    await openIsdr();
    card.profileStateChanged({ refresh: true });
    expect(card.proactiveSessionPending).toBe(false);
    expect(card.profileChangePending).toBe(true);
    expect(swOf(await tx('81E2910003BF2D0000'))).toBe('9000');
    expect(await tx('801200000B')).toBe('6985');
  });

  it('proactiveRefresh: every 9000 turns 91 0B until FETCH returns the REFRESH; TERMINAL RESPONSE ends the session', async () => {
    await card.close();
    card = lifecycleCard({ proactiveRefresh: true });
    await openIsdr();
    card.profileStateChanged({ refresh: false });
    expect(card.proactiveSessionPending).toBe(false); // no refreshFlag: no REFRESH
    card.profileStateChanged({ refresh: true });
    expect(card.proactiveSessionPending).toBe(true);
    expect(toHex(card.pendingProactiveCommand as Uint8Array).toUpperCase()).toBe(REFRESH);
    expect(swOf(await tx('81E2910003BF2D0000'))).toBe('910B'); // data and 91xx
    expect(await tx('00A4000C023F00')).toBe('910B'); // SELECT MF, no data: 91xx alone
    expect(await tx('8014000003810301')).toBe('6985'); // TERMINAL RESPONSE before FETCH
    expect(await tx('8012000005')).toBe('6C0B'); // FETCH: Le must be the command's length
    expect(await tx('801200000B')).toBe(`${REFRESH}9000`);
    expect(card.pendingProactiveCommand).toBeUndefined();
    expect(card.proactiveSessionPending).toBe(true); // until the terminal answered
    expect(swOf(await tx('81E2910003BF2D0000'))).toBe('9000');
    expect(await tx(TR)).toBe('9000');
    expect(card.proactiveSessionPending).toBe(false);
    expect(await tx(TR)).toBe('6985');
    // a reset ends a pending session too
    card.profileStateChanged({ refresh: true });
    await card.reset();
    expect(card.proactiveSessionPending).toBe(false);
    expect(card.pendingProactiveCommand).toBeUndefined();
  });

  it('es10BlockedUntilReset: STORE DATA to the ISD-R answers 6985 from the change until the reset; other commands work; channels stay as they were', async () => {
    await card.close();
    card = lifecycleCard({ es10BlockedUntilReset: true });
    await openIsdr();
    expect(swOf(await tx('81E2910003BF2D0000'))).toBe('9000');
    const received = isdr.received.length;
    card.profileStateChanged({ refresh: false });
    expect(await tx('81E2910003BF2D0000')).toBe('6985');
    expect(isdr.received.length).toBe(received);
    expect(swOf(await tx('81F2000000'))).toBe('9000'); // STATUS on the ISD-R channel still answers
    expect(card.openChannels()).toEqual([0, 1]); // the stale channel is not closed by the card
    expect(card.selectedApplet(1)).toBe(isdr);
    await card.reset();
    expect(card.openChannels()).toEqual([0]);
    await openIsdr();
    expect(swOf(await tx('81E2910003BF2D0000'))).toBe('9000');
  });
});
