// ES10 through the bridge, eUICCMemoryReset (SGP.22 5.7.19): each resetOptions bit
// (deleteOperationalProfiles, deleteFieldLoadedTestProfiles, resetDefaultSmdpAddress)
// sent through the bridge does what it names, and ok (0), nothingToDelete (1) and
// catBusy (5) reach the LPA byte for byte. A memory reset wipes the card, so these
// cases run only on an emulated eUICC.
import { expect } from 'vitest';
import { tc } from '../framework/case.ts';
import { useRig } from '../framework/shared-rig.ts';
import type { RigRuntime } from '../framework/rig-runtime.ts';
import type { Es10Client } from '../../sim/lpa/es10.ts';
import { EuiccMemoryResetRequest, type ResetOptions } from '../../sim/rsp/es10c.ts';
import type { Infer } from '../../sim/rsp/der.ts';
import { iccidFromBytes } from '../../sim/rsp/iccid.ts';
import { toUpperHex } from '../../sim/bytes.ts';
import { cleanCard, installProfiles, onCard, useSnapshots, withBridge, type InstalledProfile } from './helpers.ts';

const rig = useRig();
const snapshots = useSnapshots();
const group = 'ES10 through the bridge' as const;
const OTHER_SMDP = 'other-smdp.es10-suite.example.com';

interface Card {
  /** operational, enabled */
  a: InstalledProfile;
  /** test class, disabled */
  b: InstalledProfile;
  /** operational, disabled */
  c: InstalledProfile;
  /** default SM-DP+ address as manufactured */
  manufacturedDp: string | undefined;
}

/** A (operational, enabled), B (test), C (operational) and the default SM-DP+ address changed to OTHER_SMDP. */
function resetCard(rt: RigRuntime): Promise<Card> {
  return snapshots.restore(rt, 'reset', async () => {
    await cleanCard(rt);
    const manufacturedDp = rt.euicc!.state.addresses().defaultDpAddress;
    const [a, b, c] = await installProfiles(rt, [{ enable: true }, { profileClass: 0 }, {}]);
    await onCard(rt, (es10) => es10.setDefaultDpAddress(OTHER_SMDP));
    return { a: a!, b: b!, c: c!, manufacturedDp };
  });
}

type Options = Infer<typeof ResetOptions>;

async function reset(es10: Es10Client, options: Options): Promise<string> {
  return toUpperHex(await es10.storeData(EuiccMemoryResetRequest.encode({ resetOptions: options }), 'ES10c.eUICCMemoryReset'));
}

async function remaining(es10: Es10Client): Promise<string[]> {
  const r = await es10.getProfilesInfo(undefined, Uint8Array.of(0x5a));
  if (!('profileInfoListOk' in r)) throw new Error(`profileInfoListError ${r.profileInfoListError}`);
  return r.profileInfoListOk.map((p) => iccidFromBytes(p.iccid!)).sort();
}

const sorted = (...iccids: string[]) => [...iccids].sort();

tc(
  {
    id: 'TC_eUICC_ES10c.eUICCMemoryReset_DeleteOperational',
    title: 'eUICCMemoryReset deleteOperationalProfiles deletes the operational profiles only: ok (0)',
    group,
    iut: 'self',
    purpose: 'The deleteOperationalProfiles bit crosses the bridge and only operational profiles go, the enabled one included.',
    requirement: 'SGP.22 5.7.19 eUICCMemoryReset (resetOptions bit 0 deleteOperationalProfiles; ok 0)',
    requires: ['emulatedEuicc'],
    initialConditions: ['profiles A (operational, enabled), B (test), C (operational) installed; default SM-DP+ address changed', 'an ES10 session through the bridge'],
    steps: [
      { action: 'eUICCMemoryReset {resetOptions deleteOperationalProfiles} (BF34 04 82 02 07 80)', expected: 'BF34 { 80 01 00 }' },
      { action: 'GetProfilesInfo and GetEuiccConfiguredAddresses', expected: 'B only; the default SM-DP+ address unchanged' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const card = await c.setup('profiles A, B, C; address changed', () => resetCard(rt));
    await withBridge(c, rt, async (es10) => {
      await c.step(1, async () => expect(await reset(es10, ['deleteOperationalProfiles'])).toBe('BF3403800100'));
      await c.step(2, async () => {
        expect(await remaining(es10)).toEqual([card.b.iccid]);
        expect((await es10.getConfiguredAddresses()).defaultDpAddress).toBe(OTHER_SMDP);
        expect(rt.euicc!.state.enabledProfile()).toBeUndefined();
      });
    });
  },
);

tc(
  {
    id: 'TC_eUICC_ES10c.eUICCMemoryReset_DeleteTest',
    title: 'eUICCMemoryReset deleteFieldLoadedTestProfiles deletes the test profiles only: ok (0)',
    group,
    iut: 'self',
    purpose: 'The deleteFieldLoadedTestProfiles bit crosses the bridge and only test profiles go.',
    requirement: 'SGP.22 5.7.19 (resetOptions bit 1 deleteFieldLoadedTestProfiles)',
    requires: ['emulatedEuicc'],
    initialConditions: ['profiles A (operational, enabled), B (test), C (operational) installed', 'an ES10 session through the bridge'],
    steps: [
      { action: 'eUICCMemoryReset {resetOptions deleteFieldLoadedTestProfiles} (82 02 06 40)', expected: 'BF34 { 80 01 00 }' },
      { action: 'GetProfilesInfo', expected: 'A (still enabled) and C; B gone' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const card = await c.setup('profiles A, B, C', () => resetCard(rt));
    await withBridge(c, rt, async (es10) => {
      await c.step(1, async () => expect(await reset(es10, ['deleteFieldLoadedTestProfiles'])).toBe('BF3403800100'));
      await c.step(2, async () => {
        expect(await remaining(es10)).toEqual(sorted(card.a.iccid, card.c.iccid));
        expect(rt.euicc!.state.enabledProfile()?.iccid).toBe(card.a.iccid);
      });
    });
  },
);

tc(
  {
    id: 'TC_eUICC_ES10c.eUICCMemoryReset_ResetDefaultSmdpAddress',
    title: 'eUICCMemoryReset resetDefaultSmdpAddress restores the default SM-DP+ address: ok (0)',
    group,
    iut: 'self',
    purpose: 'The resetDefaultSmdpAddress bit crosses the bridge; the address returns to its manufactured value and no profile is touched.',
    requirement: 'SGP.22 5.7.19 (resetOptions bit 2 resetDefaultSmdpAddress)',
    requires: ['emulatedEuicc'],
    initialConditions: ['profiles A, B, C installed; default SM-DP+ address changed to ' + OTHER_SMDP, 'an ES10 session through the bridge'],
    steps: [
      { action: 'eUICCMemoryReset {resetOptions resetDefaultSmdpAddress} (82 02 05 20)', expected: 'BF34 { 80 01 00 }' },
      { action: 'GetEuiccConfiguredAddresses and GetProfilesInfo', expected: 'the manufactured default SM-DP+ address (the rig\'s SM-DP+); A, B and C still installed' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const card = await c.setup('profiles A, B, C; address changed', () => resetCard(rt));
    await withBridge(c, rt, async (es10) => {
      await c.step(1, async () => expect(await reset(es10, ['resetDefaultSmdpAddress'])).toBe('BF3403800100'));
      await c.step(2, async () => {
        expect(card.manufacturedDp).toBeDefined();
        expect((await es10.getConfiguredAddresses()).defaultDpAddress).toBe(card.manufacturedDp);
        expect(await remaining(es10)).toEqual(sorted(card.a.iccid, card.b.iccid, card.c.iccid));
      });
    });
  },
);

tc(
  {
    id: 'TC_eUICC_ES10c.eUICCMemoryReset_AllOptions',
    title: 'eUICCMemoryReset with every option deletes all profiles and resets the address: ok (0)',
    group,
    iut: 'self',
    purpose: 'All three bits together cross the bridge: the card ends empty with the manufactured address.',
    requirement: 'SGP.22 5.7.19 (all resetOptions)',
    requires: ['emulatedEuicc'],
    initialConditions: ['profiles A, B, C installed; default SM-DP+ address changed', 'an ES10 session through the bridge'],
    steps: [
      { action: 'eUICCMemoryReset {deleteOperationalProfiles, deleteFieldLoadedTestProfiles, resetDefaultSmdpAddress} (82 02 05 E0)', expected: 'BF34 { 80 01 00 }' },
      { action: 'GetProfilesInfo and GetEuiccConfiguredAddresses', expected: 'BF2D { A0 00 }: no profile; the manufactured default SM-DP+ address' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const card = await c.setup('profiles A, B, C; address changed', () => resetCard(rt));
    await withBridge(c, rt, async (es10) => {
      await c.step(1, async () => expect(await reset(es10, ['deleteOperationalProfiles', 'deleteFieldLoadedTestProfiles', 'resetDefaultSmdpAddress'])).toBe('BF3403800100'));
      await c.step(2, async () => {
        expect(toUpperHex(await es10.storeData(Uint8Array.of(0xbf, 0x2d, 0x00), 'ES10c.GetProfilesInfo'))).toBe('BF2D02A000');
        expect((await es10.getConfiguredAddresses()).defaultDpAddress).toBe(card.manufacturedDp);
        expect(rt.euicc!.state.profiles()).toEqual([]);
      });
    });
  },
);

tc(
  {
    id: 'TC_eUICC_ES10c.eUICCMemoryReset_NothingToDelete',
    title: 'eUICCMemoryReset on a card without profiles: nothingToDelete (1)',
    group,
    iut: 'self',
    purpose: 'The nothingToDelete result reaches the LPA unchanged.',
    requirement: 'SGP.22 5.7.19 (resetResult nothingToDelete 1)',
    requires: ['emulatedEuicc'],
    initialConditions: ['a fresh emulated card (no profile)', 'an ES10 session through the bridge'],
    steps: [{ action: 'eUICCMemoryReset {deleteOperationalProfiles, deleteFieldLoadedTestProfiles}', expected: 'BF34 { 80 01 01 }' }],
  },
  async (c) => {
    const rt = rig(c);
    await c.setup('fresh card', () => cleanCard(rt));
    await withBridge(c, rt, async (es10) => {
      await c.step(1, async () => expect(await reset(es10, ['deleteOperationalProfiles', 'deleteFieldLoadedTestProfiles'])).toBe('BF3403800101'));
    });
  },
);

tc(
  {
    id: 'TC_eUICC_ES10c.eUICCMemoryReset_CatBusy',
    title: 'eUICCMemoryReset while the CAT is busy: catBusy (5), nothing deleted',
    group,
    iut: 'self',
    purpose: 'The catBusy refusal reaches the LPA unchanged and the card keeps its profiles.',
    requirement: 'SGP.22 5.7.19 (resetResult catBusy 5)',
    requires: ['emulatedEuicc'],
    initialConditions: ['profiles A, B, C installed', 'the eUICC fault switch catBusy on', 'an ES10 session through the bridge'],
    steps: [
      { action: 'eUICCMemoryReset {deleteOperationalProfiles, deleteFieldLoadedTestProfiles}', expected: 'BF34 { 80 01 05 }' },
      { action: 'GetProfilesInfo', expected: 'A, B and C still installed' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const card = await c.setup('profiles A, B, C', () => resetCard(rt));
    await withBridge(c, rt, async (es10) => {
      await c.setup('catBusy on', () => {
        rt.euicc!.faults.catBusy = true;
      });
      await c.step(1, async () => expect(await reset(es10, ['deleteOperationalProfiles', 'deleteFieldLoadedTestProfiles'])).toBe('BF3403800105'));
      await c.step(2, async () => expect(await remaining(es10)).toEqual(sorted(card.a.iccid, card.b.iccid, card.c.iccid)));
    });
  },
);
