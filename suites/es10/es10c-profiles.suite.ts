// ES10 through the bridge, local profile management (SGP.22 5.7.15 GetProfilesInfo,
// 5.7.16 EnableProfile, 5.7.17 DisableProfile, 5.7.18 DeleteProfile, 5.7.20 GetEID, 5.7.21
// SetNickname; Profile Policy Rules of 2.9: PPR1 no disabling, PPR2 no deletion): each
// result code, success and error, must reach the LPA byte for byte, and the eUICC must
// have done what the code says (checked in the emulated eUICC's state where there is one).
import { expect } from 'vitest';
import { tc } from '../framework/case.ts';
import { useRig } from '../framework/shared-rig.ts';
import { euiccOf } from '../framework/fixtures.ts';
import type { RigRuntime } from '../framework/rig-runtime.ts';
import type { Es10Client } from '../../sim/lpa/es10.ts';
import { DeleteProfileRequest, DisableProfileRequest, EnableProfileRequest, ProfileInfoListRequest, SetNicknameRequest } from '../../sim/rsp/es10c.ts';
import type { ProfileInfo } from '../../sim/rsp/common.ts';
import { iccidFromBytes, iccidToBytes } from '../../sim/rsp/iccid.ts';
import { hexToBytes, toUpperHex } from '../../sim/bytes.ts';
import { cleanCard, installProfiles, newIccid, NOTIFY_ADDRESS, useSnapshots, withBridge, type InstalledProfile } from './helpers.ts';

const rig = useRig();
const snapshots = useSnapshots();
const group = 'ES10 through the bridge' as const;

type Ref = { iccid: string } | { isdpAid: string };

function identifier(ref: Ref): { iccid: Uint8Array } | { isdpAid: Uint8Array } {
  return 'iccid' in ref ? { iccid: iccidToBytes(ref.iccid) } : { isdpAid: hexToBytes(ref.isdpAid) };
}

const enableReq = (ref: Ref) => EnableProfileRequest.encode({ profileIdentifier: identifier(ref), refreshFlag: false });
const disableReq = (ref: Ref) => DisableProfileRequest.encode({ profileIdentifier: identifier(ref), refreshFlag: false });
const deleteReq = (ref: Ref) => DeleteProfileRequest.encode(identifier(ref));

/** Send an ES10c command and return its raw response as upper-case hex. */
async function raw(es10: Es10Client, fn: string, request: Uint8Array): Promise<string> {
  return toUpperHex(await es10.storeData(request, fn));
}

/** ICCID -> profileState (0 disabled, 1 enabled) as GetProfilesInfo shows it. */
async function states(es10: Es10Client): Promise<Map<string, number | undefined>> {
  const r = await es10.getProfilesInfo();
  if (!('profileInfoListOk' in r)) throw new Error(`profileInfoListError ${r.profileInfoListError}`);
  return new Map(r.profileInfoListOk.map((p) => [iccidFromBytes(p.iccid!), p.profileState]));
}

async function profiles(es10: Es10Client, search?: Parameters<Es10Client['getProfilesInfo']>[0], tagList?: Uint8Array): Promise<ProfileInfo[]> {
  const r = await es10.getProfilesInfo(search, tagList);
  if (!('profileInfoListOk' in r)) throw new Error(`profileInfoListError ${r.profileInfoListError}`);
  return r.profileInfoListOk;
}

interface Catalog {
  /** operational, enabled, nickname 'Alpha' */
  a: InstalledProfile;
  /** test class, disabled */
  b: InstalledProfile;
  /** operational, disabled */
  c: InstalledProfile;
}

/** Profiles A (operational, enabled, nickname), B (test), C (operational) on a clean card. */
function catalog(rt: RigRuntime): Promise<Catalog> {
  return snapshots.restore(rt, 'catalog', async () => {
    await cleanCard(rt);
    const [a, b, c] = await installProfiles(rt, [
      { serviceProviderName: 'Operator A', profileName: 'Profile A', enable: true, nickname: 'Alpha' },
      { profileClass: 0, serviceProviderName: 'Test Operator', profileName: 'Profile B' },
      { serviceProviderName: 'Operator C', profileName: 'Profile C' },
    ]);
    return { a: a!, b: b!, c: c! };
  });
}

interface Ppr1 {
  /** operational, PPR1, enabled */
  p: InstalledProfile;
  /** operational, disabled */
  q: InstalledProfile;
}

/**
 * P (PPR1, enabled) and Q. PPR profiles are only put on emulated cards: on a card eUICC a
 * PPR1 profile could never be disabled again, nor a PPR2 one deleted.
 */
function ppr1(rt: RigRuntime): Promise<Ppr1> {
  return snapshots.restore(rt, 'ppr1', async () => {
    await cleanCard(rt);
    const [p, q] = await installProfiles(rt, [{ profilePolicyRules: ['ppr1'], enable: true }, {}]);
    return { p: p!, q: q! };
  });
}

/** R (PPR2, disabled) and S (enabled), emulated cards only. */
function ppr2(rt: RigRuntime): Promise<{ r: InstalledProfile; s: InstalledProfile }> {
  return snapshots.restore(rt, 'ppr2', async () => {
    await cleanCard(rt);
    const [r, s] = await installProfiles(rt, [{ profilePolicyRules: ['ppr2'] }, { enable: true }]);
    return { r: r!, s: s! };
  });
}

/** profilePolicyRules of a profile as GetProfilesInfo {iccid, tagList 5A 99} shows them. */
async function pprsOf(es10: Es10Client, iccid: string): Promise<string[] | undefined> {
  const list = await profiles(es10, { iccid }, hexToBytes('5A99'));
  expect(list.length).toBe(1);
  return list[0]!.profilePolicyRules;
}

function stateOf(rt: RigRuntime, iccid: string): string | undefined {
  return rt.euicc?.state.profile(iccid)?.state;
}

// ---------------------------------------------------------------------------
// GetProfilesInfo (5.7.15)

tc(
  {
    id: 'TC_eUICC_ES10c.GetProfilesInfo_All',
    title: 'GetProfilesInfo without criteria lists every profile with all its fields',
    group,
    iut: 'self',
    purpose: 'The profile list (over 256 bytes: answered with 61xx and GET RESPONSE) reaches the LPA complete and as strict DER.',
    requirement: 'SGP.22 5.7.15 GetProfilesInfo; ProfileInfo E3',
    requires: ['sgp26Trust'],
    initialConditions: ['profiles A (operational, enabled, nickname Alpha), B (test class), C (operational) installed', 'an ES10 session through the bridge'],
    steps: [
      { action: 'GetProfilesInfo (BF2D 00)', expected: 'BF2D { A0 { E3 ... } } longer than 256 bytes, SW 9000' },
      {
        action: 'check A, B and C',
        expected: 'ICCID, ISD-P AID, state (A enabled, B and C disabled), class (B test 0, A and C operational 2), service provider and profile names, nickname of A, notification configuration (all events to ' + NOTIFY_ADDRESS + '), no PPRs, dpOid 2.999.10',
      },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const cat = await c.setup('profiles A, B, C', () => catalog(rt));
    await withBridge(c, rt, async (es10) => {
      await c.step(1, async () => {
        const r = await es10.storeData(hexToBytes('BF2D00'), 'ES10c.GetProfilesInfo');
        expect(r.length).toBeGreaterThan(256);
        expect(toUpperHex(r.subarray(0, 2))).toBe('BF2D');
      });
      await c.step(2, async () => {
        const list = await profiles(es10);
        const by = new Map(list.map((p) => [iccidFromBytes(p.iccid!), p]));
        if (c.observe('cardState', 'the number of profiles on the card')) expect(list.length).toBe(3);
        const a = by.get(cat.a.iccid)!;
        const b = by.get(cat.b.iccid)!;
        const cc = by.get(cat.c.iccid)!;
        expect([a, b, cc].map((p) => toUpperHex(p.isdpAid!))).toEqual([cat.a.isdpAid, cat.b.isdpAid, cat.c.isdpAid]);
        expect([a.profileState, b.profileState, cc.profileState]).toEqual([1, 0, 0]);
        expect([a.profileClass, b.profileClass, cc.profileClass]).toEqual([2, 0, 2]);
        expect([a.serviceProviderName, b.serviceProviderName, cc.serviceProviderName]).toEqual(['Operator A', 'Test Operator', 'Operator C']);
        expect([a.profileName, b.profileName, cc.profileName]).toEqual(['Profile A', 'Profile B', 'Profile C']);
        expect([a.profileNickname, b.profileNickname, cc.profileNickname]).toEqual(['Alpha', undefined, undefined]);
        expect(a.notificationConfigurationInfo).toEqual([
          { profileManagementOperation: ['notificationInstall', 'notificationEnable', 'notificationDisable', 'notificationDelete'], notificationAddress: NOTIFY_ADDRESS },
        ]);
        expect([a.profilePolicyRules, b.profilePolicyRules, cc.profilePolicyRules]).toEqual([undefined, undefined, undefined]);
        expect(a.dpProprietaryData?.dpOid).toBe('2.999.10');
      });
    });
  },
);

tc(
  {
    id: 'TC_eUICC_ES10c.GetProfilesInfo_ByIccid',
    title: 'GetProfilesInfo searched by ICCID returns that profile only',
    group,
    iut: 'self',
    purpose: 'The searchCriteria iccid crosses the bridge and selects one profile.',
    requirement: 'SGP.22 5.7.15 (searchCriteria iccid 5A)',
    requires: ['sgp26Trust'],
    initialConditions: ['profiles A, B, C installed', 'an ES10 session through the bridge'],
    steps: [
      { action: 'GetProfilesInfo {searchCriteria iccid C}', expected: 'exactly one ProfileInfo: C with its ISD-P AID' },
      { action: 'GetProfilesInfo {searchCriteria iccid of no profile}', expected: 'BF2D { A0 00 }: an empty list' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const cat = await c.setup('profiles A, B, C', () => catalog(rt));
    await withBridge(c, rt, async (es10) => {
      await c.step(1, async () => {
        const list = await profiles(es10, { iccid: cat.c.iccid });
        expect(list.map((p) => [iccidFromBytes(p.iccid!), toUpperHex(p.isdpAid!)])).toEqual([[cat.c.iccid, cat.c.isdpAid]]);
      });
      await c.step(2, async () => {
        expect(await raw(es10, 'ES10c.GetProfilesInfo', ProfileInfoListRequest.encode({ searchCriteria: { iccid: iccidToBytes(newIccid()) } }))).toBe('BF2D02A000');
      });
    });
  },
);

tc(
  {
    id: 'TC_eUICC_ES10c.GetProfilesInfo_ByAid',
    title: 'GetProfilesInfo searched by ISD-P AID returns that profile only',
    group,
    iut: 'self',
    purpose: 'The searchCriteria isdpAid crosses the bridge and selects one profile.',
    requirement: 'SGP.22 5.7.15 (searchCriteria isdpAid 4F)',
    requires: ['sgp26Trust'],
    initialConditions: ['profiles A, B, C installed', 'an ES10 session through the bridge'],
    steps: [{ action: 'GetProfilesInfo {searchCriteria isdpAid of B}', expected: 'exactly one ProfileInfo: B (test class)' }],
  },
  async (c) => {
    const rt = rig(c);
    const cat = await c.setup('profiles A, B, C', () => catalog(rt));
    await withBridge(c, rt, async (es10) => {
      await c.step(1, async () => {
        const list = await profiles(es10, { isdpAid: hexToBytes(cat.b.isdpAid) });
        expect(list.map((p) => [iccidFromBytes(p.iccid!), toUpperHex(p.isdpAid!), p.profileClass])).toEqual([[cat.b.iccid, cat.b.isdpAid, 0]]);
      });
    });
  },
);

tc(
  {
    id: 'TC_eUICC_ES10c.GetProfilesInfo_ByClass',
    title: 'GetProfilesInfo searched by profile class returns the profiles of that class',
    group,
    iut: 'self',
    purpose: 'The searchCriteria profileClass crosses the bridge and selects by class.',
    requirement: 'SGP.22 5.7.15 (searchCriteria profileClass 95)',
    requires: ['sgp26Trust'],
    initialConditions: ['profiles A, B, C installed', 'an ES10 session through the bridge'],
    steps: [
      { action: 'GetProfilesInfo {profileClass test (0)}', expected: 'B only' },
      { action: 'GetProfilesInfo {profileClass operational (2)}', expected: 'A and C' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const cat = await c.setup('profiles A, B, C', () => catalog(rt));
    const ours = new Set([cat.a.iccid, cat.b.iccid, cat.c.iccid]);
    await withBridge(c, rt, async (es10) => {
      await c.step(1, async () => {
        const list = await profiles(es10, { profileClass: 0 });
        expect(list.every((p) => p.profileClass === 0)).toBe(true);
        expect(list.map((p) => iccidFromBytes(p.iccid!)).filter((i) => ours.has(i))).toEqual([cat.b.iccid]);
      });
      await c.step(2, async () => {
        const list = await profiles(es10, { profileClass: 2 });
        expect(list.every((p) => p.profileClass === 2)).toBe(true);
        expect(list.map((p) => iccidFromBytes(p.iccid!)).filter((i) => ours.has(i))).toEqual([cat.a.iccid, cat.c.iccid]);
      });
    });
  },
);

tc(
  {
    id: 'TC_eUICC_ES10c.GetProfilesInfo_TagList',
    title: 'GetProfilesInfo with a tag list returns only the fields asked for',
    group,
    iut: 'self',
    purpose: 'The tagList (one- and two-byte tags) crosses the bridge and shapes the answer.',
    requirement: 'SGP.22 5.7.15 (tagList 5C)',
    requires: ['sgp26Trust'],
    initialConditions: ['profiles A, B, C installed', 'an ES10 session through the bridge'],
    steps: [
      { action: 'GetProfilesInfo {searchCriteria iccid A, tagList 5A 9F70}', expected: 'one ProfileInfo with only iccid and profileState (enabled)' },
      { action: 'GetProfilesInfo {tagList 5A 90 91 92 95 99} (lpac\'s list)', expected: 'every profile with only ICCID, nickname (when set), names, class and PPRs (when set)' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const cat = await c.setup('profiles A, B, C', () => catalog(rt));
    await withBridge(c, rt, async (es10) => {
      await c.step(1, async () => {
        const list = await profiles(es10, { iccid: cat.a.iccid }, hexToBytes('5A9F70'));
        expect(list.length).toBe(1);
        expect(Object.keys(list[0]!).sort()).toEqual(['iccid', 'profileState']);
        expect(list[0]!.profileState).toBe(1);
      });
      await c.step(2, async () => {
        const list = await profiles(es10, undefined, hexToBytes('5A9091929599'));
        const by = new Map(list.map((p) => [iccidFromBytes(p.iccid!), p]));
        expect(Object.keys(by.get(cat.a.iccid)!).sort()).toEqual(['iccid', 'profileClass', 'profileName', 'profileNickname', 'serviceProviderName']);
        expect(Object.keys(by.get(cat.b.iccid)!).sort()).toEqual(['iccid', 'profileClass', 'profileName', 'serviceProviderName']);
        expect(Object.keys(by.get(cat.c.iccid)!).sort()).toEqual(['iccid', 'profileClass', 'profileName', 'serviceProviderName']);
      });
    });
  },
);

// ---------------------------------------------------------------------------
// EnableProfile (5.7.16)

tc(
  {
    id: 'TC_eUICC_ES10c.EnableProfile_Ok',
    title: 'EnableProfile of a disabled profile: ok (0), the enabled one is disabled',
    group,
    iut: 'self',
    purpose: 'The profile switch requested through the bridge happens and its result reaches the LPA.',
    requirement: 'SGP.22 5.7.16 EnableProfile (ok 0); 3.2.1 (the enabled profile is disabled first)',
    requires: ['sgp26Trust'],
    initialConditions: ['profiles A (enabled), B, C (disabled) installed', 'an ES10 session through the bridge'],
    steps: [
      { action: 'EnableProfile {iccid C, refreshFlag false}', expected: 'BF31 { 80 01 00 }' },
      { action: 'GetProfilesInfo', expected: 'C enabled, A disabled, B disabled' },
      { action: 'ListNotification', expected: 'a disable notification for A and an enable notification for C are pending' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const cat = await c.setup('profiles A, B, C', () => catalog(rt));
    await withBridge(c, rt, async (es10) => {
      await c.step(1, async () => expect(await raw(es10, 'ES10c.EnableProfile', enableReq({ iccid: cat.c.iccid }))).toBe('BF3103800100'));
      await c.step(2, async () => {
        const s = await states(es10);
        expect([s.get(cat.a.iccid), s.get(cat.b.iccid), s.get(cat.c.iccid)]).toEqual([0, 0, 1]);
        if (c.observe('cardState', 'the enabled profile on the card')) expect(euiccOf(rt).state.enabledProfile()?.iccid).toBe(cat.c.iccid);
      });
      await c.step(3, async () => {
        const r = await es10.listNotification();
        if (!('notificationMetadataList' in r)) throw new Error('listNotificationsResultError');
        const ops = r.notificationMetadataList.map((m) => `${m.profileManagementOperation.join()}:${m.iccid ? iccidFromBytes(m.iccid) : ''}`);
        expect(ops).toContain(`notificationDisable:${cat.a.iccid}`);
        expect(ops).toContain(`notificationEnable:${cat.c.iccid}`);
      });
    });
  },
);

tc(
  {
    id: 'TC_eUICC_ES10c.EnableProfile_ByAid',
    title: 'EnableProfile by ISD-P AID: ok (0)',
    group,
    iut: 'self',
    purpose: 'The isdpAid alternative of the profile identifier crosses the bridge.',
    requirement: 'SGP.22 5.7.16 (profileIdentifier isdpAid)',
    requires: ['sgp26Trust'],
    initialConditions: ['profiles A (enabled), B, C installed', 'an ES10 session through the bridge'],
    steps: [
      { action: 'EnableProfile {isdpAid of B}', expected: 'BF31 { 80 01 00 }' },
      { action: 'GetProfilesInfo {isdpAid of B}', expected: 'B enabled' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const cat = await c.setup('profiles A, B, C', () => catalog(rt));
    await withBridge(c, rt, async (es10) => {
      await c.step(1, async () => expect(await raw(es10, 'ES10c.EnableProfile', enableReq({ isdpAid: cat.b.isdpAid }))).toBe('BF3103800100'));
      await c.step(2, async () => {
        expect((await profiles(es10, { isdpAid: hexToBytes(cat.b.isdpAid) }))[0]?.profileState).toBe(1);
        if (c.observe('cardState', 'the profile states on the card')) expect(stateOf(rt, cat.b.iccid)).toBe('enabled');
      });
    });
  },
);

tc(
  {
    id: 'TC_eUICC_ES10c.EnableProfile_NotFound',
    title: 'EnableProfile of an unknown ICCID: iccidOrAidNotFound (1)',
    group,
    iut: 'self',
    purpose: 'The not-found code reaches the LPA unchanged and nothing changes.',
    requirement: 'SGP.22 5.7.16 (iccidOrAidNotFound 1)',
    requires: ['sgp26Trust'],
    initialConditions: ['profiles A (enabled), B, C installed', 'an ES10 session through the bridge'],
    steps: [
      { action: 'EnableProfile {iccid of no profile}', expected: 'BF31 { 80 01 01 }' },
      { action: 'EnableProfile {isdpAid of no profile}', expected: 'BF31 { 80 01 01 }; A still enabled' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const cat = await c.setup('profiles A, B, C', () => catalog(rt));
    await withBridge(c, rt, async (es10) => {
      await c.step(1, async () => expect(await raw(es10, 'ES10c.EnableProfile', enableReq({ iccid: newIccid() }))).toBe('BF3103800101'));
      await c.step(2, async () => {
        expect(await raw(es10, 'ES10c.EnableProfile', enableReq({ isdpAid: 'A0000005591010FFFFFFFF8900FF1000' }))).toBe('BF3103800101');
        expect((await states(es10)).get(cat.a.iccid)).toBe(1);
      });
    });
  },
);

tc(
  {
    id: 'TC_eUICC_ES10c.EnableProfile_NotDisabled',
    title: 'EnableProfile of the enabled profile: profileNotInDisabledState (2)',
    group,
    iut: 'self',
    purpose: 'The state error reaches the LPA unchanged.',
    requirement: 'SGP.22 5.7.16 (profileNotInDisabledState 2)',
    requires: ['sgp26Trust'],
    initialConditions: ['profiles A (enabled), B, C installed', 'an ES10 session through the bridge'],
    steps: [{ action: 'EnableProfile {iccid A}', expected: 'BF31 { 80 01 02 }; A still enabled' }],
  },
  async (c) => {
    const rt = rig(c);
    const cat = await c.setup('profiles A, B, C', () => catalog(rt));
    await withBridge(c, rt, async (es10) => {
      await c.step(1, async () => {
        expect(await raw(es10, 'ES10c.EnableProfile', enableReq({ iccid: cat.a.iccid }))).toBe('BF3103800102');
        if (c.observe('cardState', 'the profile states on the card')) expect(stateOf(rt, cat.a.iccid)).toBe('enabled');
      });
    });
  },
);

tc(
  {
    id: 'TC_eUICC_ES10c.EnableProfile_Ppr1',
    title: 'EnableProfile while the enabled profile has PPR1: disallowedByPolicy (3)',
    group,
    iut: 'self',
    purpose: 'Enabling another profile would disable a PPR1 profile: the policy refusal reaches the LPA unchanged.',
    requirement: 'SGP.22 5.7.16 (disallowedByPolicy 3), 2.9 PPR1 (disabling not allowed)',
    requires: ['emulatedEuicc', 'sgp26Trust'],
    initialConditions: ['profile P (PPR1) enabled, profile Q disabled (emulated card: a PPR1 profile would stay enabled on a card eUICC for good)', 'an ES10 session through the bridge'],
    steps: [
      { action: 'GetProfilesInfo {iccid P, tagList 5A 99}', expected: 'profilePolicyRules {ppr1}' },
      { action: 'EnableProfile {iccid Q}', expected: 'BF31 { 80 01 03 }; P still enabled, Q disabled' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const s = await c.setup('P (PPR1, enabled), Q', () => ppr1(rt));
    await withBridge(c, rt, async (es10) => {
      await c.step(1, async () => expect(await pprsOf(es10, s.p.iccid)).toEqual(['ppr1']));
      await c.step(2, async () => {
        expect(await raw(es10, 'ES10c.EnableProfile', enableReq({ iccid: s.q.iccid }))).toBe('BF3103800103');
        const st = await states(es10);
        expect([st.get(s.p.iccid), st.get(s.q.iccid)]).toEqual([1, 0]);
      });
    });
  },
);

tc(
  {
    id: 'TC_eUICC_ES10c.EnableProfile_CatBusy',
    title: 'EnableProfile while the CAT is busy: catBusy (5)',
    group,
    iut: 'self',
    purpose: 'The catBusy refusal reaches the LPA unchanged and nothing changes.',
    requirement: 'SGP.22 5.7.16 (catBusy 5)',
    requires: ['emulatedEuicc', 'sgp26Trust'],
    initialConditions: ['profiles A (enabled), B, C installed', 'the eUICC fault switch catBusy on', 'an ES10 session through the bridge'],
    steps: [{ action: 'EnableProfile {iccid C}', expected: 'BF31 { 80 01 05 }; A still enabled, C disabled' }],
  },
  async (c) => {
    const rt = rig(c);
    const cat = await c.setup('profiles A, B, C', () => catalog(rt));
    await withBridge(c, rt, async (es10) => {
      await c.setup('catBusy on', () => {
        rt.euicc!.faults.catBusy = true;
      });
      await c.step(1, async () => {
        expect(await raw(es10, 'ES10c.EnableProfile', enableReq({ iccid: cat.c.iccid }))).toBe('BF3103800105');
        expect([stateOf(rt, cat.a.iccid), stateOf(rt, cat.c.iccid)]).toEqual(['enabled', 'disabled']);
      });
    });
  },
);

// ---------------------------------------------------------------------------
// DisableProfile (5.7.17)

tc(
  {
    id: 'TC_eUICC_ES10c.DisableProfile_Ok',
    title: 'DisableProfile of the enabled profile: ok (0)',
    group,
    iut: 'self',
    purpose: 'The disable requested through the bridge happens and its result reaches the LPA.',
    requirement: 'SGP.22 5.7.17 DisableProfile (ok 0)',
    requires: ['sgp26Trust'],
    initialConditions: ['profiles A (enabled), B, C installed', 'an ES10 session through the bridge'],
    steps: [
      { action: 'DisableProfile {iccid A}', expected: 'BF32 { 80 01 00 }' },
      { action: 'GetProfilesInfo', expected: 'no profile enabled; a disable notification for A pending' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const cat = await c.setup('profiles A, B, C', () => catalog(rt));
    await withBridge(c, rt, async (es10) => {
      await c.step(1, async () => expect(await raw(es10, 'ES10c.DisableProfile', disableReq({ iccid: cat.a.iccid }))).toBe('BF3203800100'));
      await c.step(2, async () => {
        expect([...(await states(es10)).values()].filter((v) => v === 1)).toEqual([]);
        const r = await es10.listNotification(['notificationDisable']);
        if (!('notificationMetadataList' in r)) throw new Error('listNotificationsResultError');
        expect(r.notificationMetadataList.map((m) => iccidFromBytes(m.iccid!))).toContain(cat.a.iccid);
        if (c.observe('cardState', 'no enabled profile on the card')) expect(euiccOf(rt).state.enabledProfile()).toBeUndefined();
      });
    });
  },
);

tc(
  {
    id: 'TC_eUICC_ES10c.DisableProfile_NotFound',
    title: 'DisableProfile of an unknown ICCID: iccidOrAidNotFound (1)',
    group,
    iut: 'self',
    purpose: 'The not-found code reaches the LPA unchanged.',
    requirement: 'SGP.22 5.7.17 (iccidOrAidNotFound 1)',
    requires: ['sgp26Trust'],
    initialConditions: ['profiles A (enabled), B, C installed', 'an ES10 session through the bridge'],
    steps: [{ action: 'DisableProfile {iccid of no profile}', expected: 'BF32 { 80 01 01 }; A still enabled' }],
  },
  async (c) => {
    const rt = rig(c);
    const cat = await c.setup('profiles A, B, C', () => catalog(rt));
    await withBridge(c, rt, async (es10) => {
      await c.step(1, async () => {
        expect(await raw(es10, 'ES10c.DisableProfile', disableReq({ iccid: newIccid() }))).toBe('BF3203800101');
        expect((await states(es10)).get(cat.a.iccid)).toBe(1);
      });
    });
  },
);

tc(
  {
    id: 'TC_eUICC_ES10c.DisableProfile_NotEnabled',
    title: 'DisableProfile of a disabled profile: profileNotInEnabledState (2)',
    group,
    iut: 'self',
    purpose: 'The state error reaches the LPA unchanged.',
    requirement: 'SGP.22 5.7.17 (profileNotInEnabledState 2)',
    requires: ['sgp26Trust'],
    initialConditions: ['profiles A (enabled), B, C installed', 'an ES10 session through the bridge'],
    steps: [{ action: 'DisableProfile {isdpAid of B}', expected: 'BF32 { 80 01 02 }; A still enabled' }],
  },
  async (c) => {
    const rt = rig(c);
    const cat = await c.setup('profiles A, B, C', () => catalog(rt));
    await withBridge(c, rt, async (es10) => {
      await c.step(1, async () => {
        expect(await raw(es10, 'ES10c.DisableProfile', disableReq({ isdpAid: cat.b.isdpAid }))).toBe('BF3203800102');
        expect((await states(es10)).get(cat.a.iccid)).toBe(1);
      });
    });
  },
);

tc(
  {
    id: 'TC_eUICC_ES10c.DisableProfile_Ppr1',
    title: 'DisableProfile of an enabled PPR1 profile: disallowedByPolicy (3)',
    group,
    iut: 'self',
    purpose: 'The PPR1 refusal reaches the LPA unchanged and the profile stays enabled.',
    requirement: 'SGP.22 5.7.17 (disallowedByPolicy 3), 2.9 PPR1',
    requires: ['emulatedEuicc', 'sgp26Trust'],
    initialConditions: ['profile P (PPR1) enabled, profile Q disabled (emulated card only)', 'an ES10 session through the bridge'],
    steps: [{ action: 'DisableProfile {iccid P}', expected: 'BF32 { 80 01 03 }; P still enabled' }],
  },
  async (c) => {
    const rt = rig(c);
    const s = await c.setup('P (PPR1, enabled), Q', () => ppr1(rt));
    await withBridge(c, rt, async (es10) => {
      await c.step(1, async () => {
        expect(await raw(es10, 'ES10c.DisableProfile', disableReq({ iccid: s.p.iccid }))).toBe('BF3203800103');
        expect((await states(es10)).get(s.p.iccid)).toBe(1);
      });
    });
  },
);

tc(
  {
    id: 'TC_eUICC_ES10c.DisableProfile_CatBusy',
    title: 'DisableProfile while the CAT is busy: catBusy (5)',
    group,
    iut: 'self',
    purpose: 'The catBusy refusal reaches the LPA unchanged.',
    requirement: 'SGP.22 5.7.17 (catBusy 5)',
    requires: ['emulatedEuicc', 'sgp26Trust'],
    initialConditions: ['profiles A (enabled), B, C installed', 'the eUICC fault switch catBusy on', 'an ES10 session through the bridge'],
    steps: [{ action: 'DisableProfile {iccid A}', expected: 'BF32 { 80 01 05 }; A still enabled' }],
  },
  async (c) => {
    const rt = rig(c);
    const cat = await c.setup('profiles A, B, C', () => catalog(rt));
    await withBridge(c, rt, async (es10) => {
      await c.setup('catBusy on', () => {
        rt.euicc!.faults.catBusy = true;
      });
      await c.step(1, async () => {
        expect(await raw(es10, 'ES10c.DisableProfile', disableReq({ iccid: cat.a.iccid }))).toBe('BF3203800105');
        expect(stateOf(rt, cat.a.iccid)).toBe('enabled');
      });
    });
  },
);

// ---------------------------------------------------------------------------
// DeleteProfile (5.7.18)

tc(
  {
    id: 'TC_eUICC_ES10c.DeleteProfile_Ok',
    title: 'DeleteProfile of a disabled profile: ok (0), the profile is gone',
    group,
    iut: 'self',
    purpose: 'The deletion requested through the bridge happens and its result reaches the LPA.',
    requirement: 'SGP.22 5.7.18 DeleteProfile (ok 0)',
    requires: ['sgp26Trust'],
    initialConditions: ['profiles A (enabled), B, C installed', 'an ES10 session through the bridge'],
    steps: [
      { action: 'DeleteProfile {iccid B}', expected: 'BF33 { 80 01 00 }' },
      { action: 'GetProfilesInfo {iccid B}', expected: 'an empty list; a delete notification for B pending' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const cat = await c.setup('profiles A, B, C', () => catalog(rt));
    await withBridge(c, rt, async (es10) => {
      await c.step(1, async () => expect(await raw(es10, 'ES10c.DeleteProfile', deleteReq({ iccid: cat.b.iccid }))).toBe('BF3303800100'));
      await c.step(2, async () => {
        expect(await profiles(es10, { iccid: cat.b.iccid })).toEqual([]);
        const r = await es10.listNotification(['notificationDelete']);
        if (!('notificationMetadataList' in r)) throw new Error('listNotificationsResultError');
        expect(r.notificationMetadataList.map((m) => iccidFromBytes(m.iccid!))).toContain(cat.b.iccid);
        if (c.observe('cardState', 'the profile deleted from the card')) expect(euiccOf(rt).state.profile(cat.b.iccid)).toBeUndefined();
      });
    });
  },
);

tc(
  {
    id: 'TC_eUICC_ES10c.DeleteProfile_NotFound',
    title: 'DeleteProfile of an unknown ISD-P AID: iccidOrAidNotFound (1)',
    group,
    iut: 'self',
    purpose: 'The not-found code reaches the LPA unchanged.',
    requirement: 'SGP.22 5.7.18 (iccidOrAidNotFound 1)',
    requires: ['sgp26Trust'],
    initialConditions: ['profiles A, B, C installed', 'an ES10 session through the bridge'],
    steps: [
      { action: 'DeleteProfile {isdpAid of no profile}', expected: 'BF33 { 80 01 01 }' },
      { action: 'DeleteProfile {iccid of no profile}', expected: 'BF33 { 80 01 01 }; A, B, C still installed' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const cat = await c.setup('profiles A, B, C', () => catalog(rt));
    await withBridge(c, rt, async (es10) => {
      await c.step(1, async () => expect(await raw(es10, 'ES10c.DeleteProfile', deleteReq({ isdpAid: 'A0000005591010FFFFFFFF8900FF1000' }))).toBe('BF3303800101'));
      await c.step(2, async () => {
        expect(await raw(es10, 'ES10c.DeleteProfile', deleteReq({ iccid: newIccid() }))).toBe('BF3303800101');
        const s = await states(es10);
        expect([cat.a.iccid, cat.b.iccid, cat.c.iccid].every((i) => s.has(i))).toBe(true);
      });
    });
  },
);

tc(
  {
    id: 'TC_eUICC_ES10c.DeleteProfile_Enabled',
    title: 'DeleteProfile of the enabled profile: profileNotInDisabledState (2)',
    group,
    iut: 'self',
    purpose: 'The state error reaches the LPA unchanged and the profile stays.',
    requirement: 'SGP.22 5.7.18 (profileNotInDisabledState 2)',
    requires: ['sgp26Trust'],
    initialConditions: ['profiles A (enabled), B, C installed', 'an ES10 session through the bridge'],
    steps: [{ action: 'DeleteProfile {iccid A}', expected: 'BF33 { 80 01 02 }; A still installed and enabled' }],
  },
  async (c) => {
    const rt = rig(c);
    const cat = await c.setup('profiles A, B, C', () => catalog(rt));
    await withBridge(c, rt, async (es10) => {
      await c.step(1, async () => {
        expect(await raw(es10, 'ES10c.DeleteProfile', deleteReq({ iccid: cat.a.iccid }))).toBe('BF3303800102');
        expect((await states(es10)).get(cat.a.iccid)).toBe(1);
      });
    });
  },
);

tc(
  {
    id: 'TC_eUICC_ES10c.DeleteProfile_Ppr2',
    title: 'DeleteProfile of a PPR2 profile: disallowedByPolicy (3)',
    group,
    iut: 'self',
    purpose: 'The PPR2 refusal reaches the LPA unchanged and the profile stays.',
    requirement: 'SGP.22 5.7.18 (disallowedByPolicy 3), 2.9 PPR2 (deletion not allowed)',
    requires: ['emulatedEuicc', 'sgp26Trust'],
    initialConditions: ['profile R (PPR2) disabled, profile S enabled (emulated card: a PPR2 profile could never be deleted from a card eUICC)', 'an ES10 session through the bridge'],
    steps: [
      { action: 'GetProfilesInfo {iccid R, tagList 5A 99}', expected: 'profilePolicyRules {ppr2}' },
      { action: 'DeleteProfile {iccid R}', expected: 'BF33 { 80 01 03 }; R still installed' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const s = await c.setup('R (PPR2), S (enabled)', () => ppr2(rt));
    await withBridge(c, rt, async (es10) => {
      await c.step(1, async () => expect(await pprsOf(es10, s.r.iccid)).toEqual(['ppr2']));
      await c.step(2, async () => {
        expect(await raw(es10, 'ES10c.DeleteProfile', deleteReq({ iccid: s.r.iccid }))).toBe('BF3303800103');
        expect((await states(es10)).get(s.r.iccid)).toBe(0);
        expect(rt.euicc!.state.profile(s.r.iccid)?.state).toBe('disabled');
      });
    });
  },
);

// ---------------------------------------------------------------------------
// SetNickname (5.7.21), GetEID (5.7.20)

tc(
  {
    id: 'TC_eUICC_ES10c.SetNickname_Ok',
    title: 'SetNickname with a non-ASCII nickname: ok (0), shown by GetProfilesInfo',
    group,
    iut: 'self',
    purpose: 'A UTF-8 nickname with multi-byte characters crosses the bridge unchanged in both directions.',
    requirement: 'SGP.22 5.7.21 SetNickname (ok 0); profileNickname UTF8String (SIZE(0..64))',
    requires: ['sgp26Trust'],
    initialConditions: ['profiles A, B, C installed', 'an ES10 session through the bridge'],
    steps: [
      { action: 'SetNickname {iccid C, "Büro ✓ 東京"}', expected: 'BF29 { 80 01 00 }' },
      { action: 'GetProfilesInfo {iccid C}', expected: 'profileNickname "Büro ✓ 東京"' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const cat = await c.setup('profiles A, B, C', () => catalog(rt));
    const nickname = 'Büro ✓ 東京';
    await withBridge(c, rt, async (es10) => {
      await c.step(1, async () => expect(await raw(es10, 'ES10c.SetNickname', SetNicknameRequest.encode({ iccid: iccidToBytes(cat.c.iccid), profileNickname: nickname }))).toBe('BF2903800100'));
      await c.step(2, async () => {
        expect((await profiles(es10, { iccid: cat.c.iccid }))[0]?.profileNickname).toBe(nickname);
        if (c.observe('cardState', 'the nickname stored on the card')) expect(euiccOf(rt).state.profile(cat.c.iccid)?.nickname).toBe(nickname);
      });
    });
  },
);

tc(
  {
    id: 'TC_eUICC_ES10c.SetNickname_NotFound',
    title: 'SetNickname of an unknown ICCID: iccidNotFound (1)',
    group,
    iut: 'self',
    purpose: 'The not-found code reaches the LPA unchanged.',
    requirement: 'SGP.22 5.7.21 (iccidNotFound 1)',
    requires: ['sgp26Trust'],
    initialConditions: ['profiles A, B, C installed', 'an ES10 session through the bridge'],
    steps: [{ action: 'SetNickname {iccid of no profile, "x"}', expected: 'BF29 { 80 01 01 }; A keeps its nickname Alpha' }],
  },
  async (c) => {
    const rt = rig(c);
    const cat = await c.setup('profiles A, B, C', () => catalog(rt));
    await withBridge(c, rt, async (es10) => {
      await c.step(1, async () => {
        expect(await raw(es10, 'ES10c.SetNickname', SetNicknameRequest.encode({ iccid: iccidToBytes(newIccid()), profileNickname: 'x' }))).toBe('BF2903800101');
        expect((await profiles(es10, { iccid: cat.a.iccid }))[0]?.profileNickname).toBe('Alpha');
      });
    });
  },
);

tc(
  {
    id: 'TC_eUICC_ES10c.GetEID_Value',
    title: 'GetEID returns the 32-digit EID of the eUICC',
    group,
    iut: 'self',
    purpose: 'The EID (what every LPA reads first) reaches the LPA byte for byte.',
    requirement: 'SGP.22 5.7.20 GetEID (BF3E { 5C 01 5A } -> BF3E { 5A 10 EID })',
    initialConditions: ['an ES10 session through the bridge'],
    steps: [{ action: 'STORE DATA BF3E 03 5C 01 5A', expected: 'BF3E 12 5A 10 <EID>, SW 9000; EID with valid check digits (and the emulated eUICC\'s EID)' }],
  },
  async (c) => {
    const rt = rig(c);
    await withBridge(c, rt, async (es10) => {
      await c.step(1, async () => {
        const r = await raw(es10, 'ES10c.GetEID', hexToBytes('BF3E035C015A'));
        expect(r).toMatch(/^BF3E125A10(89[0-9]{30})$/);
        const eid = r.slice(10);
        if (c.observe('cardEid', "the card's EID")) expect(eid).toBe(rt.cardEid);
        const mod = eid.split('').reduce((acc, d) => (acc * 10 + Number(d)) % 97, 0);
        expect(mod).toBe(1);
      });
    });
  },
);

