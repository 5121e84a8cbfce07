// HTTP/JSON binding of ES9+ and ES11 (SGP.22 6.5, 6.5.1 common header, 6.5.2 functions)
// and the ES2+ messages (SGP.22 5.3, same JSON conventions): strict base64 <-> bytes,
// uppercase-hex transactionId, functionExecutionStatus builders, the subject/reason codes
// LPAs know (SGP.22 subject/reason codes of each function) as named constants, typed request/response shapes and
// validators that throw a JsonFieldError naming the missing or invalid field.
import { type Codec, decode, DerError } from './der.ts';

// ---------------------------------------------------------------------------
// Errors

export type JsonProblem = 'missing' | 'invalid';

/** A JSON message field is missing or malformed. `field` is a dotted path ("header.functionExecutionStatus.status"). */
export class JsonFieldError extends Error {
  override readonly name = 'JsonFieldError';
  constructor(
    readonly problem: JsonProblem,
    readonly field: string,
    message: string,
    /** the DER decoding error when a base64 field did not hold the expected ASN.1 type */
    readonly derError?: DerError,
  ) {
    super(`${field}: ${message}`);
  }
}

// ---------------------------------------------------------------------------
// base64 and hex

const B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function bytesToBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/**
 * Strict base64 (RFC 4648 section 4 alphabet, padding required, no whitespace, no
 * non-zero pad bits). Node's own decoder silently skips bad characters: we do not.
 */
export function base64ToBytes(text: string, field = 'value'): Uint8Array {
  if (!B64.test(text)) {
    const bad = /[^A-Za-z0-9+/=]/.exec(text);
    const why = bad ? `character '${bad[0]}' at position ${bad.index}` : `length ${text.length} or padding`;
    throw new JsonFieldError('invalid', field, `not strict base64 (${why})`);
  }
  const bytes = new Uint8Array(Buffer.from(text, 'base64'));
  if (bytesToBase64(bytes) !== text) throw new JsonFieldError('invalid', field, 'not canonical base64 (non-zero padding bits)');
  return bytes;
}

/** transactionId in JSON: the 1..16 bytes as uppercase hex (SGP.22 6.5.2). */
export function transactionIdToHex(id: Uint8Array): string {
  if (id.byteLength < 1 || id.byteLength > 16) throw new RangeError(`transactionId must be 1..16 bytes, got ${id.byteLength}`);
  return Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('hex').toUpperCase();
}

/** Parse a JSON transactionId. Lowercase is accepted unless `strictCase` (SGP.22 asks senders for uppercase). */
export function transactionIdFromHex(text: string, field = 'transactionId', strictCase = false): Uint8Array {
  const re = strictCase ? /^(?:[0-9A-F]{2}){1,16}$/ : /^(?:[0-9A-Fa-f]{2}){1,16}$/;
  if (!re.test(text)) throw new JsonFieldError('invalid', field, `expected 2..32 ${strictCase ? 'uppercase ' : ''}hex digits (1..16 bytes), got "${text}"`);
  return new Uint8Array(Buffer.from(text, 'hex'));
}

// ---------------------------------------------------------------------------
// Headers (6.5.1.3 request header, 6.5.1.4 response header)

export type ExecutionStatus = 'Executed-Success' | 'Executed-WithWarning' | 'Failed' | 'Expired';
export const EXECUTION_STATUSES: readonly ExecutionStatus[] = ['Executed-Success', 'Executed-WithWarning', 'Failed', 'Expired'];

export interface StatusCodeData {
  subjectCode: string;
  reasonCode: string;
  subjectIdentifier?: string;
  message?: string;
}

export interface FunctionExecutionStatus {
  status: ExecutionStatus;
  statusCodeData?: StatusCodeData;
}

export interface ResponseHeader {
  functionExecutionStatus: FunctionExecutionStatus;
}

/** ES2+ requests (and optionally ES9+ ones) carry this header. */
export interface RequestHeader {
  functionRequesterIdentifier: string;
  functionCallIdentifier: string;
}

/** A subject/reason pair with a default message. */
export interface StatusCode {
  readonly subjectCode: string;
  readonly reasonCode: string;
  readonly message: string;
}

/**
 * Subject/reason codes of SGP.22 6.5.2/5.3 that LPAs recognise (lpac's table,
 * SGP.22 5.6 per function). Messages are ours.
 */
export const Status = {
  InsufficientMemory: { subjectCode: '8.1', reasonCode: '4.8', message: 'eUICC does not have sufficient space for this Profile' },
  EuiccSignatureInvalid: { subjectCode: '8.1', reasonCode: '6.1', message: 'eUICC signature invalid or serverChallenge invalid' },
  EidMissing: { subjectCode: '8.1.1', reasonCode: '2.2', message: 'EID is missing' },
  EidRefused: { subjectCode: '8.1.1', reasonCode: '3.8', message: 'EID does not match the one of the download order' },
  EumCertificateInvalid: { subjectCode: '8.1.2', reasonCode: '6.1', message: 'EUM certificate invalid' },
  EumCertificateExpired: { subjectCode: '8.1.2', reasonCode: '6.3', message: 'EUM certificate expired' },
  EuiccCertificateInvalid: { subjectCode: '8.1.3', reasonCode: '6.1', message: 'eUICC certificate invalid' },
  EuiccCertificateExpired: { subjectCode: '8.1.3', reasonCode: '6.3', message: 'eUICC certificate expired' },
  ProfileNotReleased: { subjectCode: '8.2', reasonCode: '1.2', message: 'Profile has not yet been released' },
  BppNotAvailableForNewBinding: { subjectCode: '8.2', reasonCode: '3.7', message: 'BPP is not available for a new binding' },
  IccidUnknown: { subjectCode: '8.2.1', reasonCode: '3.9', message: 'ICCID unknown' },
  NoEligibleProfile: { subjectCode: '8.2.5', reasonCode: '4.3', message: 'No eligible Profile for this eUICC/Device' },
  MatchingIdRefused: { subjectCode: '8.2.6', reasonCode: '3.8', message: 'MatchingID refused' },
  ConfirmationCodeMissing: { subjectCode: '8.2.7', reasonCode: '2.2', message: 'Confirmation code is missing' },
  ConfirmationCodeRefused: { subjectCode: '8.2.7', reasonCode: '3.8', message: 'Confirmation code refused' },
  ConfirmationCodeRetriesExceeded: { subjectCode: '8.2.7', reasonCode: '6.4', message: 'Maximum number of confirmation code attempts exceeded' },
  InvalidSmdpOid: { subjectCode: '8.8', reasonCode: '3.1', message: 'SM-DP+ OID invalid' },
  InvalidSmdpAddress: { subjectCode: '8.8.1', reasonCode: '3.8', message: 'Invalid SM-DP+ address' },
  NoSupportedCiPkId: { subjectCode: '8.8.2', reasonCode: '3.1', message: 'None of the proposed CI public key identifiers is supported' },
  UnsupportedSvn: { subjectCode: '8.8.3', reasonCode: '3.1', message: 'The eUICC SGP.22 version is not supported' },
  NoDpAuthCertificateForCi: { subjectCode: '8.8.4', reasonCode: '3.7', message: 'No SM-DP+ authentication certificate for the requested CI' },
  DownloadOrderExpired: { subjectCode: '8.8.5', reasonCode: '4.10', message: 'The download order has expired' },
  MaxRetriesExceeded: { subjectCode: '8.8.5', reasonCode: '6.4', message: 'Maximum number of download attempts exceeded' },
  UnknownTransactionId: { subjectCode: '8.10.1', reasonCode: '3.9', message: 'TransactionId unknown' },
  UnknownCiPublicKey: { subjectCode: '8.11.1', reasonCode: '3.9', message: 'Unknown CI public key' },
} as const satisfies Record<string, StatusCode>;
export type StatusName = keyof typeof Status;

/** Find the named status of a received statusCodeData (undefined for codes not in the table). */
export function statusNameOf(data: Pick<StatusCodeData, 'subjectCode' | 'reasonCode'>): StatusName | undefined {
  for (const [name, s] of Object.entries(Status) as [StatusName, StatusCode][])
    if (s.subjectCode === data.subjectCode && s.reasonCode === data.reasonCode) return name;
  return undefined;
}

export function executedSuccess(): { header: ResponseHeader } {
  return { header: { functionExecutionStatus: { status: 'Executed-Success' } } };
}

export function executedWithWarning(code: StatusCode, extra: { subjectIdentifier?: string; message?: string } = {}): { header: ResponseHeader } {
  return { header: { functionExecutionStatus: { status: 'Executed-WithWarning', statusCodeData: statusCodeData(code, extra) } } };
}

/** `header.functionExecutionStatus` of a failed function, e.g. `failed(Status.UnknownTransactionId)`. */
export function failed(code: StatusCode, extra: { subjectIdentifier?: string; message?: string } = {}): { header: ResponseHeader } {
  return { header: { functionExecutionStatus: { status: 'Failed', statusCodeData: statusCodeData(code, extra) } } };
}

export function expired(code: StatusCode, extra: { subjectIdentifier?: string; message?: string } = {}): { header: ResponseHeader } {
  return { header: { functionExecutionStatus: { status: 'Expired', statusCodeData: statusCodeData(code, extra) } } };
}

function statusCodeData(code: StatusCode, extra: { subjectIdentifier?: string; message?: string }): StatusCodeData {
  const out: StatusCodeData = { subjectCode: code.subjectCode, reasonCode: code.reasonCode };
  if (extra.subjectIdentifier !== undefined) out.subjectIdentifier = extra.subjectIdentifier;
  out.message = extra.message ?? code.message;
  return out;
}

/** True for Executed-Success and Executed-WithWarning. */
export function isExecuted(header: ResponseHeader): boolean {
  const s = header.functionExecutionStatus.status;
  return s === 'Executed-Success' || s === 'Executed-WithWarning';
}

// ---------------------------------------------------------------------------
// HTTP conventions (6.5.1)

export const ES9P_PATHS = {
  initiateAuthentication: '/gsma/rsp2/es9plus/initiateAuthentication',
  authenticateClient: '/gsma/rsp2/es9plus/authenticateClient',
  getBoundProfilePackage: '/gsma/rsp2/es9plus/getBoundProfilePackage',
  handleNotification: '/gsma/rsp2/es9plus/handleNotification',
  cancelSession: '/gsma/rsp2/es9plus/cancelSession',
} as const;

export const ES2P_PATHS = {
  downloadOrder: '/gsma/rsp2/es2plus/downloadOrder',
  confirmOrder: '/gsma/rsp2/es2plus/confirmOrder',
  cancelOrder: '/gsma/rsp2/es2plus/cancelOrder',
  releaseProfile: '/gsma/rsp2/es2plus/releaseProfile',
  handleDownloadProgressInfo: '/gsma/rsp2/es2plus/handleDownloadProgressInfo',
} as const;

export const RSP_HTTP_HEADERS = {
  contentType: 'application/json',
  /** X-Admin-Protocol value prefix; full value e.g. gsma/rsp/v2.2.0 */
  adminProtocolPrefix: 'gsma/rsp/v2.',
  lpaUserAgent: 'gsma-rsp-lpad',
} as const;

// ---------------------------------------------------------------------------
// Message shapes. Binary fields are base64 DER strings; names per SGP.22 6.5.2.

/** A failed or expired function answers with the header only. */
export interface FailedResponseJson {
  header: ResponseHeader;
}
export type ResponseJson<Ok> = (Ok & { header: ResponseHeader }) | FailedResponseJson;

/** Narrow a validated response to its success shape. */
export function isOk<Ok>(r: ResponseJson<Ok>): r is Ok & { header: ResponseHeader } {
  return isExecuted(r.header);
}

// ES9+ (6.5.2.6-6.5.2.10)
export interface InitiateAuthenticationRequestJson {
  header?: RequestHeader;
  euiccChallenge: string;
  euiccInfo1: string;
  smdpAddress: string;
}
export interface InitiateAuthenticationOkJson {
  transactionId: string;
  serverSigned1: string;
  serverSignature1: string;
  euiccCiPKIdToBeUsed: string;
  serverCertificate: string;
}
export interface AuthenticateClientRequestJson {
  header?: RequestHeader;
  transactionId: string;
  authenticateServerResponse: string;
}
export interface AuthenticateClientOkJson {
  transactionId: string;
  profileMetadata: string;
  smdpSigned2: string;
  smdpSignature2: string;
  smdpCertificate: string;
}
export interface GetBoundProfilePackageRequestJson {
  header?: RequestHeader;
  transactionId: string;
  prepareDownloadResponse: string;
}
export interface GetBoundProfilePackageOkJson {
  transactionId: string;
  boundProfilePackage: string;
}
/** handleNotification: the SM-DP+ answers HTTP 204 without a body. */
export interface HandleNotificationRequestJson {
  header?: RequestHeader;
  pendingNotification: string;
}
export interface CancelSessionRequestJson {
  header?: RequestHeader;
  transactionId: string;
  cancelSessionResponse: string;
}
/** cancelSession: success carries the header only. */
export type CancelSessionOkJson = object;

// ES11 (SM-DS, 6.5.2.11-6.5.2.12)
export interface Es11InitiateAuthenticationRequestJson {
  header?: RequestHeader;
  euiccChallenge: string;
  euiccInfo1: string;
  /** SGP.22 names it smdsAddress; lpac sends smdpAddress to the SM-DS too (both accepted). */
  smdsAddress: string;
}
export interface EventEntryJson {
  eventId: string;
  rspServerAddress: string;
}
export interface Es11AuthenticateClientOkJson {
  transactionId?: string;
  eventEntries: EventEntryJson[];
}

// ES2+ (functions 5.3.1-5.3.5, JSON 6.5.2.1-6.5.2.5)
export interface DownloadOrderRequestJson {
  header: RequestHeader;
  eid?: string;
  iccid?: string;
  profileType?: string;
}
export interface DownloadOrderOkJson {
  iccid: string;
}
export interface ConfirmOrderRequestJson {
  header: RequestHeader;
  iccid: string;
  eid?: string;
  matchingId?: string;
  confirmationCode?: string;
  smdsAddress?: string;
  releaseFlag: boolean;
}
export interface ConfirmOrderOkJson {
  eid?: string;
  matchingId: string;
  smdpAddress?: string;
}
export type FinalProfileStatusIndicator = 'Available' | 'Unavailable';
export interface CancelOrderRequestJson {
  header: RequestHeader;
  iccid: string;
  eid?: string;
  matchingId?: string;
  finalProfileStatusIndicator: FinalProfileStatusIndicator;
}
export interface ReleaseProfileRequestJson {
  header: RequestHeader;
  iccid: string;
}
/** handleDownloadProgressInfo (SM-DP+ -> operator); answered with HTTP 204. */
export interface HandleDownloadProgressInfoRequestJson {
  header: RequestHeader;
  eid?: string;
  iccid: string;
  profileType: string;
  /** W3C date-time, e.g. 2024-05-01T12:00:00Z */
  timestamp: string;
  notificationPointId: number;
  notificationPointStatus: FunctionExecutionStatus;
  /** base64 of the ProfileInstallationResult or other notification, when present */
  resultData?: string;
}

// ---------------------------------------------------------------------------
// Validation

type Kind =
  | 'string'
  | 'base64'
  | 'transactionId'
  | 'boolean'
  | 'integer'
  | 'eid'
  | 'iccid'
  | 'timestamp'
  | 'requestHeader'
  | 'responseHeader'
  | 'executionStatus'
  | 'eventEntries'
  | 'finalProfileStatusIndicator';
interface Rule {
  kind: Kind;
  optional?: boolean;
}
type Rules = Record<string, Rule>;

const req = (kind: Kind): Rule => ({ kind });
const optional = (kind: Kind): Rule => ({ kind, optional: true });

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkValue(kind: Kind, v: unknown, path: string): void {
  const invalid = (why: string): never => {
    throw new JsonFieldError('invalid', path, why);
  };
  const str = (): string => (typeof v === 'string' ? v : invalid(`expected a string, got ${v === null ? 'null' : typeof v}`));
  switch (kind) {
    case 'string':
      str();
      return;
    case 'base64':
      base64ToBytes(str(), path);
      return;
    case 'transactionId':
      transactionIdFromHex(str(), path);
      return;
    case 'boolean':
      if (typeof v !== 'boolean') invalid(`expected a boolean, got ${typeof v}`);
      return;
    case 'integer':
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) invalid('expected an integer');
      return;
    case 'eid':
      if (!/^[0-9]{32}$/.test(str())) invalid('expected 32 decimal digits');
      return;
    case 'iccid':
      if (!/^[0-9]{18,19}[0-9Ff]?$/.test(str())) invalid('expected 19 or 20 digits (optionally padded with F)');
      return;
    case 'timestamp':
      if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(str())) invalid('expected YYYY-MM-DDThh:mm:ssTZD');
      return;
    case 'finalProfileStatusIndicator':
      if (str() !== 'Available' && v !== 'Unavailable') invalid('expected "Available" or "Unavailable"');
      return;
    case 'requestHeader':
      validateObject(v, { functionRequesterIdentifier: req('string'), functionCallIdentifier: req('string') }, path);
      return;
    case 'responseHeader':
      validateObject(v, { functionExecutionStatus: req('executionStatus') }, path);
      return;
    case 'executionStatus': {
      const o = validateObject(v, { status: req('string') }, path);
      if (!EXECUTION_STATUSES.includes(o['status'] as ExecutionStatus)) throw new JsonFieldError('invalid', `${path}.status`, `unknown status "${String(o['status'])}"`);
      if (o['statusCodeData'] !== undefined) {
        const scd = validateObject(
          o['statusCodeData'],
          { subjectCode: req('string'), reasonCode: req('string'), subjectIdentifier: optional('string'), message: optional('string') },
          `${path}.statusCodeData`,
        );
        for (const k of ['subjectCode', 'reasonCode'])
          if (!/^\d+(\.\d+)*$/.test(scd[k] as string)) throw new JsonFieldError('invalid', `${path}.statusCodeData.${k}`, `expected dotted digits, got "${String(scd[k])}"`);
      } else if (o['status'] === 'Failed' || o['status'] === 'Expired') {
        throw new JsonFieldError('missing', `${path}.statusCodeData`, `required when status is ${String(o['status'])}`);
      }
      return;
    }
    case 'eventEntries':
      if (!Array.isArray(v)) invalid('expected an array');
      (v as unknown[]).forEach((e, i) => validateObject(e, { eventId: req('string'), rspServerAddress: req('string') }, `${path}[${i}]`));
      return;
  }
}

function validateObject(json: unknown, rules: Rules, path = ''): Record<string, unknown> {
  if (!isObject(json)) throw new JsonFieldError('invalid', path || '(message)', 'expected a JSON object');
  for (const [key, rule] of Object.entries(rules)) {
    const p = path ? `${path}.${key}` : key;
    const v = json[key];
    if (v === undefined) {
      if (!rule.optional) throw new JsonFieldError('missing', p, 'mandatory field is missing');
      continue;
    }
    checkValue(rule.kind, v, p);
  }
  return json;
}

function validateResponse<Ok>(json: unknown, okRules: Rules): ResponseJson<Ok> {
  const head = validateObject(json, { header: req('responseHeader') }) as unknown as FailedResponseJson;
  if (!isExecuted(head.header)) return head;
  return validateObject(json, okRules) as unknown as Ok & { header: ResponseHeader };
}

// ES9+ requests (validated by the SM-DP+)
export const parseInitiateAuthenticationRequest = (json: unknown): InitiateAuthenticationRequestJson =>
  validateObject(json, { header: optional('requestHeader'), euiccChallenge: req('base64'), euiccInfo1: req('base64'), smdpAddress: req('string') }) as unknown as InitiateAuthenticationRequestJson;
export const parseAuthenticateClientRequest = (json: unknown): AuthenticateClientRequestJson =>
  validateObject(json, { header: optional('requestHeader'), transactionId: req('transactionId'), authenticateServerResponse: req('base64') }) as unknown as AuthenticateClientRequestJson;
export const parseGetBoundProfilePackageRequest = (json: unknown): GetBoundProfilePackageRequestJson =>
  validateObject(json, { header: optional('requestHeader'), transactionId: req('transactionId'), prepareDownloadResponse: req('base64') }) as unknown as GetBoundProfilePackageRequestJson;
export const parseHandleNotificationRequest = (json: unknown): HandleNotificationRequestJson =>
  validateObject(json, { header: optional('requestHeader'), pendingNotification: req('base64') }) as unknown as HandleNotificationRequestJson;
export const parseCancelSessionRequest = (json: unknown): CancelSessionRequestJson =>
  validateObject(json, { header: optional('requestHeader'), transactionId: req('transactionId'), cancelSessionResponse: req('base64') }) as unknown as CancelSessionRequestJson;

// ES9+ responses (validated by the LPA)
export const parseInitiateAuthenticationResponse = (json: unknown): ResponseJson<InitiateAuthenticationOkJson> =>
  validateResponse(json, {
    transactionId: req('transactionId'),
    serverSigned1: req('base64'),
    serverSignature1: req('base64'),
    euiccCiPKIdToBeUsed: req('base64'),
    serverCertificate: req('base64'),
  });
export const parseAuthenticateClientResponse = (json: unknown): ResponseJson<AuthenticateClientOkJson> =>
  validateResponse(json, {
    transactionId: req('transactionId'),
    profileMetadata: req('base64'),
    smdpSigned2: req('base64'),
    smdpSignature2: req('base64'),
    smdpCertificate: req('base64'),
  });
export const parseGetBoundProfilePackageResponse = (json: unknown): ResponseJson<GetBoundProfilePackageOkJson> =>
  validateResponse(json, { transactionId: req('transactionId'), boundProfilePackage: req('base64') });
export const parseCancelSessionResponse = (json: unknown): ResponseJson<CancelSessionOkJson> => validateResponse(json, {});

// ES11
export function parseEs11InitiateAuthenticationRequest(json: unknown): Es11InitiateAuthenticationRequestJson {
  const o = validateObject(json, { header: optional('requestHeader'), euiccChallenge: req('base64'), euiccInfo1: req('base64'), smdsAddress: optional('string'), smdpAddress: optional('string') });
  const address = o['smdsAddress'] ?? o['smdpAddress'];
  if (address === undefined) throw new JsonFieldError('missing', 'smdsAddress', 'mandatory field is missing');
  const { smdpAddress: _lpacName, ...rest } = o;
  void _lpacName;
  return { ...rest, smdsAddress: address } as unknown as Es11InitiateAuthenticationRequestJson;
}
export const parseEs11AuthenticateClientResponse = (json: unknown): ResponseJson<Es11AuthenticateClientOkJson> =>
  validateResponse(json, { transactionId: optional('transactionId'), eventEntries: req('eventEntries') });

// ES2+
export const parseDownloadOrderRequest = (json: unknown): DownloadOrderRequestJson =>
  validateObject(json, { header: req('requestHeader'), eid: optional('eid'), iccid: optional('iccid'), profileType: optional('string') }) as unknown as DownloadOrderRequestJson;
export const parseDownloadOrderResponse = (json: unknown): ResponseJson<DownloadOrderOkJson> => validateResponse(json, { iccid: req('iccid') });
export const parseConfirmOrderRequest = (json: unknown): ConfirmOrderRequestJson =>
  validateObject(json, {
    header: req('requestHeader'),
    iccid: req('iccid'),
    eid: optional('eid'),
    matchingId: optional('string'),
    confirmationCode: optional('string'),
    smdsAddress: optional('string'),
    releaseFlag: req('boolean'),
  }) as unknown as ConfirmOrderRequestJson;
export const parseConfirmOrderResponse = (json: unknown): ResponseJson<ConfirmOrderOkJson> =>
  validateResponse(json, { eid: optional('eid'), matchingId: req('string'), smdpAddress: optional('string') });
export const parseCancelOrderRequest = (json: unknown): CancelOrderRequestJson =>
  validateObject(json, {
    header: req('requestHeader'),
    iccid: req('iccid'),
    eid: optional('eid'),
    matchingId: optional('string'),
    finalProfileStatusIndicator: req('finalProfileStatusIndicator'),
  }) as unknown as CancelOrderRequestJson;
export const parseReleaseProfileRequest = (json: unknown): ReleaseProfileRequestJson =>
  validateObject(json, { header: req('requestHeader'), iccid: req('iccid') }) as unknown as ReleaseProfileRequestJson;
/** Response of cancelOrder and releaseProfile: header only. */
export const parseHeaderOnlyResponse = (json: unknown): FailedResponseJson => validateObject(json, { header: req('responseHeader') }) as unknown as FailedResponseJson;
export const parseHandleDownloadProgressInfoRequest = (json: unknown): HandleDownloadProgressInfoRequestJson =>
  validateObject(json, {
    header: req('requestHeader'),
    eid: optional('eid'),
    iccid: req('iccid'),
    profileType: req('string'),
    timestamp: req('timestamp'),
    notificationPointId: req('integer'),
    notificationPointStatus: req('executionStatus'),
    resultData: optional('base64'),
  }) as unknown as HandleDownloadProgressInfoRequestJson;

// ---------------------------------------------------------------------------
// base64 DER fields <-> typed ASN.1 values

/** Decode a base64 DER field of a validated message with an ASN.1 codec; errors name the field. */
export function decodeField<T>(field: string, text: string, codec: Codec<T>): T {
  const bytes = base64ToBytes(text, field);
  try {
    return decode(codec, bytes);
  } catch (e) {
    if (e instanceof DerError) throw new JsonFieldError('invalid', field, `not a valid ${codec.name}: ${e.describe()}`, e);
    throw e;
  }
}

/** Encode a typed value as the base64 DER of a JSON field. */
export function encodeField<T>(codec: Codec<T>, value: T): string {
  return bytesToBase64(codec.encode(value));
}
