import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ISD_R_AID_HEX } from '../apdu/aids.ts';
import { hexToBytes, toHex } from '../bytes.ts';
import { createEuicc, type Euicc } from '../euicc/euicc.ts';
import { loopbackStream } from '../wwan/testing/loopback.ts';
import { QmiApduTransport, QmiError, QmiUimClient } from './client.ts';
import { CARD_ERROR, CARD_STATE, QMI_ERROR } from './messages.ts';
import { QmiModem } from './modem.ts';

const ISD_R = hexToBytes(ISD_R_AID_HEX);
const getEid = (ch: number) => hexToBytes(`8${ch}E2910006BF3E035C015A`);

let euicc: Euicc;
let modem: QmiModem;
let uim: QmiUimClient;

async function start(personality: string, splitBytes = false): Promise<void> {
  modem = new QmiModem({ personality, card: euicc });
  uim = await QmiUimClient.open(loopbackStream(modem, { splitBytes }), { timeoutMs: 5000 });
}

beforeEach(async () => {
  euicc = await createEuicc();
});
afterEach(async () => {
  await modem.close();
  await euicc.close();
});

describe('QmiUimClient against the fake QMI modem (qualcomm-uim)', () => {
  it('reads card status, slot status (ATR, EID), opens the ISD-R, reads the EID and closes the channel', async () => {
    await start('qualcomm-uim', true);
    const status = await uim.cardStatus();
    expect(status.cards[0]!.state).toBe(CARD_STATE.PRESENT);
    const [slot] = await uim.slotStatus();
    expect(toHex(slot!.atr)).toBe(toHex(euicc.card.atr()));
    expect(slot!.isEuicc).toBe(true);
    expect(toHex(slot!.eid).toUpperCase()).toBe(euicc.eid);
    const opened = await uim.openLogicalChannel(ISD_R);
    expect(opened.sw).toBe(0x9000);
    expect(toHex(opened.selectResponse)).toContain(ISD_R_AID_HEX.toLowerCase());
    // the default returns the procedure bytes: 61xx, the client fetches the rest
    const first = await uim.sendApdu(opened.channel, getEid(opened.channel));
    expect(toHex(first)).toMatch(/^61[0-9a-f]{2}$/);
    const whole = await uim.sendApdu(opened.channel, getEid(opened.channel), { procedureBytes: 'skip' });
    expect(toHex(whole).toUpperCase()).toBe(`BF3E125A10${euicc.eid}9000`);
    expect(modem.state().channels).toEqual([{ channel: opened.channel, clientId: uim.clientId, aid: ISD_R_AID_HEX }]);
    await uim.closeLogicalChannel(opened.channel);
    expect(modem.state().channels).toEqual([]);
    await expect(uim.closeLogicalChannel(opened.channel)).rejects.toMatchObject({ code: QMI_ERROR.INVALID_ARGUMENT });
  });

  it('QmiApduTransport runs the T=0 procedure itself (adapter) or asks the modem (skip)', async () => {
    await start('qualcomm-uim');
    const { channel } = await uim.openLogicalChannel(ISD_R);
    for (const getResponse of ['adapter', 'modem'] as const) {
      const t = new QmiApduTransport(uim, { getResponse });
      expect(toHex(await t.transmit(getEid(channel))).toUpperCase()).toBe(`BF3E125A10${euicc.eid}9000`);
    }
    const atr = await new QmiApduTransport(uim).reset();
    expect(toHex(atr)).toBe(toHex(euicc.card.atr()));
    // power-cycling the SIM closed every channel
    expect(modem.state().channels).toEqual([]);
  });

  it('the card limits channels: the 4th open gets Internal with the card SW 6881', async () => {
    await start('qualcomm-uim');
    for (let i = 0; i < 3; i++) await uim.openLogicalChannel(ISD_R);
    const err = await uim.openLogicalChannel(ISD_R).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QmiError);
    expect(err).toMatchObject({ code: QMI_ERROR.INTERNAL, cardSw: 0x6881, nick: 'Internal' });
  });

  it('a SELECT the card refuses gets Internal with its SW and leaves no channel open', async () => {
    await start('qualcomm-uim');
    await expect(uim.openLogicalChannel(hexToBytes('A0000000871002FFFFFFFF8900000100'))).rejects.toMatchObject({ code: QMI_ERROR.INTERNAL, cardSw: 0x6a82 });
    expect(modem.state().channels).toEqual([]);
  });

  it('releasing the client id closes the channels it holds', async () => {
    await start('qualcomm-uim');
    await uim.openLogicalChannel(ISD_R);
    await uim.close();
    await modem.idle();
    expect(modem.state()).toMatchObject({ clients: [], channels: [] });
  });

  it('power off: APDUs get DeviceNotReady, card status shows power-down; power on brings the card back', async () => {
    await start('qualcomm-uim');
    const { channel } = await uim.openLogicalChannel(ISD_R);
    await uim.powerOff();
    await expect(uim.sendApdu(channel, getEid(channel))).rejects.toMatchObject({ code: QMI_ERROR.DEVICE_NOT_READY });
    expect((await uim.cardStatus()).cards[0]).toMatchObject({ state: CARD_STATE.ERROR, error: CARD_ERROR.POWER_DOWN });
    await uim.powerOn();
    expect((await uim.cardStatus()).cards[0]!.state).toBe(CARD_STATE.PRESENT);
    await expect(uim.sendApdu(channel, getEid(channel))).rejects.toMatchObject({ code: QMI_ERROR.INVALID_ARGUMENT });
  });

  it('rejects a slot that does not exist and an APDU shorter than a header', async () => {
    modem = new QmiModem({ personality: 'qualcomm-uim', card: euicc });
    const stream = loopbackStream(modem);
    const other = await QmiUimClient.open(stream, { slot: 2 });
    await expect(other.openLogicalChannel(ISD_R)).rejects.toMatchObject({ code: QMI_ERROR.INVALID_ARGUMENT });
    const one = await QmiUimClient.open(stream);
    await expect(one.sendApdu(0, hexToBytes('80E2'))).rejects.toMatchObject({ code: QMI_ERROR.INVALID_ARGUMENT });
  });
});

describe('QMI personalities', () => {
  it('telit-le910c4: Open Logical Channel fails with AccessDenied (82), card status still works (lpac #221)', async () => {
    await start('telit-le910c4');
    await expect(uim.openLogicalChannel(ISD_R)).rejects.toMatchObject({ code: QMI_ERROR.ACCESS_DENIED, nick: 'AccessDenied', message: expect.stringContaining("QMI protocol error (82): 'AccessDenied'") });
    expect((await uim.cardStatus()).cards[0]!.state).toBe(CARD_STATE.PRESENT);
  });

  it('synthetic-3-channels: the 4th channel gets InsufficientResources (68), a freed one can be reopened', async () => {
    await start('synthetic-3-channels');
    const chans = [];
    for (let i = 0; i < 3; i++) chans.push((await uim.openLogicalChannel(ISD_R)).channel);
    await expect(uim.openLogicalChannel(ISD_R)).rejects.toMatchObject({ code: QMI_ERROR.INSUFFICIENT_RESOURCES, cardSw: undefined });
    await uim.closeLogicalChannel(chans[0]!);
    expect((await uim.openLogicalChannel(ISD_R)).channel).toBe(chans[0]);
  });

  it('synthetic-auto-get-response: the modem fetches the rest even when the client asks for procedure bytes', async () => {
    await start('synthetic-auto-get-response');
    const { channel } = await uim.openLogicalChannel(ISD_R);
    for (const procedureBytes of [undefined, 'return'] as const) {
      const r = await uim.sendApdu(channel, getEid(channel), procedureBytes ? { procedureBytes } : {});
      expect(toHex(r).toUpperCase()).toBe(`BF3E125A10${euicc.eid}9000`);
    }
  });

  it('qualcomm-uim honours TLV 0x11 both ways', async () => {
    await start('qualcomm-uim');
    const { channel } = await uim.openLogicalChannel(ISD_R);
    expect(toHex(await uim.sendApdu(channel, getEid(channel), { procedureBytes: 'return' }))).toMatch(/^61/);
    expect(toHex(await uim.sendApdu(channel, getEid(channel), { procedureBytes: 'skip' }))).toMatch(/9000$/);
  });
});
