// ES9+ client of the test LPA (SGP.22 5.6 functions, 6.5.2.6-6.5.2.10 JSON binding):
// initiateAuthentication, authenticateClient, getBoundProfilePackage, handleNotification
// (answered 204 without a body) and cancelSession, over rsp-http.ts. Binary fields are
// base64 DER, transactionId uppercase hex (sim/rsp/json.ts). A Failed/Expired
// functionExecutionStatus is an Es9Error (subject/reason codes); a wrong HTTP status or a body
// that is not the expected JSON is an Es9TransportError.
import { Certificate, type ServerSigned1, ServerSigned1 as ServerSigned1Codec, Signature, type SmdpSigned2, SmdpSigned2 as SmdpSigned2Codec, SubjectKeyIdentifier } from '../rsp/common.ts';
import { type StoreMetadataRequest, StoreMetadataRequest as StoreMetadataRequestCodec } from '../rsp/es8p.ts';
import { parseTlv, DerError, tagHex } from '../rsp/der.ts';
import {
  base64ToBytes,
  bytesToBase64,
  decodeField,
  ES9P_PATHS,
  isOk,
  JsonFieldError,
  parseAuthenticateClientResponse,
  parseCancelSessionResponse,
  parseGetBoundProfilePackageResponse,
  parseHeaderOnlyResponse,
  parseInitiateAuthenticationResponse,
  type ResponseHeader,
  type ResponseJson,
  statusNameOf,
  transactionIdFromHex,
  transactionIdToHex,
} from '../rsp/json.ts';
import { Es9Error, Es9TransportError } from './errors.ts';
import { type RawHttpResponse, rspPost, type RspHttpOptions } from './rsp-http.ts';

export interface InitiateAuthenticationInput {
  readonly euiccChallenge: Uint8Array;
  /** EUICCInfo1 DER ('BF20') as the eUICC returned it */
  readonly euiccInfo1: Uint8Array;
  /** smdpAddress field; default the address the client talks to */
  readonly smdpAddress?: string;
}

/** ES9+/ES11 InitiateAuthentication success: decoded fields plus the DER as received. */
export interface InitiateAuthenticationResult {
  readonly header: ResponseHeader;
  readonly transactionId: Uint8Array;
  readonly serverSigned1: ServerSigned1;
  /** the 64-byte r||s signature value */
  readonly serverSignature1: Uint8Array;
  readonly euiccCiPKIdToBeUsed: Uint8Array;
  readonly serverCertificate: Uint8Array;
  /** the TLVs as received: what the LPA relays in ES10b.AuthenticateServer */
  readonly der: {
    readonly serverSigned1: Uint8Array;
    readonly serverSignature1: Uint8Array;
    readonly euiccCiPKIdToBeUsed: Uint8Array;
    readonly serverCertificate: Uint8Array;
  };
}

export interface AuthenticateClientResult {
  readonly header: ResponseHeader;
  readonly transactionId: Uint8Array;
  readonly profileMetadata: StoreMetadataRequest;
  readonly smdpSigned2: SmdpSigned2;
  readonly smdpSignature2: Uint8Array;
  readonly smdpCertificate: Uint8Array;
  readonly der: {
    readonly profileMetadata: Uint8Array;
    readonly smdpSigned2: Uint8Array;
    readonly smdpSignature2: Uint8Array;
    readonly smdpCertificate: Uint8Array;
  };
}

export interface GetBoundProfilePackageResult {
  readonly header: ResponseHeader;
  readonly transactionId: Uint8Array;
  /** BPP DER ('BF36') */
  readonly boundProfilePackage: Uint8Array;
}

/** What the flows need from an SM-DP+ (the HTTPS client, or a fake in unit tests). */
export interface Es9pApi {
  readonly smdpAddress: string;
  initiateAuthentication(input: InitiateAuthenticationInput): Promise<InitiateAuthenticationResult>;
  authenticateClient(transactionId: Uint8Array, authenticateServerResponse: Uint8Array): Promise<AuthenticateClientResult>;
  getBoundProfilePackage(transactionId: Uint8Array, prepareDownloadResponse: Uint8Array): Promise<GetBoundProfilePackageResult>;
  /** pendingNotification: DER of a ProfileInstallationResult ('BF37') or OtherSignedNotification ('30') */
  handleNotification(pendingNotification: Uint8Array): Promise<void>;
  /** cancelSessionResponse: DER of the eUICC's CancelSessionResponse ('BF41') */
  cancelSession(transactionId: Uint8Array, cancelSessionResponse: Uint8Array): Promise<ResponseHeader>;
}

// ---------------------------------------------------------------------------
// shared JSON plumbing (also used by es11-client.ts)

/** Turn a JsonFieldError from a validator/decoder into an Es9TransportError naming the field. */
export function asInvalidMessage<T>(fn: string, body: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof JsonFieldError) throw new Es9TransportError(fn, 'invalid-message', `response field ${e.message}`, { body, field: e.field }, { cause: e });
    throw e;
  }
}

/** Parse a 200 response with a JSON body through `parse`; Failed/Expired become Es9Error. */
export function expectJson<Ok>(fn: string, res: RawHttpResponse, parse: (json: unknown) => ResponseJson<Ok>): Ok & { header: ResponseHeader } {
  if (res.status !== 200) throw new Es9TransportError(fn, 'http-status', `HTTP ${res.status} (expected 200)`, { httpStatus: res.status, body: res.body });
  let json: unknown;
  try {
    json = JSON.parse(res.body);
  } catch (e) {
    throw new Es9TransportError(fn, 'malformed-json', `response body is not JSON: ${(e as Error).message}`, { httpStatus: res.status, body: res.body }, { cause: e });
  }
  const msg = asInvalidMessage(fn, res.body, () => parse(json));
  if (!isOk(msg)) {
    const status = msg.header.functionExecutionStatus;
    // the validator guarantees statusCodeData for Failed/Expired
    const scd = status.statusCodeData ?? { subjectCode: '', reasonCode: '' };
    throw new Es9Error(fn, status.status, scd, statusNameOf(scd));
  }
  return msg;
}

/** Base64 field holding exactly one TLV with the given tag (e.g. a certificate '30'). */
export function tlvField(field: string, text: string, tag: number): Uint8Array {
  const bytes = base64ToBytes(text, field);
  let t;
  try {
    t = parseTlv(bytes, { der: false });
  } catch (e) {
    if (e instanceof DerError) throw new JsonFieldError('invalid', field, `not one TLV: ${e.describe()}`, e);
    throw e;
  }
  if (t.tag !== tag) throw new JsonFieldError('invalid', field, `expected tag ${tagHex(tag)}, found ${tagHex(t.tag)}`);
  return bytes;
}

export function decodeInitiateAuthentication(
  fn: string,
  body: string,
  ok: { header: ResponseHeader; transactionId: string; serverSigned1: string; serverSignature1: string; euiccCiPKIdToBeUsed: string; serverCertificate: string },
): InitiateAuthenticationResult {
  return asInvalidMessage(fn, body, () => ({
    header: ok.header,
    transactionId: transactionIdFromHex(ok.transactionId),
    serverSigned1: decodeField('serverSigned1', ok.serverSigned1, ServerSigned1Codec),
    serverSignature1: decodeField('serverSignature1', ok.serverSignature1, Signature),
    euiccCiPKIdToBeUsed: decodeField('euiccCiPKIdToBeUsed', ok.euiccCiPKIdToBeUsed, SubjectKeyIdentifier),
    serverCertificate: decodeField('serverCertificate', ok.serverCertificate, Certificate),
    der: {
      serverSigned1: base64ToBytes(ok.serverSigned1, 'serverSigned1'),
      serverSignature1: base64ToBytes(ok.serverSignature1, 'serverSignature1'),
      euiccCiPKIdToBeUsed: base64ToBytes(ok.euiccCiPKIdToBeUsed, 'euiccCiPKIdToBeUsed'),
      serverCertificate: base64ToBytes(ok.serverCertificate, 'serverCertificate'),
    },
  }));
}

// ---------------------------------------------------------------------------

/** HTTPS ES9+ client bound to one SM-DP+ address ("host" or "host:port"). */
export class Es9pClient implements Es9pApi {
  constructor(
    readonly smdpAddress: string,
    private readonly options: RspHttpOptions = {},
  ) {}

  private post(fn: string, path: string, body: object): Promise<RawHttpResponse> {
    return rspPost(fn, this.smdpAddress, path, JSON.stringify(body), this.options);
  }

  async initiateAuthentication(input: InitiateAuthenticationInput): Promise<InitiateAuthenticationResult> {
    const fn = 'ES9+.initiateAuthentication';
    const res = await this.post(fn, ES9P_PATHS.initiateAuthentication, {
      smdpAddress: input.smdpAddress ?? this.smdpAddress,
      euiccChallenge: bytesToBase64(input.euiccChallenge),
      euiccInfo1: bytesToBase64(input.euiccInfo1),
    });
    return decodeInitiateAuthentication(fn, res.body, expectJson(fn, res, parseInitiateAuthenticationResponse));
  }

  async authenticateClient(transactionId: Uint8Array, authenticateServerResponse: Uint8Array): Promise<AuthenticateClientResult> {
    const fn = 'ES9+.authenticateClient';
    const res = await this.post(fn, ES9P_PATHS.authenticateClient, {
      transactionId: transactionIdToHex(transactionId),
      authenticateServerResponse: bytesToBase64(authenticateServerResponse),
    });
    const ok = expectJson(fn, res, parseAuthenticateClientResponse);
    return asInvalidMessage(fn, res.body, () => ({
      header: ok.header,
      transactionId: transactionIdFromHex(ok.transactionId),
      profileMetadata: decodeField('profileMetadata', ok.profileMetadata, StoreMetadataRequestCodec),
      smdpSigned2: decodeField('smdpSigned2', ok.smdpSigned2, SmdpSigned2Codec),
      smdpSignature2: decodeField('smdpSignature2', ok.smdpSignature2, Signature),
      smdpCertificate: decodeField('smdpCertificate', ok.smdpCertificate, Certificate),
      der: {
        profileMetadata: base64ToBytes(ok.profileMetadata, 'profileMetadata'),
        smdpSigned2: base64ToBytes(ok.smdpSigned2, 'smdpSigned2'),
        smdpSignature2: base64ToBytes(ok.smdpSignature2, 'smdpSignature2'),
        smdpCertificate: base64ToBytes(ok.smdpCertificate, 'smdpCertificate'),
      },
    }));
  }

  async getBoundProfilePackage(transactionId: Uint8Array, prepareDownloadResponse: Uint8Array): Promise<GetBoundProfilePackageResult> {
    const fn = 'ES9+.getBoundProfilePackage';
    const res = await this.post(fn, ES9P_PATHS.getBoundProfilePackage, {
      transactionId: transactionIdToHex(transactionId),
      prepareDownloadResponse: bytesToBase64(prepareDownloadResponse),
    });
    const ok = expectJson(fn, res, parseGetBoundProfilePackageResponse);
    return asInvalidMessage(fn, res.body, () => ({
      header: ok.header,
      transactionId: transactionIdFromHex(ok.transactionId),
      boundProfilePackage: tlvField('boundProfilePackage', ok.boundProfilePackage, 0xbf36),
    }));
  }

  /** HandleNotification: 204 without a body is success; a 200 with a Failed header is an Es9Error. */
  async handleNotification(pendingNotification: Uint8Array): Promise<void> {
    const fn = 'ES9+.handleNotification';
    const res = await this.post(fn, ES9P_PATHS.handleNotification, { pendingNotification: bytesToBase64(pendingNotification) });
    if (res.status === 204) return;
    if (res.status === 200 && res.body.trim() === '') return;
    expectJson(fn, res, parseHeaderOnlyResponse);
  }

  async cancelSession(transactionId: Uint8Array, cancelSessionResponse: Uint8Array): Promise<ResponseHeader> {
    const fn = 'ES9+.cancelSession';
    const res = await this.post(fn, ES9P_PATHS.cancelSession, {
      transactionId: transactionIdToHex(transactionId),
      cancelSessionResponse: bytesToBase64(cancelSessionResponse),
    });
    return expectJson(fn, res, parseCancelSessionResponse).header;
  }
}
