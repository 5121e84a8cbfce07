// ModemSession against every virtual modem personality (sim/modem) with a fake card:
// detection, the CCHO/CGLA/CCHC mapping, session handles vs channel numbers, CLA
// rewriting, the T=0 procedure both ways, restarts, URCs, spurious ERROR, timeouts,
// the CSIM-only path and the policy refusals (which must send nothing to the modem).
import { afterEach, describe, expect, it } from 'vitest';
import { hexToBytes, toUpperHex } from '../bytes.ts';
import { personalityWith } from '../modem/testing/engine-harness.ts';
import { ok, ScriptedPort } from './testing/scripted-port.ts';
import { AtClient, type AtClientOptions } from './at.ts';
import { ModemSession, parseApduResponseLine, parseCchoLine, cardChannelOfSession, SW_RULES, type ModemSessionOptions, type SessionTraceEvent, ISD_R_AID } from './modem-session.ts';
import { modemRig, type ModemRig, type ModemRigOptions } from '../modem/testing/modem-rig.ts';
import type { Personality } from '../modem/personality.ts';

const USIM_AID = 'A0000000871002FFFFFFFF8907090000';
const OPEN = '0070000001';
const select = (ch: number, aid = ISD_R_AID): string => `0${ch}A4040010${aid}`;
const getEid = (ch: number, cla = 0x80): string => `${(cla | ch).toString(16).toUpperCase()}E2910006BF3E035C015A`;
const close = (ch: number): string => `0070800${ch}00`;
const FCI = `6F1284${'10'}${ISD_R_AID}`;
const EID_ECHO = 'BF3E035C015A9000';

interface Harness {
  rig: ModemRig;
  at: AtClient;
  session: ModemSession;
  trace: SessionTraceEvent[];
  tx(hex: string): Promise<string>;
  /** modem command lines received since the last call */
  newLines(): string[];
  rules(): string[];
}

const harnesses: Harness[] = [];
afterEach(async () => {
  for (const h of harnesses.splice(0)) {
    h.session.dispose();
    h.at.close();
    await h.rig.close();
  }
});

async function start(personality: string | Personality, o: { rig?: ModemRigOptions; session?: ModemSessionOptions; at?: AtClientOptions } = {}): Promise<Harness> {
  const rig = modemRig(personality, o.rig);
  const at = new AtClient(await rig.openPort(), { probeTimeoutMs: 150, probeIntervalMs: 10, rebootWaitMs: 5000, ...o.at });
  const trace: SessionTraceEvent[] = [];
  let session: ModemSession;
  try {
    session = await ModemSession.start(at, { ...o.session, onTrace: (e) => trace.push(e) });
  } catch (err) {
    at.close();
    await rig.close();
    throw err;
  }
  let seen = 0;
  const h: Harness = {
    rig,
    at,
    session,
    trace,
    tx: async (hex) => toUpperHex(await session.transmit(hexToBytes(hex))),
    newLines: () => {
      const all = rig.lines();
      const out = all.slice(seen);
      seen = all.length;
      return out;
    },
    rules: () => trace.flatMap((e) => (e.type === 'decision' && e.rule ? [e.rule] : [])),
  };
  h.newLines();
  harnesses.push(h);
  return h;
}

describe('response parsing', () => {
  it('+CGLA/+CSIM with or without space, either hex case; length counts hex characters', () => {
    expect(toUpperHex(parseApduResponseLine('+CGLA: 4,"9000"', 'CGLA')!)).toBe('9000');
    expect(toUpperHex(parseApduResponseLine('+CGLA:4,"611a"', 'CGLA')!)).toBe('611A');
    expect(toUpperHex(parseApduResponseLine('+CSIM: 6,"019000"', 'CSIM')!)).toBe('019000');
    expect(parseApduResponseLine('+CGLA: 2,"9000"', 'CGLA')).toBeUndefined();
    expect(parseApduResponseLine('+CGLA: 4,"90', 'CGLA')).toBeUndefined();
    expect(parseApduResponseLine('+CSIM: 4,"9000"', 'CGLA')).toBeUndefined();
  });
  it('+CCHO prefixed, bare (Fibocom) and opaque handles (Sierra)', () => {
    expect(parseCchoLine('+CCHO: 1')).toBe('1');
    expect(parseCchoLine('+CCHO:2')).toBe('2');
    expect(parseCchoLine('1')).toBe('1');
    expect(parseCchoLine('+CCHO: 00000000038aa32f')).toBe('00000000038aa32f');
    expect(parseCchoLine('+CCHO: ')).toBeUndefined();
    expect(cardChannelOfSession('1')).toBe(1);
    expect(cardChannelOfSession('19')).toBe(19);
    expect(cardChannelOfSession('00000000038aa32f')).toBeUndefined();
    expect(cardChannelOfSession('0')).toBeUndefined();
  });
});

interface Expect {
  probes: Record<'ccho' | 'cgla' | 'cchc' | 'csim', string>;
  manufacturer: string;
  vendorRevision: string | undefined;
  handle: RegExp;
  /** GET RESPONSE goes over AT (passthrough) or the modem does it */
  bridgeGetResponse: boolean;
  /** CLA the bridge puts in +CGLA for channel 1 STORE DATA */
  cglaCla: string;
}

const PERSONALITIES: Record<string, Expect> = {
  'quectel-ec25j': { probes: { ccho: 'ok', cgla: 'ok', cchc: 'ok', csim: 'ok' }, manufacturer: 'Quectel', vendorRevision: 'EC25JFAR06A03M4G_01.001.01.001', handle: /^1$/, bridgeGetResponse: true, cglaCla: '81' },
  'simcom-a7908e': { probes: { ccho: 'ok', cgla: 'ok', cchc: 'ok', csim: 'ok' }, manufacturer: 'SIMCOM INCORPORATED', vendorRevision: undefined, handle: /^1$/, bridgeGetResponse: true, cglaCla: '81' },
  seiko: { probes: { ccho: 'ok', cgla: 'ok', cchc: 'ok', csim: 'ok' }, manufacturer: 'SEIKO SOLUTIONS INC.', vendorRevision: undefined, handle: /^1$/, bridgeGetResponse: true, cglaCla: '81' },
  'fibocom-fm350': { probes: { ccho: 'ok', cgla: 'ok', cchc: 'ok', csim: 'ok' }, manufacturer: 'Fibocom Wireless Inc.', vendorRevision: '81600.0000.00.29.22.40_5000.0000.050.000.046_E41', handle: /^1$/, bridgeGetResponse: true, cglaCla: '81' },
  'sierra-em7590': { probes: { ccho: 'ok', cgla: 'error', cchc: 'ok', csim: 'ok' }, manufacturer: 'Sierra Wireless, Incorporated', vendorRevision: undefined, handle: /^[0-9a-f]{16}$/, bridgeGetResponse: true, cglaCla: '80' },
};

describe.each(Object.entries(PERSONALITIES))('%s', (name, x) => {
  it('detects +CCHO/+CGLA and reads the identity', async () => {
    const h = await start(name);
    const d = h.session.report.detection;
    expect(d.mode).toBe('ccho');
    expect(d.csim).toBe(true);
    expect(Object.fromEntries(Object.entries(d.probes).map(([k, v]) => [k, v.result]))).toEqual(x.probes);
    const id = h.session.report.identity;
    expect(id.manufacturer).toBe(x.manufacturer);
    expect(id.model).toBe(h.rig.modem.personality.identity.model);
    expect(id.ati).toEqual(h.rig.modem.personality.identity.ati);
    expect(id.vendorRevision).toBe(x.vendorRevision);
    expect(h.rig.modem.state().echo).toBe(false);
    expect(h.rig.modem.state().cmee).toBe(1);
  });

  it('maps MANAGE CHANNEL / SELECT / STORE DATA / close onto CCHO, CGLA, CCHC', async () => {
    const h = await start(name);
    expect(await h.tx(OPEN)).toBe('019000');
    expect(h.newLines()).toEqual([]); // nothing on the modem until the LPA selects
    expect(await h.tx(select(1))).toBe(FCI + '9000');
    const lines = h.newLines();
    expect(lines[0]).toBe(`AT+CCHO="${ISD_R_AID}"`);
    const handle = h.rig.modem.state().sessions[0]!.id;
    expect(handle).toMatch(x.handle);
    expect(lines[1]).toBe(`AT+CGLA=${handle},42,"${x.cglaCla === '81' ? '01' : '00'}A4040010${ISD_R_AID}"`);
    expect(await h.tx(getEid(1))).toBe(EID_ECHO);
    expect(h.newLines()).toEqual([`AT+CGLA=${handle},22,"${x.cglaCla}E2910006BF3E035C015A"`]);
    expect(h.rig.cardApdus().at(-1)).toBe('81E2910006BF3E035C015A'); // the card sees channel 1 either way
    expect(await h.tx(close(1))).toBe('9000');
    expect(h.newLines()).toEqual([`AT+CCHC=${handle}`]);
    expect(h.rig.modem.state().sessions).toEqual([]);
    expect(await h.tx(getEid(1))).toBe('6881');
  });

  it('61xx from a T=0 card: the LPA gets the 61xx and fetches the data with GET RESPONSE (unless the modem did)', async () => {
    const h = await start(name, { rig: { card: { t0: true } } });
    await h.tx(OPEN);
    const selected = await h.tx(select(1));
    if (x.bridgeGetResponse) {
      expect(selected).toBe('6114');
      expect(await h.tx('01C0000014')).toBe(FCI + '9000');
    } else expect(selected).toBe(FCI + '9000');
    h.newLines();
    const r = await h.tx(getEid(1));
    if (x.bridgeGetResponse) {
      const handle = h.rig.modem.state().sessions[0]!.id;
      const chBits = x.cglaCla === '81' ? '01' : '00';
      expect(r).toBe('6106');
      expect(h.newLines()).toEqual([`AT+CGLA=${handle},22,"${x.cglaCla}E2910006BF3E035C015A"`]);
      expect(await h.tx('01C0000006')).toBe(EID_ECHO);
      expect(h.newLines()).toEqual([`AT+CGLA=${handle},10,"${chBits}C0000006"`]);
    } else {
      expect(r).toBe(EID_ECHO);
      expect(h.newLines()).toHaveLength(1);
    }
    expect(h.rig.cardApdus().slice(-2)).toEqual(['81E2910006BF3E035C015A', '01C0000006']);
  });

  it('a 600-byte answer to a short command reaches the LPA in pieces of at most 256 bytes, 61xx between them', async () => {
    const long = pattern(600);
    const h = await start(name, { rig: { card: { storeDataResponse: () => long } } });
    await h.tx(OPEN);
    await h.tx(select(1));
    const pieces: string[] = [];
    let r = await h.tx(getEid(1) + '00');
    for (let i = 0; i < 8 && r.slice(-4, -2) === '61'; i++) {
      pieces.push(r.slice(0, -4));
      r = await h.tx(`01C00000${r.slice(-2)}`);
    }
    pieces.push(r.slice(0, -4));
    expect(r.slice(-4)).toBe('9000');
    expect(pieces.every((p) => p.length <= 512)).toBe(true);
    expect(pieces.join('')).toBe(toUpperHex(long));
    // the modem that fetched the whole answer itself: the bridge serves the pieces from its buffer, no AT for them
    if (!x.bridgeGetResponse) expect(h.rules()).toEqual([]);
    if (!x.bridgeGetResponse) expect(h.trace.filter((e) => e.type === 'decision' && e.what === 't0-reader').length).toBeGreaterThan(1);
  });
});

const pattern = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff);

describe('T=0 reader procedure: the bridge\'s own buffer (modem that runs GET RESPONSE itself)', () => {
  const long = pattern(600);
  // no sourced personality runs GET RESPONSE itself (27.007 8.43 allows it): a test variant of the EM7590
  const autoGetResponse = personalityWith('sierra-em7590', { getResponse: 'modem' });
  const sierra = (session: ModemSessionOptions = {}) => start(autoGetResponse, { rig: { card: { storeDataResponse: () => long } }, session });

  it('serves 256 + 6100, 256 + 6158, 88 + 9000 without AT commands for the GET RESPONSEs', async () => {
    const h = await sierra();
    await h.tx(OPEN);
    await h.tx(select(1));
    h.newLines();
    const hex = toUpperHex(long);
    expect(await h.tx(getEid(1) + '00')).toBe(hex.slice(0, 512) + '6100');
    expect(h.newLines()).toHaveLength(1);
    expect(await h.tx('81C0000000')).toBe(hex.slice(512, 1024) + '6158');
    expect(await h.tx('01C0000058')).toBe(hex.slice(1024) + '9000');
    expect(h.newLines()).toEqual([]);
  });

  it('a GET RESPONSE asking for more than is kept gets 6Cxx; another command drops the kept data', async () => {
    const h = await sierra();
    await h.tx(OPEN);
    await h.tx(select(1));
    await h.tx(getEid(1) + '00');
    await h.tx('01C0000000');
    expect(await h.tx('01C0000060')).toBe('6C58');
    h.newLines();
    expect(await h.tx(getEid(1) + '00')).toBe(toUpperHex(long).slice(0, 512) + '6100');
    expect(h.newLines()).toHaveLength(1);
    expect(h.trace.some((e) => e.type === 'decision' && e.what === 't0-reader' && e.detail.includes('dropped'))).toBe(true);
  });

  it('t0 join hands over the whole answer in one R-APDU (over 256 bytes)', async () => {
    const h = await sierra({ t0: 'join' });
    await h.tx(OPEN);
    await h.tx(select(1));
    expect(await h.tx(getEid(1) + '00')).toBe(toUpperHex(long) + '9000');
  });

  it('the oversized-response defect joins short answers again and says so', async () => {
    const h = await sierra({ defects: ['oversized-response'] });
    await h.tx(OPEN);
    await h.tx(select(1));
    expect(await h.tx(getEid(1) + '00')).toBe(toUpperHex(long) + '9000');
    expect(h.trace.some((e) => e.type === 'decision' && e.what === 'defect:oversized-response' && e.detail === 'channel 1: 600 data bytes in one R-APDU for a short command')).toBe(true);
  });

  it('an extended command is refused with 6700 (no AT) unless extended lengths are announced, then joined', async () => {
    const ext = '81E2910000000' + '6BF3E035C015A' + '0000';
    const refused = await sierra();
    await refused.tx(OPEN);
    await refused.tx(select(1));
    refused.newLines();
    expect(await refused.tx(ext)).toBe('6700');
    expect(refused.newLines()).toEqual([]);
    expect(refused.rules()).toEqual(['extended-not-announced']);
    const allowed = await sierra({ extendedLength: true });
    await allowed.tx(OPEN);
    await allowed.tx(select(1));
    allowed.newLines();
    await allowed.tx(ext); // the fake card knows only short APDUs: whatever it answers goes back
    expect(allowed.newLines()).toEqual([expect.stringMatching(new RegExp(`^AT\\+CGLA=[0-9a-f]+,${ext.length},"${ext.replace('81', '80')}"$`))]);
    expect(allowed.rules()).toEqual([]);
  });
});

describe('T=0 procedure', () => {
  it('with t0 pass, 61xx reaches the LPA untouched', async () => {
    const h = await start('quectel-ec25j', { rig: { card: { t0: true } }, session: { t0: 'pass' } });
    await h.tx(OPEN);
    expect(await h.tx(select(1))).toBe('6114');
    expect(await h.tx('01C0000014')).toBe(FCI + '9000');
  });

  it('t0 join: the bridge runs GET RESPONSE itself and the LPA gets data + 9000', async () => {
    const h = await start('quectel-ec25j', { rig: { card: { t0: true } }, session: { t0: 'join' } });
    await h.tx(OPEN);
    expect(await h.tx(select(1))).toBe(FCI + '9000');
    h.newLines();
    expect(await h.tx(getEid(1))).toBe(EID_ECHO);
    expect(h.newLines()).toEqual([`AT+CGLA=1,22,"81E2910006BF3E035C015A"`, 'AT+CGLA=1,10,"01C0000006"']);
    expect(h.trace.some((e) => e.type === 'decision' && e.what === 't0' && e.detail.includes('6106 -> GET RESPONSE'))).toBe(true);
  });

  it('6Cxx: the bridge resends with the exact Le', async () => {
    const h = await start('seiko', { rig: { card: { t0: true } } });
    // READ BINARY EF.ICCID on the basic channel (via +CSIM) with a wrong Le
    expect(await h.tx('00A4000C023F00')).toBe('9000');
    expect(await h.tx('00A4000C022FE2')).toBe('9000');
    expect(await h.tx('00B0000020')).toBe('98001032547698103214' + '9000');
    expect(h.newLines().slice(-2)).toEqual(['AT+CSIM=10,"00B0000020"', 'AT+CSIM=10,"00B000000A"']);
  });
});

describe('virtual channels', () => {
  it('virtual and card channel numbers differ: CLA is rewritten to the card channel', async () => {
    const h = await start('quectel-ec25j');
    expect(await h.tx(OPEN)).toBe('019000');
    expect(await h.tx(OPEN)).toBe('029000');
    expect(await h.tx(select(2))).toBe(FCI + '9000'); // gets card channel 1
    expect(await h.tx(select(1))).toBe(FCI + '9000'); // gets card channel 2
    h.newLines();
    expect(await h.tx(getEid(1))).toBe(EID_ECHO);
    expect(h.newLines()).toEqual(['AT+CGLA=2,22,"82E2910006BF3E035C015A"']);
    expect(await h.tx(getEid(2))).toBe(EID_ECHO);
    expect(h.newLines()).toEqual(['AT+CGLA=1,22,"81E2910006BF3E035C015A"']);
    expect(h.trace.some((e) => e.type === 'decision' && e.what === 'cla' && e.detail === 'channel 1: CLA 81 -> 82 (card channel 2)')).toBe(true);
  });

  it('refuses APDUs on unopened channels and non-SELECT APDUs on unbound ones, without AT', async () => {
    const h = await start('quectel-ec25j');
    expect(await h.tx(getEid(2))).toBe('6881');
    expect(await h.tx(OPEN)).toBe('019000');
    expect(await h.tx(getEid(1))).toBe('6985');
    expect(await h.tx(close(3))).toBe('6881');
    expect(await h.tx('00708000' + '00')).toBe('6A86');
    expect(await h.tx(OPEN)).toBe('029000');
    expect(await h.tx(OPEN)).toBe('039000');
    expect(await h.tx(OPEN)).toBe('6A81');
    expect(h.newLines()).toEqual([]);
    expect(h.rules()).toEqual(['channel-not-open', 'no-application-selected', 'channel-not-open', 'manage-channel-params', 'no-free-channel']);
  });

  it('basic-channel APDUs go through +CSIM', async () => {
    const h = await start('simcom-sim7600');
    expect(await h.tx(`00A4040010${ISD_R_AID}`)).toBe(FCI + '9000');
    expect(h.newLines()).toEqual([`AT+CSIM=42,"00A4040010${ISD_R_AID}"`]);
  });
});

describe('policy: allow-list and AUTHENTICATE (no AT traffic)', () => {
  it('SELECT of a non-listed AID answers 6A82 on a logical and on the basic channel', async () => {
    const h = await start('quectel-ec25j');
    await h.tx(OPEN);
    expect(await h.tx(select(1, USIM_AID))).toBe('6A82');
    expect(await h.tx(`00A4040010${USIM_AID}`)).toBe('6A82');
    expect(await h.tx(`00A4040007A0000000871002`)).toBe('6A82'); // partial AID: exact match only
    expect(h.newLines()).toEqual([]);
    expect(h.rules()).toEqual(['aid-not-allowed', 'aid-not-allowed', 'aid-not-allowed']);
  });

  it('INS 88/89 answer 6982 on any channel unless allowed', async () => {
    const h = await start('quectel-ec25j');
    await h.tx(OPEN);
    await h.tx(select(1));
    h.newLines();
    expect(await h.tx('0088008111' + '10' + '00'.repeat(16))).toBe('6982');
    expect(await h.tx('018800811110' + '00'.repeat(16))).toBe('6982');
    expect(await h.tx('00890000' + '02' + '0000')).toBe('6982');
    expect(h.newLines()).toEqual([]);
    expect(SW_RULES['authenticate-refused'].sw).toBe(0x6982);
  });

  it('a configured allow-list and allowAuthenticate let those through to the card', async () => {
    const h = await start('quectel-ec25j', { session: { allowAids: [ISD_R_AID, USIM_AID], allowAuthenticate: true } });
    await h.tx(OPEN);
    expect(await h.tx(select(1, USIM_AID))).toMatch(/9000$/);
    expect(await h.tx('018800811110' + '00'.repeat(16))).toBe('6D00'); // the fake card does not know it
  });
});

describe('lengths: one APDU, one AT command', () => {
  it('an extended APDU over maxApduBytes answers 6700 and sends nothing', async () => {
    const h = await start('quectel-ec25j', { session: { extendedLength: true } });
    await h.tx(OPEN);
    await h.tx(select(1));
    h.newLines();
    expect(await h.tx('81E29100' + '00012C' + 'AB'.repeat(300))).toBe('6700');
    expect(h.newLines()).toEqual([]);
    expect(h.rules()).toEqual(['apdu-too-long']);
  });

  it('an AT line over maxLineLength answers 6700', async () => {
    const h = await start('quectel-ec25j', { session: { maxLineLength: 50 } });
    await h.tx(OPEN);
    expect(await h.tx(select(1))).toBe('6700');
    expect(h.newLines()).toEqual([`AT+CCHO="${ISD_R_AID}"`]);
    expect(h.trace.some((e) => e.type === 'decision' && e.rule === 'apdu-too-long' && e.detail.includes('command line of 57 characters exceeds 50'))).toBe(true);
  });

  it('a malformed C-APDU answers 6700 locally', async () => {
    const h = await start('quectel-ec25j');
    expect(await h.tx('00A4040010A000')).toBe('6700');
    expect(h.newLines()).toEqual([]);
  });
});

describe('modem faults', () => {
  it('EC25: a URC in the middle of a +CGLA answer does not disturb the APDU', async () => {
    const h = await start('quectel-ec25j');
    await h.tx(OPEN);
    await h.tx(select(1));
    h.rig.modem.faults.injectUrcInNextResponse('+QIND: SMS DONE');
    expect(await h.tx(getEid(1))).toBe(EID_ECHO);
  });

  it('EC25: a spurious bare ERROR mid-BPP is retried and the card sees the APDU once', async () => {
    const h = await start('quectel-ec25j');
    await h.tx(OPEN);
    await h.tx(select(1));
    h.newLines();
    h.rig.modem.faults.setSpuriousErrorRate(1, 'storeData');
    const before = h.rig.cardApdus().length;
    expect(await h.tx(getEid(1))).toBe(EID_ECHO);
    expect(h.newLines()).toEqual(['AT+CGLA=1,22,"81E2910006BF3E035C015A"', 'AT+CGLA=1,22,"81E2910006BF3E035C015A"']);
    expect(h.rig.cardApdus().length - before).toBe(1);
  });

  it('a bare ERROR with no retries left answers 6F00', async () => {
    const h = await start('quectel-ec25j', { session: { apduRetries: 0 } });
    await h.tx(OPEN);
    await h.tx(select(1));
    h.rig.modem.faults.setSpuriousErrorRate(1, 'storeData');
    expect(await h.tx(getEid(1))).toBe('6F00');
    expect(h.rules()).toEqual(['bare-error']);
  });

  it('card pulled out (+CME ERROR: 10) answers 6F00', async () => {
    const h = await start('quectel-ec25j');
    await h.tx(OPEN);
    await h.tx(select(1));
    await h.rig.modem.faults.removeCard();
    expect(await h.tx(getEid(1))).toBe('6F00');
    expect(h.rules()).toEqual(['cme-no-sim']);
  });

  it('a timed-out APDU answers 6F00; the late answer is discarded and the next APDU is fine', async () => {
    const h = await start('quectel-ec25j', { session: { apduTimeoutMs: 200 } });
    await h.tx(OPEN);
    await h.tx(select(1));
    h.rig.modem.faults.setResponseDelay(400, 1);
    expect(await h.tx(getEid(1))).toBe('6F00');
    expect(h.rules()).toEqual(['at-timeout']);
    expect(await h.tx(getEid(1))).toBe(EID_ECHO);
  });

  it('EC25 restart (RDY, echo back): the LPA channel answers 6881 until re-selected', async () => {
    const h = await start('quectel-ec25j', { rig: { timeScale: 0.001 } });
    await h.tx(OPEN);
    await h.tx(select(1));
    h.newLines();
    await h.rig.modem.faults.reboot();
    await new Promise((r) => setTimeout(r, 20));
    expect(h.session.openChannels()).toEqual({ 1: 'lost' });
    expect(await h.tx(getEid(1))).toBe('6881');
    expect(h.newLines().filter((l) => l.startsWith('AT+CGLA'))).toEqual([]);
    expect(await h.tx(select(1))).toBe(FCI + '9000');
    expect(await h.tx(getEid(1))).toBe(EID_ECHO);
    expect(h.rig.modem.state().echo).toBe(false);
    expect(h.trace.some((e) => e.type === 'modem' && e.event === 'channels-lost' && e.detail.startsWith('RDY'))).toBe(true);
  });

  it('Seiko restart (no URC, only the echo): the failing +CGLA becomes 6881, close needs no AT', async () => {
    const h = await start('seiko', { rig: { timeScale: 0.001 } });
    await h.tx(OPEN);
    await h.tx(select(1));
    await h.rig.modem.faults.reboot();
    expect(await h.tx(getEid(1))).toBe('6881');
    expect(h.rules()).toEqual(['channel-lost']);
    h.newLines();
    expect(await h.tx(close(1))).toBe('9000');
    expect(h.newLines()).toEqual([]);
  });

  it('EC25: +CCHO while the SIM is busy after a restart is retried 250 ms apart', async () => {
    const pers = personalityWith('quectel-ec25j', {
      timing: { baud: 115200, perCommandLatencyMs: 0, commandLatencyMs: {}, restartMs: 20 },
      urcsAfterRestart: [
        { text: 'RDY', atMs: 0 },
        { text: '+CPIN: READY', atMs: 400 },
      ],
    });
    const h = await start(pers, { rig: { timeScale: 1 } });
    await h.tx(OPEN);
    void h.rig.modem.faults.reboot();
    await new Promise((r) => setTimeout(r, 60));
    const t0 = Date.now();
    expect(await h.tx(select(1))).toBe(FCI + '9000');
    const cchos = h.newLines().filter((l) => l.startsWith('AT+CCHO'));
    expect(cchos.length).toBeGreaterThanOrEqual(2);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
  });

  it('+CCHO on a card without ISD-R (+CME ERROR: 13) answers 6A82', async () => {
    const h = await start('quectel-ec25j', { rig: { card: { euicc: false } } });
    await h.tx(OPEN);
    expect(await h.tx(select(1))).toBe('6A82');
    expect(h.rules()).toEqual(['ccho-select-failed']);
  });
});

describe('CSIM-only modems', () => {
  it('SIM7600 without eSIM commands: MANAGE CHANNEL and SELECT go inside +CSIM, CLA keeps the card channel', async () => {
    const h = await start('simcom-sim7600-noesim');
    const d = h.session.report.detection;
    expect(d.mode).toBe('csim');
    expect(d.probes.ccho).toEqual({ result: 'error', final: 'ERROR' });
    expect(await h.tx(OPEN)).toBe('019000');
    expect(await h.tx(select(1))).toBe(FCI + '9000');
    expect(await h.tx(getEid(1))).toBe(EID_ECHO);
    expect(await h.tx(close(1))).toBe('9000');
    expect(h.newLines()).toEqual([
      'AT+CSIM=10,"0070000001"',
      `AT+CSIM=42,"01A4040010${ISD_R_AID}"`,
      'AT+CSIM=22,"81E2910006BF3E035C015A"',
      'AT+CSIM=10,"0070800100"',
    ]);
  });

  it('falls back to +CSIM when a silent +CCHO=? turns out to be unsupported (scripted modem)', async () => {
    const fci = FCI + '9000';
    const port = new ScriptedPort((line, p) => {
      const answers: Record<string, string> = {
        'AT+CMEE?': ok('+CMEE: 1'),
        ATI: ok('Acme', 'M1'),
        'AT+CSIM=?': ok(),
        [`AT+CCHO="${ISD_R_AID}"`]: '\r\n+CME ERROR: 4\r\n',
        'AT+CSIM=10,"0070000001"': ok('+CSIM: 6,"019000"'),
        [`AT+CSIM=42,"01A4040010${ISD_R_AID}"`]: ok(`+CSIM: ${fci.length},"${fci}"`),
        'AT+CSIM=22,"81E2910006BF3E035C015A"': ok('+CSIM: 16,"BF3E035C015A9000"'),
      };
      if (/^AT\+CC..=\?$/.test(line) || /^AT\+CGLA=\?$/.test(line)) return; // silent
      p.reply(answers[line] ?? ok());
    });
    const at = new AtClient(port, { probeTimeoutMs: 50, probeIntervalMs: 5 });
    const trace: SessionTraceEvent[] = [];
    const session = await ModemSession.start(at, { onTrace: (e) => trace.push(e) });
    try {
      expect(session.channelMode).toBe('ccho');
      const tx = async (hex: string): Promise<string> => toUpperHex(await session.transmit(hexToBytes(hex)));
      expect(await tx(OPEN)).toBe('019000');
      expect(await tx(select(1))).toBe(fci);
      expect(session.channelMode).toBe('csim');
      expect(await tx(getEid(1))).toBe(EID_ECHO);
      expect(port.writes.slice(-4)).toEqual([`AT+CCHO="${ISD_R_AID}"\r`, 'AT+CSIM=10,"0070000001"\r', `AT+CSIM=42,"01A4040010${ISD_R_AID}"\r`, 'AT+CSIM=22,"81E2910006BF3E035C015A"\r']);
      expect(trace.some((e) => e.type === 'modem' && e.event === 'mode-fallback')).toBe(true);
    } finally {
      session.dispose();
      at.close();
    }
  });

  it('closeAllChannels closes every bound channel on the modem', async () => {
    const h = await start('quectel-ec25j');
    await h.tx(OPEN);
    await h.tx(OPEN);
    await h.tx(select(1));
    h.newLines();
    await h.session.closeAllChannels('test');
    expect(h.newLines()).toEqual(['AT+CCHC=1']);
    expect(h.session.openChannels()).toEqual({});
  });
});

describe('TERMINAL CAPABILITY gate (synthetic-terminal-capability-gate)', () => {
  it('a +CSIM refused with ERROR before any TERMINAL CAPABILITY: the bridge sends one and the command again', async () => {
    const h = await start('synthetic-terminal-capability-gate');
    expect(h.session.report.detection.mode).toBe('csim');
    expect(await h.tx(OPEN)).toBe('019000');
    // the refused open (with the AT client's own retries of the same line), then TERMINAL CAPABILITY, then the open again
    expect(h.newLines().slice(-2)).toEqual(['AT+CSIM=30,"80AA00000AA9088100820101830107"', 'AT+CSIM=10,"0070000001"']);
    expect(h.rules()).toEqual([]);
    expect(await h.tx(select(1))).toBe(FCI + '9000');
  });

  it("after a modem restart (the card reset behind the LPA's back) the LPA's own TERMINAL CAPABILITY is sent again", async () => {
    const h = await start('synthetic-terminal-capability-gate', { rig: { timeScale: 0.001 } });
    const lpaTc = '80AA000005A903830107';
    expect(await h.tx(lpaTc)).toBe('9000');
    expect(await h.tx(OPEN)).toBe('019000');
    await h.rig.modem.faults.reboot();
    h.newLines();
    expect(await h.tx(OPEN)).toMatch(/^0[1-3]9000$/);
    expect(h.newLines().filter((l) => l.includes('80AA'))).toEqual([`AT+CSIM=${lpaTc.length},"${lpaTc}"`]);
  });
});
