// Campaign `json`: mutated ES9+/ES11/ES2+ JSON messages (SGP.22 6.5, 5.3) into every
// validator of sim/rsp/json.ts, and the base64 DER fields of accepted messages into
// decodeField with the codec the SM-DP+ uses for them. Only JsonFieldError may escape.
import { DerError, encode } from '../../sim/rsp/der.ts';
import * as json from '../../sim/rsp/json.ts';
import { codecs } from '../../sim/rsp/registry.ts';
import { samples } from '../../sim/rsp/testdata/samples.ts';
import type { Campaign, CampaignContext } from '../harness.ts';
import { errorClass, shortText } from '../harness.ts';
import { type Json, mutateJson, mutateJsonText } from '../json-mutate.ts';
import { mutateDer } from '../mutate.ts';
import { Rng } from '../prng.ts';

const b64 = (name: string): string => json.bytesToBase64(encode(codecs[name]!, samples[name]));
const HEADER = { functionRequesterIdentifier: 'fuzz', functionCallIdentifier: 'call-1' };
const OK = { functionExecutionStatus: { status: 'Executed-Success' } };
const FAILED = { functionExecutionStatus: { status: 'Failed', statusCodeData: { subjectCode: '8.10.1', reasonCode: '3.9', message: 'TransactionId unknown' } } };
const TX = '0123456789ABCDEF0123456789ABCDEF';

interface Validator {
  readonly name: string;
  readonly parse: (v: unknown) => unknown;
  /** base64 fields and the codec that decodes them */
  readonly der: Readonly<Record<string, string>>;
  readonly seeds: readonly Json[];
}

export function validators(): Validator[] {
  const info1 = b64('EUICCInfo1');
  return [
    { name: 'InitiateAuthenticationRequest', parse: json.parseInitiateAuthenticationRequest, der: { euiccInfo1: 'EUICCInfo1' }, seeds: [{ euiccChallenge: 'VVVVVVVVVVVVVVVVVVVVVQ==', euiccInfo1: info1, smdpAddress: 'testsmdpplus1.example.com' }] },
    { name: 'AuthenticateClientRequest', parse: json.parseAuthenticateClientRequest, der: { authenticateServerResponse: 'AuthenticateServerResponse' }, seeds: [{ transactionId: TX, authenticateServerResponse: b64('AuthenticateServerResponse') }] },
    { name: 'GetBoundProfilePackageRequest', parse: json.parseGetBoundProfilePackageRequest, der: { prepareDownloadResponse: 'PrepareDownloadResponse' }, seeds: [{ transactionId: TX, prepareDownloadResponse: b64('PrepareDownloadResponse') }] },
    { name: 'HandleNotificationRequest', parse: json.parseHandleNotificationRequest, der: { pendingNotification: 'ProfileInstallationResult' }, seeds: [{ pendingNotification: b64('ProfileInstallationResult') }] },
    { name: 'CancelSessionRequest', parse: json.parseCancelSessionRequest, der: { cancelSessionResponse: 'CancelSessionResponse' }, seeds: [{ transactionId: TX, cancelSessionResponse: b64('CancelSessionResponse') }] },
    {
      name: 'InitiateAuthenticationResponse',
      parse: json.parseInitiateAuthenticationResponse,
      der: { serverSigned1: 'ServerSigned1', serverCertificate: 'Certificate' },
      seeds: [
        { header: OK, transactionId: TX, serverSigned1: b64('ServerSigned1'), serverSignature1: 'IiIi', euiccCiPKIdToBeUsed: 'BBT1QXK9+YqV1ly+uKOKwRHYAKhcMw==', serverCertificate: b64('Certificate') },
        { header: FAILED },
      ],
    },
    {
      name: 'AuthenticateClientResponse',
      parse: json.parseAuthenticateClientResponse,
      der: { smdpSigned2: 'SmdpSigned2', smdpCertificate: 'Certificate' },
      seeds: [{ header: OK, transactionId: TX, profileMetadata: 'vyUA', smdpSigned2: b64('SmdpSigned2'), smdpSignature2: 'IiIi', smdpCertificate: b64('Certificate') }],
    },
    { name: 'GetBoundProfilePackageResponse', parse: json.parseGetBoundProfilePackageResponse, der: { boundProfilePackage: 'BoundProfilePackage' }, seeds: [{ header: OK, transactionId: TX, boundProfilePackage: b64('BoundProfilePackage') }] },
    { name: 'CancelSessionResponse', parse: json.parseCancelSessionResponse, der: {}, seeds: [{ header: OK }, { header: FAILED }] },
    { name: 'Es11InitiateAuthenticationRequest', parse: json.parseEs11InitiateAuthenticationRequest, der: { euiccInfo1: 'EUICCInfo1' }, seeds: [{ euiccChallenge: 'VVVVVVVVVVVVVVVVVVVVVQ==', euiccInfo1: info1, smdsAddress: 'testsmds.example.com' }, { euiccChallenge: 'VVVVVVVVVVVVVVVVVVVVVQ==', euiccInfo1: info1, smdpAddress: 'testsmds.example.com' }] },
    { name: 'Es11AuthenticateClientResponse', parse: json.parseEs11AuthenticateClientResponse, der: {}, seeds: [{ header: OK, transactionId: TX, eventEntries: [{ eventId: 'ABC-1', rspServerAddress: 'testsmdpplus1.example.com' }] }] },
    { name: 'DownloadOrderRequest', parse: json.parseDownloadOrderRequest, der: {}, seeds: [{ header: HEADER, eid: '89049032123451234512345678901235', iccid: '89000123456789012341', profileType: 'Test' }, { header: HEADER }] },
    { name: 'DownloadOrderResponse', parse: json.parseDownloadOrderResponse, der: {}, seeds: [{ header: OK, iccid: '89000123456789012341' }] },
    { name: 'ConfirmOrderRequest', parse: json.parseConfirmOrderRequest, der: {}, seeds: [{ header: HEADER, iccid: '89000123456789012341', eid: '89049032123451234512345678901235', matchingId: 'ABC-1234', confirmationCode: '1234', smdsAddress: 'testsmds.example.com', releaseFlag: true }] },
    { name: 'ConfirmOrderResponse', parse: json.parseConfirmOrderResponse, der: {}, seeds: [{ header: OK, eid: '89049032123451234512345678901235', matchingId: 'ABC-1234', smdpAddress: 'testsmdpplus1.example.com' }] },
    { name: 'CancelOrderRequest', parse: json.parseCancelOrderRequest, der: {}, seeds: [{ header: HEADER, iccid: '89000123456789012341', matchingId: 'ABC', finalProfileStatusIndicator: 'Available' }] },
    { name: 'ReleaseProfileRequest', parse: json.parseReleaseProfileRequest, der: {}, seeds: [{ header: HEADER, iccid: '89000123456789012341' }] },
    { name: 'HeaderOnlyResponse', parse: json.parseHeaderOnlyResponse, der: {}, seeds: [{ header: OK }, { header: FAILED }] },
    {
      name: 'HandleDownloadProgressInfoRequest',
      parse: json.parseHandleDownloadProgressInfoRequest,
      der: { resultData: 'ProfileInstallationResult' },
      seeds: [{ header: HEADER, eid: '89049032123451234512345678901235', iccid: '89000123456789012341', profileType: 'Test', timestamp: '2026-01-01T00:00:00Z', notificationPointId: 3, notificationPointStatus: OK, resultData: b64('ProfileInstallationResult') }],
    },
  ];
}

function base64Pool(): string[] {
  return Object.keys(samples).map((n) => b64(n));
}

export const jsonCampaign: Campaign = {
  name: 'json',
  description: 'mutated ES9+/ES11/ES2+ JSON into every sim/rsp/json.ts validator, base64 DER fields into decodeField',
  defaultIterations: 100_000,
  weight: 20,
  episodeLength: 1,
  unit: 'message',
  async run(ctx: CampaignContext) {
    const all = validators();
    const pool = base64Pool();
    for (let i = ctx.from; i < ctx.to; i++) {
      if ((i & 63) === 0 && Date.now() > ctx.deadline) return;
      ctx.heartbeat(i);
      const rng = Rng.for(ctx.seed, 'json', i);
      const v = all[i % all.length]!;
      let message: unknown = mutateJson(rng, rng.pick(v.seeds), pool);
      let shown: string | undefined;
      if (rng.chance(0.15)) {
        // text-level damage, then JSON.parse as a server would
        const text = mutateJsonText(rng, JSON.stringify(message));
        shown = text;
        try {
          message = JSON.parse(text) as unknown;
        } catch (e) {
          if (e instanceof SyntaxError) {
            ctx.stats.reject('JSON.parse SyntaxError');
            ctx.stats.count();
            continue;
          }
          ctx.stats.crash(i, e, shortText(text));
          ctx.stats.count();
          continue;
        }
      }
      checkMessage(ctx, i, v, message, rng, shown);
      ctx.stats.count();
    }
  },
};

function checkMessage(ctx: CampaignContext, i: number, v: Validator, message: unknown, rng: Rng, shown: string | undefined): void {
  const input = (): string => `${v.name} ${shortText(shown ?? safeStringify(message))}`;
  let parsed: unknown;
  try {
    parsed = v.parse(message);
  } catch (e) {
    if (e instanceof json.JsonFieldError) ctx.stats.reject(errorClass(e));
    else ctx.stats.crash(i, e, input());
    return;
  }
  ctx.stats.accept();
  if (typeof parsed !== 'object' || parsed === null) ctx.stats.violation(i, `${v.name}: validator returned ${typeof parsed}`, input());
  // base64 DER fields: decodeField must answer the value or a JsonFieldError (with the DerError)
  for (const [field, codecName] of Object.entries(v.der)) {
    const text = (parsed as Record<string, unknown>)[field];
    if (typeof text !== 'string') continue;
    const codec = codecs[codecName]!;
    const target = rng.chance(0.5) ? text : json.bytesToBase64(mutateDer(rng, json.base64ToBytes(text, field), undefined, 2).bytes);
    try {
      json.decodeField(field, target, codec);
      ctx.stats.accept();
    } catch (e) {
      if (e instanceof json.JsonFieldError) {
        if (e.derError !== undefined && !(e.derError instanceof DerError)) ctx.stats.violation(i, `${v.name}.${field}: JsonFieldError.derError is not a DerError`, input());
        ctx.stats.reject(`decodeField ${e.derError ? errorClass(e.derError) : errorClass(e)}`);
      } else ctx.stats.crash(i, e, `${v.name}.${field} ${target.slice(0, 300)}`);
    }
  }
}

function safeStringify(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch (e) {
    return `<unprintable: ${(e as Error).message}>`;
  }
}
