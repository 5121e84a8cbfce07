// ES10b (LPA -> ISD-R, SGP.22 5.7.5-5.7.14, 5.7.22): PrepareDownload 'BF21', the result of
// LoadBoundProfilePackage (ProfileInstallationResult 'BF37'; the BPP itself is in es8p.ts),
// GetEUICCChallenge 'BF2E', GetEUICCInfo1/2 requests 'BF20'/'BF22' (responses in common.ts),
// ListNotification 'BF28', RetrieveNotificationsList 'BF2B', NotificationSent 'BF30',
// LoadCRL 'BF35', AuthenticateServer 'BF38', CancelSession 'BF41', GetRAT 'BF43'.
// Responses typed `[n] CHOICE` are EXPLICITly tagged; their alternatives get automatic [0]/[1].
import { choice, explicit, implicit, type Infer, integer, octets, oid, opt, seq, seqOf } from './der.ts';
import {
  Certificate,
  CtxParams1,
  EuiccSigned1,
  EuiccSigned2,
  NotificationEvent,
  NotificationMetadata,
  Octet16,
  Octet32,
  RulesAuthorisationTable,
  ServerSigned1,
  Signature,
  SmdpSigned2,
  SubjectKeyIdentifier,
  TransactionId,
  implicitRaw,
} from './common.ts';

// ---------------------------------------------------------------------------
// PrepareDownload (5.7.5)

/** ES10b.PrepareDownload request: 30 smdpSigned2, 5F37 smdpSignature2, 04 hashCc?, 30 smdpCertificate. */
export const PrepareDownloadRequest = implicit(
  0xbf21,
  seq('PrepareDownloadRequest', {
    smdpSigned2: SmdpSigned2,
    smdpSignature2: Signature,
    hashCc: opt(Octet32),
    smdpCertificate: Certificate,
  }),
);
export type PrepareDownloadRequest = Infer<typeof PrepareDownloadRequest>;

export const PrepareDownloadResponseOk = seq('PrepareDownloadResponseOk', {
  euiccSigned2: EuiccSigned2,
  euiccSignature2: Signature,
});
export type PrepareDownloadResponseOk = Infer<typeof PrepareDownloadResponseOk>;

/** 80 transactionId, 02 downloadErrorCode (DownloadErrorCode in results.ts) */
export const PrepareDownloadResponseError = seq('PrepareDownloadResponseError', {
  transactionId: implicit(0, TransactionId),
  downloadErrorCode: integer('DownloadErrorCode'),
});
export type PrepareDownloadResponseError = Infer<typeof PrepareDownloadResponseError>;

/** 'BF21' { A0 PrepareDownloadResponseOk | A1 PrepareDownloadResponseError } */
export const PrepareDownloadResponse = explicit(
  0xbf21,
  choice('PrepareDownloadResponse', {
    downloadResponseOk: implicit(0, PrepareDownloadResponseOk),
    downloadResponseError: implicit(1, PrepareDownloadResponseError),
  }),
);
export type PrepareDownloadResponse = Infer<typeof PrepareDownloadResponse>;

// ---------------------------------------------------------------------------
// LoadBoundProfilePackage result: ProfileInstallationResult (5.7.6)

/** SuccessResult: 4F aid, 04 simaResponse */
export const SuccessResult = seq('SuccessResult', {
  aid: implicit(0x4f, octets({ min: 5, max: 16 })),
  simaResponse: octets(),
});
export type SuccessResult = Infer<typeof SuccessResult>;

/** ErrorResult: automatically tagged 80 bppCommandId, 81 errorReason, 82 simaResponse? */
export const ErrorResult = seq('ErrorResult', {
  bppCommandId: implicit(0, integer('BppCommandId')),
  errorReason: implicit(1, integer('ErrorReason')),
  simaResponse: opt(implicit(2, octets())),
});
export type ErrorResult = Infer<typeof ErrorResult>;

/** ProfileInstallationResultData 'BF27': 80 transactionId, BF2F notificationMetadata, 06 smdpOid, A2 finalResult. */
export const ProfileInstallationResultData = implicit(
  0xbf27,
  seq('ProfileInstallationResultData', {
    transactionId: implicit(0, TransactionId),
    notificationMetadata: NotificationMetadata,
    smdpOid: oid(),
    finalResult: explicit(
      2,
      choice('FinalResult', {
        successResult: implicit(0, SuccessResult),
        errorResult: implicit(1, ErrorResult),
      }),
    ),
  }),
);
export type ProfileInstallationResultData = Infer<typeof ProfileInstallationResultData>;

/** EuiccSignPIR ::= [APPLICATION 55] OCTET STRING, tag '5F37' */
export const EuiccSignPIR = Signature;

/** ProfileInstallationResult 'BF37' (the signature covers derOf(ProfileInstallationResultData)). */
export const ProfileInstallationResult = implicit(
  0xbf37,
  seq('ProfileInstallationResult', {
    profileInstallationResultData: ProfileInstallationResultData,
    euiccSignPIR: EuiccSignPIR,
  }),
);
export type ProfileInstallationResult = Infer<typeof ProfileInstallationResult>;

// ---------------------------------------------------------------------------
// GetEUICCChallenge (5.7.7), GetEUICCInfo (5.7.8)

export const GetEuiccChallengeRequest = implicit(0xbf2e, seq('GetEuiccChallengeRequest', {}));
export type GetEuiccChallengeRequest = Infer<typeof GetEuiccChallengeRequest>;

/** 'BF2E' { 80 euiccChallenge } */
export const GetEuiccChallengeResponse = implicit(0xbf2e, seq('GetEuiccChallengeResponse', { euiccChallenge: implicit(0, Octet16) }));
export type GetEuiccChallengeResponse = Infer<typeof GetEuiccChallengeResponse>;

/** GetEUICCInfo1 request: empty 'BF20' (response: EUICCInfo1 in common.ts). */
export const GetEuiccInfo1Request = implicit(0xbf20, seq('GetEuiccInfo1Request', {}));
export type GetEuiccInfo1Request = Infer<typeof GetEuiccInfo1Request>;

/** GetEUICCInfo2 request: empty 'BF22' (response: EUICCInfo2 in common.ts). */
export const GetEuiccInfo2Request = implicit(0xbf22, seq('GetEuiccInfo2Request', {}));
export type GetEuiccInfo2Request = Infer<typeof GetEuiccInfo2Request>;

// ---------------------------------------------------------------------------
// Notifications (5.7.9 ListNotification, 5.7.10 RetrieveNotificationsList, 5.7.11 RemoveNotificationFromList)

/** 'BF28' { 81 profileManagementOperation? } */
export const ListNotificationRequest = implicit(
  0xbf28,
  seq('ListNotificationRequest', { profileManagementOperation: opt(implicit(1, NotificationEvent)) }),
);
export type ListNotificationRequest = Infer<typeof ListNotificationRequest>;

/** 'BF28' { A0 SEQUENCE OF NotificationMetadata | 81 listNotificationsResultError } */
export const ListNotificationResponse = explicit(
  0xbf28,
  choice('ListNotificationResponse', {
    notificationMetadataList: implicit(0, seqOf(NotificationMetadata)),
    listNotificationsResultError: implicit(1, integer()),
  }),
);
export type ListNotificationResponse = Infer<typeof ListNotificationResponse>;

/** OtherSignedNotification (30): BF2F tbsOtherNotification, 5F37, 30 euiccCertificate, 30 eumCertificate */
export const OtherSignedNotification = seq('OtherSignedNotification', {
  tbsOtherNotification: NotificationMetadata,
  euiccNotificationSignature: Signature,
  euiccCertificate: Certificate,
  eumCertificate: Certificate,
});
export type OtherSignedNotification = Infer<typeof OtherSignedNotification>;

/** PendingNotification: BF37 ProfileInstallationResult | 30 OtherSignedNotification (untagged CHOICE). */
export const PendingNotification = choice('PendingNotification', {
  profileInstallationResult: ProfileInstallationResult,
  otherSignedNotification: OtherSignedNotification,
});
export type PendingNotification = Infer<typeof PendingNotification>;

/** 'BF2B' { A0 { 80 seqNumber | 81 profileManagementOperation }? } (searchCriteria is an automatically tagged CHOICE: explicit). */
export const RetrieveNotificationsListRequest = implicit(
  0xbf2b,
  seq('RetrieveNotificationsListRequest', {
    searchCriteria: opt(
      explicit(
        0,
        choice('SearchCriteria', {
          seqNumber: implicit(0, integer()),
          profileManagementOperation: implicit(1, NotificationEvent),
        }),
      ),
    ),
  }),
);
export type RetrieveNotificationsListRequest = Infer<typeof RetrieveNotificationsListRequest>;

/** 'BF2B' { A0 SEQUENCE OF PendingNotification | 81 notificationsListResultError } */
export const RetrieveNotificationsListResponse = explicit(
  0xbf2b,
  choice('RetrieveNotificationsListResponse', {
    notificationList: implicit(0, seqOf(PendingNotification)),
    notificationsListResultError: implicit(1, integer()),
  }),
);
export type RetrieveNotificationsListResponse = Infer<typeof RetrieveNotificationsListResponse>;

/** 'BF30' { 80 seqNumber } */
export const NotificationSentRequest = implicit(0xbf30, seq('NotificationSentRequest', { seqNumber: implicit(0, integer()) }));
export type NotificationSentRequest = Infer<typeof NotificationSentRequest>;

/** 'BF30' { 80 deleteNotificationStatus } */
export const NotificationSentResponse = implicit(
  0xbf30,
  seq('NotificationSentResponse', { deleteNotificationStatus: implicit(0, integer()) }),
);
export type NotificationSentResponse = Infer<typeof NotificationSentResponse>;

// ---------------------------------------------------------------------------
// LoadCRL (5.7.12)

/**
 * 'BF35' { A0 crl }: the only component is untagged, so it is automatically tagged
 * [0] IMPLICIT CertificateList; the value here is the CRL's ordinary DER (30 ...).
 */
export const LoadCRLRequest = implicit(0xbf35, seq('LoadCRLRequest', { crl: implicitRaw(0xa0, 0x30, 'CertificateList') }));
export type LoadCRLRequest = Infer<typeof LoadCRLRequest>;

/** A0 { A0 { 02 missing part number ... }? } */
export const LoadCRLResponseOk = seq('LoadCRLResponseOk', { missingParts: opt(implicit(0, seqOf(integer()))) });
export type LoadCRLResponseOk = Infer<typeof LoadCRLResponseOk>;

/** 'BF35' { A0 LoadCRLResponseOk | 81 LoadCRLResponseError } */
export const LoadCRLResponse = explicit(
  0xbf35,
  choice('LoadCRLResponse', {
    loadCRLResponseOk: implicit(0, LoadCRLResponseOk),
    loadCRLResponseError: implicit(1, integer('LoadCRLResponseError')),
  }),
);
export type LoadCRLResponse = Infer<typeof LoadCRLResponse>;

// ---------------------------------------------------------------------------
// AuthenticateServer (5.7.13)

/** 'BF38': 30 serverSigned1, 5F37 serverSignature1, 04 euiccCiPKIdToBeUsed, 30 serverCertificate, A0 ctxParams1 */
export const AuthenticateServerRequest = implicit(
  0xbf38,
  seq('AuthenticateServerRequest', {
    serverSigned1: ServerSigned1,
    serverSignature1: Signature,
    euiccCiPKIdToBeUsed: SubjectKeyIdentifier,
    serverCertificate: Certificate,
    ctxParams1: CtxParams1,
  }),
);
export type AuthenticateServerRequest = Infer<typeof AuthenticateServerRequest>;

/** 30 euiccSigned1, 5F37 euiccSignature1, 30 euiccCertificate, 30 eumCertificate */
export const AuthenticateResponseOk = seq('AuthenticateResponseOk', {
  euiccSigned1: EuiccSigned1,
  euiccSignature1: Signature,
  euiccCertificate: Certificate,
  eumCertificate: Certificate,
});
export type AuthenticateResponseOk = Infer<typeof AuthenticateResponseOk>;

/** 80 transactionId, 02 authenticateErrorCode */
export const AuthenticateResponseError = seq('AuthenticateResponseError', {
  transactionId: implicit(0, TransactionId),
  authenticateErrorCode: integer('AuthenticateErrorCode'),
});
export type AuthenticateResponseError = Infer<typeof AuthenticateResponseError>;

/** 'BF38' { A0 AuthenticateResponseOk | A1 AuthenticateResponseError } */
export const AuthenticateServerResponse = explicit(
  0xbf38,
  choice('AuthenticateServerResponse', {
    authenticateResponseOk: implicit(0, AuthenticateResponseOk),
    authenticateResponseError: implicit(1, AuthenticateResponseError),
  }),
);
export type AuthenticateServerResponse = Infer<typeof AuthenticateServerResponse>;

// ---------------------------------------------------------------------------
// CancelSession (5.7.14)

/** 'BF41' { 80 transactionId, 81 reason } (automatically tagged) */
export const CancelSessionRequest = implicit(
  0xbf41,
  seq('CancelSessionRequest', {
    transactionId: implicit(0, TransactionId),
    reason: implicit(1, integer('CancelSessionReason')),
  }),
);
export type CancelSessionRequest = Infer<typeof CancelSessionRequest>;

/** 80 transactionId, 81 smdpOid, 82 reason (automatically tagged) */
export const EuiccCancelSessionSigned = seq('EuiccCancelSessionSigned', {
  transactionId: implicit(0, TransactionId),
  smdpOid: implicit(1, oid()),
  reason: implicit(2, integer('CancelSessionReason')),
});
export type EuiccCancelSessionSigned = Infer<typeof EuiccCancelSessionSigned>;

/** 30 euiccCancelSessionSigned, 5F37 euiccCancelSessionSignature */
export const CancelSessionResponseOk = seq('CancelSessionResponseOk', {
  euiccCancelSessionSigned: EuiccCancelSessionSigned,
  euiccCancelSessionSignature: Signature,
});
export type CancelSessionResponseOk = Infer<typeof CancelSessionResponseOk>;

/** 'BF41' { A0 CancelSessionResponseOk | 81 cancelSessionResponseError } */
export const CancelSessionResponse = explicit(
  0xbf41,
  choice('CancelSessionResponse', {
    cancelSessionResponseOk: implicit(0, CancelSessionResponseOk),
    cancelSessionResponseError: implicit(1, integer()),
  }),
);
export type CancelSessionResponse = Infer<typeof CancelSessionResponse>;

// ---------------------------------------------------------------------------
// GetRAT (5.7.22)

export const GetRatRequest = implicit(0xbf43, seq('GetRatRequest', {}));
export type GetRatRequest = Infer<typeof GetRatRequest>;

/** 'BF43' { A0 RulesAuthorisationTable } (automatically tagged) */
export const GetRatResponse = implicit(0xbf43, seq('GetRatResponse', { rat: implicit(0, RulesAuthorisationTable) }));
export type GetRatResponse = Infer<typeof GetRatResponse>;
