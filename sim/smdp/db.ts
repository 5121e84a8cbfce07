// Persistent state of the test SM-DP+ (SGP.22 3.1.6 inventory, 5.3 ES2+ orders, 5.6
// ES9+ sessions and notifications, 5.8 ES12 events) in one lmdb environment in the data
// directory. Every state change runs inside `tx()` (an lmdb write transaction): all
// reads and writes of one function are atomic, so concurrent downloads of different
// profiles never see or leave half-updated records, and a restart finds what was committed.
//
// Before lmdb maps an existing file it is checked structurally (lmdb-check.ts, through
// data-dir.ts); once open, every record is read back and checked against its schema
// (records.ts) and against the records it refers to, so damage is refused at start with
// the table and key, not met later inside a request. The marker next to the database
// (smdp-state.json) records the batch and the lmdb transaction reached, so a database
// replaced by an older copy or by another data dir's is refused too.
import { open, type Database, type RootDatabase } from 'lmdb';
import type { z } from 'zod';
import { SmdpStateError } from './errors.ts';
import { type DataDirState, dbPath, MARKER_FILENAME, prepareDbFiles, prepareDataDir, readMarker, RESTORE_ADVICE, writeMarker } from './data-dir.ts';
import { readLmdbMeta } from './lmdb-check.ts';
import {
  EventRecordSchema,
  MetaRecordSchema,
  NotificationRecordSchema,
  OrderRecordSchema,
  ProfileRecordSchema,
  SessionRecordSchema,
  type EventRecord,
  type MetaRecord,
  type NotificationRecord,
  type OrderRecord,
  type ProfileRecord,
  type SessionRecord,
} from './records.ts';
import { safeText } from './safe-text.ts';

export type {
  ProfileHistoryEntry,
  ProfileRecord,
  BindingRecord,
  OrderRecord,
  NotificationRecord,
  NotificationOperation,
  NotificationRejection,
  EventRecord,
  MetaRecord,
} from './records.ts';
export { DB_FILENAME } from './data-dir.ts';

export interface RangeOptions {
  /** first key (inclusive) */
  start?: string;
  /** end key (exclusive) */
  end?: string;
  limit?: number;
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

  /** Entries in key order, read as the caller goes (collect keys before removing any). */
  *range(o: RangeOptions = {}): Generator<{ key: string; value: V }> {
    for (const e of this.db.getRange(o)) yield { key: e.key, value: e.value };
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

type JsonTableName = 'profiles' | 'orders' | 'sessions' | 'notifications' | 'events' | 'matchingIds' | 'meta';

export interface OpenOptions {
  /** what inspectDataDir found */
  state: DataDirState;
  /** batch digits of a new database */
  batch: () => string;
  clock: () => number;
}

export class SmdpDb {
  readonly profiles: Table<ProfileRecord>;
  readonly orders: Table<OrderRecord>;
  /** matchingId -> orderId of open orders */
  readonly matchingIds: Table<string>;
  readonly sessions: Table<SessionRecord>;
  readonly notifications: Table<NotificationRecord>;
  readonly events: Table<EventRecord>;
  readonly blobs: BlobTable;
  readonly dir: string;
  readonly #meta: Table<MetaRecord>;
  readonly #root: RootDatabase;
  readonly #clock: () => number;
  #closed = false;
  #created = false;

  private constructor(root: RootDatabase, dir: string, clock: () => number) {
    this.#root = root;
    this.dir = dir;
    this.#clock = clock;
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

  /** whether open() created the database (a new inventory is due) */
  get created(): boolean {
    return this.#created;
  }

  get path(): string {
    return dbPath(this.dir);
  }

  /**
   * Open the database of a data dir that inspectDataDir judged usable: verify every record
   * of an existing one (SmdpStateError naming the table and key), or create a new one.
   */
  static open(o: OpenOptions): SmdpDb {
    const { dir } = o.state;
    prepareDataDir(dir);
    prepareDbFiles(dir);
    const root = open({ path: dbPath(dir), noSubdir: true, maxDbs: 16, encoding: 'json' });
    try {
      const marker = o.state.kind === 'existing' ? o.state.marker : undefined;
      const db = new SmdpDb(root, dir, o.clock);
      const meta = db.#readMeta();
      if (meta) db.#verify(meta, marker?.batch);
      else {
        db.#verifyEmpty(marker !== undefined);
        db.#created = true;
        db.tx(() => db.#meta.put('meta', { schema: 1, batch: o.batch(), nextSerial: 1, nextNotification: 1, createdAt: o.clock() }));
      }
      return db;
    } catch (e) {
      void root.close();
      throw e;
    }
  }

  /** The meta record as stored, checked. */
  #readMeta(): MetaRecord | undefined {
    const raw = this.#rawRecords('meta');
    const entry = raw.find((r) => r.key === 'meta');
    return entry === undefined ? undefined : this.#parse('meta', 'meta', entry.text, MetaRecordSchema);
  }

  /** No meta record: fine for a database that never committed anything; damage otherwise. */
  #verifyEmpty(markerSaysState: boolean): void {
    const tables: JsonTableName[] = ['profiles', 'orders', 'sessions', 'notifications', 'events', 'matchingIds'];
    const used = tables.filter((t) => this.#rawRecords(t).length > 0);
    if (markerSaysState || used.length > 0)
      throw new SmdpStateError(`${this.path}: has no meta record${used.length ? ` but ${used.join(', ')} records` : ''} (damaged SM-DP+ database); ${RESTORE_ADVICE}`);
  }

  #fail(table: string, key: string, problem: string): never {
    throw new SmdpStateError(`${this.path}: ${table} record '${safeText(key, 64)}': ${safeText(problem, 300)} (damaged or inconsistent SM-DP+ database); ${RESTORE_ADVICE}`);
  }

  /** Every entry of a table as raw text (decoding is the caller's, so a bad one is named). */
  #rawRecords(table: JsonTableName): { key: string; text: string }[] {
    const raw = this.#root.openDB<Uint8Array, string>({ name: table, encoding: 'binary' });
    return [...raw.getRange({})].map((e) => ({ key: String(e.key), text: Buffer.from(e.value).toString('utf8') }));
  }

  #parse<T>(table: string, key: string, text: string, schema: z.ZodType<T>): T {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      if (e instanceof SyntaxError) this.#fail(table, key, 'not JSON');
      throw e;
    }
    const r = schema.safeParse(json);
    if (!r.success) {
      const i = r.error.issues[0]!;
      this.#fail(table, key, `${i.path.join('.') || '(record)'}: ${i.message}`);
    }
    return r.data;
  }

  /** Records of every table against their schemas, keys and cross references. */
  #verify(meta: MetaRecord, markerBatch: string | undefined): void {
    if (markerBatch !== undefined && meta.batch !== markerBatch)
      throw new SmdpStateError(`${this.path}: holds batch ${meta.batch}, the ${MARKER_FILENAME} next to it batch ${markerBatch} (a database of another data dir); ${RESTORE_ADVICE}`);
    const read = <T>(name: JsonTableName, schema: z.ZodType<T>, keyOf: (r: T) => string): Map<string, T> => {
      const out = new Map<string, T>();
      for (const e of this.#rawRecords(name)) {
        const rec = this.#parse(name, e.key, e.text, schema);
        const own = keyOf(rec);
        if (own !== e.key) this.#fail(name, e.key, `stored under another key than its own '${own}'`);
        out.set(e.key, rec);
      }
      return out;
    };
    const profiles = read('profiles', ProfileRecordSchema, (r) => r.iccid);
    const orders = read('orders', OrderRecordSchema, (r) => r.orderId);
    const notifications = read('notifications', NotificationRecordSchema, (r) => notificationKey(r.seq));
    const events = read('events', EventRecordSchema, (r) => r.eventId);
    read('sessions', SessionRecordSchema, (r) => r.transactionId);
    for (const [iccid, p] of profiles) {
      if (p.orderId === undefined) continue;
      const o = orders.get(p.orderId);
      if (!o || o.iccid !== iccid) this.#fail('profiles', iccid, `holds order ${p.orderId}, ${o ? `an order for ${o.iccid}` : 'which does not exist'}`);
    }
    for (const [id, o] of orders)
      if (!o.closed && profiles.get(o.iccid)?.orderId !== id) this.#fail('orders', id, `is open but profile ${o.iccid} does not hold it`);
    for (const e of this.#rawRecords('matchingIds')) {
      const orderId = this.#parse('matchingIds', e.key, e.text, MatchingIdValue);
      const o = orders.get(orderId);
      if (!o || o.closed || o.matchingId !== e.key) this.#fail('matchingIds', e.key, `points to ${o ? (o.closed ? 'closed ' : '') : 'missing '}order ${orderId}`);
    }
    for (const [id, ev] of events) {
      const o = orders.get(ev.orderId);
      if (!o || o.closed || o.eventId !== id) this.#fail('events', id, `belongs to ${o ? 'another or a closed' : 'a missing'} order ${ev.orderId}`);
    }
    const maxSeq = Math.max(0, ...[...notifications.values()].map((n) => n.seq));
    if (meta.nextNotification <= maxSeq) this.#fail('meta', 'meta', `nextNotification ${meta.nextNotification} is not above notification ${maxSeq}`);
    const prefix = `89000${meta.batch}`;
    const serials = [...profiles.keys()].filter((i) => i.startsWith(prefix)).map((i) => Number(i.slice(prefix.length, prefix.length + 10)));
    const maxSerial = Math.max(0, ...serials);
    if (meta.nextSerial <= maxSerial) this.#fail('meta', 'meta', `nextSerial ${meta.nextSerial} is not above serial ${maxSerial} of an inventory entry`);
  }

  /** Check every record as at open (schemas, keys, cross references); throws SmdpStateError. */
  verify(): void {
    const meta = this.#readMeta();
    if (!meta) throw new SmdpStateError(`${this.path}: has no meta record`);
    this.#verify(meta, undefined);
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

  /** Change the meta record (inside tx). */
  updateMeta(change: (m: MetaRecord) => MetaRecord): MetaRecord {
    const next = change(this.meta());
    this.#meta.put('meta', next);
    return next;
  }

  /** Reserve `n` serial numbers for ICCID/IMSI generation (inside tx). */
  takeSerials(n: number): number {
    return this.updateMeta((m) => ({ ...m, nextSerial: m.nextSerial + n })).nextSerial - n;
  }

  /** Next notification sequence number (inside tx). */
  takeNotificationSeq(): number {
    return this.updateMeta((m) => ({ ...m, nextNotification: m.nextNotification + 1 })).nextNotification - 1;
  }

  /** Record in the marker that this data dir holds state, up to the current lmdb transaction. */
  writeMarker(): void {
    const m = this.meta();
    const prior = readMarker(this.dir);
    writeMarker(this.dir, { batch: m.batch, createdAt: prior?.createdAt ?? m.createdAt, txnid: String(readLmdbMeta(this.path).txnid), updatedAt: this.#clock() });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#root.close();
    this.writeMarkerAfterClose();
  }

  /** After a clean close every write is on disk: the marker moves to the last transaction. */
  private writeMarkerAfterClose(): void {
    const prior = readMarker(this.dir);
    if (!prior) return;
    writeMarker(this.dir, { ...prior, txnid: String(readLmdbMeta(this.path).txnid), updatedAt: this.#clock() });
  }
}

const MatchingIdValue = OrderRecordSchema.shape.orderId;

/** Notification sequence numbers as sortable keys. */
export function notificationKey(seq: number): string {
  return String(seq).padStart(10, '0');
}
