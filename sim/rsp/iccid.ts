// ICCID (Integrated Circuit Card Identifier, ITU-T E.118): digit string <-> the
// 10-byte coding of EF.ICCID (ETSI TS 102 221 13.2), which is also the coding of
// SGP.22 `Iccid ::= [APPLICATION 26] OCTET STRING (SIZE(10))`: BCD with the two
// digits of each byte swapped (first digit in the low nibble), padded with F.
// The last digit of an ICCID is a Luhn (mod 10) check digit over the others.
// (The SAIP ProfileHeader uses plain, unswapped BCD: see sim/saip/header.ts.)

export type IccidErrorReason = 'notDigits' | 'length' | 'badNibble' | 'luhn';

/** A malformed ICCID digit string or EF.ICCID content. */
export class IccidError extends Error {
  override readonly name = 'IccidError';
  constructor(
    readonly reason: IccidErrorReason,
    message: string,
  ) {
    super(message);
  }
}

/** Size of EF.ICCID and of the SGP.22 Iccid type. */
export const ICCID_BYTES = 10;

function checkDigits(digits: string, what: string): void {
  if (!/^\d*$/.test(digits)) throw new IccidError('notDigits', `${what} must contain only decimal digits`);
}

/**
 * Encode an ICCID as EF.ICCID: nibble-swapped BCD, padded with F to 10 bytes.
 * `iccidToBytes('8900012345678901234')` -> 98 00 10 32 54 76 98 10 32 F4.
 * Accepts 1..20 digits (E.118 ICCIDs are 19 or 20 digits; see isValidIccid).
 */
export function iccidToBytes(iccid: string): Uint8Array {
  checkDigits(iccid, 'ICCID');
  if (iccid.length < 1 || iccid.length > ICCID_BYTES * 2)
    throw new IccidError('length', `ICCID must have 1..${ICCID_BYTES * 2} digits, got ${iccid.length}`);
  const padded = iccid.padEnd(ICCID_BYTES * 2, 'F');
  const out = new Uint8Array(ICCID_BYTES);
  for (let i = 0; i < ICCID_BYTES; i++) {
    const first = parseInt(padded[2 * i]!, 16);
    const second = parseInt(padded[2 * i + 1]!, 16);
    out[i] = (second << 4) | first;
  }
  return out;
}

/**
 * Decode EF.ICCID / SGP.22 Iccid bytes into the digit string, without the F padding.
 * F is only accepted as trailing padding; A-E nibbles are rejected.
 */
export function iccidFromBytes(bytes: Uint8Array): string {
  if (bytes.byteLength < 1 || bytes.byteLength > ICCID_BYTES)
    throw new IccidError('length', `ICCID coding must be 1..${ICCID_BYTES} bytes, got ${bytes.byteLength}`);
  const nibbles: number[] = [];
  for (const b of bytes) nibbles.push(b & 0x0f, b >> 4);
  let end = nibbles.length;
  while (end > 0 && nibbles[end - 1] === 0xf) end--;
  if (end === 0) throw new IccidError('length', 'ICCID coding holds no digits (all F)');
  let out = '';
  for (let i = 0; i < end; i++) {
    const n = nibbles[i]!;
    if (n > 9) throw new IccidError('badNibble', `ICCID nibble ${i} is ${n.toString(16).toUpperCase()}, not a digit`);
    out += String(n);
  }
  return out;
}

/** Luhn check digit over the given digits (the ICCID without its last digit). */
export function iccidLuhn(digitsWithoutCheck: string): number {
  checkDigits(digitsWithoutCheck, 'ICCID');
  if (digitsWithoutCheck.length === 0) throw new IccidError('length', 'no digits to compute a Luhn check digit over');
  let sum = 0;
  // double every second digit counting from the right, starting with the rightmost
  for (let i = digitsWithoutCheck.length - 1, double = true; i >= 0; i--, double = !double) {
    let d = digitsWithoutCheck.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return (10 - (sum % 10)) % 10;
}

/** True for a 19 or 20 digit ICCID whose last digit is its correct Luhn check digit. */
export function isValidIccid(iccid: string): boolean {
  if (!/^\d{19,20}$/.test(iccid)) return false;
  return iccidLuhn(iccid.slice(0, -1)) === Number(iccid.slice(-1));
}

/** Throwing form of isValidIccid, naming what is wrong. */
export function assertValidIccid(iccid: string): void {
  checkDigits(iccid, 'ICCID');
  if (iccid.length < 19 || iccid.length > 20) throw new IccidError('length', `ICCID must have 19 or 20 digits, got ${iccid.length}`);
  const expected = iccidLuhn(iccid.slice(0, -1));
  if (expected !== Number(iccid.slice(-1)))
    throw new IccidError('luhn', `ICCID check digit is ${iccid.slice(-1)}, Luhn requires ${expected}`);
}
