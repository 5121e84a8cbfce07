// Lifetime of the records the SM-DP+ keeps (SGP.22 leaves session lifetime and record
// retention to the SM-DP+; this is bridgelab's rule). Unauthenticated clients can create
// sessions (InitiateAuthentication, 5.6.1) and notifications (HandleNotification, 5.6.4)
// at will, so every such record has an owner and an end:
//   - a session waiting for its next step (authInitiated, clientAuthenticated, failed)
//     expires `sessionTtlMs` after its last step (default 15 min) and is then answered as
//     unknown (8.10.1/3.9); one waiting for its ProfileInstallationResult (bppDelivered),
//     and one that ended (completed, cancelled), is kept `retentionMs` (default 7 days);
//   - notifications are kept `retentionMs` after receipt; rejected ones are counted and
//     kept without their bytes;
//   - closed orders are kept `retentionMs` after closing;
//   - at most `maxSessions` sessions and `maxNotifications` notifications (10,000 each):
//     beyond that the oldest go first (sessions still waiting for a step before the others).
// Sessions are keyed by transactionId, whose first 6 bytes are their creation time (as
// UUIDv7 and ULID do), so the oldest are the first keys of the table.
import { randomBytes } from 'node:crypto';
import type { SmdpDb } from './db.ts';
import type { SessionRecord } from './records.ts';

export interface RetentionPolicy {
  sessionTtlMs: number;
  retentionMs: number;
  maxSessions: number;
  maxNotifications: number;
  /** how often the sweep runs (0: only on demand and at start) */
  sweepIntervalMs: number;
}

export const DEFAULT_RETENTION: RetentionPolicy = {
  sessionTtlMs: 15 * 60_000,
  retentionMs: 7 * 86_400_000,
  maxSessions: 10_000,
  maxNotifications: 10_000,
  sweepIntervalMs: 60_000,
};

export interface SweepResult {
  sessions: number;
  notifications: number;
  orders: number;
}

const WAITING: readonly SessionRecord['state'][] = ['authInitiated', 'clientAuthenticated', 'failed'];

/** A fresh transactionId: creation time in ms (6 bytes, big-endian) and 10 random bytes. */
export function newTransactionId(now: number): Uint8Array {
  const id = new Uint8Array(16);
  let t = Math.max(0, Math.floor(now));
  for (let i = 5; i >= 0; i--) {
    id[i] = t % 256;
    t = Math.floor(t / 256);
  }
  id.set(randomBytes(10), 6);
  return id;
}

/** Whether a session is past its lifetime at `now`. */
export function sessionExpired(s: Pick<SessionRecord, 'state' | 'updatedAt'>, policy: RetentionPolicy, now: number): boolean {
  const ttl = WAITING.includes(s.state) ? policy.sessionTtlMs : policy.retentionMs;
  return now - s.updatedAt > ttl;
}

/** Delete a session with its BPP (inside tx). */
export function deleteSession(db: SmdpDb, s: SessionRecord): void {
  if (s.bppKey) db.blobs.remove(s.bppKey);
  db.sessions.remove(s.transactionId);
}

function countRemoved(db: SmdpDb, r: SweepResult): void {
  if (r.sessions + r.notifications + r.orders === 0) return;
  db.updateMeta((m) => {
    const removed = m.removed ?? {};
    return { ...m, removed: { sessions: (removed.sessions ?? 0) + r.sessions, notifications: (removed.notifications ?? 0) + r.notifications, orders: (removed.orders ?? 0) + r.orders } };
  });
}

/**
 * Make room for `incoming` new sessions under the cap (inside the tx that adds them):
 * removes the oldest waiting sessions, then the oldest of any state, in batches of 1% of
 * the cap so a flood pays for a scan once per hundred requests, not on each.
 */
export function makeRoomForSessions(db: SmdpDb, policy: RetentionPolicy, incoming = 1): number {
  const over = db.sessions.count() + incoming - policy.maxSessions;
  if (over <= 0) return 0;
  const need = over + Math.ceil(policy.maxSessions / 100);
  const victims = new Map<string, SessionRecord>();
  for (const pass of [(s: SessionRecord) => WAITING.includes(s.state), () => true])
    for (const { key, value } of db.sessions.range()) {
      if (victims.size >= need) break;
      if (pass(value)) victims.set(key, value);
    }
  for (const s of victims.values()) deleteSession(db, s);
  countRemoved(db, { sessions: victims.size, notifications: 0, orders: 0 });
  return victims.size;
}

/** Make room for one more notification under the cap (inside the tx that adds it). */
export function makeRoomForNotification(db: SmdpDb, policy: RetentionPolicy): number {
  const over = db.notifications.count() + 1 - policy.maxNotifications;
  if (over <= 0) return 0;
  const need = over + Math.ceil(policy.maxNotifications / 100);
  const keys = [...db.notifications.range({ limit: need })].map((e) => e.key);
  for (const k of keys) db.notifications.remove(k);
  countRemoved(db, { sessions: 0, notifications: keys.length, orders: 0 });
  return keys.length;
}

/** Apply the retention rule to every table (one transaction). */
export function sweep(db: SmdpDb, policy: RetentionPolicy, now: number): SweepResult {
  return db.tx(() => {
    const sessions = [...db.sessions.range()].map((e) => e.value).filter((s) => sessionExpired(s, policy, now));
    for (const s of sessions) deleteSession(db, s);
    const notifications: string[] = [];
    for (const { key, value } of db.notifications.range()) {
      if (now - value.receivedAt <= policy.retentionMs) break; // keys are in receipt order
      notifications.push(key);
    }
    for (const k of notifications) db.notifications.remove(k);
    const orders = [...db.orders.range()].map((e) => e.value).filter((o) => o.closed && now - (o.closedAt ?? o.createdAt) > policy.retentionMs);
    for (const o of orders) {
      if (o.binding) db.blobs.remove(o.binding.segmentsKey);
      const p = db.profiles.get(o.iccid);
      if (p?.orderId === o.orderId) {
        const { orderId: _gone, ...rest } = p;
        void _gone;
        db.profiles.put(p.iccid, rest);
      }
      db.orders.remove(o.orderId);
    }
    const r: SweepResult = { sessions: sessions.length, notifications: notifications.length, orders: orders.length };
    countRemoved(db, r);
    return r;
  });
}
