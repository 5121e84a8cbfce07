// Bridge transport on a rig variant (one rig for this file, to keep start-up time down):
// - the SM-DP+ cuts the profile into '86' segments of 1500 plaintext bytes (osmocom-style
//   segments over 1 KB, as the osmocom SM-DP+ emits them), so one STORE DATA sequence of the BPP spans a dozen
//   and more blocks;
// - the built-in bridge queues a second LPA instead of refusing it (bridge requirement BR-8);
// - the built-in bridge gives up on an AT command after 1.2 s (ModemSessionOptions
//   apduTimeoutMs), so the time-out cases end quickly: a modem that does not answer in
//   time must give the LPA 6F00 within a bounded time, and the bridge must recover.
// Parts of the variant that only the built-in bridge takes are checked for applicability.
import { expect } from 'vitest';
import { tc } from '../framework/case.ts';
import { useRig } from '../framework/shared-rig.ts';
import type { RigRuntime } from '../framework/rig-runtime.ts';
import type { SuiteEnv } from '../framework/env.ts';
import { concatBytes } from '../../sim/bytes.ts';
import {
  cardAtCommands,
  cleanCard,
  expectEid,
  expectFaithful,
  getEidApdu,
  GROUP,
  hex,
  INS_STORE_DATA,
  nextLpaWorks,
  normalised,
  openChannel,
  openRawSession,
  relay,
  sleep,
  windowOn,
  withRawSession,
} from './helpers.ts';

const AT_TIMEOUT_MS = 1200;
const SEGMENT_SIZE = 1500;

const rig = useRig({
  smdp: { segmentSize: SEGMENT_SIZE },
  bridge: { secondLpa: 'queue', session: { apduTimeoutMs: AT_TIMEOUT_MS } },
});
const group = GROUP;

const builtinOnly = (env: SuiteEnv): true | string => (env.rig.bridge.kind === 'builtin' ? true : 'needs the built-in bridge configured by this file (AT timeout 1.2 s, second LPA queued)');

/** ES10 commands (complete STORE DATA sequences) the LPA sent, from the lpa-bridge hop. */
function storeDataSequences(events: RigRuntime['trace']['events']): Uint8Array[] {
  const out: Uint8Array[] = [];
  let parts: Uint8Array[] = [];
  for (const e of events) {
    if (e.kind !== 'apdu' || e.hop !== 'lpa-bridge' || e.command[1] !== INS_STORE_DATA || e.command.length < 6) continue;
    const c = e.command;
    if (c[3] === 0x00) parts = [];
    parts.push(c.subarray(5, 5 + c[4]!));
    if (c[2] === 0x91) out.push(concatBytes(...parts));
  }
  return out;
}

tc(
  {
    id: 'TC_Bridge_BPP.Segment1500_Download',
    title: 'a profile whose BPP has 86 segments of 1500 plaintext bytes downloads through the bridge; every STORE DATA block reaches the card once, in order',
    group,
    iut: 'bridge',
    purpose: 'Some SM-DP+s (osmocom) emit 86 segments over 1 KB; each is one STORE DATA sequence of a dozen and more blocks that the bridge must carry unchanged.',
    requirement: 'SGP.22 2.5.5 / 5.7.6 (BPP loaded as separate STORE DATA sequences, 86 segments), GlobalPlatform Card Spec 11.11 (86 segments of 1036 bytes or more, as the osmocom SM-DP+ emits them)',
    requires: ['emulatedEuicc', 'embeddedSmdp', 'sgp26Trust'],
    initialConditions: ['a clean card', 'the SM-DP+ segments profiles in 1500-byte pieces', 'a released order at the SM-DP+'],
    steps: [
      { action: 'download the profile through the bridge (STORE DATA blocks of the rig\'s block size)', expected: 'success with the ordered ICCID; the profile is on the card' },
      { action: 'look at the 86 sequences the LPA sent', expected: 'at least one 86 segment of more than 1500 bytes' },
      { action: 'compare the STORE DATA blocks of the lpa-bridge and modem-card hops', expected: 'the same blocks (channel normalised), each once, in the same order' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    await c.setup('clean card', () => cleanCard(rt));
    const order = await c.setup('released order', () => rt.smdp!.es2.order({}));
    const h = await c.setup('test LPA connected', () => rt.openLpa());
    const w = windowOn(c.trace);
    try {
      await c.step(1, async () => {
        const r = await h.lpa.downloadProfile(order.activationCode, { notifications: 'leave' });
        expect(r.iccid).toBe(order.iccid);
        expect(rt.euicc!.state.profile(order.iccid)?.iccid).toBe(order.iccid);
      });
      await c.step(2, () => {
        const seg86 = storeDataSequences(c.trace.events).filter((s) => s[0] === 0x86);
        c.trace.log('check', `86 sequences: ${seg86.map((s) => s.length).join(', ')} bytes`);
        expect(Math.max(...seg86.map((s) => s.length))).toBeGreaterThan(SEGMENT_SIZE);
      });
      await c.step(3, () => {
        const lpa = c.trace.events.flatMap((e) => (e.kind === 'apdu' && e.hop === 'lpa-bridge' && e.command[1] === INS_STORE_DATA ? [hex(normalised(e.command))] : []));
        const card = w.card().flatMap((e) => (e.command[1] === INS_STORE_DATA ? [hex(normalised(e.command))] : []));
        expect(card.length, 'STORE DATA blocks at the card').toBe(lpa.length);
        expect(card).toEqual(lpa);
      });
    } finally {
      await h.close();
      await cleanCard(rt);
    }
  },
);

tc(
  {
    id: 'TC_Bridge_vpcd.SecondLpa_Queued',
    title: 'a queued second LPA gets no card access until the first leaves, then it is served',
    group,
    iut: 'bridge',
    purpose: 'A bridge may queue a second LPA instead of refusing it; it must then hold it completely (no APDU, not even the ATR) until the first disconnects.',
    requirement: 'bridge requirement BR-8 (a queued second LPA is served when the first leaves); GlobalPlatform Card Spec 11.11 (chains per channel must not interleave)',
    applicable: builtinOnly,
    initialConditions: ['the bridge queues a second LPA', 'a first LPA is connected with a channel open and the ISD-R selected'],
    steps: [
      { action: 'connect a second LPA and ask it for the ATR', expected: 'no answer while the first is active' },
      { action: 'GetEID from the first LPA; look at the AT hop', expected: 'BF3E...9000; no AT command for the second LPA' },
      { action: 'the first LPA disconnects', expected: 'the second LPA gets its ATR, opens a channel and reads the EID' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const first = await c.setup('first LPA connected', () => rt.connectPowered());
    let second: Awaited<ReturnType<RigRuntime['connectLpa']>> | undefined;
    try {
      const { channel } = await c.setup('channel open with the ISD-R selected', () => openChannel(first));
      const w = windowOn(c.trace);
      const { pending } = await c.step(1, async () => {
        second = await rt.connectLpa({ commandTimeoutMs: 20_000, whileBusy: true });
        const pending = second.reset().then(
          () => 'answered' as const,
          () => 'refused' as const,
        );
        const outcome = await Promise.race([pending, sleep(800).then(() => 'waiting' as const)]);
        if (outcome === 'refused') c.notApplicable('the bridge refuses a second LPA instead of queueing it');
        expect(outcome).toBe('waiting');
        return { pending }; // wrapped: an async step returning the promise itself would wait for it
      });
      await c.step(2, async () => {
        expectEid(c, rt, await first.transmit(getEidApdu(channel)));
        if (c.observe('atLines', "only the first LPA's GetEID reached the modem")) expect(cardAtCommands(w.atSent()).length, "only the first LPA's GetEID reached the modem").toBe(1);
      });
      await c.step(3, async () => {
        await first.close();
        expect(await pending).toBe('answered');
        const s2 = await openChannel(second!);
        expectEid(c, rt, await second!.transmit(getEidApdu(s2.channel)), 'GetEID of the second LPA');
      });
    } finally {
      await first.close();
      await second?.close();
    }
  },
);

tc(
  {
    id: 'TC_Bridge_Modem.Timeout_6F00Bounded',
    title: 'a modem that does not answer within the bridge\'s AT timeout gives the LPA 6F00 in bounded time; the next LPA is served',
    group,
    iut: 'bridge',
    purpose: 'lpac\'s AT driver waited forever for an answer (lpac pull request 448 bounds it); a bridge must not: the LPA needs an answer, and a late modem answer must not be taken for the next command\'s.',
    requirement: 'bridge requirement BR-6 (6F00: no final result code in time); ISO/IEC 7816-4 table 6; ITU-T V.250 5.7.1',
    requires: ['modemFaults'],
    applicable: builtinOnly,
    initialConditions: [`the bridge's AT timeout is ${AT_TIMEOUT_MS} ms`, 'the LPA has opened a logical channel and selected the ISD-R on it', 'the modem delays its next answer by 2200 ms'],
    steps: [
      { action: 'send GetEID', expected: `exactly 6F00, after the AT timeout and before the modem's late answer (${AT_TIMEOUT_MS} ms <= t < 2200 ms)` },
      { action: 'the LPA disconnects; a new LPA opens a session and reads the EID', expected: 'BF3E 12 5A 10 <EID> 9000 (the late answer was not taken for it)' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    await withRawSession(c, rt, async (s) => {
      await c.setup('next modem answer delayed by 2200 ms', () => rt.modem!.faults.setResponseDelay(2200, 1));
      await c.step(1, async () => {
        const x = await relay(c, s.t, getEidApdu(s.channel));
        expect(hex(x.rapdu)).toBe('6F00');
        expect(x.ms).toBeGreaterThanOrEqual(AT_TIMEOUT_MS - 50);
        expect(x.ms).toBeLessThan(2200);
      });
      await c.step(2, async () => {
        await s.close();
        await nextLpaWorks(c, rt);
      });
    });
  },
);

tc(
  {
    id: 'TC_Bridge_Modem.DelayBelowTimeout_Success',
    title: 'a modem answer delayed by 600 ms (below the 1.2 s AT timeout) reaches the LPA unchanged',
    group,
    iut: 'bridge',
    purpose: 'The AT timeout must only cut off modems that really stopped answering, not slow ones.',
    requirement: 'lpac pull request 442 (slow +CGLA answers of Fibocom FM350-GL); 3GPP TS 27.007 8.43',
    requires: ['modemFaults'],
    applicable: builtinOnly,
    initialConditions: [`the bridge's AT timeout is ${AT_TIMEOUT_MS} ms`, 'the LPA has opened a logical channel and selected the ISD-R on it', 'the modem delays its next answer by 600 ms'],
    steps: [{ action: 'send GetEID', expected: 'BF3E 12 5A 10 <EID> 9000 exactly, after at least 600 ms' }],
  },
  async (c) => {
    const rt = rig(c);
    await withRawSession(c, rt, async (s) => {
      await c.setup('next modem answer delayed by 600 ms', () => rt.modem!.faults.setResponseDelay(600, 1));
      await c.step(1, async () => {
        const x = await relay(c, s.t, getEidApdu(s.channel));
        expectEid(c, rt, x.rapdu);
        expect(x.ms).toBeGreaterThanOrEqual(550);
        expectFaithful(x);
      });
    });
  },
);

tc(
  {
    id: 'TC_Bridge_Modem.CommandLost_6F00',
    title: 'a command line whose "AT+" was lost on the UART (the modem stays silent) gives 6F00; the next command works',
    group,
    iut: 'bridge',
    purpose: 'Bytes lost towards the modem leave it silent; the bridge must time out, answer 6F00, resynchronise and carry on.',
    requirement: 'bridge requirement BR-6 (6F00 when the modem does not answer in time); ITU-T V.250 5.2.1 (command line prefix AT)',
    requires: ['modemFaults'],
    applicable: builtinOnly,
    initialConditions: [`the bridge's AT timeout is ${AT_TIMEOUT_MS} ms`, 'the LPA has opened a logical channel and selected the ISD-R on it', 'the next 3 bytes towards the modem are lost'],
    steps: [
      { action: 'send GetEID', expected: 'exactly 6F00 within 3 s; the card did not receive it' },
      { action: 'send GetEID again', expected: 'BF3E 12 5A 10 <EID> 9000 exactly' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    await withRawSession(c, rt, async (s) => {
      await c.setup('next 3 bytes towards the modem dropped', () => rt.modem!.faults.dropNextBytes(3, 'fromTe'));
      await c.step(1, async () => {
        const x = await relay(c, s.t, getEidApdu(s.channel));
        expect(hex(x.rapdu)).toBe('6F00');
        expect(x.ms).toBeLessThan(3000);
        if (c.observe('cardSide', 'the card received nothing')) expect(x.card).toEqual([]);
      });
      await c.step(2, async () => expectEid(c, rt, await s.t.transmit(getEidApdu(s.channel))));
    });
  },
);

tc(
  {
    id: 'TC_Bridge_Modem.RebootDuringApdu_6F00',
    title: 'a modem restarting while a +CGLA/+CSIM is in flight gives 6F00 in bounded time, then 6881 on the lost channel; a new LPA is served',
    group,
    iut: 'bridge',
    purpose: 'A restart swallows the command in flight: the LPA must get an answer in bounded time, then learn that its channel is gone.',
    requirement: 'bridge requirements BR-6 (6F00 when the modem does not answer in time) and BR-10 (6881 for a channel lost in a modem restart)',
    requires: ['modemFaults'],
    applicable: builtinOnly,
    initialConditions: [`the bridge's AT timeout is ${AT_TIMEOUT_MS} ms`, 'the LPA has opened a logical channel and selected the ISD-R on it', 'the modem delays its next answer by 500 ms and restarts 100 ms after the command arrived'],
    steps: [
      { action: 'send GetEID', expected: 'exactly 6F00 within 3 s' },
      { action: 'once the modem is back, send GetEID on the same channel', expected: 'exactly 6881' },
      { action: 'the LPA disconnects; a new LPA opens a session and reads the EID', expected: 'BF3E 12 5A 10 <EID> 9000' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const s = await c.setup('LPA session with the ISD-R selected', () => openRawSession(rt));
    let reboot: Promise<void> | undefined;
    try {
      await c.setup('next modem answer delayed by 500 ms', () => rt.modem!.faults.setResponseDelay(500, 1));
      await c.step(1, async () => {
        const answer = relay(c, s.t, getEidApdu(s.channel));
        await sleep(100);
        reboot = rt.modem!.faults.reboot();
        const x = await answer;
        expect(hex(x.rapdu)).toBe('6F00');
        expect(x.ms).toBeLessThan(3000);
      });
      await c.step(2, async () => {
        await reboot;
        expect(hex(await s.t.transmit(getEidApdu(s.channel)))).toBe('6881');
      });
      await c.step(3, async () => {
        await s.close();
        await nextLpaWorks(c, rt);
      });
    } finally {
      await reboot?.catch(() => undefined);
      rt.modem?.faults.clear();
      await s.close();
    }
  },
);
