// Bridge transport: the LPA link itself (vsmartcard vpcd power on/off, reset, GET ATR;
// one LPA at a time), ISD-R / ECASD selection on the basic and on a logical channel with
// the FCI passed intact (GlobalPlatform 11.9 SELECT, SGP.22 ISD-R FCI with the SVN in E0),
// and the bridge's access policy: only the ISD-R and ECASD may be selected (a USIM, ISIM
// or unknown AID is refused with 6A82 before any AT command), RUN GSM ALGORITHM and
// AUTHENTICATE (INS 88/89) are refused with 6982, so an LPA Bridge cannot be used to run
// network authentication with the enabled profile's keys.
import { expect } from 'vitest';
import { tc } from '../framework/case.ts';
import { euiccOf, modemOf } from '../framework/fixtures.ts';
import { useRig } from '../framework/shared-rig.ts';
import { parseAtr } from '../../sim/apdu/atr.ts';
import { hexToBytes, toHex } from '../../sim/bytes.ts';
import { responseSw } from '../../sim/apdu/apdu.ts';
import {
  cardAtCommands,
  ECASD_AID,
  expectEid,
  expectFaithful,
  expectNoCardAccess,
  getEidApdu,
  GROUP,
  hex,
  ISD_R_AID,
  openChannel,
  relay,
  selectAid,
  sleep,
  swHex,
  windowOn,
} from './helpers.ts';
import type { RigRuntime } from '../framework/rig-runtime.ts';

const rig = useRig();
const group = GROUP;

tc(
  {
    id: 'TC_Bridge_vpcd.PowerOn_ATR',
    title: 'the bridge answers power-on and GET ATR with an ATR advertising T=0',
    group,
    iut: 'bridge',
    purpose: 'An LPA (or pcscd through vpcd) sees a card in the reader as soon as it connects.',
    requirement: 'vsmartcard virtualsmartcard documentation (vpcd protocol: 2-byte length, control bytes); ISO/IEC 7816-3 8.2 ATR',
    initialConditions: ['the bridge is running and connected to the modem'],
    steps: [
      { action: 'connect to the bridge over vpcd and send power-on then GET ATR (04)', expected: 'an ATR frame comes back' },
      { action: 'parse the ATR', expected: 'valid TCK, protocol T=0 offered (lpac\'s pcsc driver insists on T=0)' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const t = await c.setup('LPA connected to the bridge', async () => {
      return rt.connectLpa();
    });
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
    id: 'TC_Bridge_vpcd.GetAtr_Stable',
    title: 'GET ATR, reset and power off/on all give the same ATR',
    group,
    iut: 'bridge',
    purpose: 'pcscd and LPAs identify the reader\'s card by its ATR; an ATR that changes between resets looks like a card swap.',
    requirement: 'vsmartcard virtualsmartcard documentation (vpcd protocol: 00 power off, 01 power on, 02 reset, 04 GET ATR); ISO/IEC 7816-3 8.2',
    initialConditions: ['the LPA is connected to the bridge'],
    steps: [
      { action: 'GET ATR (04) twice', expected: 'the same bytes both times' },
      { action: 'reset (02) then GET ATR', expected: 'the same bytes' },
      { action: 'power off (00), power on (01), GET ATR', expected: 'the same bytes, a valid ATR (TCK correct)' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const t = await c.setup('LPA connected', () => rt.connectPowered());
    try {
      const atr = await c.step(1, async () => {
        const a = await t.getAtr();
        expect(hex(await t.getAtr())).toBe(hex(a));
        return a;
      });
      await c.step(2, async () => expect(hex(await t.reset())).toBe(hex(atr)));
      await c.step(3, async () => {
        await t.powerOff();
        await t.powerOn();
        const again = await t.getAtr();
        expect(hex(again)).toBe(hex(atr));
        expect(() => parseAtr(again)).not.toThrow();
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
    iut: 'bridge',
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
    const t = await c.setup('LPA connected', () => rt.connectPowered());
    try {
      const ch = await c.setup('channel open with the ISD-R selected', async () => {
        const open = await t.transmit(hexToBytes('0070000001'));
        expect(responseSw(open)).toBe(0x9000);
        const n = open[0]!;
        const sel = await t.transmit(hexToBytes(`0${n}A4040010${ISD_R_AID}00`));
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
    id: 'TC_Bridge_vpcd.PowerOff_ClosesChannels',
    title: 'power off from the LPA releases its channels on the modem and the card; the old channel answers 6881 after power on',
    group,
    iut: 'bridge',
    purpose: 'pcscd powers the card off when the last application disconnects; the channels of that session must not stay open on the card.',
    requirement: 'vsmartcard vpcd protocol (00 power off); ISO/IEC 7816-4 11.1.2; 3GPP TS 27.007 8.46 +CCHC',
    initialConditions: ['the LPA has opened a logical channel and selected the ISD-R on it'],
    steps: [
      { action: 'power off (00), power on (01), GET ATR (04)', expected: 'the ATR; the card has only its basic channel open and the modem no session' },
      { action: 'GetEID on the channel opened before', expected: 'exactly 6881, nothing sent to the card' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const t = await c.setup('LPA connected', () => rt.connectPowered());
    try {
      const { channel } = await c.setup('channel open with the ISD-R selected', () => openChannel(t));
      await c.step(1, async () => {
        await t.powerOff();
        await t.powerOn();
        expect((await t.getAtr()).length).toBeGreaterThan(2);
        if (c.observe('cardState', 'the card has only its basic channel open')) expect(euiccOf(rt).card.openChannels()).toEqual([0]);
        if (c.observe('modemState', 'the modem keeps no session')) expect(modemOf(rt).state().sessions).toEqual([]);
      });
      await c.step(2, async () => {
        const x = await relay(c, t, getEidApdu(channel));
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
    id: 'TC_Bridge_vpcd.SecondLpa_NoCardAccess',
    title: 'a second LPA connecting while one is active is refused or queued; it gets no card access and the first keeps working',
    group,
    iut: 'bridge',
    purpose: 'APDUs of two LPAs must never interleave on the card (one would break the other\'s STORE DATA chains and RSP session).',
    requirement: 'bridge requirement BR-8 (a second LPA refused or queued, never interleaved); GlobalPlatform Card Spec 11.11 (chains per channel)',
    initialConditions: ['a first LPA is connected with a channel open and the ISD-R selected'],
    steps: [
      { action: 'connect a second LPA and ask it for the ATR (reset + GET ATR)', expected: 'its connection is closed (refused), or it gets no answer while the first is active (queued)' },
      { action: 'look at the AT hop during that time', expected: 'no AT command was sent for the second LPA' },
      { action: 'GetEID from the first LPA', expected: 'BF3E...9000' },
      { action: 'if queued: the first LPA disconnects', expected: 'the second gets its ATR and can read the EID' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const first = await c.setup('first LPA connected', () => rt.connectPowered());
    let second: Awaited<ReturnType<RigRuntime['connectLpa']>> | undefined;
    try {
      const { channel } = await c.setup('channel open with the ISD-R selected', () => openChannel(first));
      const w = windowOn(c.trace);
      const { outcome, pending } = await c.step(1, async () => {
        second = await rt.connectLpa({ commandTimeoutMs: 20_000, whileBusy: true });
        const pending = second.reset().then(
          () => 'answered' as const,
          () => 'refused' as const,
        );
        const outcome = await Promise.race([pending, sleep(1000).then(() => 'waiting' as const)]);
        c.trace.log('check', `second LPA: ${outcome}`);
        expect(outcome, 'the second LPA must not be served while the first is active').not.toBe('answered');
        return { outcome, pending };
      });
      await c.step(2, () => {
        if (c.observe('atLines', 'no AT command was sent for the second LPA')) expect(cardAtCommands(w.atSent())).toEqual([]);
      });
      await c.step(3, async () => expectEid(c, rt, await first.transmit(getEidApdu(channel))));
      await c.step(4, async () => {
        if (outcome !== 'waiting') return;
        await first.close();
        expect(await pending).toBe('answered');
        const s2 = await openChannel(second!);
        expectEid(c, rt, await second!.transmit(getEidApdu(s2.channel)));
      });
    } finally {
      await first.close();
      await second?.close();
    }
  },
);

// ---------------------------------------------------------------------------------------
// ISD-R / ECASD selection

/** 6F { 84 <aid>, A5 {...}, [E0 { 82 03 <SVN> }] } with the given AID (FCI of GP 11.9.3). */
function expectFci(fci: Uint8Array, aidHex: string): void {
  const h = hex(fci);
  expect(h.slice(0, 2), 'FCI template 6F').toBe('6F');
  expect(fci[1], 'FCI length').toBe(fci.length - 2);
  expect(h.slice(4, 8 + aidHex.length), 'DF name 84 first').toBe(`84${(aidHex.length / 2).toString(16).toUpperCase().padStart(2, '0')}${aidHex}`);
}

tc(
  {
    id: 'TC_Bridge_ISD-R.Select_BasicChannel',
    title: 'SELECT ISD-R on the basic channel returns the card\'s FCI intact and ES10 works there',
    group,
    iut: 'bridge',
    purpose: 'Some LPAs (and lpac\'s basic-channel mode) talk to the ISD-R on channel 0 through +CSIM.',
    requirement: 'GlobalPlatform 11.9 SELECT (FCI 6F/84/A5); SGP.22 2.2.3 ISD-R AID, 5.7.20 GetEID; 3GPP TS 27.007 8.17 +CSIM',
    initialConditions: ['the LPA is connected, no channel open'],
    steps: [
      { action: 'SELECT A0000005591010FFFFFFFF8900000100 with CLA 00', expected: 'an FCI 6F { 84 <ISD-R AID> ... } and 9000, identical to the card\'s answer' },
      { action: 'GetEID with CLA 80', expected: 'BF3E 12 5A 10 <EID> 9000' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const t = await c.setup('LPA connected', () => rt.connectPowered());
    try {
      await c.step(1, async () => {
        const x = await relay(c, t, selectAid(0, ISD_R_AID));
        expect(swHex(x.rapdu)).toBe('9000');
        expectFci(x.rapdu.subarray(0, x.rapdu.length - 2), ISD_R_AID);
        expectFaithful(x);
      });
      await c.step(2, async () => {
        const x = await relay(c, t, getEidApdu(0));
        expectEid(c, rt, x.rapdu);
        expectFaithful(x);
      });
    } finally {
      await t.close();
    }
  },
);

tc(
  {
    id: 'TC_Bridge_ISD-R.Select_FciIntact',
    title: 'SELECT ISD-R on a logical channel returns the card\'s own FCI, SVN (E0 82) included',
    group,
    iut: 'bridge',
    purpose: 'The LPA reads the eUICC\'s SGP.22 version from the ISD-R FCI; a bridge that answers its own SELECT (or drops the FCI) hides it.',
    requirement: 'GlobalPlatform 11.9.3 FCI; SGP.22 ISDRProprietaryApplicationTemplate E0 { 82 SVN }; 3GPP TS 27.007 8.45 +CCHO',
    initialConditions: ['the LPA is connected, no channel open'],
    steps: [
      { action: 'MANAGE CHANNEL open, then SELECT ISD-R (CLA 0n, Le 00) on it', expected: '9000 with 6F { 84 <ISD-R AID> ... E0 { 82 03 <SVN> } }' },
      { action: 'compare with the card hop', expected: 'the LPA\'s SELECT reached the card (channel normalised) and the FCI is byte for byte the card\'s answer' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const t = await c.setup('LPA connected', () => rt.connectPowered());
    try {
      const x = await c.step(1, async () => {
        const open = await t.transmit(hexToBytes('0070000001'));
        expect(swHex(open)).toBe('9000');
        const x = await relay(c, t, selectAid(open[0]!, ISD_R_AID));
        expect(swHex(x.rapdu)).toBe('9000');
        const fci = x.rapdu.subarray(0, x.rapdu.length - 2);
        expectFci(fci, ISD_R_AID);
        if (c.observe('cardState', "the card's SVN in the FCI")) {
          const svn = euiccOf(rt).options.svn.split('.').map((n) => Number(n).toString(16).padStart(2, '0').toUpperCase()).join('');
          expect(hex(fci)).toContain(`E0058203${svn}`);
        } else expect(hex(fci)).toMatch(/E0058203[0-9A-F]{6}/);
        return x;
      });
      await c.step(2, () => expectFaithful(x, { once: false }));
    } finally {
      await t.close();
    }
  },
);

tc(
  {
    id: 'TC_Bridge_ISD-R.Select_Ecasd',
    title: 'the ECASD may be selected on a logical channel and its FCI reaches the LPA intact',
    group,
    iut: 'bridge',
    purpose: 'The ECASD (eUICC certificates) is the other application an LPA may need; it is on the allow-list.',
    requirement: 'SGP.22 2.2.3 (ECASD AID A0000005591010FFFFFFFF8900000200); GlobalPlatform 11.9',
    initialConditions: ['the LPA is connected, no channel open'],
    steps: [{ action: 'MANAGE CHANNEL open, SELECT the ECASD on it', expected: '9000 with 6F { 84 <ECASD AID> ... }, identical to the card\'s answer' }],
  },
  async (c) => {
    const rt = rig(c);
    const t = await c.setup('LPA connected', () => rt.connectPowered());
    try {
      await c.step(1, async () => {
        const open = await t.transmit(hexToBytes('0070000001'));
        expect(swHex(open)).toBe('9000');
        const x = await relay(c, t, selectAid(open[0]!, ECASD_AID));
        expect(swHex(x.rapdu)).toBe('9000');
        expectFci(x.rapdu.subarray(0, x.rapdu.length - 2), ECASD_AID);
        expectFaithful(x, { once: false });
      });
    } finally {
      await t.close();
    }
  },
);

tc(
  {
    id: 'TC_Bridge_ISD-R.Select_Again',
    title: 'selecting the ISD-R again on a channel already bound to it goes to the card and ES10 keeps working',
    group,
    iut: 'bridge',
    purpose: 'LPAs re-SELECT the ISD-R to start over (e.g. after an error); the second SELECT must reach the card on the same channel, not open a new session.',
    requirement: 'GlobalPlatform 11.9 SELECT; ISO/IEC 7816-4 7.1.1',
    initialConditions: ['the LPA has opened a channel and selected the ISD-R on it'],
    steps: [
      { action: 'SELECT the ISD-R again on the same channel', expected: 'the same FCI and 9000; the card got that SELECT once; no +CCHO was sent' },
      { action: 'GetEID on that channel', expected: 'BF3E...9000' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const t = await c.setup('LPA connected', () => rt.connectPowered());
    try {
      const s = await c.setup('channel open with the ISD-R selected', () => openChannel(t));
      await c.step(1, async () => {
        const x = await relay(c, t, selectAid(s.channel, ISD_R_AID));
        expect(hex(x.rapdu)).toBe(hex(s.select));
        expectFaithful(x);
        if (c.observe('atLines', 'no +CCHO was sent')) expect(x.atSent.filter((l) => /^AT\+CCHO=/i.test(l))).toEqual([]);
      });
      await c.step(2, async () => expectEid(c, rt, await t.transmit(getEidApdu(s.channel))));
    } finally {
      await t.close();
    }
  },
);

// ---------------------------------------------------------------------------------------
// Access policy

const USIM_AID = 'A0000000871002FFFFFFFF8907090000';
const ISIM_AID = 'A0000000871004FFFFFFFF8907090000';
const GP_ISD_AID = 'A000000151000000';

for (const [variant, what, aid] of [
  ['SelectUsim', 'the USIM (A0000000871002...)', USIM_AID],
  ['SelectIsim', 'the ISIM (A0000000871004...)', ISIM_AID],
  ['SelectUnknownAid', 'an AID outside the allow-list (GP ISD A000000151000000)', GP_ISD_AID],
] as const) {
  tc(
    {
      id: `TC_Bridge_Policy.${variant}_Refused`,
      title: `SELECT of ${what} on a logical channel is refused with 6A82 before any AT command`,
      group,
      iut: 'bridge',
      purpose: 'An LPA Bridge exposes the eUICC management applications only; a network application (USIM/ISIM) or any other AID must not be reachable from the network side of the device.',
      requirement: 'bridge requirement BR-3 (6A82 for a SELECT by AID outside the ISD-R and ECASD, no AT); ISO/IEC 7816-4 table 6 (6A82); SGP.22 2.2.3 (ISD-R and ECASD AIDs)',
      initialConditions: ['the LPA is connected and opened a logical channel'],
      steps: [
        { action: `SELECT ${aid} (P1 04) on that channel`, expected: 'exactly 6A82' },
        { action: 'look at the AT and card hops', expected: 'no +CCHO/+CGLA/+CSIM was sent and the card saw no APDU' },
      ],
    },
    async (c) => {
      const rt = rig(c);
      const t = await c.setup('LPA connected', () => rt.connectPowered());
      try {
        const ch = await c.setup('channel open', async () => {
          const r = await t.transmit(hexToBytes('0070000001'));
          expect(swHex(r)).toBe('9000');
          return r[0]!;
        });
        const x = await c.step(1, async () => {
          const x = await relay(c, t, selectAid(ch, aid));
          expect(hex(x.rapdu)).toBe('6A82');
          return x;
        });
        await c.step(2, () => expectNoCardAccess(x));
      } finally {
        await t.close();
      }
    },
  );
}

tc(
  {
    id: 'TC_Bridge_Policy.SelectUsimBasic_Refused',
    title: 'SELECT of the USIM on the basic channel is refused with 6A82 without +CSIM',
    group,
    iut: 'bridge',
    purpose: 'The basic channel is the one the modem itself uses for the network: an LPA must not change its selection.',
    requirement: 'bridge requirement BR-3 (6A82, no AT); 3GPP TS 27.007 8.17 +CSIM',
    initialConditions: ['the LPA is connected, no channel open'],
    steps: [
      { action: `SELECT ${USIM_AID} with CLA 00`, expected: 'exactly 6A82' },
      { action: 'look at the AT and card hops', expected: 'no +CSIM/+CCHO/+CGLA, no APDU at the card' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const t = await c.setup('LPA connected', () => rt.connectPowered());
    try {
      const x = await c.step(1, async () => {
        const x = await relay(c, t, selectAid(0, USIM_AID));
        expect(hex(x.rapdu)).toBe('6A82');
        return x;
      });
      await c.step(2, () => expectNoCardAccess(x));
    } finally {
      await t.close();
    }
  },
);

const RAND = '00112233445566778899AABBCCDDEEFF';
const AUTN = 'FFEEDDCCBBAA99887766554433221100';

for (const [variant, title, apdu, logical] of [
  ['RunGsmAlgorithm', 'RUN GSM ALGORITHM (A0 88, GSM class) on the basic channel', `A088000010${RAND}`, false],
  ['AuthenticateBasic', 'AUTHENTICATE (00 88, 3G context) on the basic channel', `0088008122${'10' + RAND}${'10' + AUTN}00`, false],
  ['Authenticate89', 'AUTHENTICATE with INS 89 on the basic channel', `0089008122${'10' + RAND}${'10' + AUTN}00`, false],
  ['AuthenticateLogical', 'AUTHENTICATE (INS 88) on the LPA\'s ISD-R channel', `0088008122${'10' + RAND}${'10' + AUTN}00`, true],
] as const) {
  tc(
    {
      id: `TC_Bridge_Policy.${variant}_Refused`,
      title: `${title} is refused with 6982 before any AT command`,
      group,
      iut: 'bridge',
      purpose: 'Network authentication commands computed with the profile\'s Ki/OPc must never be reachable through an LPA Bridge (a remote party could clone the subscription\'s authentication).',
      requirement: 'bridge requirement BR-4 (6982 for INS 88/89, no AT); 3GPP TS 31.102 7.1.2 AUTHENTICATE; 3GPP TS 51.011 9.2.16 RUN GSM ALGORITHM; ISO/IEC 7816-4 table 6 (6982)',
      initialConditions: logical ? ['the LPA has opened a channel and selected the ISD-R on it'] : ['the LPA is connected, no channel open'],
      steps: [
        { action: `send ${apdu.slice(0, 10)}...${logical ? ' with the channel bits of the LPA\'s channel' : ''}`, expected: 'exactly 6982' },
        { action: 'look at the AT and card hops', expected: 'no +CSIM/+CCHO/+CGLA, no APDU at the card' },
      ],
    },
    async (c) => {
      const rt = rig(c);
      const t = await c.setup('LPA connected', () => rt.connectPowered());
      try {
        const ch = logical ? (await c.setup('channel open with the ISD-R selected', () => openChannel(t))).channel : 0;
        const bytes = hexToBytes(apdu);
        if (logical) bytes[0] = bytes[0]! | ch;
        const x = await c.step(1, async () => {
          const x = await relay(c, t, bytes);
          expect(hex(x.rapdu)).toBe('6982');
          return x;
        });
        await c.step(2, () => expectNoCardAccess(x));
      } finally {
        await t.close();
      }
    },
  );
}
