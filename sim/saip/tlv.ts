// TLV rebuilding for SAIP packages (ITU-T X.690 DER): replace one TLV deep inside
// a parsed tree and re-encode every enclosing TLV with its new definite length.
// Used by personalisation (sim/saip/personalise.ts) so that any PE content this
// code does not model (later SAIP versions, proprietary fields) is kept byte for
// byte. Identifiers and lengths are written by asn1js.
import { concat, encodeTlv, type Tlv } from '../rsp/der.ts';

export { encodeTlv };

function contains(outer: Tlv, inner: Tlv): boolean {
  return inner.offset >= outer.offset && inner.offset + inner.raw.byteLength <= outer.offset + outer.raw.byteLength;
}

/**
 * The encoding of `root` with the descendant `target` (a node of the same parsed
 * tree) replaced by the complete TLV `replacement`.
 */
export function replaceTlv(root: Tlv, target: Tlv, replacement: Uint8Array): Uint8Array {
  if (root === target) return replacement;
  if (!root.constructed || !contains(root, target)) return root.raw;
  const parts = root.children.map((c) => (contains(c, target) ? replaceTlv(c, target, replacement) : c.raw));
  return encodeTlv(root.id, true, concat(parts));
}

/** Direct child with the given identifier value (e.g. 0xA4), or undefined. */
export function childWithTag(tlv: Tlv, tag: number): Tlv | undefined {
  return tlv.children.find((c) => c.tag === tag);
}
