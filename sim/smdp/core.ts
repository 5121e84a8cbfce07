// Shared state of one SM-DP+ instance and the helpers every interface uses (SGP.22 5.3
// ES2+, 5.6 ES9+, 5.8 ES11/ES12, 3.1.6 inventory states): options with defaults, the
// database, credentials, templates, misbehaviour, clock, progress notifier, ES2+ client
// authentication and logging (escaped and cut, safe-text.ts); profile state changes
// (through inventory-state.ts only), order lookup and ownership, SM-DS events.
import { randomInt } from 'node:crypto';
import type { ConfirmationCodeEncoding } from '../crypto/confirmation.ts';
import { SmdpConfigError } from './errors.ts';
import type { EventRecord, OrderRecord, ProfileRecord, SmdpDb } from './db.ts';
import type { SmdpCredentials, ExpirableCert } from './credentials.ts';
import type { ProfileTemplate } from './inventory.ts';
import { transition, type ProfileEvent } from './inventory-state.ts';
import type { Misbehaviour } from './misbehaviour.ts';
import type { ProgressNotifier } from './progress.ts';
import { DEFAULT_SEGMENT_SIZE, MAX_SEGMENT_SIZE } from './bpp.ts';
import type { HttpLimits } from './http.ts';
import type { RetentionPolicy } from './retention.ts';
import type { Es2Auth } from './es2-auth.ts';
import { MAX_LOG_LINE, safeText } from './safe-text.ts';

export type LogLevel = 'info' | 'warn' | 'error';
export type SmdpLogger = (level: LogLevel, message: string) => void;

/** Options with every default applied (see SmdpOptions in server.ts). */
export interface ResolvedOptions {
  dataDir: string;
  host: string;
  port: number;
  hostname: string;
  smdsHostname: string;
  segmentSize: number;
  replaceSessionKeys: boolean;
  http: boolean;
  testMode: boolean;
  operatorCallbackUrl?: string;
  ccRetryLimit: number;
  downloadRetryLimit: number;
  orderTtlMs: number;
  profilesDir: string;
  ccEncoding: ConfirmationCodeEncoding;
  limits: HttpLimits;
  retention: RetentionPolicy;
  /** released orders to create at start (with the inventory, in one transaction) */
  initialOrders: number;
}

export function checkOptions(o: ResolvedOptions): void {
  const int = (v: number, name: string, min: number, max: number): void => {
    if (!Number.isInteger(v) || v < min || v > max) throw new SmdpConfigError(`${name} must be an integer ${min}..${max}, got ${v}`);
  };
  int(o.port, 'port', 0, 65535);
  int(o.segmentSize, 'segmentSize', 1, MAX_SEGMENT_SIZE);
  int(o.ccRetryLimit, 'ccRetryLimit', 1, 1000);
  int(o.downloadRetryLimit, 'downloadRetryLimit', 1, 1000);
  if (!Number.isFinite(o.orderTtlMs) || o.orderTtlMs <= 0) throw new SmdpConfigError(`orderTtlMs must be positive, got ${o.orderTtlMs}`);
  if (o.operatorCallbackUrl !== undefined) {
    let u: URL;
    try {
      u = new URL(o.operatorCallbackUrl);
    } catch (e) {
      throw new SmdpConfigError(`operatorCallbackUrl '${o.operatorCallbackUrl}' is not a URL: ${(e as Error).message}`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new SmdpConfigError(`operatorCallbackUrl must be http(s), got ${u.protocol}`);
  }
  if (o.ccEncoding !== 'ascii' && o.ccEncoding !== 'hex') throw new SmdpConfigError(`ccEncoding must be ascii or hex`);
  for (const [k, v] of Object.entries(o.limits)) int(v, `limits.${k}`, 1, 2 ** 31 - 1);
  for (const [k, v] of Object.entries(o.retention)) int(v, `retention.${k}`, k === 'sweepIntervalMs' ? 0 : 1, Number.MAX_SAFE_INTEGER);
  int(o.initialOrders, 'initialOrders', 0, 100_000);
}

export const DEFAULTS = {
  host: '127.0.0.1',
  port: 8443,
  hostname: 'testsmdpplus1.example.com',
  smdsHostname: 'testsmds.example.com',
  segmentSize: DEFAULT_SEGMENT_SIZE,
  replaceSessionKeys: true,
  ccRetryLimit: 3,
  downloadRetryLimit: 5,
  orderTtlMs: 7 * 86_400_000,
  inventoryPerTemplate: 2,
} as const;

export class SmdpCore {
  misbehaviour: Misbehaviour = {};
  /** port actually bound (known after listen) */
  boundPort = 0;
  /** the log sink; every line has its control characters escaped and is cut to MAX_LOG_LINE */
  readonly log: SmdpLogger;

  constructor(
    readonly options: ResolvedOptions,
    readonly db: SmdpDb,
    readonly credentials: SmdpCredentials,
    readonly templates: ReadonlyMap<string, ProfileTemplate>,
    readonly progress: ProgressNotifier,
    readonly es2: Es2Auth,
    sink: SmdpLogger,
    readonly clock: () => number,
  ) {
    this.log = (level, message) => sink(level, safeText(message, MAX_LOG_LINE));
  }

  now(): number {
    return this.clock();
  }

  private withPort(host: string): string {
    const defaultPort = this.options.http ? 80 : 443;
    return this.boundPort === defaultPort || this.boundPort === 0 ? host : `${host}:${this.boundPort}`;
  }

  /** SM-DP+ address as given in activation codes and notification addresses: hostname[:port]. */
  get address(): string {
    return this.withPort(this.options.hostname);
  }

  get smdsAddress(): string {
    return this.withPort(this.options.smdsHostname);
  }

  /** True when an LPA-supplied address names this SM-DP+ (case-insensitive, with or without the port). */
  isOurAddress(address: string): boolean {
    const a = address.toLowerCase();
    return a === this.options.hostname.toLowerCase() || a === this.address.toLowerCase();
  }

  isOurSmdsAddress(address: string): boolean {
    const a = address.toLowerCase();
    return a === this.options.smdsHostname.toLowerCase() || a === this.smdsAddress.toLowerCase();
  }

  expiredCerts(): readonly ExpirableCert[] {
    return this.misbehaviour.expiredCertificates ?? [];
  }

  // ---------------------------------------------------------------------------
  // inventory and orders (call inside db.tx)

  /** Apply an inventory state transition (throws IllegalTransitionError) and store the profile. */
  transitionProfile(profile: ProfileRecord, event: ProfileEvent): ProfileRecord {
    const to = transition(profile.state, event, profile.iccid);
    const now = this.now();
    const history = [...profile.history, { state: to, at: now, event }].slice(-50);
    const next: ProfileRecord = { ...profile, state: to, updatedAt: now, history };
    this.db.profiles.put(next.iccid, next);
    this.log('info', `profile ${profile.iccid}: ${profile.state} -> ${to} (${event})`);
    return next;
  }

  putOrder(order: OrderRecord): void {
    this.db.orders.put(order.orderId, order);
  }

  /** Close an order: free its matchingId, remove its SM-DS event, detach it from the profile. */
  closeOrder(order: OrderRecord, profile: ProfileRecord | undefined, detach: boolean): OrderRecord {
    const closed: OrderRecord = { ...order, closed: true, closedAt: this.now() };
    if (order.matchingId) this.db.matchingIds.remove(order.matchingId);
    if (order.binding) this.db.blobs.remove(order.binding.segmentsKey); // no rebinding once closed
    if (order.eventId) this.deleteEvent(order.eventId);
    delete closed.eventId;
    this.putOrder(closed);
    if (detach && profile && profile.orderId === order.orderId) {
      const { orderId: _gone, ...rest } = profile;
      void _gone;
      this.db.profiles.put(profile.iccid, rest);
    }
    return closed;
  }

  orderOfProfile(profile: ProfileRecord): OrderRecord | undefined {
    return profile.orderId === undefined ? undefined : this.db.orders.get(profile.orderId);
  }

  /**
   * The order of a session and its profile while that order is still open and still holds
   * the profile; undefined once it was cancelled, reached a final state, or the profile went
   * to another order. Every ES9+ state change checks this first (the session owns nothing
   * else).
   */
  heldOrder(session: { orderId?: string | undefined }): { order: OrderRecord; profile: ProfileRecord } | undefined {
    const order = session.orderId === undefined ? undefined : this.db.orders.get(session.orderId);
    const profile = order ? this.db.profiles.get(order.iccid) : undefined;
    if (!order || !profile || order.closed || profile.orderId !== order.orderId) return undefined;
    return { order, profile };
  }

  orderByMatchingId(matchingId: string): OrderRecord | undefined {
    const id = this.db.matchingIds.get(matchingId);
    return id === undefined ? undefined : this.db.orders.get(id);
  }

  /** ES12.RegisterEvent to the embedded SM-DS: eventId = the order's MatchingID (SGP.22 3.6.1). */
  registerEvent(order: OrderRecord): OrderRecord {
    if (!order.eid || !order.matchingId) return order;
    const ev: EventRecord = { eventId: order.matchingId, eid: order.eid, rspServerAddress: this.address, orderId: order.orderId, createdAt: this.now() };
    this.db.events.put(ev.eventId, ev);
    this.log('info', `SM-DS event ${ev.eventId} registered for EID ${ev.eid}`);
    return { ...order, eventId: ev.eventId };
  }

  /** ES12.DeleteEvent. */
  deleteEvent(eventId: string): void {
    if (this.db.events.get(eventId)) {
      this.db.events.remove(eventId);
      this.log('info', `SM-DS event ${eventId} deleted`);
    }
  }
}

const MATCHING_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ0123456789';

/** A fresh MatchingID, formatted XXXXX-XXXXX-XXXXX-XXXXX. */
export function generateMatchingId(): string {
  const groups: string[] = [];
  for (let g = 0; g < 4; g++) {
    let s = '';
    for (let i = 0; i < 5; i++) s += MATCHING_ALPHABET[randomInt(MATCHING_ALPHABET.length)];
    groups.push(s);
  }
  return groups.join('-');
}

/** Four random digits distinguishing one data directory's ICCIDs/IMSIs from another's. */
export function randomBatch(): string {
  return String(randomInt(10_000)).padStart(4, '0');
}
