// Campaigns `vpcd-bridge` and `vpcd-card`: malformed vsmartcard vpcd traffic from the LPA
// side (vsmartcard's vpcd protocol: 2-byte big-endian length + payload; 1-byte control 00/01/02/04)
// over loopback TCP into (a) the reference bridge (startBridge, listen mode, its modem a
// well-behaved scripted port) and (b) the card-side endpoint sim/vpcd/card-side.ts serving
// the software eUICC. Frames: valid LPA APDUs, control bytes (known and unknown), 0..3-byte
// payloads, oversized APDUs, several frames per write and frames split over writes; raw
// episodes add length fields that do not match their data (desynchronised streams) and
// random bytes.
//
// Checked per frame (clean episodes): exactly one answer frame for a payload of 2 bytes or
// more and for GET ATR, none for the other control bytes and the empty payload, within
// the watchdog; an R-APDU has SW1-SW2 of sim/apdu/sw.ts, 2-3-byte payloads get 6700. Raw episodes: the
// endpoint answers or closes, never crashes. After every episode the fuzz connection is
// dropped and a valid LPA (the sim/lpa vpcd reader) must connect and run MANAGE CHANNEL,
// SELECT ISD-R and GetEID with the exact answers.
import { connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { responseSw, SW } from '../../sim/apdu/apdu.ts';
import { hexToBytes, toUpperHex } from '../../sim/bytes.ts';
import { startBridge, type Bridge } from '../../sim/bridge/bridge.ts';
import { ISD_R_AID } from '../../sim/bridge/modem-session.ts';
import { ScriptedPort } from '../../sim/bridge/testing/scripted-port.ts';
import { createEuicc, type Euicc } from '../../sim/euicc/euicc.ts';
import { connectVpcdReader } from '../../sim/lpa/vpcd-transport.ts';
import { listenCardForVpcd, type VpcdCard } from '../../sim/vpcd/card-side.ts';
import { CardUnavailableError } from '../../sim/euicc/card/card.ts';
import { encodeFrame, FrameDecoder } from '../../sim/vpcd/framing.ts';
import type { Campaign, CampaignContext } from '../harness.ts';
import { shortHex } from '../harness.ts';
import { concatAll, mutateBytes } from '../mutate.ts';
import { Rng } from '../prng.ts';

export const VPCD_EPISODE = 24;
/** every answer's SW: one sim/apdu/sw.ts defines (the bridge's SW_RULES and the card's), or 61xx/6Cxx */
const DEFINED_SW = new Set<number>(Object.values(SW));
const ANSWER_TIMEOUT_MS = 5000;
const EID = '89049032123451234512345678901235';

// ---------------------------------------------------------------------------
// The endpoints under test

interface Endpoint {
  readonly port: number;
  /** exceptions the card threw that are not a defined card state (not powered, removed): crashes */
  readonly cardErrors: unknown[];
  /** no LPA connection is being served (the bridge released the last one) */
  idle(): boolean;
  close(): Promise<void>;
}

/** A scripted modem that answers correctly (the bridge's modem side is not fuzzed here). */
function healthyModem(): ScriptedPort {
  const fci = `6F1284${'10'}${ISD_R_AID}A5039F65FF`;
  let session = 0;
  return new ScriptedPort((line, p) => {
    const ok = (...lines: string[]): string => (lines.length ? `\r\n${lines.join('\r\n')}\r\n` : '') + '\r\nOK\r\n';
    if (line === 'AT+CMEE?') return p.reply(ok('+CMEE: 1'));
    if (/^AT\+CCHO="/.test(line)) return p.reply(ok(`+CCHO: ${(session++ % 3) + 1}`));
    const m = /^AT\+(CGLA|CSIM)=(?:[^,]+,)?\d+,"([0-9A-F]*)"$/.exec(line);
    if (m) {
      const c = hexToBytes(m[2]!);
      let r = '9000';
      if (c[1] === 0x70 && c[2] === 0) r = '019000';
      else if (c[1] === 0xa4 && c[2] === 0x04) r = toUpperHex(c.subarray(5, 5 + c[4]!)) === ISD_R_AID ? fci + '9000' : '6A82';
      else if (c[1] === 0xe2 && toUpperHex(c).includes('BF3E035C015A')) r = `BF3E125A10${EID}9000`;
      return p.reply(ok(`+${m[1]}: ${r.length},"${r}"`));
    }
    p.reply(ok());
  });
}

async function bridgeEndpoint(): Promise<Endpoint & { bridge: Bridge }> {
  const bridge = await startBridge({
    serial: { port: healthyModem(), description: 'fuzz scripted modem' },
    listen: { host: '127.0.0.1', port: 0 },
    at: { commandTimeoutMs: 2000, probeTimeoutMs: 100, rebootWaitMs: 2000, probeIntervalMs: 5 },
    session: { apduTimeoutMs: 2000, probeTimeoutMs: 100 },
  });
  return { bridge, port: bridge.address!.port, cardErrors: [], idle: () => bridge.activeLpa === undefined, close: () => bridge.close() };
}

async function cardEndpoint(): Promise<Endpoint & { euicc: Euicc }> {
  const euicc = await createEuicc({ card: { internalErrorPolicy: 'throw' } });
  const cardErrors: unknown[] = [];
  // the card-side endpoint answers 6F00 to any transmit that rejects; keep the rejections
  // that are not the powered-off/removed card states to report them as crashes
  const watched: VpcdCard = {
    atr: () => euicc.atr(),
    powerOn: () => euicc.powerOn(),
    powerOff: () => euicc.powerOff(),
    reset: () => euicc.reset(),
    transmit: (c) =>
      euicc.transmit(c).catch((e: unknown) => {
        if (!(e instanceof CardUnavailableError)) cardErrors.push(e);
        throw e;
      }),
  };
  let open = 0;
  const server: Server = await listenCardForVpcd(watched, '127.0.0.1', 0);
  server.on('connection', (s: Socket) => {
    open++;
    s.once('close', () => open--);
  });
  return {
    euicc,
    cardErrors,
    port: (server.address() as AddressInfo).port,
    idle: () => open === 0,
    close: async () => {
      await new Promise<void>((r) => server.close(() => r()));
      await euicc.close();
    },
  };
}

// ---------------------------------------------------------------------------
// Frames

interface Frame {
  /** bytes written for this frame (may be a broken frame) */
  readonly wire: Uint8Array;
  /** answers expected in a clean episode: 0 or 1 */
  readonly answers: number;
  readonly payload: Uint8Array;
}

const LPA_APDUS: readonly string[] = [
  '0070000001',
  `01A4040010${ISD_R_AID}00`,
  `00A4040010${ISD_R_AID}00`,
  '81E2910006BF3E035C015A00',
  '80E2910006BF3E035C015A00',
  '81E2910003BF2D0000',
  '81C0000000',
  '0070800100',
  '00A40004023F00',
  '00B0000000',
  '80F2000000',
];

function expectedAnswers(payload: Uint8Array): number {
  if (payload.length === 0) return 0;
  if (payload.length === 1) return payload[0] === 0x04 ? 1 : 0;
  return 1; // 2-3 bytes: 6700; 4 or more: the R-APDU
}

function cleanFrame(rng: Rng): Frame {
  let payload: Uint8Array;
  switch (rng.weighted<string>([
    ['apdu', 8],
    ['mutated', 4],
    ['control', 3],
    ['short', 2],
    ['big', 1],
    ['random', 2],
  ])) {
    case 'apdu':
      payload = hexToBytes(rng.pick(LPA_APDUS));
      break;
    case 'mutated':
      payload = mutateBytes(rng, hexToBytes(rng.pick(LPA_APDUS)), undefined, 3, 600);
      break;
    case 'control':
      payload = Uint8Array.of(rng.chance(0.7) ? rng.pick([0x00, 0x01, 0x02, 0x04]) : rng.byte());
      break;
    case 'short':
      payload = rng.bytes(rng.pick([0, 2, 3]));
      break;
    case 'big':
      payload = Uint8Array.of(0x80, 0xe2, 0x91, 0x00, 0x00, ...[0x10, 0x00], ...rng.bytes(rng.pick([300, 4096, 65000]) - 7)).subarray(0, 0xffff);
      break;
    default:
      payload = rng.bytes(rng.int(300));
  }
  return { wire: encodeFrame(payload), answers: expectedAnswers(payload), payload };
}

function rawChunk(rng: Rng): Uint8Array {
  switch (rng.int(4)) {
    case 0: {
      // a length field that does not match the data
      const payload = hexToBytes(rng.pick(LPA_APDUS));
      const claimed = Math.max(0, payload.length + rng.pick([-3, -1, 1, 2, 100, 65535 - payload.length]));
      return Uint8Array.of(claimed >> 8, claimed & 0xff, ...payload);
    }
    case 1:
      return rng.bytes(rng.size(64) + 1);
    case 2:
      return Uint8Array.of(0x00);
    default:
      return encodeFrame(hexToBytes(rng.pick(LPA_APDUS)));
  }
}

// ---------------------------------------------------------------------------
// A fuzzing connection

class FuzzConnection {
  readonly answers: Uint8Array[] = [];
  closed = false;
  private readonly decoder = new FrameDecoder();
  private waiters: (() => void)[] = [];

  private constructor(readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      for (const f of this.decoder.push(new Uint8Array(chunk))) this.answers.push(f);
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {
      // a reset by the endpoint is an allowed outcome (connection closed); 'close' follows
      this.closed = true;
    });
  }

  static open(port: number): Promise<FuzzConnection> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port });
      s.once('error', reject);
      s.once('connect', () => {
        s.off('error', reject);
        resolve(new FuzzConnection(s));
      });
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** wait until `n` answers arrived, the socket closed, or the timeout */
  async waitFor(n: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.answers.length < n && !this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return true;
  }

  write(bytes: Uint8Array): void {
    if (!this.closed) this.socket.write(bytes);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** The valid LPA after an episode: MANAGE CHANNEL open, SELECT ISD-R, GetEID, close. */
async function validLpa(port: number): Promise<string | undefined> {
  const reader = await connectVpcdReader('127.0.0.1', port, { commandTimeoutMs: ANSWER_TIMEOUT_MS, connectTimeoutMs: ANSWER_TIMEOUT_MS });
  try {
    const tx = async (hex: string): Promise<string> => toUpperHex(await reader.transmit(hexToBytes(hex)));
    // what pcscd does when a client connects: power the card up (a reset), read the ATR
    await reader.reset();
    const atr = await reader.getAtr();
    if (atr.length < 2) return `ATR of ${atr.length} bytes`;
    const open = await tx('0070000001');
    if (open.length !== 6 || !open.endsWith('9000')) return `MANAGE CHANNEL open answered ${open}`;
    const ch = parseInt(open.slice(0, 2), 16);
    if (ch < 1 || ch > 3) return `MANAGE CHANNEL open gave channel ${ch}`;
    const sel = await tx(`0${ch}A4040010${ISD_R_AID}00`);
    if (!sel.endsWith('9000') && !sel.startsWith('61')) return `SELECT ISD-R answered ${sel}`;
    const eid = await tx(`8${ch}E2910006BF3E035C015A00`);
    if (eid !== `BF3E125A10${EID}9000`) return `GetEID answered ${eid}`;
    const close = await tx(`0070800${ch}00`);
    if (!close.endsWith('9000')) return `MANAGE CHANNEL close answered ${close}`;
    return undefined;
  } finally {
    await reader.close();
  }
}

async function waitIdle(e: Endpoint, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!e.idle()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 2));
  }
  return true;
}

async function runVpcd(ctx: CampaignContext, name: string, make: () => Promise<Endpoint>): Promise<void> {
  let endpoint = await make();
  try {
    for (let episode = ctx.from / VPCD_EPISODE; episode * VPCD_EPISODE < ctx.to; episode++) {
      if (Date.now() > ctx.deadline) break;
      const rng = Rng.for(ctx.seed, name, episode);
      const raw = rng.chance(0.25);
      const conn = await FuzzConnection.open(endpoint.port);
      let expected = 0;
      let k = 0;
      for (; k < VPCD_EPISODE && !conn.closed; k++) {
        const i = episode * VPCD_EPISODE + k;
        ctx.heartbeat(i);
        ctx.stats.count();
        // several frames per write, or one frame in pieces
        const frames = raw ? [{ wire: rawChunk(rng), answers: 0, payload: new Uint8Array(0) }] : [cleanFrame(rng)];
        const wire = concatAll(frames.map((f) => f.wire));
        if (rng.chance(0.2) && wire.length > 1) {
          const cut = rng.range(1, wire.length - 1);
          conn.write(wire.subarray(0, cut));
          await new Promise((r) => setTimeout(r, rng.int(3)));
          conn.write(wire.subarray(cut));
        } else conn.write(wire);
        if (raw) {
          ctx.stats.reject('raw bytes');
          continue;
        }
        const f = frames[0]!;
        expected += f.answers;
        for (const e of endpoint.cardErrors.splice(0)) ctx.stats.crash(i, e, shortHex(f.payload));
        if (f.answers === 0 && !rng.chance(0.7)) continue; // pipeline: do not always wait
        const ok = await conn.waitFor(expected, ANSWER_TIMEOUT_MS);
        if (!ok) {
          ctx.stats.hang(i, `${expected - conn.answers.length} answer(s) missing after ${ANSWER_TIMEOUT_MS} ms`, shortHex(f.payload));
          break;
        }
        if (conn.closed && conn.answers.length < expected) {
          ctx.stats.reject('connection closed by the endpoint');
          break;
        }
        const a = conn.answers[conn.answers.length - 1];
        if (f.answers === 1 && a) {
          if (f.payload.length === 1) ctx.stats.accept();
          else if (a.length < 2) ctx.stats.violation(i, `answer of ${a.length} byte(s) to a ${f.payload.length}-byte payload`, shortHex(f.payload));
          else if (f.payload.length < 4 && toUpperHex(a) !== '6700') ctx.stats.violation(i, `a ${f.payload.length}-byte payload answered ${toUpperHex(a)}, not 6700`, shortHex(f.payload));
          else {
            const sw = responseSw(a);
            if (!DEFINED_SW.has(sw) && sw >> 8 !== 0x61 && sw >> 8 !== 0x6c) ctx.stats.violation(i, `SW ${sw.toString(16).toUpperCase()} is not defined in sim/apdu/sw.ts`, shortHex(f.payload));
            else if (sw === 0x9000 || sw >> 8 === 0x61) ctx.stats.accept();
            else ctx.stats.reject(`SW ${sw.toString(16).toUpperCase().padStart(4, '0')}`);
          }
        } else ctx.stats.reject('control (no answer)');
      }
      // any answer beyond those expected means a frame got two answers
      if (!raw) {
        await conn.waitFor(expected + 1, 20);
        if (conn.answers.length > expected) ctx.stats.violation(episode * VPCD_EPISODE, `${conn.answers.length} answers for ${expected} frames that call for one`);
      }
      // the LPA goes away; the next one must be served
      conn.destroy();
      const last = episode * VPCD_EPISODE + VPCD_EPISODE - 1;
      if (!(await waitIdle(endpoint, ANSWER_TIMEOUT_MS))) {
        ctx.stats.hang(last, `the endpoint did not release the dropped LPA connection within ${ANSWER_TIMEOUT_MS} ms`);
        await endpoint.close();
        endpoint = await make();
        continue;
      }
      let problem: string | undefined;
      try {
        problem = await validLpa(endpoint.port);
      } catch (e) {
        problem = `${(e as Error).name}: ${(e as Error).message}`;
      }
      if (problem) {
        ctx.stats.violation(last, `a valid LPA after the episode failed: ${problem}`);
        await endpoint.close();
        endpoint = await make();
      }
      await waitIdle(endpoint, ANSWER_TIMEOUT_MS);
    }
  } finally {
    await endpoint.close();
  }
}

export const vpcdBridgeCampaign: Campaign = {
  name: 'vpcd-bridge',
  description: 'malformed vpcd frames over loopback TCP into the reference bridge; a valid LPA must work after each episode',
  defaultIterations: 12_000,
  weight: 40,
  episodeLength: VPCD_EPISODE,
  unit: 'frame',
  run: (ctx) => runVpcd(ctx, 'vpcd-bridge', bridgeEndpoint),
};

export const vpcdCardCampaign: Campaign = {
  name: 'vpcd-card',
  description: 'malformed vpcd frames over loopback TCP into the card-side endpoint serving the software eUICC',
  defaultIterations: 12_000,
  weight: 35,
  episodeLength: VPCD_EPISODE,
  unit: 'frame',
  run: (ctx) => runVpcd(ctx, 'vpcd-card', cardEndpoint),
};
