import { describe, expect, it } from 'vitest';
import { toHex } from '../bytes.ts';
import { EUICCInfo1 } from './common.ts';
import {
  base64ToBytes,
  bytesToBase64,
  decodeField,
  encodeField,
  executedSuccess,
  failed,
  isOk,
  JsonFieldError,
  parseAuthenticateClientRequest,
  parseCancelOrderRequest,
  parseConfirmOrderRequest,
  parseEs11AuthenticateClientResponse,
  parseEs11InitiateAuthenticationRequest,
  parseGetBoundProfilePackageResponse,
  parseHandleDownloadProgressInfoRequest,
  parseHandleNotificationRequest,
  parseInitiateAuthenticationRequest,
  parseInitiateAuthenticationResponse,
  Status,
  statusNameOf,
  transactionIdFromHex,
  transactionIdToHex,
} from './json.ts';
import { h, SGP26_CI_SKI } from './testdata/helpers.ts';

function fieldError(fn: () => unknown): JsonFieldError {
  try {
    fn();
  } catch (e) {
    if (e instanceof JsonFieldError) return e;
    throw e;
  }
  throw new Error('expected a JsonFieldError');
}

const info1 = 'bf2035' + '820302' + '0200' + 'a9160414' + SGP26_CI_SKI + 'aa160414' + SGP26_CI_SKI;
const info1B64 = bytesToBase64(h(info1));

describe('base64 and transactionId', () => {
  it('round-trips bytes through strict base64', () => {
    expect(bytesToBase64(h('bf3e035c015a'))).toBe('vz4DXAFa');
    expect(toHex(base64ToBytes('vz4DXAFa'))).toBe('bf3e035c015a');
    expect(toHex(base64ToBytes(''))).toBe('');
  });
  it('rejects non-alphabet characters, missing padding, whitespace and non-canonical pad bits', () => {
    expect(fieldError(() => base64ToBytes('vz4D-AFa', 'euiccInfo1')).message).toBe("euiccInfo1: not strict base64 (character '-' at position 4)");
    expect(fieldError(() => base64ToBytes('vz4DXAF', 'x')).problem).toBe('invalid');
    expect(() => base64ToBytes('vz4D XAFa')).toThrow(JsonFieldError);
    expect(() => base64ToBytes('vw==')).not.toThrow();
    expect(fieldError(() => base64ToBytes('vx==')).message).toMatch(/non-zero padding bits/);
  });
  it('writes transactionId as uppercase hex and checks its size', () => {
    expect(transactionIdToHex(h('0123456789abcdef'))).toBe('0123456789ABCDEF');
    expect(toHex(transactionIdFromHex('0123456789ABCDEF'))).toBe('0123456789abcdef');
    expect(toHex(transactionIdFromHex('abcd'))).toBe('abcd');
    expect(() => transactionIdFromHex('abcd', 'transactionId', true)).toThrow(/uppercase/);
    expect(fieldError(() => transactionIdFromHex('ABC')).field).toBe('transactionId');
    expect(() => transactionIdFromHex('00'.repeat(17))).toThrow(/1\.\.16 bytes/);
    expect(() => transactionIdToHex(new Uint8Array(0))).toThrow(RangeError);
  });
});

describe('functionExecutionStatus', () => {
  it('builds Executed-Success and Failed headers with statusCodeData', () => {
    expect(executedSuccess()).toEqual({ header: { functionExecutionStatus: { status: 'Executed-Success' } } });
    expect(failed(Status.UnknownTransactionId)).toEqual({
      header: { functionExecutionStatus: { status: 'Failed', statusCodeData: { subjectCode: '8.10.1', reasonCode: '3.9', message: 'TransactionId unknown' } } },
    });
    expect(failed(Status.MatchingIdRefused, { subjectIdentifier: '8.2.6', message: 'no such order' }).header.functionExecutionStatus.statusCodeData).toEqual({
      subjectCode: '8.2.6',
      reasonCode: '3.8',
      subjectIdentifier: '8.2.6',
      message: 'no such order',
    });
  });
  it('has the subject/reason codes SGP.22 gives the ES9+/ES11 functions', () => {
    expect(Status.InsufficientMemory).toMatchObject({ subjectCode: '8.1', reasonCode: '4.8' });
    expect(Status.ConfirmationCodeRetriesExceeded).toMatchObject({ subjectCode: '8.2.7', reasonCode: '6.4' });
    expect(Status.DownloadOrderExpired).toMatchObject({ subjectCode: '8.8.5', reasonCode: '4.10' });
    expect(Status.UnknownCiPublicKey).toMatchObject({ subjectCode: '8.11.1', reasonCode: '3.9' });
    expect(Object.keys(Status)).toHaveLength(25);
    expect(statusNameOf({ subjectCode: '8.1.3', reasonCode: '6.3' })).toBe('EuiccCertificateExpired');
    expect(statusNameOf({ subjectCode: '9.9', reasonCode: '1.1' })).toBeUndefined();
  });
});

describe('ES9+ message validation', () => {
  it('accepts an lpac initiateAuthentication request and decodes its euiccInfo1', () => {
    const msg = parseInitiateAuthenticationRequest({ smdpAddress: 'testsmdpplus1.example.com', euiccChallenge: bytesToBase64(h('55'.repeat(16))), euiccInfo1: info1B64 });
    expect(decodeField('euiccInfo1', msg.euiccInfo1, EUICCInfo1).euiccCiPKIdListForSigning).toEqual([h(SGP26_CI_SKI)]);
    expect(encodeField(EUICCInfo1, decodeField('euiccInfo1', msg.euiccInfo1, EUICCInfo1))).toBe(info1B64);
  });
  it('names the missing or invalid field', () => {
    const missing = fieldError(() => parseInitiateAuthenticationRequest({ smdpAddress: 'x', euiccInfo1: info1B64 }));
    expect(missing.problem).toBe('missing');
    expect(missing.field).toBe('euiccChallenge');
    const badTx = fieldError(() => parseAuthenticateClientRequest({ transactionId: 'XYZ', authenticateServerResponse: 'AA==' }));
    expect(badTx).toMatchObject({ problem: 'invalid', field: 'transactionId' });
    expect(fieldError(() => parseHandleNotificationRequest({ pendingNotification: 42 }))).toMatchObject({ field: 'pendingNotification', problem: 'invalid' });
    expect(fieldError(() => parseHandleNotificationRequest('nope')).field).toBe('(message)');
  });
  it('reports a base64 field that is not the expected ASN.1 type with the DER error', () => {
    const e = fieldError(() => decodeField('euiccInfo1', bytesToBase64(h('bf22035c015a')), EUICCInfo1));
    expect(e.field).toBe('euiccInfo1');
    expect(e.derError?.kind).toBe('unexpectedTag');
    expect(e.message).toMatch(/not a valid EUICCInfo1/);
  });
  it('validates responses: success fields only when executed, statusCodeData when failed', () => {
    const ok = parseGetBoundProfilePackageResponse({ ...executedSuccess(), transactionId: '0A0B', boundProfilePackage: 'vzYA' });
    expect(isOk(ok) && ok.boundProfilePackage).toBe('vzYA');
    const fail = parseInitiateAuthenticationResponse(failed(Status.InvalidSmdpAddress));
    expect(isOk(fail)).toBe(false);
    expect(fieldError(() => parseInitiateAuthenticationResponse({ ...executedSuccess(), transactionId: '0A0B' })).field).toBe('serverSigned1');
    expect(fieldError(() => parseInitiateAuthenticationResponse({ header: { functionExecutionStatus: { status: 'Failed' } } })).field).toBe(
      'header.functionExecutionStatus.statusCodeData',
    );
    expect(fieldError(() => parseInitiateAuthenticationResponse({ header: { functionExecutionStatus: { status: 'Done' } } })).field).toBe(
      'header.functionExecutionStatus.status',
    );
    expect(
      fieldError(() => parseInitiateAuthenticationResponse({ header: { functionExecutionStatus: { status: 'Failed', statusCodeData: { subjectCode: 'x', reasonCode: '1' } } } })).field,
    ).toBe('header.functionExecutionStatus.statusCodeData.subjectCode');
  });
});

describe('ES11 and ES2+ messages', () => {
  it('ES11 accepts smdsAddress or lpac-style smdpAddress and validates eventEntries', () => {
    const a = parseEs11InitiateAuthenticationRequest({ euiccChallenge: 'AA==', euiccInfo1: info1B64, smdpAddress: 'lpa.ds.gsma.com' });
    expect(a.smdsAddress).toBe('lpa.ds.gsma.com');
    expect('smdpAddress' in a).toBe(false);
    expect(fieldError(() => parseEs11InitiateAuthenticationRequest({ euiccChallenge: 'AA==', euiccInfo1: info1B64 })).field).toBe('smdsAddress');
    const r = parseEs11AuthenticateClientResponse({ ...executedSuccess(), eventEntries: [{ eventId: 'E1', rspServerAddress: 'smdp.example.com' }] });
    expect(isOk(r) && r.eventEntries[0]!.eventId).toBe('E1');
    expect(fieldError(() => parseEs11AuthenticateClientResponse({ ...executedSuccess(), eventEntries: [{ eventId: 'E1' }] })).field).toBe('eventEntries[0].rspServerAddress');
  });
  it('ES2+ requests need the request header and their mandatory fields', () => {
    const header = { functionRequesterIdentifier: 'op1', functionCallIdentifier: 'c1' };
    expect(parseConfirmOrderRequest({ header, iccid: '89000123456789012341', releaseFlag: true }).releaseFlag).toBe(true);
    expect(fieldError(() => parseConfirmOrderRequest({ header, iccid: '89000123456789012341' })).field).toBe('releaseFlag');
    expect(fieldError(() => parseConfirmOrderRequest({ iccid: '89000123456789012341', releaseFlag: true })).field).toBe('header');
    expect(fieldError(() => parseConfirmOrderRequest({ header: { functionRequesterIdentifier: 'op1' }, iccid: '8900012345678901234', releaseFlag: true })).field).toBe(
      'header.functionCallIdentifier',
    );
    expect(fieldError(() => parseConfirmOrderRequest({ header, iccid: '8900', releaseFlag: true })).field).toBe('iccid');
    expect(fieldError(() => parseCancelOrderRequest({ header, iccid: '89000123456789012341', finalProfileStatusIndicator: 'Gone' })).field).toBe('finalProfileStatusIndicator');
    const p = parseHandleDownloadProgressInfoRequest({
      header,
      eid: '89049032123451234512345678901235',
      iccid: '89000123456789012341',
      profileType: 'GSMA Generic eUICC Test Profile',
      timestamp: '2024-05-01T12:00:00Z',
      notificationPointId: 4,
      notificationPointStatus: { status: 'Executed-Success' },
    });
    expect(p.notificationPointId).toBe(4);
    expect(fieldError(() => parseHandleDownloadProgressInfoRequest({ ...p, timestamp: 'yesterday' })).field).toBe('timestamp');
    expect(fieldError(() => parseHandleDownloadProgressInfoRequest({ ...p, eid: '123' })).field).toBe('eid');
  });
});
