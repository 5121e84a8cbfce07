// Test helper: hand-made DER in hex.

/** Hex TLV with a short-form length (values up to 127 bytes). */
export function tlv(tag: string, value: string | readonly string[]): string {
  const v = typeof value === 'string' ? value : value.join('');
  if (v.length / 2 > 127) throw new RangeError('tlv(): short-form lengths only');
  return tag + (v.length / 2).toString(16).padStart(2, '0') + v;
}
