// The fake MBIM modem on a PTY driven by Debian's mbimcli (libmbim-utils): device caps,
// ATR, open a logical channel on the ISD-R, ES10c GetEID through --ms-set-uicc-apdu,
// close the channel; NO_DEVICE_SUPPORT of a single-slot personality as mbimcli reports it;
// the TS client over the same PTY through CharDeviceStream.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ISD_R_AID_HEX } from '../apdu/aids.ts';
import { hexToBytes, toHex } from '../bytes.ts';
import { createEuicc, type Euicc } from '../euicc/euicc.ts';
import { CharDeviceStream } from '../wwan/fd-duplex.ts';
import { type PtyModem, servePty } from '../wwan/pty-endpoint.ts';
import { missingTools, runTool } from '../wwan/testing/external-tool.ts';
import { MbimUiccClient } from './client.ts';
import { MbimModem } from './modem.ts';

const skip = missingTools([
  { program: 'mbimcli', pkg: 'libmbim-utils' },
  { program: 'socat', pkg: 'socat' },
]);

let euicc: Euicc;
let pty: PtyModem<MbimModem>;
let single: PtyModem<MbimModem>;

beforeAll(async () => {
  if (skip) return;
  euicc = await createEuicc();
  pty = await servePty(new MbimModem({ personality: 'ms-mbimex-v2', card: euicc }));
  single = await servePty(new MbimModem({ personality: 'sierra-em7590', card: euicc }));
});
afterAll(async () => {
  await pty?.close();
  await single?.close();
  await euicc?.close();
});

// --no-close: the logical channel outlives one mbimcli run, as it would across a bridge's calls
const mbimcli = (path: string, ...args: string[]) => runTool('mbimcli', ['-d', path, '--no-close', ...args]);
const colonHex = (hex: string) => hex.match(/../g)!.join(':');

describe.skipIf(skip !== null)('fake MBIM modem driven by mbimcli', () => {
  it('--query-device-caps and --ms-query-uicc-atr', async () => {
    const caps = await mbimcli(pty.path, '--query-device-caps');
    expect(caps.code, caps.stderr).toBe(0);
    expect(caps.stdout).toContain("Device type: 'embedded'");
    expect(caps.stdout).toContain("Hardware info: 'ms-mbimex-v2'");
    const atr = await mbimcli(pty.path, '--ms-query-uicc-atr');
    expect(atr.stdout).toContain(`response: ${colonHex(toHex(euicc.card.atr()).toUpperCase())}`);
  });

  it('open a channel on the ISD-R, read the EID with GetEID (BF3E), close the channel', async () => {
    const open = await mbimcli(pty.path, `--ms-set-uicc-open-channel=application-id=${ISD_R_AID_HEX},selectp2arg=0,channel-group=1`);
    expect(open.code, open.stderr).toBe(0);
    expect(open.stdout).toMatch(/status: 144/);
    const channel = Number(/channel: (\d+)/.exec(open.stdout)![1]);
    const apdu = await mbimcli(pty.path, `--ms-set-uicc-apdu=channel=${channel},secure-message=none,classbyte-type=inter-industry,command=80E2910006BF3E035C015A`);
    expect(apdu.code, apdu.stderr).toBe(0);
    expect(apdu.stdout).toContain('status: 144');
    expect(apdu.stdout).toContain(`response: ${colonHex(`BF3E125A10${euicc.eid}`)}`);
    const close = await mbimcli(pty.path, `--ms-set-uicc-close-channel=channel=${channel},channel-group=1`);
    expect(close.stdout).toContain('status: 144');
    await pty.modem.idle();
    expect(pty.modem.state().channels).toEqual([]);
  });

  it('slot mapping: answered on ms-mbimex-v2, NoDeviceSupport on sierra-em7590', async () => {
    expect((await mbimcli(pty.path, '--ms-query-device-slot-mappings')).stdout).toContain("Executor '0': slot '0'");
    const r = await mbimcli(single.path, '--ms-query-device-slot-mappings');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('NoDeviceSupport');
  });

  it('the TS client over the PTY through CharDeviceStream', async () => {
    const fd = await CharDeviceStream.open(pty.path);
    try {
      const uicc = await MbimUiccClient.open(fd);
      const { channel } = await uicc.openChannel(hexToBytes(ISD_R_AID_HEX));
      expect(toHex(await uicc.sendApdu(channel, hexToBytes('80E2910006BF3E035C015A'))).toUpperCase()).toBe(`BF3E125A10${euicc.eid}9000`);
      await uicc.closeChannel(channel);
      await uicc.close();
    } finally {
      fd.destroy();
    }
  });
});
