// Regression tests for crashes the fuzzer (fuzz/, campaign `saip`) found in
// splitProfileElements: asn1js exceptions on malformed universal types and nesting bombs
// escaped as RangeError/Error instead of a DerError with the package offset.
import { describe, expect, it } from 'vitest';
import { DerError } from '../rsp/der.ts';
import { splitProfileElements } from './package.ts';
import { readProfile } from './profile.ts';
import { loadProfile, TS48_PROFILES } from './testdata/ts48.ts';

function derErrorOf(fn: () => unknown): DerError {
  try {
    fn();
  } catch (e) {
    if (e instanceof DerError) return e;
    throw e;
  }
  throw new Error('expected a DerError, nothing was thrown');
}

const upp = loadProfile(TS48_PROFILES[0]!.file);
const withPe = (pe: number[]): Uint8Array => Uint8Array.of(...upp, ...pe);

describe('fuzz regressions: splitProfileElements', () => {
  it('a PE holding a malformed BMPString is a DerError at the PE offset (fuzz saip seed 1 iteration 681)', () => {
    // cdmaParameter-tagged PE A5 { 1E 01 41 }: BMPString of an odd length (asn1js threw RangeError)
    const bad = withPe([0xa5, 0x03, 0x1e, 0x01, 0x41]);
    const e = derErrorOf(() => splitProfileElements(bad));
    expect(e.kind).toBe('invalidValue');
    expect(e.offset).toBe(upp.byteLength);
    expect(derErrorOf(() => readProfile(bad)).kind).toBe('invalidValue');
  });

  it('UniversalString and GeneralizedTime contents asn1js cannot convert are DerError (iterations 1158, 1204)', () => {
    expect(derErrorOf(() => splitProfileElements(withPe([0xa5, 0x05, 0x1c, 0x03, 0x41, 0x42, 0x43]))).kind).toBe('invalidValue');
    expect(derErrorOf(() => splitProfileElements(withPe([0xa5, 0x05, 0x18, 0x03, 0x41, 0x42, 0x43]))).kind).toBe('invalidValue');
  });

  it('a nesting bomb inside a PE is a DerError, not a stack overflow', () => {
    let pe: number[] = [0x05, 0x00];
    for (let i = 0; i < 3000; i++) {
      const l = pe.length;
      pe = [0xa5, ...(l < 0x80 ? [l] : l < 0x100 ? [0x81, l] : [0x82, l >> 8, l & 0xff]), ...pe];
    }
    const e = derErrorOf(() => splitProfileElements(withPe(pe)));
    expect(e.message).toMatch(/nest deeper/);
    expect(e.offset).toBeGreaterThanOrEqual(upp.byteLength);
  });

  it('still splits the TS.48 packages', () => {
    for (const p of TS48_PROFILES) expect(splitProfileElements(loadProfile(p.file))).toHaveLength(p.elementCount);
  });
});
