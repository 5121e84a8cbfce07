// A representative value for every message in the registry (used by registry.test.ts to
// round-trip each codec). Certificates are the SGP.26 NIST test certificates.
import { hexToBytes as h } from '../../bytes.ts';
import { sgp26Cert, SGP26_CI_SKI } from './helpers.ts';

const TX = h('0123456789abcdef0123456789abcdef');
const SIG = h('22'.repeat(64));
const OTPK = h('04' + '11'.repeat(64));
const ICCID = h('98001032547698103214');
const AID = h('a0000005591010ffffffff8900001000');
const CHALLENGE = h('55'.repeat(16));
const SKI = h(SGP26_CI_SKI);
const euiccCert = sgp26Cert('eUICC/CERT_EUICC_ECDSA_NIST.der');
const eumCert = sgp26Cert('EUM/CERT_EUM_ECDSA_NIST.der');
const dpAuthCert = sgp26Cert('DPauth/CERT_S_SM_DPauth_ECDSA_NIST.der');
const dpPbCert = sgp26Cert('DPpb/CERT_S_SM_DPpb_ECDSA_NIST.der');

const euiccInfo1 = { svn: h('020200'), euiccCiPKIdListForVerification: [SKI], euiccCiPKIdListForSigning: [SKI] };
const euiccInfo2 = {
  profileVersion: h('020300'),
  svn: h('020200'),
  euiccFirmwareVer: h('040201'),
  extCardResource: h('810100820400047c2883022210'),
  uiccCapability: ['usimSupport', 'isimSupport', 'javacard'],
  ts102241Version: h('090200'),
  globalplatformVersion: h('020300'),
  rspCapability: ['additionalProfile', 'testProfileSupport'],
  euiccCiPKIdListForVerification: [SKI],
  euiccCiPKIdListForSigning: [SKI],
  euiccCategory: 2,
  forbiddenProfilePolicyRules: ['pprUpdateControl', 'ppr1'],
  ppVersion: h('010000'),
  sasAcreditationNumber: 'GI-BA-UP-0419',
  certificationDataObject: { platformLabel: '1.2.840.1234567/myPlatformLabel', discoveryBaseURL: 'https://dloa.example.com' },
  treProperties: ['isIntegrated'],
  treProductReference: 'TRE-1',
  additionalEuiccProfilePackageVersions: [h('020100'), h('030100')],
};
const deviceInfo = {
  tac: h('35290611'),
  deviceCapabilities: { gsmSupportedRelease: h('080000'), eutranEpcSupportedRelease: h('0f0000'), catSupportedClasses: ['bit3'], euiccFormFactorType: 1, deviceAdditionalFeatureSupport: { naiSupport: h('020000') } },
  imei: h('3529061100000010'),
};
const ctxParams1 = { ctxParamsForCommonAuthentication: { matchingId: 'ABC-1234', deviceInfo } };
const serverSigned1 = { transactionId: TX, euiccChallenge: CHALLENGE, serverAddress: 'testsmdpplus1.example.com', serverChallenge: h('44'.repeat(16)) };
const euiccSigned1 = { transactionId: TX, serverAddress: 'testsmdpplus1.example.com', serverChallenge: h('44'.repeat(16)), euiccInfo2, ctxParams1 };
const smdpSigned2 = { transactionId: TX, ccRequiredFlag: false, bppEuiccOtpk: OTPK };
const euiccSigned2 = { transactionId: TX, euiccOtpk: OTPK, hashCc: h('33'.repeat(32)) };
const metadata = { seqNumber: 7, profileManagementOperation: ['notificationInstall'], notificationAddress: 'testsmdpplus1.example.com', iccid: ICCID };
const pirData = {
  transactionId: TX,
  notificationMetadata: metadata,
  smdpOid: '2.999.10',
  finalResult: { successResult: { aid: AID, simaResponse: h('3007a00580033001') } },
};
const pir = { profileInstallationResultData: pirData, euiccSignPIR: SIG };
const otherSigned = {
  tbsOtherNotification: { seqNumber: 8, profileManagementOperation: ['notificationDelete'], notificationAddress: 'testsmdpplus1.example.com', iccid: ICCID },
  euiccNotificationSignature: SIG,
  euiccCertificate: euiccCert,
  eumCertificate: eumCert,
};
const vendorExt = [{ vendorOid: '2.999.10.1', vendorSpecificData: h('0c0568656c6c6f') }];
const storeMetadata = {
  iccid: ICCID,
  serviceProviderName: 'GSMA',
  profileName: 'Test Profile',
  iconType: 1,
  icon: h('89504e470d0a1a0a'),
  profileClass: 0,
  notificationConfigurationInfo: [{ profileManagementOperation: ['notificationInstall', 'notificationDelete'], notificationAddress: 'testsmdpplus1.example.com' }],
  profileOwner: { mccMnc: h('00f110'), gid1: h('01'), gid2: h('02') },
  profilePolicyRules: ['ppr2'],
  serviceSpecificDataStoredInEuicc: vendorExt,
  serviceSpecificDataNotStoredInEuicc: vendorExt,
};
const iscr = {
  remoteOpId: 1,
  transactionId: TX,
  controlRefTemplate: { keyType: h('88'), keyLen: h('10'), hostId: h('01020304050607') },
  smdpOtpk: OTPK,
  smdpSign: SIG,
};
const bpp = {
  initialiseSecureChannelRequest: iscr,
  firstSequenceOf87: [h('8787')],
  sequenceOf88: [h('8888'), h('88')],
  secondSequenceOf87: [h('87')],
  sequenceOf86: [h('86'.repeat(1100)), h('86')],
};
const authServerResponse = { authenticateResponseOk: { euiccSigned1, euiccSignature1: SIG, euiccCertificate: euiccCert, eumCertificate: eumCert } };
const prepareDownloadResponse = { downloadResponseOk: { euiccSigned2, euiccSignature2: SIG } };
const cancelSessionResponse = { cancelSessionResponseOk: { euiccCancelSessionSigned: { transactionId: TX, smdpOid: '2.999.10', reason: 0 }, euiccCancelSessionSignature: SIG } };
const crl = h('300c' + '3003020101' + '3000' + '3000' + '030100');

export const samples: Record<string, unknown> = {
  EuiccConfiguredAddressesRequest: {},
  EuiccConfiguredAddressesResponse: { defaultDpAddress: 'testsmdpplus1.example.com', rootDsAddress: 'lpa.ds.gsma.com' },
  SetDefaultDpAddressRequest: { defaultDpAddress: 'testsmdpplus1.example.com' },
  SetDefaultDpAddressResponse: { setDefaultDpAddressResult: 0 },
  PrepareDownloadRequest: { smdpSigned2, smdpSignature2: SIG, hashCc: h('33'.repeat(32)), smdpCertificate: dpPbCert },
  PrepareDownloadResponse: prepareDownloadResponse,
  BoundProfilePackage: bpp,
  ProfileInstallationResult: pir,
  GetEuiccChallengeRequest: {},
  GetEuiccChallengeResponse: { euiccChallenge: CHALLENGE },
  GetEuiccInfo1Request: {},
  EUICCInfo1: euiccInfo1,
  GetEuiccInfo2Request: {},
  EUICCInfo2: euiccInfo2,
  ListNotificationRequest: { profileManagementOperation: ['notificationInstall'] },
  ListNotificationResponse: { notificationMetadataList: [metadata] },
  RetrieveNotificationsListRequest: { searchCriteria: { profileManagementOperation: ['notificationEnable'] } },
  RetrieveNotificationsListResponse: { notificationList: [{ profileInstallationResult: pir }, { otherSignedNotification: otherSigned }] },
  NotificationSentRequest: { seqNumber: 7 },
  NotificationSentResponse: { deleteNotificationStatus: 0 },
  LoadCRLRequest: { crl },
  LoadCRLResponse: { loadCRLResponseOk: { missingParts: [1, 2] } },
  AuthenticateServerRequest: { serverSigned1, serverSignature1: SIG, euiccCiPKIdToBeUsed: SKI, serverCertificate: dpAuthCert, ctxParams1 },
  AuthenticateServerResponse: authServerResponse,
  CancelSessionRequest: { transactionId: TX, reason: 0 },
  CancelSessionResponse: cancelSessionResponse,
  GetRatRequest: {},
  GetRatResponse: {
    rat: [
      { pprIds: ['ppr1'], allowedOperators: [{ mccMnc: h('e1ffff') }], pprFlags: ['consentRequired'] },
      { pprIds: ['ppr2'], allowedOperators: [{ mccMnc: h('00f110'), gid1: h('ab') }], pprFlags: [] },
    ],
  },
  ProfileInfoListRequest: { searchCriteria: { isdpAid: AID }, tagList: h('5a4f9f70') },
  ProfileInfoListResponse: {
    profileInfoListOk: [
      {
        iccid: ICCID,
        isdpAid: AID,
        profileState: 1,
        profileNickname: 'Work',
        serviceProviderName: 'GSMA',
        profileName: 'Test Profile',
        iconType: 0,
        icon: h('ffd8ffe0'),
        profileClass: 2,
        notificationConfigurationInfo: [{ profileManagementOperation: ['notificationEnable'], notificationAddress: 'smdp.example.com' }],
        profileOwner: { mccMnc: h('00f110') },
        dpProprietaryData: { dpOid: '2.999.10' },
        profilePolicyRules: ['ppr1'],
        serviceSpecificDataStoredInEuicc: vendorExt,
      },
    ],
  },
  EnableProfileRequest: { profileIdentifier: { isdpAid: AID }, refreshFlag: false },
  EnableProfileResponse: { enableResult: 0 },
  DisableProfileRequest: { profileIdentifier: { iccid: ICCID }, refreshFlag: true },
  DisableProfileResponse: { disableResult: 2 },
  DeleteProfileRequest: { iccid: ICCID },
  DeleteProfileResponse: { deleteResult: 0 },
  EuiccMemoryResetRequest: { resetOptions: ['deleteOperationalProfiles', 'resetDefaultSmdpAddress'] },
  EuiccMemoryResetResponse: { resetResult: 1 },
  GetEuiccDataRequest: { tagList: h('5a') },
  GetEuiccDataResponse: { eidValue: h('89049032123451234512345678901235') },
  SetNicknameRequest: { iccid: ICCID, profileNickname: 'Home' },
  SetNicknameResponse: { setNicknameResult: 0 },
  LpaeActivationRequest: { lpaeOption: ['activateCatBasedLpae'] },
  LpaeActivationResponse: { lpaeActivationResult: 1 },
  InitialiseSecureChannelRequest: iscr,
  ConfigureISDPRequest: { dpProprietaryData: { dpOid: '2.999.10' } },
  StoreMetadataRequest: storeMetadata,
  ReplaceSessionKeysRequest: { initialMacChainingValue: h('00'.repeat(16)), ppkEnc: h('01'.repeat(16)), ppkCmac: h('02'.repeat(16)) },
  UpdateMetadataRequest: { serviceProviderName: 'GSMA 2', profilePolicyRules: [] },
  InitiateAuthenticationRequest: { euiccChallenge: CHALLENGE, smdpAddress: 'testsmdpplus1.example.com', euiccInfo1 },
  InitiateAuthenticationResponse: { initiateAuthenticationOk: { transactionId: TX, serverSigned1, serverSignature1: SIG, euiccCiPKIdToBeUsed: SKI, serverCertificate: dpAuthCert } },
  AuthenticateClientRequest: { transactionId: TX, authenticateServerResponse: authServerResponse },
  AuthenticateClientResponseEs9: { authenticateClientOk: { transactionId: TX, profileMetaData: storeMetadata, smdpSigned2, smdpSignature2: SIG, smdpCertificate: dpPbCert } },
  GetBoundProfilePackageRequest: { transactionId: TX, prepareDownloadResponse },
  GetBoundProfilePackageResponse: { getBoundProfilePackageOk: { transactionId: TX, boundProfilePackage: bpp } },
  HandleNotification: { pendingNotification: { otherSignedNotification: otherSigned } },
  CancelSessionRequestEs9: { transactionId: TX, cancelSessionResponse },
  CancelSessionResponseEs9: { cancelSessionOk: {} },
  RemoteProfileProvisioningRequest: { handleNotification: { pendingNotification: { profileInstallationResult: pir } } },
  RemoteProfileProvisioningResponse: { getBoundProfilePackageResponse: { getBoundProfilePackageError: 95 } },
  AuthenticateClientResponseEs11: {
    authenticateClientOk: { transactionId: TX, eventEntries: [{ eventId: 'EVT-1', rspServerAddress: 'testsmdpplus1.example.com' }, { eventId: 'EVT-2', rspServerAddress: 'smdp.example.org' }] },
  },
  ProfileInfo: { iccid: ICCID, profileState: 0 },
  NotificationMetadata: metadata,
  ProfileInstallationResultData: { ...pirData, finalResult: { errorResult: { bppCommandId: 1, errorReason: 7, simaResponse: h('3003800101') } } },
  ISDRProprietaryApplicationTemplate: { svn: h('020200'), lpaeSupport: ['lpaeUsingScws'] },
  PendingNotification: { otherSignedNotification: otherSigned },
  OtherSignedNotification: otherSigned,
  ServerSigned1: serverSigned1,
  EuiccSigned1: euiccSigned1,
  SmdpSigned2: smdpSigned2,
  EUICCSigned2: euiccSigned2,
  EuiccCancelSessionSigned: { transactionId: TX, smdpOid: '2.999.10', reason: 127 },
  DeviceInfo: deviceInfo,
  Certificate: euiccCert,
};
