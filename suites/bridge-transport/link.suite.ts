// Bridge transport: the LPA link itself (vpcd power/reset/ATR), ISD-R selection.
import { expect } from 'vitest';
import { tc } from '../framework/case.ts';
import { useRig } from '../framework/shared-rig.ts';
import { parseAtr } from '../../sim/euicc/card/atr.ts';
import { hexToBytes, toHex } from '../../sim/bytes.ts';
import { responseSw } from '../../sim/apdu/apdu.ts';

const rig = useRig();
const ISD_R = 'A0000005591010FFFFFFFF8900000100';
const group = 'Bridge transport' as const;

tc(
  {
    id: 'TC_Bridge_vpcd.PowerOn_ATR',
    title: 'the bridge answers power-on and GET ATR with an ATR advertising T=0',
    group,
    purpose: 'An LPA (or pcscd through vpcd) sees a card in the reader as soon as it connects.',
    requirement: 'vsmartcard vpcd protocol (REFERENCE.md 5); ISO/IEC 7816-3 8.2 ATR',
    initialConditions: ['the bridge is running and connected to the modem'],
    steps: [
      { action: 'connect to the bridge over vpcd and send power-on then GET ATR (04)', expected: 'an ATR frame comes back' },
      { action: 'parse the ATR', expected: 'valid TCK, protocol T=0 offered (lpac\'s pcsc driver insists on T=0)' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const t = await c.setup('LPA connected to the bridge', () => rt.connectLpa());
    try {
      const atr = await c.step(1, () => t.reset());
      await c.step(2, () => {
        const info = parseAtr(atr);
        expect(info.protocols).toContain(0);
      });
    } finally {
      await t.close();
    }
  },
);

tc(
  {
    id: 'TC_Bridge_vpcd.Reset_ClosesChannels',
    title: 'a reset from the LPA closes the logical channels the LPA had open',
    group,
    purpose: 'After a reset the card state seen by the LPA starts over, as with a real reader.',
    requirement: 'ISO/IEC 7816-4 5.1.1 (logical channels closed by reset)',
    initialConditions: ['the bridge is running', 'the LPA has opened a logical channel and selected the ISD-R on it'],
    steps: [
      { action: 'send vpcd reset (02) and GET ATR', expected: 'the ATR comes back' },
      { action: 'send STORE DATA GetEID on the channel opened before the reset', expected: 'an error status (6881 channel not open, or 6985/6D00), not the EID' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const t = await c.setup('LPA connected', () => rt.connectLpa());
    try {
      const ch = await c.setup('channel open with the ISD-R selected', async () => {
        await t.reset();
        const open = await t.transmit(hexToBytes('0070000001'));
        expect(responseSw(open)).toBe(0x9000);
        const n = open[0]!;
        const sel = await t.transmit(hexToBytes(`0${n}A4040010${ISD_R}00`));
        expect(responseSw(sel) >> 8 === 0x90 || responseSw(sel) >> 8 === 0x61).toBe(true);
        return n;
      });
      await c.step(1, () => t.reset());
      await c.step(2, async () => {
        const r = await t.transmit(hexToBytes(`8${ch}E2910006BF3E035C015A00`));
        expect(toHex(r)).not.toMatch(/^bf3e/);
        expect([0x6881, 0x6985, 0x6d00, 0x6a88]).toContain(responseSw(r));
      });
    } finally {
      await t.close();
    }
  },
);

tc(
  {
    id: 'TC_Bridge_ISD-R.Select_LogicalChannel',
    title: 'the LPA opens a logical channel, selects the ISD-R and reads the EID',
    group,
    purpose: 'The basic path every LPA uses: MANAGE CHANNEL, SELECT ISD-R, STORE DATA GetEID, MANAGE CHANNEL close.',
    requirement: 'SGP.22 5.7.20 GetEID; ETSI TS 102 221 11.1.17 MANAGE CHANNEL',
    initialConditions: ['the bridge is running'],
    steps: [
      { action: 'MANAGE CHANNEL open (00 70 00 00 01)', expected: '9000 with a channel number 1..19' },
      { action: 'SELECT the ISD-R by AID on that channel', expected: '9000 or 61xx with an FCI' },
      { action: 'STORE DATA GetEID (BF3E 5C 5A) on that channel', expected: 'BF3E with the eUICC EID, 9000' },
      { action: 'MANAGE CHANNEL close', expected: '9000' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const { lpa, close } = await c.setup('test LPA connected (opens channel and selects ISD-R)', () => rt.openLpa());
    try {
      await c.step(1, () => expect(lpa.es10.channel).toBeGreaterThan(0));
      await c.step(2, () => expect(lpa.es10.selectResponse.length).toBeGreaterThan(0));
      const eid = await c.step(3, () => lpa.es10.getEid());
      if (rt.euicc) expect(eid).toBe(rt.euicc.eid);
      else expect(eid).toMatch(/^89\d{30}$/);
      await c.step(4, () => lpa.es10.close());
    } finally {
      await close();
    }
  },
);
