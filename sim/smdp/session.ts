// RSP session state machine, one per transactionId (SGP.22 3.1.3 common mutual
// authentication, 5.6.1-5.6.5 ES9+, 5.8.1-5.8.2 ES11): what each ES9+/ES11 function
// requires of the session and what it leaves it in. Sessions are persisted (db.ts)
// after every step so that a restarted server continues them. A function called in a
// state that does not allow it is answered like an unknown transaction (8.10.1/3.9).
import type { CurveName } from '../crypto/curves.ts';
import type { StatusCode } from '../rsp/json.ts';

export type SessionKind = 'es9' | 'es11';

export type SessionState =
  /** after InitiateAuthentication: serverChallenge issued */
  | 'authInitiated'
  /** after AuthenticateClient (ES9+): eUICC authenticated, order selected, smdpSigned2 issued */
  | 'clientAuthenticated'
  /** after GetBoundProfilePackage: BPP delivered (may be fetched again in the same session) */
  | 'bppDelivered'
  /** ProfileInstallationResult received (ES9+), or events delivered (ES11) */
  | 'completed'
  /** CancelSession received */
  | 'cancelled'
  /** a function failed: only CancelSession is still accepted */
  | 'failed';

export type SessionFunction = 'authenticateClient' | 'getBoundProfilePackage' | 'handleNotification' | 'cancelSession' | 'es11.authenticateClient';

/** States in which each function may run. */
export const SESSION_ALLOWS: Readonly<Record<SessionFunction, readonly SessionState[]>> = {
  authenticateClient: ['authInitiated'],
  'es11.authenticateClient': ['authInitiated'],
  getBoundProfilePackage: ['clientAuthenticated', 'bppDelivered'],
  handleNotification: ['bppDelivered'],
  cancelSession: ['authInitiated', 'clientAuthenticated', 'bppDelivered', 'failed'],
};

export const SESSION_KIND_OF: Readonly<Record<SessionFunction, SessionKind>> = {
  authenticateClient: 'es9',
  'es11.authenticateClient': 'es11',
  getBoundProfilePackage: 'es9',
  handleNotification: 'es9',
  cancelSession: 'es9',
};

export function sessionAllows(session: Pick<SessionRecord, 'kind' | 'state'>, fn: SessionFunction): boolean {
  return session.kind === SESSION_KIND_OF[fn] && SESSION_ALLOWS[fn].includes(session.state);
}

/** Persisted session (hex strings for bytes; no private key is ever stored here). */
export interface SessionRecord {
  /** uppercase hex */
  transactionId: string;
  kind: SessionKind;
  state: SessionState;
  createdAt: number;
  updatedAt: number;
  /** curve of the CI / DPauth / DPpb / ECKA keys chosen for this session */
  curve: CurveName;
  /** CI key id (lowercase hex) the eUICC verifies our certificates with (euiccCiPKIdToBeUsed) */
  ciKeyId: string;
  /** euiccCiPKIdListForSigning (lowercase hex): CIs the eUICC's certificate may chain to */
  signingCiKeyIds: string[];
  euiccChallenge: string;
  serverChallenge: string;
  /** serverAddress as put in serverSigned1 */
  serverAddress: string;
  eid?: string;
  /** DER of the eUICC certificate (hex) once authenticated */
  euiccCertificate?: string;
  orderId?: string;
  iccid?: string;
  /** DER of smdpSigned2 (hex) and the raw smdpSignature2 (hex) */
  smdpSigned2?: string;
  smdpSignature2?: string;
  ccRequired?: boolean;
  /** otPK.EUICC.ECKA offered for reuse in smdpSigned2 (hex) */
  bppEuiccOtpk?: string;
  /** otPK.EUICC.ECKA the BPP of this session is bound to (hex) */
  euiccOtpk?: string;
  /** key of this session's BPP in the bpp store */
  bppKey?: string;
  failure?: StatusCode;
  cancelReason?: number;
}
