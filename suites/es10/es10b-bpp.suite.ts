// ES10 through the bridge, ES10b.LoadBoundProfilePackage (SGP.22 5.7.6, BPP of 2.5.4 sent
// as the separate STORE DATA sequences of 2.5.5): a profile installed through the bridge
// with a signed ProfileInstallationResult, and each ErrorResult (bppCommandId,
// errorReason) the eUICC reports for a broken package reaching the LPA unchanged. The
// BPPs are bound by a test-side SM-DP+ (SGP.26 DPpb key) so they can be broken on
// purpose; one case downloads from the rig's real SM-DP+ over ES9+.
import { expect } from 'vitest';
import { tc } from '../framework/case.ts';
import { useRig } from '../framework/shared-rig.ts';
import { euiccOf } from '../framework/fixtures.ts';
import { toHex, toUpperHex } from '../../sim/bytes.ts';
import { BppCommandId, ErrorReason } from '../../sim/rsp/results.ts';
import type { ProfileInstallationResult } from '../../sim/rsp/es10b.ts';
import { iccidFromBytes } from '../../sim/rsp/iccid.ts';
import { checkNotification } from '../../sim/euicc/testing/fixtures.ts';
import { assembleBpp } from '../../sim/euicc/testing/smdp-binder.ts';
import { cleanCard, download, installProfiles, newIccid, removeTracked, TestSmdp, track, withBridge, type Loaded } from './helpers.ts';

const rig = useRig();
const group = 'ES10 through the bridge' as const;

function errorOf(pir: ProfileInstallationResult): { bppCommandId: number; errorReason: number } | undefined {
  const fr = pir.profileInstallationResultData.finalResult;
  return 'errorResult' in fr ? { bppCommandId: fr.errorResult.bppCommandId, errorReason: fr.errorResult.errorReason } : undefined;
}

/** The PIR is signed by the eUICC (the certificate of AuthenticateServer) and names the session. */
function expectSignedPir(r: Loaded): void {
  const checked = checkNotification(r.pirDer, r.auth.euiccCertificate);
  expect(checked.kind).toBe('pir');
  expect(checked.signatureValid).toBe(true);
  expect(toHex(r.pir.profileInstallationResultData.transactionId)).toBe(toHex(r.auth.transactionId));
}

/** A copy of `b` with one byte of its payload at `offset` from the end inverted. */
function flipByte(b: Uint8Array, fromEnd: number): Uint8Array {
  const out = b.slice();
  out[out.length - fromEnd]! ^= 0xff;
  return out;
}

tc(
  {
    id: 'TC_eUICC_ES10b.LoadBoundProfilePackage_Success',
    title: 'a Bound Profile Package loaded through the bridge installs the profile',
    group,
    iut: 'self',
    purpose: 'Every STORE DATA sequence of a 12 KB BPP crosses the bridge intact: the eUICC installs the profile and signs a success PIR.',
    requirement: 'SGP.22 5.7.6 LoadBoundProfilePackage, 2.5.5 STORE DATA sequences, 2.5.4 BPP',
    requires: ['sgp26Trust'],
    initialConditions: ['an ES10 session through the bridge', 'AuthenticateServer and PrepareDownload done with the SGP.26 DPauth/DPpb'],
    steps: [
      { action: 'send the BPP (ISCR, ConfigureISDP, StoreMetadata, ReplaceSessionKeys, 1020-byte 86 segments) as STORE DATA sequences', expected: 'every intermediate sequence 9000 without data; the last answers BF37' },
      { action: 'check the ProfileInstallationResult', expected: 'successResult with an ISD-P AID; transactionId of the session; notificationMetadata install with the ICCID; euiccSignPIR valid with the eUICC certificate' },
      { action: 'GetProfilesInfo for the ICCID', expected: 'the profile, disabled, with that ISD-P AID (and in the emulated eUICC state)' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const smdp = new TestSmdp();
    const iccid = newIccid();
    await withBridge(c, rt, async (es10) => {
      track(rt, iccid);
      const r = await c.step(1, () => download(es10, smdp, iccid));
      const aid = await c.step(2, () => {
        expectSignedPir(r);
        const d = r.pir.profileInstallationResultData;
        expect(errorOf(r.pir)).toBeUndefined();
        expect(d.notificationMetadata.profileManagementOperation).toEqual(['notificationInstall']);
        expect(iccidFromBytes(d.notificationMetadata.iccid!)).toBe(iccid);
        const fr = d.finalResult;
        if (!('successResult' in fr)) throw new Error('no successResult');
        return toUpperHex(fr.successResult.aid);
      });
      await c.step(3, async () => {
        const r2 = await es10.getProfilesInfo({ iccid });
        if (!('profileInfoListOk' in r2)) throw new Error(`profileInfoListError ${r2.profileInfoListError}`);
        expect(r2.profileInfoListOk.length).toBe(1);
        expect(toUpperHex(r2.profileInfoListOk[0]!.isdpAid!)).toBe(aid);
        expect(r2.profileInfoListOk[0]!.profileState).toBe(0);
        if (c.observe('cardState', 'the profile stored on the card')) expect(euiccOf(rt).state.profile(iccid)).toMatchObject({ isdpAid: aid, state: 'disabled' });
      });
    });
  },
);

tc(
  {
    id: 'TC_eUICC_ES10b.LoadBoundProfilePackage_LargeSegments',
    title: 'a BPP with 86 segments of more than 1036 bytes installs through the bridge',
    group,
    iut: 'self',
    purpose: 'Some SM-DP+s (osmocom) send 86 segments of 1036 bytes or more: a bridge must pass the long STORE DATA sequences.',
    requirement: 'SGP.22 2.5.5 (86 segments of 1036 bytes or more, as the osmocom SM-DP+ emits them, must be accepted)',
    requires: ['sgp26Trust'],
    initialConditions: ['an ES10 session through the bridge', 'AuthenticateServer and PrepareDownload done'],
    steps: [{ action: 'load a BPP bound with 2000-byte 86 plaintext segments', expected: 'successResult, PIR signature valid' }],
  },
  async (c) => {
    const rt = rig(c);
    const smdp = new TestSmdp();
    await withBridge(c, rt, async (es10) => {
      await c.step(1, async () => {
        const iccid = newIccid();
        track(rt, iccid);
        const r = await download(es10, smdp, iccid, { segmentSize: 2000 });
        expect(r.bound.parts.profileElements.some((s) => s.length > 1036)).toBe(true);
        expect(errorOf(r.pir)).toBeUndefined();
        expectSignedPir(r);
      });
    });
  },
);

tc(
  {
    id: 'TC_eUICC_ES10b.LoadBoundProfilePackage_RealSmdp',
    title: 'a profile ordered at the rig\'s SM-DP+ downloads through the bridge',
    group,
    iut: 'self',
    purpose: 'The whole ES10b download chain with the real SM-DP+ (ES9+ over HTTPS) and the bridge in the APDU path.',
    requirement: 'SGP.22 3.1.3 profile download, 5.7.5-5.7.6, 5.6.1-5.6.3',
    requires: ['embeddedSmdp'],
    initialConditions: ['a released order at the SM-DP+ (ES2+ DownloadOrder + ConfirmOrder)', 'the test LPA connected through the bridge'],
    steps: [
      { action: 'download with the activation code, leaving the install notification pending', expected: 'successResult with the ordered ICCID' },
      { action: 'list the profiles through the bridge', expected: 'the ordered ICCID is installed, disabled' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const order = await c.setup('released order', () => rt.smdp!.es2.order());
    const h = await c.setup('test LPA through the bridge', () => rt.openLpa());
    track(rt, order.iccid);
    try {
      await c.step(1, async () => {
        const r = await h.lpa.downloadProfile(order.activationCode, { notifications: 'leave' });
        expect(r.iccid).toBe(order.iccid);
        expect('successResult' in r.profileInstallationResult.profileInstallationResultData.finalResult).toBe(true);
      });
      await c.step(2, async () => {
        const list = await h.lpa.listProfiles();
        const p = list.find((x) => x.iccid && iccidFromBytes(x.iccid) === order.iccid);
        expect(p?.profileState).toBe(0);
        if (c.observe('cardState', 'the profile stored on the card')) expect(euiccOf(rt).state.profile(order.iccid)?.state).toBe('disabled');
      });
    } finally {
      await h.close();
      await removeTracked(rt, c);
    }
  },
);

tc(
  {
    id: 'TC_eUICC_ES10b.LoadBoundProfilePackage_InvalidIscrSignature',
    title: 'a BPP whose ISCR smdpSign is broken: bppCommandId initialiseSecureChannel (0), invalidSignature (2)',
    group,
    iut: 'self',
    purpose: 'The ErrorResult of a refused ISCR reaches the LPA unchanged, signed.',
    requirement: 'SGP.22 5.7.6 ProfileInstallationResult ErrorResult; 5.5.1 InitialiseSecureChannel',
    requires: ['sgp26Trust'],
    initialConditions: ['an ES10 session through the bridge', 'AuthenticateServer and PrepareDownload done'],
    steps: [{ action: 'load a BPP whose InitialiseSecureChannel smdpSign has one bit flipped', expected: 'the first sequence answers BF37 errorResult {bppCommandId 0, errorReason 2}; PIR signature valid; no profile installed' }],
  },
  async (c) => {
    const rt = rig(c);
    const smdp = new TestSmdp();
    const iccid = newIccid();
    await withBridge(c, rt, async (es10) => {
      await c.step(1, async () => {
        const r = await download(es10, smdp, iccid, { iscr: { corruptSign: true } });
        expect(errorOf(r.pir)).toEqual({ bppCommandId: BppCommandId.initialiseSecureChannel, errorReason: ErrorReason.invalidSignature });
        expectSignedPir(r);
        if (c.observe('cardState', 'no profile stored on the card')) expect(euiccOf(rt).state.profile(iccid)).toBeUndefined();
      });
    });
  },
);

tc(
  {
    id: 'TC_eUICC_ES10b.LoadBoundProfilePackage_InvalidTransactionId',
    title: 'a BPP whose ISCR names another transaction: bppCommandId 0, invalidTransactionId (3)',
    group,
    iut: 'self',
    purpose: 'The ErrorResult of a BPP for another session reaches the LPA unchanged.',
    requirement: 'SGP.22 5.7.6; 5.5.1 (transactionId of the ISCR)',
    requires: ['sgp26Trust'],
    initialConditions: ['an ES10 session through the bridge', 'AuthenticateServer and PrepareDownload done'],
    steps: [{ action: 'load a BPP whose ISCR transactionId differs from the session\'s (signature valid)', expected: 'BF37 errorResult {bppCommandId 0, errorReason 3}' }],
  },
  async (c) => {
    const rt = rig(c);
    const smdp = new TestSmdp();
    await withBridge(c, rt, async (es10) => {
      await c.step(1, async () => {
        const r = await download(es10, smdp, newIccid(), { iscr: { transactionId: Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i) } });
        expect(errorOf(r.pir)).toEqual({ bppCommandId: BppCommandId.initialiseSecureChannel, errorReason: ErrorReason.invalidTransactionId });
        expectSignedPir(r);
      });
    });
  },
);

tc(
  {
    id: 'TC_eUICC_ES10b.LoadBoundProfilePackage_UnsupportedRemoteOp',
    title: 'a BPP whose ISCR remoteOpId is not installBoundProfilePackage: unsupportedRemoteOperationType (5)',
    group,
    iut: 'self',
    purpose: 'Another ISCR ErrorResult reaches the LPA unchanged.',
    requirement: 'SGP.22 5.7.6; 5.5.1 (remoteOpId installBoundProfilePackage 1)',
    requires: ['sgp26Trust'],
    initialConditions: ['an ES10 session through the bridge', 'AuthenticateServer and PrepareDownload done'],
    steps: [{ action: 'load a BPP whose ISCR has remoteOpId 2 (correctly signed)', expected: 'BF37 errorResult {bppCommandId 0, errorReason 5}' }],
  },
  async (c) => {
    const rt = rig(c);
    const smdp = new TestSmdp();
    await withBridge(c, rt, async (es10) => {
      await c.step(1, async () => {
        const r = await download(es10, smdp, newIccid(), { iscr: { remoteOpId: 2 } });
        expect(errorOf(r.pir)).toEqual({ bppCommandId: BppCommandId.initialiseSecureChannel, errorReason: ErrorReason.unsupportedRemoteOperationType });
      });
    });
  },
);

tc(
  {
    id: 'TC_eUICC_ES10b.LoadBoundProfilePackage_CorruptedMetadataMac',
    title: 'a BPP whose StoreMetadata 88 segment has a wrong MAC: bppCommandId storeMetadata (2), scp03tSecurityError (8)',
    group,
    iut: 'self',
    purpose: 'A C-MAC failure in the metadata is reported with the right command id, unchanged by the bridge.',
    requirement: 'SGP.22 5.7.6; 2.5.4 (88 segments MAC-only); SCP03t',
    requires: ['sgp26Trust'],
    initialConditions: ['an ES10 session through the bridge', 'AuthenticateServer and PrepareDownload done'],
    steps: [{ action: 'load a BPP whose first 88 segment has its last MAC byte inverted', expected: 'BF37 errorResult {bppCommandId 2, errorReason 8}; PIR signature valid' }],
  },
  async (c) => {
    const rt = rig(c);
    const smdp = new TestSmdp();
    await withBridge(c, rt, async (es10) => {
      await c.step(1, async () => {
        const r = await download(es10, smdp, newIccid(), {}, (b) => assembleBpp({ ...b.parts, storeMetadata: b.parts.storeMetadata.map((s, i) => (i === 0 ? flipByte(s, 1) : s)) }));
        expect(errorOf(r.pir)).toEqual({ bppCommandId: BppCommandId.storeMetadata, errorReason: ErrorReason.scp03tSecurityError });
        expectSignedPir(r);
      });
    });
  },
);

tc(
  {
    id: 'TC_eUICC_ES10b.LoadBoundProfilePackage_CorruptedSegment',
    title: 'a BPP with a corrupted 86 segment: bppCommandId loadProfileElements (5), scp03tSecurityError (8)',
    group,
    iut: 'self',
    purpose: 'A corrupted profile segment is caught by the eUICC and its ErrorResult reaches the LPA unchanged; nothing is installed.',
    requirement: 'SGP.22 5.7.6; 2.5.4 (86 segments encrypted and MACed)',
    requires: ['sgp26Trust'],
    initialConditions: ['an ES10 session through the bridge', 'AuthenticateServer and PrepareDownload done'],
    steps: [
      { action: 'load a BPP whose second 86 segment has one byte of its ciphertext inverted', expected: 'that sequence answers BF37 errorResult {bppCommandId 5, errorReason 8}; later segments are not needed' },
      { action: 'check the card', expected: 'the ICCID is not installed (GetProfilesInfo by ICCID: empty list)' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const smdp = new TestSmdp();
    const iccid = newIccid();
    await withBridge(c, rt, async (es10) => {
      await c.step(1, async () => {
        const r = await download(es10, smdp, iccid, {}, (b) => assembleBpp({ ...b.parts, profileElements: b.parts.profileElements.map((s, i) => (i === 1 ? flipByte(s, 20) : s)) }));
        expect(errorOf(r.pir)).toEqual({ bppCommandId: BppCommandId.loadProfileElements, errorReason: ErrorReason.scp03tSecurityError });
        expectSignedPir(r);
      });
      await c.step(2, async () => {
        const r = await es10.getProfilesInfo({ iccid });
        expect(r).toEqual({ profileInfoListOk: [] });
        if (c.observe('cardState', 'no profile stored on the card')) expect(euiccOf(rt).state.profile(iccid)).toBeUndefined();
      });
    });
  },
);

tc(
  {
    id: 'TC_eUICC_ES10b.LoadBoundProfilePackage_IccidAlreadyExists',
    title: 'a BPP for an ICCID already on the card: bppCommandId storeMetadata (2), iccidAlreadyExists (9)',
    group,
    iut: 'self',
    purpose: 'The duplicate-ICCID refusal reaches the LPA unchanged and the installed profile is untouched.',
    requirement: 'SGP.22 5.7.6 (installFailedDueToIccidAlreadyExistsOnEuicc 9), 5.5.3 StoreMetadata',
    requires: ['sgp26Trust'],
    initialConditions: ['a profile with ICCID X installed on the card', 'an ES10 session through the bridge'],
    steps: [{ action: 'download the same ICCID X again', expected: 'BF37 errorResult {bppCommandId 2, errorReason 9}; still one profile X with its ISD-P AID' }],
  },
  async (c) => {
    const rt = rig(c);
    const smdp = new TestSmdp();
    const [p] = await c.setup('profile X installed', () => installProfiles(rt, [{}]));
    await withBridge(c, rt, async (es10) => {
      await c.step(1, async () => {
        const r = await download(es10, smdp, p!.iccid);
        expect(errorOf(r.pir)).toEqual({ bppCommandId: BppCommandId.storeMetadata, errorReason: ErrorReason.installFailedDueToIccidAlreadyExistsOnEuicc });
        expectSignedPir(r);
        const list = await es10.getProfilesInfo({ iccid: p!.iccid });
        if (!('profileInfoListOk' in list)) throw new Error('profileInfoListError');
        expect(list.profileInfoListOk.map((x) => toUpperHex(x.isdpAid!))).toEqual([p!.isdpAid]);
      });
    });
  },
);

tc(
  {
    id: 'TC_eUICC_ES10b.LoadBoundProfilePackage_InsufficientMemory',
    title: 'a BPP larger than the free memory: bppCommandId loadProfileElements (5), insufficientMemory (10)',
    group,
    iut: 'self',
    purpose: 'The out-of-memory ErrorResult reaches the LPA unchanged.',
    requirement: 'SGP.22 5.7.6 (installFailedDueToInsufficientMemoryForProfile 10)',
    requires: ['emulatedEuicc', 'sgp26Trust'],
    initialConditions: ['a fresh emulated card with 6 KiB of NVM for profiles (a TS.48 profile needs about 14 KiB)', 'an ES10 session through the bridge'],
    steps: [{ action: 'download a TS.48 profile', expected: 'BF37 errorResult {bppCommandId 5, errorReason 10}; no profile installed; free memory unchanged' }],
  },
  async (c) => {
    const rt = rig(c);
    const smdp = new TestSmdp();
    const iccid = newIccid();
    await c.setup('small card', () => cleanCard(rt, { totalNvm: 6 * 1024 }));
    try {
      await withBridge(c, rt, async (es10) => {
        await c.step(1, async () => {
          const r = await download(es10, smdp, iccid);
          expect(errorOf(r.pir)).toEqual({ bppCommandId: BppCommandId.loadProfileElements, errorReason: ErrorReason.installFailedDueToInsufficientMemoryForProfile });
          expectSignedPir(r);
          expect(rt.euicc!.state.profiles()).toEqual([]);
          expect(rt.euicc!.state.memory().free).toBe(6 * 1024);
        });
      });
    } finally {
      await cleanCard(rt); // the next case gets a card of the usual size
    }
  },
);

tc(
  {
    id: 'TC_eUICC_ES10b.LoadBoundProfilePackage_UnsupportedProfileClass',
    title: 'a BPP of a provisioning profile on an eUICC without provisioning support: storeMetadata (2), unsupportedProfileClass (6)',
    group,
    iut: 'self',
    purpose: 'The profile-class refusal reaches the LPA unchanged.',
    requirement: 'SGP.22 5.7.6 (unsupportedProfileClass 6), 2.4.4 profile classes',
    requires: ['emulatedEuicc', 'sgp26Trust'],
    initialConditions: ['the emulated eUICC does not accept provisioning profiles (default)', 'an ES10 session through the bridge'],
    steps: [{ action: 'download a profile whose StoreMetadata profileClass is provisioning (1)', expected: 'BF37 errorResult {bppCommandId 2, errorReason 6}' }],
  },
  async (c) => {
    const rt = rig(c);
    const smdp = new TestSmdp();
    await c.setup('eUICC without provisioning profile support', () => expect(rt.euicc!.options.provisioningProfileSupport).toBe(false));
    await withBridge(c, rt, async (es10) => {
      await c.step(1, async () => {
        const iccid = newIccid();
        const r = await download(es10, smdp, iccid, { metadata: { iccid, profileClass: 1 } });
        expect(errorOf(r.pir)).toEqual({ bppCommandId: BppCommandId.storeMetadata, errorReason: ErrorReason.unsupportedProfileClass });
      });
    });
  },
);
