// A real rig without hardware: the parts a device would have (a software eUICC behind a
// fake modem on a PTY, and the reference bridge on that PTY) run in this test process, out
// of the rig's sight, and certify gets a rig file as for a Raspberry Pi: a card eUICC, a
// serial modem, a bridge already running at host:port. The rig can then observe only what
// the LPA gets, as on real hardware: checks of the card side of the modem hop, the AT lines
// or the card's state must give 'not verifiable' steps (N/A or Inconclusive), never a Pass,
// while cases that need only the LPA's side still pass.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { certify } from './certify.ts';
import { parseRig, type Rig } from '../rigs/rig.ts';
import { createEuicc, type Euicc } from '../sim/euicc/euicc.ts';
import { findSocat, startPtyModem, type PtyModem } from '../sim/modem/serial.ts';
import { startBridge, type Bridge } from '../sim/bridge/bridge.ts';
import type { CaseResult } from '../suites/framework/verdict.ts';
import type { RigIdentity } from '../suites/framework/identity.ts';

const PERSONALITY = 'quectel-ec25j';
const CASES = ['TC_Bridge_vpcd.PowerOn_ATR', 'TC_Bridge_APDU.ClaFF_6E00', 'TC_Bridge_APDU.Case1_NoBody', 'TC_Bridge_ISD-R.Select_Again'];
const ONLY = `^(${CASES.map((id) => id.replace(/[.+]/g, '\\$&')).join('|')}):`;
const INCLUDE = ['suites/bridge-transport/link.suite.ts', 'suites/bridge-transport/apdu.suite.ts'];

const socat = findSocat();

describe.skipIf(!socat && !process.env.CI)('a rig with a running bridge and a card it cannot see into', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bridgelab-real-rig-'));
  let euicc: Euicc;
  let pty: PtyModem;
  let bridge: Bridge;

  beforeAll(async () => {
    euicc = await createEuicc({ statePath: join(dir, 'card.json') });
    pty = await startPtyModem({ personality: PERSONALITY, transport: euicc, timeScale: 0.1 });
    // queued, as in cli/broken-bridge.test.ts: the rig cannot see when a bridge it does not run has
    // released the previous LPA, and a case connecting in that window would be refused
    bridge = await startBridge({ serial: { path: pty.path, baudRate: 115200 }, listen: { host: '127.0.0.1', port: 0 }, secondLpa: 'queue' });
  }, 60_000);

  afterAll(async () => {
    await bridge?.close();
    await pty?.close();
    await euicc?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The rig file a user writes for a device: nothing of it is simulated by the rig. */
  const deviceRig = (euiccPart: Record<string, unknown>): Rig =>
    parseRig(
      {
        name: 'device-on-the-bench',
        euicc: { kind: 'card', description: 'the card in the device', ...euiccPart },
        modem: { kind: 'serial', path: pty.path, baud: 115200, personality: PERSONALITY },
        bridge: { kind: 'running', address: `127.0.0.1:${bridge.address!.port}` },
        smdp: { kind: 'embedded' },
      },
      'cli/real-rig.test.ts',
    );

  async function run(name: string, rig: Rig): Promise<Map<string, CaseResult>> {
    const reportDir = join(dir, name);
    const { results } = await certify({ rig, rigSource: 'cli/real-rig.test.ts', personalities: [PERSONALITY], only: ONLY, reportDir, html: false, include: INCLUDE }, () => {});
    expect(results.map((r) => r.id).sort(), results.map((r) => `${r.id}: ${r.verdict} ${r.reason ?? ''}`).join('\n')).toEqual([...CASES].sort());
    return new Map(results.map((r) => [r.id, r]));
  }

  it('gives not-verifiable steps, never a Pass, for checks the rig cannot observe', async () => {
    const r = await run('without-eid', deviceRig({}));
    // only the LPA's side is needed: Pass
    expect(r.get('TC_Bridge_vpcd.PowerOn_ATR')!.verdict, r.get('TC_Bridge_vpcd.PowerOn_ATR')!.reason).toBe('Pass');
    // the LPA got 6E00 (step 1 holds); whether the card saw nothing cannot be told here
    const claFf = r.get('TC_Bridge_APDU.ClaFF_6E00')!;
    expect(claFf.verdict, claFf.reason).toBe('Inconclusive');
    expect(claFf.steps.map((s) => s.status)).toEqual(['pass', 'not-verifiable']);
    expect(claFf.steps[1]!.detail).toBe(
      "no AT command towards the card for FFE2910006BF3E035C015A00: the AT lines between the bridge and the modem can be observed only with a fake modem, which rig 'device-on-the-bench' has not; no APDU at the card for FFE2910006BF3E035C015A00: the card side of the modem hop (APDUs the card received) can be observed only with the emulated eUICC, which rig 'device-on-the-bench' has not",
    );
    expect(claFf.reason).toMatch(/^not verifiable on rig 'device-on-the-bench': step 2: /);
    // its only step compares with the card side: nothing verifiable at all, N/A
    const case1 = r.get('TC_Bridge_APDU.Case1_NoBody')!;
    expect(case1.verdict).toBe('N/A');
    expect(case1.steps.map((s) => s.status)).toEqual(['not-verifiable']);
    // the card's EID is not known to this rig either
    const again = r.get('TC_Bridge_ISD-R.Select_Again')!;
    expect(again.verdict).toBe('N/A');
    expect(again.steps.map((s) => s.status)).toEqual(['not-verifiable', 'not-verifiable']);
    expect(again.steps[1]!.detail).toMatch(/^GetEID answered the card's EID: the EID the card holds can be observed only with the emulated eUICC or the card's EID in the rig file \(euicc\.eid\)/);
  }, 180_000);

  it('checks the EID exactly once the rig file names it, and records what the rig could see of the device', async () => {
    const r = await run('with-eid', deviceRig({ eid: euicc.eid }));
    const again = r.get('TC_Bridge_ISD-R.Select_Again')!;
    expect(again.verdict, again.reason).toBe('Inconclusive');
    expect(again.steps.map((s) => s.status)).toEqual(['not-verifiable', 'pass']);
    const identity = (JSON.parse(readFileSync(join(dir, 'with-eid', 'identity.json'), 'utf8')) as Record<string, RigIdentity>)[PERSONALITY]!;
    expect(identity.bridge).toEqual({ kind: 'running', address: `127.0.0.1:${bridge.address!.port}` });
    expect(identity.modem.source).toBe('not observable');
    // read through the bridge with GetEID
    expect(identity.eid).toBe(euicc.eid);
    // the evidence holds the LPA's side only
    const log = readFileSync(join(dir, 'with-eid', again.evidence.apduLog!), 'utf8');
    expect(log).toMatch(/lpa-bridge >> /);
    expect(log).not.toMatch(/modem-card/);
  }, 180_000);
});
