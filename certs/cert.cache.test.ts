// Regression test for the parse cache of parseCert (certs/cert.ts): repeated parses of the
// same DER give equal results, every caller gets its own copy (changing one result or the
// input bytes never shows in another), and bad certificates are still refused every time.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CertParseError, parseCert } from './cert.ts';

const EUICC = fileURLToPath(new URL('./sgp26/eUICC/CERT_EUICC_ECDSA_NIST.der', import.meta.url));

describe('parseCert cache', () => {
  it('returns equal, independent results for the same certificate', () => {
    const der = new Uint8Array(readFileSync(EUICC));
    const a = parseCert(der);
    const b = parseCert(der);
    expect(b).toEqual(a);
    expect(b).not.toBe(a);
    expect(b.der).not.toBe(a.der);
    a.policies.push('1.2.3');
    a.publicKey[1]! ^= 0xff;
    a.der[0] = 0;
    const c = parseCert(der);
    expect(c.policies).toEqual(b.policies);
    expect(c.publicKey).toEqual(b.publicKey);
    expect(c.der[0]).toBe(0x30);
    expect(c.notAfter).toBeInstanceOf(Date);
    expect(c.eid).toBe('89049032123451234512345678901235');
  });

  it('keys on the bytes: a changed input is parsed again (and refused when broken)', () => {
    const der = new Uint8Array(readFileSync(EUICC));
    parseCert(der);
    const broken = der.slice(0, der.length - 10);
    expect(() => parseCert(broken)).toThrow(CertParseError);
    expect(() => parseCert(broken)).toThrow(CertParseError);
  });
});
