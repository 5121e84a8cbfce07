// DER schema engine for the SGP.22 codecs (ITU-T X.690 DER over asn1js).
//
// asn1js parses BER into a tree; this module walks that tree against declarative
// schemas (seq, choice, seqOf, primitives, implicit/explicit tags) and produces
// typed TS objects, and encodes typed objects back through asn1js. Decoding is
// strict DER by default (definite minimal lengths, minimal tags, canonical
// BOOLEAN/INTEGER/BIT STRING contents) because SGP.22 signs the DER bytes of its
// structures; `{ der: false }` relaxes that to BER. Between the two, a tolerant decode
// (`{ der: false, findings }`, decodeTolerant) accepts valid BER that is not DER - what
// real cards and LPAs accept from field peers (a BOOLEAN TRUE sent as 01, a DEFAULT value
// encoded explicitly, as an open-source SM-DP+ does for profileClass) - and records each
// deviation from X.690 DER (clauses 10 and 11) as a DerFinding instead of rejecting it.
//
// Every decoded SEQUENCE/CHOICE object remembers the exact bytes it came from
// (derOf), so a signature is always verified over the bytes that were received,
// including extension fields this version does not know (SGP.22 modules are
// EXTENSIBILITY IMPLIED).
import * as asn1js from 'asn1js';

// ---------------------------------------------------------------------------
// Tags

export type TagClass = 'universal' | 'application' | 'context' | 'private';
const CLASS_BITS: Record<TagClass, number> = { universal: 0x00, application: 0x40, context: 0x80, private: 0xc0 };
const CLASS_BY_ASN1JS: Record<number, TagClass> = { 1: 'universal', 2: 'application', 3: 'context', 4: 'private' };
const ASN1JS_CLASS: Record<TagClass, number> = { universal: 1, application: 2, context: 3, private: 4 };

export interface TagId {
  readonly cls: TagClass;
  readonly num: number;
}

/** Tag as the number formed by its identifier octets, e.g. 0xBF20, 0x5A, 0x5F37. */
export function tagValue(t: TagId, constructed: boolean): number {
  const first = CLASS_BITS[t.cls] | (constructed ? 0x20 : 0);
  if (t.num < 31) return first | t.num;
  const bytes: number[] = [];
  let n = t.num;
  bytes.unshift(n & 0x7f);
  n >>>= 7;
  while (n > 0) {
    bytes.unshift((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  let v = first | 0x1f;
  for (const b of bytes) v = v * 256 + b;
  return v;
}

export function tagHex(tag: number): string {
  return tag.toString(16).toUpperCase().padStart(2, '0');
}

/** Parse an identifier-octets number (0xBF20) back into class/number/constructed. */
export function tagIdOf(tag: number): TagId & { constructed: boolean } {
  const bytes: number[] = [];
  let n = tag;
  do {
    bytes.unshift(n & 0xff);
    n = Math.floor(n / 256);
  } while (n > 0);
  const first = bytes[0]!;
  const cls = (['universal', 'application', 'context', 'private'] as const)[first >> 6]!;
  const constructed = (first & 0x20) !== 0;
  if ((first & 0x1f) !== 0x1f) return { cls, num: first & 0x1f, constructed };
  let num = 0;
  for (const b of bytes.slice(1)) num = num * 128 + (b & 0x7f);
  return { cls, num, constructed };
}

// ---------------------------------------------------------------------------
// Errors

export type DerErrorKind = 'truncated' | 'trailing' | 'unexpectedTag' | 'missingField' | 'notDer' | 'invalidValue';

/** A decoding error with the byte offset (from the start of the input) and the tag involved. */
export class DerError extends Error {
  override readonly name = 'DerError';
  constructor(
    readonly kind: DerErrorKind,
    message: string,
    readonly offset: number,
    readonly tag?: number,
    readonly path: string = '',
  ) {
    super(message);
  }

  /** One line for people: what is wrong and where. */
  describe(): string {
    const where = [`offset ${this.offset}`];
    if (this.tag !== undefined) where.push(`tag ${tagHex(this.tag)}`);
    if (this.path) where.push(`in ${this.path}`);
    return `${this.kind}: ${this.message} (${where.join(', ')})`;
  }
}

// ---------------------------------------------------------------------------
// TLV tree (from asn1js) with offsets

export interface Tlv {
  readonly tag: number;
  readonly id: TagId;
  readonly constructed: boolean;
  /** offset of the first identifier byte in the whole input */
  readonly offset: number;
  /** the whole TLV */
  readonly raw: Uint8Array;
  /** the contents octets */
  readonly value: Uint8Array;
  /** the contents offset in the whole input */
  readonly valueOffset: number;
  readonly children: readonly Tlv[];
}

interface ParseOptions {
  der: boolean;
  /** tolerant BER: where strict DER would reject, the deviation is recorded here */
  findings?: DerFinding[];
}

/** A deviation from DER that a tolerant decode accepted (X.690 10-11; the rule names the clause's point). */
export interface DerFinding {
  readonly rule: 'indefinite-length' | 'non-minimal-tag' | 'non-minimal-length' | 'boolean-not-ff' | 'non-minimal-integer' | 'bit-string-padding' | 'default-encoded';
  readonly message: string;
  readonly offset: number;
  readonly tag?: number;
  readonly path: string;
}

/** Strict DER: throw; tolerant: record the finding and go on; plain BER: ignore. */
function deviation(ctx: { der: boolean; findings?: DerFinding[] }, rule: DerFinding['rule'], message: string, offset: number, tag: number | undefined, path = ''): void {
  if (ctx.der) throw new DerError('notDer', message, offset, tag, path);
  ctx.findings?.push({ rule, message, offset, ...(tag !== undefined ? { tag } : {}), path });
}

function minimalTagLength(num: number): number {
  if (num < 31) return 1;
  let n = 1;
  for (let v = num; v > 0; v >>>= 7) n++;
  return n;
}

function minimalLengthLength(len: number): number {
  if (len < 128) return 1;
  let n = 1;
  for (let v = len; v > 0; v = Math.floor(v / 256)) n++;
  return n;
}

type Asn1Node = asn1js.AsnType & {
  idBlock: { tagClass: number; tagNumber: number; isConstructed: boolean; blockLength: number };
  lenBlock: { blockLength: number; length: number; isIndefiniteForm: boolean; longFormUsed: boolean };
  valueBeforeDecodeView: Uint8Array;
  valueBlock: { value?: unknown };
};

function convert(node: Asn1Node, input: Uint8Array, offset: number, opts: ParseOptions): Tlv {
  const id: TagId = { cls: CLASS_BY_ASN1JS[node.idBlock.tagClass] ?? 'universal', num: node.idBlock.tagNumber };
  const constructed = node.idBlock.isConstructed;
  const tag = tagValue(id, constructed);
  const headerLength = node.idBlock.blockLength + node.lenBlock.blockLength;
  if (node.lenBlock.isIndefiniteForm) {
    deviation(opts, 'indefinite-length', 'indefinite length is not DER', offset, tag);
  } else if (opts.der || opts.findings) {
    if (node.idBlock.blockLength !== minimalTagLength(id.num)) deviation(opts, 'non-minimal-tag', 'non-minimal tag encoding', offset, tag);
    if (node.lenBlock.blockLength !== minimalLengthLength(node.lenBlock.length)) deviation(opts, 'non-minimal-length', 'non-minimal length encoding', offset + node.idBlock.blockLength, tag);
  }
  const total = node.lenBlock.isIndefiniteForm ? node.valueBeforeDecodeView.byteLength : headerLength + node.lenBlock.length;
  if (offset + total > input.byteLength) throw new DerError('truncated', `length ${node.lenBlock.length} runs past the end of the input`, offset, tag);
  const raw = input.subarray(offset, offset + total);
  const valueEnd = node.lenBlock.isIndefiniteForm ? total - 2 : total;
  const value = raw.subarray(headerLength, valueEnd);
  const children: Tlv[] = [];
  if (constructed && Array.isArray(node.valueBlock.value)) {
    let childOffset = offset + headerLength;
    const contentsEnd = offset + valueEnd;
    for (const child of node.valueBlock.value as Asn1Node[]) {
      // asn1js represents the end-of-contents of indefinite forms as a child
      if (child.idBlock.tagClass === 1 && child.idBlock.tagNumber === 0 && node.lenBlock.isIndefiniteForm) continue;
      const c = convert(child, input, childOffset, opts);
      // asn1js does not bound a component by the length of the TLV that contains it
      if (childOffset + c.raw.byteLength > contentsEnd)
        throw new DerError('truncated', `${tagHex(c.tag)} runs past the end of the enclosing ${tagHex(tag)} (length ${node.lenBlock.length})`, childOffset, c.tag);
      children.push(c);
      childOffset += c.raw.byteLength;
    }
    if (!node.lenBlock.isIndefiniteForm && childOffset !== contentsEnd)
      throw new DerError('truncated', `the components of ${tagHex(tag)} do not fill its length ${node.lenBlock.length}`, childOffset, tag);
  }
  return { tag, id, constructed, offset, raw, value, valueOffset: offset + headerLength, children };
}

/** Locate the first structural problem asn1js reported, for an error that names an offset. */
function scanForProblem(input: Uint8Array, start: number, end: number): { offset: number; message: string; tag?: number } {
  let p = start;
  while (p < end) {
    const tagStart = p;
    let tag = input[p++]!;
    if ((tag & 0x1f) === 0x1f) {
      do {
        if (p >= end) return { offset: tagStart, message: 'tag runs past the end of the input' };
        tag = tag * 256 + input[p]!;
      } while (input[p++]! & 0x80);
    }
    if (p >= end) return { offset: tagStart, message: 'input ends after the tag, before the length', tag };
    const lenByte = input[p++]!;
    let len = lenByte;
    if (lenByte === 0x80) return { offset: p - 1, message: 'indefinite length', tag };
    if (lenByte & 0x80) {
      const n = lenByte & 0x7f;
      if (n > 4 || p + n > end) return { offset: p - 1, message: 'length field runs past the end of the input', tag };
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + input[p++]!;
    }
    if (p + len > end) return { offset: tagStart, message: `length ${len} runs past the end of the input (${end - p} bytes left)`, tag };
    if (tag & (0x20 << (8 * (Math.ceil(Math.log2(tag + 1) / 8) - 1)))) {
      const inner = scanForProblem(input, p, p + len);
      if (inner.offset >= 0) return inner;
    }
    p += len;
  }
  return { offset: -1, message: '' };
}

/**
 * Deepest nesting of constructed TLVs accepted. SGP.22 messages, X.509 certificates and
 * SAIP profile elements nest about 10 deep; asn1js (and this module) walk the tree
 * recursively, so a "nesting bomb" would otherwise exhaust the call stack (RangeError).
 */
export const MAX_NESTING_DEPTH = 64;

/**
 * Iterative pre-scan of the TLV headers (definite and indefinite lengths) for what asn1js
 * cannot be given: constructed TLVs nested deeper than MAX_NESTING_DEPTH (its recursion
 * exhausts the stack) and a BOOLEAN whose contents are not one octet (X.690 8.2.1; asn1js
 * decodes a long one in quadratic time: 70 KB took 10 s). Throws a DerError; stops quietly
 * at the first header it cannot follow (asn1js then reports that problem).
 */
export function prescanTlvs(input: Uint8Array, maxDepth = MAX_NESTING_DEPTH): void {
  const ends: number[] = []; // contents end of each open constructed TLV; -1 = indefinite
  let p = 0;
  const end = input.byteLength;
  while (p < end) {
    const top = ends.length ? ends[ends.length - 1]! : end;
    if (top >= 0 && p >= top) {
      ends.pop();
      continue;
    }
    if (top < 0 && input[p] === 0 && input[p + 1] === 0) {
      ends.pop();
      p += 2;
      continue;
    }
    const tagStart = p;
    const first = input[p++]!;
    if ((first & 0x1f) === 0x1f) {
      while (p < end && input[p]! & 0x80) p++;
      p++;
    }
    if (p >= end) return;
    const lenByte = input[p++]!;
    let len = lenByte;
    if (lenByte > 0x80) {
      const n = lenByte & 0x7f;
      if (n > 4 || p + n > end) return;
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + input[p++]!;
    }
    if ((first & 0x20) === 0) {
      if (lenByte === 0x80) return;
      if (first === 0x01 && len !== 1) throw new DerError('invalidValue', `BOOLEAN of ${len} octets (must be one)`, tagStart, first);
      p += len;
      continue;
    }
    if (ends.length >= maxDepth) throw new DerError('invalidValue', `constructed TLVs nest deeper than ${maxDepth} levels`, tagStart, first);
    ends.push(lenByte === 0x80 ? -1 : p + len);
  }
}

/** asn1js.fromBER behind prescanTlvs; exceptions asn1js throws on bad contents become DerError. */
export function berFromBytes(input: Uint8Array): ReturnType<typeof asn1js.fromBER> {
  prescanTlvs(input);
  try {
    return asn1js.fromBER(input);
  } catch (e) {
    // asn1js decodes the contents of some universal types while parsing (UTCTime,
    // GeneralizedTime, BMPString, UniversalString ...) and throws plain errors on bad ones
    throw new DerError('invalidValue', `malformed contents: ${(e as Error).message}`, 0);
  }
}

/** Parse exactly one TLV covering the whole input. */
export function parseTlv(input: Uint8Array, opts: ParseOptions = { der: true }): Tlv {
  if (input.byteLength === 0) throw new DerError('truncated', 'empty input', 0);
  const res = berFromBytes(input);
  if (res.offset === -1) {
    const problem = scanForProblem(input, 0, input.byteLength);
    const message = problem.offset >= 0 ? problem.message : res.result.error || 'malformed TLV';
    throw new DerError(problem.message.startsWith('indefinite') ? 'notDer' : 'truncated', message, Math.max(problem.offset, 0), problem.tag);
  }
  const tlv = convert(res.result as unknown as Asn1Node, input, 0, opts);
  if (tlv.raw.byteLength < input.byteLength)
    throw new DerError('trailing', `${input.byteLength - tlv.raw.byteLength} trailing byte(s) after the top-level TLV`, tlv.raw.byteLength);
  return tlv;
}

// ---------------------------------------------------------------------------
// Encoding through asn1js

export function encodeTlv(tag: TagId, constructed: boolean, contents: Uint8Array): Uint8Array {
  // Contents are already DER; asn1js writes the identifier and definite length.
  const node = new asn1js.Primitive({ idBlock: { tagClass: ASN1JS_CLASS[tag.cls], tagNumber: tag.num }, valueHex: contents });
  node.idBlock.isConstructed = constructed;
  return new Uint8Array(node.toBER(false));
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.byteLength;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}

// ---------------------------------------------------------------------------
// Codecs

const rawDer = new WeakMap<object, Uint8Array>();

/** The DER a decoded object came from, or its fresh encoding. */
export function derOf<T>(codec: Codec<T>, value: T): Uint8Array {
  if (typeof value === 'object' && value !== null) {
    const raw = rawDer.get(value as object);
    if (raw) return raw;
  }
  return codec.encode(value);
}

/** True when the object was decoded (and so derOf returns the received bytes). */
export function hasReceivedDer(value: unknown): boolean {
  return typeof value === 'object' && value !== null && rawDer.has(value);
}

export interface DecodeContext {
  der: boolean;
  path: string;
  /** tolerant decoding: DER deviations are recorded here instead of rejected */
  findings?: DerFinding[];
}

export interface Codec<T> {
  /** Human name used in errors and by `bridgelab decode --type`. */
  readonly name: string;
  /** identifier-octet values this codec accepts (several for an untagged CHOICE) */
  readonly tags: readonly number[];
  encode(value: T): Uint8Array;
  decodeTlv(tlv: Tlv, ctx: DecodeContext): T;
}

export type Infer<C> = C extends Codec<infer T> ? T : never;

export interface TaggableCodec<T> extends Codec<T> {
  /** identity of the single tag and whether the encoding is constructed */
  readonly id: TagId;
  readonly constructed: boolean;
  encodeContents(value: T): Uint8Array;
  decodeContents(tlv: Tlv, ctx: DecodeContext): T;
}

function makeTaggable<T>(
  name: string,
  id: TagId,
  constructed: boolean,
  encodeContents: (v: T) => Uint8Array,
  decodeContents: (tlv: Tlv, ctx: DecodeContext) => T,
): TaggableCodec<T> {
  const tag = tagValue(id, constructed);
  return {
    name,
    id,
    constructed,
    tags: [tag],
    encodeContents,
    decodeContents,
    encode: (v) => encodeTlv(id, constructed, encodeContents(v)),
    decodeTlv(tlv, ctx) {
      if (tlv.tag !== tag)
        throw new DerError('unexpectedTag', `expected tag ${tagHex(tag)} for ${name}, found ${tagHex(tlv.tag)}`, tlv.offset, tlv.tag, ctx.path);
      const v = decodeContents(tlv, ctx);
      if (typeof v === 'object' && v !== null && !(v instanceof Uint8Array)) rawDer.set(v as object, tlv.raw);
      return v;
    },
  };
}

function isTaggable<T>(c: Codec<T>): c is TaggableCodec<T> {
  return 'encodeContents' in c;
}

/** Parse a tag written as ASN.1 tag notation: number n = [n] context, or an explicit identifier value (0xBF20). */
function resolveTag(t: number | TagId): TagId {
  if (typeof t !== 'number') return t;
  if (t < 0x1f) return { cls: 'context', num: t };
  const id = tagIdOf(t);
  return { cls: id.cls, num: id.num };
}

/** IMPLICIT retag: `[n] Type` under AUTOMATIC TAGS (non-CHOICE), or `[APPLICATION n]`. Pass n for context, or 0x5A / 0xBF20 style identifiers. */
export function implicit<T>(tag: number | TagId, codec: Codec<T>, name = codec.name): Codec<T> {
  if (!isTaggable(codec)) throw new Error(`cannot implicitly tag untagged CHOICE ${codec.name}; use explicit()`);
  return makeTaggable(name, resolveTag(tag), codec.constructed, codec.encodeContents, codec.decodeContents);
}

/** EXPLICIT tag: a constructed wrapper around the inner TLV (CHOICE components under AUTOMATIC TAGS). */
export function explicit<T>(tag: number | TagId, codec: Codec<T>, name = codec.name): Codec<T> {
  return makeTaggable(
    name,
    resolveTag(tag),
    true,
    (v) => codec.encode(v),
    (tlv, ctx) => {
      if (tlv.children.length !== 1)
        throw new DerError('invalidValue', `explicit tag must hold exactly one TLV, found ${tlv.children.length}`, tlv.offset, tlv.tag, ctx.path);
      return decodeChild(codec, tlv.children[0]!, ctx);
    },
  );
}

function decodeChild<T>(codec: Codec<T>, tlv: Tlv, ctx: DecodeContext): T {
  if (!codec.tags.includes(tlv.tag))
    throw new DerError('unexpectedTag', `expected ${codec.tags.map(tagHex).join('|')} for ${codec.name}, found ${tagHex(tlv.tag)}`, tlv.offset, tlv.tag, ctx.path);
  return codec.decodeTlv(tlv, ctx);
}

const U = (num: number): TagId => ({ cls: 'universal', num });

function primitiveOnly(tlv: Tlv, ctx: DecodeContext, name: string): void {
  if (tlv.constructed) throw new DerError('notDer', `${name} must be primitive`, tlv.offset, tlv.tag, ctx.path);
}

export interface SizeLimit {
  min?: number;
  max?: number;
}

function checkSize(n: number, size: SizeLimit | undefined, tlv: Tlv, ctx: DecodeContext, what: string): void {
  if (!size) return;
  if ((size.min !== undefined && n < size.min) || (size.max !== undefined && n > size.max)) {
    const range = size.min === size.max ? `${size.min}` : `${size.min ?? 0}..${size.max ?? '∞'}`;
    throw new DerError('invalidValue', `${what} size ${n} outside ${range}`, tlv.offset, tlv.tag, ctx.path);
  }
}

export function octets(size?: SizeLimit, name = 'OCTET STRING'): TaggableCodec<Uint8Array> {
  return makeTaggable(
    name,
    U(4),
    false,
    (v) => v,
    (tlv, ctx) => {
      primitiveOnly(tlv, ctx, name);
      checkSize(tlv.value.byteLength, size, tlv, ctx, name);
      return tlv.value.slice();
    },
  );
}

export function utf8(size?: SizeLimit, name = 'UTF8String'): TaggableCodec<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  return makeTaggable(
    name,
    U(12),
    false,
    (v) => new TextEncoder().encode(v),
    (tlv, ctx) => {
      primitiveOnly(tlv, ctx, name);
      let s: string;
      try {
        s = decoder.decode(tlv.value);
      } catch {
        throw new DerError('invalidValue', 'invalid UTF-8', tlv.valueOffset, tlv.tag, ctx.path);
      }
      checkSize(tlv.value.byteLength, size, tlv, ctx, name);
      return s;
    },
  );
}

export function integer(name = 'INTEGER'): TaggableCodec<number> {
  return makeTaggable(
    name,
    U(2),
    false,
    (v) => {
      if (!Number.isSafeInteger(v)) throw new RangeError(`${name}: ${v} is not a safe integer`);
      const bytes: number[] = [];
      let n = BigInt(v);
      do {
        bytes.unshift(Number(n & 0xffn));
        n >>= 8n;
      } while (!(n === 0n && (bytes[0]! & 0x80) === 0) && !(n === -1n && (bytes[0]! & 0x80) !== 0));
      return Uint8Array.from(bytes);
    },
    (tlv, ctx) => {
      primitiveOnly(tlv, ctx, name);
      const b = tlv.value;
      if (b.byteLength === 0) throw new DerError('invalidValue', 'empty INTEGER', tlv.offset, tlv.tag, ctx.path);
      if (b.byteLength > 1 && ((b[0] === 0 && (b[1]! & 0x80) === 0) || (b[0] === 0xff && (b[1]! & 0x80) !== 0))) deviation(ctx, 'non-minimal-integer', 'non-minimal INTEGER', tlv.valueOffset, tlv.tag, ctx.path);
      let n = (b[0]! & 0x80) !== 0 ? -1n : 0n;
      for (const x of b) n = (n << 8n) | BigInt(x);
      if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < BigInt(Number.MIN_SAFE_INTEGER))
        throw new DerError('invalidValue', 'INTEGER too large', tlv.offset, tlv.tag, ctx.path);
      return Number(n);
    },
  );
}

export function boolean(name = 'BOOLEAN'): TaggableCodec<boolean> {
  return makeTaggable(
    name,
    U(1),
    false,
    (v) => Uint8Array.of(v ? 0xff : 0x00),
    (tlv, ctx) => {
      primitiveOnly(tlv, ctx, name);
      if (tlv.value.byteLength !== 1) throw new DerError('invalidValue', 'BOOLEAN must be one byte', tlv.offset, tlv.tag, ctx.path);
      const b = tlv.value[0]!;
      if (b !== 0 && b !== 0xff) deviation(ctx, 'boolean-not-ff', `BOOLEAN true encoded as ${b.toString(16).padStart(2, '0').toUpperCase()}, must be FF in DER`, tlv.valueOffset, tlv.tag, ctx.path);
      return b !== 0;
    },
  );
}

export function nullValue(name = 'NULL'): TaggableCodec<null> {
  return makeTaggable(
    name,
    U(5),
    false,
    () => new Uint8Array(0),
    (tlv, ctx) => {
      primitiveOnly(tlv, ctx, name);
      if (tlv.value.byteLength !== 0) throw new DerError('invalidValue', 'NULL must be empty', tlv.offset, tlv.tag, ctx.path);
      return null;
    },
  );
}

export function oid(name = 'OBJECT IDENTIFIER'): TaggableCodec<string> {
  return makeTaggable(
    name,
    U(6),
    false,
    (v) => {
      const arcs = v.split('.').map((a) => {
        if (!/^\d+$/.test(a)) throw new RangeError(`invalid OID ${v}`);
        return BigInt(a);
      });
      if (arcs.length < 2) throw new RangeError(`invalid OID ${v}`);
      const out: number[] = [];
      const push = (n: bigint) => {
        const tmp: number[] = [Number(n & 0x7fn)];
        for (n >>= 7n; n > 0n; n >>= 7n) tmp.unshift(Number(n & 0x7fn) | 0x80);
        out.push(...tmp);
      };
      push(arcs[0]! * 40n + arcs[1]!);
      for (const a of arcs.slice(2)) push(a);
      return Uint8Array.from(out);
    },
    (tlv, ctx) => {
      primitiveOnly(tlv, ctx, name);
      const arcs: bigint[] = [];
      let n = 0n;
      let started = false;
      for (let i = 0; i < tlv.value.byteLength; i++) {
        const b = tlv.value[i]!;
        if (!started && b === 0x80) throw new DerError('notDer', 'non-minimal OID arc', tlv.valueOffset + i, tlv.tag, ctx.path);
        started = true;
        n = (n << 7n) | BigInt(b & 0x7f);
        if ((b & 0x80) === 0) {
          arcs.push(n);
          n = 0n;
          started = false;
        }
      }
      if (started || arcs.length === 0) throw new DerError('invalidValue', 'truncated OBJECT IDENTIFIER', tlv.offset, tlv.tag, ctx.path);
      const first = arcs[0]!;
      const head = first < 40n ? [0n, first] : first < 80n ? [1n, first - 40n] : [2n, first - 80n];
      return [...head, ...arcs.slice(1)].join('.');
    },
  );
}

/** BIT STRING as raw bits: bytes plus number of unused bits in the last byte. */
export interface Bits {
  bytes: Uint8Array;
  unusedBits: number;
}

export function bitString(name = 'BIT STRING'): TaggableCodec<Bits> {
  return makeTaggable(
    name,
    U(3),
    false,
    (v) => concat([Uint8Array.of(v.unusedBits), v.bytes]),
    (tlv, ctx) => {
      primitiveOnly(tlv, ctx, name);
      const b = tlv.value;
      if (b.byteLength === 0) throw new DerError('invalidValue', 'BIT STRING without unused-bits octet', tlv.offset, tlv.tag, ctx.path);
      const unused = b[0]!;
      if (unused > 7 || (b.byteLength === 1 && unused !== 0))
        throw new DerError('invalidValue', `invalid unused-bits count ${unused}`, tlv.valueOffset, tlv.tag, ctx.path);
      if (unused > 0 && (b[b.byteLength - 1]! & ((1 << unused) - 1)) !== 0) deviation(ctx, 'bit-string-padding', 'BIT STRING padding bits must be zero', tlv.valueOffset, tlv.tag, ctx.path);
      return { bytes: b.slice(1), unusedBits: unused };
    },
  );
}

/**
 * Named BIT STRING (e.g. NotificationEvent, PprIds, RspCapability) as the list of
 * names of the bits that are set. Bits without a name decode as "bitN".
 * Encoding is DER: trailing zero bits removed.
 */
export function flags<const N extends string>(names: readonly N[], name = 'BIT STRING'): TaggableCodec<(N | `bit${number}`)[]> {
  const bits = bitString(name);
  return makeTaggable(
    name,
    U(3),
    false,
    (set) => {
      const positions = set.map((f) => {
        const i = names.indexOf(f as N);
        if (i >= 0) return i;
        const m = /^bit(\d+)$/.exec(f);
        if (!m) throw new RangeError(`${name}: unknown flag ${f}`);
        return Number(m[1]);
      });
      const highest = positions.length ? Math.max(...positions) : -1;
      const nbytes = Math.ceil((highest + 1) / 8);
      const bytes = new Uint8Array(nbytes);
      for (const p of positions) bytes[p >> 3]! |= 0x80 >> (p & 7);
      return bits.encodeContents({ bytes, unusedBits: nbytes * 8 - (highest + 1) });
    },
    (tlv, ctx) => {
      const { bytes, unusedBits } = bits.decodeContents(tlv, ctx);
      const out: (N | `bit${number}`)[] = [];
      const total = bytes.byteLength * 8 - unusedBits;
      for (let p = 0; p < total; p++) if (bytes[p >> 3]! & (0x80 >> (p & 7))) out.push(names[p] ?? (`bit${p}` as const));
      return out;
    },
  );
}

/** Any complete TLV kept as bytes (e.g. an X.509 Certificate, decoded elsewhere). */
export function rawTlv(tag: number, name: string): Codec<Uint8Array> {
  const id = tagIdOf(tag);
  return {
    name,
    tags: [tag],
    encode: (v) => {
      if (v.byteLength === 0 || parseTlv(v, { der: false }).tag !== tag) throw new RangeError(`${name}: value is not a ${tagHex(tag)} TLV`);
      return v;
    },
    decodeTlv(tlv, ctx) {
      if (tlv.tag !== tag || id.constructed !== tlv.constructed)
        throw new DerError('unexpectedTag', `expected ${tagHex(tag)} for ${name}`, tlv.offset, tlv.tag, ctx.path);
      return tlv.raw.slice();
    },
  };
}

// ---------------------------------------------------------------------------
// Constructed types

export interface FieldSpec<T> {
  readonly codec: Codec<T>;
  readonly optional: boolean;
  readonly defaultValue?: T;
}

/** OPTIONAL component. */
export function opt<T>(codec: Codec<T>): FieldSpec<T> & { optional: true } {
  return { codec, optional: true };
}

/** DEFAULT component: omitted on encode when equal to the default (DER), optional on decode. */
export function withDefault<T>(codec: Codec<T>, defaultValue: T): FieldSpec<T> & { optional: true } {
  return { codec, optional: true, defaultValue };
}

type AnyField = Codec<any> | FieldSpec<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
type Fields = Record<string, AnyField>;
type FieldType<F> = F extends FieldSpec<infer T> ? T : F extends Codec<infer T> ? T : never;
type OptionalKeys<F extends Fields> = { [K in keyof F]: F[K] extends { optional: true } ? K : never }[keyof F];
type RequiredKeys<F extends Fields> = Exclude<keyof F, OptionalKeys<F>>;
type Simplify<T> = { [K in keyof T]: T[K] } & {};
export type SeqValue<F extends Fields> = Simplify<{ [K in RequiredKeys<F>]: FieldType<F[K]> } & { [K in OptionalKeys<F>]?: FieldType<F[K]> }>;

function toSpec(f: AnyField): FieldSpec<unknown> {
  return 'codec' in f ? f : { codec: f, optional: false };
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a instanceof Uint8Array && b instanceof Uint8Array) return a.byteLength === b.byteLength && a.every((x, i) => x === b[i]);
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  return a === b;
}

/** SEQUENCE with components in order; unknown trailing/extension components are skipped (EXTENSIBILITY IMPLIED). */
export function seq<const F extends Fields>(name: string, fields: F): TaggableCodec<SeqValue<F>> & { readonly fields: F } {
  const specs = Object.entries(fields).map(([key, f]) => [key, toSpec(f)] as const);
  // Ambiguous tags are schema bugs: catch them early. X.680 (25.5) only requires that the
  // tags of an OPTIONAL/DEFAULT component differ from those of the components that follow
  // it up to and including the next mandatory one; mandatory components may share a tag
  // (SGP.22 does this: PrepareDownloadRequest has smdpSigned2 and smdpCertificate, both 30).
  for (let i = 0; i < specs.length; i++) {
    const [key, s] = specs[i]!;
    if (!s.optional) continue;
    for (let j = i + 1; j < specs.length; j++) {
      const [other, o] = specs[j]!;
      const clash = s.codec.tags.find((t) => o.codec.tags.includes(t));
      if (clash !== undefined) throw new Error(`${name}: tag ${tagHex(clash)} used by optional ${key} and by ${other}`);
      if (!o.optional) break;
    }
  }
  const codec = makeTaggable<SeqValue<F>>(
    name,
    U(16),
    true,
    (value) => {
      const parts: Uint8Array[] = [];
      const v = value as Record<string, unknown>;
      for (const [key, s] of specs) {
        const x = v[key];
        if (x === undefined) {
          if (!s.optional) throw new RangeError(`${name}.${key} is required`);
          continue;
        }
        if (s.defaultValue !== undefined && sameValue(x, s.defaultValue)) continue;
        parts.push(s.codec.encode(x));
      }
      return concat(parts);
    },
    (tlv, ctx) => {
      const out: Record<string, unknown> = {};
      let next = 0;
      for (const child of tlv.children) {
        let idx = -1;
        for (let i = next; i < specs.length; i++)
          if (specs[i]![1].codec.tags.includes(child.tag)) {
            idx = i;
            break;
          }
        if (idx < 0) continue; // extension component from a later version
        for (let i = next; i < idx; i++) {
          const [key, s] = specs[i]!;
          if (!s.optional)
            throw new DerError('missingField', `${name}.${key} is missing`, child.offset, child.tag, ctx.path);
        }
        const [key, s] = specs[idx]!;
        const sub = { ...ctx, path: ctx.path ? `${ctx.path}.${key}` : `${name}.${key}` };
        const val = s.codec.decodeTlv(child, sub);
        if (s.defaultValue !== undefined && sameValue(val, s.defaultValue)) deviation(ctx, 'default-encoded', `${name}.${key} encodes its DEFAULT value`, child.offset, child.tag, ctx.path);
        out[key] = val;
        next = idx + 1;
      }
      for (let i = next; i < specs.length; i++) {
        const [key, s] = specs[i]!;
        if (!s.optional) throw new DerError('missingField', `${name}.${key} is missing`, tlv.offset + tlv.raw.byteLength, tlv.tag, ctx.path);
      }
      return out as SeqValue<F>;
    },
  );
  return Object.assign(codec, { fields });
}

/** SEQUENCE OF */
export function seqOf<T>(item: Codec<T>, name = `SEQUENCE OF ${item.name}`): TaggableCodec<T[]> {
  return makeTaggable(
    name,
    U(16),
    true,
    (items) => concat(items.map((i) => item.encode(i))),
    (tlv, ctx) => tlv.children.map((c, i) => decodeChild(item, c, { ...ctx, path: `${ctx.path || name}[${i}]` })),
  );
}

type ChoiceValue<A extends Record<string, Codec<any>>> = { [K in keyof A]: { [P in K]: Infer<A[K]> } }[keyof A]; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Untagged CHOICE, value as a one-key object naming the alternative. */
export function choice<const A extends Record<string, Codec<any>>>(name: string, alts: A): Codec<ChoiceValue<A>> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const entries = Object.entries(alts);
  const tags = entries.flatMap(([, c]) => c.tags);
  return {
    name,
    tags,
    encode(value) {
      const keys = Object.keys(value as object);
      if (keys.length !== 1) throw new RangeError(`${name}: exactly one alternative expected, got ${keys.join(',') || 'none'}`);
      const key = keys[0]!;
      const alt = alts[key];
      if (!alt) throw new RangeError(`${name}: unknown alternative ${key}`);
      return alt.encode((value as Record<string, unknown>)[key]);
    },
    decodeTlv(tlv, ctx) {
      for (const [key, c] of entries)
        if (c.tags.includes(tlv.tag)) {
          const v = { [key]: c.decodeTlv(tlv, { ...ctx, path: `${ctx.path || name}.${key}` }) } as ChoiceValue<A>;
          rawDer.set(v as object, tlv.raw);
          return v;
        }
      throw new DerError('unexpectedTag', `no alternative of ${name} has tag ${tagHex(tlv.tag)}`, tlv.offset, tlv.tag, ctx.path);
    },
  };
}

/** Map a codec's value to another representation (e.g. bytes <-> hex ICCID). */
export function mapped<A, B>(codec: Codec<A>, to: (a: A) => B, from: (b: B) => A, name = codec.name): Codec<B> {
  const wrap = (tlv: Tlv, f: () => A): B => {
    try {
      return to(f());
    } catch (e) {
      if (e instanceof DerError) throw e;
      throw new DerError('invalidValue', (e as Error).message, tlv.offset, tlv.tag);
    }
  };
  if (isTaggable(codec))
    return makeTaggable(name, codec.id, codec.constructed, (b) => codec.encodeContents(from(b)), (tlv, ctx) => wrap(tlv, () => codec.decodeContents(tlv, ctx)));
  return { name, tags: codec.tags, encode: (b) => codec.encode(from(b)), decodeTlv: (tlv, ctx) => wrap(tlv, () => codec.decodeTlv(tlv, ctx)) };
}

// ---------------------------------------------------------------------------
// Top level

export interface DecodeOptions {
  /** strict DER (default true) */
  der?: boolean;
  /** with der false: record every DER deviation here (tolerant BER) */
  findings?: DerFinding[];
}

/** Decode one complete top-level TLV; rejects trailing bytes and (by default) non-DER. */
export function decode<T>(codec: Codec<T>, input: Uint8Array, options: DecodeOptions = {}): T {
  const der = options.der ?? true;
  const findings = der ? undefined : options.findings;
  const tlv = parseTlv(input, { der, ...(findings ? { findings } : {}) });
  return decodeChild(codec, tlv, { der, path: '', ...(findings ? { findings } : {}) });
}

/** Accept valid BER as a field peer's BER is accepted, and say where it is not DER. */
export function decodeTolerant<T>(codec: Codec<T>, input: Uint8Array): { value: T; findings: DerFinding[] } {
  const findings: DerFinding[] = [];
  return { value: decode(codec, input, { der: false, findings }), findings };
}

/** One line for a report: the deviation and where. */
export function describeFinding(f: DerFinding): string {
  return `not DER (${f.rule}): ${f.message} at offset ${f.offset}${f.tag !== undefined ? `, tag ${tagHex(f.tag)}` : ''}${f.path ? ` in ${f.path}` : ''}`;
}

export function encode<T>(codec: Codec<T>, value: T): Uint8Array {
  return codec.encode(value);
}
