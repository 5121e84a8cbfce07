// Bridge transport: the bridge under modem faults (fake modem fault switches of
// sim/modem/modem.ts; rig capability modemFaults). Behaviour seen on real modules
// (public logs in lpac's and others' issue trackers, cited per case): URCs interleaved with - even inside - responses (Quectel +QIND, SIMCom
// SMS DONE, 27.007 +CREG/+CGEV), echo coming back after an internal restart despite ATE0,
// a modem restart losing every logical channel session, bare ERROR on +CGLA that succeeds
// on retry, slow answers, bytes lost on the UART, the card pulled out. In each case the
// LPA must get either the card's exact answer or a defined status word (6F00 no precise
// diagnosis, 6881 channel lost), the eUICC must end with a whole profile or none, and the
// bridge must serve the next command / LPA normally.
import { expect } from 'vitest';
import { tc } from '../framework/case.ts';
import { euiccOf } from '../framework/fixtures.ts';
import { useRig } from '../framework/shared-rig.ts';
import type { RigRuntime } from '../framework/rig-runtime.ts';
import type { ApduTransport } from '../../sim/apdu/apdu.ts';
import { ApduError } from '../../sim/lpa/errors.ts';
import { Lpa } from '../../sim/lpa/flows.ts';
import {
  cardAtCommands,
  cleanCard,
  expectEid,
  expectFaithful,
  GET_EID,
  getEidAnswer,
  getEidApdu,
  GROUP,
  hex,
  INS_STORE_DATA,
  manageChannelClose,
  nextLpaWorks,
  openChannel,
  openRawSession,
  relay,
  windowOn,
  withRawSession,
} from './helpers.ts';

const rig = useRig();
const group = GROUP;

// ---------------------------------------------------------------------------------------
// URCs

for (const [variant, urc, origin] of [
  ['QuectelQind', '+QIND: SMS DONE', 'Quectel EC2x AT Commands Manual (+QIND URCs)'],
  ['SimcomSmsDone', 'SMS DONE', 'SIMCom SIM7600 start-up URCs (public log: Xinyuan-LilyGO/T-SIM7600X pull request 41)'],
  ['NetworkCreg', '+CREG: 1', '3GPP TS 27.007 7.2 +CREG'],
  ['PacketCgev', '+CGEV: ME PDN ACT 1', '3GPP TS 27.007 10.1.19 +CGEV'],
] as const) {
  tc(
    {
      id: `TC_Bridge_Modem.UrcMidLine_${variant}`,
      title: `a URC '${urc}' inserted in the middle of the +CGLA/+CSIM answer line does not corrupt the R-APDU`,
      group,
      iut: 'bridge',
      purpose: 'Real modules print URCs whenever they happen, even inside an information response; the bridge must take the URC out and re-join the response.',
      requirement: `${origin}; ITU-T V.250 5.7 (result codes); 3GPP TS 27.007 8.43/8.17 response syntax (a URC may arrive inside a response)`,
      requires: ['modemFaults'],
      initialConditions: ['the LPA has opened a logical channel and selected the ISD-R on it', `the modem will put '${urc}' in the middle of its next response line`],
      steps: [{ action: 'send GetEID', expected: 'BF3E 12 5A 10 <EID> 9000 exactly (the modem did send the URC inside the response)' }],
    },
    async (c) => {
      const rt = rig(c);
      const s = await c.setup('LPA session with the ISD-R selected', () => openRawSession(rt));
      try {
        await c.setup('URC injected into the next response', () => rt.modem!.faults.injectUrcInNextResponse(urc));
        await c.step(1, async () => {
          const x = await relay(c, s.t, getEidApdu(s.channel));
          expect(x.atReceived.join('\n'), 'the modem put the URC in its response').toContain(urc);
          expectEid(c, rt, x.rapdu);
          expectFaithful(x);
        });
      } finally {
        await s.close();
      }
    },
  );
}

/** The modem's full answer text to GetEID (line endings included), to place a URC inside it. */
function getEidResponseText(rt: RigRuntime, command: 'CGLA' | 'CSIM'): string {
  const f = rt.modem!.personality.format;
  const r = getEidAnswer(euiccOf(rt).eid);
  const data = f.hexCase === 'upper' ? r : r.toLowerCase();
  const line = `+${command}:${f.spaceAfterColon ? ' ' : ''}${data.length},"${data}"`;
  return `${f.lineEnding}${line}${f.lineEnding}${f.lineEnding}OK${f.lineEnding}`;
}

tc(
  {
    id: 'TC_Bridge_Modem.Urc_InsideFinalOk',
    title: 'a URC splitting the final result code (O / URC / K) does not lose the answer',
    group,
    iut: 'bridge',
    purpose: 'A URC can land anywhere in the response bytes, also inside "OK"; the bridge must still see the final result code and the +CGLA/+CSIM line.',
    requirement: 'ITU-T V.250 5.7.1 (final result codes); 3GPP TS 27.007 8.43/8.17 (a URC may arrive inside a response)',
    requires: ['modemFaults', 'emulatedEuicc'],
    initialConditions: ['the LPA has opened a logical channel and selected the ISD-R on it', "the modem will put '+QIND: PB DONE' between the O and the K of its next final result code"],
    steps: [{ action: 'send GetEID', expected: 'BF3E 12 5A 10 <EID> 9000 exactly, within the normal time (no timeout)' }],
  },
  async (c) => {
    const rt = rig(c);
    await withRawSession(c, rt, async (s) => {
      await c.setup('URC injected inside the next OK', () => {
        const last = c.trace.events.filter((e) => e.kind === 'at' && e.direction === 'to-modem').pop();
        const command = last && last.kind === 'at' && /^AT\+CSIM=/i.test(last.line) ? 'CSIM' : 'CGLA';
        const text = getEidResponseText(rt, command);
        const le = rt.modem!.personality.format.lineEnding;
        rt.modem!.faults.injectUrcInNextResponse('+QIND: PB DONE', text.length - le.length - 1);
      });
      await c.step(1, async () => {
        const x = await relay(c, s.t, getEidApdu(s.channel));
        expect(x.atReceived.join('\n')).toContain('+QIND: PB DONE');
        expectEid(c, rt, x.rapdu);
        expect(x.ms, 'answered without waiting for a timeout').toBeLessThan(5000);
      });
    });
  },
);

tc(
  {
    id: 'TC_Bridge_Modem.Urc_BeforeResponse',
    title: 'a URC arriving just before the +CGLA/+CSIM answer is not taken for it',
    group,
    iut: 'bridge',
    purpose: 'A URC that arrives after the command was sent but before its answer must be skipped, not parsed as the R-APDU.',
    requirement: 'ITU-T V.250 5.7; 3GPP TS 27.007 8.43/8.17 (a URC may arrive before a response)',
    requires: ['modemFaults'],
    initialConditions: ['the LPA has opened a logical channel and selected the ISD-R on it', "the modem will send '+QIND: PB DONE' right before its next response"],
    steps: [{ action: 'send GetEID', expected: 'BF3E 12 5A 10 <EID> 9000 exactly' }],
  },
  async (c) => {
    const rt = rig(c);
    await withRawSession(c, rt, async (s) => {
      await c.setup('URC injected before the next response', () => rt.modem!.faults.injectUrcInNextResponse('+QIND: PB DONE', 0));
      await c.step(1, async () => {
        const x = await relay(c, s.t, getEidApdu(s.channel));
        expect(x.atReceived.join('\n')).toContain('+QIND: PB DONE');
        expectEid(c, rt, x.rapdu);
        expectFaithful(x);
      });
    });
  },
);

tc(
  {
    id: 'TC_Bridge_Modem.Urc_WhileIdle',
    title: 'URCs between commands (known and unknown to the bridge) do not disturb the next exchange',
    group,
    iut: 'bridge',
    purpose: 'Network registration and PDN events arrive at any time while the bridge waits for the LPA; they must not be taken as the answer to the next command.',
    requirement: '3GPP TS 27.007 7.2 +CREG, 10.1.19 +CGEV; ITU-T V.250 5.7',
    requires: ['modemFaults'],
    initialConditions: ['the LPA has opened a logical channel and selected the ISD-R on it'],
    steps: [
      { action: "the modem sends '+CREG: 5', '+CGEV: ME PDN ACT 1' and '+QIND: SMS DONE' while idle", expected: 'nothing visible to the LPA' },
      { action: 'send GetEID', expected: 'BF3E 12 5A 10 <EID> 9000 exactly' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    await withRawSession(c, rt, async (s) => {
      await c.step(1, async () => {
        for (const u of ['+CREG: 5', '+CGEV: ME PDN ACT 1', '+QIND: SMS DONE']) rt.modem!.faults.emitUrc(u);
        await rt.modem!.settled();
      });
      await c.step(2, async () => {
        const x = await relay(c, s.t, getEidApdu(s.channel));
        expectEid(c, rt, x.rapdu);
        expectFaithful(x);
      });
    });
  },
);

// ---------------------------------------------------------------------------------------
// Restarts

tc(
  {
    id: 'TC_Bridge_Modem.Reboot_EchoBack',
    title: 'after a modem restart (echo back on, +CMEE reset) the next LPA is served and the bridge turns echo off again',
    group,
    iut: 'bridge',
    purpose: 'Quectel modules come back from an internal restart with echo on despite ATE0 (and +CMEE at its default); a bridge that parses the echo as an answer fails every command after it.',
    requirement: 'bridge requirement BR-10; ITU-T V.250 6.2.4 E command (echo back to its default after a restart; public logs: Xinyuan-LilyGO/T-SIM7600X pull request 41, RDY / +CPIN: READY after start-up); 3GPP TS 27.007 9.1 +CMEE',
    requires: ['modemFaults'],
    initialConditions: ['no LPA connected'],
    steps: [
      { action: 'the modem restarts (CFUN=1,1 semantics) and sends its start-up URCs', expected: 'the modem echoes again (its echo setting is back to on)' },
      { action: 'a new LPA opens a channel, selects the ISD-R and reads the EID', expected: 'BF3E 12 5A 10 <EID> 9000' },
      { action: 'look at the modem', expected: 'the bridge sent ATE0 after the restart and echo is off again' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    await c.setup('bridge idle', () => rt.bridgeIdle());
    const w = windowOn(c.trace);
    try {
      await c.step(1, async () => {
        await rt.modem!.faults.reboot();
        expect(rt.modem!.state().echo).toBe(rt.modem!.personality.echoAfterRestart);
      });
      await c.step(2, () => nextLpaWorks(c, rt));
      await c.step(3, () => {
        if (rt.modem!.personality.echoAfterRestart) expect(w.atSent()).toContain('ATE0');
        expect(rt.modem!.state().echo).toBe(false);
      });
    } finally {
      await rt.bridgeIdle();
    }
  },
);

tc(
  {
    id: 'TC_Bridge_Modem.Reboot_ChannelLost',
    title: 'after a modem restart the LPA\'s open channel answers 6881; closing it and opening a new one works',
    group,
    iut: 'bridge',
    purpose: 'A restart drops the card\'s logical channels (and the ES10 session state on them); the LPA must learn it (6881) rather than have its commands silently go to a fresh channel.',
    requirement: 'ISO/IEC 7816-4 table 6 (6881); bridge requirement BR-10 (6881 for a channel lost in a modem restart)',
    requires: ['modemFaults'],
    initialConditions: ['the LPA has opened a logical channel and selected the ISD-R on it'],
    steps: [
      { action: 'the modem restarts; then the LPA sends GetEID on its channel', expected: 'exactly 6881' },
      { action: 'MANAGE CHANNEL close of that channel', expected: '9000' },
      { action: 'MANAGE CHANNEL open, SELECT ISD-R, GetEID', expected: 'BF3E 12 5A 10 <EID> 9000' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const t = await c.setup('LPA connected', () => rt.connectPowered());
    try {
      const { channel } = await c.setup('channel open with the ISD-R selected', () => openChannel(t));
      await c.step(1, async () => {
        await rt.modem!.faults.reboot();
        expect(hex(await t.transmit(getEidApdu(channel)))).toBe('6881');
      });
      await c.step(2, async () => expect(hex(await t.transmit(manageChannelClose(channel)))).toBe('9000'));
      await c.step(3, async () => {
        const s = await openChannel(t);
        expectEid(c, rt, await t.transmit(getEidApdu(s.channel)));
      });
    } finally {
      await t.close();
    }
  },
);

/** An ApduTransport that runs `after` once an exchange has been answered (between two APDUs). */
function tapped(inner: ApduTransport, after: (capdu: Uint8Array, rapdu: Uint8Array) => Promise<void>): ApduTransport {
  return {
    transmit: async (capdu) => {
      const r = await inner.transmit(capdu);
      await after(capdu, r);
      return r;
    },
    reset: () => inner.reset(),
    close: () => inner.close(),
  };
}

tc(
  {
    id: 'TC_Bridge_Modem.RebootMidBpp_AllOrNothing',
    title: 'a modem restart in the middle of the profile elements: the download fails with 6881 and the eUICC has no half profile',
    group,
    iut: 'bridge',
    purpose: 'A modem that restarts during LoadBoundProfilePackage resets the card; the bridge must report it to the LPA (not feed the rest of the BPP to a fresh channel) and the card must end with the whole profile or none.',
    requirement: 'SGP.22 5.7.6 (BPP interrupted: no partial profile, interruption result); ISO/IEC 7816-4 table 6 (6881); bridge requirement BR-10',
    requires: ['modemFaults', 'emulatedEuicc', 'embeddedSmdp', 'sgp26Trust'],
    initialConditions: ['a clean card', 'a released order at the SM-DP+', 'the modem restarts right after the card answered the second 86 (profile element) STORE DATA sequence start'],
    steps: [
      { action: 'download the profile through the bridge', expected: 'the download fails with SW 6881 on a STORE DATA of the BPP' },
      { action: 'read the eUICC state', expected: 'no profile with the ordered ICCID (or the complete one), no BPP in progress' },
      { action: 'a new LPA session reads the EID', expected: 'BF3E 12 5A 10 <EID> 9000' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    await c.setup('clean card', () => cleanCard(rt));
    const order = await c.setup('released order', () => rt.smdp!.es2.order({}));
    const t = await c.setup('LPA connected', () => rt.connectPowered());
    try {
      let segments86 = 0;
      let rebooted = false;
      const transport = tapped(t, async (capdu, rapdu) => {
        if (rebooted || capdu[1] !== INS_STORE_DATA || capdu[3] !== 0x00 || capdu[5] !== 0x86 || hex(rapdu) !== '9000') return;
        if (++segments86 === 2) {
          rebooted = true;
          c.trace.log('fault', 'modem restart after the second 86 sequence started');
          await rt.modem!.faults.reboot();
        }
      });
      await c.step(1, async () => {
        const lpa = await Lpa.open(transport, { http: rt.httpOptions(), es10: { blockSize: rt.env.rig.lpa.storeDataBlockSize } });
        const err = await lpa.downloadProfile(order.activationCode, { notifications: 'leave' }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(rebooted, 'the restart happened during the BPP').toBe(true);
        expect(err, 'the download must fail').toBeInstanceOf(ApduError);
        expect((err as ApduError).swHex).toBe('6881');
      });
      await c.step(2, () => {
        // the restart came before the remaining profile elements were sent: a whole profile is impossible, so none
        expect(rt.euicc!.state.profile(order.iccid), 'the interrupted BPP left no (partial) profile').toBeUndefined();
        expect(rt.euicc!.state.bppInProgress()).toBeUndefined();
      });
      await c.step(3, async () => {
        await t.close();
        await nextLpaWorks(c, rt);
      });
    } finally {
      await t.close();
      await cleanCard(rt);
    }
  },
);

// ---------------------------------------------------------------------------------------
// ERROR, delays, lost bytes

tc(
  {
    id: 'TC_Bridge_Modem.SpuriousError_Retried',
    title: 'a bare ERROR to +CGLA/+CSIM that did not reach the card is retried; the LPA gets the card\'s answer',
    group,
    iut: 'bridge',
    purpose: 'Quectel modules answer a +CGLA with ERROR now and then and succeed on retry (lpac issue 186); the LPA must not see it.',
    requirement: 'lpac issue 186 (Quectel EC20F: bare ERROR to a mid-BPP +CGLA; estkme-group/lpac); ITU-T V.250 5.7.1 ERROR',
    requires: ['modemFaults'],
    initialConditions: ['the LPA has opened a logical channel and selected the ISD-R on it', 'the modem answers every other +CGLA/+CSIM with ERROR without sending the APDU to the card'],
    steps: [
      { action: 'send GetEID', expected: 'BF3E 12 5A 10 <EID> 9000 exactly' },
      { action: 'look at the AT and card hops', expected: 'the same AT command went out twice with an ERROR between; the card got GetEID once' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    await withRawSession(c, rt, async (s) => {
      await c.setup('spurious ERROR on every other APDU command', () => rt.modem!.faults.setSpuriousErrorRate(1, 'all'));
      const x = await c.step(1, async () => {
        const x = await relay(c, s.t, getEidApdu(s.channel));
        expectEid(c, rt, x.rapdu);
        return x;
      });
      await c.step(2, () => {
        const sent = cardAtCommands(x.atSent).filter((l) => l.toUpperCase().includes(hex(GET_EID)));
        expect(sent.length, `AT lines: ${JSON.stringify(x.atSent)}`).toBe(2);
        expect(sent[0]).toBe(sent[1]);
        expect(x.atReceived.some((l) => l.split(/\r?\n/).includes('ERROR'))).toBe(true);
        expectFaithful(x);
      });
    });
  },
);

tc(
  {
    id: 'TC_Bridge_Modem.SpuriousErrorBpp_Download',
    title: 'a download succeeds although the modem answers about a third of the BPP +CGLA/+CSIM commands with ERROR',
    group,
    iut: 'bridge',
    purpose: 'The spurious ERROR of lpac issue 186 mostly hits long BPP loads; retried, the whole profile must install.',
    requirement: 'lpac issue 186 (mid-BPP +CGLA ERROR on Quectel modules); SGP.22 3.1.3 / 5.7.6 LoadBoundProfilePackage',
    requires: ['modemFaults', 'emulatedEuicc', 'embeddedSmdp', 'sgp26Trust'],
    initialConditions: ['a clean card', 'a released order at the SM-DP+', 'the modem answers STORE DATA of a BPP with ERROR at a rate of 0.3 (never twice in a row)'],
    steps: [
      { action: 'download the profile through the bridge', expected: 'the download succeeds with the ordered ICCID' },
      { action: 'check the AT hop and the eUICC', expected: 'ERROR answers did happen; the profile is installed on the card' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    await c.setup('clean card', () => cleanCard(rt));
    const order = await c.setup('released order', () => rt.smdp!.es2.order({}));
    const h = await c.setup('test LPA connected', () => rt.openLpa());
    const w = windowOn(c.trace);
    try {
      await c.setup('spurious ERROR during the BPP', () => rt.modem!.faults.setSpuriousErrorRate(0.3, 'bpp'));
      await c.step(1, async () => {
        const r = await h.lpa.downloadProfile(order.activationCode, { notifications: 'leave' });
        expect(r.iccid).toBe(order.iccid);
      });
      await c.step(2, () => {
        const errors = w.atReceived().filter((l) => l.split(/\r?\n/).includes('ERROR')).length;
        c.trace.log('check', `${errors} ERROR answers during the download`);
        expect(errors).toBeGreaterThan(0);
        expect(rt.euicc!.state.profile(order.iccid)?.iccid).toBe(order.iccid);
      });
    } finally {
      rt.modem?.faults.clear();
      await h.close();
      await cleanCard(rt);
    }
  },
);

tc(
  {
    id: 'TC_Bridge_Modem.SlowResponse_Success',
    title: 'a modem answering after 1 s (below the bridge\'s AT timeout) still gives the LPA the card\'s answer',
    group,
    iut: 'bridge',
    purpose: 'Slow modules (Fibocom: BPP downloads of 26-89 s) must not be cut off by a short timeout.',
    requirement: 'lpac pull request 442 (Fibocom FM350-GL: +CGLA during a BPP takes seconds, silent =? probes; estkme-group/lpac); 3GPP TS 27.007 8.43',
    requires: ['modemFaults'],
    initialConditions: ['the LPA has opened a logical channel and selected the ISD-R on it', 'the modem delays its next response by 1000 ms'],
    steps: [{ action: 'send GetEID', expected: 'BF3E 12 5A 10 <EID> 9000 exactly, after at least 1 s' }],
  },
  async (c) => {
    const rt = rig(c);
    await withRawSession(c, rt, async (s) => {
      await c.setup('next response delayed by 1000 ms', () => rt.modem!.faults.setResponseDelay(1000, 1));
      await c.step(1, async () => {
        const x = await relay(c, s.t, getEidApdu(s.channel));
        expectEid(c, rt, x.rapdu);
        expect(x.ms).toBeGreaterThanOrEqual(950);
        expectFaithful(x);
      });
    });
  },
);

tc(
  {
    id: 'TC_Bridge_Modem.DroppedBytes_6F00',
    title: 'an answer that lost its first bytes on the UART gives 6F00, never a corrupted R-APDU, and the next command works',
    group,
    iut: 'bridge',
    purpose: 'A damaged +CGLA/+CSIM line must not be turned into some R-APDU: the LPA would act on bytes the card never sent.',
    requirement: 'ISO/IEC 7816-4 table 6 (6F00 no precise diagnosis); bridge requirement BR-6 (6F00 for an unparseable +CGLA/+CSIM answer)',
    requires: ['modemFaults'],
    initialConditions: ['the LPA has opened a logical channel and selected the ISD-R on it', 'the next 4 bytes from the modem ("\\r\\n+C") are lost'],
    steps: [
      { action: 'send GetEID', expected: 'exactly 6F00' },
      { action: 'send GetEID again', expected: 'BF3E 12 5A 10 <EID> 9000 exactly' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    await withRawSession(c, rt, async (s) => {
      await c.setup('next 4 bytes towards the bridge dropped', () => rt.modem!.faults.dropNextBytes(4, 'toTe'));
      await c.step(1, async () => expect(hex(await s.t.transmit(getEidApdu(s.channel)))).toBe('6F00'));
      await c.step(2, async () => expectEid(c, rt, await s.t.transmit(getEidApdu(s.channel))));
    });
  },
);

// ---------------------------------------------------------------------------------------
// Card removal

tc(
  {
    id: 'TC_Bridge_Modem.CardRemoved_Reinserted',
    title: 'with the card pulled out the LPA gets 6F00; after reinsertion a new LPA session works',
    group,
    iut: 'bridge',
    purpose: 'A card removed from its slot (or a SIM tray ejected) must give a defined error, and the bridge must work again once the card is back.',
    requirement: '3GPP TS 27.007 9.2.1 (+CME ERROR: 10 SIM not inserted); bridge requirement BR-6 (6F00); ISO/IEC 7816-4 table 6',
    requires: ['modemFaults'],
    initialConditions: ['the LPA has opened a logical channel and selected the ISD-R on it'],
    steps: [
      { action: 'the card is removed from the modem; the LPA sends GetEID', expected: 'exactly 6F00' },
      { action: 'the card is inserted again; the LPA disconnects and a new LPA opens a session and reads the EID', expected: 'BF3E 12 5A 10 <EID> 9000' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const s = await c.setup('LPA session with the ISD-R selected', () => openRawSession(rt));
    let inserted = false;
    try {
      await c.step(1, async () => {
        await rt.modem!.faults.removeCard();
        expect(hex(await s.t.transmit(getEidApdu(s.channel)))).toBe('6F00');
      });
      await c.step(2, async () => {
        await rt.modem!.faults.insertCard();
        inserted = true;
        await s.close();
        await nextLpaWorks(c, rt);
      });
    } finally {
      if (!inserted) await rt.modem?.faults.insertCard();
      await s.close();
    }
  },
);

tc(
  {
    id: 'TC_Bridge_Modem.CardLostMidCommand_6F00',
    title: 'the card vanishing during a command gives 6F00; once it is back a new LPA session works',
    group,
    iut: 'bridge',
    purpose: 'A card that stops answering in the middle of an APDU (contact loss, power glitch) leaves the modem with a SIM failure; the LPA must get a defined error and a later session must work.',
    requirement: '3GPP TS 27.007 9.2.1 (+CME ERROR: 13 SIM failure); bridge requirement BR-6 (6F00); ISO/IEC 7816-4 table 6',
    requires: ['modemFaults', 'emulatedEuicc'],
    initialConditions: ['the LPA has opened a logical channel and selected the ISD-R on it', 'the card will be pulled out when the next APDU reaches it'],
    steps: [
      { action: 'send GetEID', expected: 'exactly 6F00' },
      { action: 'the card comes back; the LPA disconnects; a new LPA opens a session and reads the EID', expected: 'BF3E 12 5A 10 <EID> 9000' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const s = await c.setup('LPA session with the ISD-R selected', () => openRawSession(rt));
    try {
      await c.setup('card removal at the next APDU', () => rt.euicc!.faults.removeCard({ atCommand: 1 }));
      await c.step(1, async () => expect(hex(await s.t.transmit(getEidApdu(s.channel)))).toBe('6F00'));
      await c.step(2, async () => {
        rt.euicc!.faults.insertCard();
        await s.close();
        await nextLpaWorks(c, rt);
      });
    } finally {
      rt.euicc?.faults.clear();
      if (rt.euicc && !rt.euicc.card.isPresent) rt.euicc.faults.insertCard();
      await s.close();
    }
  },
);
