import { describe, expect, it } from 'vitest';
import { inspect } from 'node:util';
import { verify } from '../crypto/ecdsa.ts';
import { parseCert } from '../../certs/cert.ts';
import { loadCert } from '../../certs/store.ts';
import { verifyChain } from '../../certs/chain.ts';
import { sgp26TrustedCis } from '../../certs/store.ts';
import { checkIdentities, identityFromPersisted, IdentityError, issueFreshIdentities, sgp26Identities, sgp26Identity } from './identity.ts';

const SGP26_EID = '89049032123451234512345678901235';

describe('eUICC identities', () => {
  it.each(['P-256', 'brainpoolP256r1'] as const)('SGP.26 %s identity: EID, CI key id, signatures verify with the certificate', (curve) => {
    const id = sgp26Identity(curve);
    expect(id.eid).toBe(SGP26_EID);
    expect(id.curve).toBe(curve);
    expect(id.ciKeyId).toBe(curve === 'P-256' ? 'f54172bdf98a95d65cbeb88a38a1c11d800a85c3' : 'c0bc70ba36929d43b467ff57570530e57ab8fcd8');
    expect(id.eumCertificate).toEqual(loadCert(curve === 'P-256' ? 'EUM_NIST' : 'EUM_BRP').der);
    const cert = parseCert(id.certificate);
    const msg = new TextEncoder().encode('euiccSigned1');
    expect(verify(curve, cert.publicKey, msg, id.sign(msg))).toBe(true);
  });

  it('never shows its private key', () => {
    const id = sgp26Identity('P-256');
    expect(JSON.stringify(id)).toContain('<redacted>');
    expect(inspect(id)).toContain('<redacted>');
    expect(Object.keys(id)).not.toContain('privateKey');
  });

  it('choices nist / brp / both', () => {
    expect(sgp26Identities('nist').map((i) => i.curve)).toEqual(['P-256']);
    expect(sgp26Identities('brp').map((i) => i.curve)).toEqual(['brainpoolP256r1']);
    expect(sgp26Identities('both').map((i) => i.curve)).toEqual(['P-256', 'brainpoolP256r1']);
    expect(checkIdentities(sgp26Identities('both')).eid).toBe(SGP26_EID);
  });

  it('fresh identities: one EID on both curves, valid chains, round trip through the state file', async () => {
    const eid = '89049032000000000000000000012345'.slice(0, 30);
    const full = eid + String(98 - Number(BigInt(eid + '00') % 97n)).padStart(2, '0');
    const { identities, persisted } = await issueFreshIdentities({ eid: full });
    expect(identities.map((i) => [i.eid, i.curve])).toEqual([
      [full, 'P-256'],
      [full, 'brainpoolP256r1'],
    ]);
    for (const id of identities) {
      const chain = verifyChain(id.certificate, [id.eumCertificate], { trustedCis: sgp26TrustedCis(), at: new Date(), expectedRole: 'euicc' });
      expect(chain.ok).toBe(true);
    }
    const back = persisted.map(identityFromPersisted);
    expect(back.map((i) => i.eid)).toEqual([full, full]);
    const msg = Uint8Array.of(1, 2, 3);
    expect(verify('P-256', parseCert(back[0]!.certificate).publicKey, msg, back[0]!.sign(msg))).toBe(true);
  });

  it('refuses inconsistent identity sets and broken stored identities', async () => {
    const { identities } = await issueFreshIdentities({ curves: ['P-256'] });
    expect(() => checkIdentities([sgp26Identity('brainpoolP256r1'), identities[0]!])).toThrow(IdentityError);
    expect(() => checkIdentities([sgp26Identity('P-256'), sgp26Identity('P-256')])).toThrow(IdentityError);
    expect(() => checkIdentities([])).toThrow(IdentityError);
    await expect(issueFreshIdentities({ eid: '89049033000000000000000000000000' })).rejects.toBeInstanceOf(IdentityError);
    const { persisted } = await issueFreshIdentities({ curves: ['P-256'] });
    expect(() => identityFromPersisted({ ...persisted[0]!, privateKey: '11'.repeat(32) })).toThrow(IdentityError);
  });
});
