import { describe, it, expect } from 'vitest';
import { listCerts, loadCert, loadKeyPair, sgp26TrustedCis, certsOfRole, findBySubjectKeyId, isStoreName, StoreError, STORE_NAMES } from './store.ts';
import { sign, verify } from '../sim/crypto/ecdsa.ts';
import { toHex } from '../sim/bytes.ts';

describe('SGP.26 certificate store', () => {
  it('lists every certificate by name with role, curve and key ids', () => {
    const entries = listCerts();
    expect(entries.map((e) => e.name)).toEqual([
      'CI_NIST', 'CI_BRP', 'EUM_NIST', 'EUM_BRP', 'EUICC_NIST', 'EUICC_BRP',
      'DPauth_NIST', 'DPauth_BRP', 'DP2auth_NIST', 'DP2auth_BRP',
      'DPpb_NIST', 'DPpb_BRP', 'DP2pb_NIST', 'DP2pb_BRP',
      'DPtls_NIST', 'DPtls_BRP', 'DP2_TLS', 'DP4_TLS', 'DP8_TLS',
    ]);
    const byName = Object.fromEntries(entries.map((e) => [e.name, e]));
    expect(byName.CI_NIST).toMatchObject({ role: 'CI', curve: 'P-256', subjectKeyId: 'f54172bdf98a95d65cbeb88a38a1c11d800a85c3' });
    expect(byName.CI_NIST!.authorityKeyId).toBeUndefined();
    expect(byName.EUM_BRP).toMatchObject({ role: 'EUM', curve: 'brainpoolP256r1', authorityKeyId: 'c0bc70ba36929d43b467ff57570530e57ab8fcd8' });
    expect(byName.DPtls_NIST).toMatchObject({ role: 'DPtls', certFile: 'DPtls/CERT_S_SM_DP_VARO_TLS_NIST.der', keyFile: 'DPtls/SK_S_SM_DP_TLS_NIST.pem' });
    expect(byName.DP2auth_NIST).toMatchObject({ role: 'DPauth', subject: 'O=ACME, CN=TEST SM-DP\\+2' });
    for (const e of entries) {
      expect(e.subjectKeyId).toMatch(/^[0-9a-f]{40}$/);
      expect(e.certDer[0]).toBe(0x30);
      if (e.role !== 'CI') expect(e.authorityKeyId).toMatch(/^[0-9a-f]{40}$/);
    }
  });

  it.each(STORE_NAMES)('%s has a private key matching its certificate', (name) => {
    const key = loadKeyPair(name);
    const cert = loadCert(name);
    expect(key.curve).toBe(cert.curve);
    expect(toHex(key.publicKey)).toBe(toHex(cert.publicKey));
    const sig = sign(key.curve, key.privateKey, new Uint8Array([1, 2, 3]));
    expect(verify(cert.curve, cert.publicKey, new Uint8Array([1, 2, 3]), sig)).toBe(true);
  });

  it('rejects unknown names with StoreError', () => {
    expect(isStoreName('CI_NIST')).toBe(true);
    expect(isStoreName('toString')).toBe(false);
    expect(() => loadCert('CI_P384')).toThrow(StoreError);
    expect(() => loadKeyPair('nope')).toThrow(/unknown certificate 'nope'/);
  });

  it('gives the two CIs as trust anchors, the EUMs by role, and finds by key id', () => {
    expect(sgp26TrustedCis().map((t) => [t.keyId, t.curve])).toEqual([
      ['f54172bdf98a95d65cbeb88a38a1c11d800a85c3', 'P-256'],
      ['c0bc70ba36929d43b467ff57570530e57ab8fcd8', 'brainpoolP256r1'],
    ]);
    expect(certsOfRole('EUM').map((c) => c.subjectKeyId)).toEqual(['dd3da24d350c1cc5d0af0965f40ec34c5ee409f1', '6fa1e5217363a822bded988a1a0d0ff5d7620db7']);
    expect(findBySubjectKeyId('DD3DA24D350C1CC5D0AF0965F40EC34C5EE409F1')?.name).toBe('EUM_NIST');
    expect(findBySubjectKeyId('00')).toBeUndefined();
  });
});
