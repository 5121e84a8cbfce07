// The deliberate defects of defects.ts, each on its own, against a virtual EC25 (CLA passed
// through to the card, +CCHO/+CGLA) with the fake card: what the broken bridge sends to the
// modem and answers to the LPA, that every defect leaves a 'defect:<name>' trace, that no
// defect is on by default and that unknown names are refused. The whole-suite proof that
// certify catches each defect is cli/broken-bridge.test.ts.
import { afterEach, describe, expect, it } from 'vitest';
import { hexToBytes, toUpperHex } from '../bytes.ts';
import { buildAtr, parseAtr } from '../apdu/atr.ts';
import { connectVpcdReader, type VpcdReaderTransport } from '../lpa/vpcd-transport.ts';
import { AtClient } from './at.ts';
import { startBridge, BridgeStartError, type BridgeTraceEvent } from './bridge.ts';
import { BridgeDefects, DEFECT_NAMES, DefectError, parseDefectNames, SPLIT_OVER_HEX_CHARS, TRUNCATE_ANSWER_BYTES, type DefectName } from './defects.ts';
import { ISD_R_AID, ModemSession, SessionConfigError, type SessionTraceEvent } from './modem-session.ts';
import { modemRig, type ModemRig } from '../modem/testing/modem-rig.ts';
import { personalityWith } from '../modem/testing/engine-harness.ts';
import type { Personality } from '../modem/personality.ts';
import type { FakeCardOptions } from '../modem/testing/fake-card.ts';

const USIM_AID = 'A0000000871002FFFFFFFF8907090000';
const OPEN = '0070000001';
const SELECT1 = `01A4040010${ISD_R_AID}`;
const FCI = `6F128410${ISD_R_AID}`;
/** GetEID as case 3 (the fake T=0 card answers 6106 and waits for GET RESPONSE) */
const GETEID1 = '81E2910006BF3E035C015A';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Harness {
  rig: ModemRig;
  trace: SessionTraceEvent[];
  tx(hex: string): Promise<string>;
  /** modem command lines since the last call */
  newLines(): string[];
  /** defect names that acted, in order */
  applied(): string[];
}

async function session(defects: DefectName[], t0 = true, personality: string | Personality = 'quectel-ec25j', card: FakeCardOptions = {}): Promise<Harness> {
  const rig = modemRig(personality, { card: { t0, ...card } });
  // the AT client as startBridge builds it: the line-reader defects act there
  const at = new AtClient(await rig.openPort(), { probeTimeoutMs: 150, probeIntervalMs: 10, naive: new BridgeDefects(defects).lineHandling() });
  const trace: SessionTraceEvent[] = [];
  const s = await ModemSession.start(at, { defects, onTrace: (e) => trace.push(e) });
  cleanups.push(async () => {
    s.dispose();
    at.close();
    await rig.close();
  });
  let seen = rig.lines().length;
  return {
    rig,
    trace,
    tx: async (hex) => toUpperHex(await s.transmit(hexToBytes(hex))),
    newLines: () => {
      const all = rig.lines();
      const out = all.slice(seen);
      seen = all.length;
      return out;
    },
    applied: () => trace.flatMap((e) => (e.type === 'decision' && e.what.startsWith('defect:') ? [e.what.slice('defect:'.length)] : [])),
  };
}

describe('defect names', () => {
  it('are validated, deduplicated and off unless named', () => {
    expect(parseDefectNames(['split-bpp', 'split-bpp', 'mangle-61xx'])).toEqual(['split-bpp', 'mangle-61xx']);
    expect(() => parseDefectNames(['drop-everything'])).toThrow(DefectError);
    expect(() => parseDefectNames(['drop-everything'])).toThrow(/known: drop-get-response, mangle-61xx/);
    expect(new BridgeDefects().active).toBe(false);
    expect(new BridgeDefects([...DEFECT_NAMES]).names).toEqual([...DEFECT_NAMES]);
  });

  it('an unknown defect stops the session and the bridge from starting', async () => {
    const rig = modemRig('quectel-ec25j');
    cleanups.push(() => rig.close());
    const at = new AtClient(await rig.openPort(), { probeTimeoutMs: 150 });
    cleanups.push(async () => at.close());
    await expect(ModemSession.start(at, { defects: ['nope' as DefectName] })).rejects.toThrow(SessionConfigError);
    await expect(startBridge({ serial: { path: rig.path, baudRate: 115200, binding: rig.binding }, listen: { host: '127.0.0.1', port: 0 }, defects: ['nope' as DefectName] })).rejects.toThrow(BridgeStartError);
  });
});

describe('each defect on its own', () => {
  it('drop-get-response: the LPA gets the bare 61xx, and its own GET RESPONSE is refused 6D00 without AT', async () => {
    const h = await session(['drop-get-response']);
    await h.tx(OPEN);
    expect(await h.tx(SELECT1)).toBe('6114');
    h.newLines();
    expect(await h.tx('01C0000014')).toBe('6D00');
    expect(h.newLines()).toEqual([]);
    expect(await h.tx(GETEID1)).toBe('6106');
    expect(h.newLines()).toEqual(['AT+CGLA=1,22,"81E2910006BF3E035C015A"']);
    expect(h.applied()).toEqual(['drop-get-response', 'drop-get-response', 'drop-get-response']);
  });

  it('mangle-61xx: 61xx becomes 9000 with the data of the first answer only', async () => {
    const h = await session(['mangle-61xx']);
    await h.tx(OPEN);
    expect(await h.tx(SELECT1)).toBe('9000');
    h.newLines();
    expect(await h.tx(GETEID1)).toBe('9000');
    expect(h.newLines()).toEqual(['AT+CGLA=1,22,"81E2910006BF3E035C015A"']);
    expect(h.applied()).toEqual(['mangle-61xx', 'mangle-61xx']);
  });

  it(`split-bpp: a STORE DATA over ${SPLIT_OVER_HEX_CHARS} hex characters goes out as two blocks; 126 bytes go whole`, async () => {
    const h = await session(['split-bpp'], false);
    await h.tx(OPEN);
    await h.tx(SELECT1);
    h.newLines();
    const data120 = 'AB'.repeat(120);
    expect(await h.tx(`81E2110078${data120}00`)).toBe(`${data120}9000`);
    expect(h.newLines()).toEqual([`AT+CGLA=1,252,"81E2110078${data120}00"`]);
    const data = Array.from({ length: 200 }, (_, i) => (i & 0xff).toString(16).padStart(2, '0').toUpperCase()).join('');
    const r = await h.tx(`81E29102C8${data}00`);
    expect(r).toBe(`${data.slice(200)}9000`); // the answer to the second half only
    expect(h.newLines()).toEqual([`AT+CGLA=1,210,"81E2110264${data.slice(0, 200)}"`, `AT+CGLA=1,212,"81E2910264${data.slice(200)}00"`]);
    expect(h.applied()).toEqual(['split-bpp']);
  });

  it('ignore-allowlist: SELECT of a foreign AID goes to the modem', async () => {
    const h = await session(['ignore-allowlist'], false);
    await h.tx(OPEN);
    const r = await h.tx(`01A4040010${USIM_AID}`);
    expect(h.newLines()[0]).toBe(`AT+CCHO="${USIM_AID}"`);
    expect(r.slice(-4)).toBe('9000'); // the fake card has this USIM
    expect(h.applied()).toEqual(['ignore-allowlist']);
  });

  it('status-word-rewrite: every SW but 9000 becomes a bare 6F00, bridge decisions included', async () => {
    const h = await session(['status-word-rewrite'], false);
    expect(await h.tx('82E2910006BF3E035C015A')).toBe('6F00'); // 6881 from the bridge
    expect(await h.tx(OPEN)).toBe('019000');
    expect(await h.tx(SELECT1)).toBe(`${FCI}9000`);
    expect(await h.tx('81E2910006BF3E035C015A')).toBe('BF3E035C015A9000');
    expect(await h.tx('01A4040010' + USIM_AID)).toBe('6F00'); // 6A82 from the bridge
    expect(h.applied()).toEqual(['status-word-rewrite', 'status-word-rewrite']);
  });

  it('drop-channel-bits: CLA reaches the modem with channel 0 (a modem that passes CLA through)', async () => {
    const h = await session(['drop-channel-bits'], false, personalityWith('quectel-ec25j', { cglaSetsChannelInCla: false }));
    await h.tx(OPEN);
    await h.tx(SELECT1);
    h.newLines();
    expect(await h.tx('81E2910006BF3E035C015A')).toBe('BF3E035C015A9000');
    expect(h.newLines()).toEqual(['AT+CGLA=1,22,"80E2910006BF3E035C015A"']);
    expect(h.rig.cardApdus().at(-1)).toBe('80E2910006BF3E035C015A');
    expect(h.applied()).toEqual(['drop-channel-bits', 'drop-channel-bits']);
  });

  it('interleave-lpas: a second LPA is served at once and its reset closes the first one channel', async () => {
    const rig = modemRig('quectel-ec25j');
    cleanups.push(() => rig.close());
    const trace: BridgeTraceEvent[] = [];
    const bridge = await startBridge({
      serial: { path: rig.path, baudRate: 115200, binding: rig.binding },
      listen: { host: '127.0.0.1', port: 0 },
      at: { probeTimeoutMs: 150 },
      defects: ['interleave-lpas'],
      onTrace: (e) => trace.push(e),
    });
    cleanups.push(() => bridge.close());
    const reader = async (): Promise<VpcdReaderTransport> => {
      const t = await connectVpcdReader('127.0.0.1', bridge.address!.port, { commandTimeoutMs: 5000 });
      cleanups.push(() => t.close());
      return t;
    };
    const tx = async (t: VpcdReaderTransport, hex: string): Promise<string> => toUpperHex(await t.transmit(hexToBytes(hex)));
    const a = await reader();
    expect(await tx(a, OPEN)).toBe('019000');
    expect(await tx(a, SELECT1)).toBe(`${FCI}9000`);
    const b = await reader();
    await b.reset();
    expect(await tx(a, '81E2910006BF3E035C015A')).toBe('6881');
    expect(trace.some((e) => e.type === 'decision' && e.what === 'defect:interleave-lpas')).toBe(true);
    expect(trace.some((e) => e.type === 'bridge' && e.event === 'started' && e.detail.includes('DELIBERATE DEFECTS: interleave-lpas'))).toBe(true);
  });
});

describe('modem-side defects (the AT line handling of a naive port)', () => {
  const GETEID = '81E2910006BF3E035C015A';
  const EID_ANSWER = 'BF3E035C015A9000';
  const ready = async (defects: DefectName[], card: FakeCardOptions = {}): Promise<Harness> => {
    const h = await session(defects, false, 'quectel-ec25j', card);
    expect(await h.tx(OPEN)).toBe('019000');
    expect(await h.tx(SELECT1)).toBe(`${FCI}9000`);
    h.newLines();
    return h;
  };

  it('urc-as-answer: a URC inside the +CGLA answer is read as the answer (6F00); the careful bridge re-joins the line', async () => {
    const careful = await ready([]);
    careful.rig.modem.faults.injectUrcInNextResponse('+QIND: SMS DONE');
    expect(await careful.tx(GETEID)).toBe(EID_ANSWER);
    const h = await ready(['urc-as-answer']);
    h.rig.modem.faults.injectUrcInNextResponse('+QIND: SMS DONE');
    expect(await h.tx(GETEID)).toBe('6F00');
    expect(h.applied()).toContain('urc-as-answer');
    expect(await h.tx(GETEID)).toBe(EID_ANSWER); // no URC, no harm
  });

  it('no-echo-handling: after a modem restart ATE0 is not sent again and the echo is read as the answer', async () => {
    const careful = await ready([]);
    const selectBasic = `00A4040010${ISD_R_AID}`;
    await careful.rig.modem.faults.reboot();
    // the careful bridge takes the echo for a restart sign and re-initialises before the next command
    expect(await careful.tx(selectBasic)).toBe(`${FCI}9000`);
    expect(await careful.tx(selectBasic)).toBe(`${FCI}9000`);
    expect(careful.newLines()).toContain('ATE0');
    const h = await ready(['no-echo-handling']);
    await h.rig.modem.faults.reboot();
    expect(await h.tx(selectBasic)).toBe('6F00');
    expect(await h.tx(selectBasic)).toBe('6F00');
    expect(h.newLines()).not.toContain('ATE0');
    expect(h.applied()).toContain('no-echo-handling');
  });

  it('no-retry-error: a spurious bare ERROR reaches the LPA as 6F00; the careful bridge retries and gets the answer', async () => {
    const careful = await ready([]);
    careful.rig.modem.faults.setSpuriousErrorRate(1, 'all');
    expect(await careful.tx(GETEID)).toBe(EID_ANSWER);
    expect(careful.newLines()).toEqual([`AT+CGLA=1,22,"${GETEID}"`, `AT+CGLA=1,22,"${GETEID}"`]);
    const h = await ready(['no-retry-error']);
    h.rig.modem.faults.setSpuriousErrorRate(1, 'all');
    expect(await h.tx(GETEID)).toBe('6F00');
    expect(h.newLines()).toEqual([`AT+CGLA=1,22,"${GETEID}"`]);
    expect(h.applied()).toEqual(['no-retry-error']);
  });

  it('leak-channels: MANAGE CHANNEL close never reaches the modem (+CCHC)', async () => {
    const careful = await ready([]);
    expect(await careful.tx('01708001')).toBe('9000');
    expect(careful.newLines()).toEqual(['AT+CCHC=1']);
    const h = await ready(['leak-channels']);
    expect(await h.tx('01708001')).toBe('9000');
    expect(h.newLines()).toEqual([]);
    expect(h.applied()).toEqual(['leak-channels']);
  });

  it('cme-error-as-9000: +CME ERROR (card removed) reaches the LPA as 9000; the careful bridge answers 6F00', async () => {
    const careful = await ready([]);
    await careful.rig.modem.faults.removeCard();
    expect(await careful.tx(GETEID)).not.toBe('9000');
    const h = await ready(['cme-error-as-9000']);
    await h.rig.modem.faults.removeCard();
    expect(await h.tx(GETEID)).toBe('9000');
    expect(h.applied()).toEqual(['cme-error-as-9000']);
  });

  it(`truncate-long-answers: an answer over ${TRUNCATE_ANSWER_BYTES} bytes loses its tail and status word`, async () => {
    const long = (data: Uint8Array): Uint8Array => Uint8Array.from({ length: 300 }, (_, i) => (data[0]! + i) & 0xff);
    const careful = await ready([], { storeDataResponse: long });
    // 300 bytes: the card answers 6100, its GET RESPONSE 256 bytes + 612C (258 bytes on the line)
    expect(await careful.tx('81E2910003BF2000')).toBe('6100');
    const r = await careful.tx('01C0000000');
    expect(r.length).toBe(2 * 258);
    expect(r.slice(-4)).toBe('612C');
    const h = await ready(['truncate-long-answers'], { storeDataResponse: long });
    expect(await h.tx('81E2910003BF2000')).toBe('6100');
    expect(await h.tx('01C0000000')).toBe(r.slice(0, 2 * TRUNCATE_ANSWER_BYTES));
    expect(h.applied()).toEqual(['truncate-long-answers']);
  });

  it('drop-le: a case 4 command reaches the card as case 3; case 3 and case 2 go unchanged', async () => {
    const h = await ready(['drop-le']);
    await h.tx(`81E2110003AABBCC00`);
    expect(h.rig.cardApdus().at(-1)).toBe('81E2110003AABBCC');
    await h.tx(`81E2110002AABB`);
    expect(h.rig.cardApdus().at(-1)).toBe('81E2110002AABB');
    expect(h.applied()).toEqual(['drop-le']);
  });

  it('atr-no-tck: the bridge announces its ATR without TCK, which no longer parses', async () => {
    const rig = modemRig('quectel-ec25j');
    cleanups.push(() => rig.close());
    const bridge = await startBridge({ serial: { path: rig.path, baudRate: 115200, binding: rig.binding }, listen: { host: '127.0.0.1', port: 0 }, at: { probeTimeoutMs: 150 }, defects: ['atr-no-tck'] });
    cleanups.push(() => bridge.close());
    const t = await connectVpcdReader('127.0.0.1', bridge.address!.port, { commandTimeoutMs: 5000 });
    cleanups.push(() => t.close());
    const atr = await t.getAtr();
    expect(toUpperHex(atr)).toBe(toUpperHex(buildAtr().slice(0, -1)));
    expect(() => parseAtr(atr)).toThrow();
  });
});
