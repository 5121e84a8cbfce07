// Security checks of the virtual rig (bounded, loopback only):
// - the reference bridge with TLS-PSK refuses LPAs without the key (plain vpcd, a wrong
//   key, an unknown identity): not one APDU or card-access AT command reaches the modem;
// - with the default allow-list the bridge never opens a foreign application: SELECT of
//   the USIM (A0000000871002FF...) and ISIM (A0000000871004FF...) AIDs on the basic and a
//   logical channel answer 6A82, RUN GSM ALGORITHM (CLA A0 INS 88) and AUTHENTICATE (CLA
//   00 INS 88, INS 89) answer 6982, and neither the modem's AT trace nor the card's
//   received APDUs show any of them (the card holds an enabled TS.48 profile, so it would
//   have answered);
// - the SM-DP+ refuses TLS 1.0 and 1.1 (the client offers them, the server alerts
//   protocol_version) and every invalid SGP.26 eUICC-side certificate variant
//   (certs/issue.ts issueInvalid) in ES9+.AuthenticateClient with the exact
//   subject/reason code (SGP.22 5.6.3);
// - no private key (SGP.26 SK_*.pem, the SM-DP+ TLS keys) and no Ki/OPc of an installed
//   profile appears in any file of a `bridgelab certify` report (run here on one download
//   case, HTML included) nor in the bridge and SM-DP+ logs of a download through the bridge.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { randomBytes } from 'node:crypto';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApduTransport } from './apdu/apdu.ts';
import { responseSw } from './apdu/apdu.ts';
import { hexToBytes, toHex, toUpperHex } from './bytes.ts';
import { createEuicc, type Euicc } from './euicc/euicc.ts';
import type { EuiccIdentity } from './euicc/identity.ts';
import { sign as ecdsaSign } from './crypto/ecdsa.ts';
import { parsePrivateKey } from './crypto/keys.ts';
import { startSmdp, type SmdpServer } from './smdp/server.ts';
import { findSocat, startPtyModem, type PtyModem } from './modem/serial.ts';
import type { ModemTraceEvent } from './modem/engine.ts';
import { connectPsk, startBridge, type Bridge } from './bridge/bridge.ts';
import { connectVpcdReader, VpcdReaderTransport } from './lpa/vpcd-transport.ts';
import { Lpa } from './lpa/flows.ts';
import { Es9Error } from './lpa/errors.ts';
import type { RspHttpOptions } from './lpa/rsp-http.ts';
import { readProfile } from './saip/profile.ts';
import { INVALID_VARIANTS, issueInvalid, type InvalidVariant } from '../certs/issue.ts';
import { sgp26TrustedCis } from '../certs/store.ts';
import { certify } from '../cli/certify.ts';
import { loadRig } from '../rigs/rig.ts';
import { ISD_R_AID_HEX as ISD_R_AID } from './apdu/aids.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TEMPLATE = 'TS48v5_SAIP2.3_NoBERTLV';
const USIM_AID = 'A0000000871002FF49FF0589';
const ISIM_AID = 'A0000000871004FF49FF0589';
const socat = findSocat();

const work = mkdtempSync(join(tmpdir(), 'bridgelab-security-'));
const smdpLog: string[] = [];
const bridgeLog: string[] = [];
/** Ki/OPc of every profile installed on an eUICC here (eUICC state, akaParameters) */
const installedAka: { iccid: string; ki?: Uint8Array; opc?: Uint8Array }[] = [];
let smdp: SmdpServer;
let http: RspHttpOptions;

beforeAll(async () => {
  smdp = await startSmdp({ dataDir: join(work, 'smdp'), host: '127.0.0.1', port: 0, inventory: [{ template: TEMPLATE, count: 24 }], log: (level, message) => smdpLog.push(`${level} ${message}`) });
  http = { ca: smdp.trustAnchorPem, connect: { host: '127.0.0.1', port: smdp.port } };
}, 60_000);

afterAll(async () => {
  await smdp?.close();
  rmSync(work, { recursive: true, force: true });
});

/** The card as the modem sees it, recording every APDU it receives. */
class RecordingCard implements ApduTransport {
  readonly received: Uint8Array[] = [];
  constructor(readonly euicc: Euicc) {}
  transmit(capdu: Uint8Array): Promise<Uint8Array> {
    this.received.push(capdu);
    return this.euicc.transmit(capdu);
  }
  reset(): Promise<Uint8Array> {
    return this.euicc.reset();
  }
  async close(): Promise<void> {}
}

/** Card-access AT commands (+CSIM/+CCHO/+CGLA/+CCHC/+CRSM) among modem trace lines. */
function cardAccessLines(events: readonly ModemTraceEvent[]): string[] {
  return events.flatMap((e) => (e.kind === 'line' && /\+C(SIM|CHO|GLA|CHC|RSM)/i.test(e.line) ? [e.line] : []));
}

describe.skipIf(!socat)('the bridge between the LPA and the modem (needs socat)', () => {
  let euicc: Euicc;
  let card: RecordingCard;
  let pty: PtyModem;
  const modemTrace: ModemTraceEvent[] = [];

  beforeAll(async () => {
    euicc = await createEuicc({ statePath: join(work, 'euicc-bridge.json'), identity: 'both', svn: '2.5.0' });
    // an enabled TS.48 profile: the card has a USIM that would answer a SELECT
    const lpa = await Lpa.open(euicc, { http });
    const r = await lpa.downloadProfile(smdp.es2.order({}).activationCode);
    await lpa.enableProfile({ iccid: r.iccid });
    await lpa.processNotifications();
    await lpa.close();
    card = new RecordingCard(euicc);
    pty = await startPtyModem({ personality: 'quectel-ec25j', transport: card, baud: null, timeScale: 0, onTrace: (e) => modemTrace.push(e) });
  }, 60_000);

  afterAll(async () => {
    for (const p of euicc?.state.profiles() ?? []) {
      const a = euicc.state.akaParameters(p.iccid);
      installedAka.push({ iccid: p.iccid, ...(a?.ki ? { ki: a.ki } : {}), ...(a?.opc ? { opc: a.opc } : {}) });
    }
    await pty?.close();
    await euicc?.close();
  });

  describe('TLS-PSK', () => {
    const identity = 'lpa-security-test';
    const key = new Uint8Array(randomBytes(32));
    let bridge: Bridge;
    let traceMark = 0;
    let cardMark = 0;
    beforeAll(async () => {
      bridge = await startBridge({ serial: { path: pty.path, baudRate: 115200 }, listen: { host: '127.0.0.1', port: 0 }, psk: { identity, key }, log: (l) => bridgeLog.push(l) });
      traceMark = modemTrace.length;
      cardMark = card.received.length;
    }, 30_000);
    afterAll(async () => {
      await bridge?.close();
    });

    const nothingReachedTheModem = () => {
      expect(card.received.slice(cardMark).map(toUpperHex)).toEqual([]);
      expect(cardAccessLines(modemTrace.slice(traceMark))).toEqual([]);
      expect(modemTrace.slice(traceMark).filter((e) => e.kind === 'apdu')).toEqual([]);
    };

    it('refuses a plain vpcd LPA: its SELECT is never answered and never reaches the modem', async () => {
      const reader = await connectVpcdReader('127.0.0.1', bridge.address!.port, { commandTimeoutMs: 5000 });
      await expect(reader.transmit(hexToBytes(`00A4040010${ISD_R_AID}00`))).rejects.toMatchObject({ name: 'VpcdTransportError' });
      await reader.close();
      nothingReachedTheModem();
    });

    it('refuses a wrong key and an unknown identity at the handshake', async () => {
      await expect(connectPsk('127.0.0.1', bridge.address!.port, identity, new Uint8Array(randomBytes(32)), { timeoutMs: 5000 })).rejects.toThrow();
      await expect(connectPsk('127.0.0.1', bridge.address!.port, 'someone-else', key, { timeoutMs: 5000 })).rejects.toThrow();
      expect(bridgeLog.filter((l) => l.includes('"tls-failed"')).length).toBeGreaterThanOrEqual(2);
      nothingReachedTheModem();
    });

    it('serves the LPA that has the key (control)', async () => {
      const reader = new VpcdReaderTransport(await connectPsk('127.0.0.1', bridge.address!.port, identity, key, { timeoutMs: 5000 }), { commandTimeoutMs: 10_000 });
      const lpa = await Lpa.open(reader);
      expect(await lpa.es10.getEid()).toBe(euicc.eid);
      await lpa.close();
      await reader.close();
      expect(cardAccessLines(modemTrace.slice(traceMark)).some((l) => l.toUpperCase().includes(ISD_R_AID))).toBe(true);
    });
  });

  describe('AID allow-list and AUTHENTICATE ban (default options)', () => {
    let bridge: Bridge;
    beforeAll(async () => {
      bridge = await startBridge({ serial: { path: pty.path, baudRate: 115200 }, listen: { host: '127.0.0.1', port: 0 }, log: (l) => bridgeLog.push(l) });
    }, 30_000);
    afterAll(async () => {
      await bridge?.close();
    });

    it('the card itself would answer a SELECT of its USIM (control, straight to the card)', async () => {
      const r = await euicc.transmit(hexToBytes(`00A404000C${USIM_AID}00`));
      expect([0x90, 0x61]).toContain(r[r.length - 2]);
    });

    it('answers 6A82 / 6982 to foreign SELECTs and authentication commands, and sends none of them to the modem', async () => {
      const traceMark = modemTrace.length;
      const cardMark = card.received.length;
      const reader = await connectVpcdReader('127.0.0.1', bridge.address!.port, { commandTimeoutMs: 10_000 });
      const sw = async (hex: string) => responseSw(await reader.transmit(hexToBytes(hex)));
      const open = await reader.transmit(hexToBytes('0070000001'));
      expect(responseSw(open)).toBe(0x9000);
      const ch = open[0]!;
      expect(ch).toBeGreaterThanOrEqual(1);
      const probes: [string, string, number][] = [
        ['SELECT USIM, basic channel', `00A404000C${USIM_AID}00`, 0x6a82],
        ['SELECT ISIM, basic channel', `00A404000C${ISIM_AID}00`, 0x6a82],
        ['SELECT USIM, logical channel', `0${ch}A404000C${USIM_AID}00`, 0x6a82],
        ['SELECT ISIM, logical channel', `0${ch}A404000C${ISIM_AID}00`, 0x6a82],
        ['RUN GSM ALGORITHM (A0 88)', `A088000010${'11'.repeat(16)}`, 0x6982],
        ['AUTHENTICATE (00 88), basic channel', `008800812210${'22'.repeat(16)}10${'33'.repeat(16)}00`, 0x6982],
        ['AUTHENTICATE (00 88), logical channel', `0${ch}8800812210${'22'.repeat(16)}10${'33'.repeat(16)}00`, 0x6982],
        ['AUTHENTICATE (INS 89)', `008900812210${'22'.repeat(16)}10${'33'.repeat(16)}00`, 0x6982],
      ];
      const answers = [];
      for (const [what, apdu] of probes) answers.push([what, (await sw(apdu)).toString(16).toUpperCase()]);
      expect(answers).toEqual(probes.map(([what, , expected]) => [what, expected.toString(16).toUpperCase()]));
      expect(responseSw(await reader.transmit(hexToBytes(`007080${ch.toString(16).padStart(2, '0')}00`)))).toBe(0x9000);
      await reader.close();
      const lines = modemTrace.slice(traceMark).flatMap((e) => (e.kind === 'line' ? [e.line.toUpperCase()] : []));
      expect(lines.filter((l) => l.includes('A0000000871002') || l.includes('A0000000871004'))).toEqual([]);
      const forwarded = card.received.slice(cardMark);
      expect(forwarded.filter((c) => c[1] === 0x88 || c[1] === 0x89).map(toUpperHex)).toEqual([]);
      expect(forwarded.filter((c) => toUpperHex(c).includes('A0000000871002') || toUpperHex(c).includes('A0000000871004')).map(toUpperHex)).toEqual([]);
    });

    it('downloads a profile through the bridge (its log and the SM-DP+ log are scanned for secrets below)', async () => {
      const reader = await connectVpcdReader('127.0.0.1', bridge.address!.port, { commandTimeoutMs: 30_000 });
      const lpa = await Lpa.open(reader, { http });
      const r = await lpa.downloadProfile(smdp.es2.order({}).activationCode);
      await lpa.close();
      await reader.close();
      expect(euicc.state.profile(r.iccid)).toBeDefined();
    }, 60_000);
  });
});

describe('SM-DP+ TLS', () => {
  const handshake = (version: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3'): Promise<{ protocol: string | null } | { code: string }> =>
    new Promise((resolve) => {
      const s = tls.connect({ host: '127.0.0.1', port: smdp.port, servername: smdp.hostname, ca: smdp.trustAnchorPem, minVersion: version, maxVersion: version, ciphers: 'DEFAULT@SECLEVEL=0' });
      s.once('secureConnect', () => {
        resolve({ protocol: s.getProtocol() });
        s.destroy();
      });
      s.once('error', (e: NodeJS.ErrnoException) => resolve({ code: e.code ?? e.message }));
    });

  it('refuses TLS 1.0 and 1.1 offered by the client (protocol_version alert), accepts 1.2 and 1.3', async () => {
    expect(await handshake('TLSv1')).toEqual({ code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' });
    expect(await handshake('TLSv1.1')).toEqual({ code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' });
    expect(await handshake('TLSv1.2')).toEqual({ protocol: 'TLSv1.2' });
    expect(await handshake('TLSv1.3')).toEqual({ protocol: 'TLSv1.3' });
  });
});

describe('SM-DP+ refuses every invalid SGP.26 eUICC-side certificate in AuthenticateClient', () => {
  /** SGP.22 5.6.3: the status each eUICC/EUM certificate defect must produce. */
  const EXPECTED: Partial<Record<InvalidVariant, readonly [string, string]>> = {
    expired: ['8.1.3', '6.3'],
    notYetValid: ['8.1.3', '6.3'],
    wrongCi: ['8.11.1', '3.9'],
    badSignature: ['8.1.3', '6.1'],
    wrongPolicy: ['8.1.3', '6.1'],
    wrongIssuer: ['8.1.3', '6.1'],
    eidOutsidePrefix: ['8.1.3', '6.1'],
    invalidEid: ['8.1.3', '6.1'],
    notCa: ['8.1.2', '6.1'],
  };
  const cases = (['P-256', 'brainpoolP256r1'] as const).flatMap((curve) => INVALID_VARIANTS.euicc.map((variant) => [curve, variant] as const));

  it.each(cases)('%s %s', async (curve, variant) => {
    const chain = await issueInvalid('euicc', variant, { curve });
    const ci = sgp26TrustedCis().find((c) => c.curve === curve)!;
    const key = chain.leaf.key;
    // the card presents the invalid certificate and claims the SGP.26 CI of its curve
    const identity: EuiccIdentity = {
      curve,
      eid: chain.leaf.cert.eid ?? '89049032123451234512345678901235',
      certificate: chain.leaf.der,
      eumCertificate: chain.intermediates[0]!,
      ciKeyId: ci.keyId,
      sign: (m) => ecdsaSign(curve, key.privateKey, m),
    };
    const euicc = await createEuicc({ identity: { identities: [identity] }, svn: '2.5.0', trustedCis: [ci] });
    try {
      const lpa = await Lpa.open(euicc, { http });
      const order = smdp.es2.order({});
      const err = await lpa.downloadProfile(order.activationCode).then(
        () => undefined,
        (e: unknown) => e,
      );
      await lpa.close();
      expect(err, chain.description).toBeInstanceOf(Es9Error);
      const e = err as Es9Error;
      const expected = EXPECTED[variant];
      if (!expected) throw new Error(`no expected status for the eUICC variant ${variant}: add it to EXPECTED`);
      expect([e.fn, e.subjectCode, e.reasonCode]).toEqual(['ES9+.authenticateClient', ...expected]);
      expect(euicc.state.profiles()).toEqual([]);
      expect(smdp.state.order(order.iccid)?.downloadAttempts).toBe(0);
    } finally {
      await euicc.close();
    }
  }, 30_000);
});

// ---------------------------------------------------------------------------------------
// secrets

interface Secret {
  readonly what: string;
  /** byte patterns searched in every file (raw) */
  readonly raw: Uint8Array;
  /** text forms searched in every file and log */
  readonly text: readonly string[];
}

function secretOfBytes(what: string, bytes: Uint8Array, extraText: readonly string[] = []): Secret {
  const b = Buffer.from(bytes);
  return { what, raw: bytes, text: [toHex(bytes), toUpperHex(bytes), b.toString('base64').replace(/=+$/, ''), b.toString('base64url'), ...extraText] };
}

/** A PEM private key: its scalar (hex, base64, raw) and its whole base64 body. */
function secretOfPem(what: string, pem: string): Secret {
  const body = pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  return secretOfBytes(what, parsePrivateKey(pem).privateKey, [body]);
}

function sgp26Secrets(): Secret[] {
  const out: Secret[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/^SK_.*\.pem$/.test(e.name)) out.push(secretOfPem(relative(ROOT, p), readFileSync(p, 'utf8')));
    }
  };
  walk(join(ROOT, 'certs', 'sgp26'));
  return out;
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/** Every (secret, place) where a secret shows up. */
function leaks(secrets: readonly Secret[], places: readonly { name: string; bytes: Buffer }[]): string[] {
  const found: string[] = [];
  for (const place of places) {
    const text = place.bytes.toString('latin1');
    for (const s of secrets) {
      if (place.bytes.indexOf(Buffer.from(s.raw)) >= 0) found.push(`${s.what} (raw bytes) in ${place.name}`);
      for (const t of s.text) if (t.length >= 16 && text.includes(t)) found.push(`${s.what} (${t.slice(0, 12)}...) in ${place.name}`);
    }
    if (/PRIVATE KEY-----/.test(text)) found.push(`a PEM private key block in ${place.name}`);
  }
  return found;
}

describe.skipIf(!socat)('no key or Ki/OPc in a certify report or the logs (needs socat)', () => {
  const reportDir = join(work, 'report');
  const rigTmp = join(work, 'rig-tmp');
  const capturedTlsKeys = new Map<string, string>();
  /** eUICC state files of the rig (last content seen), for the Ki/OPc of the profiles installed by the suite */
  const capturedStates = new Map<string, string>();
  let results: Awaited<ReturnType<typeof certify>>['results'] = [];

  beforeAll(async () => {
    // the rig's SM-DP+ mints its TLS key in a temporary data dir that is removed after the
    // run: point the rig's temp dir here and collect every TLS key while it exists
    mkdirSync(rigTmp, { recursive: true });
    const collect = () => {
      for (const rig of existsSync(rigTmp) ? readdirSync(rigTmp) : []) {
        for (const f of existsSync(join(rigTmp, rig)) ? readdirSync(join(rigTmp, rig)).filter((x) => /^euicc-.*\.json$/.test(x)) : []) {
          const text = readFileSync(join(rigTmp, rig, f), 'utf8');
          if (text.includes('"upp"')) capturedStates.set(join(rig, f), text);
        }
        const dir = join(rigTmp, rig, 'smdp', 'tls');
        if (!existsSync(dir)) continue;
        for (const f of readdirSync(dir).filter((x) => x.endsWith('.key.pem'))) {
          const p = join(dir, f);
          if (!capturedTlsKeys.has(p) && statSync(p).size > 0) capturedTlsKeys.set(p, readFileSync(p, 'utf8'));
        }
      }
    };
    const poll = setInterval(collect, 50);
    const savedTmp = process.env.TMPDIR;
    process.env.TMPDIR = rigTmp;
    try {
      const run = await certify(
        { rig: loadRig('virtual'), rigSource: 'virtual', personalities: ['quectel-ec25j'], reportDir, html: true, include: ['suites/provisioning/download.suite.ts'], only: 'TC_LPA-Bridge_ES9\\+\\.Download_ActivationCode' },
        () => undefined,
      );
      results = run.results;
    } finally {
      if (savedTmp === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = savedTmp;
      clearInterval(poll);
    }
  }, 240_000);

  it('ran a download case and produced every part of the report', () => {
    expect(results.map((r) => [r.id, r.verdict])).toEqual([['TC_LPA-Bridge_ES9+.Download_ActivationCode', 'Pass']]);
    for (const part of ['summary.json', 'junit.xml', 'cases', 'allure-results', 'report.html']) expect(existsSync(join(reportDir, part)), part).toBe(true);
    expect(capturedTlsKeys.size, 'TLS keys of the rig SM-DP+ collected while it ran').toBeGreaterThanOrEqual(1);
  });

  it('no SGP.26 private key, SM-DP+ TLS key or Ki/OPc in any report file or log', () => {
    const secrets: Secret[] = [...sgp26Secrets()];
    for (const [path, pem] of capturedTlsKeys) secrets.push(secretOfPem(`rig SM-DP+ TLS key ${relative(rigTmp, path)}`, pem));
    const ownTls = join(work, 'smdp', 'tls');
    for (const f of readdirSync(ownTls).filter((x) => x.endsWith('.key.pem'))) secrets.push(secretOfPem(`SM-DP+ TLS key ${f}`, readFileSync(join(ownTls, f), 'utf8')));
    // Ki/OPc of the installed profiles, from the eUICC states: the card of this file and
    // the rig's cards during the certify run (their state files, read while they existed)
    const aka = [...installedAka];
    for (const [name, text] of capturedStates) {
      const state = JSON.parse(text) as { profiles: { iccid: string; upp: string }[] };
      for (const p of state.profiles) {
        const a = readProfile(hexToBytes(p.upp)).akaParameters;
        aka.push({ iccid: `${p.iccid} (${name})`, ...(a?.ki ? { ki: a.ki } : {}), ...(a?.opc ? { opc: a.opc } : {}) });
      }
    }
    expect(installedAka.length, 'profiles installed through the bridge here').toBeGreaterThanOrEqual(2);
    expect(capturedStates.size, 'rig eUICC states with a profile seen during certify').toBeGreaterThanOrEqual(1);
    const values = new Map<string, Uint8Array>();
    for (const a of aka) {
      if (a.ki) values.set(`Ki of ${a.iccid}`, a.ki);
      if (a.opc) values.set(`OPc of ${a.iccid}`, a.opc);
    }
    // a value of one repeated byte (the TS.48 test algorithm's OPc is 16 zero bytes) is
    // indistinguishable from padding: it cannot be searched for
    const searchable = [...values].filter(([, b]) => new Set(b).size > 1);
    expect(searchable.some(([what]) => what.startsWith('Ki'))).toBe(true);
    const seen = new Set<string>();
    for (const [what, bytes] of searchable) {
      if (seen.has(toHex(bytes))) continue;
      seen.add(toHex(bytes));
      secrets.push(secretOfBytes(what, bytes));
    }
    expect(secrets.length).toBeGreaterThan(20);

    const files = filesUnder(reportDir);
    expect(files.filter((f) => f === join(reportDir, 'report.html')).length).toBe(1);
    expect(files.filter((f) => f.includes(`${join(reportDir, 'cases')}`)).length).toBeGreaterThan(0);
    const places = [
      ...files.map((f) => ({ name: relative(reportDir, f), bytes: readFileSync(f) })),
      { name: 'bridge log', bytes: Buffer.from(bridgeLog.join('\n')) },
      { name: 'SM-DP+ log', bytes: Buffer.from(smdpLog.join('\n')) },
    ];
    expect(bridgeLog.length).toBeGreaterThan(0);
    expect(smdpLog.length).toBeGreaterThan(0);
    // the detector finds what it looks for (hex, base64 and raw forms)
    const probe = secrets[0]!;
    expect(leaks([probe], [{ name: 'probe', bytes: Buffer.concat([Buffer.from('a '), Buffer.from(probe.raw), Buffer.from(` ${probe.text[1]} ${probe.text[2]}`)]) }])).toHaveLength(3);
    expect(leaks(secrets, places)).toEqual([]);
  });
});
