// The post-enable lifecycle end to end on the software eUICC (SGP.22 5.7.16 EnableProfile
// with refreshFlag; ETSI TS 102 221 10.2.1.1 91xx and FETCH; ETSI TS 102 223 6.4.7
// REFRESH): the card raises the REFRESH and refuses ES10 until it is reset; the modem,
// per personality, fetches it and resets the card (A7670), or ignores it until the TE
// power-cycles the UIM (EG916Q).
import { afterEach, describe, expect, it } from 'vitest';
import { hexToBytes, toHex } from '../bytes.ts';
import { iccidToBytes } from '../rsp/iccid.ts';
import { install, rig, testIccid, type Rig } from '../euicc/testing/fixtures.ts';
import { encodeRaw } from '../euicc/testing/smdp-binder.ts';
import { ModemEngine } from './engine.ts';
import type { Personality } from './personality.ts';
import { AtClient } from './testing/at-client.ts';
import { personalityWith } from './testing/engine-harness.ts';
import { ISD_R_AID } from './testing/fake-card.ts';

const A = testIccid(1);
const B = testIccid(2);

let r: Rig | undefined;
let engine: ModemEngine | undefined;
afterEach(async () => {
  engine?.close();
  await r?.euicc.close();
  engine = undefined;
  r = undefined;
});

/** eUICC with both profile-change behaviours on, profiles A (enabled) and B installed, and a modem in front of it. */
async function setup(personality: Personality): Promise<{ at: AtClient; euicc: Rig['euicc'] }> {
  r = await rig({ card: { profileChange: { proactiveRefresh: true, es10BlockedUntilReset: true } } });
  await install(r, A);
  await install(r, B);
  expect(await r.lpa.enable(A, false)).toBe(0);
  await r.euicc.reset(); // the change above blocks ES10 until a reset
  let at: AtClient | undefined;
  engine = new ModemEngine({ personality, transport: r.euicc, output: (b) => at?.feed(b), timeScale: 1 });
  at = new AtClient((b) => engine?.receive(b));
  await at.command('ATE0');
  await at.command('AT+CMEE=1');
  return { at, euicc: r.euicc };
}

/** One ES10 command through +CGLA on session `id`, with the TE's own GET RESPONSE; returns data + SW (hex). */
async function es10(at: AtClient, id: string, command: Uint8Array): Promise<string> {
  const apdu = toHex(Uint8Array.of(0x81, 0xe2, 0x91, 0x00, command.length, ...command)).toUpperCase();
  let resp = await at.command(`AT+CGLA=${id},${apdu.length},"${apdu}"`);
  let m = /\+CGLA: \d+,"([0-9A-F]*)"/.exec(resp);
  if (!m) return resp;
  let out = m[1] as string;
  while (/^61/.test(out.slice(-4))) {
    const gr = `81C00000${out.slice(-2)}`;
    const data = out.slice(0, -4);
    resp = await at.command(`AT+CGLA=${id},10,"${gr}"`);
    m = /\+CGLA: \d+,"([0-9A-F]*)"/.exec(resp);
    if (!m) return resp;
    out = data + (m[1] as string);
  }
  return out;
}

const enable = (iccid: string): Uint8Array => encodeRaw(0xbf31, new Uint8Array([...encodeRaw(0xa0, encodeRaw(0x5a, iccidToBytes(iccid))), ...encodeRaw(0x81, Uint8Array.of(0xff))]));
const GET_PROFILES = hexToBytes('BF2D00');
const openIsdr = async (at: AtClient): Promise<string> => /\+CCHO: (\d+)/.exec(await at.command(`AT+CCHO="${ISD_R_AID}"`))?.[1] as string;

describe('post-enable lifecycle on the software eUICC', () => {
  it('A7670 (baseline reset): 910B to the TE, ES10 6985 until the MT has fetched the REFRESH and reset the card 300 ms later, then SIM-ready URCs; a new session works', async () => {
    const { at, euicc } = await setup(personalityWith('simcom-a7670', { lifecycle: { refreshDelayMs: 300, urcsAfterCardReset: [{ text: '+CPIN: READY', atMs: 0 }, { text: 'SMS DONE', atMs: 0 }, { text: 'PB DONE', atMs: 0 }] } }));
    const id = await openIsdr(at);
    expect(await es10(at, id, enable(B))).toBe('BF3103800100910B');
    expect(await es10(at, id, GET_PROFILES)).toBe('6985'); // blocked until the reset
    expect(await at.waitMatch(/PB DONE\r\n/, 3000)).toMatch(/\+CPIN: READY\r\n\r\nSMS DONE\r\n\r\nPB DONE\r\n$/);
    expect(euicc.card.proactiveSessionPending).toBe(false); // answered by the MT's TERMINAL RESPONSE
    expect(engine?.state()).toMatchObject({ refreshes: 1, sessions: [] });
    expect(await at.command(`AT+CGLA=${id},10,"81F2000000"`)).toBe('\r\n+CME ERROR: 50\r\n'); // the session is gone
    const id2 = await openIsdr(at);
    const profiles = await es10(at, id2, GET_PROFILES);
    expect(profiles.slice(-4)).toBe('9000');
    expect(euicc.state.enabledProfile()?.iccid).toBe(B);
  });

  it("EG916Q ('ignore'): the card stays blocked after the REFRESH until the TE power-cycles the UIM with AT+CFUN=0 / AT+CFUN=1", async () => {
    const { at, euicc } = await setup(personalityWith('quectel-eg916q', { lifecycle: { onRefresh: 'ignore', serialDropsOnCfun0: false } }));
    const id = await openIsdr(at);
    expect(await es10(at, id, enable(B))).toBe('BF3103800100910B');
    const t0 = performance.now();
    while (euicc.card.proactiveSessionPending && performance.now() - t0 < 2000) await new Promise((res) => setTimeout(res, 5));
    expect(euicc.card.proactiveSessionPending).toBe(false);
    await new Promise((res) => setTimeout(res, 100));
    expect(await es10(at, id, GET_PROFILES)).toBe('6985');
    await at.command('AT+CFUN=0');
    await at.command('AT+CFUN=1');
    const id2 = await openIsdr(at);
    expect((await es10(at, id2, GET_PROFILES)).slice(-4)).toBe('9000');
  });
});
