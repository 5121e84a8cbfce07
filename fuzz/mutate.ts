// Input mutators of the fuzz campaigns. Byte level (AFL-style havoc: bit flips,
// interesting bytes, inserts, deletes, truncation, splicing with another corpus
// entry) and DER level (ITU-T X.690 TLV structure of a valid encoding: length-field
// corruption, indefinite/huge/non-minimal lengths, tag swaps, nesting bombs, TLV
// removal/duplication, value replacement). The DER walker here is deliberately
// independent of sim/rsp/der.ts (it must not share that code's bugs) and tolerant:
// it stops at the first structure it cannot follow.
import type { Rng } from './prng.ts';

export const INTERESTING_BYTES: readonly number[] = [0x00, 0x01, 0x02, 0x04, 0x0f, 0x1f, 0x20, 0x30, 0x3f, 0x40, 0x7e, 0x7f, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x88, 0x90, 0xa0, 0xbf, 0xc0, 0xe2, 0xfe, 0xff];

export function concatAll(parts: readonly Uint8Array[]): Uint8Array {
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
// Byte level

export type ByteOp = 'flip' | 'interesting' | 'random' | 'insert' | 'delete' | 'truncate' | 'extend' | 'duplicate' | 'splice' | 'swap' | 'overwrite' | 'arith';

/** One havoc step. `other` is a second corpus entry for splicing. */
export function mutateBytesOnce(rng: Rng, input: Uint8Array, other?: Uint8Array, maxLength = 1 << 16): Uint8Array {
  const b = input.slice();
  const op: ByteOp = rng.weighted<ByteOp>([
    ['flip', 6],
    ['interesting', 5],
    ['random', 3],
    ['arith', 3],
    ['insert', 2],
    ['delete', 2],
    ['truncate', 2],
    ['extend', 1],
    ['duplicate', 1],
    ['splice', other ? 2 : 0],
    ['swap', 1],
    ['overwrite', 1],
  ]);
  if (b.length === 0 && op !== 'insert' && op !== 'extend' && op !== 'splice') return rng.bytes(rng.range(1, 8));
  switch (op) {
    case 'flip': {
      const i = rng.int(b.length);
      b[i]! ^= 1 << rng.int(8);
      return b;
    }
    case 'interesting':
      b[rng.int(b.length)] = rng.pick(INTERESTING_BYTES);
      return b;
    case 'random':
      b[rng.int(b.length)] = rng.byte();
      return b;
    case 'arith': {
      const i = rng.int(b.length);
      b[i] = (b[i]! + rng.range(-16, 16)) & 0xff;
      return b;
    }
    case 'insert': {
      const at = rng.int(b.length + 1);
      const ins = rng.chance(0.5) ? rng.bytes(rng.size(32)) : new Uint8Array(rng.size(32)).fill(rng.pick(INTERESTING_BYTES));
      return concatAll([b.subarray(0, at), ins, b.subarray(at)]).subarray(0, maxLength);
    }
    case 'delete': {
      const at = rng.int(b.length);
      const n = Math.min(b.length - at, rng.size(32) || 1);
      return concatAll([b.subarray(0, at), b.subarray(at + n)]);
    }
    case 'truncate':
      return b.subarray(0, rng.int(b.length));
    case 'extend':
      return concatAll([b, rng.bytes(rng.size(64) || 1)]).subarray(0, maxLength);
    case 'duplicate': {
      const at = rng.int(b.length);
      const n = Math.min(b.length - at, rng.size(64) || 1);
      const to = rng.int(b.length + 1);
      return concatAll([b.subarray(0, to), b.subarray(at, at + n), b.subarray(to)]).subarray(0, maxLength);
    }
    case 'splice': {
      const o = other!;
      if (o.length === 0) return b;
      const cut = rng.int(b.length + 1);
      const from = rng.int(o.length);
      return concatAll([b.subarray(0, cut), o.subarray(from)]).subarray(0, maxLength);
    }
    case 'swap': {
      const i = rng.int(b.length);
      const j = rng.int(b.length);
      const t = b[i]!;
      b[i] = b[j]!;
      b[j] = t;
      return b;
    }
    case 'overwrite': {
      const at = rng.int(b.length);
      const n = Math.min(b.length - at, rng.size(16) || 1);
      b.set(rng.bytes(n), at);
      return b;
    }
  }
}

/** 1..maxOps havoc steps (few most of the time). */
export function mutateBytes(rng: Rng, input: Uint8Array, other?: Uint8Array, maxOps = 8, maxLength = 1 << 16): Uint8Array {
  let b = input;
  const n = 1 + rng.size(maxOps - 1);
  for (let i = 0; i < n; i++) b = mutateBytesOnce(rng, b, other, maxLength);
  return b;
}

// ---------------------------------------------------------------------------
// DER level

/** A TLV found in an encoding: positions of its header parts and value. */
export interface TlvSpan {
  /** offset of the first identifier octet */
  readonly start: number;
  readonly tagLength: number;
  readonly lengthStart: number;
  readonly lengthLength: number;
  readonly valueStart: number;
  readonly valueLength: number;
  readonly constructed: boolean;
  readonly depth: number;
}

/** Walk every TLV of a (valid) BER encoding; stops quietly at anything it cannot follow. */
export function tlvSpans(der: Uint8Array, maxSpans = 4096): TlvSpan[] {
  const out: TlvSpan[] = [];
  const walk = (start: number, end: number, depth: number): void => {
    let p = start;
    while (p < end && out.length < maxSpans) {
      const tagStart = p;
      const first = der[p++]!;
      if ((first & 0x1f) === 0x1f) {
        let guard = 0;
        while (p < end && der[p]! & 0x80 && guard++ < 4) p++;
        p++;
      }
      if (p >= end) return;
      const lengthStart = p;
      const lb = der[p++]!;
      let len = lb;
      if (lb === 0x80) return;
      if (lb & 0x80) {
        const n = lb & 0x7f;
        if (n > 3 || p + n > end) return;
        len = 0;
        for (let i = 0; i < n; i++) len = len * 256 + der[p++]!;
      }
      if (p + len > end) return;
      const span: TlvSpan = { start: tagStart, tagLength: lengthStart - tagStart, lengthStart, lengthLength: p - lengthStart, valueStart: p, valueLength: len, constructed: (first & 0x20) !== 0, depth };
      out.push(span);
      if (span.constructed) walk(p, p + len, depth + 1);
      p += len;
    }
  };
  walk(0, der.length, 0);
  return out;
}

/** Definite length octets (minimal) of n. */
export function encodeLength(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

function replaceRange(b: Uint8Array, start: number, end: number, repl: Uint8Array): Uint8Array {
  return concatAll([b.subarray(0, start), repl, b.subarray(end)]);
}

/**
 * Re-encode the length fields of the ancestors of a span whose total size changed by
 * `delta`, so that the change stays "structurally valid" (deeper mutations survive the
 * outer TLVs). Spans are those of the original encoding; works from the innermost out.
 */
function fixAncestors(b: Uint8Array, spans: readonly TlvSpan[], target: TlvSpan, delta: number): Uint8Array {
  if (delta === 0) return b;
  const ancestors = spans.filter((s) => s.constructed && s.depth < target.depth && s.valueStart <= target.start && target.start < s.valueStart + s.valueLength).sort((x, y) => y.depth - x.depth);
  let out = b;
  let d = delta;
  for (const a of ancestors) {
    const oldLen = out.subarray(a.lengthStart, a.lengthStart + a.lengthLength);
    const newLenBytes = encodeLength(a.valueLength + d);
    out = replaceRange(out, a.lengthStart, a.lengthStart + oldLen.length, newLenBytes);
    d += newLenBytes.length - oldLen.length;
  }
  return out;
}

export type DerOp =
  | 'length-plus'
  | 'length-minus'
  | 'length-zero'
  | 'length-indefinite'
  | 'length-huge'
  | 'length-nonminimal'
  | 'length-overlong-field'
  | 'tag-swap'
  | 'tag-highform'
  | 'tag-class'
  | 'constructed-bit'
  | 'nesting-bomb'
  | 'remove-tlv'
  | 'duplicate-tlv'
  | 'swap-siblings'
  | 'value-random'
  | 'value-truncate'
  | 'value-extend'
  | 'value-empty'
  | 'integer-edge'
  | 'trailing';

const TAG_POOL: readonly number[] = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0c, 0x16, 0x1a, 0x30, 0x31, 0x4f, 0x5a, 0x80, 0x81, 0x82, 0x83, 0x84, 0x86, 0x88, 0x8a, 0x90, 0x95, 0x99, 0xa0, 0xa1, 0xa2, 0xa3, 0xa6, 0xb6, 0xe3];

/** One structure-aware mutation of a DER encoding; falls back to byte havoc when no TLV is found. */
export function mutateDerOnce(rng: Rng, der: Uint8Array, other?: Uint8Array): { bytes: Uint8Array; op: DerOp | 'bytes' } {
  const spans = tlvSpans(der);
  if (spans.length === 0) return { bytes: mutateBytesOnce(rng, der, other), op: 'bytes' };
  const s = rng.pick(spans);
  const op = rng.weighted<DerOp>([
    ['length-plus', 3],
    ['length-minus', 3],
    ['length-zero', 1],
    ['length-indefinite', 2],
    ['length-huge', 2],
    ['length-nonminimal', 2],
    ['length-overlong-field', 1],
    ['tag-swap', 4],
    ['tag-highform', 1],
    ['tag-class', 2],
    ['constructed-bit', 2],
    ['nesting-bomb', 1],
    ['remove-tlv', 3],
    ['duplicate-tlv', 2],
    ['swap-siblings', 2],
    ['value-random', 3],
    ['value-truncate', 2],
    ['value-extend', 2],
    ['value-empty', 2],
    ['integer-edge', 2],
    ['trailing', 1],
  ]);
  const lenEnd = s.lengthStart + s.lengthLength;
  const end = s.valueStart + s.valueLength;
  const setLength = (bytes: Uint8Array): Uint8Array => replaceRange(der, s.lengthStart, lenEnd, bytes);
  switch (op) {
    case 'length-plus':
      return { bytes: setLength(encodeLength(s.valueLength + rng.range(1, 3))), op };
    case 'length-minus':
      return { bytes: setLength(encodeLength(Math.max(0, s.valueLength - rng.range(1, 3)))), op };
    case 'length-zero':
      return { bytes: setLength(Uint8Array.of(0)), op };
    case 'length-indefinite': {
      // 80 ... 00 00 (BER, never DER); sometimes without the end-of-contents
      const body = der.subarray(s.valueStart, end);
      const eoc = rng.chance(0.7) ? Uint8Array.of(0, 0) : new Uint8Array(0);
      return { bytes: concatAll([der.subarray(0, s.lengthStart), Uint8Array.of(0x80), body, eoc, der.subarray(end)]), op };
    }
    case 'length-huge':
      return { bytes: setLength(rng.pick([Uint8Array.of(0x84, 0x7f, 0xff, 0xff, 0xff), Uint8Array.of(0x84, 0xff, 0xff, 0xff, 0xff), Uint8Array.of(0x83, 0xff, 0xff, 0xff), Uint8Array.of(0x88, 1, 0, 0, 0, 0, 0, 0, 0), Uint8Array.of(0xfe), Uint8Array.of(0xff), Uint8Array.of(0x82, 0xff, 0xff)])), op };
    case 'length-nonminimal': {
      const n = s.valueLength;
      const forms = [Uint8Array.of(0x81, n & 0xff), Uint8Array.of(0x82, (n >> 8) & 0xff, n & 0xff), Uint8Array.of(0x84, 0, 0, (n >> 8) & 0xff, n & 0xff)];
      return { bytes: setLength(rng.pick(forms)), op };
    }
    case 'length-overlong-field':
      return { bytes: setLength(Uint8Array.of(0x80 | rng.range(5, 0x7f), ...rng.bytes(rng.range(0, 8)))), op };
    case 'tag-swap': {
      const other2 = rng.chance(0.5) ? rng.pick(spans) : undefined;
      const tag = other2 ? der.subarray(other2.start, other2.start + other2.tagLength) : Uint8Array.of(rng.pick(TAG_POOL));
      return { bytes: replaceRange(der, s.start, s.start + s.tagLength, tag), op };
    }
    case 'tag-highform': {
      // the same number written in high-tag-number form (non-minimal), or a long tag
      const first = der[s.start]!;
      const num = first & 0x1f;
      const forms = [Uint8Array.of((first & 0xe0) | 0x1f, num), Uint8Array.of((first & 0xe0) | 0x1f, 0x80, num), Uint8Array.of((first & 0xe0) | 0x1f, 0xff, 0xff, 0xff, 0x7f), Uint8Array.of((first & 0xe0) | 0x1f)];
      return { bytes: replaceRange(der, s.start, s.start + s.tagLength, rng.pick(forms)), op };
    }
    case 'tag-class': {
      const b = der.slice();
      b[s.start] = (b[s.start]! & 0x3f) | (rng.int(4) << 6);
      return { bytes: b, op };
    }
    case 'constructed-bit': {
      const b = der.slice();
      b[s.start]! ^= 0x20;
      return { bytes: b, op };
    }
    case 'nesting-bomb': {
      // wrap the TLV in `depth` constructed TLVs (lengths fixed up), or replace it by a deep chain
      // around the decoder's nesting limit (64), and far beyond it
      const depth = rng.pick([8, 62, 63, 64, 65, 66, 300, 3000]);
      const inner = rng.chance(0.5) ? der.subarray(s.start, end) : Uint8Array.of(0x05, 0x00);
      const wrapTag = rng.pick([0x30, 0xa0, 0xa1, der[s.start]! | 0x20]);
      let body = inner;
      const chunks: Uint8Array[] = [];
      let total = inner.length;
      const headers: Uint8Array[] = [];
      for (let i = 0; i < depth; i++) {
        const h = concatAll([Uint8Array.of(wrapTag), encodeLength(total)]);
        headers.push(h);
        total += h.length;
      }
      for (let i = headers.length - 1; i >= 0; i--) chunks.push(headers[i]!);
      chunks.push(inner);
      body = concatAll(chunks);
      const out = replaceRange(der, s.start, end, body);
      return { bytes: fixAncestors(out, spans, s, body.length - (end - s.start)), op };
    }
    case 'remove-tlv': {
      const out = replaceRange(der, s.start, end, new Uint8Array(0));
      return { bytes: rng.chance(0.7) ? fixAncestors(out, spans, s, -(end - s.start)) : out, op };
    }
    case 'duplicate-tlv': {
      const tlv = der.subarray(s.start, end);
      const out = replaceRange(der, s.start, s.start, tlv);
      return { bytes: rng.chance(0.7) ? fixAncestors(out, spans, s, tlv.length) : out, op };
    }
    case 'swap-siblings': {
      const sib = spans.find((x) => x.depth === s.depth && x.start === end);
      if (!sib) return { bytes: mutateBytesOnce(rng, der, other), op: 'bytes' };
      const a = der.subarray(s.start, end);
      const c = der.subarray(sib.start, sib.valueStart + sib.valueLength);
      return { bytes: replaceRange(der, s.start, sib.valueStart + sib.valueLength, concatAll([c, a])), op };
    }
    case 'value-random': {
      const v = rng.bytes(s.valueLength);
      return { bytes: replaceRange(der, s.valueStart, end, v), op };
    }
    case 'value-truncate': {
      const keep = rng.int(s.valueLength + 1);
      const newValue = der.subarray(s.valueStart, s.valueStart + keep);
      const head = concatAll([der.subarray(s.start, s.lengthStart), encodeLength(keep)]);
      const out = replaceRange(der, s.start, end, concatAll([head, newValue]));
      return { bytes: rng.chance(0.7) ? fixAncestors(out, spans, s, head.length + keep - (end - s.start)) : out, op };
    }
    case 'value-extend': {
      const extra = rng.chance(0.5) ? rng.bytes(rng.size(64) || 1) : new Uint8Array(rng.pick([1, 16, 255, 256, 1000, 70000])).fill(rng.pick(INTERESTING_BYTES));
      const newLen = s.valueLength + extra.length;
      const body = concatAll([der.subarray(s.start, s.lengthStart), encodeLength(newLen), der.subarray(s.valueStart, end), extra]);
      const out = replaceRange(der, s.start, end, body);
      return { bytes: fixAncestors(out, spans, s, body.length - (end - s.start)), op };
    }
    case 'value-empty': {
      const body = concatAll([der.subarray(s.start, s.lengthStart), Uint8Array.of(0)]);
      const out = replaceRange(der, s.start, end, body);
      return { bytes: fixAncestors(out, spans, s, body.length - (end - s.start)), op };
    }
    case 'integer-edge': {
      const values = [Uint8Array.of(0x00), Uint8Array.of(0xff), Uint8Array.of(0x80), Uint8Array.of(0x00, 0x7f), Uint8Array.of(0xff, 0x80), Uint8Array.of(0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), Uint8Array.of(0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), Uint8Array.of(0x20, 0, 0, 0, 0, 0, 0), Uint8Array.of(0xe0, 0, 0, 0, 0, 0, 0), Uint8Array.of(0x07), Uint8Array.of(0x08, 0xff)];
      const v = rng.pick(values);
      const body = concatAll([der.subarray(s.start, s.lengthStart), encodeLength(v.length), v]);
      const out = replaceRange(der, s.start, end, body);
      return { bytes: fixAncestors(out, spans, s, body.length - (end - s.start)), op };
    }
    case 'trailing':
      return { bytes: concatAll([der, rng.chance(0.5) ? Uint8Array.of(0x00, 0x00) : rng.bytes(rng.range(1, 8))]), op };
  }
}

/** 1..maxOps DER or byte mutations (DER ones preferred). */
export function mutateDer(rng: Rng, der: Uint8Array, other?: Uint8Array, maxOps = 4): { bytes: Uint8Array; ops: string[] } {
  let b = der;
  const ops: string[] = [];
  const n = 1 + rng.size(maxOps - 1);
  for (let i = 0; i < n; i++) {
    if (rng.chance(0.8)) {
      const r = mutateDerOnce(rng, b, other);
      b = r.bytes;
      ops.push(r.op);
    } else {
      b = mutateBytesOnce(rng, b, other);
      ops.push('bytes');
    }
  }
  return { bytes: b, ops };
}
