// Structural check of an lmdb data file before lmdb maps it. lmdb trusts its file: a
// truncated file makes it touch pages past the end of the mapping (SIGBUS), a damaged meta
// page or page header sends it to a page that is not there or not what it claims (SIGSEGV,
// assertion abort). None of that can be caught in JavaScript, so the SM-DP+ reads the file
// itself first and refuses it with a message instead.
//
// Layout (LMDB mdb.c, data format version 2 as written by the lmdb-js build of
// mdb.master3: kriszyp/lmdb-js dependencies/lmdb/libraries/liblmdb/mdb.c, little-endian,
// 64-bit pgno_t/txnid_t):
//   page header (24 bytes): pgno u64, txnid u64, pad u16, flags u16, lower u16, upper u16
//     (overflow pages: page count u32 in place of lower/upper)
//   meta (pages 0 and 1, after the header): magic u32 0xBEEFC0DE, version u32, address u64,
//     mapsize u64, dbs[2] (FREE, MAIN; 48 bytes each: pad u32 (FREE: page size), flags u16,
//     depth u16, branch u64, leaf u64, overflow u64, entries u64, root u64), last_pg u64,
//     txnid u64; the latest meta is the one with the larger txnid
//   node (8 bytes + key + data): lo u16, hi u16, flags u16, ksize u16; a branch node's child
//     page is lo | hi<<16 | flags<<32, a leaf node's data size lo | hi<<16; leaf flags
//     F_BIGDATA (data is the u64 number of an overflow page), F_SUBDATA (data is a 48-byte
//     db record: a named database)
// Checked: both meta pages (flag, page number, magic, version, page size), the file holds
// every page up to last_pg, and every page reachable from the latest meta (free-page tree,
// main tree, each named database, overflow runs) has its own number, the flags of its place
// in the tree, bounds inside the page, child pages inside the file, no page reached twice,
// and the page and entry counts its db record claims. A file that passes can be mapped and
// walked by lmdb without touching anything outside it. (The values of the free-page tree,
// this lmdb's run-length page lists, are left to lmdb: damage there makes later writes
// reuse pages wrongly, which the next start finds as a page reached twice.)
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

export const LMDB_MAGIC = 0xbeefc0de;
export const LMDB_DATA_VERSION = 2;

const PAGE_HEADER = 24;
const META_SIZE = 152;
const DB_RECORD = 48;
const NODE_HEADER = 8;
const P_BRANCH = 0x01;
const P_LEAF = 0x02;
const P_OVERFLOW = 0x04;
const P_META = 0x08;
const F_BIGDATA = 0x01;
const F_SUBDATA = 0x02;
const P_INVALID = 0xffff_ffff_ffff_ffffn;
/** deeper trees than this cannot hold a database of any size this server keeps */
const MAX_DEPTH = 32;

/** Why a file is not a usable lmdb database. */
export class LmdbFileError extends Error {
  override readonly name = 'LmdbFileError';
  constructor(
    readonly problem: 'empty' | 'truncated' | 'not-lmdb' | 'version' | 'damaged',
    message: string,
  ) {
    super(message);
  }
}

export interface DbRecord {
  flags: number;
  depth: number;
  branchPages: bigint;
  leafPages: bigint;
  overflowPages: bigint;
  entries: bigint;
  root: bigint;
}

export interface LmdbMeta {
  pageSize: number;
  mapSize: bigint;
  free: DbRecord;
  main: DbRecord;
  lastPage: bigint;
  txnid: bigint;
}

export interface LmdbFileSummary {
  bytes: number;
  pageSize: number;
  txnid: bigint;
  lastPage: bigint;
  /** pages reachable from the latest meta */
  pagesInUse: number;
  /** named databases found in the main tree */
  namedDbs: string[];
}

class PageReader {
  readonly #fd: number;
  constructor(
    fd: number,
    readonly bytes: number,
  ) {
    this.#fd = fd;
  }

  read(offset: number, length: number): Buffer {
    const buf = Buffer.alloc(length);
    let got = 0;
    while (got < length) {
      const n = readSync(this.#fd, buf, got, length - got, offset + got);
      if (n === 0) break;
      got += n;
    }
    if (got < length) throw new LmdbFileError('truncated', `ends at byte ${offset + got}, expected ${length} bytes at ${offset}`);
    return buf;
  }
}

function dbRecordAt(b: Buffer, at: number): DbRecord {
  return {
    flags: b.readUInt16LE(at + 4),
    depth: b.readUInt16LE(at + 6),
    branchPages: b.readBigUInt64LE(at + 8),
    leafPages: b.readBigUInt64LE(at + 16),
    overflowPages: b.readBigUInt64LE(at + 24),
    entries: b.readBigUInt64LE(at + 32),
    root: b.readBigUInt64LE(at + 40),
  };
}

function metaAt(page: Buffer, index: number): LmdbMeta {
  const m = PAGE_HEADER;
  const flags = page.readUInt16LE(18);
  if ((flags & P_META) === 0 || page.readBigUInt64LE(0) !== BigInt(index)) throw new LmdbFileError('not-lmdb', `page ${index} is not a meta page`);
  if (page.readUInt32LE(m) !== LMDB_MAGIC) throw new LmdbFileError('not-lmdb', `meta page ${index} has no lmdb magic number`);
  const version = page.readUInt32LE(m + 4) & 0xffff;
  if (version !== LMDB_DATA_VERSION) throw new LmdbFileError('version', `meta page ${index} says data format ${version}, this lmdb reads ${LMDB_DATA_VERSION}`);
  return {
    pageSize: page.readUInt32LE(m + 24),
    mapSize: page.readBigUInt64LE(m + 16),
    free: dbRecordAt(page, m + 24),
    main: dbRecordAt(page, m + 24 + DB_RECORD),
    lastPage: page.readBigUInt64LE(m + 24 + 2 * DB_RECORD),
    txnid: page.readBigUInt64LE(m + 32 + 2 * DB_RECORD),
  };
}

function isPageSize(n: number): boolean {
  return n >= 512 && n <= 65536 && (n & (n - 1)) === 0;
}

/** Read and check both meta pages; returns the latest (what lmdb opens). */
function readMetas(r: PageReader): { latest: LmdbMeta; older: LmdbMeta } {
  if (r.bytes === 0) throw new LmdbFileError('empty', 'is empty (0 bytes)');
  if (r.bytes < PAGE_HEADER + META_SIZE) throw new LmdbFileError('truncated', `is ${r.bytes} bytes, shorter than one lmdb meta page`);
  const m0 = metaAt(r.read(0, PAGE_HEADER + META_SIZE), 0);
  if (!isPageSize(m0.pageSize)) throw new LmdbFileError('damaged', `meta page 0 gives page size ${m0.pageSize}`);
  if (r.bytes < 2 * m0.pageSize) throw new LmdbFileError('truncated', `is ${r.bytes} bytes, shorter than its two meta pages (${2 * m0.pageSize})`);
  const m1 = metaAt(r.read(m0.pageSize, PAGE_HEADER + META_SIZE), 1);
  if (m1.pageSize !== m0.pageSize) throw new LmdbFileError('damaged', `meta pages disagree on the page size (${m0.pageSize}, ${m1.pageSize})`);
  const [latest, older] = m0.txnid >= m1.txnid ? [m0, m1] : [m1, m0];
  return { latest, older };
}

/** The latest meta of an lmdb file (page size, last page, txnid), after the meta checks. */
export function readLmdbMeta(path: string): LmdbMeta {
  const fd = openSync(path, 'r');
  try {
    return readMetas(new PageReader(fd, fstatSync(fd).size)).latest;
  } finally {
    closeSync(fd);
  }
}

type TreeKind = 'free' | 'main' | 'named';

class TreeWalker {
  readonly visited = new Set<bigint>();
  readonly namedDbs: string[] = [];
  readonly #r: PageReader;
  readonly #psize: number;
  readonly #lastPage: bigint;

  constructor(r: PageReader, meta: LmdbMeta) {
    this.#r = r;
    this.#psize = meta.pageSize;
    this.#lastPage = meta.lastPage;
  }

  #claim(pgno: bigint, what: string): void {
    if (pgno < 2n || pgno > this.#lastPage) throw new LmdbFileError('damaged', `${what} points to page ${pgno}, outside pages 2..${this.#lastPage}`);
    if (this.visited.has(pgno)) throw new LmdbFileError('damaged', `${what}: page ${pgno} is reached twice`);
    this.visited.add(pgno);
  }

  #page(pgno: bigint): Buffer {
    const page = this.#r.read(Number(pgno) * this.#psize, this.#psize);
    if (page.readBigUInt64LE(0) !== pgno) throw new LmdbFileError('damaged', `page ${pgno} says it is page ${page.readBigUInt64LE(0)}`);
    return page;
  }

  /** Walk one database tree; `what` names it in messages. */
  walk(db: DbRecord, what: string, kind: TreeKind): void {
    if (db.root === P_INVALID) {
      if (db.entries !== 0n || db.depth !== 0) throw new LmdbFileError('damaged', `${what}: empty tree with ${db.entries} entries, depth ${db.depth}`);
      return;
    }
    if (db.depth < 1 || db.depth > MAX_DEPTH) throw new LmdbFileError('damaged', `${what}: depth ${db.depth}`);
    const counts = { branch: 0n, leaf: 0n, overflow: 0n, entries: 0n };
    this.#node(db.root, 1, db.depth, what, kind, counts);
    if (counts.branch !== db.branchPages || counts.leaf !== db.leafPages || counts.overflow !== db.overflowPages || counts.entries !== db.entries)
      throw new LmdbFileError(
        'damaged',
        `${what}: the tree has ${counts.branch}/${counts.leaf}/${counts.overflow} branch/leaf/overflow pages and ${counts.entries} entries, its record says ${db.branchPages}/${db.leafPages}/${db.overflowPages} and ${db.entries}`,
      );
  }

  #node(pgno: bigint, level: number, depth: number, what: string, kind: TreeKind, counts: { branch: bigint; leaf: bigint; overflow: bigint; entries: bigint }): void {
    this.#claim(pgno, what);
    const page = this.#page(pgno);
    const flags = page.readUInt16LE(18);
    const lower = page.readUInt16LE(20);
    const upper = page.readUInt16LE(22);
    const wanted = level < depth ? P_BRANCH : P_LEAF;
    if (flags !== wanted) throw new LmdbFileError('damaged', `${what}: page ${pgno} at level ${level} of ${depth} has flags 0x${flags.toString(16)}`);
    if (lower % 2 !== 0 || lower > upper || PAGE_HEADER + upper > this.#psize) throw new LmdbFileError('damaged', `${what}: page ${pgno} has free space ${lower}..${upper}`);
    const keys = lower >> 1;
    if (keys === 0) throw new LmdbFileError('damaged', `${what}: page ${pgno} has no entries`);
    if (flags === P_BRANCH) counts.branch++;
    else counts.leaf++;
    for (let i = 0; i < keys; i++) {
      const at = page.readUInt16LE(PAGE_HEADER + 2 * i) + PAGE_HEADER;
      if (at < PAGE_HEADER + upper || at + NODE_HEADER > this.#psize) throw new LmdbFileError('damaged', `${what}: page ${pgno} node ${i} at offset ${at}`);
      const lo = page.readUInt16LE(at);
      const hi = page.readUInt16LE(at + 2);
      const nodeFlags = page.readUInt16LE(at + 4);
      const ksize = page.readUInt16LE(at + 6);
      const keyEnd = at + NODE_HEADER + ksize;
      if (keyEnd > this.#psize) throw new LmdbFileError('damaged', `${what}: page ${pgno} node ${i} key of ${ksize} bytes runs past the page`);
      if (flags === P_BRANCH) {
        const child = BigInt(lo) | (BigInt(hi) << 16n) | (BigInt(nodeFlags) << 32n);
        this.#node(child, level + 1, depth, what, kind, counts);
        continue;
      }
      counts.entries++;
      const dsize = lo | (hi << 16);
      if (nodeFlags === F_BIGDATA) {
        if (keyEnd + 8 > this.#psize) throw new LmdbFileError('damaged', `${what}: page ${pgno} node ${i} overflow reference runs past the page`);
        counts.overflow += this.#overflow(page.readBigUInt64LE(keyEnd), dsize, what);
      } else if (nodeFlags === F_SUBDATA) {
        if (kind !== 'main' || dsize !== DB_RECORD || keyEnd + DB_RECORD > this.#psize) throw new LmdbFileError('damaged', `${what}: page ${pgno} node ${i} is a misplaced named database record`);
        const name = page.toString('utf8', at + NODE_HEADER, keyEnd).replace(/\0$/, '');
        this.namedDbs.push(name);
        this.walk(dbRecordAt(page, keyEnd), `database '${name}'`, 'named');
      } else if (nodeFlags === 0) {
        if (keyEnd + dsize > this.#psize) throw new LmdbFileError('damaged', `${what}: page ${pgno} node ${i} data of ${dsize} bytes runs past the page`);
      } else throw new LmdbFileError('damaged', `${what}: page ${pgno} node ${i} has flags 0x${nodeFlags.toString(16)}`);
    }
  }

  /** An overflow run: its first page says how many pages it spans; returns that count. */
  #overflow(first: bigint, dsize: number, what: string): bigint {
    this.#claim(first, what);
    const page = this.#page(first);
    if (page.readUInt16LE(18) !== P_OVERFLOW) throw new LmdbFileError('damaged', `${what}: overflow page ${first} has flags 0x${page.readUInt16LE(18).toString(16)}`);
    const pages = BigInt(page.readUInt32LE(20));
    const needed = BigInt(Math.floor((PAGE_HEADER - 1 + dsize) / this.#psize) + 1);
    if (pages !== needed) throw new LmdbFileError('damaged', `${what}: overflow page ${first} spans ${pages} pages, ${dsize} bytes need ${needed}`);
    for (let p = first + 1n; p < first + pages; p++) this.#claim(p, what);
    return pages;
  }
}

/**
 * Check an lmdb file; throws LmdbFileError (empty, truncated, not lmdb, other version,
 * damaged) with what is wrong. Reads the file with pread, never maps it.
 */
export function checkLmdbFile(path: string): LmdbFileSummary {
  const fd = openSync(path, 'r');
  try {
    const r = new PageReader(fd, fstatSync(fd).size);
    const { latest, older } = readMetas(r);
    for (const [m, name] of [
      [latest, 'latest'],
      [older, 'previous'],
    ] as const) {
      const needed = (m.lastPage + 1n) * BigInt(m.pageSize);
      if (m.lastPage < 1n || needed > BigInt(r.bytes))
        throw new LmdbFileError('truncated', `is ${r.bytes} bytes; its ${name} meta page (transaction ${m.txnid}) needs ${needed} (pages 0..${m.lastPage})`);
    }
    const walker = new TreeWalker(r, latest);
    walker.walk(latest.free, 'free-page tree', 'free');
    walker.walk(latest.main, 'main tree', 'main');
    return { bytes: r.bytes, pageSize: latest.pageSize, txnid: latest.txnid, lastPage: latest.lastPage, pagesInUse: walker.visited.size, namedDbs: walker.namedDbs };
  } finally {
    closeSync(fd);
  }
}
