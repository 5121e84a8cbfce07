// Non-volatile state of the software eUICC (SGP.22 2.4, 5.7): installed profiles,
// pending notifications with their sequence numbers, configured addresses and the
// counters the ISD-R keeps. It is written as one JSON document through an atomic
// file replace after every change, so a process killed at any point restarts from
// either the state before or after a command, never from a half-written one.
//
// Profile content (the SAIP package with its Ki/OPc) is card NVM: it lives in this
// file, which is created with mode 0600; nothing in here is ever logged.
import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../store/atomic-file.ts';

export type ProfileClass = 'test' | 'provisioning' | 'operational';
export type NotificationKind = 'install' | 'enable' | 'disable' | 'delete';

export interface NotificationConfig {
  /** events the profile wants notified (subset of NotificationKind) */
  events: NotificationKind[];
  address: string;
}

export interface StoredProfile {
  iccid: string;
  /** ISD-P AID, hex */
  isdpAid: string;
  enabled: boolean;
  nickname?: string;
  serviceProviderName?: string;
  profileName?: string;
  iconType?: number;
  /** hex */
  icon?: string;
  profileClass: ProfileClass;
  notificationConfiguration: NotificationConfig[];
  /** hex of OperatorId fields */
  profileOwner?: { mccMnc: string; gid1?: string; gid2?: string };
  /** PPR names set for this profile: ppr1 (no disable), ppr2 (no delete) */
  policyRules: string[];
  /** hex DER of the StoreMetadata request, kept for GetProfilesInfo re-encoding */
  metadataDer: string;
  /** SM-DP+ that installed it (for its notifications) */
  smdpAddress: string;
  /** unprotected profile package (SAIP), hex */
  upp: string;
  /** bytes of NVM the profile consumes */
  size: number;
}

export interface StoredNotification {
  seqNumber: number;
  kind: NotificationKind;
  iccid?: string;
  address: string;
  /** hex DER of the PendingNotification (ProfileInstallationResult BF37 or OtherSignedNotification 30) */
  pendingNotification: string;
}

export interface EuiccState {
  version: 1;
  profiles: StoredProfile[];
  notifications: StoredNotification[];
  /** last notification sequence number used (SGP.22: monotonically increasing) */
  lastSeqNumber: number;
  /** next ISD-P index for AID allocation */
  nextIsdpIndex: number;
  defaultDpAddress?: string;
  rootDsAddress: string;
}

export function initialState(rootDsAddress: string, defaultDpAddress?: string): EuiccState {
  return {
    version: 1,
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

/**
 * Where the state lives. `path === undefined` keeps it in memory only (unit tests
 * that do not test persistence); every real run passes a file.
 */
export class StateStore {
  constructor(readonly path: string | undefined) {}

  load(fallback: () => EuiccState): EuiccState {
    if (!this.path || !existsSync(this.path)) return fallback();
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(this.path, 'utf8'));
    } catch (err) {
      throw new StateFileError(`eUICC state file ${this.path} is not valid JSON: ${(err as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || (parsed as { version?: unknown }).version !== 1)
      throw new StateFileError(`eUICC state file ${this.path} has an unknown format (expected version 1)`);
    const s = parsed as EuiccState;
    if (!Array.isArray(s.profiles) || !Array.isArray(s.notifications) || typeof s.lastSeqNumber !== 'number')
      throw new StateFileError(`eUICC state file ${this.path} is missing profiles/notifications/counters`);
    return s;
  }

  save(state: EuiccState): void {
    if (!this.path) return;
    writeFileAtomic(this.path, JSON.stringify(state, null, 1));
  }
}
