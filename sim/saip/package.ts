// SAIP Unprotected Profile Package (SIMalliance/TCA "eUICC Profile Package:
// Interoperable Format Technical Specification" v2.x, as used by GSMA TS.48):
// a plain concatenation of DER ProfileElement TLVs. ProfileElement is an
// AUTOMATIC TAGS CHOICE, so each PE's tag is [n] constructed, n being the
// alternative's position (header [0] A0, mf [16] B0, usim [19] B3, end [10] AA,
// ...; PROFILE_ELEMENT_NAMES below). This module splits and joins packages.
import * as asn1js from 'asn1js';
import { concat, DerError, parseTlv, tagHex, tagValue, type Tlv } from '../rsp/der.ts';

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
    // asn1js reads the first TLV (with its whole subtree) and tells how long it is
    const first = asn1js.fromBER(rest);
    let tlv: Tlv;
    try {
      tlv = parseTlv(first.offset === -1 ? rest : rest.subarray(0, first.offset), { der });
    } catch (e) {
      if (e instanceof DerError) throw shifted(e, pos, out.length);
      throw e;
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
