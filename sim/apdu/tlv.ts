// Minimal BER-TLV (ISO/IEC 7816-4:2013 5.2, X.690 8.1.2-8.1.3 tag and definite length
// forms) for the small templates the card layer builds and reads: FCP '62', FCI '6F',
// TERMINAL CAPABILITY 'A9', EF.DIR records '61'. Tags are handled as the number their
// identifier octets form (0x9F65, 0xBF3E). Not a DER validator: sim/rsp/der.ts is.

export class TlvError extends Error {
  override readonly name = 'TlvError';
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

export interface Tlv {
  readonly tag: number;
  readonly constructed: boolean;
  readonly value: Uint8Array;
}

export function encodeTag(tag: number): Uint8Array {
  if (!Number.isInteger(tag) || tag < 0 || tag > 0xffffff) throw new RangeError(`tag ${tag} out of range`);
  if (tag > 0xffff) return Uint8Array.of(tag >> 16, (tag >> 8) & 0xff, tag & 0xff);
  if (tag > 0xff) return Uint8Array.of(tag >> 8, tag & 0xff);
  return Uint8Array.of(tag);
}

export function encodeLength(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffff) throw new RangeError(`length ${n} out of range`);
  if (n < 0x80) return Uint8Array.of(n);
  if (n <= 0xff) return Uint8Array.of(0x81, n);
  if (n <= 0xffff) return Uint8Array.of(0x82, n >> 8, n & 0xff);
  return Uint8Array.of(0x83, n >> 16, (n >> 8) & 0xff, n & 0xff);
}

/** tag || length || concatenated values */
export function tlv(tag: number, ...values: Uint8Array[]): Uint8Array {
  const len = values.reduce((a, v) => a + v.length, 0);
  const t = encodeTag(tag);
  const l = encodeLength(len);
  const out = new Uint8Array(t.length + l.length + len);
  out.set(t, 0);
  out.set(l, t.length);
  let o = t.length + l.length;
  for (const v of values) {
    out.set(v, o);
    o += v.length;
  }
  return out;
}

/** Parse a concatenation of TLVs (one level). 00/FF padding between objects is skipped. */
export function parseTlvs(bytes: Uint8Array): Tlv[] {
  const out: Tlv[] = [];
  let i = 0;
  while (i < bytes.length) {
    const first = bytes[i]!;
    if (first === 0x00 || first === 0xff) {
      i++;
      continue;
    }
    const start = i;
    let tag = first;
    i++;
    if ((first & 0x1f) === 0x1f) {
      let more = true;
      let n = 0;
      while (more) {
        if (i >= bytes.length) throw new TlvError('truncated tag', start);
        const b = bytes[i++]!;
        tag = tag * 256 + b;
        more = (b & 0x80) !== 0;
        if (++n > 2) throw new TlvError('tag longer than 3 bytes', start);
      }
    }
    if (i >= bytes.length) throw new TlvError('missing length', start);
    let len = bytes[i++]!;
    if (len === 0x80) throw new TlvError('indefinite length', start);
    if (len > 0x80) {
      const n = len & 0x7f;
      if (n > 3) throw new TlvError(`length of ${n} bytes`, start);
      if (i + n > bytes.length) throw new TlvError('truncated length', start);
      len = 0;
      for (let k = 0; k < n; k++) len = len * 256 + bytes[i++]!;
    }
    if (i + len > bytes.length) throw new TlvError(`value of ${len} bytes overruns the data`, start);
    out.push({ tag, constructed: (first & 0x20) !== 0, value: bytes.slice(i, i + len) });
    i += len;
  }
  return out;
}

export function findTlv(list: readonly Tlv[], tag: number): Tlv | undefined {
  return list.find((t) => t.tag === tag);
}
