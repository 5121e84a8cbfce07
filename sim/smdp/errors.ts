// Typed errors of the test SM-DP+ and the subject/reason codes it answers with
// (SGP.22 6.5.1.4 statusCodeData; ES9+ 5.6, ES2+ 5.3, ES11 5.8). The codes LPAs know
// are `Status` in sim/rsp/json.ts; SMDP_STATUS adds the few ES2+/ES11/HTTP-level ones
// this server also needs (marked "bridgelab choice" where SGP.22 v2.x was not at hand).
// Every failure a handler detects is an RspFunctionError carrying its StatusCode.
import { Status, type StatusCode } from '../rsp/json.ts';

export { Status };
export type { StatusCode };

/** Codes not in the shared LPA table. */
export const SMDP_STATUS = {
  /** ES2+: the ICCID is not Available (5.3.1 "Profile ICCID - Already in use"). */
  IccidInUse: { subjectCode: '8.2.1', reasonCode: '3.3', message: 'Profile ICCID already in use' },
  /** ES2+: the profile's order belongs to another function requester (5.3.x "Profile ICCID - Not allowed (Authorisation)"). */
  IccidNotAllowed: { subjectCode: '8.2.1', reasonCode: '1.2', message: 'Profile ICCID not allowed for this function requester' },
  /** ES2+: the profile is not in a state that allows this function (5.3.x "Invalid transition"). */
  InvalidTransition: { subjectCode: '8.2.1', reasonCode: '3.5', message: 'Profile not in a state that allows this function' },
  /** ES2+.ConfirmOrder: the MatchingID is used by another order. */
  MatchingIdInUse: { subjectCode: '8.2.6', reasonCode: '3.3', message: 'MatchingID already in use' },
  /** ES2+: the EID is not 32 digits with valid check digits (bridgelab choice). */
  EidInvalid: { subjectCode: '8.1.1', reasonCode: '2.1', message: 'EID invalid' },
  /** ES11.InitiateAuthentication: the address is not this SM-DS (bridgelab choice, mirrors 8.8.1). */
  InvalidSmdsAddress: { subjectCode: '8.9.1', reasonCode: '3.8', message: 'Invalid SM-DS address' },
  /** ES11.AuthenticateClient: an eventId (matchingId) was given that is not registered for this EID (bridgelab choice). */
  EventIdUnknown: { subjectCode: '8.9.5', reasonCode: '3.9', message: 'EventID unknown' },
  /** The eUICC answered AuthenticateServer/PrepareDownload with an error instead of a signed response (bridgelab choice). */
  EuiccReturnedError: { subjectCode: '8.1', reasonCode: '4.2', message: 'The eUICC returned an error' },
  /** A request field is malformed (HTTP 400; bridgelab choice: function requester / invalid format). */
  InvalidRequest: { subjectCode: '1.1', reasonCode: '2.1', message: 'Invalid request' },
  /** A mandatory request field is missing (HTTP 400). */
  MissingElement: { subjectCode: '1.1', reasonCode: '2.2', message: 'Mandatory element missing' },
  /** ES2+ caller without an acceptable client certificate (HTTP 403). */
  NotAllowed: { subjectCode: '1.1', reasonCode: '1.2', message: 'Function requester not allowed' },
} as const satisfies Record<string, StatusCode>;

/** Base class of every error raised by sim/smdp. */
export class SmdpError extends Error {
  override readonly name: string = 'SmdpError';
}

/**
 * A function failed with an SGP.22 status: becomes `header.functionExecutionStatus`
 * { status: Failed, statusCodeData } with HTTP `httpStatus` (200 for every function
 * result, 400/403 for requests refused before the function runs).
 */
export class RspFunctionError extends SmdpError {
  override readonly name = 'RspFunctionError';
  constructor(
    readonly status: StatusCode,
    message: string = status.message,
    readonly httpStatus: number = 200,
  ) {
    super(message);
  }

  get subjectCode(): string {
    return this.status.subjectCode;
  }

  get reasonCode(): string {
    return this.status.reasonCode;
  }
}

/**
 * The data dir holds state that cannot be used: a missing, empty, truncated or damaged
 * database next to the traces of an earlier run, or records that fail their checks. The
 * message names the file and what to do (CLI exit 1).
 */
export class SmdpStateError extends SmdpError {
  override readonly name = 'SmdpStateError';
}

/** Invalid options, JSON config or control request (CLI exit 2). */
export class SmdpConfigError extends SmdpError {
  override readonly name = 'SmdpConfigError';
}
