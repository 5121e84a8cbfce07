// Bridge transport: APDU fidelity (IUT: the LPA Bridge). Every C-APDU the LPA sends must
// reach the card byte for byte (only the logical channel bits of CLA may be remapped, ETSI
// TS 102 221 10.1.1) and the card's answer must reach the LPA unchanged:
// - STORE DATA blocks of every Lc 1..255 (GlobalPlatform 11.11; SGP.22 5.7.2: intermediate
//   blocks P1 11 answer 9000), the four command cases of ISO/IEC 7816-3 12.1.3 (Lc absent =
//   "Lc 0"), the longest short APDU (261 bytes), and the malformed / extended / CLA FF
//   commands the bridge must refuse without touching the card;
// - status words: the emulated card is made to answer a chosen SW (sim/euicc/faults.ts
//   forced-SW rule on INS E2: answered before processing, card state unchanged) or a chosen
//   R-APDU with data (the card layer's afterCommand hook); every SW other than the T=0
//   procedure bytes 61xx/6Cxx must reach the LPA exactly (ISO/IEC 7816-4 5.6, ETSI TS 102
//   221 10.2.1);
// - the T=0 procedure (TS 102 221 7.3.1.1.4): answers over 256 bytes (GetProfilesInfo with
//   several profiles, a 1 KB GetEuiccConfiguredAddresses) joined from 61xx/GET RESPONSE,
//   and 6Cxx re-sends, so that the LPA gets the whole answer and 9000;
// - STORE DATA chains: an 1100-byte ES10 command in 255-byte blocks, a 40-block chain;
// - throughput: APDUs per second of a GetProfilesInfo loop, written to the case log.
import { expect } from 'vitest';
import { tc } from '../framework/case.ts';
import { useRig } from '../framework/shared-rig.ts';
import type { RigRuntime } from '../framework/rig-runtime.ts';
import { euiccOf } from '../framework/fixtures.ts';
import { buildCommand } from '../../sim/apdu/apdu.ts';
import { segmentStoreData } from '../../sim/apdu/store-data.ts';
import { concatBytes, hexToBytes } from '../../sim/bytes.ts';
import { DEFAULT_EUICC_ICCID, type AfterCommandHook } from '../../sim/euicc/card/card.ts';
import { decode } from '../../sim/rsp/der.ts';
import { EuiccConfiguredAddressesResponse, SetDefaultDpAddressRequest } from '../../sim/rsp/es10a.ts';
import { ProfileInfoListResponse } from '../../sim/rsp/es10c.ts';
import { iccidFromBytes } from '../../sim/rsp/iccid.ts';
import { Lpa } from '../../sim/lpa/flows.ts';
import {
  GET_EID,
  GET_PROFILES_INFO,
  GROUP,
  INS_STORE_DATA,
  ISD_R_AID,
  cleanCard,
  expectBridgeGetResponse,
  expectEid,
  expectFaithful,
  expectNoCardAccess,
  getEidAnswer,
  getEidApdu,
  hex,
  normalised,
  openRawSession,
  pattern,
  relay,
  relayFetched,
  selectAid,
  transmitFetching,
  storeDataCla,
  storeDataLast,
  swBytes,
  swHex,
  withRawSession,
} from './helpers.ts';

const rig = useRig();

// ---------------------------------------------------------------------------------------
// STORE DATA intermediate blocks of every Lc, in bands (one case per band)

const BANDS: readonly [number, number][] = [
  [1, 32],
  [33, 64],
  [65, 96],
  [97, 128],
  [129, 160],
  [161, 192],
  [193, 224],
  [225, 255],
];
const pad3 = (n: number): string => String(n).padStart(3, '0');

for (const [lo, hi] of BANDS) {
  tc(
    {
      id: `TC_Bridge_APDU.StoreDataLc_${pad3(lo)}to${pad3(hi)}`,
      title: `STORE DATA P1=11 blocks with Lc ${lo}..${hi} (case 3 for even Lc, case 4 Le=00 for odd Lc) reach the card intact and answer 9000`,
      group: GROUP,
      iut: 'bridge',
      purpose: `An ES10 command is cut into STORE DATA blocks of any length up to 255 (lpac 120, others up to 255): the bridge must carry blocks of Lc ${lo}..${hi} unchanged in both command cases.`,
      requirement: 'GlobalPlatform Card Spec 11.11 STORE DATA; SGP.22 5.7.2 (intermediate block P1 11 answers 9000); ISO/IEC 7816-3 12.1.3 cases 3 and 4',
      initialConditions: ['the bridge is running', 'the LPA has opened a logical channel and selected the ISD-R on it'],
      steps: [
        {
          action: `for each Lc in ${lo}..${hi}: send 8x E2 11 00 Lc <Lc pattern bytes> (odd Lc with Le 00) on the LPA's channel`,
          expected: 'the LPA gets exactly 9000 each time; the card received each C-APDU once, byte for byte (channel bits normalised), and answered the 9000 the LPA got',
        },
      ],
    },
    async (c) => {
      const rt = rig(c);
      const s = await c.setup('LPA session with the ISD-R selected', () => openRawSession(rt));
      try {
        await c.step(1, async () => {
          for (let lc = lo; lc <= hi; lc++) {
            const capdu = buildCommand({ cla: storeDataCla(s.channel), ins: INS_STORE_DATA, p1: 0x11, p2: 0x00, data: pattern(lc, lc), ...(lc % 2 === 1 ? { le: 256 } : {}) });
            const x = await relay(c, s.t, capdu);
            expect(hex(x.rapdu), `Lc=${lc}: R-APDU`).toBe('9000');
            expectFaithful(x);
          }
        });
      } finally {
        await s.close();
      }
    },
  );
}

// ---------------------------------------------------------------------------------------
// Command cases

tc(
  {
    id: 'TC_Bridge_APDU.Case1_NoBody',
    title: 'a case 1 STORE DATA (no Lc, no Le) reaches the card as 4 bytes and its 6A80 reaches the LPA',
    group: GROUP,
    iut: 'bridge',
    purpose: 'Lc absent ("Lc 0"): the bridge must not invent a body or an Le for a header-only command.',
    requirement: 'ISO/IEC 7816-3 12.1.3 case 1; GP 11.11 (an empty STORE DATA is no ES10 command: the ISD-R answers 6A80)',
    initialConditions: ['the LPA has opened a logical channel and selected the ISD-R on it'],
    steps: [{ action: 'send 8x E2 91 00 (4 bytes)', expected: 'the card receives the same 4 bytes; the LPA gets exactly 6A80' }],
  },
  async (c) => {
    const rt = rig(c);
    await withRawSession(c, rt, async (s) => {
      await c.step(1, async () => {
        const x = await relay(c, s.t, Uint8Array.of(storeDataCla(s.channel), INS_STORE_DATA, 0x91, 0x00));
        expect(swHex(x.rapdu)).toBe('6A80');
        expect(x.rapdu.length).toBe(2);
        expectFaithful(x);
      });
    });
  },
);

tc(
  {
    id: 'TC_Bridge_APDU.Case2_StatusFullLe',
    title: 'a case 2 STATUS with Le 00 returns the ISD-R FCI exactly as the card answered',
    group: GROUP,
    iut: 'bridge',
    purpose: 'A command without data but with Le (case 2) must reach the card with its Le byte, and the data it returns must reach the LPA unchanged.',
    requirement: 'ISO/IEC 7816-3 12.1.3 case 2; ETSI TS 102 221 11.1.2 STATUS (P2 00: FCI of the current application)',
    initialConditions: ['the LPA has opened a logical channel and selected the ISD-R on it (FCI remembered)'],
    steps: [{ action: 'send STATUS 8x F2 00 00 00 on that channel', expected: 'the LPA gets the SELECT FCI followed by 9000, identical to the card answer' }],
  },
  async (c) => {
    const rt = rig(c);
    await withRawSession(c, rt, async (s) => {
      await c.step(1, async () => {
        const x = await relay(c, s.t, Uint8Array.of(storeDataCla(s.channel), 0xf2, 0x00, 0x00, 0x00));
        expect(hex(x.rapdu)).toBe(hex(s.select));
        expectFaithful(x);
      });
    });
  },
);

tc(
  {
    id: 'TC_Bridge_APDU.Case2_StatusShortLe',
    title: 'a case 2 STATUS with Le shorter than the FCI: the card\'s 61xx reaches the LPA, whose GET RESPONSE gets the rest of the FCI',
    group: GROUP,
    iut: 'bridge',
    purpose: 'With Le below the data size the card answers Le bytes and 61xx (remaining); the LPA must end up with the whole FCI, nothing lost or duplicated.',
    requirement: 'ISO/IEC 7816-4 5.3.4 / ETSI TS 102 221 7.3.1.1.4 (61xx, GET RESPONSE); TS 102 221 11.1.2 STATUS',
    initialConditions: ['the LPA has opened a logical channel and selected the ISD-R on it (FCI remembered)'],
    steps: [{ action: 'send STATUS 8x F2 00 00 10 (Le 16)', expected: 'the card answered 16 bytes + 61xx then the rest by GET RESPONSE; the LPA fetches the rest after 61xx with GET RESPONSE and ends up with the complete FCI + 9000' }],
  },
  async (c) => {
    const rt = rig(c);
    await withRawSession(c, rt, async (s) => {
      await c.step(1, async () => {
        const x = await relayFetched(c, s.t, Uint8Array.of(storeDataCla(s.channel), 0xf2, 0x00, 0x00, 0x10));
        expect(hex(x.rapdu)).toBe(hex(s.select));
        const i = expectFaithful(x);
        if (i >= 0) expect(swHex(x.card[i]!.response).slice(0, 2), 'the card itself answered 61xx to Le 16').toBe('61');
      });
    });
  },
);

tc(
  {
    id: 'TC_Bridge_APDU.Case3_LastBlockNoLe',
    title: 'GetEID sent as case 3 (no Le, as lpac does): the card\'s 61xx is resolved and the LPA gets BF3E...9000',
    group: GROUP,
    iut: 'bridge',
    purpose: 'lpac sends the last STORE DATA block without Le; the card then announces its answer with 61xx. The LPA must get the ES10 response and 9000.',
    requirement: 'lpac AT driver (estkme-group/lpac driver/apdu/at.c: last block as case 3, then GET RESPONSE); ETSI TS 102 221 7.3.1.1.4; SGP.22 5.7.20 GetEID',
    initialConditions: ['the LPA has opened a logical channel and selected the ISD-R on it'],
    steps: [{ action: 'send 8x E2 91 00 06 BF3E035C015A (case 3)', expected: 'the LPA gets exactly BF3E 12 5A 10 <EID> 9000; the card saw the command once and served its data by GET RESPONSE' }],
  },
  async (c) => {
    const rt = rig(c);
    await withRawSession(c, rt, async (s) => {
      await c.step(1, async () => {
        const x = await relayFetched(c, s.t, storeDataLast(s.channel, GET_EID, null));
        expectEid(c, rt, x.rapdu);
        expectFaithful(x);
        expectBridgeGetResponse(x);
      });
    });
  },
);

tc(
  {
    id: 'TC_Bridge_APDU.Case4_GetEid',
    title: 'GetEID as case 4 (Le 00) returns the EID exactly as the card answered',
    group: GROUP,
    iut: 'bridge',
    purpose: 'The ordinary ES10 exchange: one STORE DATA block with data and Le.',
    requirement: 'ISO/IEC 7816-3 12.1.3 case 4; SGP.22 5.7.20 GetEID',
    initialConditions: ['the LPA has opened a logical channel and selected the ISD-R on it'],
    steps: [{ action: 'send 8x E2 91 00 06 BF3E035C015A 00', expected: 'the LPA gets BF3E 12 5A 10 <EID> 9000, identical to the card answer' }],
  },
  async (c) => {
    const rt = rig(c);
    await withRawSession(c, rt, async (s) => {
      await c.step(1, async () => {
        const x = await relay(c, s.t, storeDataLast(s.channel, GET_EID));
        expectEid(c, rt, x.rapdu);
        expectFaithful(x);
      });
    });
  },
);

tc(
  {
    id: 'TC_Bridge_APDU.Case4_Lc255Le00',
    title: 'the longest short APDU (Lc 255 + Le, 261 bytes) goes through in one AT command',
    group: GROUP,
    iut: 'bridge',
    purpose: 'SGP.22 allows STORE DATA blocks of 255 bytes; with Le that is the 261-byte maximum of a short APDU, which the bridge must carry without splitting it or cutting it.',
    requirement: 'ISO/IEC 7816-3 12.1.3 case 4S (Lc<=255, Le<=256); 3GPP TS 27.007 8.43/8.17 (one +CGLA/+CSIM per APDU); ISO/IEC 7816-4 5.1 (short Lc up to 255)',
    initialConditions: ['the LPA has opened a logical channel and selected the ISD-R on it'],
    steps: [
      { action: 'send 8x E2 11 00 FF <255 bytes> 00', expected: 'the LPA gets 9000; the card received the 261 bytes unchanged, once' },
      { action: 'look at the AT commands sent for it', expected: 'exactly one +CGLA/+CSIM carried the APDU (no split)' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    await withRawSession(c, rt, async (s) => {
      const capdu = buildCommand({ cla: storeDataCla(s.channel), ins: INS_STORE_DATA, p1: 0x11, p2: 0x00, data: pattern(255, 99), le: 256 });
      expect(capdu.length).toBe(261);
      const x = await c.step(1, async () => {
        const x = await relay(c, s.t, capdu);
        expect(hex(x.rapdu)).toBe('9000');
        expectFaithful(x);
        return x;
      });
      await c.step(2, () => {
        if (!c.observe('atLines', 'exactly one +CGLA/+CSIM carried the APDU')) return;
        const carrying = x.atSent.filter((l) => /^AT\+(CGLA|CSIM)=/i.test(l) && l.toUpperCase().includes(hex(normalised(capdu)).slice(2)));
        expect(carrying.length, `AT lines carrying the APDU: ${JSON.stringify(x.atSent)}`).toBe(1);
      });
    });
  },
);

// ---------------------------------------------------------------------------------------
// Commands the bridge answers itself

tc(
  {
    id: 'TC_Bridge_APDU.Malformed_6700',
    title: 'a C-APDU whose Lc does not match its length is answered 6700 without reaching the card',
    group: GROUP,
    iut: 'bridge',
    purpose: 'A malformed APDU must not be "repaired" or forwarded: a modem would pad or truncate it.',
    requirement: 'ISO/IEC 7816-3 12.1.3 (no case matches); ISO/IEC 7816-4 5.6 SW 6700 wrong length; bridge requirement BR-1',
    initialConditions: ['the LPA has opened a logical channel and selected the ISD-R on it'],
    steps: [
      { action: 'send 8x E2 91 00 08 BF3E035C015A (Lc 8, 6 data bytes)', expected: 'exactly 6700' },
      { action: 'look at the AT and card hops', expected: 'no +CCHO/+CGLA/+CSIM and no APDU at the card' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    await withRawSession(c, rt, async (s) => {
      const x = await c.step(1, async () => {
        const x = await relay(c, s.t, Uint8Array.of(storeDataCla(s.channel), INS_STORE_DATA, 0x91, 0x00, 0x08, ...GET_EID));
        expect(hex(x.rapdu)).toBe('6700');
        return x;
      });
      await c.step(2, () => expectNoCardAccess(x));
    });
  },
);

tc(
  {
    id: 'TC_Bridge_APDU.Extended_6700',
    title: 'an extended-length STORE DATA (300 bytes of data) is answered 6700; the card never gets a cut or split copy',
    group: GROUP,
    iut: 'bridge',
    purpose: 'Modems carry short APDUs only (max 261 bytes per +CGLA/+CSIM); an eUICC without extended length answers 6700. The bridge must neither split nor truncate the APDU.',
    requirement: 'ISO/IEC 7816-4 5.1 (extended length); 3GPP TS 27.007 8.43; bridge requirement BR-1 (6700 for an APDU over 261 bytes, never split)',
    initialConditions: ['the LPA has opened a logical channel and selected the ISD-R on it'],
    steps: [
      { action: 'send 8x E2 91 00 00 01 2C <300 bytes> (extended case 3)', expected: 'exactly 6700' },
      { action: 'look at the card hop', expected: 'the card received nothing, or exactly this APDU (and answered the 6700 itself)' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    await withRawSession(c, rt, async (s) => {
      const capdu = buildCommand({ cla: storeDataCla(s.channel), ins: INS_STORE_DATA, p1: 0x91, p2: 0x00, data: pattern(300, 3), extended: true });
      const x = await c.step(1, async () => {
        const x = await relay(c, s.t, capdu);
        expect(hex(x.rapdu)).toBe('6700');
        return x;
      });
      await c.step(2, () => {
        if (!c.observe('cardSide', 'the card received nothing, or exactly this APDU')) return;
        for (const e of x.card) expect(hex(normalised(e.command)), 'the only APDU the card may see is the whole extended one').toBe(hex(normalised(capdu)));
      });
    });
  },
);

tc(
  {
    id: 'TC_Bridge_APDU.ClaFF_6E00',
    title: 'CLA FF (reserved for PPS) is answered 6E00 without reaching the card',
    group: GROUP,
    iut: 'bridge',
    purpose: 'FF is not a class byte (ISO/IEC 7816-3 reserves it for PPS); it must not be sent to the modem.',
    requirement: 'ISO/IEC 7816-3 9.1 (CLA FF invalid); ISO/IEC 7816-4 5.6 SW 6E00; bridge requirement BR-2',
    initialConditions: ['the LPA is connected to the bridge (power on, ATR read)'],
    steps: [
      { action: 'send FF E2 91 00 06 BF3E035C015A 00', expected: 'exactly 6E00' },
      { action: 'look at the AT and card hops', expected: 'no +CCHO/+CGLA/+CSIM and no APDU at the card' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    await withRawSession(c, rt, async (s) => {
      const x = await c.step(1, async () => {
        const x = await relay(c, s.t, hexToBytes(`FFE2910006${hex(GET_EID)}00`));
        expect(hex(x.rapdu)).toBe('6E00');
        return x;
      });
      await c.step(2, () => expectNoCardAccess(x));
    });
  },
);

// ---------------------------------------------------------------------------------------
// Status words

interface SwCase {
  sw: number;
  name: string;
  source: string;
}

const FORCED: readonly SwCase[] = [
  { sw: 0x6a88, name: 'referenced data not found', source: 'ISO/IEC 7816-4 table 6; GP 11.11.3 (unknown ES10 tag)' },
  { sw: 0x6985, name: 'conditions of use not satisfied', source: 'ISO/IEC 7816-4 table 6; GP 11.1.3' },
  { sw: 0x6982, name: 'security status not satisfied', source: 'ISO/IEC 7816-4 table 6' },
  { sw: 0x6a80, name: 'incorrect parameters in the data field', source: 'ISO/IEC 7816-4 table 6; GP 11.11.3' },
  { sw: 0x6a82, name: 'file or application not found', source: 'ISO/IEC 7816-4 table 6' },
  { sw: 0x6a84, name: 'not enough memory space', source: 'ISO/IEC 7816-4 table 6; GP 11.11.3' },
  { sw: 0x6a86, name: 'incorrect parameters P1-P2', source: 'ISO/IEC 7816-4 table 6' },
  { sw: 0x6d00, name: 'instruction not supported', source: 'ISO/IEC 7816-4 table 6' },
  { sw: 0x6e00, name: 'class not supported', source: 'ISO/IEC 7816-4 table 6' },
  { sw: 0x6f00, name: 'no precise diagnosis', source: 'ISO/IEC 7816-4 table 6' },
  { sw: 0x6581, name: 'memory failure', source: 'ISO/IEC 7816-4 table 6' },
  { sw: 0x6700, name: 'wrong length', source: 'ISO/IEC 7816-4 table 6' },
  { sw: 0x6881, name: 'logical channel not supported', source: 'ISO/IEC 7816-4 table 6 (from the card, not a bridge decision)' },
  { sw: 0x6283, name: 'selected file deactivated (warning)', source: 'ISO/IEC 7816-4 table 6' },
  { sw: 0x63c1, name: 'verification failed, 1 retry left (warning)', source: 'ISO/IEC 7816-4 table 6' },
  { sw: 0x9110, name: 'normal ending, 16 bytes of proactive command pending', source: 'ETSI TS 102 221 10.2.1.1' },
];

const h4 = (sw: number): string => sw.toString(16).toUpperCase().padStart(4, '0');

/** Replace the card's answer to the next command with INS `ins` by `rapdu` (once). */
function answerNext(rt: RigRuntime, ins: number, rapdu: Uint8Array): () => void {
  const card = rt.euicc!.card;
  const previous = card.afterCommand;
  let used = false;
  const hook: AfterCommandHook = (ctx) => {
    if (used || ctx.capdu[1] !== ins) return undefined;
    used = true;
    return rapdu;
  };
  card.afterCommand = hook;
  return () => {
    card.afterCommand = previous;
  };
}

for (const k of FORCED) {
  tc(
    {
      id: `TC_Bridge_APDU.StatusWord_${h4(k.sw)}`,
      title: `the card's SW ${h4(k.sw)} (${k.name}) to an ES10 STORE DATA reaches the LPA unchanged`,
      group: GROUP,
      iut: 'bridge',
      purpose: 'An LPA decides what to do from the exact status word (retry, report, give up); a bridge that remaps card SWs breaks that.',
      requirement: `${k.source}; SGP.22 5.7.2; bridge requirement BR-7 (card status words untouched)`,
      requires: ['emulatedEuicc'],
      initialConditions: ['the LPA has opened a logical channel and selected the ISD-R on it', `the card answers the next STORE DATA with ${h4(k.sw)} without processing it`],
      steps: [
        { action: 'send GetEID (8x E2 91 00 06 BF3E035C015A 00)', expected: `the LPA gets exactly ${h4(k.sw)} (2 bytes), the SW the card answered to that very command` },
        { action: 'check the ISD-R', expected: 'it processed no ES10 function (the SW came before processing)' },
        { action: 'send GetEID again on the same channel', expected: 'BF3E 12 5A 10 <EID> 9000: the channel still works' },
      ],
    },
    async (c) => {
      const rt = rig(c);
      const s = await c.setup('LPA session with the ISD-R selected', () => openRawSession(rt));
      try {
        const calls = await c.setup(`card answers ${h4(k.sw)} to the next STORE DATA`, () => {
          rt.euicc!.faults.forceSw({ sw: k.sw, ins: INS_STORE_DATA, times: 1 });
          return rt.euicc!.isdr.calls.length;
        });
        await c.step(1, async () => {
          const x = await relay(c, s.t, getEidApdu(s.channel));
          expect(hex(x.rapdu)).toBe(hex(swBytes(k.sw)));
          expectFaithful(x);
        });
        await c.step(2, () => expect(rt.euicc!.isdr.calls.length).toBe(calls));
        await c.step(3, async () => {
          const x = await relay(c, s.t, getEidApdu(s.channel));
          expect(hex(x.rapdu)).toBe(getEidAnswer(rt.euicc!.eid));
        });
      } finally {
        rt.euicc?.faults.clear();
        await s.close();
      }
    },
  );
}

tc(
  {
    id: 'TC_Bridge_APDU.StatusWord_9000With256Bytes',
    title: 'a 256-byte answer with 9000 (the largest short response) reaches the LPA unchanged',
    group: GROUP,
    iut: 'bridge',
    purpose: 'Response data of the maximum short length (Ne 256) must come through whole: no 61xx invented, no byte lost in the +CGLA/+CSIM hex.',
    requirement: 'ISO/IEC 7816-3 12.1.3 (short Ne up to 256); 3GPP TS 27.007 8.43 +CGLA response <length>,"<hex>"',
    requires: ['emulatedEuicc'],
    initialConditions: ['the LPA has opened a logical channel and selected the ISD-R on it', 'the card answers the next STORE DATA with 256 data bytes and 9000'],
    steps: [{ action: 'send GetEID with Le 00', expected: 'the LPA gets the 256 bytes and 9000 exactly (258 bytes), as the card answered' }],
  },
  async (c) => {
    const rt = rig(c);
    const s = await c.setup('LPA session with the ISD-R selected', () => openRawSession(rt));
    const answer = concatBytes(pattern(256, 5), swBytes(0x9000));
    const restore = await c.setup('card answers 256 bytes + 9000 to the next STORE DATA', () => answerNext(rt, INS_STORE_DATA, answer));
    try {
      await c.step(1, async () => {
        const x = await relay(c, s.t, getEidApdu(s.channel));
        expect(x.rapdu.length).toBe(258);
        expect(hex(x.rapdu)).toBe(hex(answer));
        expectFaithful(x);
      });
    } finally {
      restore();
      await s.close();
    }
  },
);

tc(
  {
    id: 'TC_Bridge_APDU.StatusWord_6283WithData',
    title: 'a warning SW with data (data + 6283) reaches the LPA unchanged',
    group: GROUP,
    iut: 'bridge',
    purpose: 'Warning status words (62xx/63xx) may come with response data; a bridge must pass both, not drop the data of a non-9000 answer.',
    requirement: 'ISO/IEC 7816-4 5.6 (warning processing: data may be present); bridge requirement BR-7 (card status words untouched)',
    requires: ['emulatedEuicc'],
    initialConditions: ['the LPA has opened a logical channel and selected the ISD-R on it', 'the card answers the next STORE DATA with 20 data bytes and 6283'],
    steps: [{ action: 'send GetEID with Le 00', expected: 'the LPA gets the 20 bytes and 6283 exactly' }],
  },
  async (c) => {
    const rt = rig(c);
    const s = await c.setup('LPA session with the ISD-R selected', () => openRawSession(rt));
    const answer = concatBytes(pattern(20, 9), swBytes(0x6283));
    const restore = await c.setup('card answers 20 bytes + 6283 to the next STORE DATA', () => answerNext(rt, INS_STORE_DATA, answer));
    try {
      await c.step(1, async () => {
        const x = await relay(c, s.t, getEidApdu(s.channel));
        expect(hex(x.rapdu)).toBe(hex(answer));
        expectFaithful(x);
      });
    } finally {
      restore();
      await s.close();
    }
  },
);

tc(
  {
    id: 'TC_Bridge_APDU.StatusWord_BasicChannel6A88',
    title: 'on the basic channel (+CSIM path) the card\'s 6A88 reaches the LPA unchanged',
    group: GROUP,
    iut: 'bridge',
    purpose: 'The basic channel goes through another AT command (+CSIM) than the logical ones (+CGLA): its status words must pass just as untouched.',
    requirement: '3GPP TS 27.007 8.17 +CSIM; ISO/IEC 7816-4 5.6; SGP.22 5.7.2',
    requires: ['emulatedEuicc'],
    initialConditions: ['the LPA has selected the ISD-R on the basic channel', 'the card answers the next STORE DATA with 6A88'],
    steps: [
      { action: 'send GetEID with CLA 80 (basic channel)', expected: 'exactly 6A88, as the card answered' },
      { action: 'send GetEID again', expected: 'BF3E 12 5A 10 <EID> 9000' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const t = await c.setup('LPA connected', () => rt.connectPowered());
    try {
      await c.setup('ISD-R selected on the basic channel', async () => {
        const r = await t.transmit(selectAid(0, ISD_R_AID));
        expect(hex(r).slice(-4)).toBe('9000');
        rt.euicc!.faults.forceSw({ sw: 0x6a88, ins: INS_STORE_DATA, times: 1 });
      });
      await c.step(1, async () => {
        const x = await relay(c, t, getEidApdu(0));
        expect(hex(x.rapdu)).toBe('6A88');
        expectFaithful(x);
      });
      await c.step(2, async () => {
        const x = await relay(c, t, getEidApdu(0));
        expect(hex(x.rapdu)).toBe(getEidAnswer(rt.euicc!.eid));
      });
    } finally {
      rt.euicc?.faults.clear();
      await t.close();
    }
  },
);

// ---------------------------------------------------------------------------------------
// T=0 procedure: 61xx GET RESPONSE chains and 6Cxx re-sends

/** A syntactically valid FQDN of exactly `n` characters (labels of at most 63). */
function fqdn(n: number): string {
  const suffix = '.bridgelab.example.com';
  const labels: string[] = [];
  let length = -1;
  for (let i = 0; length < n - suffix.length; i++) {
    const label = `seg${i}`.padEnd(60, 'x');
    labels.push(label);
    length += label.length + 1;
  }
  let body = labels.join('.').slice(0, n - suffix.length);
  if (body.endsWith('.')) body = `${body.slice(0, -1)}y`;
  return body + suffix;
}

/** SetDefaultDpAddress request of exactly `size` bytes. */
function setDefaultDpAddressOf(size: number): { address: string; payload: Uint8Array } {
  const address = fqdn(size - 9); // BF3F 82 LLLL 80 82 LLLL <address>
  const payload = SetDefaultDpAddressRequest.encode({ defaultDpAddress: address });
  expect(payload.length, 'SetDefaultDpAddress request size').toBe(size);
  return { address, payload };
}

/** SetDefaultDpAddressResponse ok(0) and 9000. */
const SET_DEFAULT_DP_OK = 'BF3F038001009000';

tc(
  {
    id: 'TC_Bridge_T0.GetResponse_ProfilesInfo',
    title: 'GetProfilesInfo with three profiles installed (answer over 256 bytes) reaches the LPA whole, with 9000',
    group: GROUP,
    iut: 'bridge',
    purpose: 'The LPA lists profiles with GetProfilesInfo; with several profiles the answer exceeds 256 bytes and the card serves it in 61xx/GET RESPONSE pieces that must be joined without loss.',
    requirement: 'ETSI TS 102 221 7.3.1.1.4 (61xx, GET RESPONSE); ISO/IEC 7816-4 5.3.4; SGP.22 5.7.15 GetProfilesInfo (answers over 256 bytes)',
    requires: ['emulatedEuicc', 'embeddedSmdp', 'sgp26Trust'],
    initialConditions: ['a clean card with three profiles installed (directly, not through the bridge)', 'the LPA has opened a logical channel and selected the ISD-R on it'],
    steps: [
      { action: 'send GetProfilesInfo (8x E2 91 00 03 BF2D00 00)', expected: 'pieces of at most 256 data bytes (61xx, then GET RESPONSE by the LPA) ending 9000, joined equal to the card\'s answer joined over its 61xx chain (the card did answer 61xx)' },
      { action: 'decode it as ProfileInfoListResponse', expected: 'profileInfoListOk listing exactly the three installed ICCIDs' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const installed = await c.setup('three profiles installed on a clean card', async () => {
      await cleanCard(rt);
      const lpa = await Lpa.open(rt.euicc!, { http: rt.httpOptions() });
      try {
        for (let i = 0; i < 3; i++) await lpa.downloadProfile(rt.smdp!.es2.order({}).activationCode, { notifications: 'leave' });
      } finally {
        await lpa.close();
      }
      const iccids = rt.euicc!.state.profiles().map((p) => p.iccid);
      expect(iccids.length).toBe(3);
      return iccids;
    });
    await withRawSession(c, rt, async (s) => {
      const data = await c.step(1, async () => {
        const x = await relayFetched(c, s.t, storeDataLast(s.channel, GET_PROFILES_INFO));
        expect(swHex(x.rapdu)).toBe('9000');
        expect(x.rapdu.length - 2).toBeGreaterThan(256);
        const i = expectFaithful(x);
        expect(swHex(x.card[i]!.response).slice(0, 2), 'the card answered 61xx first').toBe('61');
        c.trace.log('check', expectBridgeGetResponse(x) ? 'the modem passed 61xx up: the bridge sent GET RESPONSE' : 'the modem ran GET RESPONSE itself');
        return x.rapdu.subarray(0, x.rapdu.length - 2);
      });
      await c.step(2, () => {
        const r = decode(ProfileInfoListResponse, data);
        expect('profileInfoListOk' in r).toBe(true);
        const list = 'profileInfoListOk' in r ? r.profileInfoListOk : [];
        expect(list.map((p) => (p.iccid ? iccidFromBytes(p.iccid) : '')).sort()).toEqual([...installed].sort());
      });
    }, { cleanCardAfter: true });
  },
);

tc(
  {
    id: 'TC_Bridge_T0.GetResponse_ConfiguredAddresses1KB',
    title: 'a 1 KB GetEuiccConfiguredAddresses answer (five GET RESPONSE pieces) reaches the LPA whole',
    group: GROUP,
    iut: 'bridge',
    purpose: 'Long answers (AuthenticateServer, PrepareDownload, RetrieveNotificationsList) come in several 256-byte pieces; every piece must be fetched on the right channel and joined in order.',
    requirement: 'ETSI TS 102 221 7.3.1.1.4; SGP.22 5.7.3 GetEuiccConfiguredAddresses, 5.7.4 SetDefaultDpAddress',
    requires: ['emulatedEuicc'],
    initialConditions: ['a clean card whose default SM-DP+ address was set (through the bridge) to a 1091-character FQDN', 'the LPA has opened a logical channel and selected the ISD-R on it'],
    steps: [
      { action: 'send GetEuiccConfiguredAddresses (8x E2 91 00 03 BF3C00 00)', expected: 'more than 1024 data bytes in pieces of at most 256 (61xx, GET RESPONSE by the LPA), ending 9000, equal to the card\'s 61xx chain joined' },
      { action: 'decode it', expected: 'defaultDpAddress is exactly the 1091-character address' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const { address } = setDefaultDpAddressOf(1100);
    await c.setup('default SM-DP+ address of 1091 characters', async () => {
      await cleanCard(rt);
      const h = await rt.openLpa();
      try {
        expect((await h.lpa.es10.setDefaultDpAddress(address)).setDefaultDpAddressResult).toBe(0);
      } finally {
        await h.close();
      }
    });
    await withRawSession(c, rt, async (s) => {
      const data = await c.step(1, async () => {
        const x = await relayFetched(c, s.t, storeDataLast(s.channel, hexToBytes('BF3C00')));
        expect(swHex(x.rapdu)).toBe('9000');
        expect(x.rapdu.length - 2).toBeGreaterThan(1024);
        expectFaithful(x);
        c.trace.log('check', expectBridgeGetResponse(x) ? 'the modem passed 61xx up: the bridge sent GET RESPONSE' : 'the modem ran GET RESPONSE itself');
        return x.rapdu.subarray(0, x.rapdu.length - 2);
      });
      await c.step(2, () => expect(decode(EuiccConfiguredAddressesResponse, data).defaultDpAddress).toBe(address));
    }, { cleanCardAfter: true });
  },
);

tc(
  {
    id: 'TC_Bridge_T0.WrongLe_BasicChannel',
    title: 'READ BINARY with a too large Le: the card\'s 6C0A leads to a re-send with Le 0A and the LPA gets the 10 bytes and 9000',
    group: GROUP,
    iut: 'bridge',
    purpose: '6Cxx is a T=0 procedure byte, not an answer: the command must be re-sent with the exact Le and the LPA must get the data.',
    requirement: 'ISO/IEC 7816-3 12.2.4 / ETSI TS 102 221 7.3.1.1.4 (6Cxx: re-send with Le = SW2); TS 102 221 13.2 EF.ICCID',
    initialConditions: ['a clean card', 'the LPA is connected; on the basic channel it selected MF 3F00 and EF.ICCID 2FE2 (by file id)'],
    steps: [{ action: 'send READ BINARY 00 B0 00 00 20 (Le 32 for a 10-byte EF)', expected: 'the LPA gets EF.ICCID (10 bytes) and 9000; the card answered 6C0A and then got the same command with Le 0A' }],
  },
  async (c) => {
    const rt = rig(c);
    await c.setup('clean card', () => cleanCard(rt));
    const t = await c.setup('LPA connected', () => rt.connectPowered());
    try {
      await c.setup('MF and EF.ICCID selected on the basic channel', async () => {
        expect(swHex(await transmitFetching(t, hexToBytes('00A40004023F00')))).toBe('9000');
        expect(swHex(await transmitFetching(t, hexToBytes('00A40004022FE2')))).toBe('9000');
      });
      await c.step(1, async () => {
        const x = await relay(c, t, hexToBytes('00B0000020'));
        expect(swHex(x.rapdu)).toBe('9000');
        expect(x.rapdu.length).toBe(12);
        if (c.observe('cardState', "the card's ICCID (EF.ICCID)")) expect(hex(x.rapdu)).toBe(`${hex(DEFAULT_EUICC_ICCID)}9000`);
        const i = expectFaithful(x);
        if (i >= 0) expect(swHex(x.card[i]!.response)).toBe('6C0A');
      });
    } finally {
      await t.close();
    }
  },
);

tc(
  {
    id: 'TC_Bridge_T0.WrongLe_LogicalChannel',
    title: 'on a logical channel the card\'s 6C21 to STATUS leads to a re-send with Le 21 and the LPA gets the FCI and 9000',
    group: GROUP,
    iut: 'bridge',
    purpose: 'The 6Cxx re-send must go to the same card channel with the same command (CLA channel bits included) and only Le changed.',
    requirement: 'ISO/IEC 7816-3 12.2.4 / ETSI TS 102 221 7.3.1.1.4; TS 102 221 11.1.2 STATUS; 3GPP TS 27.007 8.43',
    requires: ['emulatedEuicc'],
    initialConditions: ['the LPA has opened a logical channel and selected the ISD-R on it (33-byte FCI)', 'the card answers the next STATUS with 6C21 (as a T=0 card given a wrong Le)'],
    steps: [{ action: 'send STATUS 8x F2 00 00 10', expected: 'the LPA gets the 33-byte FCI and 9000; the card got STATUS again with Le 21 on the same channel' }],
  },
  async (c) => {
    const rt = rig(c);
    const s = await c.setup('LPA session with the ISD-R selected', () => openRawSession(rt));
    const card = rt.euicc!.card;
    const previous = card.afterCommand;
    try {
      await c.setup('card answers 6C21 to the next STATUS', () => {
        expect(s.select.length - 2).toBe(0x21);
        let used = false;
        const hook: AfterCommandHook = (ctx) => {
          if (used || ctx.capdu[1] !== 0xf2) return undefined;
          used = true;
          return swBytes(0x6c21);
        };
        card.afterCommand = hook;
      });
      await c.step(1, async () => {
        const x = await relay(c, s.t, Uint8Array.of(storeDataCla(s.channel), 0xf2, 0x00, 0x00, 0x10));
        expect(hex(x.rapdu)).toBe(hex(s.select));
        const i = expectFaithful(x);
        expect(swHex(x.card[i]!.response)).toBe('6C21');
      });
    } finally {
      card.afterCommand = previous;
      await s.close();
    }
  },
);

// ---------------------------------------------------------------------------------------
// STORE DATA chains

tc(
  {
    id: 'TC_Bridge_StoreData.Command1100_Blocks255',
    title: 'an 1100-byte ES10 command in 255-byte STORE DATA blocks (255, 255, 255, 255, 80) is reassembled and processed by the ISD-R',
    group: GROUP,
    iut: 'bridge',
    purpose: 'BPP segments and certificates make ES10 commands of over 1 KB; LPAs using the maximum block size send 255-byte blocks that the bridge must carry unchanged and in order.',
    requirement: 'GlobalPlatform 11.11 (STORE DATA chain, P1 11/91, P2 block number); SGP.22 5.7.2, 5.7.4 SetDefaultDpAddress; ISO/IEC 7816-4 5.1 (short Lc up to 255)',
    initialConditions: ['a clean card', 'the LPA has opened a logical channel and selected the ISD-R on it'],
    steps: [
      { action: 'send blocks 0..3 (P1 11, 255 bytes each) of SetDefaultDpAddress with a 1091-character address', expected: '9000 for each; the card got each block once, unchanged' },
      { action: 'send block 4 (P1 91, 80 bytes, Le 00)', expected: 'exactly BF3F 03 80 01 00 9000 (setDefaultDpAddressResult ok)' },
      { action: 'read the eUICC state', expected: 'the default SM-DP+ address is the 1091-character address' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const { address, payload } = setDefaultDpAddressOf(1100);
    await c.setup('clean card', () => cleanCard(rt));
    await withRawSession(c, rt, async (s) => {
      const blocks = segmentStoreData(payload, { blockSize: 255, channel: s.channel });
      expect(blocks.map((b) => b[4])).toEqual([255, 255, 255, 255, 80]);
      await c.step(1, async () => {
        for (const b of blocks.slice(0, 4)) {
          const x = await relay(c, s.t, b);
          expect(hex(x.rapdu), `block P2=${b[3]}`).toBe('9000');
          expectFaithful(x);
        }
      });
      await c.step(2, async () => {
        const x = await relay(c, s.t, blocks[4]!);
        expect(hex(x.rapdu)).toBe(SET_DEFAULT_DP_OK);
        expectFaithful(x);
      });
      await c.step(3, () => {
        if (c.observe('cardState', 'the default SM-DP+ address stored on the card')) expect(euiccOf(rt).state.addresses().defaultDpAddress).toBe(address);
      });
    }, { cleanCardAfter: true });
  },
);

tc(
  {
    id: 'TC_Bridge_StoreData.Chain_40Blocks',
    title: 'a 40-block STORE DATA chain (16-byte blocks) reaches the card in order, each block once',
    group: GROUP,
    iut: 'bridge',
    purpose: 'Small block sizes make long chains; a bridge that drops, repeats or reorders a block corrupts the ES10 command (the card answers 6A86 or decodes garbage).',
    requirement: 'GlobalPlatform 11.11 (P2 block numbers in sequence); SGP.22 5.7.2; SGP.22 5.7.4 SetDefaultDpAddress',
    initialConditions: ['a clean card', 'the LPA has opened a logical channel and selected the ISD-R on it'],
    steps: [
      { action: 'send SetDefaultDpAddress (640 bytes) as 40 STORE DATA blocks of 16 bytes', expected: '9000 for blocks 0..38, BF3F 03 80 01 00 9000 for block 39' },
      { action: 'list the STORE DATA blocks the card received', expected: 'P2 00..27 (hex) in order, each once, each identical to what the LPA sent (channel normalised)' },
      { action: 'read the eUICC state', expected: 'the default SM-DP+ address is the 631-character address' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const { address, payload } = setDefaultDpAddressOf(640);
    await c.setup('clean card', () => cleanCard(rt));
    await withRawSession(c, rt, async (s) => {
      const blocks = segmentStoreData(payload, { blockSize: 16, channel: s.channel });
      expect(blocks.length).toBe(40);
      const seen: Uint8Array[] = [];
      await c.step(1, async () => {
        for (const [i, b] of blocks.entries()) {
          const x = await relay(c, s.t, b);
          expect(hex(x.rapdu), `block ${i}`).toBe(i < 39 ? '9000' : SET_DEFAULT_DP_OK);
          seen.push(...x.card.filter((e) => e.command[1] === INS_STORE_DATA).map((e) => e.command));
        }
      });
      await c.step(2, () => {
        if (!c.observe('cardSide', 'the STORE DATA blocks the card received')) return;
        expect(seen.map((cmd) => cmd[3])).toEqual(blocks.map((_, i) => i));
        expect(seen.map((cmd) => hex(normalised(cmd)))).toEqual(blocks.map((b) => hex(normalised(b))));
      });
      await c.step(3, () => {
        if (c.observe('cardState', 'the default SM-DP+ address stored on the card')) expect(euiccOf(rt).state.addresses().defaultDpAddress).toBe(address);
      });
    }, { cleanCardAfter: true });
  },
);

// ---------------------------------------------------------------------------------------
// Throughput

const THROUGHPUT_COMMANDS = 30;
/** generous floor: the slowest personality (Fibocom, ~25 ms per +CGLA at the rig's time scale) does ~30 APDU/s */
const THROUGHPUT_FLOOR_APDU_PER_S = 5;

tc(
  {
    id: 'TC_Bridge_Perf.GetProfilesInfo_Throughput',
    title: `${THROUGHPUT_COMMANDS} GetProfilesInfo in a row: APDUs per second recorded, above a generous floor`,
    group: GROUP,
    iut: 'bridge',
    purpose: 'Measure the bridge\'s APDU rate for regression comparisons between bridge ports and modem firmware (the figure is in the case log); only a floor that any usable bridge meets is asserted.',
    requirement: `SGP.22 5.7.2 (ES10 over STORE DATA); a floor of ${THROUGHPUT_FLOOR_APDU_PER_S} APDU/s any usable bridge meets, the rate recorded for regression runs after a modem firmware update`,
    initialConditions: ['the test LPA has opened its ISD-R session through the bridge'],
    steps: [
      { action: `send GetProfilesInfo ${THROUGHPUT_COMMANDS} times and count the LPA's APDUs`, expected: 'every call decodes; the rate (APDU/s, ms per command) is written to the case log' },
      { action: 'compare the rate with the floor', expected: `at least ${THROUGHPUT_FLOOR_APDU_PER_S} APDU/s` },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const h = await c.setup('test LPA connected', () => rt.openLpa());
    try {
      const rate = await c.step(1, async () => {
        const from = c.trace.events.length;
        const started = performance.now();
        for (let i = 0; i < THROUGHPUT_COMMANDS; i++) await h.lpa.es10.getProfilesInfo();
        const ms = performance.now() - started;
        const apdus = c.trace.events.slice(from).filter((e) => e.kind === 'apdu' && e.hop === 'lpa-bridge').length;
        expect(apdus).toBeGreaterThanOrEqual(THROUGHPUT_COMMANDS);
        const rate = apdus / (ms / 1000);
        c.trace.log('throughput', `${rt.personality}: ${THROUGHPUT_COMMANDS} GetProfilesInfo, ${apdus} APDUs in ${ms.toFixed(0)} ms = ${rate.toFixed(1)} APDU/s, ${(ms / THROUGHPUT_COMMANDS).toFixed(1)} ms per command`);
        return rate;
      });
      await c.step(2, () => expect(rate).toBeGreaterThanOrEqual(THROUGHPUT_FLOOR_APDU_PER_S));
    } finally {
      await h.close();
    }
  },
);
