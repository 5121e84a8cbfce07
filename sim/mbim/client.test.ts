import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ISD_R_AID_HEX } from '../apdu/aids.ts';
import { hexToBytes, toHex } from '../bytes.ts';
import { createEuicc, type Euicc } from '../euicc/euicc.ts';
import { loopbackStream } from '../wwan/testing/loopback.ts';
import { MbimApduTransport, MbimConnection, MbimError, MbimUiccClient } from './client.ts';
import { COMMAND_TYPE, MBIM_PROTOCOL_ERROR, MBIM_STATUS, MS_UICC_CID, SERVICE } from './codec.ts';
import { MbimModem } from './modem.ts';

const ISD_R = hexToBytes(ISD_R_AID_HEX);
/** CLA 80: channel bits left 0, as a host does that relies on the modem building CLA */
const GET_EID_CH0 = hexToBytes('80E2910006BF3E035C015A');

let euicc: Euicc;
let modem: MbimModem;

async function start(personality: string, opts: { splitBytes?: boolean; maxControlTransfer?: number } = {}): Promise<MbimUiccClient> {
  modem = new MbimModem({ personality, card: euicc });
  return MbimUiccClient.open(loopbackStream(modem, { splitBytes: opts.splitBytes ?? false }), { timeoutMs: 5000, ...(opts.maxControlTransfer ? { maxControlTransfer: opts.maxControlTransfer } : {}) });
}

beforeEach(async () => {
  euicc = await createEuicc();
});
afterEach(async () => {
  await modem.close();
  await euicc.close();
});

describe('MbimUiccClient against the fake MBIM modem (ms-mbimex-v2)', () => {
  it('ATR, open the ISD-R, GetEID with CLA channel 0 (the modem builds CLA and fetches the rest), close', async () => {
    const uicc = await start('ms-mbimex-v2', { splitBytes: true });
    expect(toHex(await uicc.atr())).toBe(toHex(euicc.card.atr()));
    expect((await uicc.deviceCaps()).hardwareInfo).toBe('ms-mbimex-v2');
    expect(await uicc.slotMappings()).toEqual([0]);
    const opened = await uicc.openChannel(ISD_R);
    expect(opened.sw).toBe(0x9000);
    expect(toHex(opened.response)).toContain(ISD_R_AID_HEX.toLowerCase());
    expect(toHex(await uicc.sendApdu(opened.channel, GET_EID_CH0)).toUpperCase()).toBe(`BF3E125A10${euicc.eid}9000`);
    expect(await uicc.closeChannel(opened.channel)).toBe(0x9000);
    await expect(uicc.closeChannel(opened.channel)).rejects.toMatchObject({ status: MBIM_STATUS.MS_INVALID_LOGICAL_CHANNEL });
    await expect(uicc.sendApdu(opened.channel, GET_EID_CH0)).rejects.toMatchObject({ status: MBIM_STATUS.MS_INVALID_LOGICAL_CHANNEL });
    await uicc.close();
    expect(modem.state().opened).toBe(false);
  });

  it('fragments both ways past a small MaxControlTransfer (MBIM 1.0 9.2)', async () => {
    const uicc = await start('ms-mbimex-v2', { maxControlTransfer: 64 });
    expect(modem.state().maxControlTransfer).toBe(64);
    const { channel } = await uicc.openChannel(ISD_R);
    // a STORE DATA of 100 bytes makes a COMMAND above 64 bytes; the EUICCInfo2 answer comes back in fragments
    expect(toHex(await uicc.sendApdu(channel, GET_EID_CH0)).toUpperCase()).toBe(`BF3E125A10${euicc.eid}9000`);
    const info2 = await uicc.sendApdu(channel, hexToBytes('80E2910003BF2200'));
    expect(info2.length).toBeGreaterThan(64);
    expect(toHex(info2.subarray(0, 2))).toBe('bf22');
    expect(toHex(info2.subarray(-2))).toBe('9000');
  });

  it('SELECT refused: MS_SELECT_FAILED with the card SW; no free channel: MS_NO_LOGICAL_CHANNELS with 6881', async () => {
    const uicc = await start('ms-mbimex-v2');
    await expect(uicc.openChannel(hexToBytes('A0000000871002FF'))).rejects.toMatchObject({ status: MBIM_STATUS.MS_SELECT_FAILED, cardSw: 0x6a82 });
    for (let i = 0; i < 3; i++) await uicc.openChannel(ISD_R, { group: 7 });
    const err = await uicc.openChannel(ISD_R).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MbimError);
    expect(err).toMatchObject({ status: MBIM_STATUS.MS_NO_LOGICAL_CHANNELS, cardSw: 0x6881 });
    // channel 0 closes the whole group
    expect(await uicc.closeChannel(0, 7)).toBe(0x9000);
    expect(modem.state().channels).toEqual([]);
  });

  it('RESET closes the channels; MbimApduTransport.reset gives the ATR', async () => {
    const uicc = await start('ms-mbimex-v2');
    await uicc.openChannel(ISD_R);
    expect(toHex(await new MbimApduTransport(uicc).reset())).toBe(toHex(euicc.card.atr()));
    expect(modem.state()).toMatchObject({ channels: [], passThrough: false });
  });

  it('a COMMAND before OPEN gets FUNCTION_ERROR NOT_OPENED', async () => {
    modem = new MbimModem({ personality: 'ms-mbimex-v2', card: euicc });
    const c = new MbimConnection(loopbackStream(modem), { timeoutMs: 5000 });
    await expect(c.command(SERVICE.MS_UICC_LOW_LEVEL_ACCESS, MS_UICC_CID.ATR, COMMAND_TYPE.QUERY)).rejects.toMatchObject({ kind: 'protocol', status: MBIM_PROTOCOL_ERROR.NOT_OPENED });
  });
});

describe('MBIM personalities', () => {
  it('sierra-em7590: slot mapping and slot info answer NO_DEVICE_SUPPORT (lpac #416), UICC access works', async () => {
    const uicc = await start('sierra-em7590');
    await expect(uicc.slotMappings()).rejects.toMatchObject({ status: MBIM_STATUS.NO_DEVICE_SUPPORT, message: expect.stringContaining('NO_DEVICE_SUPPORT') });
    const { channel } = await uicc.openChannel(ISD_R);
    expect(toHex(await uicc.sendApdu(channel, GET_EID_CH0)).toUpperCase()).toBe(`BF3E125A10${euicc.eid}9000`);
  });

  it('synthetic-host-cla: CLA 80 on channel n reaches the basic channel; CLA 8n gets 61xx, which MbimApduTransport completes', async () => {
    const uicc = await start('synthetic-host-cla');
    const { channel } = await uicc.openChannel(ISD_R);
    const wrong = await uicc.sendApdu(channel, GET_EID_CH0);
    expect(toHex(wrong)).toBe('6d00');
    const cla = hexToBytes(`8${channel}E2910006BF3E035C015A`);
    expect(toHex(await uicc.sendApdu(channel, cla))).toMatch(/^61[0-9a-f]{2}$/);
    expect(toHex(await new MbimApduTransport(uicc).transmit(cla)).toUpperCase()).toBe(`BF3E125A10${euicc.eid}9000`);
  });
});
