// Byte helpers shared by every part of bridgelab. Hex conversion comes from
// @noble/hashes; this module adds the strict parsing the CLI and the AT/vpcd
// layers need (clear errors for odd lengths and non-hex characters).
import { bytesToHex, concatBytes, hexToBytes as nobleHexToBytes } from '@noble/hashes/utils.js';
import { equalBytes } from '@noble/curves/utils.js';

export { bytesToHex, concatBytes, equalBytes };

export class HexError extends Error {
  override readonly name = 'HexError';
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

/** Parse hex (either case, optional whitespace between bytes) with a positioned error. */
export function hexToBytes(hex: string): Uint8Array {
  const clean = hex.replace(/\s+/g, '');
  const bad = /[^0-9a-fA-F]/.exec(clean);
  if (bad) throw new HexError(`invalid hex character '${bad[0]}' at position ${bad.index}`, bad.index);
  if (clean.length % 2) throw new HexError(`odd number of hex digits (${clean.length})`, clean.length);
  return nobleHexToBytes(clean);
}

export const toHex = bytesToHex;
/** Hex written in groups for readability (test vectors, spec examples): whitespace is ignored. */
export function hexToBytesSpaced(hex: string): Uint8Array {
  return hexToBytes(hex.replace(/\s+/g, ''));
}
export function toUpperHex(b: Uint8Array): string {
  return bytesToHex(b).toUpperCase();
}
