// Pending notifications of the eUICC (SGP.22 3.5; 5.7.6 the ProfileInstallationResult
// is the install notification; 5.7.9 ListNotification, 5.7.10 RetrieveNotificationsList,
// 5.7.11 RemoveNotificationFromList, here NotificationSent after its 'BF30' request).
// Enable/disable/delete produce an OtherSignedNotification (signature over the DER of
// tbsOtherNotification) per NotificationConfigurationInformation listing the event.
// Sequence numbers are shared by all kinds, persisted, never reused.
import { concat, encode, encodeTlv } from '../rsp/der.ts';
import { NotificationMetadata, type NotificationEvent } from '../rsp/common.ts';
import { iccidToBytes } from '../rsp/iccid.ts';
import { hexToBytes, toHex } from '../bytes.ts';
import type { EuiccContext } from './context.ts';
import type { EuiccIdentity } from './identity.ts';
import type { NotificationKind, StoredNotification, StoredProfile } from './state.ts';

export type NotificationFlag = 'notificationInstall' | 'notificationEnable' | 'notificationDisable' | 'notificationDelete';

export const FLAG_OF_KIND: Record<NotificationKind, NotificationFlag> = {
  install: 'notificationInstall',
  enable: 'notificationEnable',
  disable: 'notificationDisable',
  delete: 'notificationDelete',
};

const KIND_OF_FLAG: Record<NotificationFlag, NotificationKind> = {
  notificationInstall: 'install',
  notificationEnable: 'enable',
  notificationDisable: 'disable',
  notificationDelete: 'delete',
};

/** The notification kinds named by a NotificationEvent BIT STRING (unknown bits ignored). */
export function kindsOfEvent(event: NotificationEvent): NotificationKind[] {
  return event.flatMap((f) => (f in KIND_OF_FLAG ? [KIND_OF_FLAG[f as NotificationFlag]] : []));
}

/** NotificationMetadata (BF2F) of a stored notification. */
export function metadataOf(n: StoredNotification): NotificationMetadata {
  return {
    seqNumber: n.seqNumber,
    profileManagementOperation: [FLAG_OF_KIND[n.kind]],
    notificationAddress: n.address,
    ...(n.iccid !== undefined ? { iccid: iccidToBytes(n.iccid) } : {}),
  };
}

/** SEQUENCE tag of OtherSignedNotification */
const SEQUENCE = { cls: 'universal' as const, num: 16 };
const SIGNATURE = { cls: 'application' as const, num: 55 };

/** Sign tbsOtherNotification and wrap it as OtherSignedNotification DER. */
export function signOtherNotification(identity: EuiccIdentity, metadata: NotificationMetadata): Uint8Array {
  const tbs = encode(NotificationMetadata, metadata);
  const signature = identity.sign(tbs);
  return encodeTlv(SEQUENCE, true, concat([tbs, encodeTlv(SIGNATURE, false, signature), identity.certificate, identity.eumCertificate]));
}

/**
 * Create the OtherSignedNotifications an operation on `profile` produces (one per
 * configured address listing the event) and append them to the state. The caller
 * saves the state and then emits the events.
 */
export function addProfileNotifications(ctx: EuiccContext, profile: StoredProfile, kind: 'enable' | 'disable' | 'delete'): StoredNotification[] {
  const addresses = [...new Set(profile.notificationConfiguration.filter((c) => c.events.includes(kind)).map((c) => c.address))];
  const identity = ctx.identityByCurve(profile.identityCurve);
  const out: StoredNotification[] = [];
  for (const address of addresses) {
    const seqNumber = ctx.nextSeqNumber();
    const der = signOtherNotification(identity, {
      seqNumber,
      profileManagementOperation: [FLAG_OF_KIND[kind]],
      notificationAddress: address,
      iccid: iccidToBytes(profile.iccid),
    });
    const n: StoredNotification = { seqNumber, kind, iccid: profile.iccid, address, pendingNotification: toHex(der) };
    ctx.state.notifications.push(n);
    out.push(n);
  }
  return out;
}

/** Append a ProfileInstallationResult (already signed) as the install notification. */
export function addInstallNotification(ctx: EuiccContext, n: { seqNumber: number; address: string; iccid?: string; pirDer: Uint8Array }): StoredNotification {
  const stored: StoredNotification = {
    seqNumber: n.seqNumber,
    kind: 'install',
    ...(n.iccid !== undefined ? { iccid: n.iccid } : {}),
    address: n.address,
    pendingNotification: toHex(n.pirDer),
  };
  ctx.state.notifications.push(stored);
  return stored;
}

/** Tell listeners about notifications that were just persisted. */
export function emitNotificationEvents(ctx: EuiccContext, list: readonly StoredNotification[]): void {
  for (const n of list) ctx.events.emit('notification', { seqNumber: n.seqNumber, kind: n.kind, address: n.address, ...(n.iccid !== undefined ? { iccid: n.iccid } : {}) });
}

function sorted(ctx: EuiccContext): StoredNotification[] {
  return [...ctx.state.notifications].sort((a, b) => a.seqNumber - b.seqNumber);
}

/** Pending notifications whose event is one of `kinds` (all when undefined), by seqNumber. */
export function pendingNotifications(ctx: EuiccContext, kinds?: readonly NotificationKind[]): StoredNotification[] {
  return sorted(ctx).filter((n) => !kinds || kinds.includes(n.kind));
}

/** The DER of each pending notification matching the search criteria (5.7.10). */
export function retrieveNotifications(ctx: EuiccContext, criteria: { seqNumber: number } | { kinds: readonly NotificationKind[] } | undefined): Uint8Array[] {
  let list = sorted(ctx);
  if (criteria && 'seqNumber' in criteria) list = list.filter((n) => n.seqNumber === criteria.seqNumber);
  else if (criteria) list = list.filter((n) => criteria.kinds.includes(n.kind));
  return list.map((n) => hexToBytes(n.pendingNotification));
}

/** Remove a notification (5.7.11); false when there is none with this seqNumber. The caller saves. */
export function removeNotification(ctx: EuiccContext, seqNumber: number): boolean {
  const i = ctx.state.notifications.findIndex((n) => n.seqNumber === seqNumber);
  if (i < 0) return false;
  ctx.state.notifications.splice(i, 1);
  return true;
}
