// ES11 client of the test LPA (SGP.22 5.8 LPA -> SM-DS event retrieval, 6.5.2.11-6.5.2.12):
// InitiateAuthentication (same response as ES9+) and AuthenticateClient, which answers the
// event entries (eventId + SM-DP+ address). SGP.22 v2 binds ES11 to the ES9+ paths
// (/gsma/rsp2/es9plus/...), as lpac and the GSMA root SM-DS expect; '/gsma/rsp2/es11/...'
// is selectable. The request names the SM-DS address `smdsAddress` (lpac sends `smdpAddress`).
import { bytesToBase64, ES9P_PATHS, type EventEntryJson, parseEs11AuthenticateClientResponse, parseInitiateAuthenticationResponse, type ResponseHeader, transactionIdFromHex, transactionIdToHex } from '../rsp/json.ts';
import { asInvalidMessage, decodeInitiateAuthentication, expectJson, type InitiateAuthenticationResult } from './es9p-client.ts';
import { rspPost, type RspHttpOptions } from './rsp-http.ts';

export const ES11_PATHS = {
  es9plus: { initiateAuthentication: ES9P_PATHS.initiateAuthentication, authenticateClient: ES9P_PATHS.authenticateClient },
  es11: { initiateAuthentication: '/gsma/rsp2/es11/initiateAuthentication', authenticateClient: '/gsma/rsp2/es11/authenticateClient' },
} as const;

export interface EventEntry {
  readonly eventId: string;
  readonly rspServerAddress: string;
}

export interface Es11AuthenticateClientResult {
  readonly header: ResponseHeader;
  readonly transactionId?: Uint8Array;
  readonly eventEntries: readonly EventEntry[];
}

/** What the flows need from an SM-DS. */
export interface Es11Api {
  readonly smdsAddress: string;
  initiateAuthentication(input: { euiccChallenge: Uint8Array; euiccInfo1: Uint8Array }): Promise<InitiateAuthenticationResult>;
  authenticateClient(transactionId: Uint8Array, authenticateServerResponse: Uint8Array): Promise<Es11AuthenticateClientResult>;
}

export interface Es11ClientOptions extends RspHttpOptions {
  /** URL paths: 'es9plus' (default, SGP.22 v2 / lpac) or 'es11' */
  readonly paths?: keyof typeof ES11_PATHS;
  /** name of the address field in InitiateAuthentication (default smdsAddress) */
  readonly addressField?: 'smdsAddress' | 'smdpAddress';
}

export class Es11Client implements Es11Api {
  constructor(
    readonly smdsAddress: string,
    private readonly options: Es11ClientOptions = {},
  ) {}

  private get paths() {
    return ES11_PATHS[this.options.paths ?? 'es9plus'];
  }

  async initiateAuthentication(input: { euiccChallenge: Uint8Array; euiccInfo1: Uint8Array }): Promise<InitiateAuthenticationResult> {
    const fn = 'ES11.initiateAuthentication';
    const body = {
      [this.options.addressField ?? 'smdsAddress']: this.smdsAddress,
      euiccChallenge: bytesToBase64(input.euiccChallenge),
      euiccInfo1: bytesToBase64(input.euiccInfo1),
    };
    const res = await rspPost(fn, this.smdsAddress, this.paths.initiateAuthentication, JSON.stringify(body), this.options);
    return decodeInitiateAuthentication(fn, res.body, expectJson(fn, res, parseInitiateAuthenticationResponse));
  }

  async authenticateClient(transactionId: Uint8Array, authenticateServerResponse: Uint8Array): Promise<Es11AuthenticateClientResult> {
    const fn = 'ES11.authenticateClient';
    const body = { transactionId: transactionIdToHex(transactionId), authenticateServerResponse: bytesToBase64(authenticateServerResponse) };
    const res = await rspPost(fn, this.smdsAddress, this.paths.authenticateClient, JSON.stringify(body), this.options);
    const ok = expectJson(fn, res, parseEs11AuthenticateClientResponse);
    return asInvalidMessage(fn, res.body, () => ({
      header: ok.header,
      ...(ok.transactionId !== undefined ? { transactionId: transactionIdFromHex(ok.transactionId) } : {}),
      eventEntries: ok.eventEntries.map((e: EventEntryJson) => ({ eventId: e.eventId, rspServerAddress: e.rspServerAddress })),
    }));
  }
}
