// Non-volatile state of the software eUICC (SGP.22 2.4 eUICC architecture, 5.7
// ES10 functions): installed profiles with their metadata (5.5.3 StoreMetadata),
// pending notifications with their sequence numbers (3.5, 5.7.9-5.7.11), configured
// addresses (5.7.3-5.7.4), counters, the identity of a freshly issued eUICC, and the
// "BPP in progress" marker that turns a crash during ES10b.LoadBoundProfilePackage
// (2.5.5, 5.7.6) into an installFailedDueToInterruption result after a restart.

// It is written as one JSON document through an atomic file replace after every
// change, so a process killed at any point restarts from either the state before or
// after a command, never from a half-written one. Profile content (the SAIP package
// with its Ki/OPc) and a fresh identity's private key are card NVM: they live in this
// file, which is created with mode 0600; nothing in here is ever logged.
import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../store/atomic-file.ts';
import type { PersistedIdentity } from './identity.ts';

export type ProfileClass = 'test' | 'provisioning' | 'operational';
export type NotificationKind = 'install' | 'enable' | 'disable' | 'delete';
export type PprName = 'pprUpdateControl' | 'ppr1' | 'ppr2';

export const PROFILE_CLASS_VALUES: Record<ProfileClass, number> = { test: 0, provisioning: 1, operational: 2 };
export const NOTIFICATION_KINDS: readonly NotificationKind[] = ['install', 'enable', 'disable', 'delete'];

export function profileClassOf(n: number): ProfileClass | undefined {
  return (Object.keys(PROFILE_CLASS_VALUES) as ProfileClass[]).find((k) => PROFILE_CLASS_VALUES[k] === n);
}

export interface NotificationConfig {
  /** events the profile wants notified */
  events: NotificationKind[];
  address: string;
}

export interface StoredProfile {
  /** ICCID digits */
  iccid: string;
  /** ISD-P AID, upper-case hex */
  isdpAid: string;
  enabled: boolean;
  nickname?: string;
  serviceProviderName: string;
  profileName: string;
  iconType?: number;
  /** hex */
  icon?: string;
  profileClass: ProfileClass;
  notificationConfiguration: NotificationConfig[];
  /** hex of the OperatorId fields */
  profileOwner?: { mccMnc: string; gid1?: string; gid2?: string };
  /** dpOid of ConfigureISDP's dpProprietaryData */
  dpOid?: string;
  policyRules: PprName[];
  /** hex DER of serviceSpecificDataStoredInEuicc (the BF22 element), if any */
  serviceSpecificData?: string;
  /** hex DER of the StoreMetadata request (BF25) as received */
  metadataDer: string;
  /** SM-DP+ address and OID (CERT.DPpb) of the download */
  smdpAddress: string;
  smdpOid: string;
  /** curve of the eUICC identity used for the download (signs this profile's notifications) */
  identityCurve: string;
  /** unprotected profile package (SAIP), hex */
  upp: string;
  /** bytes of NVM the profile consumes */
  size: number;
  /** from the SAIP package */
  profileType?: string;
  imsi?: string;
  /** ADF.USIM AID, upper-case hex */
  usimAid?: string;
  /** ISO time of installation */
  installedAt: string;
}

export interface StoredNotification {
  seqNumber: number;
  kind: NotificationKind;
  iccid?: string;
  address: string;
  /** hex DER of the PendingNotification (ProfileInstallationResult BF37 or OtherSignedNotification 30) */
  pendingNotification: string;
}

/** Written when an ISCR is accepted, cleared when the BPP ends (installed, failed or interrupted). */
export interface BppMarker {
  /** hex */
  transactionId: string;
  smdpAddress: string;
  /** OID of CERT.DPpb */
  smdpOid: string;
  identityCurve: string;
  /** BppCommandId the eUICC was processing or expecting */
  bppCommandId: number;
  /** ICCID digits once StoreMetadata was processed */
  iccid?: string;
  startedAt: string;
}

export interface EuiccState {
  version: 1;
  /** the EID this state belongs to */
  eid: string;
  profiles: StoredProfile[];
  notifications: StoredNotification[];
  /** last notification sequence number used (SGP.22: monotonically increasing, never reused) */
  lastSeqNumber: number;
  /** next ISD-P index for AID allocation (never reused) */
  nextIsdpIndex: number;
  defaultDpAddress?: string;
  rootDsAddress: string;
  bppInProgress?: BppMarker;
  /** identities of a freshly issued eUICC (absent for the SGP.26 identities) */
  freshIdentities?: PersistedIdentity[];
}

export function initialState(eid: string, rootDsAddress: string, defaultDpAddress?: string): EuiccState {
  return {
    version: 1,
    eid,
    profiles: [],
    notifications: [],
    lastSeqNumber: 0,
    nextIsdpIndex: 1,
    rootDsAddress,
    ...(defaultDpAddress ? { defaultDpAddress } : {}),
  };
}

export class StateFileError extends Error {
  override readonly name = 'StateFileError';
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Where the state lives. `path === undefined` keeps it in memory only (unit tests
 * that do not test persistence); every real run passes a file.
 */
export class StateStore {
  constructor(readonly path: string | undefined) {}

  /** true when a state file exists */
  exists(): boolean {
    return this.path !== undefined && existsSync(this.path);
  }

  /** The stored state, or undefined when there is no file yet. */
  load(): EuiccState | undefined {
    if (!this.path || !existsSync(this.path)) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(this.path, 'utf8'));
    } catch (err) {
      throw new StateFileError(`eUICC state file ${this.path} is not valid JSON: ${(err as Error).message}`);
    }
    if (!isObject(parsed) || parsed.version !== 1) throw new StateFileError(`eUICC state file ${this.path} has an unknown format (expected version 1)`);
    if (typeof parsed.eid !== 'string' || !Array.isArray(parsed.profiles) || !Array.isArray(parsed.notifications) || typeof parsed.lastSeqNumber !== 'number' || typeof parsed.nextIsdpIndex !== 'number' || typeof parsed.rootDsAddress !== 'string')
      throw new StateFileError(`eUICC state file ${this.path} is missing eid/profiles/notifications/counters`);
    return parsed as unknown as EuiccState;
  }

  save(state: EuiccState): void {
    if (!this.path) return;
    writeFileAtomic(this.path, JSON.stringify(state, null, 1));
  }
}
