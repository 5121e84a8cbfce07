// Typed errors of the test LPA (SGP.23 S_LPAd): APDU-level failures of the ES10 driver
// (SGP.22 5.7, status words of ISO 7816-4 / GP), eUICC result codes of ES10a/b/c
// responses with their RSPDefinitions names, ES9+/ES11 failures (SGP.22 5.6, 5.8,
// 6.5.1.4 functionExecutionStatus) and transport failures (HTTPS, vpcd), and the
// checks the LPA itself makes during a download (SGP.22 3.1.2 / 3.1.3). Each error
// names what failed so reports and the lpac-style JSON output can show it.
import { formatSw, swName } from '../apdu/sw.ts';
import type { StatusCodeData, ExecutionStatus, StatusName } from '../rsp/json.ts';

/** Base of every error the LPA raises on purpose. `related` keeps secondary failures (cleanup). */
export class LpaError extends Error {
  override readonly name: string = 'LpaError';
  /** errors of clean-up actions (CancelSession, channel close) that ran after this one */
  readonly related: unknown[] = [];
  /** step of the flow that failed, when known */
  step?: string;
}

/** A command ended with a status word other than 9000/91xx/92xx. */
export class ApduError extends LpaError {
  override readonly name = 'ApduError';
  readonly swHex: string;
  readonly swName: string;
  constructor(
    /** what was sent: 'MANAGE CHANNEL', 'SELECT ISD-R', 'STORE DATA GetEID', ... */
    readonly command: string,
    readonly sw: number,
    /** the C-APDU that got the SW (hex) */
    readonly capduHex?: string,
  ) {
    super(`${command}: SW ${formatSw(sw)} (${swName(sw)})`);
    this.swHex = formatSw(sw);
    this.swName = swName(sw);
  }
}

/**
 * An R-APDU longer than the LPA's receive buffer: what a PC/SC LPA gets from SCardTransmit
 * as SCARD_E_INSUFFICIENT_BUFFER (lpac: 264 bytes). A short command (ISO/IEC 7816-3 12.1.3)
 * never needs more than 256 data bytes + SW1 SW2.
 */
export class ReceiveBufferError extends LpaError {
  override readonly name = 'ReceiveBufferError';
  constructor(
    readonly capduHex: string,
    readonly length: number,
    readonly receiveBuffer: number,
  ) {
    super(`R-APDU of ${length} bytes to ${capduHex.slice(0, 16)}... exceeds the LPA's ${receiveBuffer}-byte receive buffer (SCARD_E_INSUFFICIENT_BUFFER on PC/SC)`);
  }
}

/** An ES10 response that is missing or does not decode as the expected type. */
export class Es10ResponseError extends LpaError {
  override readonly name = 'Es10ResponseError';
  constructor(
    readonly fn: string,
    readonly problem: 'empty' | 'malformed' | 'unexpected',
    message: string,
    /** the response data received */
    readonly response: Uint8Array,
    options?: { cause?: unknown },
  ) {
    super(`${fn}: ${message}`, options);
  }
}

/**
 * The eUICC answered an ES10 function with an error/result code other than ok: the SGP.22
 * code (e.g. AuthenticateErrorCode 6 euiccChallengeMismatch, EnableProfile 2
 * profileNotInDisabledState) and its RSPDefinitions name.
 */
export class EuiccResultError extends LpaError {
  override readonly name: string = 'EuiccResultError';
  constructor(
    /** ES10 function, e.g. 'ES10b.AuthenticateServer' */
    readonly fn: string,
    /** ASN.1 type of the code, e.g. 'AuthenticateErrorCode' */
    readonly codeType: string,
    readonly code: number,
    readonly codeName: string,
    message?: string,
  ) {
    super(message ?? `${fn} failed: ${codeType} ${code} (${codeName})`);
  }
}

/** ProfileInstallationResult with an errorResult (SGP.22 5.7.6): bppCommandId and errorReason with names. */
export class ProfileInstallationError extends EuiccResultError {
  override readonly name = 'ProfileInstallationError';
  constructor(
    readonly bppCommandId: number,
    readonly bppCommandName: string,
    readonly errorReason: number,
    readonly errorReasonName: string,
    /** DER of the ProfileInstallationResult ('BF37') */
    readonly profileInstallationResult: Uint8Array,
  ) {
    super(
      'ES10b.LoadBoundProfilePackage',
      'ErrorReason',
      errorReason,
      errorReasonName,
      `profile installation failed at ${bppCommandName} (bppCommandId ${bppCommandId}): ${errorReasonName} (errorReason ${errorReason})`,
    );
  }
}

/** An ES9+/ES11 function answered with functionExecutionStatus Failed or Expired. */
export class Es9Error extends LpaError {
  override readonly name = 'Es9Error';
  readonly subjectCode: string;
  readonly reasonCode: string;
  readonly subjectIdentifier: string | undefined;
  readonly serverMessage: string | undefined;
  constructor(
    /** 'ES9+.initiateAuthentication', 'ES11.authenticateClient' ... */
    readonly fn: string,
    readonly status: ExecutionStatus,
    readonly statusCodeData: StatusCodeData,
    /** the Status table name of the subject/reason pair, when known */
    readonly statusName: StatusName | undefined,
  ) {
    const what = statusName ? ` ${statusName}` : '';
    const msg = statusCodeData.message ? `: ${statusCodeData.message}` : '';
    super(`${fn} ${status}, subject ${statusCodeData.subjectCode} reason ${statusCodeData.reasonCode}${what}${msg}`);
    this.subjectCode = statusCodeData.subjectCode;
    this.reasonCode = statusCodeData.reasonCode;
    this.subjectIdentifier = statusCodeData.subjectIdentifier;
    this.serverMessage = statusCodeData.message;
  }
}

export type Es9TransportProblem = 'http-status' | 'malformed-json' | 'invalid-message' | 'timeout' | 'tls' | 'network' | 'too-large';

/** The HTTPS exchange itself failed: connection, TLS, timeout, a response over the size limit, HTTP status, or a body that is not the expected JSON. */
export class Es9TransportError extends LpaError {
  override readonly name = 'Es9TransportError';
  constructor(
    readonly fn: string,
    readonly problem: Es9TransportProblem,
    message: string,
    readonly details: { httpStatus?: number; body?: string; code?: string; field?: string } = {},
    options?: { cause?: unknown },
  ) {
    super(`${fn}: ${message}`, options);
  }
}

export type LpaCheck = 'serverAddress' | 'transactionId' | 'euiccChallenge';

/** A check the LPA makes on what the SM-DP+/SM-DS sent failed (SGP.22 3.1.2); the session was cancelled. */
export class LpaCheckError extends LpaError {
  override readonly name = 'LpaCheckError';
  constructor(
    readonly check: LpaCheck,
    readonly where: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`LPA check ${check} failed in ${where}: expected ${expected}, got ${actual}`);
  }
}

/** The download was cancelled on purpose (end user rejection, postponement, missing confirmation code). */
export class DownloadCancelledError extends LpaError {
  override readonly name = 'DownloadCancelledError';
  constructor(
    readonly reason: number,
    readonly reasonName: string,
    message: string,
  ) {
    super(message);
  }
}

/** ccRequiredFlag was set and no confirmation code was available; the session was cancelled. */
export class ConfirmationCodeRequiredError extends LpaError {
  override readonly name = 'ConfirmationCodeRequiredError';
  constructor() {
    super('the SM-DP+ requires a confirmation code (ccRequiredFlag) and none was given');
  }
}

/** Something the flow needs is not there (no default SM-DP+ address, no SM-DS address, no event). */
export class LpaConfigurationError extends LpaError {
  override readonly name = 'LpaConfigurationError';
}

export type VpcdTransportProblem = 'timeout' | 'closed' | 'protocol' | 'not-connected';

/** The vpcd link to the bridge failed. */
export class VpcdTransportError extends LpaError {
  override readonly name = 'VpcdTransportError';
  constructor(
    readonly problem: VpcdTransportProblem,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** JSON-friendly description of an error (the `data` of lpac-style failure output, report attachments). */
export function describeError(err: unknown): Record<string, string | number | null> {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err) };
  const out: Record<string, string | number | null> = { name: err.name, message: err.message };
  if (err instanceof LpaError && err.step !== undefined) out['step'] = err.step;
  if (err instanceof ApduError) Object.assign(out, { command: err.command, sw: err.swHex, swName: err.swName });
  if (err instanceof EuiccResultError) Object.assign(out, { function: err.fn, codeType: err.codeType, code: err.code, codeName: err.codeName });
  if (err instanceof ProfileInstallationError)
    Object.assign(out, { bppCommandId: err.bppCommandId, bppCommandName: err.bppCommandName, errorReason: err.errorReason, errorReasonName: err.errorReasonName });
  if (err instanceof Es9Error)
    Object.assign(out, { function: err.fn, status: err.status, subjectCode: err.subjectCode, reasonCode: err.reasonCode, statusName: err.statusName ?? null, serverMessage: err.serverMessage ?? null });
  if (err instanceof Es9TransportError) Object.assign(out, { function: err.fn, problem: err.problem, httpStatus: err.details.httpStatus ?? null });
  if (err instanceof LpaCheckError) Object.assign(out, { check: err.check, expected: err.expected, actual: err.actual });
  if (err instanceof DownloadCancelledError) Object.assign(out, { reason: err.reason, reasonName: err.reasonName });
  if (err instanceof VpcdTransportError) Object.assign(out, { problem: err.problem });
  if (err instanceof ReceiveBufferError) Object.assign(out, { length: err.length, receiveBuffer: err.receiveBuffer });
  return out;
}
