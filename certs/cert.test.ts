import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseCert, formatName, certificatePem, CertParseError, RSP_POLICY } from './cert.ts';
import { toHex } from '../sim/bytes.ts';

const SGP26 = fileURLToPath(new URL('./sgp26/', import.meta.url));
const load = (f: string) => parseCert(readFileSync(SGP26 + f));

describe('parseCert on the SGP.26 certificates (facts of the SGP.26 PKI)', () => {
  it('CI: subject, self-issued, policy .1.0, SKI f54172bd..., CA, valid 2020-2055', () => {
    const ci = load('CertificateIssuer/CERT_CI_ECDSA_NIST.der');
    expect(ci.subject).toBe('CN=Test CI, OU=TESTCERT, O=RSPTEST, C=IT');
    expect(ci.issuer).toBe(ci.subject);
    expect(ci.subjectKeyId).toBe('f54172bdf98a95d65cbeb88a38a1c11d800a85c3');
    expect(ci.authorityKeyId).toBeUndefined();
    expect(ci.policies).toEqual([RSP_POLICY.CI]);
    expect(ci.role).toBe('CI');
    expect(ci.basicConstraints).toEqual({ ca: true, critical: true });
    expect(ci.keyUsage).toEqual(['keyCertSign', 'cRLSign']);
    expect(ci.sanRegisteredIds).toEqual(['2.999.1']);
    expect(ci.notBefore.getUTCFullYear()).toBe(2020);
    expect(ci.notAfter.getUTCFullYear()).toBe(2055);
    expect(ci.curve).toBe('P-256');
    expect(ci.signatureAlgorithm).toBe('1.2.840.10045.4.3.2');
  });

  it('CI brainpool: same DN, its own key id', () => {
    const ci = load('CertificateIssuer/CERT_CI_ECDSA_BRP.der');
    expect(ci.subject).toBe('CN=Test CI, OU=TESTCERT, O=RSPTEST, C=IT');
    expect(ci.subjectKeyId).toBe('c0bc70ba36929d43b467ff57570530e57ab8fcd8');
    expect(ci.curve).toBe('brainpoolP256r1');
  });

  it('EUM: subject, policy .1.2, pathLen 0, critical name constraint O=RSP Test EUM, serialNumber=89049032', () => {
    const eum = load('EUM/CERT_EUM_ECDSA_NIST.der');
    expect(eum.subject).toBe('C=ES, O=RSP Test EUM, CN=EUM Test');
    expect(eum.issuer).toBe('CN=Test CI, OU=TESTCERT, O=RSPTEST, C=IT');
    expect(eum.authorityKeyId).toBe('f54172bdf98a95d65cbeb88a38a1c11d800a85c3');
    expect(eum.subjectKeyId).toBe('dd3da24d350c1cc5d0af0965f40ec34c5ee409f1');
    expect(eum.policies).toEqual([RSP_POLICY.EUM]);
    expect(eum.basicConstraints).toEqual({ ca: true, pathLength: 0, critical: true });
    expect(eum.keyUsage).toEqual(['keyCertSign']);
    expect(eum.eidPrefix).toBe('89049032');
    expect(eum.nameConstraintOrganization).toBe('RSP Test EUM');
    expect(eum.extensions.find((e) => e.oid === '2.5.29.30')).toEqual({ oid: '2.5.29.30', critical: true });
  });

  it('eUICC: EID from serialNumber, policy .1.1, valid until 7496, AKI = EUM SKI', () => {
    for (const f of ['eUICC/CERT_EUICC_ECDSA_NIST.der', 'eUICC/CERT_EUICC_ECDSA_BRP.der']) {
      const e = load(f);
      expect(e.subject).toBe('C=ES, O=RSP Test EUM, serialNumber=89049032123451234512345678901235, CN=Test eUICC');
      expect(e.eid).toBe('89049032123451234512345678901235');
      expect(e.subjectSerialNumber).toBe(e.eid);
      expect(e.policies).toEqual([RSP_POLICY.EUICC]);
      expect(e.role).toBe('EUICC');
      expect(e.keyUsage).toEqual(['digitalSignature']);
      expect(e.notAfter.getUTCFullYear()).toBe(7496);
      expect(e.basicConstraints).toBeUndefined();
      expect(e.serialNumber).toBe('020000000000000001');
    }
    expect(load('eUICC/CERT_EUICC_ECDSA_NIST.der').authorityKeyId).toBe('dd3da24d350c1cc5d0af0965f40ec34c5ee409f1');
  });

  it("DPauth: 'CN=TEST SM-DP+' with the plus escaped, SAN registeredID 2.999.10, policy .1.4", () => {
    const dp = load('DPauth/CERT_S_SM_DPauth_ECDSA_NIST.der');
    expect(dp.subject).toBe('O=ACME, CN=TEST SM-DP\\+');
    expect(dp.subjectAttributes).toEqual([
      { oid: '2.5.4.10', type: 'O', value: 'ACME' },
      { oid: '2.5.4.3', type: 'CN', value: 'TEST SM-DP+' },
    ]);
    expect(dp.sanRegisteredIds).toEqual(['2.999.10']);
    expect(dp.policies).toEqual([RSP_POLICY.DPauth]);
    expect(dp.role).toBe('DPauth');
    expect(dp.eid).toBeUndefined();
  });

  it('DP2auth / DP2pb: second server, RID 2.999.12', () => {
    expect(load('DPauth/CERT_S_SM_DP2auth_ECDSA_BRP.der').sanRegisteredIds).toEqual(['2.999.12']);
    const pb = load('DPpb/CERT_S_SM_DP2pb_ECDSA_NIST.der');
    expect(pb.sanRegisteredIds).toEqual(['2.999.12']);
    expect(pb.policies).toEqual([RSP_POLICY.DPpb]);
  });

  it('DPtls VARO: host name, EKU serverAuth + clientAuth, policy .1.3, valid 2026-07-21..2027-02-06', () => {
    const tls = load('DPtls/CERT_S_SM_DP_VARO_TLS_NIST.der');
    expect(tls.subject).toBe('O=ACME, CN=testsmdpplus1.example.com');
    expect(tls.sanDnsNames).toEqual(['testsmdpplus1.example.com']);
    expect(tls.sanRegisteredIds).toEqual(['2.999.10']);
    expect(tls.extendedKeyUsage).toEqual(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    expect(tls.policies).toEqual([RSP_POLICY.DPtls]);
    expect(tls.notBefore.toISOString()).toBe('2026-07-21T13:39:07.000Z');
    expect(tls.notAfter.toISOString()).toBe('2027-02-06T13:39:07.000Z');
  });

  it('exposes the TBS the signature covers and the signature as r||s', () => {
    const c = load('DPpb/CERT_S_SM_DPpb_ECDSA_NIST.der');
    expect(c.tbs[0]).toBe(0x30);
    expect(toHex(c.der)).toContain(toHex(c.tbs));
    expect(c.signatureRaw).toHaveLength(64);
  });

  it('parses PEM like DER', () => {
    const der = readFileSync(SGP26 + 'CertificateIssuer/CERT_CI_ECDSA_BRP.der');
    const pem = readFileSync(SGP26 + 'CertificateIssuer/CERT_CI_ECDSA_BRP.pem', 'utf8');
    expect(toHex(parseCert(pem).der)).toBe(toHex(der));
    expect(certificatePem(new Uint8Array(der))).toBe(pem.replace(/\r\n/g, '\n'));
  });
});

describe('parseCert errors', () => {
  it('throws CertParseError for garbage, truncation and trailing bytes', () => {
    const der = new Uint8Array(readFileSync(SGP26 + 'EUM/CERT_EUM_ECDSA_NIST.der'));
    expect(() => parseCert(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01]))).toThrow(CertParseError);
    expect(() => parseCert(der.subarray(0, der.length - 5))).toThrow(CertParseError);
    expect(() => parseCert(new Uint8Array([...der, 0]))).toThrow(/trailing/);
    expect(() => parseCert('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n')).toThrow(/no CERTIFICATE block/);
  });
});

describe('formatName', () => {
  it('escapes RFC 4514 specials', () => {
    const dp = load('DPauth/CERT_S_SM_DP2auth_ECDSA_NIST.der');
    expect(formatName(dp.subjectDer)).toBe('O=ACME, CN=TEST SM-DP\\+2');
  });
});
