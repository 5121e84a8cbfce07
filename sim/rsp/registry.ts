// Registry of every top-level SGP.22 message codec (RSPDefinitions v2.5, SGP.22 5.5-5.8, 6.6),
// by name and by top-level tag, for `bridgelab decode` and for traces.
// ES10 requests and responses share their tag (BF20 request is empty, BF20 response is
// EUICCInfo1): detection prefers the response, unless the contents are empty (then the
// request), or the caller names the type (`--type`). Candidates of a tag are tried in that
// order; the first that decodes and re-encodes to the same bytes wins, else the first that
// decodes at all (extension components are skipped when decoding).
// Some request/response pairs are byte-for-byte indistinguishable and always detect as the
// response: NotificationSent (BF30 { 80 n }), ListNotification with a filter (BF28 { 81 bits }
// reads as the error INTEGER) and LpaeActivation (BF42 { 80 .. }); pass `type` for those.
import { equalBytes } from '../bytes.ts';
import { type Codec, decode, type DecodeOptions, DerError, parseTlv, tagHex } from './der.ts';
import * as common from './common.ts';
import * as es10a from './es10a.ts';
import * as es10b from './es10b.ts';
import * as es10c from './es10c.ts';
import * as es8p from './es8p.ts';
import * as es9p from './es9p.ts';
import * as es11 from './es11.ts';
import { ResultFields } from './results.ts';

export type RspInterface = 'ES10a' | 'ES10b' | 'ES10c' | 'ES8+' | 'ES6' | 'ES9+' | 'ES11' | 'data';
export type MessageRole = 'request' | 'response' | 'data';

export interface MessageInfo {
  readonly name: string;
  readonly codec: Codec<unknown>;
  readonly iface: RspInterface;
  readonly role: MessageRole;
  /** false for untagged SEQUENCEs (tag 30), which only decode with an explicit type */
  readonly detectable: boolean;
}

const m = (name: string, codec: Codec<unknown>, iface: RspInterface, role: MessageRole, detectable = true): MessageInfo => ({ name, codec, iface, role, detectable });

/** Every message, in the order used to break ties between codecs sharing a tag (after the request/response rule). */
export const messages: readonly MessageInfo[] = [
  // ES10a
  m('EuiccConfiguredAddressesRequest', es10a.EuiccConfiguredAddressesRequest, 'ES10a', 'request'),
  m('EuiccConfiguredAddressesResponse', es10a.EuiccConfiguredAddressesResponse, 'ES10a', 'response'),
  m('SetDefaultDpAddressRequest', es10a.SetDefaultDpAddressRequest, 'ES10a', 'request'),
  m('SetDefaultDpAddressResponse', es10a.SetDefaultDpAddressResponse, 'ES10a', 'response'),
  // ES10b
  m('PrepareDownloadRequest', es10b.PrepareDownloadRequest, 'ES10b', 'request'),
  m('PrepareDownloadResponse', es10b.PrepareDownloadResponse, 'ES10b', 'response'),
  m('BoundProfilePackage', es8p.BoundProfilePackage, 'ES10b', 'request'),
  m('ProfileInstallationResult', es10b.ProfileInstallationResult, 'ES10b', 'response'),
  m('GetEuiccChallengeRequest', es10b.GetEuiccChallengeRequest, 'ES10b', 'request'),
  m('GetEuiccChallengeResponse', es10b.GetEuiccChallengeResponse, 'ES10b', 'response'),
  m('GetEuiccInfo1Request', es10b.GetEuiccInfo1Request, 'ES10b', 'request'),
  m('EUICCInfo1', common.EUICCInfo1, 'ES10b', 'response'),
  m('GetEuiccInfo2Request', es10b.GetEuiccInfo2Request, 'ES10b', 'request'),
  m('EUICCInfo2', common.EUICCInfo2, 'ES10b', 'response'),
  m('ListNotificationRequest', es10b.ListNotificationRequest, 'ES10b', 'request'),
  m('ListNotificationResponse', es10b.ListNotificationResponse, 'ES10b', 'response'),
  m('RetrieveNotificationsListRequest', es10b.RetrieveNotificationsListRequest, 'ES10b', 'request'),
  m('RetrieveNotificationsListResponse', es10b.RetrieveNotificationsListResponse, 'ES10b', 'response'),
  m('NotificationSentRequest', es10b.NotificationSentRequest, 'ES10b', 'request'),
  m('NotificationSentResponse', es10b.NotificationSentResponse, 'ES10b', 'response'),
  m('LoadCRLRequest', es10b.LoadCRLRequest, 'ES10b', 'request'),
  m('LoadCRLResponse', es10b.LoadCRLResponse, 'ES10b', 'response'),
  m('AuthenticateServerRequest', es10b.AuthenticateServerRequest, 'ES10b', 'request'),
  m('AuthenticateServerResponse', es10b.AuthenticateServerResponse, 'ES10b', 'response'),
  m('CancelSessionRequest', es10b.CancelSessionRequest, 'ES10b', 'request'),
  m('CancelSessionResponse', es10b.CancelSessionResponse, 'ES10b', 'response'),
  m('GetRatRequest', es10b.GetRatRequest, 'ES10b', 'request'),
  m('GetRatResponse', es10b.GetRatResponse, 'ES10b', 'response'),
  // ES10c
  m('ProfileInfoListRequest', es10c.ProfileInfoListRequest, 'ES10c', 'request'),
  m('ProfileInfoListResponse', es10c.ProfileInfoListResponse, 'ES10c', 'response'),
  m('EnableProfileRequest', es10c.EnableProfileRequest, 'ES10c', 'request'),
  m('EnableProfileResponse', es10c.EnableProfileResponse, 'ES10c', 'response'),
  m('DisableProfileRequest', es10c.DisableProfileRequest, 'ES10c', 'request'),
  m('DisableProfileResponse', es10c.DisableProfileResponse, 'ES10c', 'response'),
  m('DeleteProfileRequest', es10c.DeleteProfileRequest, 'ES10c', 'request'),
  m('DeleteProfileResponse', es10c.DeleteProfileResponse, 'ES10c', 'response'),
  m('EuiccMemoryResetRequest', es10c.EuiccMemoryResetRequest, 'ES10c', 'request'),
  m('EuiccMemoryResetResponse', es10c.EuiccMemoryResetResponse, 'ES10c', 'response'),
  m('GetEuiccDataRequest', es10c.GetEuiccDataRequest, 'ES10c', 'request'),
  m('GetEuiccDataResponse', es10c.GetEuiccDataResponse, 'ES10c', 'response'),
  m('SetNicknameRequest', es10c.SetNicknameRequest, 'ES10c', 'request'),
  m('SetNicknameResponse', es10c.SetNicknameResponse, 'ES10c', 'response'),
  m('LpaeActivationRequest', es10c.LpaeActivationRequest, 'ES10c', 'request'),
  m('LpaeActivationResponse', es10c.LpaeActivationResponse, 'ES10c', 'response'),
  // ES8+ / ES6 (inside the BPP)
  m('InitialiseSecureChannelRequest', es8p.InitialiseSecureChannelRequest, 'ES8+', 'request'),
  m('ConfigureISDPRequest', es8p.ConfigureISDPRequest, 'ES8+', 'request'),
  m('StoreMetadataRequest', es8p.StoreMetadataRequest, 'ES8+', 'request'),
  m('ReplaceSessionKeysRequest', es8p.ReplaceSessionKeysRequest, 'ES8+', 'request'),
  m('UpdateMetadataRequest', es8p.UpdateMetadataRequest, 'ES6', 'request'),
  // ES9+ ASN.1 binding
  m('InitiateAuthenticationRequest', es9p.InitiateAuthenticationRequest, 'ES9+', 'request'),
  m('InitiateAuthenticationResponse', es9p.InitiateAuthenticationResponse, 'ES9+', 'response'),
  m('AuthenticateClientRequest', es9p.AuthenticateClientRequest, 'ES9+', 'request'),
  m('AuthenticateClientResponseEs9', es9p.AuthenticateClientResponseEs9, 'ES9+', 'response'),
  m('GetBoundProfilePackageRequest', es9p.GetBoundProfilePackageRequest, 'ES9+', 'request'),
  m('GetBoundProfilePackageResponse', es9p.GetBoundProfilePackageResponse, 'ES9+', 'response'),
  m('HandleNotification', es9p.HandleNotification, 'ES9+', 'request'),
  m('CancelSessionRequestEs9', es9p.CancelSessionRequestEs9, 'ES9+', 'request'),
  m('CancelSessionResponseEs9', es9p.CancelSessionResponseEs9, 'ES9+', 'response'),
  m('RemoteProfileProvisioningRequest', es9p.RemoteProfileProvisioningRequest, 'ES9+', 'request'),
  m('RemoteProfileProvisioningResponse', es9p.RemoteProfileProvisioningResponse, 'ES9+', 'response'),
  // ES11
  m('AuthenticateClientResponseEs11', es11.AuthenticateClientResponseEs11, 'ES11', 'response'),
  // data objects that travel on their own (JSON fields, notifications, traces)
  m('ProfileInfo', common.ProfileInfo, 'data', 'data'),
  m('NotificationMetadata', common.NotificationMetadata, 'data', 'data'),
  m('ProfileInstallationResultData', es10b.ProfileInstallationResultData, 'data', 'data'),
  m('ISDRProprietaryApplicationTemplate', common.ISDRProprietaryApplicationTemplate, 'data', 'data'),
  m('PendingNotification', es10b.PendingNotification, 'data', 'data', false),
  m('OtherSignedNotification', es10b.OtherSignedNotification, 'data', 'data', false),
  m('ServerSigned1', common.ServerSigned1, 'data', 'data', false),
  m('EuiccSigned1', common.EuiccSigned1, 'data', 'data', false),
  m('SmdpSigned2', common.SmdpSigned2, 'data', 'data', false),
  m('EUICCSigned2', common.EuiccSigned2, 'data', 'data', false),
  m('EuiccCancelSessionSigned', es10b.EuiccCancelSessionSigned, 'data', 'data', false),
  m('DeviceInfo', common.DeviceInfo, 'data', 'data', false),
  m('Certificate', common.Certificate, 'data', 'data', false),
];

/** name -> codec for every message (names are the ASN.1 type names). */
export const codecs: Readonly<Record<string, Codec<unknown>>> = Object.freeze(Object.fromEntries(messages.map((i) => [i.name, i.codec])));

const byLowerName = new Map(messages.map((i) => [i.name.toLowerCase(), i]));

/** Look a message up by name (case-insensitive). */
export function messageByName(name: string): MessageInfo | undefined {
  return byLowerName.get(name.toLowerCase());
}

/** Detectable messages whose top-level tag is `tag`, in preference order for non-empty contents. */
export function candidatesForTag(tag: number, emptyContents = false): MessageInfo[] {
  const all = messages.filter((i) => i.detectable && i.codec.tags.includes(tag));
  const rank = (i: MessageInfo): number => {
    if (i.role === 'data') return 2;
    if (emptyContents) return i.role === 'request' ? 0 : 1;
    return i.role === 'response' ? 0 : 1;
  };
  return all.map((i, n) => ({ i, n })).sort((a, b) => rank(a.i) - rank(b.i) || a.n - b.n).map((x) => x.i);
}

export interface Detection {
  readonly name: string;
  readonly info: MessageInfo;
  readonly value: unknown;
  /** every message name this tag could be, in the order tried */
  readonly candidates: readonly string[];
}

export interface DetectOptions extends DecodeOptions {
  /** decode as this type (name from `codecs`), skipping detection */
  type?: string;
}

/**
 * Decode a message, choosing the codec from its top-level tag (or `options.type`).
 * Throws DerError: unexpectedTag when no message uses the tag, otherwise the error of
 * the preferred candidate when none of the candidates decodes.
 */
export function detectByTag(bytes: Uint8Array, options: DetectOptions = {}): Detection {
  const decodeOptions: DecodeOptions = options.der === undefined ? {} : { der: options.der };
  if (options.type !== undefined) {
    const info = messageByName(options.type);
    if (!info) throw new RangeError(`unknown message type ${options.type}; known: ${Object.keys(codecs).join(', ')}`);
    return { name: info.name, info, value: decode(info.codec, bytes, decodeOptions), candidates: [info.name] };
  }
  const tlv = parseTlv(bytes, { der: options.der ?? true });
  const candidates = candidatesForTag(tlv.tag, tlv.value.byteLength === 0);
  if (candidates.length === 0) throw new DerError('unexpectedTag', `no SGP.22 message has top-level tag ${tagHex(tlv.tag)}`, 0, tlv.tag);
  // EXTENSIBILITY IMPLIED makes decoders skip unknown components, so a wrong candidate can
  // "decode" by skipping everything: prefer a candidate that re-encodes to the input.
  const names = candidates.map((c) => c.name);
  let firstError: unknown;
  let firstDecoded: Detection | undefined;
  for (const info of candidates) {
    let value: unknown;
    try {
      value = decode(info.codec, bytes, decodeOptions);
    } catch (e) {
      if (!(e instanceof DerError)) throw e;
      firstError ??= e;
      continue;
    }
    const detection: Detection = { name: info.name, info, value, candidates: names };
    if (equalBytes(info.codec.encode(value), bytes)) return detection;
    firstDecoded ??= detection;
  }
  if (firstDecoded) return firstDecoded;
  throw firstError;
}


// ---------------------------------------------------------------------------
// JSON output

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** Decoded value -> JSON-friendly value: bytes become lowercase hex, the rest is kept. */
export function toJson(value: unknown): JsonValue {
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex');
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(toJson);
  if (typeof value === 'object') {
    const out: { [key: string]: JsonValue } = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toJson(v);
    return out;
  }
  throw new TypeError(`cannot represent ${typeof value} in JSON`);
}

/**
 * The names of the result codes and enumerations inside a decoded message, by path
 * (e.g. {"enableResult": "profileNotInDisabledState"}), from results.ts.
 */
export function resultNames(messageName: string, value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  const prefix = `${messageName}.`;
  for (const [fieldPath, names] of Object.entries(ResultFields)) {
    if (!fieldPath.startsWith(prefix)) continue;
    const walk = (v: unknown, parts: string[], at: string): void => {
      if (parts.length === 0) {
        if (typeof v === 'number') out[at] = names.describe(v);
        return;
      }
      const [head, ...rest] = parts as [string, ...string[]];
      const isList = head.endsWith('[]');
      const key = isList ? head.slice(0, -2) : head;
      if (typeof v !== 'object' || v === null || !(key in v)) return;
      const next = (v as Record<string, unknown>)[key];
      const here = at ? `${at}.${key}` : key;
      if (isList) {
        if (Array.isArray(next)) next.forEach((item, i) => walk(item, rest, `${here}[${i}]`));
      } else walk(next, rest, here);
    };
    walk(value, fieldPath.slice(prefix.length).split('.'), '');
  }
  return out;
}
