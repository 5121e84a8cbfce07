// Test double of an SM-DP+ / SM-DS for the LPA flow unit tests (SGP.22 5.6 ES9+, 5.8 ES11):
// answers with well-formed but unsigned SGP.22 structures (sim/rsp samples), records every
// call, and lets a test change fields (serverAddress, transactionId, ccRequiredFlag) or make
// a function fail. The LPA never checks signatures, so none are computed.
import { Certificate, ServerSigned1, Signature, SmdpSigned2, SubjectKeyIdentifier } from '../../rsp/common.ts';
import { encode } from '../../rsp/der.ts';
import { BoundProfilePackage, StoreMetadataRequest } from '../../rsp/es8p.ts';
import { samples } from '../../rsp/testdata/samples.ts';
import { hexToBytes } from '../../bytes.ts';
import type { ResponseHeader } from '../../rsp/json.ts';
import type { AuthenticateClientResult, Es9pApi, GetBoundProfilePackageResult, InitiateAuthenticationInput, InitiateAuthenticationResult } from '../es9p-client.ts';
import type { Es11Api, Es11AuthenticateClientResult, EventEntry } from '../es11-client.ts';

export const FAKE_TX = hexToBytes('0123456789ABCDEF0123456789ABCDEF');
const SIG = hexToBytes('22'.repeat(64));
const SKI = hexToBytes('f54172bdf98a95d65cbeb88a38a1c11d800a85c3');
const OK: ResponseHeader = { functionExecutionStatus: { status: 'Executed-Success' } };

type Sample = Record<string, unknown>;
const sampleBpp = samples['BoundProfilePackage'] as Parameters<typeof BoundProfilePackage.encode>[0];
const sampleMetadata = samples['StoreMetadataRequest'] as Parameters<typeof StoreMetadataRequest.encode>[0];
const sampleCert = (samples['AuthenticateServerRequest'] as Sample)['serverCertificate'] as Uint8Array;

export type Es9Function = 'initiateAuthentication' | 'authenticateClient' | 'getBoundProfilePackage' | 'handleNotification' | 'cancelSession';

export interface FakeSmdpCall {
  readonly fn: Es9Function;
  readonly address: string;
  readonly args: readonly Uint8Array[];
}

export interface FakeSmdpConfig {
  /** serverSigned1.serverAddress (default: the address called) */
  serverAddress?: string;
  /** transactionId in the JSON part of InitiateAuthentication (default FAKE_TX) */
  transactionId?: Uint8Array;
  /** serverSigned1.transactionId (default = transactionId) */
  signedTransactionId?: Uint8Array;
  /** transactionId returned by AuthenticateClient / GetBoundProfilePackage (default = transactionId) */
  laterTransactionId?: Uint8Array;
  ccRequired?: boolean;
  metadata?: Parameters<typeof StoreMetadataRequest.encode>[0];
  bpp?: Uint8Array;
  /** make a function throw */
  fail?: Partial<Record<Es9Function, Error>>;
}

/** One fake SM-DP+ (shared by every address it is asked for, see `factory`). */
export class FakeSmdp {
  readonly calls: FakeSmdpCall[] = [];
  constructor(public config: FakeSmdpConfig = {}) {}

  callsOf(fn: Es9Function): FakeSmdpCall[] {
    return this.calls.filter((c) => c.fn === fn);
  }

  /** es9pFactory for LpaOptions */
  readonly factory = (address: string): Es9pApi => this.client(address);

  get bpp(): Uint8Array {
    return this.config.bpp ?? encode(BoundProfilePackage, { ...sampleBpp, initialiseSecureChannelRequest: { ...sampleBpp.initialiseSecureChannelRequest, transactionId: this.tx } });
  }

  private get tx(): Uint8Array {
    return this.config.transactionId ?? FAKE_TX;
  }

  private record(fn: Es9Function, address: string, ...args: Uint8Array[]): void {
    this.calls.push({ fn, address, args });
    const err = this.config.fail?.[fn];
    if (err) throw err;
  }

  client(address: string): Es9pApi {
    const self = this;
    return {
      smdpAddress: address,
      async initiateAuthentication(input: InitiateAuthenticationInput): Promise<InitiateAuthenticationResult> {
        self.record('initiateAuthentication', address, input.euiccChallenge, input.euiccInfo1);
        return initiateAuthenticationResult(self.config.serverAddress ?? address, input.euiccChallenge, self.tx, self.config.signedTransactionId ?? self.tx);
      },
      async authenticateClient(transactionId: Uint8Array, asr: Uint8Array): Promise<AuthenticateClientResult> {
        self.record('authenticateClient', address, transactionId, asr);
        const tid = self.config.laterTransactionId ?? self.tx;
        const metadata = self.config.metadata ?? sampleMetadata;
        const smdpSigned2 = { transactionId: tid, ccRequiredFlag: self.config.ccRequired ?? false };
        return {
          header: OK,
          transactionId: tid,
          profileMetadata: metadata,
          smdpSigned2,
          smdpSignature2: SIG,
          smdpCertificate: sampleCert,
          der: {
            profileMetadata: StoreMetadataRequest.encode(metadata),
            smdpSigned2: SmdpSigned2.encode(smdpSigned2),
            smdpSignature2: Signature.encode(SIG),
            smdpCertificate: Certificate.encode(sampleCert),
          },
        };
      },
      async getBoundProfilePackage(transactionId: Uint8Array, pdr: Uint8Array): Promise<GetBoundProfilePackageResult> {
        self.record('getBoundProfilePackage', address, transactionId, pdr);
        return { header: OK, transactionId: self.config.laterTransactionId ?? self.tx, boundProfilePackage: self.bpp };
      },
      async handleNotification(pending: Uint8Array): Promise<void> {
        self.record('handleNotification', address, pending);
      },
      async cancelSession(transactionId: Uint8Array, csr: Uint8Array): Promise<ResponseHeader> {
        self.record('cancelSession', address, transactionId, csr);
        return OK;
      },
    };
  }
}

export function initiateAuthenticationResult(serverAddress: string, euiccChallenge: Uint8Array, transactionId: Uint8Array, signedTransactionId = transactionId): InitiateAuthenticationResult {
  const serverSigned1 = { transactionId: signedTransactionId, euiccChallenge, serverAddress, serverChallenge: hexToBytes('44'.repeat(16)) };
  return {
    header: OK,
    transactionId,
    serverSigned1,
    serverSignature1: SIG,
    euiccCiPKIdToBeUsed: SKI,
    serverCertificate: sampleCert,
    der: {
      serverSigned1: ServerSigned1.encode(serverSigned1),
      serverSignature1: Signature.encode(SIG),
      euiccCiPKIdToBeUsed: SubjectKeyIdentifier.encode(SKI),
      serverCertificate: Certificate.encode(sampleCert),
    },
  };
}

/** A fake SM-DS returning fixed event entries. */
export class FakeSmds {
  readonly calls: { fn: 'initiateAuthentication' | 'authenticateClient'; address: string; args: Uint8Array[] }[] = [];
  constructor(
    public events: EventEntry[],
    public serverAddress?: string,
  ) {}
  readonly factory = (address: string): Es11Api => {
    const self = this;
    return {
      smdsAddress: address,
      async initiateAuthentication(input) {
        self.calls.push({ fn: 'initiateAuthentication', address, args: [input.euiccChallenge, input.euiccInfo1] });
        return initiateAuthenticationResult(self.serverAddress ?? address, input.euiccChallenge, FAKE_TX);
      },
      async authenticateClient(transactionId, asr): Promise<Es11AuthenticateClientResult> {
        self.calls.push({ fn: 'authenticateClient', address, args: [transactionId, asr] });
        return { header: OK, transactionId, eventEntries: self.events };
      },
    };
  };
}
