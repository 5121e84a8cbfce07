import { describe, expect, it } from 'vitest';
import { toHex } from '../bytes.ts';
import { decode, derOf, encode } from './der.ts';
import { EuiccSigned1, EUICCInfo2, NotificationMetadata } from './common.ts';
import {
  AuthenticateServerRequest,
  AuthenticateServerResponse,
  CancelSessionRequest,
  CancelSessionResponse,
  GetEuiccChallengeResponse,
  ListNotificationRequest,
  ListNotificationResponse,
  LoadCRLRequest,
  LoadCRLResponse,
  PendingNotification,
  PrepareDownloadRequest,
  PrepareDownloadResponse,
  ProfileInstallationResult,
  RetrieveNotificationsListRequest,
  RetrieveNotificationsListResponse,
} from './es10b.ts';
import { BppCommandId, DownloadErrorCode, ErrorReason } from './results.ts';
import { derError, expectRoundTrip, h, sgp26Cert, SGP26_CI_SKI } from './testdata/helpers.ts';

const TX = '0123456789abcdef0123456789abcdef';
const ICCID1 = '98001032547698103214';
const SIG = '22'.repeat(64);
const OTPK = '04' + '11'.repeat(64);
const euiccCert = sgp26Cert('eUICC/CERT_EUICC_ECDSA_NIST.der');
const eumCert = sgp26Cert('EUM/CERT_EUM_ECDSA_NIST.der');
const dpAuthCert = sgp26Cert('DPauth/CERT_S_SM_DPauth_ECDSA_NIST.der');
const dpPbCert = sgp26Cert('DPpb/CERT_S_SM_DPpb_ECDSA_NIST.der');

const euiccInfo2 = decode(
  EUICCInfo2,
  h(
    'bf226c' + '8103020300' + '8203020200' + '8303040201' + '840d810100820400047c2883022210' + '8504067fb6c0' + '880204f0' +
      'a9160414' + SGP26_CI_SKI + 'aa160414' + SGP26_CI_SKI + '0403010000' + '0c0d' + '47492d42412d55502d30343139',
  ),
);

describe('ES10b.ListNotification (BF28)', () => {
  const n1 = 'bf2f2e' + '800101' + '81020780' + '0c19' + '74657374736d6470706c7573312e6578616d706c652e636f6d' + '5a0a' + ICCID1;
  const n2 = 'bf2f22' + '800102' + '81020410' + '0c19' + '74657374736d6470706c7573312e6578616d706c652e636f6d';
  it('decodes a list with an install and a delete notification', () => {
    expectRoundTrip(ListNotificationResponse, 'bf2858a056' + n1 + n2, {
      notificationMetadataList: [
        { seqNumber: 1, profileManagementOperation: ['notificationInstall'], notificationAddress: 'testsmdpplus1.example.com', iccid: h(ICCID1) },
        { seqNumber: 2, profileManagementOperation: ['notificationDelete'], notificationAddress: 'testsmdpplus1.example.com' },
      ],
    });
  });
  it('decodes the error alternative and both request forms', () => {
    expectRoundTrip(ListNotificationResponse, 'bf280381017f', { listNotificationsResultError: 127 });
    expectRoundTrip(ListNotificationRequest, 'bf2800', {});
    expectRoundTrip(ListNotificationRequest, 'bf280481020780', { profileManagementOperation: ['notificationInstall'] });
  });
});

describe('ES10b.PrepareDownload (BF21)', () => {
  it('decodes a PrepareDownloadResponse error (A1: 80 transactionId, 02 code)', () => {
    const v = expectRoundTrip(PrepareDownloadResponse, 'bf2117a115' + '8010' + TX + '020105', {
      downloadResponseError: { transactionId: h(TX), downloadErrorCode: DownloadErrorCode.invalidTransactionId },
    });
    expect('downloadResponseError' in v && DownloadErrorCode.nameOf(v.downloadResponseError.downloadErrorCode)).toBe('invalidTransactionId');
  });

  it('decodes an ok response and keeps the signed EUICCSigned2 bytes for verification', () => {
    const signed = '3056' + '8010' + TX + '5f4941' + OTPK;
    const hex = 'bf21819e' + 'a0819b' + signed + '5f3740' + SIG;
    const v = expectRoundTrip(PrepareDownloadResponse, hex, {
      downloadResponseOk: { euiccSigned2: { transactionId: h(TX), euiccOtpk: h(OTPK) }, euiccSignature2: h(SIG) },
    });
    if (!('downloadResponseOk' in v)) throw new Error('ok expected');
    expect(toHex(derOf(PrepareDownloadResponse, v))).toBe(hex);
  });

  it('request: two mandatory SEQUENCEs (smdpSigned2, smdpCertificate) share tag 30, hashCc (04) optional between them', () => {
    const value = { smdpSigned2: { transactionId: h(TX), ccRequiredFlag: true }, smdpSignature2: h(SIG), hashCc: h('33'.repeat(32)), smdpCertificate: dpPbCert };
    const der = encode(PrepareDownloadRequest, value);
    expect(toHex(der.subarray(0, 4))).toBe('bf218202');
    expect(decode(PrepareDownloadRequest, der)).toEqual(value);
    const noCc = { ...value, hashCc: undefined };
    delete noCc.hashCc;
    expect(decode(PrepareDownloadRequest, encode(PrepareDownloadRequest, noCc))).toEqual(noCc);
  });

  it('rejects a non-minimal length inside the signed EUICCSigned2 with its offset and tag', () => {
    // transactionId written as 80 81 10 ... (long form for 16)
    const bad = 'bf21819f' + 'a0819c' + '3057' + '808110' + TX + '5f4941' + OTPK + '5f3740' + SIG;
    const e = derError(() => decode(PrepareDownloadResponse, h(bad)));
    expect(e.kind).toBe('notDer');
    expect(e.tag).toBe(0x80);
    expect(e.offset).toBe(10);
    expect(e.describe()).toMatch(/non-minimal length encoding \(offset 10, tag 80\)/);
    // lenient mode (diagnostics) accepts it
    expect(decode(PrepareDownloadResponse, h(bad), { der: false })).toHaveProperty('downloadResponseOk.euiccSigned2.transactionId', h(TX));
  });
});

describe('ES10b.AuthenticateServer (BF38)', () => {
  const ctxParams1 = { ctxParamsForCommonAuthentication: { matchingId: 'ABC-1234', deviceInfo: { tac: h('35290611'), deviceCapabilities: { eutranEpcSupportedRelease: h('0f0000') } } } };
  const euiccSigned1 = { transactionId: h(TX), serverAddress: 'testsmdpplus1.example.com', serverChallenge: h('44'.repeat(16)), euiccInfo2, ctxParams1 };

  it('carries the SGP.26 eUICC and EUM certificates byte-exactly (rawTlv)', () => {
    const value = { authenticateResponseOk: { euiccSigned1, euiccSignature1: h(SIG), euiccCertificate: euiccCert, eumCertificate: eumCert } };
    const der = encode(AuthenticateServerResponse, value);
    expect(toHex(der.subarray(0, 2))).toBe('bf38');
    // the certificates appear verbatim in the message
    expect(toHex(der)).toContain(toHex(euiccCert));
    expect(toHex(der)).toContain(toHex(eumCert));
    const back = decode(AuthenticateServerResponse, der);
    if (!('authenticateResponseOk' in back)) throw new Error('ok expected');
    expect(back.authenticateResponseOk.euiccCertificate).toEqual(euiccCert);
    expect(back.authenticateResponseOk.eumCertificate).toEqual(eumCert);
    expect(toHex(encode(AuthenticateServerResponse, back))).toBe(toHex(der));
    // signature input: the received EuiccSigned1 bytes
    const signed = derOf(EuiccSigned1, back.authenticateResponseOk.euiccSigned1);
    expect(toHex(der)).toContain(toHex(signed));
    expect(toHex(signed.subarray(0, 1))).toBe('30');
  });

  it('error alternative: A1 { 80 transactionId, 02 code }', () => {
    expectRoundTrip(AuthenticateServerResponse, 'bf3817a115' + '8010' + TX + '020107', { authenticateResponseError: { transactionId: h(TX), authenticateErrorCode: 7 } });
  });

  it('request: 30 serverSigned1, 5F37, 04 CI key id, 30 DPauth certificate, A0 ctxParams1', () => {
    const value = {
      serverSigned1: { transactionId: h(TX), euiccChallenge: h('55'.repeat(16)), serverAddress: 'testsmdpplus1.example.com', serverChallenge: h('44'.repeat(16)) },
      serverSignature1: h(SIG),
      euiccCiPKIdToBeUsed: h(SGP26_CI_SKI),
      serverCertificate: dpAuthCert,
      ctxParams1,
    };
    const der = encode(AuthenticateServerRequest, value);
    const back = decode(AuthenticateServerRequest, der);
    expect(back).toEqual(value);
    expect(toHex(der)).toContain('0414' + SGP26_CI_SKI + toHex(dpAuthCert) + 'a0');
  });
});

describe('ES10b.LoadBoundProfilePackage result (BF37)', () => {
  const meta = { seqNumber: 5, profileManagementOperation: ['notificationInstall' as const], notificationAddress: 'testsmdpplus1.example.com', iccid: h(ICCID1) };
  it('error result: A2 { A1 { 80 bppCommandId, 81 errorReason } }', () => {
    const value = {
      profileInstallationResultData: {
        transactionId: h(TX),
        notificationMetadata: meta,
        smdpOid: '2.999.10',
        finalResult: { errorResult: { bppCommandId: BppCommandId.loadProfileElements, errorReason: ErrorReason.installFailedDueToIccidAlreadyExistsOnEuicc } },
      },
      euiccSignPIR: h(SIG),
    };
    const der = encode(ProfileInstallationResult, value);
    expect(toHex(der)).toContain('a208a106800105810109');
    expect(toHex(der.subarray(0, 2))).toBe('bf37');
    expect(decode(ProfileInstallationResult, der)).toEqual(value);
  });
  it('success result: A2 { A0 { 4F aid, 04 simaResponse } }', () => {
    const value = {
      profileInstallationResultData: {
        transactionId: h(TX),
        notificationMetadata: meta,
        smdpOid: '2.999.10',
        finalResult: { successResult: { aid: h('a0000005591010ffffffff8900001000'), simaResponse: h('3007a00580033001') } },
      },
      euiccSignPIR: h(SIG),
    };
    const der = encode(ProfileInstallationResult, value);
    expect(toHex(der)).toContain('a21ea01c' + '4f10a0000005591010ffffffff8900001000' + '0408' + '3007a00580033001');
    expect(decode(ProfileInstallationResult, der)).toEqual(value);
  });
});

describe('ES10b.RetrieveNotificationsList (BF2B)', () => {
  it('request: searchCriteria is an explicit A0 CHOICE', () => {
    expectRoundTrip(RetrieveNotificationsListRequest, 'bf2b05a003800107', { searchCriteria: { seqNumber: 7 } });
    expectRoundTrip(RetrieveNotificationsListRequest, 'bf2b00', {});
  });
  it('response holds PendingNotification alternatives BF37 and 30 (OtherSignedNotification)', () => {
    const meta = { seqNumber: 3, profileManagementOperation: ['notificationEnable' as const], notificationAddress: 'smdp.example.com', iccid: h(ICCID1) };
    const other = { otherSignedNotification: { tbsOtherNotification: meta, euiccNotificationSignature: h(SIG), euiccCertificate: euiccCert, eumCertificate: eumCert } };
    const der = encode(RetrieveNotificationsListResponse, { notificationList: [other] });
    const back = decode(RetrieveNotificationsListResponse, der);
    expect(back).toEqual({ notificationList: [other] });
    const pending = 'notificationList' in back ? back.notificationList[0]! : undefined;
    // the PendingNotification bytes an LPA forwards in ES9+ handleNotification
    expect(toHex(derOf(PendingNotification, pending!))).toBe(toHex(encode(PendingNotification, other)));
    expect(toHex(derOf(NotificationMetadata, meta))).toBe(toHex(encode(NotificationMetadata, meta)));
  });
});

describe('ES10b.CancelSession (BF41), GetEUICCChallenge (BF2E), LoadCRL (BF35)', () => {
  it('CancelSession request 80/81 and signed response', () => {
    expectRoundTrip(CancelSessionRequest, 'bf4115' + '8010' + TX + '810101', { transactionId: h(TX), reason: 1 });
    const value = { cancelSessionResponseOk: { euiccCancelSessionSigned: { transactionId: h(TX), smdpOid: '2.999.10', reason: 0 }, euiccCancelSessionSignature: h(SIG) } };
    const der = encode(CancelSessionResponse, value);
    expect(toHex(der)).toMatch(/^bf41[0-9a-f]{2}a0[0-9a-f]{2}30[0-9a-f]{2}8010/);
    expect(toHex(der)).toContain('810388370a' + '820100');
    expect(decode(CancelSessionResponse, der)).toEqual(value);
    expectRoundTrip(CancelSessionResponse, 'bf4103810105', { cancelSessionResponseError: 5 });
  });
  it('GetEUICCChallenge response: 80 challenge', () => {
    expectRoundTrip(GetEuiccChallengeResponse, 'bf2e128010' + '55'.repeat(16), { euiccChallenge: h('55'.repeat(16)) });
  });
  it('LoadCRL request carries the CRL as [0] IMPLICIT (A0 instead of 30)', () => {
    const crl = '300c' + '3003020101' + '3000' + '3000' + '030100';
    expectRoundTrip(LoadCRLRequest, 'bf350e' + 'a00c' + crl.slice(4), { crl: h(crl) });
    expectRoundTrip(LoadCRLResponse, 'bf3507a005a003020103', { loadCRLResponseOk: { missingParts: [3] } });
    expectRoundTrip(LoadCRLResponse, 'bf3503810105', { loadCRLResponseError: 5 });
  });
});

describe('negative cases', () => {
  const good = 'bf3e125a10' + '89049032123451234512345678901235';
  it('truncated input', () => {
    const e = derError(() => decode(PrepareDownloadResponse, h('bf2117a115' + '8010' + TX)));
    expect(e.kind).toBe('truncated');
    expect(e.offset).toBe(0);
    expect(e.tag).toBe(0xbf21);
  });
  it('wrong top-level tag', () => {
    const e = derError(() => decode(ListNotificationResponse, h(good)));
    expect(e.kind).toBe('unexpectedTag');
    expect(e.offset).toBe(0);
    expect(e.tag).toBe(0xbf3e);
  });
  it('trailing garbage', () => {
    const e = derError(() => decode(PrepareDownloadResponse, h('bf2117a115' + '8010' + TX + '020105' + '9000')));
    expect(e.kind).toBe('trailing');
    expect(e.offset).toBe(26);
  });
  it('wrong inner tag names the path', () => {
    const e = derError(() => decode(PrepareDownloadResponse, h('bf2117a115' + '8110' + TX + '020105')));
    expect(e.kind).toBe('missingField');
    expect(e.message).toMatch(/transactionId/);
  });
});
