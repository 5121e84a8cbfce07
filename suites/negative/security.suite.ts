// Negative and security: what the bridge must never let through and what the evidence must
// never hold. An LPA link is a remote smart-card reader: it may reach the ISD-R/ECASD
// (SGP.22 2.4) but not the telecom applications of the enabled profile (USIM/ISIM SELECT by
// AID, RUN GSM ALGORITHM, AUTHENTICATE INS 88/89, ETSI TS 102 221 / 3GPP TS 31.102): those
// are refused by the bridge and must not appear on the modem-card hop nor in any AT command.
// A second LPA is not served while one is active (APDUs of two LPAs must not interleave).
// And no private key (SGP.26 keys, the SM-DP+ TLS key) nor subscriber key (Ki/OPc of the
// installed profiles) may appear in any evidence of the run.
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { tc, type CaseRun } from '../framework/case.ts';
import { useRig } from '../framework/shared-rig.ts';
import type { RigRuntime } from '../framework/rig-runtime.ts';
import { SGP26_DIR } from '../../certs/store.ts';
import { parsePrivateKey } from '../../sim/crypto/keys.ts';
import { hexToBytes, toHex } from '../../sim/bytes.ts';
import { responseSw } from '../../sim/apdu/apdu.ts';
import { VpcdTransportError } from '../../sim/lpa/errors.ts';
import type { VpcdReaderTransport } from '../../sim/lpa/vpcd-transport.ts';
import { Lpa } from '../../sim/lpa/flows.ts';
import { ISD_R_AID, cleanRig, euiccOf, orderProfile, rejectsWith, restoreRig, withLpa } from '../framework/fixtures.ts';

const rig = useRig();
const group = 'Negative and security' as const;

const USIM_AID = 'A0000000871002FF49FF0589';
const ISIM_AID = 'A0000000871004FF49FF0589';
const SW_AID_REFUSED = 0x6a82;
const SW_AUTH_REFUSED = 0x6982;

/** C-APDUs the modem sent to the card (modem-card hop). */
function cardApdus(rt: RigRuntime, from = 0): Uint8Array[] {
  return rt.trace.events.slice(from).flatMap((e) => (e.kind === 'apdu' && e.hop === 'modem-card' ? [e.command] : []));
}

/** APDUs carried by the AT commands the bridge wrote (+CSIM / +CGLA payloads). */
function atApdus(rt: RigRuntime, from = 0): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const e of rt.trace.events.slice(from)) {
    if (e.kind !== 'at' || e.direction !== 'to-modem') continue;
    const m = /^AT\+(?:CSIM|CGLA)=[^"]*"([0-9A-Fa-f]*)"/.exec(e.line);
    if (m) out.push(hexToBytes(m[1]!));
  }
  return out;
}

/** AT lines the bridge wrote. */
function atLines(rt: RigRuntime, from = 0): string[] {
  return rt.trace.events.slice(from).flatMap((e) => (e.kind === 'at' && e.direction === 'to-modem' ? [e.line] : []));
}

function containsHex(bytes: Uint8Array, hex: string): boolean {
  return toHex(bytes).toUpperCase().includes(hex.toUpperCase());
}

/** Open a logical channel through the bridge (raw); returns its number. */
async function openChannel(t: VpcdReaderTransport): Promise<number> {
  const r = await t.transmit(hexToBytes('0070000001'));
  expect(responseSw(r)).toBe(0x9000);
  return r[0]!;
}

function cla(channel: number, base = 0x00): string {
  const b = channel < 4 ? (base & 0xbc) | channel : (base & 0xb0) | 0x40 | (channel - 4);
  return b.toString(16).padStart(2, '0').toUpperCase();
}

function selectAid(channel: number, aid: string, p2 = '00'): Uint8Array {
  return hexToBytes(`${cla(channel)}A404${p2}${(aid.length / 2).toString(16).padStart(2, '0')}${aid}00`);
}

/** MANAGE CHANNEL close. */
function closeChannel(ch: number): Uint8Array {
  return hexToBytes(`007080${ch.toString(16).padStart(2, '0')}00`);
}

/** STORE DATA GetEID on a logical channel. */
function getEid(ch: number): Uint8Array {
  return hexToBytes(`${cla(ch, 0x80)}E2910006BF3E035C015A00`);
}

/** Close the logical channel a raw connection still has open, then the connection (the next LPA finds the bridge idle). */
async function closeRaw(t: VpcdReaderTransport, channel: number | undefined): Promise<void> {
  if (channel !== undefined && t.isOpen) await t.transmit(closeChannel(channel)).catch(() => undefined);
  await t.close();
}

/** The AID never left the bridge: not on the card hop, not in an AT command. */
function expectAidNeverSent(c: CaseRun, rt: RigRuntime, aidPrefix: string, from: number): void {
  if (c.observe('cardSide', `no APDU with ${aidPrefix} reached the card`)) expect(cardApdus(rt, from).filter((x) => containsHex(x, aidPrefix)).map(toHex)).toEqual([]);
  if (c.observe('atLines', `no AT command carried ${aidPrefix}`)) {
    expect(atApdus(rt, from).filter((x) => containsHex(x, aidPrefix)).map(toHex)).toEqual([]);
    expect(atLines(rt, from).filter((l) => l.toUpperCase().includes(aidPrefix.toUpperCase()))).toEqual([]);
  }
}

for (const [name, aid] of [
  ['USIM', USIM_AID],
  ['ISIM', ISIM_AID],
] as const) {
  tc(
    {
      id: `TC_LPA-Bridge_Security.AidAllowList_${name}`,
      title: `SELECT of the ${name} by AID (full or partial, logical or basic channel) is refused by the bridge and never reaches the card`,
      group,
      iut: 'bridge',
      purpose: `The LPA link reaches the ISD-R and ECASD only: the ${name} of the enabled profile stays out of reach of whoever connects to the bridge.`,
      requirement: 'bridge requirement BR-3 (6A82 for a SELECT by AID outside the ISD-R and ECASD, no AT sent); SGP.22 2.2.3 (ISD-R/ECASD AIDs), ETSI TS 102 221 11.1.1',
      initialConditions: ['clean eUICC with a profile downloaded and enabled (its USIM/ISIM present on the card)', 'a raw vpcd connection to the bridge'],
      steps: [
        { action: `MANAGE CHANNEL open, then SELECT by AID ${aid} on that channel`, expected: 'MANAGE CHANNEL 9000; SELECT 6A82' },
        { action: `SELECT by partial AID ${aid.slice(0, 14)} (P2 first occurrence) on that channel`, expected: '6A82' },
        { action: `SELECT by AID ${aid} on the basic channel`, expected: '6A82' },
        { action: 'SELECT the ISD-R on the logical channel, then GetEID', expected: 'the channel still works: 9000/61xx, then the EID' },
        { action: 'check the modem-card hop and the AT commands', expected: `no APDU and no AT line carrying ${aid.slice(0, 14)}` },
      ],
      requires: ['embeddedSmdp'],
    },
    async (c) => {
      const rt = rig(c);
      await c.setup('clean rig', () => cleanRig(rt));
      await c.setup('a profile downloaded and enabled', () =>
        withLpa(rt, async (lpa) => {
          const o = orderProfile(rt);
          await lpa.downloadProfile(o.activationCode);
          await lpa.enableProfile({ iccid: o.iccid }, { notifications: 'process' });
        }),
      );
      const t = await c.setup('raw LPA connection', async () => {
        return rt.connectPowered();
      });
      let open: number | undefined;
      try {
        // the profile download of the setup selected the ISD-R only; from here on nothing may carry the AID
        const from = rt.trace.events.length;
        const ch = await c.step(1, async () => {
          const ch = await openChannel(t);
          open = ch;
          expect(responseSw(await t.transmit(selectAid(ch, aid)))).toBe(SW_AID_REFUSED);
          return ch;
        });
        await c.step(2, async () => expect(responseSw(await t.transmit(selectAid(ch, aid.slice(0, 14))))).toBe(SW_AID_REFUSED));
        await c.step(3, async () => expect(responseSw(await t.transmit(selectAid(0, aid)))).toBe(SW_AID_REFUSED));
        await c.step(4, async () => {
          const sel = responseSw(await t.transmit(selectAid(ch, ISD_R_AID)));
          expect(sel === 0x9000 || sel >> 8 === 0x61).toBe(true);
          const eid = await t.transmit(getEid(ch));
          const sw = responseSw(eid);
          expect(sw === 0x9000 || sw >> 8 === 0x61).toBe(true);
          expect(responseSw(await t.transmit(closeChannel(ch)))).toBe(0x9000);
          open = undefined;
        });
        await c.step(5, () => expectAidNeverSent(c, rt, aid.slice(0, 14), from));
      } finally {
        await closeRaw(t, open);
        await restoreRig(rt);
      }
    },
  );
}

const RAND = '00112233445566778899AABBCCDDEEFF';
const AUTN = 'FFEEDDCCBBAA99887766554433221100';

tc(
  {
    id: 'TC_LPA-Bridge_Security.Authenticate_Blocked',
    title: 'RUN GSM ALGORITHM and AUTHENTICATE (INS 88/89) are refused by the bridge on every channel and never reach the card',
    group,
    iut: 'bridge',
    purpose: 'Nobody connected to the bridge can use the card as an authentication oracle for the subscription (SIM cloning / AKA relay).',
    requirement: 'bridge requirement BR-4 (6982 for INS 88/89, no AT sent); 3GPP TS 51.011 9.2.16 RUN GSM ALGORITHM, TS 31.102 7.1 AUTHENTICATE',
    initialConditions: ['clean eUICC with a profile downloaded and enabled', 'a raw vpcd connection to the bridge, a logical channel with the ISD-R selected'],
    steps: [
      { action: 'RUN GSM ALGORITHM A0 88 00 00 10 <RAND> on the basic channel', expected: '6982' },
      { action: 'AUTHENTICATE 00 88 00 81 (3G context, RAND+AUTN) on the basic channel and on the logical channel', expected: '6982 both' },
      { action: 'AUTHENTICATE 00 89 00 81 (odd INS) on the logical channel', expected: '6982' },
      { action: 'check the modem-card hop and the AT commands', expected: 'no APDU with INS 88 or 89 on either; the ISD-R channel still answers GetEID' },
    ],
    requires: ['embeddedSmdp'],
  },
  async (c) => {
    const rt = rig(c);
    await c.setup('clean rig', () => cleanRig(rt));
    await c.setup('a profile downloaded and enabled', () =>
      withLpa(rt, async (lpa) => {
        const o = orderProfile(rt);
        await lpa.downloadProfile(o.activationCode);
        await lpa.enableProfile({ iccid: o.iccid }, { notifications: 'process' });
      }),
    );
    const t = await c.setup('raw LPA connection', async () => {
      return rt.connectPowered();
    });
    let ch: number | undefined;
    try {
      ch = await c.setup('logical channel with the ISD-R', async () => {
        const ch = await openChannel(t);
        const sw = responseSw(await t.transmit(selectAid(ch, ISD_R_AID)));
        expect(sw === 0x9000 || sw >> 8 === 0x61).toBe(true);
        return ch;
      });
      const from = rt.trace.events.length;
      const auth3g = `2210${RAND}10${AUTN}00`;
      const lc = ch;
      await c.step(1, async () => expect(responseSw(await t.transmit(hexToBytes(`A088000010${RAND}`)))).toBe(SW_AUTH_REFUSED));
      await c.step(2, async () => {
        expect(responseSw(await t.transmit(hexToBytes(`00880081${auth3g}`)))).toBe(SW_AUTH_REFUSED);
        expect(responseSw(await t.transmit(hexToBytes(`${cla(lc)}880081${auth3g}`)))).toBe(SW_AUTH_REFUSED);
      });
      await c.step(3, async () => expect(responseSw(await t.transmit(hexToBytes(`${cla(lc)}890081${auth3g}`)))).toBe(SW_AUTH_REFUSED));
      await c.step(4, async () => {
        const isAuth = (x: Uint8Array): boolean => x[1] === 0x88 || x[1] === 0x89;
        if (c.observe('cardSide', 'no INS 88/89 reached the card')) expect(cardApdus(rt, from).filter(isAuth).map(toHex)).toEqual([]);
        if (c.observe('atLines', 'no AT command carried INS 88/89')) expect(atApdus(rt, from).filter(isAuth).map(toHex)).toEqual([]);
        const eid = await t.transmit(getEid(lc));
        const sw = responseSw(eid);
        expect(sw === 0x9000 || sw >> 8 === 0x61).toBe(true);
      });
    } finally {
      await closeRaw(t, ch);
      await restoreRig(rt);
    }
  },
);

tc(
  {
    id: 'TC_LPA-Bridge_Security.SecondLpa_Refused',
    title: 'a second LPA gets no card while one is active; the first keeps its session; the next LPA is served once the first left',
    group,
    iut: 'bridge',
    purpose: 'APDU sequences of two LPAs must not interleave (a STORE DATA chain or a BPP of one would be broken by the other).',
    requirement: 'bridge requirement BR-8 (a second LPA refused, or queued until the first leaves); SGP.22 5.7.2 (STORE DATA sequences)',
    initialConditions: ['clean eUICC', 'a first LPA connected, with its ISD-R channel open'],
    steps: [
      { action: 'a second LPA connects and asks for the ATR (2 s allowed)', expected: 'no ATR: its link is closed (refused) or it waits (queued)' },
      { action: 'the first LPA reads the EID on its channel', expected: 'the EID of the eUICC' },
      { action: 'the first LPA leaves; a third connects', expected: 'the third gets the ATR and reads the EID' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    await c.setup('clean rig', () => cleanRig(rt));
    await withLpa(rt, async (first) => {
      await c.step(1, async () => {
        let second: VpcdReaderTransport;
        try {
          second = await rt.connectLpa({ commandTimeoutMs: 2000, whileBusy: true });
        } catch (err) {
          expect(err).toBeInstanceOf(Error); // refused before the connection was even up
          return;
        }
        try {
          const err = await rejectsWith(second.reset(), VpcdTransportError);
          expect(['closed', 'timeout']).toContain(err.problem);
        } finally {
          await second.close();
        }
      });
      await c.step(2, async () => {
        const eid = await first.es10.getEid();
        if (c.observe('cardEid', "the card's EID")) expect(eid).toBe(rt.cardEid);
        else expect(eid).toMatch(/^\d{32}$/);
      });
    });
    await c.step(3, () =>
      withLpa(rt, async (third) => {
        const eid = await third.es10.getEid();
        if (c.observe('cardEid', "the card's EID")) expect(eid).toBe(rt.cardEid);
      }),
    );
    await restoreRig(rt);
  },
);

tc(
  {
    id: 'TC_LPA-Bridge_Security.LpaVanished_NextServed',
    title: 'an LPA that disappears with a channel open does not lock the bridge: the next LPA is served at once',
    group,
    iut: 'bridge',
    purpose: 'An LPA process killed in the middle of a session (lpac run per command, a crashed phone app) must not make the bridge refuse the next one as a "second LPA".',
    requirement: 'bridge requirements BR-9 (an LPA disconnecting has its channels closed) and BR-8 (the second-LPA rule applies only while another LPA is active)',
    initialConditions: ['clean eUICC', 'an LPA connected with a logical channel open on the ISD-R'],
    steps: [
      { action: 'the LPA drops its TCP connection without closing its channel; a new LPA connects right away and asks for the ATR', expected: 'the ATR comes back' },
      { action: 'the new LPA opens its ES10 session and reads the EID', expected: 'the EID; the card has only the new LPA channel open' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    await c.setup('clean rig', () => cleanRig(rt));
    const first = await c.setup('an LPA with a channel open on the ISD-R', async () => {
      const t = await rt.connectPowered();
      const ch = await openChannel(t);
      const sw = responseSw(await t.transmit(selectAid(ch, ISD_R_AID)));
      expect(sw === 0x9000 || sw >> 8 === 0x61).toBe(true);
      return t;
    });
    await first.close();
    let next: VpcdReaderTransport | undefined;
    try {
      next = await c.step(1, async () => {
        const t = await rt.connectLpa({ commandTimeoutMs: 5000, whileBusy: true });
        try {
          expect((await t.reset()).length).toBeGreaterThan(1);
        } catch (err) {
          await t.close();
          throw err;
        }
        return t;
      });
      await c.step(2, async () => {
        const lpa = await Lpa.open(next!, { es10: { blockSize: rt.env.rig.lpa.storeDataBlockSize } });
        try {
          const eid = await lpa.es10.getEid();
          if (c.observe('cardEid', "the card's EID")) expect(eid).toBe(rt.cardEid);
          // the basic channel and the new LPA's channel: the vanished LPA's channel was closed
          if (c.observe('cardState', 'the card has only the new LPA channel open')) expect(euiccOf(rt).card.openChannels().length).toBe(lpa.es10.channel === 0 ? 1 : 2);
        } finally {
          await lpa.close();
        }
      });
    } finally {
      await next?.close();
      await rt.waitBridgeServing().catch(() => undefined);
      await restoreRig(rt);
    }
  },
);

// ---------------------------------------------------------------------------
// Secrets in the evidence

interface Secret {
  what: string;
  bytes: Uint8Array;
}

function pemFiles(dir: string, pattern: RegExp): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...pemFiles(p, pattern));
    else if (pattern.test(name)) out.push(p);
  }
  return out;
}

function keySecrets(files: string[], label: string): Secret[] {
  return files.map((f) => ({ what: `${label} ${f.slice(f.lastIndexOf('/') + 1)}`, bytes: parsePrivateKey(readFileSync(f, 'utf8')).privateKey }));
}

function indexOfBytes(hay: Uint8Array, needle: Uint8Array): number {
  return Buffer.from(hay.buffer, hay.byteOffset, hay.byteLength).indexOf(Buffer.from(needle));
}

/** Where a secret shows up in a piece of evidence: raw, hex, or inside a base64 run. */
function leaks(content: Uint8Array, secrets: readonly Secret[]): string[] {
  const found = new Set<string>();
  const text = Buffer.from(content).toString('latin1');
  const lower = text.toLowerCase();
  const decoded: Buffer[] = [];
  for (const source of [text, text.replace(/\r?\n/g, '')])
    for (const m of source.matchAll(/[A-Za-z0-9+/]{24,}={0,2}/g)) decoded.push(Buffer.from(m[0], 'base64'));
  for (const s of secrets) {
    if (indexOfBytes(content, s.bytes) >= 0) found.add(`${s.what} (raw bytes)`);
    if (lower.includes(toHex(s.bytes).toLowerCase())) found.add(`${s.what} (hex)`);
    if (decoded.some((d) => d.indexOf(Buffer.from(s.bytes)) >= 0)) found.add(`${s.what} (base64)`);
  }
  return [...found];
}

/** The case's own trace as writeTrace would serialise it (its files are written after the body). */
function traceEvidence(rt: RigRuntime): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const e of rt.trace.events) {
    out.push(Buffer.from(JSON.stringify(e, (_k, v: unknown) => (v instanceof Uint8Array ? toHex(v) : v))));
    if (e.kind === 'apdu') out.push(e.command, e.response);
  }
  return out;
}

function evidenceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...evidenceFiles(p));
    else out.push(p);
  }
  return out;
}

tc(
  {
    id: 'TC_LPA-Bridge_Security.Evidence_NoSecrets',
    title: 'no private key and no Ki/OPc appears in the evidence of the run (APDU, AT, HTTP logs, pcap, results)',
    group,
    iut: 'self', // judges bridgelab's own evidence files
    purpose: 'Certification evidence is shared with vendors and CI logs: it must carry no key material, however the bridge and the parts log.',
    requirement: 'SGP.22 2.6 (profile protection: keys never leave the parties that hold them), GSMA TS.48 (Ki/OPc are subscriber secrets); bridgelab README (no private key, Ki or OPc in a log, trace or report)',
    initialConditions: ['clean eUICC', 'a profile downloaded, enabled and disabled through the bridge, notifications delivered'],
    steps: [
      { action: 'collect the secrets: SGP.26 private keys (certs/sgp26), the SM-DP+ TLS key, Ki and OPc of every profile on the card', expected: 'at least the SGP.26 keys and the Ki/OPc of the downloaded profile' },
      { action: "search this case's trace (every hop, every HTTP body) for each secret as raw bytes, hex and base64", expected: 'not found' },
      { action: "search every evidence file of this personality's run so far (logs, events, pcap, results, identity)", expected: 'not found' },
    ],
    requires: ['embeddedSmdp', 'emulatedEuicc'],
  },
  async (c) => {
    const rt = rig(c);
    await c.setup('clean rig', () => cleanRig(rt));
    const iccid = await c.setup('profile downloaded, enabled and disabled', () =>
      withLpa(rt, async (lpa) => {
        const o = orderProfile(rt);
        await lpa.downloadProfile(o.activationCode);
        await lpa.enableProfile({ iccid: o.iccid }, { notifications: 'process' });
        await lpa.disableProfile({ iccid: o.iccid }, { notifications: 'process' });
        return o.iccid;
      }),
    );
    try {
      const secrets = await c.step(1, () => {
        const out: Secret[] = [...keySecrets(pemFiles(SGP26_DIR, /^SK_.*\.pem$/), 'SGP.26 private key'), ...keySecrets(pemFiles(join(rt.smdp!.dataDir, 'tls'), /\.key\.pem$/), 'SM-DP+ TLS key')];
        for (const p of rt.euicc!.state.profiles()) {
          const aka = rt.euicc!.state.akaParameters(p.iccid);
          if (aka?.ki) out.push({ what: `Ki of ${p.iccid}`, bytes: aka.ki });
          if (aka?.opc) out.push({ what: `OPc of ${p.iccid}`, bytes: aka.opc });
        }
        expect(out.filter((s) => s.what.startsWith('SGP.26')).length).toBeGreaterThanOrEqual(8);
        expect(out.some((s) => s.what === `Ki of ${iccid}`)).toBe(true);
        expect(out.some((s) => s.what === `OPc of ${iccid}`)).toBe(true);
        return out;
      });
      await c.step(2, () => {
        const found = traceEvidence(rt).flatMap((e) => leaks(e, secrets));
        expect([...new Set(found)]).toEqual([]);
      });
      await c.step(3, () => {
        const dir = rt.env.reportDir;
        const files = [join(dir, 'identity.json'), ...evidenceFiles(join(dir, 'cases', rt.personality))].filter((f) => existsSync(f));
        expect(files.length).toBeGreaterThan(0);
        const found = files.flatMap((f) => leaks(readFileSync(f), secrets).map((l) => `${l} in ${f.slice(dir.length + 1)}`));
        expect(found).toEqual([]);
      });
    } finally {
      await restoreRig(rt);
    }
  },
);
