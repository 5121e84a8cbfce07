// Certifying the certifier: `bridgelab certify` run against deliberately broken bridges
// (sim/bridge/defects.ts) must fail exactly the cases that cover each defect and pass all
// the others, and pass everything against the same bridge without a defect. Each run is a
// real certification through certify() on the quectel-ec25j fake modem, with the bridge
// launched as an external process (rig bridge kind 'external', what a vendor's port is):
//   node bin/bridgelab.js bridge --serial {tty} --baud {baud} --listen {host}:{port} --queue [--defect NAME]
// so these runs also prove that an external-process bridge certifies. --queue (a documented
// bridge option): the rig cannot see when an external bridge has finished releasing a
// departed LPA (suites' bridgeIdle only watches the built-in one), so a case connecting in
// that window would be refused as a second LPA; queued, it waits instead.
// To stay bounded only a fixed subset of cases runs (SUBSET, through --only and only the
// suite files that declare them). EXPECTED says, per defect, which cases of the subset
// must not pass and why; every other case of the subset must pass. When a suite author
// renames or drops a case of the subset, this test says so: update SUBSET and EXPECTED.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { certify } from './certify.ts';
import { bridgeOptionsFromArgs } from './bridge.ts';
import { UsageError } from './errors.ts';
import type { Rig } from '../rigs/rig.ts';
import { brokenBridgeRig as brokenBridgeRig_, DEFAULT_PERSONALITY, personalityFor } from './mutation.ts';
import { DEFECT_NAMES, DEFECT_SUMMARIES, type DefectName } from '../sim/bridge/defects.ts';
import type { CaseResult, Verdict } from '../suites/framework/verdict.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PERSONALITY = DEFAULT_PERSONALITY;
const personalityOf = (defect: DefectName | 'none'): string => personalityFor(defect);

/** The cases every run certifies: those covering each defect, and unrelated ones that must pass throughout. */
const SUBSET = [
  // APDU fidelity and status words (suites/bridge-transport)
  'TC_Bridge_APDU.StoreDataLc_001to032',
  'TC_Bridge_APDU.StoreDataLc_225to255',
  'TC_Bridge_APDU.Case1_NoBody',
  'TC_Bridge_APDU.Case2_StatusShortLe',
  'TC_Bridge_APDU.Case3_LastBlockNoLe',
  'TC_Bridge_APDU.Case4_GetEid',
  'TC_Bridge_APDU.Case4_Lc255Le00',
  'TC_Bridge_APDU.Extended_6700',
  'TC_Bridge_APDU.ClaFF_6E00',
  'TC_Bridge_APDU.StatusWord_6A88',
  'TC_Bridge_APDU.StatusWord_6F00',
  'TC_Bridge_APDU.StatusWord_9000With256Bytes',
  'TC_Bridge_T0.GetResponse_ConfiguredAddresses1KB',
  'TC_Bridge_T0.WrongLe_LogicalChannel',
  'TC_Bridge_T0.ShortCommand_AtMost256',
  'TC_Bridge_StoreData.Command1100_Blocks255',
  // logical channels
  'TC_Bridge_Channel.Open_Three',
  'TC_Bridge_Channel.NotOpened_6881',
  'TC_Bridge_Channel.Interleaved_Chains',
  'TC_Bridge_Channel.Remap_ExplicitNumber',
  // bridge policy (suites/negative)
  'TC_LPA-Bridge_Security.AidAllowList_USIM',
  'TC_LPA-Bridge_Security.SecondLpa_Refused',
  // a whole download (suites/provisioning)
  'TC_LPA-Bridge_ES9+.Download_ActivationCode',
] as const;
type CaseId = (typeof SUBSET)[number];
type NotPassed = Partial<Record<CaseId, Extract<Verdict, 'Fail' | 'Inconclusive'>>>;

/** Per defect, the cases of SUBSET that must not pass (all others must pass). */
const EXPECTED: Readonly<Partial<Record<'none' | DefectName, NotPassed>>> = {
  none: {},
  // the LPA gets a bare 61xx and cannot fetch the rest: every answer the card gives in 61xx pieces is lost
  'drop-get-response': {
    'TC_Bridge_APDU.Case2_StatusShortLe': 'Fail', // 16 bytes + 61xx from the card
    'TC_Bridge_APDU.Case3_LastBlockNoLe': 'Fail', // case 3 GetEID: 61xx from the card
    'TC_Bridge_T0.ShortCommand_AtMost256': 'Fail', // the LPA's GET RESPONSE answered 6D00
    // the strict LPA (lpac-pcsc) SELECTs the ISD-R without Le: the card's 61xx cannot be fetched
    'TC_Bridge_T0.GetResponse_ConfiguredAddresses1KB': 'Inconclusive', // its set-up uses the LPA
    'TC_LPA-Bridge_ES9+.Download_ActivationCode': 'Inconclusive', // the LPA cannot select the ISD-R when it opens (between steps)
    'TC_LPA-Bridge_Security.AidAllowList_USIM': 'Inconclusive', // its set-up downloads a profile through the bridge
    'TC_LPA-Bridge_Security.SecondLpa_Refused': 'Inconclusive', // the first LPA cannot select the ISD-R (before the first step) // the first LPA cannot select the ISD-R
  },
  // the first piece passed off as the whole answer: the same cases, failing on truncated data instead
  'mangle-61xx': {
    'TC_Bridge_APDU.Case2_StatusShortLe': 'Fail',
    'TC_Bridge_APDU.Case3_LastBlockNoLe': 'Fail',
    'TC_Bridge_T0.ShortCommand_AtMost256': 'Fail',
    'TC_Bridge_T0.GetResponse_ConfiguredAddresses1KB': 'Inconclusive',
    'TC_LPA-Bridge_ES9+.Download_ActivationCode': 'Fail',
    'TC_LPA-Bridge_Security.AidAllowList_USIM': 'Inconclusive',
    'TC_LPA-Bridge_Security.SecondLpa_Refused': 'Fail',
  },
  // APDUs over 127 bytes reach the card as two STORE DATA blocks; the LPA's 120-byte blocks pass
  'split-bpp': {
    'TC_Bridge_APDU.StoreDataLc_225to255': 'Fail',
    'TC_Bridge_APDU.Case4_Lc255Le00': 'Fail',
    // (Extended_6700 passes: the bridge refuses extended APDUs its ATR does not announce before the defect acts)
    'TC_Bridge_StoreData.Command1100_Blocks255': 'Fail',
  },
  'ignore-allowlist': {
    'TC_LPA-Bridge_Security.AidAllowList_USIM': 'Fail',
  },
  // every SW but 9000 (card's or bridge's) becomes 6F00; StatusWord_6F00 passes because 6F00 stays 6F00
  'status-word-rewrite': {
    'TC_Bridge_APDU.Case1_NoBody': 'Fail', // 6A80
    'TC_Bridge_APDU.Extended_6700': 'Fail', // 6700
    'TC_Bridge_APDU.ClaFF_6E00': 'Fail', // 6E00
    'TC_Bridge_APDU.StatusWord_6A88': 'Fail', // 6A88
    'TC_Bridge_Channel.NotOpened_6881': 'Fail', // 6881
    // the card's 61xx, which a T=0 reader passes to the LPA, becomes 6F00 as well
    'TC_Bridge_APDU.Case2_StatusShortLe': 'Fail',
    'TC_Bridge_APDU.Case3_LastBlockNoLe': 'Fail',
    'TC_Bridge_T0.ShortCommand_AtMost256': 'Fail',
    'TC_Bridge_T0.GetResponse_ConfiguredAddresses1KB': 'Inconclusive', // the strict LPA's SELECT gets 6F00 for its 61xx
    'TC_LPA-Bridge_ES9+.Download_ActivationCode': 'Inconclusive', // the LPA cannot select the ISD-R when it opens (between steps)
    'TC_LPA-Bridge_Security.AidAllowList_USIM': 'Inconclusive', // its set-up downloads a profile through the bridge
    'TC_LPA-Bridge_Security.SecondLpa_Refused': 'Inconclusive', // the first LPA cannot select the ISD-R (before the first step)
  },
  'interleave-lpas': {
    'TC_LPA-Bridge_Security.SecondLpa_Refused': 'Fail',
  },
  // every channel lands on the card's basic channel: the fidelity checks (channel bits normalised) still pass
  'drop-channel-bits': {
    'TC_Bridge_Channel.Open_Three': 'Fail', // three LPA channels, one card channel
    'TC_Bridge_Channel.Interleaved_Chains': 'Fail', // the two chains meet on one card channel
    'TC_Bridge_Channel.Remap_ExplicitNumber': 'Fail', // card channel 0 is not the opened one
  },
  // a short command gets the whole card answer in one R-APDU: the strict PC/SC LPA's 264-byte buffer overflows
  'oversized-response': {
    'TC_Bridge_T0.ShortCommand_AtMost256': 'Fail', // 1 KB answer to a short command
    'TC_Bridge_T0.GetResponse_ConfiguredAddresses1KB': 'Fail', // pieces over 256 bytes
    'TC_LPA-Bridge_ES9+.Download_ActivationCode': 'Fail', // AuthenticateServer answers over 1 KB
    'TC_LPA-Bridge_Security.AidAllowList_USIM': 'Inconclusive', // its set-up downloads a profile through the bridge
  },
};

/** The defects this bounded subset exercises; the others are measured over the whole suite by `npm run mutation` (committed matrix, cli/mutation.test.ts). */
const SUBSET_DEFECTS = Object.keys(EXPECTED).filter((d): d is DefectName => d !== 'none');

const escapeRegex = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** certify --only pattern for exactly these ids (test names are "<id>: <title>"). */
function onlyPattern(ids: readonly string[]): string {
  return `^(?:${ids.map(escapeRegex).join('|')}):`;
}

function suiteFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return suiteFiles(p);
    return name.endsWith('.suite.ts') ? [p] : [];
  });
}

/**
 * The suite files that declare the ids: literally, or through a template literal whose
 * literal part is the id up to its variant (`TC_Bridge_APDU.StatusWord_${...}`).
 */
function filesDeclaring(ids: readonly string[]): string[] {
  const out = new Set<string>();
  for (const file of suiteFiles(join(ROOT, 'suites'))) {
    const text = readFileSync(file, 'utf8');
    for (const id of ids) {
      const stem = id.slice(0, id.lastIndexOf('_') + 1);
      if (text.includes(`'${id}'`) || text.includes(`\`${stem}\${`)) out.add(relative(ROOT, file));
    }
  }
  return [...out].sort();
}

const brokenBridgeRig = (defect: DefectName | 'none'): Rig => brokenBridgeRig_(defect, personalityOf(defect));

function describeRun(results: readonly CaseResult[]): string {
  return results.map((r) => `  ${r.verdict.padEnd(12)} ${r.id}${r.verdict === 'Pass' ? '' : `: ${(r.reason ?? '').slice(0, 200)}`}`).join('\n');
}

describe('bridgelab bridge --defect', () => {
  it('selects deliberate defects by name and refuses unknown ones; --help lists every one as the way to see a failing report', async () => {
    const o = bridgeOptionsFromArgs(['--serial', '/dev/ttyUSB2', '--defect', 'split-bpp', '--defect', 'mangle-61xx', '--defect', 'split-bpp']);
    expect(o.defects).toEqual(['split-bpp', 'mangle-61xx']);
    expect(bridgeOptionsFromArgs(['--serial', '/dev/ttyUSB2']).defects).toBeUndefined();
    expect(() => bridgeOptionsFromArgs(['--serial', '/dev/ttyUSB2', '--defect', 'be-nice'])).toThrow(UsageError);
    expect(() => bridgeOptionsFromArgs(['--serial', '/dev/ttyUSB2', '--defect', 'be-nice'])).toThrow(/unknown defect 'be-nice'/);
    const { bridgeCommand } = await import('./bridge.ts');
    const out: string[] = [];
    expect(await bridgeCommand(['--help'], { stdout: (l) => out.push(l), stderr: () => undefined })).toBe(0);
    for (const name of DEFECT_NAMES) expect(out.join('\n')).toMatch(new RegExp(`^ +${name} +${escapeRegex(DEFECT_SUMMARIES[name].slice(0, 20))}`, 'm'));
    expect(out.join('\n')).toMatch(/to see a failing report/);
  });
});

describe('certify fails exactly the cases covering each defect of a broken bridge', () => {
  const dirs: string[] = [];
  let files: string[] = [];
  beforeAll(() => {
    files = filesDeclaring(SUBSET);
  });
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('covers every defect, and only cases of the subset', () => {
    expect(Object.keys(EXPECTED)).toContain('none');
    for (const d of SUBSET_DEFECTS) expect(DEFECT_NAMES).toContain(d);
    for (const [defect, notPassed] of Object.entries(EXPECTED)) {
      if (defect !== 'none') expect(Object.keys(notPassed).length, `${defect} is caught by no case`).toBeGreaterThan(0);
      for (const id of Object.keys(notPassed)) expect(SUBSET, `${defect}: ${id}`).toContain(id);
    }
    expect(files.length, 'suite files declaring the subset').toBeGreaterThan(0);
  });

  for (const defect of ['none', ...SUBSET_DEFECTS] as const) {
    it(defect === 'none' ? 'the same bridge without a defect passes every case of the subset' : `defect ${defect}`, { timeout: 300_000 }, async () => {
      const reportDir = mkdtempSync(join(tmpdir(), `bridgelab-broken-${defect}-`));
      dirs.push(reportDir);
      let output = '';
      const { results } = await certify(
        { rig: brokenBridgeRig(defect), rigSource: 'cli/broken-bridge.test.ts', personalities: [personalityOf(defect)], only: onlyPattern(SUBSET), reportDir, html: false, include: files },
        (s) => void (output += s),
      );
      const table = `${defect}: ${files.join(', ')}\n${describeRun(results)}`;
      expect(results.map((r) => r.id).sort(), `every case of the subset ran exactly once\n${table}\n${output.slice(-2000)}`).toEqual([...SUBSET].sort());
      const notPassed = Object.fromEntries(results.filter((r) => r.verdict !== 'Pass').map((r) => [r.id, r.verdict]));
      expect(notPassed, table).toEqual(EXPECTED[defect]);
      // a Fail is the bridge's, at a declared step; nothing here is bridgelab's own defect
      for (const r of results.filter((x) => x.verdict === 'Fail')) expect(r.failure, `${r.id}\n${table}`).toMatchObject({ category: 'bridge', step: expect.any(Number) });
      expect(results.filter((r) => r.failure?.category === 'bridgelab').map((r) => `${r.id}: ${r.reason}`)).toEqual([]);
      if (defect === 'none') {
        // what was certified: the command, the digests of its executable and script, and what the bridge printed per case
        const identity = JSON.parse(readFileSync(join(reportDir, 'identity.json'), 'utf8'))[PERSONALITY];
        expect(identity.bridge).toMatchObject({ kind: 'external', executable: { path: process.execPath, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) }, version: process.version });
        expect(identity.bridge.files.map((f: { path: string }) => relative(ROOT, f.path))).toEqual(['bin/bridgelab.js']);
        expect(identity.modem).toMatchObject({ source: 'fake modem personality', identity: { manufacturer: 'Quectel', revision: expect.any(String) } });
        const download = results.find((r) => r.id === 'TC_LPA-Bridge_ES9+.Download_ActivationCode')!;
        expect(readFileSync(join(reportDir, download.evidence.bridgeLog!), 'utf8')).toMatch(/bridgelab bridge: lpa connected 127\.0\.0\.1:\d+/);
      }
    });
  }
});
