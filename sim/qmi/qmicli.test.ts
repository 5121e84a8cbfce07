// The fake QMI modem on a PTY, driven by Debian's qmicli (libqmi-utils) and, for the UIM
// messages Debian 12's qmicli lacks, by libqmi-glib itself (testing/libqmi-raw.py); the
// TS client over the same PTY through serialport and through CharDeviceStream.
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { SerialPort } from 'serialport';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ISD_R_AID_HEX } from '../apdu/aids.ts';
import { hexToBytes, toHex } from '../bytes.ts';
import { createEuicc, type Euicc } from '../euicc/euicc.ts';
import { CharDeviceStream } from '../wwan/fd-duplex.ts';
import { type PtyModem, servePty } from '../wwan/pty-endpoint.ts';
import { missingTools, runTool } from '../wwan/testing/external-tool.ts';
import { QmiUimClient } from './client.ts';
import { QMI_ERROR, UIM_MESSAGE } from './messages.ts';
import { QmiModem } from './modem.ts';
import { decodeQmi, findTlv, readResult } from './qmux.ts';

const RAW_DRIVER = fileURLToPath(new URL('./testing/libqmi-raw.py', import.meta.url));
const skip = missingTools([
  { program: 'qmicli', pkg: 'libqmi-utils' },
  { program: 'socat', pkg: 'socat' },
  { program: '/usr/bin/python3', pkg: 'python3' },
]);

let euicc: Euicc;
let pty: PtyModem<QmiModem>;

beforeAll(async () => {
  if (skip) return;
  euicc = await createEuicc();
  pty = await servePty(new QmiModem({ personality: 'qualcomm-uim', card: euicc }));
});
afterAll(async () => {
  await pty?.close();
  await euicc?.close();
});

const qmicli = (...args: string[]) => runTool('qmicli', ['-d', pty.path, '--device-open-qmi', ...args]);

describe.skipIf(skip !== null)('fake QMI modem driven by qmicli / libqmi-glib', () => {
  it('qmicli --uim-get-card-status and --uim-get-slot-status: card present, eUICC, EID', async () => {
    const card = await qmicli('--uim-get-card-status');
    expect(card.code, card.stderr).toBe(0);
    expect(card.stdout).toContain("Card state: 'present'");
    expect(card.stdout).toContain('A0:00:00:05:59:10:10:FF:FF:FF:FF:89:00:00:01:00');
    const slot = await qmicli('--uim-get-slot-status');
    expect(slot.code, slot.stderr).toBe(0);
    expect(slot.stdout).toMatch(/Card status: present/);
    expect(slot.stdout).toMatch(/Is eUICC: yes/);
    expect(slot.stdout).toContain(`EID: ${euicc.eid}`);
  });

  it('qmicli --uim-sim-power-off / --uim-sim-power-on', async () => {
    expect((await qmicli('--uim-sim-power-off=1')).stdout).toContain('Successfully performed SIM power off');
    expect((await qmicli('--uim-get-card-status')).stdout).toContain("Card state: 'error: power-down (1)'");
    expect((await qmicli('--uim-sim-power-on=1')).stdout).toContain('Successfully performed SIM power on');
    expect((await qmicli('--uim-get-card-status')).stdout).toContain("Card state: 'present'");
  });

  it('qmicli --get-service-version-info and --uim-get-supported-messages', async () => {
    expect((await qmicli('--get-service-version-info')).stdout).toMatch(/ctl \(1\.5\)[\s\S]*uim \(1\.46\)/);
    const sup = await qmicli('--uim-get-supported-messages');
    for (const id of ['0x002F', '0x003B', '0x003F', '0x0042', '0x0047']) expect(sup.stdout).toContain(id);
  });

  it('libqmi-glib: Open Logical Channel on the ISD-R, GetEID STORE DATA via Send APDU, Logical Channel close', async () => {
    const requests = [
      { message: UIM_MESSAGE.OPEN_LOGICAL_CHANNEL, tlvs: [[0x01, '01'], [0x10, `10${ISD_R_AID_HEX}`]] },
      { message: UIM_MESSAGE.SEND_APDU, tlvs: [[0x01, '01'], [0x02, '0b0081E2910006BF3E035C015A'], [0x10, '01'], [0x11, '01']] },
      { message: UIM_MESSAGE.SEND_APDU, tlvs: [[0x01, '01'], [0x02, '0b0081E2910006BF3E035C015A'], [0x10, '01']] },
      { message: UIM_MESSAGE.LOGICAL_CHANNEL, tlvs: [[0x01, '01'], [0x11, '01']] },
      { message: UIM_MESSAGE.LOGICAL_CHANNEL, tlvs: [[0x01, '01'], [0x11, '01']] },
    ];
    const r = await runTool('/usr/bin/python3', [RAW_DRIVER, pty.path], JSON.stringify(requests));
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const [cid, ...replies] = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { cid?: number; raw?: string });
    expect(cid!.cid).toBeGreaterThan(0);
    const msgs = replies.map((x) => decodeQmi(hexToBytes(x.raw!)));
    expect(msgs.map((m) => readResult(m).error)).toEqual([0, 0, 0, 0, QMI_ERROR.INVALID_ARGUMENT]);
    expect(toHex(findTlv(msgs[0]!, 0x10)!.value)).toBe('01');
    expect(toHex(findTlv(msgs[1]!, 0x10)!.value).toUpperCase()).toBe(`1700BF3E125A10${euicc.eid}9000`);
    expect(toHex(findTlv(msgs[2]!, 0x10)!.value)).toMatch(/^020061[0-9a-f]{2}$/);
    await pty.modem.idle();
    expect(pty.modem.state().channels).toEqual([]);
  });

  it('the TS client over the PTY: serialport and CharDeviceStream (how a back-end opens /dev/cdc-wdmN)', async () => {
    // one reader at a time: two open file descriptions of a PTY race for its bytes
    const opens: (() => Promise<{ stream: Duplex; close: () => Promise<void> }>)[] = [
      async () => {
        const port = new SerialPort({ path: pty.path, baudRate: 115200, autoOpen: false });
        await new Promise<void>((res, rej) => port.open((e) => (e ? rej(e) : res())));
        return { stream: port, close: () => new Promise<void>((res) => port.close(() => res())) };
      },
      async () => {
        const fd = await CharDeviceStream.open(pty.path);
        return { stream: fd, close: async () => void fd.destroy() };
      },
    ];
    for (const open of opens) {
      const { stream, close } = await open();
      try {
        const uim = await QmiUimClient.open(stream);
        const { channel } = await uim.openLogicalChannel(hexToBytes(ISD_R_AID_HEX));
        const rapdu = await uim.sendApdu(channel, hexToBytes(`8${channel}E2910006BF3E035C015A`), { procedureBytes: 'skip' });
        expect(toHex(rapdu).toUpperCase()).toBe(`BF3E125A10${euicc.eid}9000`);
        await uim.closeLogicalChannel(channel);
        await uim.close();
      } finally {
        await close();
      }
    }
  });
});
