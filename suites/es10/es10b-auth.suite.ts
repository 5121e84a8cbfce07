// ES10 through the bridge, ES10b session functions (SGP.22 5.7.7 GetEUICCChallenge,
// 5.7.8 GetEUICCInfo1/2, 5.7.13 AuthenticateServer, 5.7.5 PrepareDownload, 5.7.14
// CancelSession, 5.7.22 GetRAT): every success and error code of the eUICC must reach
// the LPA through the bridge unchanged. The server side (serverSigned1, smdpSigned2,
// their signatures and certificates) is built by a test-side SM-DP+ holding the SGP.26
// DPauth/DPpb keys, so valid and broken inputs can be produced at will; the
// certificates of the invalid variants come from certs/issue.ts.
import { expect } from 'vitest';
import { tc } from '../framework/case.ts';
import { useRig } from '../framework/shared-rig.ts';
import { euiccOf } from '../framework/fixtures.ts';
import { decode, derOf } from '../../sim/rsp/der.ts';
import { EUICCInfo1, EUICCInfo2 } from '../../sim/rsp/common.ts';
import { AuthenticateServerResponse, CancelSessionResponse, EuiccCancelSessionSigned, PrepareDownloadResponse } from '../../sim/rsp/es10b.ts';
import { AuthenticateErrorCode, CancelSessionReason, CancelSessionResponseError, DownloadErrorCode } from '../../sim/rsp/results.ts';
import { verify as ecdsaVerify } from '../../sim/crypto/ecdsa.ts';
import { sha256 } from '@noble/hashes/sha2.js';
import { hexToBytes, toHex, toUpperHex } from '../../sim/bytes.ts';
import { parseCert } from '../../certs/cert.ts';
import { issueInvalid } from '../../certs/issue.ts';
import { loadCert } from '../../certs/store.ts';
import { DEFAULT_RAT } from '../../sim/euicc/options.ts';
import { authenticate, cleanCard, installProfiles, TestSmdp, withBridge } from './helpers.ts';

const rig = useRig();
const group = 'ES10 through the bridge' as const;

/** subject key id of the SGP.26 NIST CI */
const SGP26_CI_NIST = 'f54172bdf98a95d65cbeb88a38a1c11d800a85c3';

function authError(der: Uint8Array): number | undefined {
  const r = decode(AuthenticateServerResponse, der);
  return 'authenticateResponseError' in r ? r.authenticateResponseError.authenticateErrorCode : undefined;
}

function authErrorTid(der: Uint8Array): Uint8Array {
  const r = decode(AuthenticateServerResponse, der);
  if (!('authenticateResponseError' in r)) throw new Error('AuthenticateServer succeeded, an error was expected');
  return r.authenticateResponseError.transactionId;
}

function downloadError(der: Uint8Array): { code: number; transactionId: Uint8Array } | undefined {
  const r = decode(PrepareDownloadResponse, der);
  return 'downloadResponseError' in r ? { code: r.downloadResponseError.downloadErrorCode, transactionId: r.downloadResponseError.transactionId } : undefined;
}

function versionBytes(svn: string): Uint8Array {
  return Uint8Array.from(svn.split('.').map(Number));
}

// ---------------------------------------------------------------------------
// GetEUICCChallenge, GetEUICCInfo1/2, GetRAT

tc(
  {
    id: 'TC_eUICC_ES10b.GetEUICCChallenge_Fresh',
    title: 'GetEUICCChallenge returns a fresh 16-byte challenge each time',
    group,
    iut: 'self',
    purpose: 'The challenge the eUICC signs over in AuthenticateServer reaches the LPA intact and is not replayed.',
    requirement: 'SGP.22 5.7.7 GetEUICCChallenge (euiccChallenge Octet16)',
    initialConditions: ['an ES10 session through the bridge'],
    steps: [
      { action: 'send GetEUICCChallenge (BF2E)', expected: 'BF2E { 80 <16 bytes> }, SW 9000' },
      { action: 'send GetEUICCChallenge again', expected: 'another 16-byte challenge, different from the first' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    await withBridge(c, rt, async (es10) => {
      const first = await c.step(1, async () => {
        const raw = await es10.storeData(hexToBytes('BF2E00'), 'ES10b.GetEUICCChallenge');
        expect(toUpperHex(raw)).toMatch(/^BF2E128010[0-9A-F]{32}$/);
        return raw.slice(5);
      });
      await c.step(2, async () => {
        const second = await es10.getEuiccChallenge();
        expect(second.length).toBe(16);
        expect(toHex(second)).not.toBe(toHex(first));
      });
    });
  },
);

tc(
  {
    id: 'TC_eUICC_ES10b.GetEUICCInfo1_Values',
    title: 'GetEUICCInfo1 returns the SVN and the CI key ids of the eUICC',
    group,
    iut: 'self',
    purpose: 'The SM-DP+ picks its DPauth certificate from EUICCInfo1: it must arrive complete.',
    requirement: 'SGP.22 5.7.8 GetEUICCInfo, 4.3 EUICCInfo1',
    initialConditions: ['an ES10 session through the bridge'],
    steps: [
      { action: 'send GetEUICCInfo1 (BF20)', expected: 'a DER EUICCInfo1 (BF20), SW 9000' },
      { action: 'compare with the eUICC', expected: 'svn = the eUICC SVN; euiccCiPKIdListForVerification and ForSigning list the eUICC CIs, SGP.26 CI f54172bd... among them' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    await withBridge(c, rt, async (es10) => {
      const info = await c.step(1, async () => decode(EUICCInfo1, await es10.storeData(hexToBytes('BF2000'), 'ES10b.GetEUICCInfo1')));
      await c.step(2, () => {
        const verification = info.euiccCiPKIdListForVerification.map((k) => toHex(k));
        const signing = info.euiccCiPKIdListForSigning.map((k) => toHex(k));
        if (c.observe('cardState', "the card's SVN and CI key ids")) {
          expect(toHex(info.svn)).toBe(toHex(versionBytes(euiccOf(rt).options.svn)));
          const cis = [...new Set(euiccOf(rt).identities.map((i) => i.ciKeyId))].sort();
          expect([...verification].sort()).toEqual(cis);
          expect([...signing].sort()).toEqual(cis);
        } else expect(info.svn[0]).toBe(2);
        if (rt.env.capabilities.has('sgp26Trust')) {
          expect(verification).toContain(SGP26_CI_NIST);
          expect(signing).toContain(SGP26_CI_NIST);
        }
      });
    });
  },
);

tc(
  {
    id: 'TC_eUICC_ES10b.GetEUICCInfo2_Values',
    title: 'GetEUICCInfo2 returns versions, capabilities, CI lists and free memory',
    group,
    iut: 'self',
    purpose: 'EUICCInfo2 (the largest fixed ES10 response) reaches the LPA complete and decodes as strict DER.',
    requirement: 'SGP.22 5.7.8 GetEUICCInfo, 4.3 EUICCInfo2; ETSI TS 102 226 8.2.1.7.2 extended card resources',
    initialConditions: ['a clean eUICC (emulated rigs: fresh card)', 'an ES10 session through the bridge'],
    steps: [
      { action: 'send GetEUICCInfo2 (BF22)', expected: 'a DER EUICCInfo2 (BF22), SW 9000' },
      {
        action: 'compare with the eUICC',
        expected: 'svn, euiccFirmwareVer, profileVersion, ppVersion, sasAcreditationNumber, euiccCategory as configured; extCardResource 81 = 0 installed applications, 82 = the free NVM; CI lists equal to EUICCInfo1',
      },
    ],
  },
  async (c) => {
    const rt = rig(c);
    await c.setup('clean card', () => cleanCard(rt));
    await withBridge(c, rt, async (es10) => {
      const info = await c.step(1, async () => decode(EUICCInfo2, await es10.storeData(hexToBytes('BF2200'), 'ES10b.GetEUICCInfo2')));
      await c.step(2, async () => {
        const info1 = await es10.getEuiccInfo1();
        expect(toHex(info.svn)).toBe(toHex(info1.svn));
        expect(info.euiccCiPKIdListForVerification.map((k) => toHex(k))).toEqual(info1.euiccCiPKIdListForVerification.map((k) => toHex(k)));
        expect(info.euiccCiPKIdListForSigning.map((k) => toHex(k))).toEqual(info1.euiccCiPKIdListForSigning.map((k) => toHex(k)));
        if (!c.observe('cardState', "the card's versions, category and free memory")) return;
        const o = euiccOf(rt).options;
        expect(toHex(info.svn)).toBe(toHex(versionBytes(o.svn)));
        expect([...info.euiccFirmwareVer]).toEqual([...o.firmwareVersion]);
        expect([...info.profileVersion]).toEqual([...o.profileVersion]);
        expect([...info.ppVersion]).toEqual([...o.ppVersion]);
        expect(info.sasAcreditationNumber).toBe(o.sasAccreditationNumber);
        expect(info.euiccCategory).toBe(o.euiccCategory);
        const free = euiccOf(rt).state.memory().free;
        const freeHex = free.toString(16).padStart(8, '0');
        expect(toHex(info.extCardResource).slice(0, 6)).toBe('810100');
        expect(toHex(info.extCardResource)).toContain(`8204${freeHex}`);
        expect(info.rspCapability).toContain('additionalProfile');
      });
    });
  },
);

tc(
  {
    id: 'TC_eUICC_ES10b.GetEUICCInfo2_MemoryAfterInstall',
    title: 'GetEUICCInfo2 extCardResource follows an installed profile',
    group,
    iut: 'self',
    purpose: 'Memory figures the LPA shows come from the eUICC through the bridge, not from a stale copy.',
    requirement: 'SGP.22 4.3 EUICCInfo2.extCardResource; ETSI TS 102 226 8.2.1.7.2',
    requires: ['emulatedEuicc'],
    initialConditions: ['a fresh emulated card with one profile installed'],
    steps: [
      { action: 'send GetEUICCInfo2 through the bridge', expected: 'extCardResource 81 01 01 (one ISD-P) and 82 = total NVM minus the profile size' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    await c.setup('fresh card with one profile', async () => {
      await cleanCard(rt);
      await installProfiles(rt, [{}]);
    });
    await withBridge(c, rt, async (es10) => {
      await c.step(1, async () => {
        const info = await es10.getEuiccInfo2();
        const [p] = rt.euicc!.state.profiles();
        const expectedFree = rt.euicc!.options.totalNvm - p!.size;
        expect(rt.euicc!.state.memory().free).toBe(expectedFree);
        expect(toHex(info.extCardResource).slice(0, 6)).toBe('810101');
        expect(toHex(info.extCardResource)).toContain(`8204${expectedFree.toString(16).padStart(8, '0')}`);
      });
    });
  },
);

tc(
  {
    id: 'TC_eUICC_ES10b.GetRAT_Values',
    title: 'GetRAT returns the Rules Authorisation Table of the eUICC',
    group,
    iut: 'self',
    purpose: 'The LPA decides on PPR consent from the RAT: it must arrive as the eUICC holds it.',
    requirement: 'SGP.22 5.7.22 GetRAT, 2.9.2.2 RAT',
    initialConditions: ['an ES10 session through the bridge'],
    steps: [{ action: 'send GetRAT (BF43)', expected: "BF43 { A0 RAT }, SW 9000; on the emulated eUICC: PPR1+PPR2 allowed for any operator (mccMnc EEEEEE), no flags" }],
  },
  async (c) => {
    const rt = rig(c);
    await withBridge(c, rt, async (es10) => {
      await c.step(1, async () => {
        const r = await es10.getRat();
        expect(r.rat.length).toBeGreaterThan(0);
        if (!c.observe('cardState', "the card's Rules Authorisation Table")) return;
        const expected = euiccOf(rt).options.rat ?? DEFAULT_RAT;
        expect(r.rat.map((rule) => ({ ids: [...rule.pprIds].sort(), ops: rule.allowedOperators.map((o) => toUpperHex(o.mccMnc)), flags: [...rule.pprFlags] }))).toEqual(
          expected.map((rule) => ({ ids: [...rule.pprIds].sort(), ops: rule.allowedOperators.map((o) => toUpperHex(o.mccMnc)), flags: [...rule.pprFlags] })),
        );
      });
    });
  },
);

// ---------------------------------------------------------------------------
// AuthenticateServer (5.7.13)

tc(
  {
    id: 'TC_eUICC_ES10b.AuthenticateServer_Success',
    title: 'AuthenticateServer succeeds and euiccSigned1 verifies against the eUICC certificate',
    group,
    iut: 'self',
    purpose: 'The largest ES10b response (about 1.2 KB, chained with 61xx) reaches the LPA intact: an SM-DP+ accepts it.',
    requirement: 'SGP.22 5.7.13 AuthenticateServer, 3.1.2 common mutual authentication; 5.6.3 checks of the SM-DP+',
    requires: ['sgp26Trust'],
    initialConditions: ['an ES10 session through the bridge', 'a test SM-DP+ with the SGP.26 CERT.DPauth.ECDSA (NIST)'],
    steps: [
      { action: 'GetEUICCChallenge, then AuthenticateServer with serverSigned1 signed by DPauth', expected: 'BF38 { A0 AuthenticateResponseOk }, SW 9000' },
      {
        action: 'verify the response as an SM-DP+',
        expected: 'eUICC and EUM certificates chain to the SGP.26 CI; euiccSignature1 verifies over euiccSigned1; transactionId, serverAddress, serverChallenge and ctxParams1 echoed byte for byte',
      },
      { action: 'GetEID', expected: 'the EID of the eUICC certificate' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const smdp = new TestSmdp();
    await withBridge(c, rt, async (es10) => {
      const { request, responseDer } = await c.step(1, async () => {
        const challenge = await es10.getEuiccChallenge();
        const req = smdp.authenticateServerRequest(challenge);
        const der = await es10.storeData(req.der, 'ES10b.AuthenticateServer');
        expect(toUpperHex(der.subarray(0, 2))).toBe('BF38');
        expect(authError(der)).toBeUndefined();
        return { request: req, responseDer: der };
      });
      const auth = await c.step(2, () => smdp.verifyAuthenticateResponse(request, responseDer));
      await c.step(3, async () => {
        expect(await es10.getEid()).toBe(auth.eid);
        if (c.observe('cardState', "the card's EID and eUICC certificate")) {
          expect(auth.eid).toBe(euiccOf(rt).eid);
          expect(toHex(auth.euiccCertificate)).toBe(toHex(euiccOf(rt).identities.find((i) => i.curve === 'P-256')!.certificate));
        }
      });
    });
  },
);

tc(
  {
    id: 'TC_eUICC_ES10b.AuthenticateServer_InvalidCertificate',
    title: 'AuthenticateServer with a CERT.DPauth whose signature is broken: invalidCertificate (1)',
    group,
    iut: 'self',
    purpose: 'The error code of a refused server certificate reaches the LPA unchanged.',
    requirement: 'SGP.22 5.7.13 (invalidCertificate 1); SGP.26 invalid certificate variant badSignature',
    requires: ['sgp26Trust'],
    initialConditions: ['an ES10 session through the bridge', 'a CERT.DPauth signed by the SGP.26 CI with one signature bit flipped, and its key'],
    steps: [
      { action: 'GetEUICCChallenge, then AuthenticateServer signed with that certificate\'s key', expected: 'BF38 { A1 { 80 transactionId, 02 01 } }: invalidCertificate (1), the transactionId of the request' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const bad = await c.setup('invalid DPauth (badSignature)', () => issueInvalid('dpauth', 'badSignature'));
    const smdp = new TestSmdp({ dpauth: { certificate: bad.leaf.der, key: bad.leaf.key } });
    await withBridge(c, rt, async (es10) => {
      await c.step(1, async () => {
        const req = smdp.authenticateServerRequest(await es10.getEuiccChallenge());
        const der = await es10.storeData(req.der, 'ES10b.AuthenticateServer');
        expect(authError(der)).toBe(AuthenticateErrorCode.invalidCertificate);
        expect(toHex(authErrorTid(der))).toBe(toHex(req.transactionId));
      });
    });
  },
);

tc(
  {
    id: 'TC_eUICC_ES10b.AuthenticateServer_InvalidSignature',
    title: 'AuthenticateServer with a broken serverSignature1: invalidSignature (2)',
    group,
    iut: 'self',
    purpose: 'The signature error of the eUICC reaches the LPA unchanged.',
    requirement: 'SGP.22 5.7.13 (invalidSignature 2)',
    requires: ['sgp26Trust'],
    initialConditions: ['an ES10 session through the bridge', 'the SGP.26 CERT.DPauth.ECDSA (NIST)'],
    steps: [{ action: 'GetEUICCChallenge, then AuthenticateServer whose serverSignature1 has one bit flipped', expected: 'authenticateResponseError invalidSignature (2) with the request\'s transactionId' }],
  },
  async (c) => {
    const rt = rig(c);
    const smdp = new TestSmdp();
    await withBridge(c, rt, async (es10) => {
      await c.step(1, async () => {
        const req = smdp.authenticateServerRequest(await es10.getEuiccChallenge(), { corruptSignature: true });
        const der = await es10.storeData(req.der, 'ES10b.AuthenticateServer');
        expect(authError(der)).toBe(AuthenticateErrorCode.invalidSignature);
        expect(toHex(authErrorTid(der))).toBe(toHex(req.transactionId));
      });
    });
  },
);

tc(
  {
    id: 'TC_eUICC_ES10b.AuthenticateServer_NoSessionContext',
    title: 'AuthenticateServer without GetEUICCChallenge: noSessionContext (4)',
    group,
    iut: 'self',
    purpose: 'The eUICC refuses an authentication it did not challenge; the code reaches the LPA unchanged.',
    requirement: 'SGP.22 5.7.13 (noSessionContext 4)',
    requires: ['emulatedEuicc', 'sgp26Trust'],
    initialConditions: ['a fresh emulated card (no RSP session)', 'an ES10 session through the bridge'],
    steps: [{ action: 'AuthenticateServer correctly signed over a challenge the eUICC never issued, without GetEUICCChallenge', expected: 'authenticateResponseError noSessionContext (4)' }],
  },
  async (c) => {
    const rt = rig(c);
    const smdp = new TestSmdp();
    await c.setup('fresh card', () => cleanCard(rt));
    await withBridge(c, rt, async (es10) => {
      await c.step(1, async () => {
        const req = smdp.authenticateServerRequest(hexToBytes('00112233445566778899AABBCCDDEEFF'));
        expect(authError(await es10.storeData(req.der, 'ES10b.AuthenticateServer'))).toBe(AuthenticateErrorCode.noSessionContext);
      });
    });
  },
);

tc(
  {
    id: 'TC_eUICC_ES10b.AuthenticateServer_InvalidOid',
    title: 'AuthenticateServer with a CERT.DPauth without SM-DP+ OID: invalidOid (5)',
    group,
    iut: 'self',
    purpose: 'Where the eUICC reports invalidOid, the code reaches the LPA unchanged.',
    requirement: 'SGP.22 5.7.13 (invalidOid 5); SGP.26 invalid certificate variant missingSanOid',
    requires: ['sgp26Trust'],
    initialConditions: ['an ES10 session through the bridge', 'a CERT.DPauth without subjectAltName registeredID, signed by the SGP.26 CI'],
    steps: [
      { action: 'GetEUICCChallenge, then AuthenticateServer signed with that certificate\'s key', expected: 'BF38 { A1 authenticateResponseError }' },
      { action: 'read the error code', expected: 'invalidOid (5) (a card eUICC answering invalidCertificate (1) does not support invalidOid: N/A)' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const bad = await c.setup('DPauth without SM-DP+ OID', () => issueInvalid('dpauth', 'missingSanOid'));
    const smdp = new TestSmdp({ dpauth: { certificate: bad.leaf.der, key: bad.leaf.key } });
    await withBridge(c, rt, async (es10) => {
      const code = await c.step(1, async () => {
        const req = smdp.authenticateServerRequest(await es10.getEuiccChallenge());
        return authError(await es10.storeData(req.der, 'ES10b.AuthenticateServer'));
      });
      if (!rt.euicc && code === AuthenticateErrorCode.invalidCertificate) c.notApplicable('the card eUICC reports invalidCertificate (1) for a DPauth without OID: invalidOid not supported');
      await c.step(2, () => expect(code).toBe(AuthenticateErrorCode.invalidOid));
    });
  },
);

tc(
  {
    id: 'TC_eUICC_ES10b.AuthenticateServer_ChallengeMismatch',
    title: 'AuthenticateServer over another euiccChallenge: euiccChallengeMismatch (6)',
    group,
    iut: 'self',
    purpose: 'A replayed or foreign serverSigned1 is refused; the code reaches the LPA unchanged.',
    requirement: 'SGP.22 5.7.13 (euiccChallengeMismatch 6)',
    requires: ['sgp26Trust'],
    initialConditions: ['an ES10 session through the bridge'],
    steps: [{ action: 'GetEUICCChallenge, then AuthenticateServer correctly signed over a different challenge', expected: 'authenticateResponseError euiccChallengeMismatch (6)' }],
  },
  async (c) => {
    const rt = rig(c);
    const smdp = new TestSmdp();
    await withBridge(c, rt, async (es10) => {
      await c.step(1, async () => {
        const challenge = await es10.getEuiccChallenge();
        const other = challenge.map((b) => b ^ 0xff);
        const req = smdp.authenticateServerRequest(challenge, { euiccChallenge: other });
        expect(authError(await es10.storeData(req.der, 'ES10b.AuthenticateServer'))).toBe(AuthenticateErrorCode.euiccChallengeMismatch);
      });
    });
  },
);

tc(
  {
    id: 'TC_eUICC_ES10b.AuthenticateServer_CiPKUnknown',
    title: 'AuthenticateServer naming an unknown CI key id: ciPKUnknown (7)',
    group,
    iut: 'self',
    purpose: 'The eUICC refuses a CI it does not know; the code reaches the LPA unchanged.',
    requirement: 'SGP.22 5.7.13 (ciPKUnknown 7)',
    requires: ['sgp26Trust'],
    initialConditions: ['an ES10 session through the bridge'],
    steps: [{ action: 'GetEUICCChallenge, then AuthenticateServer with euiccCiPKIdToBeUsed = 20 bytes no eUICC CI has', expected: 'authenticateResponseError ciPKUnknown (7)' }],
  },
  async (c) => {
    const rt = rig(c);
    const smdp = new TestSmdp();
    await withBridge(c, rt, async (es10) => {
      await c.step(1, async () => {
        const unknown = sha256(new TextEncoder().encode('no such CI')).slice(0, 20);
        const req = smdp.authenticateServerRequest(await es10.getEuiccChallenge(), { ciPkId: unknown });
        expect(authError(await es10.storeData(req.der, 'ES10b.AuthenticateServer'))).toBe(AuthenticateErrorCode.ciPKUnknown);
      });
    });
  },
);

// ---------------------------------------------------------------------------
// PrepareDownload (5.7.5)

tc(
  {
    id: 'TC_eUICC_ES10b.PrepareDownload_Success',
    title: 'PrepareDownload succeeds and euiccSignature2 verifies',
    group,
    iut: 'self',
    purpose: 'The eUICC one-time key and its signature reach the SM-DP+ intact through the bridge.',
    requirement: 'SGP.22 5.7.5 PrepareDownload; 5.6.2 checks of the SM-DP+',
    requires: ['sgp26Trust'],
    initialConditions: ['an ES10 session through the bridge', 'AuthenticateServer done with the SGP.26 DPauth'],
    steps: [
      { action: 'PrepareDownload signed with the SGP.26 CERT.DPpb', expected: 'BF21 { A0 { 30 euiccSigned2, 5F37 euiccSignature2 } }' },
      { action: 'verify as an SM-DP+', expected: 'euiccSigned2.transactionId = the session\'s; euiccOtpk an uncompressed P-256 point (65 bytes, 04...); euiccSignature2 verifies over euiccSigned2 || smdpSignature2 with the eUICC key' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const smdp = new TestSmdp();
    await withBridge(c, rt, async (es10) => {
      const a = await c.setup('AuthenticateServer done', () => authenticate(es10, smdp));
      const { request, response } = await c.step(1, async () => {
        const request = smdp.prepareDownloadRequest(a.auth);
        const response = await es10.storeData(request, 'ES10b.PrepareDownload');
        expect(toUpperHex(response.subarray(0, 2))).toBe('BF21');
        expect(downloadError(response)).toBeUndefined();
        return { request, response };
      });
      await c.step(2, () => {
        const p = smdp.verifyPrepareDownloadResponse(a.auth, request, response);
        expect(toHex(p.transactionId)).toBe(toHex(a.auth.transactionId));
        expect(p.euiccOtpk.length).toBe(65);
        expect(p.euiccOtpk[0]).toBe(0x04);
      });
    });
  },
);

tc(
  {
    id: 'TC_eUICC_ES10b.PrepareDownload_HashCc',
    title: 'PrepareDownload with a confirmation code: hashCc comes back in euiccSigned2',
    group,
    iut: 'self',
    purpose: 'The optional hashCc survives the bridge in both directions.',
    requirement: 'SGP.22 5.7.5 (hashCc), 2.6.5 confirmation code',
    requires: ['sgp26Trust'],
    initialConditions: ['an ES10 session through the bridge', 'AuthenticateServer done'],
    steps: [{ action: 'PrepareDownload with ccRequiredFlag true and hashCc = SHA256(SHA256("1234") || transactionId)', expected: 'downloadResponseOk whose euiccSigned2.hashCc equals the hashCc sent, euiccSignature2 valid' }],
  },
  async (c) => {
    const rt = rig(c);
    const smdp = new TestSmdp();
    await withBridge(c, rt, async (es10) => {
      const a = await c.setup('AuthenticateServer done', () => authenticate(es10, smdp));
      await c.step(1, async () => {
        const inner = sha256(new TextEncoder().encode('1234'));
        const hashCc = sha256(new Uint8Array([...inner, ...a.auth.transactionId]));
        const request = smdp.prepareDownloadRequest(a.auth, { ccRequired: true, hashCc });
        const p = smdp.verifyPrepareDownloadResponse(a.auth, request, await es10.storeData(request, 'ES10b.PrepareDownload'));
        expect(toHex(p.hashCc ?? new Uint8Array(0))).toBe(toHex(hashCc));
      });
    });
  },
);

tc(
  {
    id: 'TC_eUICC_ES10b.PrepareDownload_InvalidCertificate',
    title: 'PrepareDownload with a CERT.DPpb whose signature is broken: invalidCertificate (1)',
    group,
    iut: 'self',
    purpose: 'The eUICC refusal of the DPpb certificate reaches the LPA unchanged.',
    requirement: 'SGP.22 5.7.5 (invalidCertificate 1); SGP.26 invalid variant badSignature',
    requires: ['sgp26Trust'],
    initialConditions: ['an ES10 session through the bridge', 'AuthenticateServer done with the SGP.26 DPauth', 'a CERT.DPpb with one signature bit flipped, and its key'],
    steps: [{ action: 'PrepareDownload signed with that certificate\'s key', expected: 'BF21 { A1 { 80 transactionId, 02 01 } }: invalidCertificate (1)' }],
  },
  async (c) => {
    const rt = rig(c);
    const bad = await c.setup('invalid DPpb (badSignature)', () => issueInvalid('dppb', 'badSignature'));
    const smdp = new TestSmdp();
    const badPb = new TestSmdp({ dppb: { certificate: bad.leaf.der, key: bad.leaf.key } });
    await withBridge(c, rt, async (es10) => {
      const a = await c.setup('AuthenticateServer done', () => authenticate(es10, smdp));
      await c.step(1, async () => {
        const r = downloadError(await es10.storeData(badPb.prepareDownloadRequest(a.auth), 'ES10b.PrepareDownload'));
        expect(r?.code).toBe(DownloadErrorCode.invalidCertificate);
        expect(toHex(r!.transactionId)).toBe(toHex(a.auth.transactionId));
      });
    });
  },
);

tc(
  {
    id: 'TC_eUICC_ES10b.PrepareDownload_InvalidSignature',
    title: 'PrepareDownload with a broken smdpSignature2: invalidSignature (2)',
    group,
    iut: 'self',
    purpose: 'The eUICC signature error reaches the LPA unchanged.',
    requirement: 'SGP.22 5.7.5 (invalidSignature 2)',
    requires: ['sgp26Trust'],
    initialConditions: ['an ES10 session through the bridge', 'AuthenticateServer done'],
    steps: [{ action: 'PrepareDownload whose smdpSignature2 has one bit flipped', expected: 'downloadResponseError invalidSignature (2)' }],
  },
  async (c) => {
    const rt = rig(c);
    const smdp = new TestSmdp();
    await withBridge(c, rt, async (es10) => {
      const a = await c.setup('AuthenticateServer done', () => authenticate(es10, smdp));
      await c.step(1, async () => {
        const r = downloadError(await es10.storeData(smdp.prepareDownloadRequest(a.auth, { corruptSignature: true }), 'ES10b.PrepareDownload'));
        expect(r?.code).toBe(DownloadErrorCode.invalidSignature);
      });
    });
  },
);

tc(
  {
    id: 'TC_eUICC_ES10b.PrepareDownload_NoSessionContext',
    title: 'PrepareDownload after the session was replaced by a new challenge: noSessionContext (4)',
    group,
    iut: 'self',
    purpose: 'A PrepareDownload outside an authenticated session is refused; the code reaches the LPA unchanged.',
    requirement: 'SGP.22 5.7.5 (noSessionContext 4), 5.7.7 (a new challenge starts a new session)',
    requires: ['sgp26Trust'],
    initialConditions: ['an ES10 session through the bridge', 'AuthenticateServer done'],
    steps: [
      { action: 'GetEUICCChallenge (starts a new, unauthenticated session)', expected: '16-byte challenge' },
      { action: 'PrepareDownload correctly signed for the previous session', expected: 'downloadResponseError noSessionContext (4)' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const smdp = new TestSmdp();
    await withBridge(c, rt, async (es10) => {
      const a = await c.setup('AuthenticateServer done', () => authenticate(es10, smdp));
      await c.step(1, async () => expect((await es10.getEuiccChallenge()).length).toBe(16));
      await c.step(2, async () => {
        const r = downloadError(await es10.storeData(smdp.prepareDownloadRequest(a.auth), 'ES10b.PrepareDownload'));
        expect(r?.code).toBe(DownloadErrorCode.noSessionContext);
      });
    });
  },
);

tc(
  {
    id: 'TC_eUICC_ES10b.PrepareDownload_InvalidTransactionId',
    title: 'PrepareDownload for another transactionId: invalidTransactionId (5)',
    group,
    iut: 'self',
    purpose: 'The eUICC binds PrepareDownload to the authenticated transaction; the code reaches the LPA unchanged.',
    requirement: 'SGP.22 5.7.5 (invalidTransactionId 5)',
    requires: ['sgp26Trust'],
    initialConditions: ['an ES10 session through the bridge', 'AuthenticateServer done'],
    steps: [{ action: 'PrepareDownload correctly signed whose smdpSigned2.transactionId differs from the session\'s', expected: 'downloadResponseError invalidTransactionId (5) carrying the transactionId sent' }],
  },
  async (c) => {
    const rt = rig(c);
    const smdp = new TestSmdp();
    await withBridge(c, rt, async (es10) => {
      const a = await c.setup('AuthenticateServer done', () => authenticate(es10, smdp));
      await c.step(1, async () => {
        const other = a.auth.transactionId.map((b) => b ^ 0x5a);
        const r = downloadError(await es10.storeData(smdp.prepareDownloadRequest(a.auth, { transactionId: other }), 'ES10b.PrepareDownload'));
        expect(r?.code).toBe(DownloadErrorCode.invalidTransactionId);
        expect(toHex(r!.transactionId)).toBe(toHex(other));
      });
    });
  },
);

// ---------------------------------------------------------------------------
// CancelSession (5.7.14)

tc(
  {
    id: 'TC_eUICC_ES10b.CancelSession_Success',
    title: 'CancelSession of the authenticated session: signed euiccCancelSessionSigned',
    group,
    iut: 'self',
    purpose: 'The signed cancellation the SM-DP+ needs reaches the LPA intact, and the session ends.',
    requirement: 'SGP.22 5.7.14 CancelSession; 5.6.5 ES9+.CancelSession',
    requires: ['sgp26Trust'],
    initialConditions: ['an ES10 session through the bridge', 'AuthenticateServer done'],
    steps: [
      { action: 'CancelSession(transactionId, reason endUserRejection 0)', expected: 'BF41 { A0 { 30 { 80 transactionId, 81 smdpOid 2.999.10, 82 00 }, 5F37 signature } }' },
      { action: 'verify euiccCancelSessionSignature with the eUICC certificate', expected: 'valid over the DER of euiccCancelSessionSigned' },
      { action: 'PrepareDownload for the cancelled session', expected: 'downloadResponseError noSessionContext (4)' },
    ],
  },
  async (c) => {
    const rt = rig(c);
    const smdp = new TestSmdp();
    await withBridge(c, rt, async (es10) => {
      const a = await c.setup('AuthenticateServer done', () => authenticate(es10, smdp));
      const ok = await c.step(1, async () => {
        const r = decode(CancelSessionResponse, await es10.storeData(CancelSessionRequestDer(a.auth.transactionId, CancelSessionReason.endUserRejection), 'ES10b.CancelSession'));
        if (!('cancelSessionResponseOk' in r)) throw new Error(`cancelSessionResponseError ${r.cancelSessionResponseError}`);
        const s = r.cancelSessionResponseOk.euiccCancelSessionSigned;
        expect(toHex(s.transactionId)).toBe(toHex(a.auth.transactionId));
        expect(s.smdpOid).toBe(parseCert(loadCert('DPauth_NIST').der).sanRegisteredIds[0]);
        expect(s.reason).toBe(CancelSessionReason.endUserRejection);
        return r.cancelSessionResponseOk;
      });
      await c.step(2, () => {
        const cert = parseCert(a.auth.euiccCertificate);
        expect(ecdsaVerify(cert.curve, cert.publicKey, derOf(EuiccCancelSessionSigned, ok.euiccCancelSessionSigned), ok.euiccCancelSessionSignature)).toBe(true);
      });
      await c.step(3, async () => {
        const r = downloadError(await es10.storeData(smdp.prepareDownloadRequest(a.auth), 'ES10b.PrepareDownload'));
        expect(r?.code).toBe(DownloadErrorCode.noSessionContext);
      });
    });
  },
);

function CancelSessionRequestDer(transactionId: Uint8Array, reason: number): Uint8Array {
  const tid = [0x80, transactionId.length, ...transactionId];
  const body = [...tid, 0x81, 0x01, reason];
  return Uint8Array.from([0xbf, 0x41, body.length, ...body]);
}

tc(
  {
    id: 'TC_eUICC_ES10b.CancelSession_Reasons',
    title: 'CancelSession echoes every reason code in the signed response',
    group,
    iut: 'self',
    purpose: 'Each CancelSessionReason value crosses the bridge and comes back signed as sent.',
    requirement: 'SGP.22 5.7.14; CancelSessionReason 0-5, 127 (RSPDefinitions v2.5)',
    requires: ['sgp26Trust'],
    initialConditions: ['an ES10 session through the bridge'],
    steps: [{ action: 'for each reason 0, 1, 2, 3, 4, 5, 127: AuthenticateServer then CancelSession(transactionId, reason)', expected: 'cancelSessionResponseOk whose euiccCancelSessionSigned.reason is that reason' }],
  },
  async (c) => {
    const rt = rig(c);
    const smdp = new TestSmdp();
    await withBridge(c, rt, async (es10) => {
      await c.step(1, async () => {
        for (const [, reason] of CancelSessionReason.entries) {
          const a = await authenticate(es10, smdp);
          const r = await es10.cancelSession(a.auth.transactionId, reason);
          if (!('cancelSessionResponseOk' in r)) throw new Error(`reason ${reason}: cancelSessionResponseError ${r.cancelSessionResponseError}`);
          expect(r.cancelSessionResponseOk.euiccCancelSessionSigned.reason).toBe(reason);
        }
      });
    });
  },
);

tc(
  {
    id: 'TC_eUICC_ES10b.CancelSession_InvalidTransactionId',
    title: 'CancelSession with a transactionId that is not the session\'s: invalidTransactionId (5)',
    group,
    iut: 'self',
    purpose: 'The error of CancelSession reaches the LPA unchanged.',
    requirement: 'SGP.22 5.7.14 (cancelSessionResponseError invalidTransactionId 5)',
    requires: ['sgp26Trust'],
    initialConditions: ['an ES10 session through the bridge', 'AuthenticateServer done'],
    steps: [{ action: 'CancelSession with the session transactionId altered, reason postponed (1)', expected: 'BF41 { 81 01 05 }: cancelSessionResponseError invalidTransactionId (5)' }],
  },
  async (c) => {
    const rt = rig(c);
    const smdp = new TestSmdp();
    await withBridge(c, rt, async (es10) => {
      const a = await c.setup('AuthenticateServer done', () => authenticate(es10, smdp));
      await c.step(1, async () => {
        const raw = await es10.storeData(CancelSessionRequestDer(a.auth.transactionId.map((b) => b ^ 0x01), CancelSessionReason.postponed), 'ES10b.CancelSession');
        expect(toUpperHex(raw)).toBe('BF4103810105');
        const r = decode(CancelSessionResponse, raw);
        expect('cancelSessionResponseError' in r && r.cancelSessionResponseError).toBe(CancelSessionResponseError.invalidTransactionId);
      });
    });
  },
);

