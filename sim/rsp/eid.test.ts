import { describe, expect, it } from 'vitest';
import { completeEid, eidChecksum, EidError, isValidEid } from './eid.ts';

// eidChecksum vectors from /work/shared/vectors/rsp-crypto.json (pySim unit tests),
// copied here so this test does not depend on files outside the repository.
const vectors = {
  valid: ['89049032123451234512345678901235', '89086030202200000022000023022943', '89044045116727494800000004479366'],
  invalid: ['89049032123451234512345678901234'],
  compute: [
    ['89049032123451234512345678901200', '89049032123451234512345678901235'],
    ['89086030202200000022000023022900', '89086030202200000022000023022943'],
    ['890490321234512345123456789012', '89049032123451234512345678901235'],
  ],
} as const;

describe('EID check digits (ISO 7064 MOD 97-10)', () => {
  it.each(vectors.valid)('accepts valid EID %s', (eid) => {
    expect(isValidEid(eid)).toBe(true);
    expect(eidChecksum(eid.slice(0, 30))).toBe(eid.slice(30));
  });

  it.each(vectors.invalid)('rejects invalid EID %s', (eid) => {
    expect(isValidEid(eid)).toBe(false);
  });

  it.each(vectors.compute)('completes %s', (input, expected) => {
    expect(completeEid(input)).toBe(expected);
    expect(isValidEid(completeEid(input))).toBe(true);
  });

  it('pads single-digit check values to two digits', () => {
    // search a prefix whose check value is below 10 and check the padding
    let found = '';
    for (let i = 0; i < 200 && !found; i++) {
      const head = '890490321234512345123456789' + String(i).padStart(3, '0');
      if (Number(eidChecksum(head)) < 10) found = head;
    }
    expect(found).not.toBe('');
    const cs = eidChecksum(found);
    expect(cs).toMatch(/^0\d$/);
    expect(isValidEid(found + cs)).toBe(true);
  });

  it('rejects malformed input with typed errors, isValidEid never throws', () => {
    const err = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        if (e instanceof EidError) return e.reason;
        throw e;
      }
      throw new Error('no EidError');
    };
    expect(err(() => eidChecksum('8904903212345123451234567890'))).toBe('length');
    expect(err(() => eidChecksum('89049032123451234512345678901A'))).toBe('notDigits');
    expect(err(() => completeEid('8904903212345123451234567890123'))).toBe('length');
    expect(isValidEid('8904903212345123451234567890123')).toBe(false);
    expect(isValidEid('8904903212345123451234567890123X')).toBe(false);
    expect(isValidEid('')).toBe(false);
  });
});
