// Test-side LPA for the SM-DP+ tests: ES9+ (SGP.22 5.6, JSON binding 6.5.2) and ES11 (5.8)
// calls over real loopback HTTPS with the SGP.26 CI as trust anchor and the server's
// hostname as SNI, plus the profile download flow of 3.1.3 / 3.1.2 step by step with the
// test eUICC (euicc-sim.ts): InitiateAuthentication -> AuthenticateClient ->
// GetBoundProfilePackage -> LoadBoundProfilePackage -> HandleNotification.
import { ES9P_PATHS, base64ToBytes, bytesToBase64, isExecuted, type AuthenticateClientOkJson, type InitiateAuthenticationOkJson, type ResponseHeader, type StatusCode } from '../../rsp/json.ts';
import { postJson, type JsonReply, type PostJsonOptions } from '../https-json.ts';
import { ES11_PATHS } from '../http.ts';
import type { SmdpServer } from '../server.ts';
import type { LoadResult, TestEuicc } from './euicc-sim.ts';

export interface RspReply<T = Record<string, unknown>> extends JsonReply {
  body: T & { header?: ResponseHeader };
}

/** statusCodeData of a failed reply (undefined when executed). */
export function statusOf(reply: RspReply<unknown>): { subjectCode: string; reasonCode: string; message?: string } | undefined {
  const h = reply.body.header;
  if (!h || isExecuted(h)) return undefined;
  return h.functionExecutionStatus.statusCodeData;
}

export function isSuccess(reply: RspReply<unknown>): boolean {
  return reply.status === 200 && reply.body.header !== undefined && isExecuted(reply.body.header);
}

/** Subject/reason of a reply, "8.10.1/3.9", or "ok". */
export function codeOf(reply: RspReply<unknown>): string {
  const s = statusOf(reply);
  return s ? `${s.subjectCode}/${s.reasonCode}` : isSuccess(reply) || reply.status === 204 ? 'ok' : `HTTP ${reply.status}`;
}

export function code(status: StatusCode): string {
  return `${status.subjectCode}/${status.reasonCode}`;
}

export class RspClient {
  constructor(
    readonly server: Pick<SmdpServer, 'url' | 'trustAnchorPem' | 'hostname' | 'smdsHostname'>,
    readonly tls: PostJsonOptions = {},
  ) {}

  async post<T = Record<string, unknown>>(path: string, body: unknown, opts: { smds?: boolean } & PostJsonOptions = {}): Promise<RspReply<T>> {
    const reply = await postJson(this.server.url + path, body, {
      ...(this.server.url.startsWith('https:') ? { ca: this.server.trustAnchorPem, servername: opts.smds ? this.server.smdsHostname : this.server.hostname } : {}),
      headers: { 'User-Agent': 'gsma-rsp-lpad' },
      ...this.tls,
      ...opts,
    });
    return { ...reply, body: (reply.json ?? {}) as T & { header?: ResponseHeader } };
  }

  initiateAuthentication(body: unknown): Promise<RspReply<InitiateAuthenticationOkJson>> {
    return this.post(ES9P_PATHS.initiateAuthentication, body);
  }
  authenticateClient(body: unknown): Promise<RspReply<AuthenticateClientOkJson>> {
    return this.post(ES9P_PATHS.authenticateClient, body);
  }
  getBoundProfilePackage(body: unknown): Promise<RspReply<{ transactionId: string; boundProfilePackage: string }>> {
    return this.post(ES9P_PATHS.getBoundProfilePackage, body);
  }
  handleNotification(pendingNotification: Uint8Array): Promise<RspReply> {
    return this.post(ES9P_PATHS.handleNotification, { pendingNotification: bytesToBase64(pendingNotification) });
  }
  cancelSession(transactionId: string, cancelSessionResponse: Uint8Array): Promise<RspReply> {
    return this.post(ES9P_PATHS.cancelSession, { transactionId, cancelSessionResponse: bytesToBase64(cancelSessionResponse) });
  }
  es11InitiateAuthentication(body: unknown): Promise<RspReply<InitiateAuthenticationOkJson>> {
    return this.post(ES11_PATHS.initiateAuthentication, body, { smds: true });
  }
  es11AuthenticateClient(body: unknown): Promise<RspReply<{ transactionId?: string; eventEntries: { eventId: string; rspServerAddress: string }[] }>> {
    return this.post(ES11_PATHS.authenticateClient, body, { smds: true });
  }
}

export class FlowError extends Error {
  override readonly name = 'FlowError';
  constructor(
    readonly step: string,
    readonly reply: RspReply<unknown>,
  ) {
    super(`${step} failed: ${codeOf(reply)} ${statusOf(reply)?.message ?? reply.text.slice(0, 200)}`);
  }
}

export interface Downloaded {
  transactionId: string;
  init: InitiateAuthenticationOkJson;
  auth: AuthenticateClientOkJson;
  bpp: Uint8Array;
  load: LoadResult;
}

/** InitiateAuthentication + AuthenticateServer + AuthenticateClient. */
export async function authenticate(client: RspClient, euicc: TestEuicc, opts: { address: string; matchingId?: string }): Promise<{ init: InitiateAuthenticationOkJson; auth: AuthenticateClientOkJson }> {
  const ia = await client.initiateAuthentication(euicc.initiateAuthenticationBody(opts.address));
  if (!isSuccess(ia)) throw new FlowError('initiateAuthentication', ia);
  const asr = euicc.authenticateServer(ia.body, opts.matchingId !== undefined ? { matchingId: opts.matchingId } : {});
  if (!asr.ok) throw new Error(`the test eUICC refused the server: ${asr.error}`);
  const ac = await client.authenticateClient({ transactionId: ia.body.transactionId, authenticateServerResponse: bytesToBase64(asr.der) });
  if (!isSuccess(ac)) throw new FlowError('authenticateClient', ac);
  return { init: ia.body, auth: ac.body };
}

/** The whole download up to LoadBoundProfilePackage (no notification). */
export async function download(
  client: RspClient,
  euicc: TestEuicc,
  opts: { address: string; matchingId?: string; confirmationCode?: string; newOtpk?: boolean },
): Promise<Downloaded> {
  const { init, auth } = await authenticate(client, euicc, opts);
  const pd = euicc.prepareDownload(auth, { ...(opts.confirmationCode !== undefined ? { confirmationCode: opts.confirmationCode } : {}), ...(opts.newOtpk ? { newOtpk: true } : {}) });
  if (!pd.ok) throw new Error(`the test eUICC refused PrepareDownload: ${pd.error}`);
  const gb = await client.getBoundProfilePackage({ transactionId: auth.transactionId, prepareDownloadResponse: bytesToBase64(pd.der) });
  if (!isSuccess(gb)) throw new FlowError('getBoundProfilePackage', gb);
  const bpp = base64ToBytes(gb.body.boundProfilePackage);
  return { transactionId: init.transactionId, init, auth, bpp, load: euicc.loadBoundProfilePackage(bpp) };
}
