// ES9+ ASN.1 binding (LPA -> SM-DP+, SGP.22 5.6 functions, 6.6 ASN.1 binding):
// InitiateAuthentication 'BF39', AuthenticateClient 'BF3B', GetBoundProfilePackage 'BF3A',
// HandleNotification 'BF3D', CancelSession 'BF41' (same tag as ES10b.CancelSession), and
// the RemoteProfileProvisioningRequest/Response wrappers 'A2'. The HTTP/JSON binding most
// LPAs use instead (6.5) is in json.ts; its base64 fields carry the ES10 structures.
import { choice, explicit, implicit, type Infer, integer, seq, utf8 } from './der.ts';
import { Certificate, EUICCInfo1, Octet16, ServerSigned1, Signature, SmdpSigned2, SubjectKeyIdentifier, TransactionId } from './common.ts';
import { AuthenticateServerResponse, CancelSessionResponse, PendingNotification, PrepareDownloadResponse } from './es10b.ts';
import { BoundProfilePackage, StoreMetadataRequest } from './es8p.ts';
import { AuthenticateClientResponseEs11 } from './es11.ts';

// ---------------------------------------------------------------------------
// InitiateAuthentication (5.6.1)

/** 'BF39' { 81 euiccChallenge, 83 smdpAddress, BF20 euiccInfo1 } */
export const InitiateAuthenticationRequest = implicit(
  0xbf39,
  seq('InitiateAuthenticationRequest', {
    euiccChallenge: implicit(1, Octet16),
    smdpAddress: implicit(3, utf8()),
    euiccInfo1: EUICCInfo1,
  }),
);
export type InitiateAuthenticationRequest = Infer<typeof InitiateAuthenticationRequest>;

/** 80 transactionId, 30 serverSigned1, 5F37 serverSignature1, 04 euiccCiPKIdToBeUsed, 30 serverCertificate */
export const InitiateAuthenticationOkEs9 = seq('InitiateAuthenticationOkEs9', {
  transactionId: implicit(0, TransactionId),
  serverSigned1: ServerSigned1,
  serverSignature1: Signature,
  euiccCiPKIdToBeUsed: SubjectKeyIdentifier,
  serverCertificate: Certificate,
});
export type InitiateAuthenticationOkEs9 = Infer<typeof InitiateAuthenticationOkEs9>;

/** 'BF39' { A0 InitiateAuthenticationOkEs9 | 81 initiateAuthenticationError } */
export const InitiateAuthenticationResponse = explicit(
  0xbf39,
  choice('InitiateAuthenticationResponse', {
    initiateAuthenticationOk: implicit(0, InitiateAuthenticationOkEs9),
    initiateAuthenticationError: implicit(1, integer()),
  }),
);
export type InitiateAuthenticationResponse = Infer<typeof InitiateAuthenticationResponse>;

// ---------------------------------------------------------------------------
// AuthenticateClient (5.6.3)

/** 'BF3B' { 80 transactionId, BF38 authenticateServerResponse } */
export const AuthenticateClientRequest = implicit(
  0xbf3b,
  seq('AuthenticateClientRequest', {
    transactionId: implicit(0, TransactionId),
    authenticateServerResponse: AuthenticateServerResponse,
  }),
);
export type AuthenticateClientRequest = Infer<typeof AuthenticateClientRequest>;

/** 80 transactionId, BF25 profileMetaData, 30 smdpSigned2, 5F37 smdpSignature2, 30 smdpCertificate */
export const AuthenticateClientOk = seq('AuthenticateClientOk', {
  transactionId: implicit(0, TransactionId),
  profileMetaData: StoreMetadataRequest,
  smdpSigned2: SmdpSigned2,
  smdpSignature2: Signature,
  smdpCertificate: Certificate,
});
export type AuthenticateClientOk = Infer<typeof AuthenticateClientOk>;

/** 'BF3B' { A0 AuthenticateClientOk | 81 authenticateClientError } */
export const AuthenticateClientResponseEs9 = explicit(
  0xbf3b,
  choice('AuthenticateClientResponseEs9', {
    authenticateClientOk: implicit(0, AuthenticateClientOk),
    authenticateClientError: implicit(1, integer()),
  }),
);
export type AuthenticateClientResponseEs9 = Infer<typeof AuthenticateClientResponseEs9>;

// ---------------------------------------------------------------------------
// GetBoundProfilePackage (5.6.2)

/** 'BF3A' { 80 transactionId, BF21 prepareDownloadResponse } */
export const GetBoundProfilePackageRequest = implicit(
  0xbf3a,
  seq('GetBoundProfilePackageRequest', {
    transactionId: implicit(0, TransactionId),
    prepareDownloadResponse: PrepareDownloadResponse,
  }),
);
export type GetBoundProfilePackageRequest = Infer<typeof GetBoundProfilePackageRequest>;

/** 80 transactionId, BF36 boundProfilePackage */
export const GetBoundProfilePackageOk = seq('GetBoundProfilePackageOk', {
  transactionId: implicit(0, TransactionId),
  boundProfilePackage: BoundProfilePackage,
});
export type GetBoundProfilePackageOk = Infer<typeof GetBoundProfilePackageOk>;

/** 'BF3A' { A0 GetBoundProfilePackageOk | 81 getBoundProfilePackageError } */
export const GetBoundProfilePackageResponse = explicit(
  0xbf3a,
  choice('GetBoundProfilePackageResponse', {
    getBoundProfilePackageOk: implicit(0, GetBoundProfilePackageOk),
    getBoundProfilePackageError: implicit(1, integer()),
  }),
);
export type GetBoundProfilePackageResponse = Infer<typeof GetBoundProfilePackageResponse>;

// ---------------------------------------------------------------------------
// HandleNotification (5.6.4)

/** 'BF3D' { A0 { BF37 | 30 } }: the only component is an untagged CHOICE, automatically tagged [0] and so EXPLICIT. */
export const HandleNotification = implicit(0xbf3d, seq('HandleNotification', { pendingNotification: explicit(0, PendingNotification) }));
export type HandleNotification = Infer<typeof HandleNotification>;

// ---------------------------------------------------------------------------
// CancelSession (5.6.5)

/** 'BF41' { 80 transactionId, A1 { A0 ... | 81 ... } }: [1] IMPLICIT replaces CancelSessionResponse's own BF41. */
export const CancelSessionRequestEs9 = implicit(
  0xbf41,
  seq('CancelSessionRequestEs9', {
    transactionId: implicit(0, TransactionId),
    cancelSessionResponse: implicit(1, CancelSessionResponse),
  }),
);
export type CancelSessionRequestEs9 = Infer<typeof CancelSessionRequestEs9>;

export const CancelSessionOk = seq('CancelSessionOk', {});
export type CancelSessionOk = Infer<typeof CancelSessionOk>;

/** 'BF41' { A0 {} | 81 cancelSessionError } */
export const CancelSessionResponseEs9 = explicit(
  0xbf41,
  choice('CancelSessionResponseEs9', {
    cancelSessionOk: implicit(0, CancelSessionOk),
    cancelSessionError: implicit(1, integer()),
  }),
);
export type CancelSessionResponseEs9 = Infer<typeof CancelSessionResponseEs9>;

// ---------------------------------------------------------------------------
// Wrappers (6.6): [2] CHOICE, so EXPLICIT 'A2'; alternatives keep their own tags

export const RemoteProfileProvisioningRequest = explicit(
  2,
  choice('RemoteProfileProvisioningRequest', {
    initiateAuthenticationRequest: InitiateAuthenticationRequest,
    authenticateClientRequest: AuthenticateClientRequest,
    getBoundProfilePackageRequest: GetBoundProfilePackageRequest,
    cancelSessionRequestEs9: CancelSessionRequestEs9,
    handleNotification: HandleNotification,
  }),
);
export type RemoteProfileProvisioningRequest = Infer<typeof RemoteProfileProvisioningRequest>;

export const RemoteProfileProvisioningResponse = explicit(
  2,
  choice('RemoteProfileProvisioningResponse', {
    initiateAuthenticationResponse: InitiateAuthenticationResponse,
    authenticateClientResponseEs9: AuthenticateClientResponseEs9,
    getBoundProfilePackageResponse: GetBoundProfilePackageResponse,
    cancelSessionResponseEs9: CancelSessionResponseEs9,
    authenticateClientResponseEs11: AuthenticateClientResponseEs11,
  }),
);
export type RemoteProfileProvisioningResponse = Infer<typeof RemoteProfileProvisioningResponse>;
