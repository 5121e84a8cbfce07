// EID (eUICC identifier, SGP.02/SGP.22 and GSMA SGP.29): 32 decimal digits whose
// last two are check digits computed with ISO/IEC 7064 MOD 97-10 over the whole
// number, as for IBAN: the EID is valid when the 32-digit number mod 97 == 1.
// The check digits are 98 - (first30 * 100 mod 97).

export type EidErrorReason = 'notDigits' | 'length';

/** A malformed EID digit string. */
export class EidError extends Error {
  override readonly name = 'EidError';
  constructor(
    readonly reason: EidErrorReason,
    message: string,
  ) {
    super(message);
  }
}

export const EID_DIGITS = 32;

/** Remainder of a long decimal string mod 97, digit by digit (no precision loss). */
function mod97(digits: string): number {
  let r = 0;
  for (let i = 0; i < digits.length; i++) r = (r * 10 + (digits.charCodeAt(i) - 48)) % 97;
  return r;
}

function checkDigits(s: string, lengths: readonly number[]): void {
  if (!/^\d*$/.test(s)) throw new EidError('notDigits', 'EID must contain only decimal digits');
  if (!lengths.includes(s.length)) throw new EidError('length', `EID must have ${lengths.join(' or ')} digits, got ${s.length}`);
}

/** The two check digits ("00".."98") for the first 30 digits of an EID. */
export function eidChecksum(first30digits: string): string {
  checkDigits(first30digits, [30]);
  const check = 98 - mod97(first30digits + '00');
  return String(check).padStart(2, '0');
}

/**
 * Complete an EID: 30 digits, or 32 digits whose last two (usually the "00"
 * placeholder) are replaced by the computed check digits.
 */
export function completeEid(eidWithPlaceholder00: string): string {
  checkDigits(eidWithPlaceholder00, [30, 32]);
  const head = eidWithPlaceholder00.slice(0, 30);
  return head + eidChecksum(head);
}

/** True for 32 decimal digits forming a number that is 1 mod 97. Never throws. */
export function isValidEid(eid: string): boolean {
  return /^\d{32}$/.test(eid) && mod97(eid) === 1;
}
