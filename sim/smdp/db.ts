// Persistent state of the test SM-DP+ (SGP.22 3.1.6 inventory, 5.3 ES2+ orders, 5.6
// ES9+ sessions and notifications, 5.8 ES12 events) in one lmdb environment in the data
// directory. Every state change runs inside `tx()` (an lmdb write transaction): all
// reads and writes of one function are atomic, so concurrent downloads of different
// profiles never see or leave half-updated records, and a restart finds what was committed.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import type { ProfileState } from './inventory-state.ts';
import type { SessionRecord } from './session.ts';
import type { MetadataOverrides } from './metadata.ts';

export interface ProfileHistoryEntry {
  state: ProfileState;
  at: number;
  event: string;
}

/** One inventory entry: a personalised copy of a template UPP (SGP.22 3.1.6). */
export interface ProfileRecord {
  iccid: string;
  imsi: string;
  /** template file name without .der (sim/smdp/profiles) */
  template: string;
  /** ES2+ profileType (the template name unless configured) */
  profileType: string;
  state: ProfileState;
  /** the order currently holding this profile */
  orderId?: string;
  metadata: MetadataOverrides;
  createdAt: number;
  updatedAt: number;
  history: ProfileHistoryEntry[];
}

/** The binding of an order's BPP (SGP.22 2.5.4), kept for retries with the same otPK.EUICC. */
export interface BindingRecord {
  /** hex */
  euiccOtpk: string;
  smdpOtpk: string;
  hostId: string;
  /** transactionId (hex) of the session that bound it */
  transactionId: string;
  /** key of the protected segments (everything after the ISCR) in the bpp store */
  segmentsKey: string;
  replaceSessionKeys: boolean;
  segmentCount86: number;
}

/** An ES2+ download order (5.3.1 DownloadOrder .. 5.3.4 CancelOrder). */
export interface OrderRecord {
  orderId: string;
  iccid: string;
  eid?: string;
  matchingId?: string;
  /** SHA-256 of the confirmation code bytes (hex); the code itself is never stored */
  ccHash?: string;
  smdsAddress?: string;
  functionRequesterIdentifier?: string;
  createdAt: number;
  expiresAt: number;
  ccAttempts: number;
  downloadAttempts: number;
  /** no longer holds its profile (cancelled, or the profile reached a final state) */
  closed: boolean;
  binding?: BindingRecord;
  /** SM-DS event registered for it (ES12.RegisterEvent) */
  eventId?: string;
}

export type NotificationOperation = 'install' | 'enable' | 'disable' | 'delete';
export type NotificationRejection = 'unknownTransaction' | 'badSignature' | 'badCertificate' | 'wrongState' | 'iccidMismatch';

/** A received ES9+.HandleNotification (5.6.4). */
export interface NotificationRecord {
  seq: number;
  receivedAt: number;
  kind: 'profileInstallationResult' | 'otherSignedNotification';
  accepted: boolean;
  rejection?: NotificationRejection;
  detail?: string;
  operations: NotificationOperation[];
  transactionId?: string;
  iccid?: string;
  eid?: string;
  /** PIR final result */
  result?: 'success' | 'error';
  bppCommandId?: number;
  errorReason?: number;
  /** the pendingNotification as received (base64) */
  raw: string;
}

/** An event record of the embedded SM-DS (ES12.RegisterEvent, 5.9.1). */
export interface EventRecord {
  eventId: string;
  eid: string;
  rspServerAddress: string;
  orderId: string;
  createdAt: number;
}

export interface MetaRecord {
  schema: 1;
  /** random digits that make this data dir's ICCIDs/IMSIs differ from another's */
  batch: string;
  nextSerial: number;
  nextNotification: number;
  createdAt: number;
}

/** Typed view of one named lmdb database (string keys, JSON values). */
export class Table<V> {
  constructor(private readonly db: Database<V, string>) {}

  get(key: string): V | undefined {
    return this.db.get(key);
  }

  /** Write (must run inside SmdpDb.tx). */
  put(key: string, value: V): void {
    this.db.putSync(key, value);
  }

  remove(key: string): void {
    this.db.removeSync(key);
  }

  values(): V[] {
    return [...this.db.getRange({})].map((e) => e.value);
  }

  count(): number {
    return this.db.getCount();
  }
}

/** Binary values (BPP segments) by key. */
export class BlobTable {
  constructor(private readonly db: Database<Uint8Array, string>) {}

  get(key: string): Uint8Array | undefined {
    const b = this.db.getBinary(key);
    return b === undefined ? undefined : new Uint8Array(b);
  }

  put(key: string, value: Uint8Array): void {
    this.db.putSync(key, value);
  }

  remove(key: string): void {
    this.db.removeSync(key);
  }
}

/** The database file in the data dir (lmdb adds smdp.mdb-lock next to it). */
export const DB_FILENAME = 'smdp.mdb';

export class SmdpDb {
  readonly profiles: Table<ProfileRecord>;
  readonly orders: Table<OrderRecord>;
  /** matchingId -> orderId of open orders */
  readonly matchingIds: Table<string>;
  readonly sessions: Table<SessionRecord>;
  readonly notifications: Table<NotificationRecord>;
  readonly events: Table<EventRecord>;
  readonly blobs: BlobTable;
  readonly #meta: Table<MetaRecord>;
  readonly #root: RootDatabase;
  #closed = false;

  private constructor(root: RootDatabase) {
    this.#root = root;
    const json = <V>(name: string): Table<V> => new Table<V>(root.openDB<V, string>({ name, encoding: 'json' }));
    this.profiles = json('profiles');
    this.orders = json('orders');
    this.matchingIds = json('matchingIds');
    this.sessions = json('sessions');
    this.notifications = json('notifications');
    this.events = json('events');
    this.#meta = json('meta');
    this.blobs = new BlobTable(root.openDB<Uint8Array, string>({ name: 'blobs', encoding: 'binary' }));
  }

  /** Open (or create) the database file `dataDir`/smdp.mdb. */
  static open(dataDir: string, batch: () => string): SmdpDb {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const db = new SmdpDb(open({ path: join(dataDir, DB_FILENAME), noSubdir: true, maxDbs: 16, encoding: 'json' }));
    db.tx(() => {
      if (!db.#meta.get('meta')) db.#meta.put('meta', { schema: 1, batch: batch(), nextSerial: 1, nextNotification: 1, createdAt: Date.now() });
    });
    return db;
  }

  /** Run `fn` as one synchronous lmdb write transaction (nested calls join the outer one). */
  tx<T>(fn: () => T): T {
    if (this.#closed) throw new Error('SM-DP+ database is closed');
    return this.#root.transactionSync(fn);
  }

  meta(): MetaRecord {
    const m = this.#meta.get('meta');
    if (!m) throw new Error('SM-DP+ database has no meta record');
    return m;
  }

  /** Reserve `n` serial numbers for ICCID/IMSI generation (inside tx). */
  takeSerials(n: number): number {
    const m = this.meta();
    this.#meta.put('meta', { ...m, nextSerial: m.nextSerial + n });
    return m.nextSerial;
  }

  /** Next notification sequence number (inside tx). */
  takeNotificationSeq(): number {
    const m = this.meta();
    this.#meta.put('meta', { ...m, nextNotification: m.nextNotification + 1 });
    return m.nextNotification;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#root.close();
  }
}

/** Notification sequence numbers as sortable keys. */
export function notificationKey(seq: number): string {
  return String(seq).padStart(10, '0');
}
