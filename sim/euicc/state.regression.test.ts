// Regression tests for issue 18 (eUICC state file): only the top level used to be checked,
// so two enabled profiles, duplicate ICCIDs/AIDs and wrongly typed fields were accepted and
// written back, and a `profiles` array of non-objects gave an internal TypeError on every
// command. Now every field is typed, the SGP.22 invariants hold, a version 2 file carries a
// SHA-256 of its content, and a file deleted under its marker is refused: each damage is a
// StateFileError naming the file, and `bridgelab euicc` exits 1 with that one line.
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEuicc } from './euicc.ts';
import { StateFileError, StateStore } from './state.ts';
import { install, rig, tempDir, testIccid } from './testing/fixtures.ts';
import { runCli } from '../smdp/testing/cli-run.ts';

const t = tempDir();
let pristine: string;

beforeAll(async () => {
  pristine = t.file('pristine.json');
  const r = await rig({ statePath: pristine });
  await install(r, testIccid(1));
  await install(r, testIccid(2));
  expect(await r.lpa.enable(testIccid(1))).toBe(0);
  await r.euicc.close();
});

afterAll(() => t.cleanup());

let n = 0;
/** A copy of the pristine state (with its marker) after `damage`. */
function damaged(damage: (path: string) => void): string {
  const path = t.file(`case-${++n}.json`);
  copyFileSync(pristine, path);
  copyFileSync(`${pristine}.marker`, `${path}.marker`);
  damage(path);
  return path;
}

type Json = Record<string, unknown> & { profiles: Record<string, unknown>[] };

/** Edit the JSON and re-seal it with a correct digest: the content itself is inconsistent. */
function edit(change: (s: Json) => void): (path: string) => void {
  return (path) => {
    const { integrity: _old, ...state } = JSON.parse(readFileSync(path, 'utf8')) as Json & { integrity: string };
    void _old;
    change(state as Json);
    writeFileSync(path, JSON.stringify({ ...state, integrity: `sha256:${createHash('sha256').update(JSON.stringify(state)).digest('hex')}` }));
  };
}

/** The same edit on a version 1 file (earlier releases: no digest), as the issue found them. */
function editV1(change: (s: Json) => void): (path: string) => void {
  return (path) => {
    const { integrity: _old, ...state } = JSON.parse(readFileSync(path, 'utf8')) as Json & { integrity: string };
    void _old;
    change(state as Json);
    writeFileSync(path, JSON.stringify({ ...state, version: 1 }));
  };
}

function loadError(path: string): string {
  try {
    new StateStore(path).load();
  } catch (e) {
    if (e instanceof StateFileError) return e.message;
    throw e;
  }
  throw new Error('expected a StateFileError');
}

const CASES: [string, (path: string) => void, RegExp][] = [
  ['truncated', (p) => truncateSync(p, Math.floor(statSync(p).size / 2)), /not valid JSON: truncated or damaged/],
  ['zeroed', (p) => writeFileSync(p, Buffer.alloc(statSync(p).size)), /not valid JSON/],
  [
    'bit-flipped',
    (p) => {
      const b = readFileSync(p);
      const at = b.indexOf('"upp": "') + 20;
      b[at] = b[at]! ^ 0x01; // one hex digit of the profile package: still valid JSON and hex
      writeFileSync(p, b);
    },
    /content does not match its integrity digest/,
  ],
  ['deleted under its marker', (p) => rmSync(p), /missing, but .*\.marker records the eUICC \d{32} kept its profiles there; restore the file, or delete .*\.marker/],
  ['two enabled profiles', edit((s) => s.profiles.forEach((p) => (p['enabled'] = true))), /profiles: 2 profiles enabled \(.*\); at most one may be/],
  ['duplicate ICCID', edit((s) => (s.profiles[1]!['iccid'] = s.profiles[0]!['iccid'])), /profiles: ICCID \d+ appears twice/],
  ['duplicate ISD-P AID', edit((s) => (s.profiles[1]!['isdpAid'] = s.profiles[0]!['isdpAid'])), /profiles: ISD-P AID [0-9A-F]{32} appears twice/],
  ['AID not yet allocated', edit((s) => (s['nextIsdpIndex'] = 1)), /profiles\.0\.isdpAid: [0-9A-F]{32} is not an ISD-P AID allocated below nextIsdpIndex 1/],
  ['wrongly typed field', edit((s) => (s.profiles[0]!['size'] = 'big')), /profiles\.0\.size: Invalid input: expected number, received string/],
  ['profiles of non-objects (was a TypeError)', edit((s) => (s.profiles = [1, 'x'] as unknown as Record<string, unknown>[])), /profiles\.0: Invalid input: expected object, received number/],
  // found by npm run fuzz (euicc-state-damage, seed 20261122, iteration 425): an empty dpOid was loaded, then every GetProfilesInfo answered 6F00
  ['empty dpOid (fuzz)', edit((s) => (s.profiles[0]!['dpOid'] = '')), /profiles\.0\.dpOid: expected a dotted OBJECT IDENTIFIER/],
  ['sequence number above the last', edit((s) => (s['lastSeqNumber'] = 0)), /notifications: sequence number \d+ is above lastSeqNumber 0/],
  ['version 1 with two enabled profiles', editV1((s) => s.profiles.forEach((p) => (p['enabled'] = true))), /profiles: 2 profiles enabled/],
  ['version 1 with profiles of non-objects', editV1((s) => (s.profiles = [null] as unknown as Record<string, unknown>[])), /profiles\.0: Invalid input: expected object, received null/],
];

describe('issue 18: a damaged eUICC state file is a StateFileError naming the file', () => {
  for (const [name, damage, message] of CASES)
    it(`EuiccState_${name.replace(/\W+/g, '_')}`, async () => {
      const path = damaged(damage);
      const m = loadError(path);
      expect(m).toMatch(new RegExp(`^eUICC state file ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
      expect(m).toMatch(message);
      expect(m).not.toContain('\n');
      await expect(createEuicc({ statePath: path })).rejects.toBeInstanceOf(StateFileError);
    });

  it('EuiccState_NoKeyInMessages: a damaged fresh identity is reported without its private key', async () => {
    const path = t.file('fresh.json');
    await (await createEuicc({ statePath: path, identity: 'fresh' })).close();
    const key = (JSON.parse(readFileSync(path, 'utf8')) as { freshIdentities: { privateKey: string }[] }).freshIdentities[0]!.privateKey;
    edit((s) => ((s['freshIdentities'] as { privateKey: string }[])[0]!.privateKey = `${key}00`))(path);
    const m = loadError(path);
    expect(m).toMatch(/freshIdentities\.0\.privateKey: expected 32 bytes of hex/);
    expect(m).not.toContain(key);
  });

  it('a version 1 file of an earlier release is read and written back as version 2 with a marker', async () => {
    const path = damaged(editV1(() => undefined));
    rmSync(`${path}.marker`);
    const e = await createEuicc({ statePath: path });
    expect(e.state.profiles()).toHaveLength(2);
    await e.close();
    const back = JSON.parse(readFileSync(path, 'utf8')) as { version: number; integrity: string };
    expect(back.version).toBe(2);
    expect(back.integrity).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(existsSync(`${path}.marker`)).toBe(true);
  });

  it('without a file or a marker a new card starts (first run)', async () => {
    const path = t.file('new.json');
    const e = await createEuicc({ statePath: path });
    await e.close();
    expect(existsSync(path) && existsSync(`${path}.marker`)).toBe(true);
  });
});

describe('issue 18: `bridgelab euicc` exits 1 with one line naming the damaged state file', () => {
  for (const [name, damage] of CASES.filter(([name]) => ['truncated', 'bit-flipped', 'deleted under its marker', 'two enabled profiles', 'profiles of non-objects (was a TypeError)'].includes(name)))
    it(`EuiccCli_${name.replace(/\W+/g, '_')}`, async () => {
      const path = damaged(damage);
      const r = await runCli(['euicc', '--vpcd', '127.0.0.1:1', '--state', path, '--reconnect-ms', '10'], { runMs: 15_000 });
      expect({ code: r.code, signal: r.signal, started: r.started }).toEqual({ code: 1, signal: null, started: false });
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]!.startsWith(`bridgelab: euicc: eUICC state file ${path}: `)).toBe(true);
      expect(lines[0]).not.toMatch(/TypeError|internal error/);
    });
});
