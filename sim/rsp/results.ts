// Named numbers of RSPDefinitions v2.5 (SGP.22 5.5-5.7 and 6.6): result and error codes of
// every ES10a/b/c response, ProfileInstallationResult (bppCommandId, errorReason),
// CancelSession reasons, the ES9+/ES11 ASN.1 error codes, and the enumerations used in
// profile metadata. Names are the module's identifiers, so they match what lpac and pySim
// print. Codecs carry plain numbers; use these maps to name them (or to build values).

/** What every named-number map offers besides its `name: value` members. */
export interface NamedNumbersApi<K extends string> {
  /** ASN.1 type the numbers belong to */
  readonly typeName: string;
  /** the name of a number, or undefined when the module does not define it */
  nameOf(n: number): K | undefined;
  /** the name, or `unknown(n)` (for people and JSON output) */
  describe(n: number): string;
  /** [name, value] pairs in definition order */
  readonly entries: readonly (readonly [K, number])[];
}

export type NamedNumbers<M extends Record<string, number>> = Readonly<M> & NamedNumbersApi<Extract<keyof M, string>>;

function named<const M extends Record<string, number>>(typeName: string, members: M): NamedNumbers<M> {
  type K = Extract<keyof M, string>;
  const entries = Object.entries(members) as [K, number][];
  const byValue = new Map<number, K>();
  for (const [k, v] of entries) {
    if (byValue.has(v)) throw new Error(`${typeName}: value ${v} named twice`);
    byValue.set(v, k);
  }
  const api: NamedNumbersApi<K> = {
    typeName,
    nameOf: (n) => byValue.get(n),
    describe: (n) => byValue.get(n) ?? `unknown(${n})`,
    entries,
  };
  return Object.freeze({ ...members, ...api }) as NamedNumbers<M>;
}

// ---------------------------------------------------------------------------
// Enumerations in data objects

// (plural names: the singular ones are the codecs in common.ts)
export const ProfileStates = named('ProfileState', { disabled: 0, enabled: 1 });
export const ProfileClasses = named('ProfileClass', { test: 0, provisioning: 1, operational: 2 });
export const IconTypes = named('IconType', { jpg: 0, png: 1 });
export const EuiccCategories = named('EuiccCategory', { other: 0, basicEuicc: 1, mediumEuicc: 2, contactlessEuicc: 3 });
export const RemoteOpIds = named('RemoteOpId', { installBoundProfilePackage: 1 });

// ---------------------------------------------------------------------------
// ES10a

export const SetDefaultDpAddressResult = named('SetDefaultDpAddressResult', { ok: 0, undefinedError: 127 });

// ---------------------------------------------------------------------------
// ES10b

export const DownloadErrorCode = named('DownloadErrorCode', {
  invalidCertificate: 1,
  invalidSignature: 2,
  unsupportedCurve: 3,
  noSessionContext: 4,
  invalidTransactionId: 5,
  undefinedError: 127,
});

export const AuthenticateErrorCode = named('AuthenticateErrorCode', {
  invalidCertificate: 1,
  invalidSignature: 2,
  unsupportedCurve: 3,
  noSessionContext: 4,
  invalidOid: 5,
  euiccChallengeMismatch: 6,
  ciPKUnknown: 7,
  undefinedError: 127,
});

export const BppCommandId = named('BppCommandId', {
  initialiseSecureChannel: 0,
  configureISDP: 1,
  storeMetadata: 2,
  storeMetadata2: 3,
  replaceSessionKeys: 4,
  loadProfileElements: 5,
});

export const ErrorReason = named('ErrorReason', {
  incorrectInputValues: 1,
  invalidSignature: 2,
  invalidTransactionId: 3,
  unsupportedCrtValues: 4,
  unsupportedRemoteOperationType: 5,
  unsupportedProfileClass: 6,
  scp03tStructureError: 7,
  scp03tSecurityError: 8,
  installFailedDueToIccidAlreadyExistsOnEuicc: 9,
  installFailedDueToInsufficientMemoryForProfile: 10,
  installFailedDueToInterruption: 11,
  installFailedDueToPEProcessingError: 12,
  installFailedDueToDataMismatch: 13,
  testProfileInstallFailedDueToInvalidNaaKey: 14,
  pprNotAllowed: 15,
  installFailedDueToUnknownError: 127,
});

export const ListNotificationsResultError = named('ListNotificationsResultError', { undefinedError: 127 });
export const NotificationsListResultError = named('NotificationsListResultError', { undefinedError: 127 });
export const DeleteNotificationStatus = named('DeleteNotificationStatus', { ok: 0, nothingToDelete: 1, undefinedError: 127 });

export const LoadCRLResponseError = named('LoadCRLResponseError', {
  invalidSignature: 1,
  invalidCRLFormat: 2,
  notEnoughMemorySpace: 3,
  verificationKeyNotFound: 4,
  fresherCrlAlreadyLoaded: 5,
  baseCrlMissing: 6,
  undefinedError: 127,
});

export const CancelSessionReason = named('CancelSessionReason', {
  endUserRejection: 0,
  postponed: 1,
  timeout: 2,
  pprNotAllowed: 3,
  metadataMismatch: 4,
  loadBppExecutionError: 5,
  undefinedReason: 127,
});

export const CancelSessionResponseError = named('CancelSessionResponseError', { invalidTransactionId: 5, undefinedError: 127 });

// ---------------------------------------------------------------------------
// ES10c

export const ProfileInfoListError = named('ProfileInfoListError', { incorrectInputValues: 1, undefinedError: 127 });

export const EnableProfileResult = named('EnableProfileResult', {
  ok: 0,
  iccidOrAidNotFound: 1,
  profileNotInDisabledState: 2,
  disallowedByPolicy: 3,
  wrongProfileReenabling: 4,
  catBusy: 5,
  undefinedError: 127,
});

export const DisableProfileResult = named('DisableProfileResult', {
  ok: 0,
  iccidOrAidNotFound: 1,
  profileNotInEnabledState: 2,
  disallowedByPolicy: 3,
  catBusy: 5,
  undefinedError: 127,
});

export const DeleteProfileResult = named('DeleteProfileResult', {
  ok: 0,
  iccidOrAidNotFound: 1,
  profileNotInDisabledState: 2,
  disallowedByPolicy: 3,
  undefinedError: 127,
});

export const EuiccMemoryResetResult = named('EuiccMemoryResetResult', { ok: 0, nothingToDelete: 1, catBusy: 5, undefinedError: 127 });
export const SetNicknameResult = named('SetNicknameResult', { ok: 0, iccidNotFound: 1, undefinedError: 127 });
export const LpaeActivationResult = named('LpaeActivationResult', { ok: 0, notSupported: 1 });

// ---------------------------------------------------------------------------
// ES9+ / ES11 ASN.1 binding

export const InitiateAuthenticationError = named('InitiateAuthenticationError', {
  invalidDpAddress: 1,
  euiccVersionNotSupportedByDp: 2,
  ciPKNotSupported: 3,
});

export const AuthenticateClientErrorEs9 = named('AuthenticateClientErrorEs9', {
  eumCertificateInvalid: 1,
  eumCertificateExpired: 2,
  euiccCertificateInvalid: 3,
  euiccCertificateExpired: 4,
  euiccSignatureInvalid: 5,
  matchingIdRefused: 6,
  eidMismatch: 7,
  noEligibleProfile: 8,
  ciPKUnknown: 9,
  invalidTransactionId: 10,
  insufficientMemory: 11,
  undefinedError: 127,
});

export const GetBoundProfilePackageError = named('GetBoundProfilePackageError', {
  euiccSignatureInvalid: 1,
  confirmationCodeMissing: 2,
  confirmationCodeRefused: 3,
  confirmationCodeRetriesExceeded: 4,
  bppRebindingRefused: 5,
  downloadOrderExpired: 6,
  invalidTransactionId: 95,
  undefinedError: 127,
});

export const CancelSessionErrorEs9 = named('CancelSessionErrorEs9', { invalidTransactionId: 1, euiccSignatureInvalid: 2, undefinedError: 127 });

export const AuthenticateClientErrorEs11 = named('AuthenticateClientErrorEs11', {
  eumCertificateInvalid: 1,
  eumCertificateExpired: 2,
  euiccCertificateInvalid: 3,
  euiccCertificateExpired: 4,
  euiccSignatureInvalid: 5,
  eventIdUnknown: 6,
  invalidTransactionId: 7,
  undefinedError: 127,
});

/**
 * Which named-number map names which field: `${message}.${field path}` -> map. Used by
 * registry.describeResults() to annotate decoded messages for `bridgelab decode`.
 */
export const ResultFields: Readonly<Record<string, NamedNumbersApi<string>>> = {
  'SetDefaultDpAddressResponse.setDefaultDpAddressResult': SetDefaultDpAddressResult,
  'PrepareDownloadResponse.downloadResponseError.downloadErrorCode': DownloadErrorCode,
  'AuthenticateServerResponse.authenticateResponseError.authenticateErrorCode': AuthenticateErrorCode,
  'ProfileInstallationResult.profileInstallationResultData.finalResult.errorResult.bppCommandId': BppCommandId,
  'ProfileInstallationResult.profileInstallationResultData.finalResult.errorResult.errorReason': ErrorReason,
  'ListNotificationResponse.listNotificationsResultError': ListNotificationsResultError,
  'RetrieveNotificationsListResponse.notificationsListResultError': NotificationsListResultError,
  'NotificationSentResponse.deleteNotificationStatus': DeleteNotificationStatus,
  'LoadCRLResponse.loadCRLResponseError': LoadCRLResponseError,
  'CancelSessionRequest.reason': CancelSessionReason,
  'CancelSessionResponse.cancelSessionResponseOk.euiccCancelSessionSigned.reason': CancelSessionReason,
  'CancelSessionResponse.cancelSessionResponseError': CancelSessionResponseError,
  'CancelSessionRequestEs9.cancelSessionResponse.cancelSessionResponseError': CancelSessionResponseError,
  'ProfileInfoListResponse.profileInfoListError': ProfileInfoListError,
  'EnableProfileResponse.enableResult': EnableProfileResult,
  'DisableProfileResponse.disableResult': DisableProfileResult,
  'DeleteProfileResponse.deleteResult': DeleteProfileResult,
  'EuiccMemoryResetResponse.resetResult': EuiccMemoryResetResult,
  'SetNicknameResponse.setNicknameResult': SetNicknameResult,
  'LpaeActivationResponse.lpaeActivationResult': LpaeActivationResult,
  'ProfileInfoListResponse.profileInfoListOk[].profileState': ProfileStates,
  'ProfileInfoListResponse.profileInfoListOk[].profileClass': ProfileClasses,
  'ProfileInfoListResponse.profileInfoListOk[].iconType': IconTypes,
  'EUICCInfo2.euiccCategory': EuiccCategories,
  'InitiateAuthenticationResponse.initiateAuthenticationError': InitiateAuthenticationError,
  'AuthenticateClientResponseEs9.authenticateClientError': AuthenticateClientErrorEs9,
  'GetBoundProfilePackageResponse.getBoundProfilePackageError': GetBoundProfilePackageError,
  'CancelSessionResponseEs9.cancelSessionError': CancelSessionErrorEs9,
  'AuthenticateClientResponseEs11.authenticateClientError': AuthenticateClientErrorEs11,
};
