// EF.IMSI content (3GPP TS 31.102 section 4.2.2, coding of 3GPP TS 24.008 10.5.1.4):
// byte 1 = number of following bytes used (L); byte 2 = first digit in the high
// nibble, low nibble 1001 (odd number of digits) or 0001 (even: the last high
// nibble is then F); then two digits a byte, low nibble first. The 9-byte file is
// filled with FF after the L bytes. Example: 001010123456063 -> 08 09 10 10 10 32 54 06 36.
import { toHex } from '../bytes.ts';
import { PE_STATUS, SaipError } from './errors.ts';

export const EF_IMSI_SIZE = 9;

/** Validate an IMSI digit string (6..15 digits). */
export function assertValidImsi(imsi: string): void {
  if (!/^\d+$/.test(imsi)) throw new SaipError('invalidInput', 'IMSI must contain only decimal digits', { field: 'imsi' });
  if (imsi.length < 6 || imsi.length > 15)
    throw new SaipError('invalidInput', `IMSI must have 6..15 digits, got ${imsi.length}`, { field: 'imsi' });
}

/** Encode an IMSI as EF.IMSI content of `size` bytes (default 9), FF-padded. */
export function encodeEfImsi(imsi: string, size = EF_IMSI_SIZE): Uint8Array {
  assertValidImsi(imsi);
  const odd = imsi.length % 2 === 1;
  const nibbles = [odd ? 0x9 : 0x1, ...Array.from(imsi, (c) => c.charCodeAt(0) - 48)];
  if (nibbles.length % 2) nibbles.push(0xf);
  const used = nibbles.length / 2;
  if (size < used + 1) throw new SaipError('invalidInput', `IMSI needs ${used + 1} bytes, EF.IMSI content has ${size}`, { field: 'imsi' });
  const out = new Uint8Array(size).fill(0xff);
  out[0] = used;
  for (let i = 0; i < used; i++) out[1 + i] = nibbles[2 * i]! | (nibbles[2 * i + 1]! << 4);
  return out;
}

/** Decode EF.IMSI content; undefined when the file is unset (first byte FF or 00). */
export function decodeEfImsi(content: Uint8Array): string | undefined {
  const bad = (why: string) =>
    new SaipError('invalidContent', `EF.IMSI ${toHex(content)}: ${why}`, { peStatus: PE_STATUS.badValues });
  if (content.byteLength === 0) return undefined;
  const used = content[0]!;
  if (used === 0xff || used === 0) return undefined;
  if (used > 8 || used + 1 > content.byteLength) throw bad(`length byte ${used} exceeds the content`);
  const first = content[1]!;
  if ((first & 0x07) !== 0x01) throw bad(`identity type ${first & 0x07} is not IMSI (1)`);
  const odd = (first & 0x08) !== 0;
  const nibbles: number[] = [first >> 4];
  for (let i = 2; i <= used; i++) nibbles.push(content[i]! & 0x0f, content[i]! >> 4);
  if (!odd) {
    if (nibbles[nibbles.length - 1] !== 0xf) throw bad('even parity but the last nibble is not F');
    nibbles.pop();
  }
  if (nibbles.some((n) => n > 9)) throw bad('non-decimal digit');
  return nibbles.join('');
}
