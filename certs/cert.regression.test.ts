// Regression tests for what the fuzzer (fuzz/, campaigns `smdp` and `certs`) found in
// certificate parsing. @peculiar/x509 parses extensions and re-serialises names lazily,
// and the reads of `cert.extensions` (smdp seed 20261122 iteration 1030: "Zero buffer
// length") and of `subjectName/issuerName.toArrayBuffer()` (iteration 1284: "Wrong input
// string for conversion") that were not wrapped let plain Errors out of parseCert: the
// SM-DP+ answered ES9+.HandleNotification with HTTP 500, and the eUICC would fail the
// same way on a server certificate in AuthenticateServer. And parseCert accepted a
// Certificate whose outer signatureAlgorithm was not a SEQUENCE (certs seed 1 iteration
// 256: tag B0) or differed from tbsCertificate.signature (seed 20261122 iteration 18130),
// which verifyChain then accepted since that field is not signed.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseTlv, type Tlv } from '../sim/rsp/der.ts';
import { replaceTlv } from '../sim/saip/tlv.ts';
import { CertParseError, parseCert } from './cert.ts';
import { verifyChain } from './chain.ts';
import { sgp26TrustedCis } from './store.ts';

const SGP26 = fileURLToPath(new URL('./sgp26/', import.meta.url));
const SAN_OID = Uint8Array.of(0x06, 0x03, 0x55, 0x1d, 0x11);

function find(t: Tlv, pred: (t: Tlv) => boolean): Tlv | undefined {
  if (pred(t)) return t;
  for (const c of t.children) {
    const f = find(c, pred);
    if (f) return f;
  }
  return undefined;
}

/** The certificate with the extnValue of its SubjectAlternativeName extension emptied (04 00). */
function withEmptySan(der: Uint8Array): Uint8Array {
  const root = parseTlv(der);
  const ext = find(root, (t) => t.tag === 0x30 && t.children[0]?.raw.length === SAN_OID.length && t.children[0].raw.every((b, i) => b === SAN_OID[i]));
  const value = ext?.children.find((c) => c.tag === 0x04);
  if (!value) throw new Error('test certificate without a SubjectAlternativeName extension');
  return replaceTlv(root, value, Uint8Array.of(0x04, 0x00));
}

const dpauthDer = (): Uint8Array => new Uint8Array(readFileSync(SGP26 + 'DPauth/CERT_S_SM_DPauth_ECDSA_NIST.der'));

describe('fuzz regressions: certificate parsing', () => {
  it('a subject attribute value that @peculiar/x509 cannot re-serialise is a CertParseError', () => {
    const der = dpauthDer();
    const root = parseTlv(der);
    const subject = root.children[0]!.children.filter((c) => c.tag === 0x30)[3]!; // version [0], serial, sigAlg, issuer, validity, subject
    const value = find(subject, (t) => t.tag === 0x13 || t.tag === 0x0c);
    if (!value) throw new Error('no string attribute in the subject');
    // the same contents as a UTCTime (tag 17): the Name no longer serialises
    const bad = replaceTlv(root, value, Uint8Array.of(0x17, value.value.length, ...value.value));
    expect(() => parseCert(bad)).toThrow(CertParseError);
    const r = verifyChain(bad, [], { trustedCis: sgp26TrustedCis(), at: new Date('2026-01-01T00:00:00Z'), expectedRole: 'dpauth' });
    expect(r.ok).toBe(false);
  });

  it('a Certificate whose outer signatureAlgorithm differs from tbsCertificate.signature is malformed (certs seed 20261122 iteration 18130)', () => {
    const der = dpauthDer();
    const root = parseTlv(der);
    const alg = root.children[1]!;
    // ecdsa-with-SHA256 with the OID repeated as "parameters": not signed, so the signature still verifies
    const bad = replaceTlv(root, alg, Uint8Array.of(0x30, alg.value.length * 2, ...alg.value, ...alg.value));
    expect(() => parseCert(bad)).toThrow(/differs from tbsCertificate.signature/);
    const r = verifyChain(bad, [], { trustedCis: sgp26TrustedCis(), at: new Date('2026-01-01T00:00:00Z'), expectedRole: 'dpauth' });
    expect(r.ok).toBe(false);
  });

  it('a Certificate whose outer signatureAlgorithm is not a SEQUENCE is malformed', () => {
    const der = dpauthDer();
    const root = parseTlv(der);
    const alg = root.children[1]!;
    const bad = der.slice();
    bad[alg.offset] = 0xb0;
    expect(() => parseCert(bad)).toThrow(/not a Certificate SEQUENCE/);
    const r = verifyChain(bad, [], { trustedCis: sgp26TrustedCis(), at: new Date('2026-01-01T00:00:00Z'), expectedRole: 'dpauth' });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toBe('malformed');
  });

  it('a malformed extension is a CertParseError, and verifyChain reports a malformed certificate', () => {
    const dpauth = new Uint8Array(readFileSync(SGP26 + 'DPauth/CERT_S_SM_DPauth_ECDSA_NIST.der'));
    const bad = withEmptySan(dpauth);
    expect(() => parseCert(bad)).toThrow(CertParseError);
    expect(() => parseCert(bad)).toThrow(/extensions/);
    const r = verifyChain(bad, [], { trustedCis: sgp26TrustedCis(), at: new Date('2026-01-01T00:00:00Z'), expectedRole: 'dpauth' });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toBe('malformed');
    // the unmodified certificate still parses
    expect(parseCert(dpauth).sanRegisteredIds).toEqual(['2.999.10']);
  });
});
