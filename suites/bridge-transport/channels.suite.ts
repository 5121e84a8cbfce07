// Bridge transport: logical channels as the LPA sees them (ISO/IEC 7816-4 11.1.2 MANAGE
// CHANNEL; ETSI TS 102 221 11.1.17 and 10.1.1 CLA coding: channels 1-3 in CLA b2-b1 -
// 0x81..0x83 for STORE DATA -, channels 4-19 in the further coding 0x40/0xC0 + ch-4). The
// bridge may map the LPA's channel numbers onto other card channels or modem sessions
// (3GPP TS 27.007 8.45 +CCHO), so the checks compare channel-normalised commands and
// check that each LPA channel lands on its own open card channel. Without TERMINAL
// CAPABILITY a UICC has 3 extra channels (ETSI TS 102 221 11.1.17): the 4th open is refused.
import { expect } from 'vitest';
import { tc, type CaseRun } from '../framework/case.ts';
import { euiccOf, modemOf } from '../framework/fixtures.ts';
import { useRig } from '../framework/shared-rig.ts';
import { buildCommand } from '../../sim/apdu/apdu.ts';
import {
  channelOfCla,
  expectEid,
  expectFaithful,
  expectNoCardAccess,
  GET_EID,
  getEidApdu,
  GROUP,
  hex,
  INS_STORE_DATA,
  ISD_R_AID,
  isoCla,
  MANAGE_CHANNEL_OPEN,
  manageChannelClose,
  openChannel,
  relay,
  selectAid,
  storeDataCla,
  swHex,
} from './helpers.ts';
import type { RigRuntime } from '../framework/rig-runtime.ts';

const rig = useRig();

/** Card channels open besides the basic one (read from the emulated card's state). */
const openCardChannels = (rt: RigRuntime): number[] => euiccOf(rt).card.openChannels().filter((n) => n !== 0);

/** The card's open channels, when the rig can see the card's state (else the step is not verifiable). */
function cardChannels(c: CaseRun, rt: RigRuntime, why: string): number[] | undefined {
  return c.observe('cardState', why) ? openCardChannels(rt) : undefined;
}

/** The fake modem's open +CCHO sessions, when the rig has a fake modem (else the step is not verifiable). */
function modemSessions(c: CaseRun, rt: RigRuntime, why: string): unknown[] | undefined {
  return c.observe('modemState', why) ? modemOf(rt).state().sessions : undefined;
}

/** How many ES10 functions the ISD-R has processed, when the rig can see it. */
function isdrCalls(c: CaseRun, rt: RigRuntime, why: string): number | undefined {
  return c.observe('cardState', why) ? euiccOf(rt).isdr.calls.length : undefined;
}

tc(
  {
    id: 'TC_Bridge_Channel.Open_Three',
    title: 'three logical channels (CLA 81, 82, 83) work side by side, each on its own card channel',
    group: GROUP,
    iut: 'bridge',
    purpose: 'An LPA may keep several ISD-R sessions open (e.g. one for the download, one for notifications): each channel must reach the card on its own card channel.',
    requirement: 'ETSI TS 102 221 11.1.17 (3 extra channels), 10.1.1 (CLA 0x81..0x83); 3GPP TS 27.007 8.45',
    initialConditions: ['the LPA is connected to the bridge, no channel open'],
    steps: [
      { action: 'MANAGE CHANNEL open three times', expected: 'channels 1, 2 and 3 (9000 each)' },
      { action: 'SELECT the ISD-R on each, then GetEID on each with CLA 81, 82, 83', expected: 'BF3E...9000 on each; the card got each command once' },
      { action: 'compare the card channels the three STORE DATA arrived on', expected: 'three different card channels, all open on the card' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const t = await c.setup('LPA connected', () => rt.connectPowered());
    try {
      const chans = await c.step(1, async () => {
        const out: number[] = [];
        for (let i = 0; i < 3; i++) {
          const r = await t.transmit(MANAGE_CHANNEL_OPEN);
          expect(swHex(r)).toBe('9000');
          expect(r.length).toBe(3);
          out.push(r[0]!);
        }
        expect(out).toEqual([1, 2, 3]);
        return out;
      });
      const cardCh = await c.step(2, async () => {
        const used: number[] = [];
        for (const ch of chans) {
          const sel = await t.transmit(selectAid(ch, ISD_R_AID));
          expect(swHex(sel)).toBe('9000');
          const x = await relay(c, t, getEidApdu(ch));
          expect(x.capdu[0]).toBe(0x80 | ch);
          expectEid(c, rt, x.rapdu, `GetEID on channel ${ch}`);
          const i = expectFaithful(x);
          if (i >= 0) used.push(channelOfCla(x.card[i]!.command[0]!));
        }
        return used;
      });
      await c.step(3, () => {
        const open = cardChannels(c, rt, 'each LPA channel is an open card channel');
        if (!open) return;
        expect(new Set(cardCh).size).toBe(3);
        for (const n of cardCh) expect(open).toContain(n);
      });
    } finally {
      await t.close();
    }
  },
);

tc(
  {
    id: 'TC_Bridge_Channel.Open_FourthRefused',
    title: 'with three channels open a fourth MANAGE CHANNEL open is refused without touching the card, and the three keep working',
    group: GROUP,
    iut: 'bridge',
    purpose: 'A card without TERMINAL CAPABILITY offers 3 extra channels; the bridge must say "no channel" instead of breaking an open one.',
    requirement: 'ETSI TS 102 221 11.1.17; ISO/IEC 7816-4 table 6 (6881 logical channel not supported / 6A81 function not supported); bridge requirement BR-5 (6A81 no free channel)',
    initialConditions: ['the LPA has opened channels 1, 2, 3 and selected the ISD-R on each'],
    steps: [
      { action: 'MANAGE CHANNEL open a fourth time', expected: '6A81 (bridge: no free channel) or 6881 (card: channel not supported), no channel number' },
      { action: 'look at the AT hop', expected: 'nothing was sent to the modem for it' },
      { action: 'GetEID on channels 1, 2, 3', expected: 'BF3E...9000 on each' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const t = await c.setup('LPA connected', () => rt.connectPowered());
    try {
      await c.setup('channels 1..3 open with the ISD-R selected', async () => {
        for (let i = 1; i <= 3; i++) expect((await openChannel(t)).channel).toBe(i);
      });
      const x = await c.step(1, async () => {
        const x = await relay(c, t, MANAGE_CHANNEL_OPEN);
        expect(['6A81', '6881']).toContain(hex(x.rapdu));
        return x;
      });
      await c.step(2, () => expectNoCardAccess(x));
      await c.step(3, async () => {
        for (let ch = 1; ch <= 3; ch++) expectEid(c, rt, await t.transmit(getEidApdu(ch)), `GetEID on channel ${ch}`);
      });
    } finally {
      await t.close();
    }
  },
);

tc(
  {
    id: 'TC_Bridge_Channel.Close_Reopen',
    title: 'a closed channel answers 6881 without touching the card; reopening gives the number back and it works again',
    group: GROUP,
    iut: 'bridge',
    purpose: 'After MANAGE CHANNEL close the modem session must be released (else the card runs out of channels) and the old number must not reach a stale session.',
    requirement: 'ISO/IEC 7816-4 11.1.2 (close), table 6 (6881); 3GPP TS 27.007 8.46 +CCHC',
    initialConditions: ['the LPA has opened a channel and selected the ISD-R on it'],
    steps: [
      { action: 'MANAGE CHANNEL close (00 70 80 ch 00)', expected: '9000; the card channel is closed and the modem keeps no session' },
      { action: 'GetEID on the closed channel', expected: 'exactly 6881, and nothing reaches the modem' },
      { action: 'MANAGE CHANNEL open, SELECT ISD-R, GetEID', expected: 'the same channel number again, then BF3E...9000' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const t = await c.setup('LPA connected', () => rt.connectPowered());
    try {
      const ch = await c.setup('channel open with the ISD-R selected', async () => (await openChannel(t)).channel);
      await c.step(1, async () => {
        const r = await t.transmit(manageChannelClose(ch));
        expect(hex(r)).toBe('9000');
        const open = cardChannels(c, rt, 'the card channel is closed');
        if (open) expect(open).toEqual([]);
        const sessions = modemSessions(c, rt, 'the modem keeps no session');
        if (sessions) expect(sessions).toEqual([]);
      });
      await c.step(2, async () => {
        const x = await relay(c, t, getEidApdu(ch));
        expect(hex(x.rapdu)).toBe('6881');
        expectNoCardAccess(x);
      });
      await c.step(3, async () => {
        const again = await openChannel(t);
        expect(again.channel).toBe(ch);
        expectEid(c, rt, await t.transmit(getEidApdu(ch)), 'GetEID on the reopened channel');
      });
    } finally {
      await t.close();
    }
  },
);

tc(
  {
    id: 'TC_Bridge_Channel.Reuse_NoStateLeak',
    title: 'a reused channel number starts without a selected application',
    group: GROUP,
    iut: 'bridge',
    purpose: 'When a channel number is reused, nothing of the previous session (ISD-R selection, half a STORE DATA chain) may carry over.',
    requirement: 'ISO/IEC 7816-4 11.1.2 (a newly opened channel selects the MF / no application); GP 11.11 (chains are per channel and end with it)',
    initialConditions: ['the LPA opened a channel, selected the ISD-R, sent the first block of a two-block STORE DATA, then closed the channel'],
    steps: [
      { action: 'MANAGE CHANNEL open', expected: 'the same number again' },
      { action: 'send the last block of the chain (P1 91, P2 01) without SELECT', expected: 'refused: 6985 (bridge: no application selected) or 6D00 (card: no application on the channel); the ISD-R processed nothing' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const t = await c.setup('LPA connected', () => rt.connectPowered());
    try {
      const ch = await c.setup('channel used and closed mid-chain', async () => {
        const { channel } = await openChannel(t);
        const first = await t.transmit(buildCommand({ cla: storeDataCla(channel), ins: INS_STORE_DATA, p1: 0x11, p2: 0x00, data: GET_EID.subarray(0, 3) }));
        expect(hex(first)).toBe('9000');
        expect(hex(await t.transmit(manageChannelClose(channel)))).toBe('9000');
        return channel;
      });
      await c.step(1, async () => {
        const r = await t.transmit(MANAGE_CHANNEL_OPEN);
        expect(hex(r)).toBe(`0${ch}9000`);
      });
      await c.step(2, async () => {
        const calls = isdrCalls(c, rt, 'the ISD-R processed nothing');
        const x = await relay(c, t, buildCommand({ cla: storeDataCla(ch), ins: INS_STORE_DATA, p1: 0x91, p2: 0x01, data: GET_EID.subarray(3), le: 256 }));
        expect(['6985', '6D00']).toContain(hex(x.rapdu));
        if (calls !== undefined) expect(euiccOf(rt).isdr.calls.length).toBe(calls);
      });
    } finally {
      await t.close();
    }
  },
);

tc(
  {
    id: 'TC_Bridge_Channel.NotOpened_6881',
    title: 'an APDU on a channel the LPA never opened is answered 6881 without touching the card',
    group: GROUP,
    iut: 'bridge',
    purpose: 'A channel number the LPA did not open must not reach a modem session that belongs to someone else.',
    requirement: 'ISO/IEC 7816-4 table 6 (6881 logical channel not supported); ETSI TS 102 221 11.1.17',
    initialConditions: ['the LPA is connected, no channel open'],
    steps: [{ action: 'send GetEID with CLA 82', expected: 'exactly 6881; no AT command towards the card, no APDU at the card' }],
  },
  async (c) => {
    const rt = rig(c);
    const t = await c.setup('LPA connected', () => rt.connectPowered());
    try {
      await c.step(1, async () => {
        const x = await relay(c, t, getEidApdu(2));
        expect(hex(x.rapdu)).toBe('6881');
        expectNoCardAccess(x);
      });
    } finally {
      await t.close();
    }
  },
);

tc(
  {
    id: 'TC_Bridge_Channel.NoSelect_Refused',
    title: 'STORE DATA on a freshly opened channel without SELECT is refused and reaches no ISD-R',
    group: GROUP,
    iut: 'bridge',
    purpose: 'An ES10 command must only reach the ISD-R the LPA selected; on a channel with no application it must fail.',
    requirement: 'ISO/IEC 7816-4 11.1.2 / ETSI TS 102 221 11.1.17 (a new channel starts on the MF); GP 11.11 (STORE DATA goes to the selected application)',
    initialConditions: ['the LPA opened a channel and selected nothing on it'],
    steps: [{ action: 'send GetEID on it', expected: '6985 (bridge: no application selected) or 6D00 (card: instruction not supported by the MF); the ISD-R processed nothing' }],
  },
  async (c) => {
    const rt = rig(c);
    const t = await c.setup('LPA connected', () => rt.connectPowered());
    try {
      const ch = await c.setup('channel open, nothing selected', async () => {
        const r = await t.transmit(MANAGE_CHANNEL_OPEN);
        expect(swHex(r)).toBe('9000');
        return r[0]!;
      });
      await c.step(1, async () => {
        const calls = isdrCalls(c, rt, 'no ISD-R was reached');
        const x = await relay(c, t, getEidApdu(ch));
        expect(['6985', '6D00']).toContain(hex(x.rapdu));
        if (calls !== undefined) expect(euiccOf(rt).isdr.calls.length).toBe(calls);
      });
    } finally {
      await t.close();
    }
  },
);

tc(
  {
    id: 'TC_Bridge_Channel.ManageChannel_BadParams',
    title: 'MANAGE CHANNEL closing the basic channel or with P1 40 is answered 6A86',
    group: GROUP,
    iut: 'bridge',
    purpose: 'The basic channel cannot be closed and P1 other than 00/80 is undefined: the bridge (or card) must refuse, not close an LPA channel.',
    requirement: 'ISO/IEC 7816-4 11.1.2 (P1 00 open / 80 close); ETSI TS 102 221 11.1.17; ISO/IEC 7816-4 table 6 (6A86)',
    initialConditions: ['the LPA opened a channel and selected the ISD-R on it'],
    steps: [
      { action: 'send 00 70 80 00 00 (close channel 0)', expected: 'exactly 6A86' },
      { action: 'send 00 70 40 00 00 (P1 40)', expected: 'exactly 6A86' },
      { action: 'GetEID on the open channel', expected: 'BF3E...9000: the channel was not affected' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const t = await c.setup('LPA connected', () => rt.connectPowered());
    try {
      const { channel } = await c.setup('channel open with the ISD-R selected', () => openChannel(t));
      await c.step(1, async () => expect(hex(await t.transmit(Uint8Array.of(0x00, 0x70, 0x80, 0x00, 0x00)))).toBe('6A86'));
      await c.step(2, async () => expect(hex(await t.transmit(Uint8Array.of(0x00, 0x70, 0x40, 0x00, 0x00)))).toBe('6A86'));
      await c.step(3, async () => expectEid(c, rt, await t.transmit(getEidApdu(channel)), 'GetEID after the refused commands'));
    } finally {
      await t.close();
    }
  },
);

tc(
  {
    id: 'TC_Bridge_Channel.Interleaved_Chains',
    title: 'a STORE DATA chain on one channel survives a complete ES10 command on another',
    group: GROUP,
    iut: 'bridge',
    purpose: 'Chains are per channel: the bridge must not reorder, merge or reset them when the LPA interleaves two channels.',
    requirement: 'GlobalPlatform 11.11 (STORE DATA chain per logical channel); ETSI TS 102 221 11.1.17',
    initialConditions: ['the LPA has two channels open with the ISD-R selected on each'],
    steps: [
      { action: 'channel A: first block of GetEID (P1 11, P2 00, BF3E03)', expected: '9000' },
      { action: 'channel B: complete GetEID', expected: 'BF3E...9000' },
      { action: 'channel A: last block (P1 91, P2 01, 5C015A, Le 00)', expected: 'BF3E...9000: the chain was kept' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const t = await c.setup('LPA connected', () => rt.connectPowered());
    try {
      const [a, b] = await c.setup('two channels with the ISD-R selected', async () => [(await openChannel(t)).channel, (await openChannel(t)).channel] as const);
      await c.step(1, async () => {
        const x = await relay(c, t, buildCommand({ cla: storeDataCla(a), ins: INS_STORE_DATA, p1: 0x11, p2: 0x00, data: GET_EID.subarray(0, 3) }));
        expect(hex(x.rapdu)).toBe('9000');
        expectFaithful(x);
      });
      await c.step(2, async () => expectEid(c, rt, await t.transmit(getEidApdu(b)), 'GetEID on channel B'));
      await c.step(3, async () => {
        const x = await relay(c, t, buildCommand({ cla: storeDataCla(a), ins: INS_STORE_DATA, p1: 0x91, p2: 0x01, data: GET_EID.subarray(3), le: 256 }));
        expectEid(c, rt, x.rapdu, 'end of the chain on channel A');
        expectFaithful(x);
      });
    } finally {
      await t.close();
    }
  },
);

tc(
  {
    id: 'TC_Bridge_Channel.Remap_ExplicitNumber',
    title: 'a channel opened by number (P2 03) works with CLA 03/83 even though the card gives another channel',
    group: GROUP,
    iut: 'bridge',
    purpose: 'The LPA\'s channel number and the card\'s may differ (the modem picks the card channel): the bridge must rewrite CLA consistently both ways.',
    requirement: 'ISO/IEC 7816-4 11.1.2 (open with P2 = channel number: 9000 without data); ETSI TS 102 221 10.1.1; 3GPP TS 27.007 8.45',
    initialConditions: ['the LPA is connected, no channel open'],
    steps: [
      { action: 'MANAGE CHANNEL open 00 70 00 03 00', expected: 'exactly 9000 (no data)' },
      { action: 'SELECT ISD-R with CLA 03 and GetEID with CLA 83', expected: '9000 with the FCI, then BF3E...9000; the card got both on one open card channel' },
      { action: 'MANAGE CHANNEL close 00 70 80 03 00', expected: '9000; no card channel left open' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const t = await c.setup('LPA connected', () => rt.connectPowered());
    try {
      await c.step(1, async () => expect(hex(await t.transmit(Uint8Array.of(0x00, 0x70, 0x00, 0x03, 0x00)))).toBe('9000'));
      await c.step(2, async () => {
        const sel = await relay(c, t, selectAid(3, ISD_R_AID));
        expect(swHex(sel.rapdu)).toBe('9000');
        const si = expectFaithful(sel, { once: false });
        const x = await relay(c, t, getEidApdu(3));
        expect(x.capdu[0]).toBe(0x83);
        expectEid(c, rt, x.rapdu, 'GetEID on channel 3');
        const i = expectFaithful(x);
        const open = cardChannels(c, rt, 'the SELECT and GetEID went to one open card channel');
        if (i >= 0 && si >= 0 && open) {
          const n = channelOfCla(x.card[i]!.command[0]!);
          expect(channelOfCla(sel.card[si]!.command[0]!)).toBe(n);
          expect(open).toContain(n);
        }
      });
      await c.step(3, async () => {
        expect(hex(await t.transmit(manageChannelClose(3)))).toBe('9000');
        const open = cardChannels(c, rt, 'no card channel left open');
        if (open) expect(open).toEqual([]);
      });
    } finally {
      await t.close();
    }
  },
);

// Channels 4..19: further CLA coding 0x40 | (ch - 4) (interindustry), 0xC0 | (ch - 4) (STORE DATA)
const FURTHER: readonly (readonly number[])[] = [
  [4, 5, 6, 7],
  [8, 9, 10, 11],
  [12, 13, 14, 15],
  [16, 17, 18, 19],
];
for (const group of FURTHER) {
  const lo = group[0]!;
  const hi = group[group.length - 1]!;
  tc(
    {
      id: `TC_Bridge_Channel.FurtherCla_${String(lo).padStart(2, '0')}to${String(hi).padStart(2, '0')}`,
      title: `channels ${lo}..${hi} with the further CLA coding (SELECT ${hex(Uint8Array.of(isoCla(lo)))}.., STORE DATA ${hex(Uint8Array.of(storeDataCla(lo)))}..) reach the ISD-R`,
      group: GROUP,
      iut: 'bridge',
      purpose: 'Channel numbers 4-19 are coded differently in CLA (b7 set, number - 4 in b4-b1); a bridge that only knows b2-b1 sends them to the wrong channel.',
      requirement: 'ETSI TS 102 221 10.1.1 (CLA 0x40-0x4F / 0xC0-0xCF for channels 4-19); ISO/IEC 7816-4 5.4.2',
      initialConditions: ['the LPA is connected, no channel open'],
      steps: [
        {
          action: `for each channel n in ${lo}..${hi}: MANAGE CHANNEL open 00 70 00 n 00, SELECT ISD-R with CLA 40+(n-4), GetEID with CLA C0+(n-4), MANAGE CHANNEL close 00 70 80 n 00`,
          expected: 'open 9000, SELECT 9000 with the FCI, BF3E...9000 (the card got the command once, channel-normalised), close 9000 with no card channel left open',
        },
      ],
    },
    async (c) => {
      const rt = rig(c);
      const t = await c.setup('LPA connected', () => rt.connectPowered());
      try {
        await c.step(1, async () => {
          for (const n of group) {
            expect(hex(await t.transmit(Uint8Array.of(0x00, 0x70, 0x00, n, 0x00))), `open channel ${n}`).toBe('9000');
            const select = selectAid(n, ISD_R_AID);
            expect(select[0], `SELECT CLA for channel ${n}`).toBe(0x40 | (n - 4));
            const sel = await t.transmit(select);
            expect(swHex(sel), `SELECT on channel ${n}`).toBe('9000');
            const capdu = getEidApdu(n);
            expect(capdu[0]).toBe(0xc0 | (n - 4));
            const x = await relay(c, t, capdu);
            expectEid(c, rt, x.rapdu, `GetEID on channel ${n}`);
            expectFaithful(x);
            expect(hex(await t.transmit(manageChannelClose(n))), `close channel ${n}`).toBe('9000');
            const open = cardChannels(c, rt, 'no card channel left open after each close');
            if (open) expect(open, `card channels after closing ${n}`).toEqual([]);
          }
        });
      } finally {
        await t.close();
      }
    },
  );
}

tc(
  {
    id: 'TC_Bridge_Channel.Disconnect_ReleasesChannels',
    title: 'when the LPA disconnects with channels open, the bridge releases them on the modem and the card',
    group: GROUP,
    iut: 'bridge',
    purpose: 'An LPA that crashes or drops Wi-Fi leaves channels open; if the bridge kept them the card would run out of channels for the next LPA.',
    requirement: 'ISO/IEC 7816-4 11.1.2; 3GPP TS 27.007 8.46 +CCHC; ETSI TS 102 221 11.1.17 (3 channels)',
    initialConditions: ['an LPA opened three channels with the ISD-R selected on each'],
    steps: [
      { action: 'the LPA closes its TCP connection without closing the channels', expected: 'the bridge releases them: the card has only the basic channel open, the modem no session' },
      { action: 'a new LPA opens three channels and reads the EID on each', expected: 'channels 1, 2, 3 and BF3E...9000 on each' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    await c.setup('three channels open by a first LPA, then the connection dropped', async () => {
      const t = await rt.connectPowered();
      for (let i = 0; i < 3; i++) await openChannel(t);
      await t.close();
    });
    await c.step(1, async () => {
      await rt.bridgeIdle();
      // an external bridge gives no idle signal: allow it a moment to act on the disconnect
      if (c.observe('cardState', 'the card has only the basic channel open')) await expect.poll(() => openCardChannels(rt), { timeout: 5000, interval: 20 }).toEqual([]);
      if (c.observe('modemState', 'the modem keeps no session')) await expect.poll(() => modemOf(rt).state().sessions, { timeout: 5000, interval: 20 }).toEqual([]);
    });
    await c.step(2, async () => {
      const t = await rt.connectPowered();
      try {
        for (let i = 1; i <= 3; i++) {
          const { channel } = await openChannel(t);
          expect(channel).toBe(i);
          expectEid(c, rt, await t.transmit(getEidApdu(channel)), `GetEID on channel ${channel}`);
        }
      } finally {
        await t.close();
      }
    });
  },
);
