// Helpers of the Bridge transport suites (IUT: the LPA Bridge): raw vpcd sessions to the
// bridge (MANAGE CHANNEL + SELECT ISD-R done by hand, so every byte the LPA sends is the
// case's own), a per-exchange window on the case trace, and the fidelity check that
// compares one LPA exchange (lpa-bridge hop) with what the emulated card received and
// answered on the modem-card hop: same C-APDU with the CLA channel bits normalised (the
// bridge may remap channels, ETSI TS 102 221 10.1.1), and the card's R-APDU - joined over
// its 61xx GET RESPONSE / 6Cxx re-send chain when the T=0 procedure ran between
// (TS 102 221 7.3.1.1.4) - byte for byte in the LPA's answer. The hop-based checks ask the
// case first (CaseRun.observe): on a rig without the emulated card (no modem-card hop) or
// without a fake modem (no AT hop) their step is 'not verifiable', never a comparison with
// the empty data such a rig records.
import { expect } from 'vitest';
import type { ApduTransport } from '../../sim/apdu/apdu.ts';
import { buildCommand, responseData, responseSw } from '../../sim/apdu/apdu.ts';
import { decodeCla, withChannel } from '../../sim/apdu/channels.ts';
import { concatBytes, hexToBytes, toUpperHex } from '../../sim/bytes.ts';
import type { VpcdReaderTransport } from '../../sim/lpa/vpcd-transport.ts';
import type { Trace } from '../../sim/trace/trace.ts';
import type { CaseRun } from '../framework/case.ts';
import type { RigRuntime } from '../framework/rig-runtime.ts';
import { cleanCard } from '../framework/fixtures.ts';

export { cleanCard };

export const GROUP = 'Bridge transport' as const;

import { ISD_R_AID_HEX } from '../../sim/apdu/aids.ts';

export { ECASD_AID_HEX as ECASD_AID, ISD_R_AID_HEX as ISD_R_AID } from '../../sim/apdu/aids.ts';
/** ES10c.GetEID request (SGP.22 5.7.20): BF3E { 5C 5A } */
export const GET_EID = hexToBytes('BF3E035C015A');
/** ES10c.GetProfilesInfo request without search criteria (SGP.22 5.7.15) */
export const GET_PROFILES_INFO = hexToBytes('BF2D00');

export const INS_STORE_DATA = 0xe2;

export const hex = (b: Uint8Array): string => toUpperHex(b);
export const swOf = (r: Uint8Array): number => responseSw(r);
export const swHex = (r: Uint8Array): string => responseSw(r).toString(16).toUpperCase().padStart(4, '0');
export { setTimeout as sleep } from 'node:timers/promises';

/** The 2-byte R-APDU of a status word alone. */
export const swBytes = (sw: number): Uint8Array => Uint8Array.of(sw >> 8, sw & 0xff);

// ---------------------------------------------------------------------------------------
// Commands

/** CLA of a GlobalPlatform STORE DATA on `channel` ('80' | channel, TS 102 221 10.1.1). */
export const storeDataCla = (channel: number): number => withChannel(0x80, channel);
/** CLA of an interindustry command (SELECT, MANAGE CHANNEL) on `channel`. */
export const isoCla = (channel: number): number => withChannel(0x00, channel);

/** SELECT by AID (P1 04, P2 00) with Le 00. */
export function selectAid(channel: number, aidHex: string, le: number | undefined = 256): Uint8Array {
  return buildCommand({ cla: isoCla(channel), ins: 0xa4, p1: 0x04, p2: 0x00, data: hexToBytes(aidHex), ...(le !== undefined ? { le } : {}) });
}

/** One complete single-block ES10 command: STORE DATA P1 91 (last block), P2 00, Le 00 unless `le` is null. */
export function storeDataLast(channel: number, payload: Uint8Array, le: number | null = 256): Uint8Array {
  return buildCommand({ cla: storeDataCla(channel), ins: INS_STORE_DATA, p1: 0x91, p2: 0x00, data: payload, ...(le !== null ? { le } : {}) });
}

/** GetEID on `channel` as one STORE DATA block with Le 00. */
export const getEidApdu = (channel: number): Uint8Array => storeDataLast(channel, GET_EID);

/** What GetEID answers: BF3E 12 5A 10 <EID> 9000. */
export const getEidAnswer = (eid: string): string => `BF3E125A10${eid}9000`.toUpperCase();

/**
 * The LPA got the card's GetEID answer: exactly, when the rig knows the card's EID; else
 * only its form can be checked (SGP.29 EID: 89 + 30 digits) and the step is not verifiable.
 */
export function expectEid(c: CaseRun, rt: RigRuntime, rapdu: Uint8Array, what = 'GetEID'): void {
  if (c.observe('cardEid', `${what} answered the card's EID`)) expect(hex(rapdu), what).toBe(getEidAnswer(rt.cardEid!));
  else expect(hex(rapdu), what).toMatch(/^BF3E125A1089[0-9]{30}9000$/);
}

export const MANAGE_CHANNEL_OPEN = hexToBytes('0070000001');
export const manageChannelClose = (channel: number): Uint8Array => Uint8Array.of(0x00, 0x70, 0x80, channel, 0x00);

/** Deterministic filler bytes (never all-equal, so a shifted or truncated copy is visible). */
export function pattern(length: number, seed = 0): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (seed * 31 + i * 7 + (i >> 8) * 13 + 1) & 0xff;
  return out;
}

/** The C-APDU with the logical channel bits of a structured CLA cleared (channel 0 coding). */
export function normalised(capdu: Uint8Array): Uint8Array {
  const out = Uint8Array.from(capdu);
  const info = decodeCla(capdu[0] ?? 0);
  if (info.structured) out[0] = withChannel(capdu[0]!, 0);
  return out;
}

/** Logical channel a CLA codes (0 for an unstructured class). */
export function channelOfCla(cla: number): number {
  const info = decodeCla(cla);
  return info.structured ? info.channel : 0;
}

// ---------------------------------------------------------------------------------------
// Sessions

export interface RawSession {
  t: VpcdReaderTransport;
  /** the logical channel the bridge answered to MANAGE CHANNEL open */
  channel: number;
  /** the whole R-APDU of the SELECT (FCI and SW) */
  select: Uint8Array;
  close(): Promise<void>;
}

/** Open a logical channel on a raw connection and SELECT an AID (default the ISD-R) on it; both must answer 9000. */
export async function openChannel(t: ApduTransport, aidHex: string = ISD_R_AID_HEX): Promise<{ channel: number; select: Uint8Array }> {
  const open = await t.transmit(MANAGE_CHANNEL_OPEN);
  if (open.length !== 3 || swOf(open) !== 0x9000) throw new Error(`MANAGE CHANNEL open answered ${hex(open)}`);
  const channel = open[0]!;
  const select = await t.transmit(selectAid(channel, aidHex));
  if (swOf(select) !== 0x9000) throw new Error(`SELECT ${aidHex} on channel ${channel} answered ${hex(select)}`);
  return { channel, select };
}

/** A raw LPA session: connection, channel and the ISD-R selected on it. */
export async function openRawSession(rt: RigRuntime, options: { aid?: string; commandTimeoutMs?: number } = {}): Promise<RawSession> {
  const t = await rt.connectPowered(options.commandTimeoutMs !== undefined ? { commandTimeoutMs: options.commandTimeoutMs } : {});
  try {
    const { channel, select } = await openChannel(t, options.aid);
    return { t, channel, select, close: () => t.close() };
  } catch (err) {
    await t.close();
    throw err;
  }
}

/**
 * A case body run on a raw LPA session (the ISD-R selected on a logical channel), set up
 * as the case's set-up step; afterwards whatever the case switched on is undone: modem
 * faults cleared, the session closed and, with `cleanCardAfter`, a clean card for the
 * next case.
 */
export async function withRawSession(
  c: CaseRun,
  rt: RigRuntime,
  body: (s: RawSession) => Promise<void>,
  options: { aid?: string; commandTimeoutMs?: number; cleanCardAfter?: boolean } = {},
): Promise<void> {
  const { cleanCardAfter, ...session } = options;
  const s = await c.setup('LPA session with the ISD-R selected', () => openRawSession(rt, session));
  try {
    await body(s);
  } finally {
    rt.modem?.faults.clear();
    await s.close();
    if (cleanCardAfter) await cleanCard(rt);
  }
}

/** A new LPA session reads the EID: the bridge serves the next LPA normally. */
export async function nextLpaWorks(c: CaseRun, rt: RigRuntime): Promise<void> {
  const s = await openRawSession(rt);
  try {
    expectEid(c, rt, await s.t.transmit(getEidApdu(s.channel)), 'GetEID of the next LPA');
  } finally {
    await s.close();
  }
}

// ---------------------------------------------------------------------------------------
// Trace windows

export interface CardApdu {
  command: Uint8Array;
  response: Uint8Array;
}

export interface TraceWindow {
  /** modem-card APDU exchanges since the window opened */
  card(): CardApdu[];
  /** AT command lines the bridge sent since the window opened */
  atSent(): string[];
  /** AT response/URC blocks the modem sent since the window opened */
  atReceived(): string[];
}

/** Events of `trace` from now on. */
export function windowOn(trace: Trace): TraceWindow {
  const from = trace.events.length;
  const slice = () => trace.events.slice(from);
  return {
    card: () => slice().flatMap((e) => (e.kind === 'apdu' && e.hop === 'modem-card' ? [{ command: e.command, response: e.response }] : [])),
    atSent: () => slice().flatMap((e) => (e.kind === 'at' && e.direction === 'to-modem' ? [e.line] : [])),
    atReceived: () => slice().flatMap((e) => (e.kind === 'at' && e.direction === 'from-modem' ? [e.line] : [])),
  };
}

/** AT commands that reach the card (27.007 8.17 +CSIM, 8.45 +CCHO, 8.43 +CGLA). */
export const cardAtCommands = (lines: string[]): string[] => lines.filter((l) => /^AT\+(CSIM|CCHO|CGLA)=/i.test(l));

export interface Relayed {
  /** the case the exchange belongs to (its checks ask it what the rig can observe) */
  run: CaseRun;
  capdu: Uint8Array;
  rapdu: Uint8Array;
  card: CardApdu[];
  atSent: string[];
  atReceived: string[];
  ms: number;
}

/** One LPA exchange with the card and AT traffic it caused. */
export async function relay(c: CaseRun, t: ApduTransport, capdu: Uint8Array): Promise<Relayed> {
  const w = windowOn(c.trace);
  const started = performance.now();
  const rapdu = await t.transmit(capdu);
  const ms = performance.now() - started;
  return { run: c, capdu, rapdu, card: w.card(), atSent: w.atSent(), atReceived: w.atReceived(), ms };
}

/**
 * Send `capdu` and, as a T=0 reader's LPA does, fetch what a 61xx announces with GET
 * RESPONSE (class 00, same channel) until the final SW; every piece must carry at most
 * 256 data bytes (ISO/IEC 7816-3 12.1.3, ETSI TS 102 221 7.3.1.1.4). Returns data || SW.
 */
export async function transmitFetching(t: ApduTransport, capdu: Uint8Array): Promise<Uint8Array> {
  const channel = channelOfCla(capdu[0] ?? 0);
  let r = await t.transmit(capdu);
  const parts: Uint8Array[] = [];
  for (let i = 0; i < 300 && swOf(r) >> 8 === 0x61; i++) {
    expect(r.length - 2, `data bytes of a piece of the answer to ${hex(capdu).slice(0, 16)}`).toBeLessThanOrEqual(256);
    parts.push(responseData(r));
    r = await t.transmit(buildCommand({ cla: withChannel(0x00, channel), ins: 0xc0, p1: 0, p2: 0, le: swOf(r) & 0xff || 256 }));
  }
  expect(r.length - 2, `data bytes of the last piece of the answer to ${hex(capdu).slice(0, 16)}`).toBeLessThanOrEqual(256);
  return concatBytes(...parts, r);
}

/** relay() with the answer fetched over its 61xx pieces (transmitFetching). */
export async function relayFetched(c: CaseRun, t: ApduTransport, capdu: Uint8Array): Promise<Relayed> {
  return relay(c, { transmit: (x) => transmitFetching(t, x), reset: () => t.reset(), close: () => t.close() }, capdu);
}

/** The bridge answered by itself: no AT command towards the card, and the card saw nothing. */
export function expectNoCardAccess(x: Relayed): void {
  if (x.run.observe('atLines', `no AT command towards the card for ${hex(x.capdu)}`)) expect(cardAtCommands(x.atSent), `AT commands towards the card for ${hex(x.capdu)}`).toEqual([]);
  if (x.run.observe('cardSide', `no APDU at the card for ${hex(x.capdu)}`)) expect(x.card.map((e) => hex(e.command)), `APDUs the card received for ${hex(x.capdu)}`).toEqual([]);
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((v, i) => v === b[i]);

/** Le of a short C-APDU of case 2/4 (undefined for case 1/3). */
function shortLe(capdu: Uint8Array): number | undefined {
  if (capdu.length === 5) return capdu[4] === 0 ? 256 : capdu[4];
  if (capdu.length > 5 && capdu.length === 6 + capdu[4]!) return capdu[capdu.length - 1] === 0 ? 256 : capdu[capdu.length - 1];
  return undefined;
}

export interface FaithfulOptions {
  /** the command must reach the card exactly once (default true) */
  once?: boolean;
}

/**
 * The card received the LPA's command (channel bits normalised) and the LPA got the card's
 * answer unchanged: its R-APDU, or data joined over the 61xx/6Cxx chain that followed it
 * on the same channel when the bridge (or the modem) ran the T=0 procedure. Returns the
 * index of the card exchange that carried the command (-1 when the rig cannot see the
 * modem-card hop: the step is then not verifiable).
 */
export function expectFaithful(x: Relayed, options: FaithfulOptions = {}): number {
  if (!x.run.observe('cardSide', `the card received ${hex(x.capdu)} and its answer reached the LPA unchanged`)) return -1;
  const want = normalised(x.capdu);
  const hits = x.card.map((e, i) => (sameBytes(normalised(e.command), want) ? i : -1)).filter((i) => i >= 0);
  expect(hits.length, `the card received ${hex(want)} (channel-normalised); it received ${x.card.map((e) => hex(e.command)).join(', ') || 'nothing'}`).toBeGreaterThan(0);
  if (options.once ?? true) expect(hits.length, `${hex(want)} reached the card ${hits.length} times`).toBe(1);
  const first = hits[hits.length - 1]!;
  const start = x.card[first]!;
  const lpaSw = swOf(x.rapdu);
  // a bridge that leaves the T=0 procedure to the LPA passes the first answer through
  if (lpaSw >> 8 === 0x61 || lpaSw >> 8 === 0x6c) {
    expect(hex(x.rapdu), 'R-APDU passed through (61xx/6Cxx left to the LPA)').toBe(hex(start.response));
    return first;
  }
  const channel = channelOfCla(start.command[0]!);
  const parts: Uint8Array[] = [];
  let i = first;
  let r = start.response;
  let command = start.command;
  for (;;) {
    const s = swOf(r);
    if (s >> 8 === 0x6c) {
      const next = x.card[i + 1];
      const le = (s & 0xff) === 0 ? 256 : s & 0xff;
      expect(next, `6Cxx from the card for ${hex(command)} was followed by a re-send`).toBeDefined();
      expect(sameBytes(normalised(next!.command.subarray(0, 4)), normalised(command.subarray(0, 4))), `re-send after ${swHex(r)} has the same header`).toBe(true);
      expect(shortLe(next!.command), `re-send after ${swHex(r)} carries Le=${le}`).toBe(le);
      i++;
      command = next!.command;
      r = next!.response;
      continue;
    }
    if (s >> 8 === 0x61) {
      parts.push(responseData(r));
      const next = x.card[i + 1];
      expect(next, `61xx from the card was followed by GET RESPONSE`).toBeDefined();
      expect(next!.command[1], `command after ${swHex(r)} is GET RESPONSE`).toBe(0xc0);
      expect(channelOfCla(next!.command[0]!), 'GET RESPONSE on the same card channel').toBe(channel);
      i++;
      command = next!.command;
      r = next!.response;
      continue;
    }
    parts.push(r);
    break;
  }
  const expected = concatBytes(...parts);
  expect(hex(x.rapdu), `the LPA got the card's answer to ${hex(x.capdu)} unchanged`).toBe(hex(expected));
  return first;
}

/** Fail with a readable message unless the LPA got exactly `expectedHex`. */
export function expectRapdu(x: Relayed, expectedHex: string, what: string): void {
  expect(hex(x.rapdu), what).toBe(expectedHex.toUpperCase());
}

/**
 * When the modem passed a 61xx answer up (+CGLA/+CSIM data ending 61xx), the rest must
 * have been fetched with GET RESPONSE (xx C0 00 00 Le) on the AT link: the LPA's, which
 * the bridge forwards as a T=0 reader, or the bridge's own. Returns whether the
 * modem passed 61xx up (false: the modem ran the procedure itself, e.g. Sierra, or the rig
 * cannot see the AT lines).
 */
export function expectBridgeGetResponse(x: Relayed): boolean {
  if (!x.run.observe('atLines', 'the bridge sent GET RESPONSE after the modem passed 61xx up')) return false;
  const passed61 = x.atReceived.some((block) => /\+C(?:GLA|SIM):\s*\d+\s*,\s*"[0-9A-F]*61[0-9A-F]{2}"/i.test(block));
  if (!passed61) return false;
  const getResponses = cardAtCommands(x.atSent).filter((l) => /"[0-9A-F]{2}C00000[0-9A-F]{2}"$/i.test(l));
  expect(getResponses.length, 'GET RESPONSE commands the bridge sent after the modem passed 61xx up').toBeGreaterThan(0);
  return true;
}
