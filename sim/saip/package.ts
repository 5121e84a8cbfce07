// SAIP Unprotected Profile Package (SIMalliance/TCA "eUICC Profile Package:
// Interoperable Format Technical Specification" v2.x, as used by GSMA TS.48):
// a plain concatenation of DER ProfileElement TLVs. ProfileElement is an
// AUTOMATIC TAGS CHOICE, so each PE's tag is [n] constructed, n being the
// alternative's position (header [0] A0, mf [16] B0, usim [19] B3, end [10] AA,
// ...; PROFILE_ELEMENT_NAMES below). This module splits and joins packages.
import { berFromBytes, concat, DerError, parseTlv, tagHex, tagValue, type Tlv } from '../rsp/der.ts';

/** ProfileElement CHOICE alternatives in declaration order (PEDefinitions v3.3): index = context tag number. */
export const PROFILE_ELEMENT_NAMES = [
  'header',
  'genericFileManagement',
  'pinCodes',
  'pukCodes',
  'akaParameter',
  'cdmaParameter',
  'securityDomain',
  'rfm',
  'application',
  'nonStandard',
  'end',
  'rfu1',
  'rfu2',
  'rfu3',
  'rfu4',
  'rfu5',
  'mf',
  'cd',
  'telecom',
  'usim',
  'opt-usim',
  'isim',
  'opt-isim',
  'phonebook',
  'gsm-access',
  'csim',
  'opt-csim',
  'eap',
  'df-5gs',
  'df-saip',
  'df-snpn',
  'df-5gprose',
  'iot',
  'opt-iot',
] as const;

export type ProfileElementName = (typeof PROFILE_ELEMENT_NAMES)[number];

/** The identifier octets of a PE alternative, e.g. 'usim' -> 0xB3, 'df-5gprose' -> 0xBF1F. */
export function profileElementTag(name: ProfileElementName): number {
  return tagValue({ cls: 'context', num: PROFILE_ELEMENT_NAMES.indexOf(name) }, true);
}

/** One ProfileElement of a package. */
export interface ProfileElementTlv {
  /** identifier octets, e.g. 0xA0 for the header */
  readonly tag: number;
  /** CHOICE alternative name; 'unknown' for a context tag beyond this module version (extension) */
  readonly name: ProfileElementName | 'unknown';
  /** the complete PE TLV (a view into the package) */
  readonly raw: Uint8Array;
  /** offset of the PE in the package */
  readonly offset: number;
  /** parsed TLV tree; its offsets are package offsets */
  readonly tlv: Tlv;
}

export interface SplitOptions {
  /** strict DER (minimal tags and lengths, no indefinite length); default true */
  der?: boolean;
}

/** The same TLV tree with every offset moved by `by` (so a PE parsed alone carries package offsets). */
function shiftTlv(tlv: Tlv, by: number): Tlv {
  return { ...tlv, offset: tlv.offset + by, valueOffset: tlv.valueOffset + by, children: tlv.children.map((c) => shiftTlv(c, by)) };
}

function shifted(e: DerError, by: number, index: number): DerError {
  return new DerError(e.kind, `${e.message} (profile element #${index})`, e.offset + by, e.tag, e.path || `ProfileElement[${index}]`);
}

/**
 * Header + contents length of the TLV at `pos` when its header is well formed with a
 * definite length and the TLV fits in `b`; undefined otherwise (indefinite length,
 * truncation, over-long tag or length: the general path handles those).
 */
function definiteTlvLength(b: Uint8Array, pos: number): number | undefined {
  let i = pos;
  const first = b[i++];
  if (first === undefined) return undefined;
  if ((first & 0x1f) === 0x1f) {
    for (let n = 0; ; n++) {
      const x = b[i++];
      if (x === undefined || n >= 4) return undefined;
      if ((x & 0x80) === 0) break;
    }
  }
  const l = b[i++];
  if (l === undefined || l === 0x80) return undefined;
  let length = l;
  if (l > 0x80) {
    const n = l & 0x7f;
    if (n > 4 || i + n > b.length) return undefined;
    length = 0;
    for (let k = 0; k < n; k++) length = length * 256 + b[i++]!;
  }
  const total = i - pos + length;
  return pos + total <= b.length ? total : undefined;
}

/**
 * Split a UPP into its ProfileElements. The elements cover the input exactly;
 * truncation, trailing garbage and non-PE tags are DerError with the package offset.
 */
export function splitProfileElements(upp: Uint8Array, options: SplitOptions = {}): ProfileElementTlv[] {
  const der = options.der ?? true;
  const out: ProfileElementTlv[] = [];
  if (upp.byteLength === 0) throw new DerError('truncated', 'empty profile package', 0);
  let pos = 0;
  while (pos < upp.byteLength) {
    const rest = upp.subarray(pos);
    let tlv: Tlv | undefined;
    // Fast path: a definite-length header says where the PE ends, so it is parsed once.
    // Anything it cannot parse goes through the general path below, which reports it.
    const known = definiteTlvLength(upp, pos);
    if (known !== undefined) {
      try {
        tlv = parseTlv(rest.subarray(0, known), { der });
      } catch (e) {
        if (!(e instanceof DerError)) throw e;
      }
    }
    if (!tlv) {
      try {
        // asn1js reads the first TLV (with its whole subtree) and tells how long it is
        // (berFromBytes: asn1js behind the pre-scan of der.ts, its exceptions as DerError)
        const first = berFromBytes(rest);
        tlv = parseTlv(first.offset === -1 ? rest : rest.subarray(0, first.offset), { der });
      } catch (e) {
        if (e instanceof DerError) throw shifted(e, pos, out.length);
        throw e;
      }
    }
    if (tlv.id.cls !== 'context' || !tlv.constructed)
      throw new DerError('unexpectedTag', `tag ${tagHex(tlv.tag)} is not a ProfileElement (context-specific, constructed)`, pos, tlv.tag, `ProfileElement[${out.length}]`);
    out.push({ tag: tlv.tag, name: PROFILE_ELEMENT_NAMES[tlv.id.num] ?? 'unknown', raw: tlv.raw, offset: pos, tlv: shiftTlv(tlv, pos) });
    pos += tlv.raw.byteLength;
  }
  return out;
}

/** Concatenate ProfileElements back into a UPP. */
export function joinProfileElements(elements: readonly { readonly raw: Uint8Array }[]): Uint8Array {
  return concat(elements.map((e) => e.raw));
}
