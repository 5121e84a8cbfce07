import { afterEach, describe, expect, it } from 'vitest';
import { decode, derOf } from '../rsp/der.ts';
import { EUICCInfo1, EUICCInfo2 } from '../rsp/common.ts';
import {
  AuthenticateServerResponse,
  CancelSessionResponse,
  EuiccCancelSessionSigned,
  GetEuiccChallengeResponse,
  GetRatResponse,
  ListNotificationResponse,
  LoadCRLResponse,
  NotificationSentResponse,
  PrepareDownloadResponse,
  RetrieveNotificationsListResponse,
} from '../rsp/es10b.ts';
import { hexToBytes, hexToBytesSpaced, toHex } from '../bytes.ts';
import { verify as ecdsaVerify } from '../crypto/ecdsa.ts';
import { parseCert } from '../../certs/cert.ts';
import { loadCert, loadKeyPair } from '../../certs/store.ts';
import { issueInvalid } from '../../certs/issue.ts';
import { checkNotification, install, NOTIFY_ADDRESS, rig, testIccid, type Rig } from './testing/fixtures.ts';
import { encodeRaw, TestSmdp, type AuthenticatedEuicc } from './testing/smdp-binder.ts';
import { hashConfirmationCode } from '../crypto/confirmation.ts';

const hx = hexToBytesSpaced;
const NIST_CI = 'f54172bdf98a95d65cbeb88a38a1c11d800a85c3';
const BRP_CI = 'c0bc70ba36929d43b467ff57570530e57ab8fcd8';

let r: Rig;
afterEach(async () => {
  await r?.euicc.close();
});

function authCode(der: Uint8Array): number | 'ok' {
  const resp = decode(AuthenticateServerResponse, der);
  return 'authenticateResponseOk' in resp ? 'ok' : resp.authenticateResponseError.authenticateErrorCode;
}

function downloadCode(der: Uint8Array): number | 'ok' {
  const resp = decode(PrepareDownloadResponse, der);
  return 'downloadResponseOk' in resp ? 'ok' : resp.downloadResponseError.downloadErrorCode;
}

describe('GetEUICCInfo1 / GetEUICCInfo2 (5.7.8)', () => {
  it('EUICCInfo1: SVN 2.2.2 and both SGP.26 CI key ids, exact bytes', async () => {
    r = await rig();
    const info1 = await r.lpa.es10(hx('BF2000'));
    expect(toHex(info1)).toBe(`bf20618203020202a92c0414${NIST_CI}0414${BRP_CI}aa2c0414${NIST_CI}0414${BRP_CI}`);
    const d = decode(EUICCInfo1, info1);
    expect(toHex(d.svn)).toBe('020202');
  });

  it.each(['2.2.2', '2.3.0', '2.5.0'] as const)('SVN %s is announced in EUICCInfo1, EUICCInfo2 and the ISD-R FCI', async (svn) => {
    r = await rig({ svn });
    const v = svn.split('.').map((n) => Number(n).toString(16).padStart(2, '0')).join('');
    expect(toHex(decode(EUICCInfo1, await r.lpa.es10(hx('BF2000'))).svn)).toBe(v);
    const info2 = decode(EUICCInfo2, await r.lpa.es10(hx('BF2200')));
    expect(toHex(info2.svn)).toBe(v);
    const fci = await new (await import('./testing/test-lpa.ts')).TestLpa(r.euicc).open();
    expect(toHex(fci).endsWith(`e0058203${v}`)).toBe(true);
    expect(info2.treProperties === undefined).toBe(svn === '2.2.2');
    expect(info2.uiccCapability.includes('suciCalculatorApi')).toBe(svn === '2.5.0');
  });

  it('EUICCInfo2 fields, and extCardResource reflecting free NVM', async () => {
    r = await rig({ totalNvm: 200_000, profileOverhead: 1000 });
    const info2 = decode(EUICCInfo2, await r.lpa.es10(hx('BF2200')));
    expect(toHex(info2.profileVersion)).toBe('020300');
    expect(toHex(info2.euiccFirmwareVer)).toBe('010000');
    expect(toHex(info2.ts102241Version!)).toBe('090200');
    expect(toHex(info2.globalplatformVersion!)).toBe('020300');
    expect(info2.rspCapability).toEqual(['additionalProfile', 'testProfileSupport', 'deviceInfoExtensibilitySupport', 'serviceSpecificDataSupport']);
    expect(info2.euiccCiPKIdListForVerification.map(toHex)).toEqual([NIST_CI, BRP_CI]);
    expect(info2.euiccCiPKIdListForSigning.map(toHex)).toEqual([NIST_CI, BRP_CI]);
    expect(info2.euiccCategory).toBe(2);
    expect(toHex(info2.ppVersion)).toBe('000100');
    expect(info2.sasAcreditationNumber).toBe('BRIDGELAB-SIM-0001');
    expect(info2.uiccCapability).toContain('usimSupport');
    // 81 installed applications, 82 free NVM, 83 free volatile (ETSI TS 102 226)
    expect(toHex(info2.extCardResource)).toBe('810100820400030d40830240' + '00');
    await install(r, testIccid(1));
    const after = decode(EUICCInfo2, await r.lpa.es10(hx('BF2200')));
    const used = r.euicc.state.memory().used;
    expect(used).toBe(r.euicc.state.profiles()[0]!.size);
    expect(toHex(after.extCardResource)).toBe('810101' + '8204' + (200_000 - used).toString(16).padStart(8, '0') + '8302' + '4000');
  });

  it('no testProfileSupport, no additionalProfile when memory is short, forbidden PPRs from the RAT', async () => {
    r = await rig({ testProfileSupport: false, totalNvm: 10_000, rat: [] });
    const info2 = decode(EUICCInfo2, await r.lpa.es10(hx('BF2200')));
    expect(info2.rspCapability).toEqual(['deviceInfoExtensibilitySupport', 'serviceSpecificDataSupport']);
    expect(info2.forbiddenProfilePolicyRules).toEqual(['ppr1', 'ppr2']);
  });

  it('a single NIST identity lists only the NIST CI', async () => {
    r = await rig({ identity: 'nist' });
    const d = decode(EUICCInfo1, await r.lpa.es10(hx('BF2000')));
    expect(d.euiccCiPKIdListForVerification.map(toHex)).toEqual([NIST_CI]);
    expect(d.euiccCiPKIdListForSigning.map(toHex)).toEqual([NIST_CI]);
  });
});

describe('GetEUICCChallenge (5.7.7)', () => {
  it('returns a new 16-byte challenge each time', async () => {
    r = await rig();
    const a = decode(GetEuiccChallengeResponse, await r.lpa.es10(hx('BF2E00'))).euiccChallenge;
    const b = decode(GetEuiccChallengeResponse, await r.lpa.es10(hx('BF2E00'))).euiccChallenge;
    expect(a.length).toBe(16);
    expect(toHex(a)).not.toBe(toHex(b));
  });

  it('a new challenge drops the old session: the old challenge no longer matches (6)', async () => {
    r = await rig();
    const old = await r.lpa.challenge();
    await r.lpa.challenge();
    const req = r.smdp.authenticateServerRequest(old);
    expect(authCode(await r.lpa.es10(req.der))).toBe(6);
  });
});

describe('AuthenticateServer (5.7.13)', () => {
  it.each(['P-256', 'brainpoolP256r1'] as const)('%s: euiccSigned1 echoes the request and is signed by the eUICC identity of that CI', async (curve) => {
    r = await rig();
    const smdp = new TestSmdp({ curve });
    const challenge = await r.lpa.challenge();
    const req = smdp.authenticateServerRequest(challenge, { matchingId: 'ABC-123' });
    const der = await r.lpa.es10(req.der);
    const auth = smdp.verifyAuthenticateResponse(req, der); // chain, signature, echoed fields
    expect(auth.eid).toBe('89049032123451234512345678901235');
    expect(auth.euiccCurve).toBe(curve);
    const ok = decode(AuthenticateServerResponse, der);
    if (!('authenticateResponseOk' in ok)) throw new Error('not ok');
    const expectedCert = loadCert(curve === 'P-256' ? 'EUICC_NIST' : 'EUICC_BRP').der;
    expect(toHex(ok.authenticateResponseOk.euiccCertificate)).toBe(toHex(expectedCert));
    expect(toHex(ok.authenticateResponseOk.eumCertificate)).toBe(toHex(loadCert(curve === 'P-256' ? 'EUM_NIST' : 'EUM_BRP').der));
    expect(toHex(derOf(EUICCInfo2, ok.authenticateResponseOk.euiccSigned1.euiccInfo2))).toBe(toHex(await r.lpa.es10(hx('BF2200'))));
  });

  it('noSessionContext (4) without a challenge, and when the challenge was already used', async () => {
    r = await rig();
    const req = r.smdp.authenticateServerRequest(new Uint8Array(16));
    const resp = decode(AuthenticateServerResponse, await r.lpa.es10(req.der));
    expect(resp).toEqual({ authenticateResponseError: { transactionId: req.transactionId, authenticateErrorCode: 4 } });
    const c = await r.lpa.challenge();
    const ok = r.smdp.authenticateServerRequest(c);
    expect(authCode(await r.lpa.es10(ok.der))).toBe('ok');
    expect(authCode(await r.lpa.es10(r.smdp.authenticateServerRequest(c).der))).toBe(4);
  });

  it('ciPKUnknown (7): a CI key id the eUICC does not have', async () => {
    r = await rig();
    const c = await r.lpa.challenge();
    expect(authCode(await r.lpa.es10(r.smdp.authenticateServerRequest(c, { ciPkId: hx('0102030405060708090a0b0c0d0e0f1011121314') }).der))).toBe(7);
    // brainpool CI on a NIST-only eUICC
    await r.euicc.close();
    r = await rig({ identity: 'nist' });
    const brp = new TestSmdp({ curve: 'brainpoolP256r1' });
    expect(authCode(await r.lpa.es10(brp.authenticateServerRequest(await r.lpa.challenge()).der))).toBe(7);
  });

  it('unsupportedCurve (3): a brainpool CERT.DPauth on a NIST-only eUICC', async () => {
    r = await rig({ identity: 'nist' });
    const brp = new TestSmdp({ curve: 'brainpoolP256r1' });
    const req = brp.authenticateServerRequest(await r.lpa.challenge(), { ciPkId: hx(NIST_CI) });
    expect(authCode(await r.lpa.es10(req.der))).toBe(3);
  });

  it('invalidCertificate (1): certificate of another CI, bad certificate signature, not a certificate', async () => {
    r = await rig();
    const brpCert = loadCert('DPauth_BRP').der;
    expect(authCode(await r.lpa.es10(r.smdp.authenticateServerRequest(await r.lpa.challenge(), { serverCertificate: brpCert }).der))).toBe(1);
    for (const variant of ['wrongCi', 'badSignature', 'wrongIssuer'] as const) {
      const inv = await issueInvalid('dpauth', variant);
      const smdp = new TestSmdp({ dpauth: { certificate: inv.leaf.der, key: inv.leaf.key }, curve: 'P-256' });
      const req = smdp.authenticateServerRequest(await r.lpa.challenge(), { ciPkId: hx(NIST_CI) });
      expect(authCode(await r.lpa.es10(req.der)), variant).toBe(1);
    }
  });

  it('corrupt certificates never break the card: garbage and bit flips give 1, 3 or 5', async () => {
    r = await rig();
    const good = loadCert('DPauth_NIST').der;
    const variants = [hx('3003020100'), hx('300100')];
    for (let pos = 0; pos < good.length; pos += 5) {
      const b = good.slice();
      b[pos]! ^= 1 << (pos % 8);
      variants.push(b);
    }
    for (const cert of variants) {
      const c = await r.lpa.challenge();
      const res = await r.lpa.es10Raw(r.smdp.authenticateServerRequest(c, { serverCertificate: cert }).der);
      if (res.sw === 0x6a80) continue; // the flip broke the request's own DER
      expect(res.sw).toBe(0x9000);
      expect([1, 3, 5]).toContain(authCode(res.data));
    }
    expect(r.euicc.card.internalErrors).toEqual([]);
  });

  it('validity is not checked (the eUICC has no clock): an expired CERT.DPauth is accepted', async () => {
    r = await rig();
    const inv = await issueInvalid('dpauth', 'expired');
    const smdp = new TestSmdp({ dpauth: { certificate: inv.leaf.der, key: inv.leaf.key } });
    expect(authCode(await r.lpa.es10(smdp.authenticateServerRequest(await r.lpa.challenge()).der))).toBe('ok');
  });

  it('invalidOid (5): DPpb policy instead of DPauth, or no SAN registeredID', async () => {
    r = await rig();
    const dppb = { certificate: loadCert('DPpb_NIST').der, key: loadKeyPair('DPpb_NIST') };
    expect(authCode(await r.lpa.es10(new TestSmdp({ dpauth: dppb }).authenticateServerRequest(await r.lpa.challenge()).der))).toBe(5);
    const inv = await issueInvalid('dpauth', 'missingSanOid');
    const smdp = new TestSmdp({ dpauth: { certificate: inv.leaf.der, key: inv.leaf.key } });
    expect(authCode(await r.lpa.es10(smdp.authenticateServerRequest(await r.lpa.challenge()).der))).toBe(5);
  });

  it('invalidSignature (2) and euiccChallengeMismatch (6); a failure keeps the challenge usable', async () => {
    r = await rig();
    const c = await r.lpa.challenge();
    expect(authCode(await r.lpa.es10(r.smdp.authenticateServerRequest(c, { corruptSignature: true }).der))).toBe(2);
    expect(authCode(await r.lpa.es10(r.smdp.authenticateServerRequest(c, { euiccChallenge: new Uint8Array(16).fill(7) }).der))).toBe(6);
    expect(authCode(await r.lpa.es10(r.smdp.authenticateServerRequest(c).der))).toBe('ok');
  });

  it('the serverAddress is not checked by the eUICC (the LPA compares it)', async () => {
    r = await rig();
    const req = r.smdp.authenticateServerRequest(await r.lpa.challenge(), { serverAddress: 'other.example.net' });
    const auth = r.smdp.verifyAuthenticateResponse(req, await r.lpa.es10(req.der));
    expect(auth.eid).toBe(r.euicc.eid);
  });

  it('malformed DER answers SW 6A80', async () => {
    r = await rig();
    await r.lpa.challenge();
    const req = r.smdp.authenticateServerRequest(new Uint8Array(16));
    const cut = req.der.slice(0, req.der.length - 5);
    expect((await r.lpa.es10Raw(cut)).sw).toBe(0x6a80);
  });
});

describe('PrepareDownload (5.7.5)', () => {
  async function authenticated(): Promise<AuthenticatedEuicc> {
    const c = await r.lpa.challenge();
    const req = r.smdp.authenticateServerRequest(c);
    return r.smdp.verifyAuthenticateResponse(req, await r.lpa.es10(req.der));
  }

  it('answers euiccSigned2 {transactionId, euiccOtpk, hashCc} signed over euiccSigned2 || smdpSignature2', async () => {
    r = await rig();
    const auth = await authenticated();
    const hashCc = hashConfirmationCode('1234', auth.transactionId);
    const pd = r.smdp.prepareDownloadRequest(auth, { ccRequired: true, hashCc });
    const prepared = r.smdp.verifyPrepareDownloadResponse(auth, pd, await r.lpa.es10(pd));
    expect(prepared.euiccOtpk.length).toBe(65);
    expect(toHex(prepared.hashCc!)).toBe(toHex(hashCc));
    expect(toHex(prepared.transactionId)).toBe(toHex(auth.transactionId));
  });

  it('noSessionContext (4): no AuthenticateServer in this session', async () => {
    r = await rig();
    const auth = await authenticated();
    await r.lpa.challenge();
    const resp = decode(PrepareDownloadResponse, await r.lpa.es10(r.smdp.prepareDownloadRequest(auth)));
    expect(resp).toEqual({ downloadResponseError: { transactionId: auth.transactionId, downloadErrorCode: 4 } });
  });

  it('invalidCertificate (1): DPauth given as DPpb, DPpb of another CI or SM-DP+ OID, forged', async () => {
    r = await rig();
    for (const cert of [loadCert('DPauth_NIST').der, loadCert('DPpb_BRP').der, loadCert('DP2pb_NIST').der, (await issueInvalid('dppb', 'badSignature')).leaf.der]) {
      const auth = await authenticated();
      expect(downloadCode(await r.lpa.es10(r.smdp.prepareDownloadRequest(auth, { smdpCertificate: cert })))).toBe(1);
    }
  });

  it('unsupportedCurve (3): brainpool CERT.DPpb on a NIST-only eUICC', async () => {
    r = await rig({ identity: 'nist' });
    const auth = await authenticated();
    expect(downloadCode(await r.lpa.es10(r.smdp.prepareDownloadRequest(auth, { smdpCertificate: loadCert('DPpb_BRP').der })))).toBe(3);
  });

  it('invalidTransactionId (5), invalidSignature (2), ccRequiredFlag without hashCc (127)', async () => {
    r = await rig();
    const auth = await authenticated();
    expect(downloadCode(await r.lpa.es10(r.smdp.prepareDownloadRequest(auth, { transactionId: hx('00112233') })))).toBe(5);
    expect(downloadCode(await r.lpa.es10(r.smdp.prepareDownloadRequest(auth, { corruptSignature: true })))).toBe(2);
    expect(downloadCode(await r.lpa.es10(r.smdp.prepareDownloadRequest(auth, { ccRequired: true })))).toBe(127);
    // the session survives the errors
    expect(downloadCode(await r.lpa.es10(r.smdp.prepareDownloadRequest(auth)))).toBe('ok');
  });

  it('bppEuiccOtpk naming the retained one-time key reuses it (retry); any other gets a new key', async () => {
    r = await rig();
    const a1 = await authenticated();
    const pd1 = r.smdp.prepareDownloadRequest(a1);
    const first = r.smdp.verifyPrepareDownloadResponse(a1, pd1, await r.lpa.es10(pd1));
    const a2 = await authenticated();
    const pd2 = r.smdp.prepareDownloadRequest(a2, { bppEuiccOtpk: first.euiccOtpk });
    const second = r.smdp.verifyPrepareDownloadResponse(a2, pd2, await r.lpa.es10(pd2));
    expect(toHex(second.euiccOtpk)).toBe(toHex(first.euiccOtpk));
    const a3 = await authenticated();
    const pd3 = r.smdp.prepareDownloadRequest(a3, { bppEuiccOtpk: loadKeyPair('DPpb_NIST').publicKey });
    const third = r.smdp.verifyPrepareDownloadResponse(a3, pd3, await r.lpa.es10(pd3));
    expect(toHex(third.euiccOtpk)).not.toBe(toHex(first.euiccOtpk));
    const a4 = await authenticated();
    const pd4 = r.smdp.prepareDownloadRequest(a4);
    expect(toHex(r.smdp.verifyPrepareDownloadResponse(a4, pd4, await r.lpa.es10(pd4)).euiccOtpk)).not.toBe(toHex(third.euiccOtpk));
  });
});

describe('CancelSession (5.7.14)', () => {
  it('ok: EuiccCancelSessionSigned {transactionId, smdpOid of CERT.DPauth, reason} signed; the session is dropped', async () => {
    r = await rig();
    const { auth } = await r.lpa.authenticate(r.smdp);
    const der = await r.lpa.es10(encodeRaw(0xbf41, new Uint8Array([...encodeRaw(0x80, auth.transactionId), ...encodeRaw(0x81, Uint8Array.of(1))])));
    const resp = decode(CancelSessionResponse, der);
    if (!('cancelSessionResponseOk' in resp)) throw new Error('not ok');
    const signed = resp.cancelSessionResponseOk.euiccCancelSessionSigned;
    expect(signed).toEqual({ transactionId: auth.transactionId, smdpOid: '2.999.10', reason: 1 });
    const cert = parseCert(auth.euiccCertificate);
    expect(ecdsaVerify(cert.curve, cert.publicKey, derOf(EuiccCancelSessionSigned, signed), resp.cancelSessionResponseOk.euiccCancelSessionSignature)).toBe(true);
    expect(downloadCode(await r.lpa.es10(r.smdp.prepareDownloadRequest(auth)))).toBe(4);
  });

  it('invalidTransactionId (5): another transactionId, or no session', async () => {
    r = await rig();
    const cancel = (tid: Uint8Array) => encodeRaw(0xbf41, new Uint8Array([...encodeRaw(0x80, tid), ...encodeRaw(0x81, Uint8Array.of(0))]));
    expect(decode(CancelSessionResponse, await r.lpa.es10(cancel(hx('0102'))))).toEqual({ cancelSessionResponseError: 5 });
    const { auth } = await r.lpa.authenticate(r.smdp);
    expect(decode(CancelSessionResponse, await r.lpa.es10(cancel(hx('0102'))))).toEqual({ cancelSessionResponseError: 5 });
    // a wrong transactionId outside a BPP keeps the session
    expect(decode(CancelSessionResponse, await r.lpa.es10(cancel(auth.transactionId)))).toHaveProperty('cancelSessionResponseOk');
  });
});

describe('Notifications (5.7.9-5.7.11)', () => {
  async function withNotifications(): Promise<void> {
    r = await rig();
    await install(r, testIccid(1));
    expect(await r.lpa.enable(testIccid(1))).toBe(0);
    expect(await r.lpa.disable(testIccid(1))).toBe(0);
  }

  it('ListNotification: all, or filtered by event', async () => {
    await withNotifications();
    const all = await r.lpa.listNotifications();
    expect(all.map((n) => [n.seqNumber, n.profileManagementOperation, n.notificationAddress])).toEqual([
      [1, ['notificationInstall'], r.smdp.address],
      [2, ['notificationEnable'], NOTIFY_ADDRESS],
      [3, ['notificationDisable'], NOTIFY_ADDRESS],
    ]);
    const onlyEnable = decode(ListNotificationResponse, await r.lpa.es10(hx('BF2804 8102 0640')));
    expect(onlyEnable).toEqual({ notificationMetadataList: [all[1]] });
    const installAndDisable = decode(ListNotificationResponse, await r.lpa.es10(hx('BF2804 8102 04A0')));
    expect('notificationMetadataList' in installAndDisable && installAndDisable.notificationMetadataList.map((n) => n.seqNumber)).toEqual([1, 3]);
  });

  it('RetrieveNotificationsList: all, by seqNumber, by event; signatures verify', async () => {
    await withNotifications();
    const all = decode(RetrieveNotificationsListResponse, await r.lpa.es10(hx('BF2B00')));
    if (!('notificationList' in all)) throw new Error('error');
    expect(all.notificationList.length).toBe(3);
    const cert = loadCert('EUICC_NIST').der;
    const ders = r.euicc.state.notifications().map((n) => n.der);
    expect(ders.map((d) => checkNotification(d, cert).signatureValid)).toEqual([true, true, true]);
    const bySeq = decode(RetrieveNotificationsListResponse, await r.lpa.es10(hx('BF2B05 A003 800102')));
    expect('notificationList' in bySeq && bySeq.notificationList.length).toBe(1);
    expect('notificationList' in bySeq && 'otherSignedNotification' in bySeq.notificationList[0]! && bySeq.notificationList[0].otherSignedNotification.tbsOtherNotification.seqNumber).toBe(2);
    const byEvent = await r.lpa.es10(hx('BF2B06 A004 81020780'));
    expect(toHex(byEvent)).toBe(toHex(new Uint8Array([...hx('BF2B'), ...lengthOf(ders[0]!.length + lengthOf(ders[0]!.length).length + 1), 0xa0, ...lengthOf(ders[0]!.length), ...ders[0]!])));
    const none = decode(RetrieveNotificationsListResponse, await r.lpa.es10(hx('BF2B05 A003 800163')));
    expect(none).toEqual({ notificationList: [] });
  });

  it('NotificationSent: ok (0), then nothingToDelete (1); sequence numbers are never reused', async () => {
    await withNotifications();
    expect(decode(NotificationSentResponse, await r.lpa.es10(hx('BF3003 800102')))).toEqual({ deleteNotificationStatus: 0 });
    expect(decode(NotificationSentResponse, await r.lpa.es10(hx('BF3003 800102')))).toEqual({ deleteNotificationStatus: 1 });
    expect((await r.lpa.listNotifications()).map((n) => n.seqNumber)).toEqual([1, 3]);
    expect(await r.lpa.enable(testIccid(1))).toBe(0);
    expect((await r.lpa.listNotifications()).map((n) => n.seqNumber)).toEqual([1, 3, 4]);
  });

  it('a profile without notification configuration produces only the PIR', async () => {
    r = await rig();
    await install(r, testIccid(2), { notificationConfigurationInfo: [] });
    expect(await r.lpa.enable(testIccid(2))).toBe(0);
    expect(r.euicc.state.notifications().map((n) => n.kind)).toEqual(['install']);
  });
});

describe('GetRAT (5.7.22) and LoadCRL (5.7.12)', () => {
  it('default RAT: PPR1 and PPR2 for any operator (EEEEEE), no consent', async () => {
    r = await rig();
    const der = await r.lpa.es10(hx('BF4300'));
    expect(toHex(der)).toBe('bf4314a012301080020560a10730058003eeeeee820100');
    expect(decode(GetRatResponse, der).rat).toEqual([{ pprIds: ['ppr1', 'ppr2'], allowedOperators: [{ mccMnc: hx('EEEEEE') }], pprFlags: [] }]);
  });

  it('a configured RAT is returned as given', async () => {
    const rat = [{ pprIds: ['ppr2' as const], allowedOperators: [{ mccMnc: hx('00F110'), gid1: hx('AB') }], pprFlags: ['consentRequired' as const] }];
    r = await rig({ rat });
    expect(decode(GetRatResponse, await r.lpa.es10(hx('BF4300'))).rat).toEqual(rat);
  });

  it('LoadCRL answers undefinedError (127): crlSupport is not announced', async () => {
    r = await rig();
    const crl = hx('A003 020100');
    expect(decode(LoadCRLResponse, await r.lpa.es10(encodeRaw(0xbf35, crl)))).toEqual({ loadCRLResponseError: 127 });
  });
});

function lengthOf(n: number): number[] {
  return n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
}
