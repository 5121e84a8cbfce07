import { describe, expect, it } from 'vitest';
import { toHex } from '../bytes.ts';
import { decode, encode } from './der.ts';
import { AuthenticateClientResponseEs11 } from './es11.ts';
import {
  AuthenticateClientRequest,
  CancelSessionRequestEs9,
  CancelSessionResponseEs9,
  GetBoundProfilePackageRequest,
  GetBoundProfilePackageResponse,
  HandleNotification,
  InitiateAuthenticationRequest,
  InitiateAuthenticationResponse,
  RemoteProfileProvisioningResponse,
} from './es9p.ts';
import { expectRoundTrip, h, SGP26_CI_SKI } from './testdata/helpers.ts';

const TX = '0123456789abcdef0123456789abcdef';
const SIG = '22'.repeat(64);
const info1 = 'bf2035' + '8203020200' + 'a9160414' + SGP26_CI_SKI + 'aa160414' + SGP26_CI_SKI;

describe('ES9+ ASN.1 binding', () => {
  it('InitiateAuthenticationRequest: 81 challenge, 83 address, BF20 euiccInfo1', () => {
    const hex = 'bf395b' + '8110' + '55'.repeat(16) + '830f' + '736d64702e6578616d706c652e636f6d'.slice(0, 30) + info1;
    expectRoundTrip(InitiateAuthenticationRequest, hex, {
      euiccChallenge: h('55'.repeat(16)),
      smdpAddress: 'smdp.example.co',
      euiccInfo1: { svn: h('020200'), euiccCiPKIdListForVerification: [h(SGP26_CI_SKI)], euiccCiPKIdListForSigning: [h(SGP26_CI_SKI)] },
    });
  });

  it('InitiateAuthenticationResponse error is 81 inside the explicit BF39', () => {
    expectRoundTrip(InitiateAuthenticationResponse, 'bf3903810102', { initiateAuthenticationError: 2 });
  });

  it('AuthenticateClientRequest keeps the BF38 of AuthenticateServerResponse', () => {
    expectRoundTrip(AuthenticateClientRequest, 'bf3b2c' + '8010' + TX + 'bf3817a115' + '8010' + TX + '020103', {
      transactionId: h(TX),
      authenticateServerResponse: { authenticateResponseError: { transactionId: h(TX), authenticateErrorCode: 3 } },
    });
  });

  it('GetBoundProfilePackage request/response', () => {
    expectRoundTrip(GetBoundProfilePackageRequest, 'bf3a2c' + '8010' + TX + 'bf2117a115' + '8010' + TX + '020102', {
      transactionId: h(TX),
      prepareDownloadResponse: { downloadResponseError: { transactionId: h(TX), downloadErrorCode: 2 } },
    });
    expectRoundTrip(GetBoundProfilePackageResponse, 'bf3a0381015f', { getBoundProfilePackageError: 95 });
  });

  it('HandleNotification wraps the PendingNotification in an explicit A0', () => {
    const pir = encode(HandleNotification, {
      pendingNotification: {
        profileInstallationResult: {
          profileInstallationResultData: {
            transactionId: h(TX),
            notificationMetadata: { seqNumber: 1, profileManagementOperation: ['notificationInstall'], notificationAddress: 'a' },
            smdpOid: '2.999.10',
            finalResult: { errorResult: { bppCommandId: 0, errorReason: 2 } },
          },
          euiccSignPIR: h(SIG),
        },
      },
    });
    // BF3D 79 { A0 77 { BF37 74 ... } }
    expect(toHex(pir).slice(0, 16)).toBe('bf3d79a077bf3774');
    expect(decode(HandleNotification, pir)).toHaveProperty('pendingNotification.profileInstallationResult.euiccSignPIR', h(SIG));
  });

  it('CancelSessionRequestEs9: 80 transactionId, A1 = CancelSessionResponse retagged [1] IMPLICIT', () => {
    expectRoundTrip(CancelSessionRequestEs9, 'bf4117' + '8010' + TX + 'a103810105', { transactionId: h(TX), cancelSessionResponse: { cancelSessionResponseError: 5 } });
    expectRoundTrip(CancelSessionResponseEs9, 'bf4102a000', { cancelSessionOk: {} });
  });

  it('RemoteProfileProvisioningResponse: explicit A2 around the response', () => {
    expectRoundTrip(RemoteProfileProvisioningResponse, 'a206bf4003810106', { authenticateClientResponseEs11: { authenticateClientError: 6 } });
  });
});

describe('ES11 AuthenticateClientResponseEs11 (BF40)', () => {
  it('A0 { 80 transactionId, A1 { 30 { 80 eventId, 81 address } } }', () => {
    const entry = '3014' + '8004' + '45564531' + '810c' + '736d64702e6578616d706c65';
    const hex = 'bf402c' + 'a02a' + '8010' + TX + 'a116' + entry;
    const v = expectRoundTrip(AuthenticateClientResponseEs11, hex, {
      authenticateClientOk: { transactionId: h(TX), eventEntries: [{ eventId: 'EVE1', rspServerAddress: 'smdp.example' }] },
    });
    expect(decode(AuthenticateClientResponseEs11, encode(AuthenticateClientResponseEs11, v))).toEqual(v);
    expectRoundTrip(AuthenticateClientResponseEs11, 'bf4003810107', { authenticateClientError: 7 });
  });
});
