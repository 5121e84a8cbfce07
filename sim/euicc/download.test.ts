import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { decode } from '../rsp/der.ts';
import { ProfileInstallationResult } from '../rsp/es10b.ts';
import { iccidToBytes } from '../rsp/iccid.ts';
import { bppSegmentsForLoading } from '../rsp/es8p.ts';
import { hexToBytes, hexToBytesSpaced, toHex } from '../bytes.ts';
import { loadCert } from '../../certs/store.ts';
import { createEuicc } from './euicc.ts';
import { checkNotification, install, pirError, profileWithIccid, rig, tempDir, testIccid, ts48, TS48_ICCID, type Rig } from './testing/fixtures.ts';
import { assembleBpp, encodeRaw, flipLastBit, type BoundPackage } from './testing/smdp-binder.ts';
import { TestLpa } from './testing/test-lpa.ts';
import { SIMA_RESPONSE_OK } from './download.ts';

const hx = hexToBytesSpaced;
const A = testIccid(1);
const B = testIccid(2);
const NIST_CERT = loadCert('EUICC_NIST').der;

let r: Rig;
let cleanup: (() => void) | undefined;
afterEach(async () => {
  await r?.euicc.close();
  cleanup?.();
  cleanup = undefined;
});

/** replace one part of the BPP and reassemble */
function tampered(change: (p: BoundPackage['parts']) => void): (b: BoundPackage) => Uint8Array {
  return (b) => {
    const parts = { ...b.parts, configureIsdp: [...b.parts.configureIsdp], storeMetadata: [...b.parts.storeMetadata], replaceSessionKeys: [...b.parts.replaceSessionKeys], profileElements: [...b.parts.profileElements] };
    change(parts);
    return assembleBpp(parts);
  };
}

/** The PIR is signed, stored as the last notification, and nothing is installed. */
function expectFailedInstall(pirDer: Uint8Array, expected: { bppCommandId: number; errorReason: number }, iccid?: string): void {
  expect(pirError(pirDer)).toEqual(expected);
  const notes = r.euicc.state.notifications();
  const last = notes[notes.length - 1]!;
  expect(last.kind).toBe('install');
  expect(toHex(last.der)).toBe(toHex(pirDer));
  expect(last.iccid).toBe(iccid);
  const checked = checkNotification(pirDer, NIST_CERT);
  expect(checked.signatureValid).toBe(true);
  const data = checked.pir!.profileInstallationResultData;
  expect(data.smdpOid).toBe('2.999.10');
  expect(data.notificationMetadata).toMatchObject({ seqNumber: last.seqNumber, profileManagementOperation: ['notificationInstall'], notificationAddress: r.smdp.address });
  if (iccid) expect(toHex(data.notificationMetadata.iccid!)).toBe(toHex(iccidToBytes(iccid)));
  else expect(data.notificationMetadata.iccid).toBeUndefined();
  expect(r.euicc.state.bppInProgress()).toBeUndefined();
  if (iccid) expect(r.euicc.state.profile(iccid)).toBeUndefined();
}

describe('LoadBoundProfilePackage: success (5.7.6)', () => {
  it('intermediate sequences answer 9000 without data; the last 86 answers the signed PIR', async () => {
    r = await rig();
    const { auth, prepared } = await r.lpa.authenticate(r.smdp);
    const bound = r.smdp.bind(auth, prepared, profileWithIccid(A), { metadata: { iccid: A } });
    const segments = bppSegmentsForLoading(bound.bpp);
    expect(segments.map((s) => s.kind).slice(0, 5)).toEqual(['bf36Header+iscr', 'firstSequenceOf87', 'sequenceOf88Header', 'tlv88', 'secondSequenceOf87']);
    for (const s of segments.slice(0, -1)) expect(await r.lpa.es10Raw(s.bytes)).toEqual({ data: new Uint8Array(0), sw: 0x9000 });
    expect(r.euicc.state.bppInProgress()).toMatchObject({ transactionId: toHex(auth.transactionId).toUpperCase(), smdpAddress: r.smdp.address, smdpOid: '2.999.10', iccid: A, bppCommandId: 5 });
    const pirDer = await r.lpa.es10(segments[segments.length - 1]!.bytes);
    const pir = decode(ProfileInstallationResult, pirDer).profileInstallationResultData;
    expect(pir.transactionId).toEqual(auth.transactionId);
    expect(pir.finalResult).toEqual({ successResult: { aid: hx('A0000005591010FFFFFFFF8900001000'), simaResponse: SIMA_RESPONSE_OK } });
    expect(pir.notificationMetadata).toEqual({ seqNumber: 1, profileManagementOperation: ['notificationInstall'], notificationAddress: r.smdp.address, iccid: iccidToBytes(A) });
    expect(checkNotification(pirDer, NIST_CERT).signatureValid).toBe(true);
    expect(r.euicc.state.profile(A)).toMatchObject({ state: 'disabled', isdpAid: 'A0000005591010FFFFFFFF8900001000' });
    expect(r.euicc.state.bppInProgress()).toBeUndefined();
    // the BPP ended: more BPP commands are refused
    expect((await r.lpa.es10Raw(segments[1]!.bytes)).sw).toBe(0x6985);
  });

  it('without ReplaceSessionKeys (no A2), with 255-byte STORE DATA blocks, brainpool', async () => {
    r = await rig({}, { blockSize: 255 }, { curve: 'brainpoolP256r1' });
    const res = await install(r, A, { replaceSessionKeys: false });
    expect(pirError(res.pirDer)).toBeUndefined();
    expect(checkNotification(res.pirDer, loadCert('EUICC_BRP').der).signatureValid).toBe(true);
  });

  it('several elements in one STORE DATA sequence (the whole BPP at once) are accepted', async () => {
    r = await rig();
    const { auth, prepared } = await r.lpa.authenticate(r.smdp);
    const bound = r.smdp.bind(auth, prepared, profileWithIccid(A), { metadata: { iccid: A } });
    expect(pirError(await r.lpa.es10(bound.bpp))).toBeUndefined();
    expect(r.euicc.state.profile(A)).toBeDefined();
  });

  it('metadata split over several 88 segments; small 86 segments', async () => {
    r = await rig();
    const { auth, prepared } = await r.lpa.authenticate(r.smdp);
    const icon = new Uint8Array(1024).fill(0x42);
    const bound = r.smdp.bind(auth, prepared, profileWithIccid(A), { metadata: { iccid: A, iconType: 1, icon }, segmentSize: 200 });
    expect(bound.parts.storeMetadata.length).toBe(2);
    expect(pirError(await r.lpa.loadBpp(bound.bpp))).toBeUndefined();
    expect(r.euicc.state.profile(A)).toBeDefined();
  });

  it('BPP commands without PrepareDownload answer 6985', async () => {
    r = await rig();
    expect((await r.lpa.es10Raw(hx('BF3682 1000 BF2300'))).sw).toBe(0x6985);
    await r.lpa.authenticate(r.smdp);
    expect((await r.lpa.es10Raw(hx('A003870100'))).sw).toBe(0x6985);
  });
});

describe('LoadBoundProfilePackage: errors (ErrorResult bppCommandId / errorReason)', () => {
  it('ISCR: invalidSignature (2), invalidTransactionId (3), unsupportedCrtValues (4), unsupportedRemoteOperationType (5)', async () => {
    r = await rig();
    const variants: [NonNullable<Parameters<typeof r.smdp.bind>[3]['iscr']>, number][] = [
      [{ corruptSign: true }, 2],
      [{ transactionId: hx('0011223344') }, 3],
      [{ keyType: 0x80 }, 4],
      [{ keyLen: 0x20 }, 4],
      [{ remoteOpId: 2 }, 5],
    ];
    for (const [iscr, reason] of variants) {
      const { auth, prepared } = await r.lpa.authenticate(r.smdp);
      const bound = r.smdp.bind(auth, prepared, profileWithIccid(A), { metadata: { iccid: A }, iscr });
      const pir = await r.lpa.loadBpp(bound.bpp);
      expectFailedInstall(pir, { bppCommandId: 0, errorReason: reason });
      expect(decode(ProfileInstallationResult, pir).profileInstallationResultData.transactionId).toEqual(auth.transactionId);
      // the session ended with the error
      expect((await r.lpa.es10Raw(bppSegmentsForLoading(bound.bpp)[1]!.bytes)).sw).toBe(0x6985);
    }
    expect(r.euicc.state.profiles()).toEqual([]);
  });

  it('bad C-MAC: in A0 (configureISDP 1), in an 88 (storeMetadata 2), in A2 (replaceSessionKeys 4), in an 86 (loadProfileElements 5): scp03tSecurityError (8)', async () => {
    r = await rig();
    const variants: [(p: BoundPackage['parts']) => void, number, string | undefined][] = [
      [(p) => (p.configureIsdp[0] = flipLastBit(p.configureIsdp[0]!)), 1, undefined],
      [(p) => (p.storeMetadata[0] = flipLastBit(p.storeMetadata[0]!)), 2, undefined],
      [(p) => (p.replaceSessionKeys[0] = flipLastBit(p.replaceSessionKeys[0]!)), 4, A],
      [(p) => (p.profileElements[3] = flipLastBit(p.profileElements[3]!)), 5, A],
    ];
    for (const [change, cmd, iccid] of variants) {
      const res = await install(r, A, { tamper: tampered(change) });
      expectFailedInstall(res.pirDer, { bppCommandId: cmd, errorReason: 8 }, iccid);
    }
  });

  it('an 86 whose ciphertext is not a multiple of 16: scp03tStructureError (7)', async () => {
    r = await rig();
    const res = await install(r, A, {
      tamper: tampered((p) => {
        const seg = p.profileElements[1]!;
        const h = seg[1] === 0x82 ? 4 : seg[1] === 0x81 ? 3 : 2;
        p.profileElements[1] = encodeRaw(0x86, seg.slice(h + 1));
      }),
    });
    expectFailedInstall(res.pirDer, { bppCommandId: 5, errorReason: 7 }, A);
  });

  it('ICCID already installed: installFailedDueToIccidAlreadyExistsOnEuicc (9)', async () => {
    r = await rig();
    await install(r, A);
    const size = r.euicc.state.memory().used;
    const res = await install(r, A);
    expect(pirError(res.pirDer)).toEqual({ bppCommandId: 2, errorReason: 9 });
    expect(r.euicc.state.profiles().length).toBe(1);
    expect(r.euicc.state.memory().used).toBe(size);
  });

  it('not enough NVM: installFailedDueToInsufficientMemoryForProfile (10), at the 86 that does not fit', async () => {
    r = await rig({ totalNvm: 8000, profileOverhead: 1000 });
    const res = await install(r, A);
    expectFailedInstall(res.pirDer, { bppCommandId: 5, errorReason: 10 }, A);
    expect(r.euicc.state.memory()).toEqual({ total: 8000, used: 0, free: 8000 });
  });

  it('profile class not supported: unsupportedProfileClass (6)', async () => {
    r = await rig({ testProfileSupport: false });
    expectFailedInstall((await install(r, A, { profileClass: 0 })).pirDer, { bppCommandId: 2, errorReason: 6 });
    expectFailedInstall((await install(r, A, { profileClass: 1 })).pirDer, { bppCommandId: 2, errorReason: 6 });
    expect(pirError((await install(r, A, { profileClass: 2 })).pirDer)).toBeUndefined();
  });

  it('PPRs the RAT does not allow: pprNotAllowed (15); allowed for the operator in the RAT', async () => {
    r = await rig({ rat: [{ pprIds: ['ppr2'], allowedOperators: [{ mccMnc: hx('00F1E0') }], pprFlags: [] }] });
    expectFailedInstall((await install(r, A, { profilePolicyRules: ['ppr1'], profileOwner: { mccMnc: hx('00F110') } })).pirDer, { bppCommandId: 2, errorReason: 15 });
    expectFailedInstall((await install(r, A, { profilePolicyRules: ['ppr2'], profileOwner: { mccMnc: hx('00F220') } })).pirDer, { bppCommandId: 2, errorReason: 15 });
    expectFailedInstall((await install(r, A, { profilePolicyRules: ['ppr2'] })).pirDer, { bppCommandId: 2, errorReason: 15 });
    expect(pirError((await install(r, A, { profilePolicyRules: ['ppr2'], profileOwner: { mccMnc: hx('00F110') } })).pirDer)).toBeUndefined();
  });

  it('a package that is not SAIP: installFailedDueToPEProcessingError (12) with a simaResponse', async () => {
    r = await rig();
    const upp = ts48().slice(0, 3000);
    const res = await install(r, A, { upp });
    expectFailedInstall(res.pirDer, { bppCommandId: 5, errorReason: 12 }, A);
    const fr = decode(ProfileInstallationResult, res.pirDer).profileInstallationResultData.finalResult;
    expect('errorResult' in fr && fr.errorResult.simaResponse !== undefined).toBe(true);
  });

  it('a package the DER engine cannot even parse (asn1js rejects a universal type): PE processing error (12)', async () => {
    r = await rig();
    const upp = ts48('TS48v1_A.der').slice();
    upp[222]! ^= 0x02; // turns a PE into something asn1js throws a plain Error on
    const res = await install(r, TS48_ICCID, { upp });
    expectFailedInstall(res.pirDer, { bppCommandId: 5, errorReason: 12 }, TS48_ICCID);
    expect(r.euicc.card.internalErrors).toEqual([]);
  });

  it('ProfileHeader ICCID is not the StoreMetadata ICCID: installFailedDueToDataMismatch (13)', async () => {
    r = await rig();
    const res = await install(r, B, { upp: profileWithIccid(A) });
    expectFailedInstall(res.pirDer, { bppCommandId: 5, errorReason: 13 }, B);
  });

  it('a sequence that cuts an element: incorrectInputValues (1) for the command being processed', async () => {
    r = await rig();
    const { auth, prepared } = await r.lpa.authenticate(r.smdp);
    const bound = r.smdp.bind(auth, prepared, profileWithIccid(A), { metadata: { iccid: A } });
    const seg = bppSegmentsForLoading(bound.bpp);
    expect(await r.lpa.es10(seg[0]!.bytes)).toEqual(new Uint8Array(0));
    const pir = await r.lpa.es10(seg[1]!.bytes.slice(0, 10));
    expectFailedInstall(pir, { bppCommandId: 1, errorReason: 1 });
  });
});

describe('LoadBoundProfilePackage: interruption and rollback', () => {
  async function startBpp(stopAfter: number, iccid = A): Promise<{ bound: BoundPackage; transactionId: Uint8Array }> {
    const { auth, prepared } = await r.lpa.authenticate(r.smdp);
    const bound = r.smdp.bind(auth, prepared, profileWithIccid(iccid), { metadata: { iccid } });
    expect(await r.lpa.loadBpp(bound.bpp, { stopAfter })).toEqual(new Uint8Array(0));
    return { bound, transactionId: auth.transactionId };
  }

  it('card reset in the middle of the 86 segments: nothing installed, PIR installFailedDueToInterruption (11)', async () => {
    r = await rig();
    const { bound } = await startBpp(9);
    expect(r.euicc.state.bppInProgress()?.bppCommandId).toBe(5);
    await r.euicc.reset();
    expectFailedInstall(r.euicc.state.notifications().at(-1)!.der, { bppCommandId: 5, errorReason: 11 }, A);
    // after the reset the LPA selects the ISD-R again; the rest of the BPP is refused
    const lpa = new TestLpa(r.euicc);
    await lpa.open();
    expect((await lpa.es10Raw(bppSegmentsForLoading(bound.bpp)[9]!.bytes)).sw).toBe(0x6985);
  });

  it('the interrupted command is the one expected next: configureISDP (1) after the ISCR, storeMetadata (2) after A0', async () => {
    r = await rig();
    await startBpp(1);
    await r.euicc.reset();
    expect(pirError(r.euicc.state.notifications().at(-1)!.der)).toEqual({ bppCommandId: 1, errorReason: 11 });
    r.lpa = new TestLpa(r.euicc);
    await r.lpa.open();
    await startBpp(2);
    await r.euicc.reset();
    expect(pirError(r.euicc.state.notifications().at(-1)!.der)).toEqual({ bppCommandId: 2, errorReason: 11 });
  });

  it('CancelSession in the middle of a BPP: ok, and the PIR reports the interruption', async () => {
    r = await rig();
    const { transactionId } = await startBpp(7);
    const resp = await r.lpa.es10(encodeRaw(0xbf41, new Uint8Array([...encodeRaw(0x80, transactionId), ...encodeRaw(0x81, Uint8Array.of(5))])));
    expect(resp[3]).toBe(0xa0); // cancelSessionResponseOk
    expectFailedInstall(r.euicc.state.notifications().at(-1)!.der, { bppCommandId: 5, errorReason: 11 }, A);
  });

  it('another ES10 command in the middle of a BPP interrupts it; the BPP cannot continue', async () => {
    r = await rig();
    const { bound } = await startBpp(6);
    await r.lpa.es10(hx('BF2200'));
    expectFailedInstall(r.euicc.state.notifications().at(-1)!.der, { bppCommandId: 5, errorReason: 11 }, A);
    expect((await r.lpa.es10Raw(bppSegmentsForLoading(bound.bpp)[6]!.bytes)).sw).toBe(0x6985);
  });

  it('before the ISCR is accepted there is nothing to interrupt (no PIR)', async () => {
    r = await rig();
    await r.lpa.authenticate(r.smdp);
    await r.lpa.es10(hx('BF2200'));
    await r.euicc.reset();
    expect(r.euicc.state.notifications()).toEqual([]);
  });

  it('a process restart with the BPP marker stores the interruption PIR and clears the marker', async () => {
    const t = tempDir();
    cleanup = t.cleanup;
    r = await rig({ statePath: t.file() });
    await install(r, B);
    await startBpp(9);
    const onDisk = JSON.parse(readFileSync(t.file(), 'utf8'));
    expect(onDisk.bppInProgress).toMatchObject({ smdpAddress: r.smdp.address, smdpOid: '2.999.10', iccid: A, bppCommandId: 5, identityCurve: 'P-256' });
    expect(onDisk.profiles.map((p: { iccid: string }) => p.iccid)).toEqual([B]);
    // the process dies here: a new eUICC from the same state file
    const restarted = await createEuicc({ statePath: t.file() });
    expect(restarted.recoveredInterruption).toBe(true);
    expect(restarted.state.bppInProgress()).toBeUndefined();
    expect(restarted.state.profiles().map((p) => p.iccid)).toEqual([B]);
    const last = restarted.state.notifications().at(-1)!;
    expect(pirError(last.der)).toEqual({ bppCommandId: 5, errorReason: 11 });
    expect(last.iccid).toBe(A);
    expect(checkNotification(last.der, NIST_CERT).signatureValid).toBe(true);
    expect(JSON.parse(readFileSync(t.file(), 'utf8')).bppInProgress).toBeUndefined();
    const again = await createEuicc({ statePath: t.file() });
    expect(again.recoveredInterruption).toBe(false);
    expect(again.state.notifications().length).toBe(restarted.state.notifications().length);
    await restarted.close();
    await again.close();
  });

  it('the TS.48 default ICCID installs with the unpersonalised package', async () => {
    r = await rig();
    expect(pirError((await install(r, TS48_ICCID)).pirDer)).toBeUndefined();
  });
});
