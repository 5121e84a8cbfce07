// The SM-DP+ data directory and what may be found in it: smdp.mdb (the lmdb database of
// the inventory, orders, sessions and notifications), smdp.mdb-lock (lmdb's lock file),
// smdp-state.json (the marker: this directory holds SM-DP+ state, of which batch, up to
// which lmdb transaction), tls/ (DPtls identities) and es2/ (the ES2+ operator CA). Decides
// before anything is opened or written whether a start is a new SM-DP+ (an empty or missing
// directory, or an explicit reset) or the continuation of an earlier one, whose database
// must then be there and intact: a missing, empty, truncated or damaged smdp.mdb next to
// the traces of an earlier run is an SmdpStateError, never a silent new inventory.
// Everything is created owner-only (directories 0700, files 0600).
import { chmodSync, closeSync, existsSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../store/atomic-file.ts';
import { SmdpConfigError, SmdpStateError } from './errors.ts';
import { checkLmdbFile, LmdbFileError, type LmdbFileSummary } from './lmdb-check.ts';

export const DB_FILENAME = 'smdp.mdb';
export const LOCK_FILENAME = 'smdp.mdb-lock';
export const MARKER_FILENAME = 'smdp-state.json';
/**
 * Entries that show an SM-DP+ committed state here. The lock file is not one: lmdb creates
 * it before the first commit, and the marker, tls/ and es2/ are written only after it.
 */
const TRACES = [MARKER_FILENAME, 'tls', 'es2'] as const;

export const RESTORE_ADVICE = 'restore it from a backup, or start with --reset for a new inventory (the orders and activation codes of the old one are then lost)';

const MarkerSchema = z.strictObject({
  format: z.literal('bridgelab-smdp'),
  schema: z.literal(1),
  batch: z.string().regex(/^\d{4}$/),
  createdAt: z.number().nonnegative(),
  /** lmdb transaction id the database had at the last open or clean close (decimal) */
  txnid: z.string().regex(/^\d{1,20}$/),
  updatedAt: z.number().nonnegative(),
});
export type StateMarker = z.infer<typeof MarkerSchema>;

export type DataDirState =
  /** nothing of an SM-DP+ here (or --reset): a new database and inventory */
  | { kind: 'new'; dir: string; reset: boolean }
  /** an earlier SM-DP+'s database, checked structurally */
  | { kind: 'existing'; dir: string; file: LmdbFileSummary; marker?: StateMarker };

export function dbPath(dir: string): string {
  return join(dir, DB_FILENAME);
}

function markerPath(dir: string): string {
  return join(dir, MARKER_FILENAME);
}

/** The marker, or undefined when there is none; a damaged one is an SmdpStateError. */
export function readMarker(dir: string): StateMarker | undefined {
  const path = markerPath(dir);
  if (!existsSync(path)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    if (e instanceof SyntaxError) throw new SmdpStateError(`${path}: not valid JSON (damaged SM-DP+ state marker); restore it from a backup, or start with --reset for a new inventory`);
    throw e;
  }
  const r = MarkerSchema.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new SmdpStateError(`${path}: ${i.path.join('.') || '(top level)'}: ${i.message} (damaged SM-DP+ state marker); ${RESTORE_ADVICE}`);
  }
  return r.data;
}

export function writeMarker(dir: string, marker: Omit<StateMarker, 'format' | 'schema'>): void {
  writeFileAtomic(markerPath(dir), `${JSON.stringify({ format: 'bridgelab-smdp', schema: 1, ...marker }, null, 1)}\n`, 0o600);
}

/**
 * What the data dir holds, without changing anything. Throws SmdpConfigError when the path
 * is not a directory, SmdpStateError when earlier state is there but its database is missing,
 * empty or damaged (the message names the file and what to do).
 */
export function inspectDataDir(dir: string, reset: boolean): DataDirState {
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new SmdpConfigError(`data dir '${dir}' is not a directory`);
  if (reset) return { kind: 'new', dir, reset: true };
  const present = existsSync(dir) ? new Set(readdirSync(dir)) : new Set<string>();
  const traces = TRACES.filter((t) => present.has(t));
  const db = dbPath(dir);
  const size = present.has(DB_FILENAME) ? lstatSync(db).size : undefined;
  if (size === undefined || size === 0) {
    if (traces.length === 0) return { kind: 'new', dir, reset: false };
    throw new SmdpStateError(`${db}: ${size === undefined ? 'missing' : 'empty (0 bytes)'}, but ${traces.join(', ')} in the data dir show an SM-DP+ ran here; ${RESTORE_ADVICE}`);
  }
  const marker = readMarker(dir);
  let file: LmdbFileSummary;
  try {
    file = checkLmdbFile(db);
  } catch (e) {
    if (e instanceof LmdbFileError) throw new SmdpStateError(`${db}: ${e.message} (damaged SM-DP+ database); ${RESTORE_ADVICE}`);
    throw e;
  }
  if (marker && BigInt(marker.txnid) > file.txnid)
    throw new SmdpStateError(
      `${db}: at lmdb transaction ${file.txnid}, older than the ${marker.txnid} that ${MARKER_FILENAME} recorded (replaced by an older copy, or its last writes were lost); ${RESTORE_ADVICE}; if this older copy is meant, delete ${MARKER_FILENAME}`,
    );
  return { kind: 'existing', dir, file, ...(marker ? { marker } : {}) };
}

/** Create the data dir (0700) or tighten an existing one to owner-only. */
export function prepareDataDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

/** --reset: remove the database, its lock file and the marker (TLS and ES2+ identities stay). */
export function removeState(dir: string): void {
  for (const f of [DB_FILENAME, LOCK_FILENAME, MARKER_FILENAME]) rmSync(join(dir, f), { force: true });
}

/**
 * The database and lock files, created 0600 before lmdb opens them (lmdb would create them
 * 0644), and tightened to 0600 when an earlier version left them readable to others.
 */
export function prepareDbFiles(dir: string): void {
  for (const f of [DB_FILENAME, LOCK_FILENAME]) {
    const path = join(dir, f);
    closeSync(openSync(path, 'a', 0o600));
    chmodSync(path, 0o600);
  }
}
