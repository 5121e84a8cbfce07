// Configuration of the software eUICC: SGP.22 version (SVN, 2.2.2 / 2.3.0 / 2.5.0,
// SGP.22 4.3 EUICCInfo1/2 and the ISD-R FCI of 2.4.x), which identities it carries
// (SGP.26 test eUICC certificates or freshly issued ones), its memory (NVM the
// profiles consume, SGP.22 4.3 extCardResource), which profile classes it accepts
// (2.4.4 test/provisioning/operational), its Rules Authorisation Table (2.9.2.2,
// ES10b.GetRAT 5.7.22) and the configured addresses (ES10a 5.7.3).
import type { CurveName } from '../crypto/curves.ts';
import type { OperatorId, ProfilePolicyAuthorisationRule } from '../rsp/common.ts';
import type { CardOptions } from './card/card.ts';
import type { EuiccIdentity } from './identity.ts';
import type { TrustedCi } from '../../certs/chain.ts';
import { sgp26TrustedCis } from '../../certs/store.ts';
import { hexToBytes } from '../bytes.ts';
import type { ProfileClass } from './state.ts';

export type Svn = '2.2.2' | '2.3.0' | '2.5.0';
export const SVNS: readonly Svn[] = ['2.2.2', '2.3.0', '2.5.0'];

export type Version = readonly [number, number, number];

export function isSvn(s: string): s is Svn {
  return (SVNS as readonly string[]).includes(s);
}

export function versionOf(s: Svn): Version {
  const [a, b, c] = s.split('.').map(Number) as [number, number, number];
  return [a, b, c];
}

/** the SVN is at least `v` (e.g. '2.3.0') */
export function svnAtLeast(svn: Svn, v: string): boolean {
  const a = versionOf(svn);
  const b = v.split('.').map(Number);
  for (let i = 0; i < 3; i++) if (a[i]! !== b[i]!) return a[i]! > b[i]!;
  return true;
}

/** Which eUICC identities (certificate + key) the card carries. */
export type IdentityChoice =
  /** SGP.26 CERT_EUICC_ECDSA_NIST (EID 89049032123451234512345678901235) */
  | 'nist'
  /** SGP.26 CERT_EUICC_ECDSA_BRP (same EID) */
  | 'brp'
  /** both SGP.26 identities (default) */
  | 'both'
  /** a fresh EID and certificates issued by the SGP.26 EUMs (kept in the state file) */
  | 'fresh'
  | { readonly fresh: { readonly eid?: string; readonly curves?: readonly CurveName[] } }
  /** identities built by the caller (tests) */
  | { readonly identities: readonly EuiccIdentity[] };

export interface EuiccOptions {
  /** state file; absent = state in memory only (lost with the process) */
  readonly statePath?: string;
  readonly identity?: IdentityChoice;
  /** SGP.22 version announced in EUICCInfo1/2 and the ISD-R FCI (default 2.2.2) */
  readonly svn?: Svn;
  /** NVM available for profiles, bytes (default 512 KiB) */
  readonly totalNvm?: number;
  /** NVM an installed profile takes beyond its package size (ISD-P, metadata; default 2048) */
  readonly profileOverhead?: number;
  /** free volatile memory announced in extCardResource (default 16 KiB) */
  readonly freeVolatileMemory?: number;
  /** rspCapability.testProfileSupport; test profiles are refused without it (default true) */
  readonly testProfileSupport?: boolean;
  /** accept provisioning profiles (default false: unsupportedProfileClass) */
  readonly provisioningProfileSupport?: boolean;
  /** Rules Authorisation Table (default: PPR1 and PPR2 allowed for any operator, no consent) */
  readonly rat?: readonly ProfilePolicyAuthorisationRule[];
  /** default SM-DP+ address at manufacture (and after eUICCMemoryReset resetDefaultSmdpAddress) */
  readonly defaultDpAddress?: string;
  /** root SM-DS address (default lpa.ds.gsma.com) */
  readonly rootDsAddress?: string;
  /** EUICCInfo2.euiccFirmwareVer (default 1.0.0) */
  readonly firmwareVersion?: Version;
  /**
   * what the eUICC accepts from the SM-DP+ in the BPP's StoreMetadata: 'tolerant' (default,
   * as real cards: valid BER that is not DER, each deviation a 'finding' event) or 'strict' DER
   */
  readonly peerEncoding?: 'tolerant' | 'strict';
  /** EUICCInfo2.profileVersion: SAIP version supported (default 2.3.0) */
  readonly profileVersion?: Version;
  /** EUICCInfo2.euiccCategory (default 2, mediumEuicc) */
  readonly euiccCategory?: number;
  readonly sasAccreditationNumber?: string;
  /** EUICCInfo2.ppVersion (default 0.1.0) */
  readonly ppVersion?: Version;
  /** CI public keys the eUICC verifies server certificates with (default: the SGP.26 CIs) */
  readonly trustedCis?: readonly TrustedCi[];
  /** card layer settings (ATR, T=0 response style, channels ...) */
  readonly card?: Omit<CardOptions, 'applets' | 'profileView' | 'beforeCommand'>;
}

export interface ResolvedOptions {
  readonly statePath: string | undefined;
  readonly identity: IdentityChoice;
  readonly svn: Svn;
  readonly totalNvm: number;
  readonly profileOverhead: number;
  readonly freeVolatileMemory: number;
  readonly testProfileSupport: boolean;
  readonly provisioningProfileSupport: boolean;
  readonly rat: readonly ProfilePolicyAuthorisationRule[];
  readonly defaultDpAddress: string | undefined;
  readonly rootDsAddress: string;
  readonly firmwareVersion: Version;
  readonly peerEncoding: 'tolerant' | 'strict';
  readonly profileVersion: Version;
  readonly euiccCategory: number;
  readonly sasAccreditationNumber: string;
  readonly ppVersion: Version;
  readonly trustedCis: readonly TrustedCi[];
  readonly card: Omit<CardOptions, 'applets' | 'profileView' | 'beforeCommand'>;
}

/** mccMnc 'EEEEEE': every nibble a wildcard (SGP.22 2.9.2.2), i.e. any operator. */
export const ANY_OPERATOR: OperatorId = { mccMnc: hexToBytes('EEEEEE') };

export const DEFAULT_RAT: readonly ProfilePolicyAuthorisationRule[] = [
  { pprIds: ['ppr1', 'ppr2'], allowedOperators: [ANY_OPERATOR], pprFlags: [] },
];

export const DEFAULT_ROOT_DS = 'lpa.ds.gsma.com';
export const DEFAULT_TOTAL_NVM = 512 * 1024;
export const DEFAULT_PROFILE_OVERHEAD = 2048;

export class EuiccOptionsError extends Error {
  override readonly name = 'EuiccOptionsError';
}

function nonNegativeInt(name: string, v: number): number {
  if (!Number.isSafeInteger(v) || v < 0) throw new EuiccOptionsError(`${name} must be a non-negative integer, got ${v}`);
  return v;
}

export function resolveOptions(o: EuiccOptions = {}): ResolvedOptions {
  const svn = o.svn ?? '2.2.2';
  if (!isSvn(svn)) throw new EuiccOptionsError(`svn must be one of ${SVNS.join(', ')}, got ${String(svn)}`);
  return {
    statePath: o.statePath,
    identity: o.identity ?? 'both',
    svn,
    totalNvm: nonNegativeInt('totalNvm', o.totalNvm ?? DEFAULT_TOTAL_NVM),
    profileOverhead: nonNegativeInt('profileOverhead', o.profileOverhead ?? DEFAULT_PROFILE_OVERHEAD),
    freeVolatileMemory: nonNegativeInt('freeVolatileMemory', o.freeVolatileMemory ?? 16 * 1024),
    testProfileSupport: o.testProfileSupport ?? true,
    provisioningProfileSupport: o.provisioningProfileSupport ?? false,
    rat: o.rat ?? DEFAULT_RAT,
    defaultDpAddress: o.defaultDpAddress,
    rootDsAddress: o.rootDsAddress ?? DEFAULT_ROOT_DS,
    firmwareVersion: o.firmwareVersion ?? [1, 0, 0],
    peerEncoding: o.peerEncoding ?? 'tolerant',
    profileVersion: o.profileVersion ?? [2, 3, 0],
    euiccCategory: o.euiccCategory ?? 2,
    sasAccreditationNumber: o.sasAccreditationNumber ?? 'BRIDGELAB-SIM-0001',
    ppVersion: o.ppVersion ?? [0, 1, 0],
    trustedCis: o.trustedCis ?? sgp26TrustedCis(),
    card: o.card ?? {},
  };
}

/** Profile classes the eUICC accepts in StoreMetadata. */
export function allowedProfileClasses(o: ResolvedOptions): ProfileClass[] {
  const out: ProfileClass[] = ['operational'];
  if (o.testProfileSupport) out.push('test');
  if (o.provisioningProfileSupport) out.push('provisioning');
  return out;
}
