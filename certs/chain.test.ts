import { describe, it, expect } from 'vitest';
import { verifyChain, es9StatusForEuiccChain, authenticateServerErrorFor, trustedCiFromCert, type ChainRole, type ChainFailureResult } from './chain.ts';
import { loadCert, sgp26TrustedCis, type StoreName } from './store.ts';
import { issueInvalid, issueEuicc, issueDpAuth, randomEid, INVALID_VARIANTS, VARIANT_REASON, generateRogueCi } from './issue.ts';
import { certsOfRole } from './store.ts';

const trustedCis = sgp26TrustedCis();
/** Inside the validity of every SGP.26 certificate except the 2024 DPtls ones. */
const AT = new Date('2026-08-01T00:00:00Z');
const EUMS = certsOfRole('EUM').map((c) => c.der);

function check(name: StoreName, role: ChainRole, at: Date | null = AT) {
  return verifyChain(loadCert(name).der, role === 'euicc' ? EUMS : [], { trustedCis, at, expectedRole: role });
}

function failure(r: ReturnType<typeof verifyChain>): ChainFailureResult {
  if (r.ok) throw new Error('expected a failure, chain was accepted');
  return r;
}

describe('valid SGP.26 chains', () => {
  const valid: [StoreName, ChainRole, string][] = [
    ['EUICC_NIST', 'euicc', 'f54172bdf98a95d65cbeb88a38a1c11d800a85c3'],
    ['EUICC_BRP', 'euicc', 'c0bc70ba36929d43b467ff57570530e57ab8fcd8'],
    ['EUM_NIST', 'eum', 'f54172bdf98a95d65cbeb88a38a1c11d800a85c3'],
    ['EUM_BRP', 'eum', 'c0bc70ba36929d43b467ff57570530e57ab8fcd8'],
    ['DPauth_NIST', 'dpauth', 'f54172bdf98a95d65cbeb88a38a1c11d800a85c3'],
    ['DPauth_BRP', 'dpauth', 'c0bc70ba36929d43b467ff57570530e57ab8fcd8'],
    ['DP2auth_NIST', 'dpauth', 'f54172bdf98a95d65cbeb88a38a1c11d800a85c3'],
    ['DP2auth_BRP', 'dpauth', 'c0bc70ba36929d43b467ff57570530e57ab8fcd8'],
    ['DPpb_NIST', 'dppb', 'f54172bdf98a95d65cbeb88a38a1c11d800a85c3'],
    ['DPpb_BRP', 'dppb', 'c0bc70ba36929d43b467ff57570530e57ab8fcd8'],
    ['DP2pb_NIST', 'dppb', 'f54172bdf98a95d65cbeb88a38a1c11d800a85c3'],
    ['DP2pb_BRP', 'dppb', 'c0bc70ba36929d43b467ff57570530e57ab8fcd8'],
    ['DPtls_NIST', 'dptls', 'f54172bdf98a95d65cbeb88a38a1c11d800a85c3'],
    ['DPtls_BRP', 'dptls', 'c0bc70ba36929d43b467ff57570530e57ab8fcd8'],
  ];
  it.each(valid)('%s is a valid %s chain to CI %s', (name, role, ciKeyId) => {
    const r = check(name, role);
    expect(r).toMatchObject({ ok: true, ciKeyId });
    if (r.ok) expect(r.chain.map((c) => c.subjectKeyId)).toEqual(role === 'euicc' ? [loadCert(name).subjectKeyId, loadCert(name).authorityKeyId] : [loadCert(name).subjectKeyId]);
  });

  it('accepts the SGP.26 eUICC certificate far in the future (valid until 7496)', () => {
    expect(check('EUICC_NIST', 'euicc', new Date('2050-01-01')).ok).toBe(true);
  });

  it('picks the EUM by AKI among several candidates and works with bare CI keys', () => {
    const bare = trustedCis.map(({ keyId, curve, publicKey }) => ({ keyId, curve, publicKey }));
    const r = verifyChain(loadCert('EUICC_BRP').der, [...EUMS].reverse(), { trustedCis: bare, at: AT, expectedRole: 'euicc' });
    expect(r.ok).toBe(true);
  });

  it('accepts CI certificates as DER trust anchors', () => {
    const r = verifyChain(loadCert('DPauth_NIST').der, [], { trustedCis: [loadCert('CI_NIST').der], at: AT, expectedRole: 'dpauth' });
    expect(r).toMatchObject({ ok: true, ciKeyId: 'f54172bdf98a95d65cbeb88a38a1c11d800a85c3' });
  });
});

describe('SGP.26 certificates that must be rejected', () => {
  it('old DPtls certificates have expired', () => {
    for (const name of ['DP2_TLS', 'DP4_TLS', 'DP8_TLS'] as const) expect(failure(check(name, 'dptls')).reason).toBe('expired');
  });

  it('the VARO DPtls is not valid before 2026-07-21', () => {
    expect(failure(check('DPtls_NIST', 'dptls', new Date('2026-01-01'))).reason).toBe('notYetValid');
    expect(check('DPtls_NIST', 'dptls', null).ok).toBe(true); // no clock: validity not checked
  });

  it('wrong role gives wrongPolicy', () => {
    expect(failure(check('DPauth_NIST', 'dppb'))).toMatchObject({ reason: 'wrongPolicy', position: 'leaf' });
    expect(failure(check('DPpb_NIST', 'dpauth')).reason).toBe('wrongPolicy');
    expect(failure(check('EUICC_NIST', 'dpauth')).reason).toBe('wrongPolicy');
    expect(failure(check('CI_NIST', 'eum')).reason).toBe('wrongPolicy');
  });

  it('eUICC without its EUM gives missingIntermediate', () => {
    const r = verifyChain(loadCert('EUICC_NIST').der, [loadCert('EUM_BRP').der], { trustedCis, at: AT, expectedRole: 'euicc' });
    expect(failure(r)).toMatchObject({ reason: 'missingIntermediate', position: 'eum' });
  });

  it('an untrusted CI gives unknownCi', () => {
    const onlyBrp = [trustedCiFromCert(loadCert('CI_BRP').der)];
    expect(failure(verifyChain(loadCert('DPauth_NIST').der, [], { trustedCis: onlyBrp, at: AT, expectedRole: 'dpauth' })).reason).toBe('unknownCi');
    expect(failure(verifyChain(loadCert('EUICC_NIST').der, EUMS, { trustedCis: onlyBrp, at: AT, expectedRole: 'euicc' }))).toMatchObject({ reason: 'unknownCi', position: 'eum' });
  });

  it('garbage gives malformed', () => {
    expect(failure(verifyChain(new Uint8Array([0x30, 0x00]), [], { trustedCis, at: AT, expectedRole: 'dpauth' })).reason).toBe('malformed');
    expect(failure(verifyChain(loadCert('EUICC_NIST').der, [new Uint8Array([1, 2])], { trustedCis, at: AT, expectedRole: 'euicc' }))).toMatchObject({ reason: 'malformed', position: 'eum' });
  });

  it('a forged key with the real CI key id gives badSignature', async () => {
    const rogue = await generateRogueCi('P-256');
    const forgedCi = { cert: { ...loadCert('CI_NIST'), subjectKeyId: 'f54172bdf98a95d65cbeb88a38a1c11d800a85c3' }, key: rogue.key };
    const forged = await issueDpAuth({ curve: 'P-256', issuer: forgedCi });
    expect(forged.cert.authorityKeyId).toBe('f54172bdf98a95d65cbeb88a38a1c11d800a85c3');
    expect(failure(verifyChain(forged.der, [], { trustedCis, at: new Date(), expectedRole: 'dpauth' })).reason).toBe('badSignature');
  });
});

describe('generated invalid variants: each rejected with its own reason', () => {
  const cases = (Object.keys(INVALID_VARIANTS) as (keyof typeof INVALID_VARIANTS)[]).flatMap((role) =>
    INVALID_VARIANTS[role].flatMap((variant) => (['P-256', 'brainpoolP256r1'] as const).map((curve) => [role, variant, curve] as const)),
  );
  it.each(cases)('%s / %s / %s', async (role, variant, curve) => {
    const at = new Date();
    const inv = await issueInvalid(role, variant, { curve, at });
    expect(inv.expectedReason).toBe(VARIANT_REASON[variant]);
    const r = verifyChain(inv.leaf.der, inv.intermediates, { trustedCis, at, expectedRole: role });
    expect(failure(r).reason).toBe(inv.expectedReason);
  });

  it('the reasons are pairwise distinct', () => {
    const reasons = Object.values(VARIANT_REASON);
    expect(new Set(reasons).size).toBe(reasons.length);
  });

  it.each(['P-256', 'brainpoolP256r1'] as const)('control: the same generator without a defect gives valid chains (%s)', async (curve) => {
    const at = new Date();
    const euicc = await issueEuicc({ eid: randomEid(), curve });
    expect(verifyChain(euicc.der, EUMS, { trustedCis, at, expectedRole: 'euicc' }).ok).toBe(true);
    const dpauth = await issueDpAuth({ curve });
    expect(verifyChain(dpauth.der, [], { trustedCis, at, expectedRole: 'dpauth' }).ok).toBe(true);
  });
});

describe('SGP.22 error codes for failures', () => {
  it('maps eUICC chain failures to ES9+ subject/reason codes', () => {
    expect(es9StatusForEuiccChain({ ok: false, reason: 'expired', position: 'leaf', detail: '' })).toEqual({ subjectCode: '8.1.3', reasonCode: '6.3' });
    expect(es9StatusForEuiccChain({ ok: false, reason: 'badSignature', position: 'eum', detail: '' })).toEqual({ subjectCode: '8.1.2', reasonCode: '6.1' });
    expect(es9StatusForEuiccChain({ ok: false, reason: 'unknownCi', position: 'eum', detail: '' })).toEqual({ subjectCode: '8.11.1', reasonCode: '3.9' });
  });

  it('maps DPauth chain failures to AuthenticateServer errors', () => {
    expect(authenticateServerErrorFor('unknownCi')).toBe(7);
    expect(authenticateServerErrorFor('badSignature')).toBe(1);
    expect(authenticateServerErrorFor('missingSanOid')).toBe(1);
  });
});
