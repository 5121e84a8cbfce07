// What every ES10 function of the software eUICC works on (SGP.22 2.4 eUICC
// architecture): the resolved options, the identities (ECASD content, 2.4.3), the
// persistent state with its atomic save (2.4.1: one ISD-P per profile), memory
// accounting for extCardResource (4.3) and installInsufficientMemory (5.7.6),
// ISD-P AID allocation and the notification sequence counter (3.5).
import { hexToBytes, toUpperHex } from '../bytes.ts';
import { SW, StatusWordError } from '../apdu/sw.ts';
import { type Codec, decode, DerError } from '../rsp/der.ts';
import type { DownloadManager } from './download.ts';
import type { EuiccEvents } from './events.ts';
import type { EuiccFaults } from './faults.ts';
import type { EuiccIdentity } from './identity.ts';
import type { ResolvedOptions } from './options.ts';
import { isdpAidFor, type EuiccState, type StateStore, type StoredProfile } from './state.ts';

/** ISD-P AIDs: A0000005591010FFFFFFFF89 00 00 1X 00, X = index - 1 (as real eUICCs number them). */
export { ISDP_AID_PREFIX, isdpAidFor } from './state.ts';

export class EuiccContext {
  readonly eidBytes: Uint8Array;

  constructor(
    readonly options: ResolvedOptions,
    readonly identities: readonly EuiccIdentity[],
    readonly eid: string,
    readonly store: StateStore,
    public state: EuiccState,
    readonly events: EuiccEvents,
    readonly faults: EuiccFaults,
  ) {
    this.eidBytes = hexToBytes(eid);
  }

  /** Persist the whole state (atomic replace). Call after every change. */
  save(): void {
    this.store.save(this.state);
  }

  /** CI key ids (lowercase hex) of euiccCiPKIdListForVerification / ForSigning: the CIs of the identities. */
  ciKeyIds(): string[] {
    return [...new Set(this.identities.map((i) => i.ciKeyId))];
  }

  identityForCi(keyId: string): EuiccIdentity | undefined {
    const id = keyId.toLowerCase();
    return this.identities.find((i) => i.ciKeyId === id);
  }

  identityByCurve(curve: string): EuiccIdentity {
    return this.identities.find((i) => i.curve === curve) ?? this.identities[0]!;
  }

  // -------------------------------------------------------------------------
  // Profiles

  findByIccid(iccid: string): StoredProfile | undefined {
    return this.state.profiles.find((p) => p.iccid === iccid);
  }

  findByAid(aidHex: string): StoredProfile | undefined {
    const a = aidHex.toUpperCase();
    return this.state.profiles.find((p) => p.isdpAid === a);
  }

  enabledProfile(): StoredProfile | undefined {
    return this.state.profiles.find((p) => p.enabled);
  }

  /** Allocate the next ISD-P AID (indexes are never reused). */
  allocateIsdpAid(): string {
    const aid = isdpAidFor(this.state.nextIsdpIndex);
    this.state.nextIsdpIndex++;
    return aid;
  }

  // -------------------------------------------------------------------------
  // Memory (bytes of NVM)

  usedNvm(): number {
    return this.state.profiles.reduce((n, p) => n + p.size, 0);
  }

  freeNvm(): number {
    return Math.max(0, this.options.totalNvm - this.usedNvm());
  }

  /** NVM a profile package of `uppBytes` consumes once installed. */
  profileFootprint(uppBytes: number): number {
    return uppBytes + this.options.profileOverhead;
  }

  // -------------------------------------------------------------------------
  // Notifications

  /** The next sequence number (monotonically increasing, persisted with the state). */
  nextSeqNumber(): number {
    this.state.lastSeqNumber++;
    return this.state.lastSeqNumber;
  }
}

/** Upper-case hex of an AID from request bytes. */
export function aidHex(aid: Uint8Array): string {
  return toUpperHex(aid);
}

/**
 * Why bytes from outside did not decode. DerError is the engine's report; asn1js,
 * under it, also throws plain Error/RangeError on some corrupt universal types (e.g. a
 * GeneralizedTime that is not a time), which is the same thing for received data.
 */
export function decodeFailure(e: unknown): string | undefined {
  if (e instanceof DerError) return e.describe();
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return undefined;
}

/** Decode an ES10 command; failing that the ISD-R answers SW 6A80 (malformed DER). */
export function decodeRequest<T>(codec: Codec<T>, command: Uint8Array): T {
  try {
    return decode(codec, command);
  } catch (e) {
    const why = decodeFailure(e);
    if (why !== undefined) throw new StatusWordError(SW.INCORRECT_DATA, `${codec.name}: ${why}`);
    throw e;
  }
}

/** What the ES10 function modules work with. */
export interface Es10Env {
  readonly ctx: EuiccContext;
  readonly download: DownloadManager;
  /** random bytes (challenges) */
  readonly random: (n: number) => Uint8Array;
}
