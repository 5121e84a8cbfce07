// Regression test for the template split cache of personaliseProfile (the SM-DP+ binds the
// same TS.48 templates over and over): repeated calls give the same packages as a fresh
// split, and a template changed in place by its owner is split again.
import { describe, expect, it } from 'vitest';
import { personaliseProfile } from './personalise.ts';
import { readProfile } from './profile.ts';
import { loadProfile, TS48_PROFILES } from './testdata/ts48.ts';
import { toHex } from '../bytes.ts';
import { iccidLuhn } from '../rsp/iccid.ts';

const iccid = (body: string) => body + String(iccidLuhn(body));

describe('personaliseProfile on a cached template split', () => {
  it('gives byte-identical results to a fresh split, call after call', () => {
    const template = loadProfile(TS48_PROFILES[0]!.file);
    const values = { iccid: iccid('890001234567890123'), imsi: '001010000000042' };
    const fresh = toHex(personaliseProfile(template.slice(), values));
    for (let i = 0; i < 3; i++) expect(toHex(personaliseProfile(template, values))).toBe(fresh);
    const other = personaliseProfile(template, { iccid: iccid('890001234567890124'), imsi: '001010000000043' });
    expect(readProfile(other)).toMatchObject({ iccid: iccid('890001234567890124'), imsi: '001010000000043' });
  });

  it('notices a template changed in place', () => {
    const template = loadProfile(TS48_PROFILES[0]!.file).slice();
    const values = { iccid: iccid('890001234567890123') };
    const before = personaliseProfile(template, values);
    const pe = readProfile(before);
    // change one byte of the header's profileType text in place (same length, still valid)
    const type = Buffer.from(pe.profileType ?? '', 'latin1');
    const at = Buffer.from(template).indexOf(type);
    expect(at).toBeGreaterThan(0);
    template[at] = template[at]! ^ 0x20; // 'G' <-> 'g'
    const after = personaliseProfile(template, values);
    expect(readProfile(after).profileType).not.toBe(pe.profileType);
    expect(toHex(after)).toBe(toHex(personaliseProfile(template.slice(), values)));
  });
});
