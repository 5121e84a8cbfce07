import { describe, it, expect } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  issueEuicc,
  issueTls,
  issueDpAuth,
  issueDpPb,
  issueEum,
  issueInvalid,
  generateRogueCi,
  randomEid,
  flipSignatureBit,
  keyIdentifier,
  storeAuthority,
  IssueError,
  NO_EXPIRY,
} from './issue.ts';
import { verifyChain } from './chain.ts';
import { loadCert, sgp26TrustedCis, certsOfRole } from './store.ts';
import { parseCert, certificatePem, RSP_POLICY } from './cert.ts';
import { parsePrivateKey } from '../sim/crypto/keys.ts';
import { isValidEid } from '../sim/rsp/eid.ts';
import { toHex } from '../sim/bytes.ts';

const trustedCis = sgp26TrustedCis();
const EUMS = certsOfRole('EUM').map((c) => c.der);
const CURVES = ['P-256', 'brainpoolP256r1'] as const;

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false; // tool absent: the interop test is skipped
  }
}

describe('fresh eUICC certificates', () => {
  it.each(CURVES)('%s: same shape as the SGP.26 eUICC certificate and a valid chain', async (curve) => {
    const eid = randomEid();
    expect(isValidEid(eid)).toBe(true);
    expect(eid.startsWith('89049032')).toBe(true);
    const issued = await issueEuicc({ eid, curve });
    const ref = loadCert(curve === 'P-256' ? 'EUICC_NIST' : 'EUICC_BRP');
    const eum = loadCert(curve === 'P-256' ? 'EUM_NIST' : 'EUM_BRP');
    const c = issued.cert;
    expect(c.subject).toBe(`C=ES, O=RSP Test EUM, serialNumber=${eid}, CN=Test eUICC`);
    expect(c.eid).toBe(eid);
    expect(c.curve).toBe(curve);
    expect(c.policies).toEqual([RSP_POLICY.EUICC]);
    expect(c.keyUsage).toEqual(ref.keyUsage);
    expect(c.extensions).toEqual(ref.extensions); // AKI, SKI, keyUsage (critical), policies (critical)
    expect(toHex(c.issuerDer)).toBe(toHex(eum.subjectDer));
    expect(c.authorityKeyId).toBe(eum.subjectKeyId);
    expect(c.subjectKeyId).toBe(keyIdentifier(c.publicKey));
    expect(c.notAfter.getTime()).toBe(NO_EXPIRY.getTime());
    // subject attribute string types match SGP.26 (C and serialNumber PrintableString)
    expect(toHex(c.subjectDer).replace(new RegExp(Buffer.from(eid).toString('hex'), 'g'), '')).toBe(
      toHex(ref.subjectDer).replace(new RegExp(Buffer.from(ref.eid!).toString('hex'), 'g'), ''),
    );
    expect(toHex(parsePrivateKey(issued.keyPem).publicKey)).toBe(toHex(c.publicKey));
    expect(issued.pem).toBe(certificatePem(issued.der));
    const r = verifyChain(issued.der, EUMS, { trustedCis, at: new Date(), expectedRole: 'euicc' });
    expect(r).toMatchObject({ ok: true, ciKeyId: curve === 'P-256' ? 'f54172bdf98a95d65cbeb88a38a1c11d800a85c3' : 'c0bc70ba36929d43b467ff57570530e57ab8fcd8' });
  });

  it('refuses invalid or out-of-prefix EIDs unless unchecked', async () => {
    await expect(issueEuicc({ eid: '89049032123451234512345678901234' })).rejects.toThrow(IssueError);
    await expect(issueEuicc({ eid: '89049032123451234512345678901234' })).rejects.toThrow(/expected 89049032123451234512345678901235/);
    await expect(issueEuicc({ eid: randomEid('89049099') })).rejects.toThrow(/outside the EUM prefix 89049032/);
    const out = await issueEuicc({ eid: randomEid('89049099'), unchecked: true });
    expect(out.cert.eid?.startsWith('89049099')).toBe(true);
  });

  it('uses a given key', async () => {
    const key = parsePrivateKey(readFileSync(new URL('./sgp26/eUICC/SK_EUICC_ECDSA_NIST.pem', import.meta.url), 'utf8'));
    const issued = await issueEuicc({ eid: randomEid(), key });
    expect(toHex(issued.cert.publicKey)).toBe(toHex(key.publicKey));
    await expect(issueEuicc({ eid: randomEid(), key, curve: 'brainpoolP256r1' })).rejects.toThrow(/key is P-256/);
  });
});
describe('fresh DPtls certificates', () => {
  it.each(CURVES)('%s: any host, SAN dNSName, EKU serverAuth + clientAuth, policy .1.3, signed by the CI', async (curve) => {
    const issued = await issueTls({ host: 'smdp.bridgelab.test', curve });
    const c = issued.cert;
    expect(c.subject).toBe('O=ACME, CN=smdp.bridgelab.test');
    expect(c.sanDnsNames).toEqual(['smdp.bridgelab.test']);
    expect(c.sanRegisteredIds).toEqual(['2.999.10']);
    expect(c.extendedKeyUsage).toEqual(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    expect(c.extensions.find((e) => e.oid === '2.5.29.37')?.critical).toBe(true);
    expect(c.policies).toEqual([RSP_POLICY.DPtls]);
    expect(c.curve).toBe(curve);
    expect(verifyChain(issued.der, [], { trustedCis, at: new Date(), expectedRole: 'dptls' }).ok).toBe(true);
  });

  it('rejects bad host names', async () => {
    await expect(issueTls({ host: 'bad host' })).rejects.toThrow(IssueError);
    await expect(issueTls({ host: '-x.example' })).rejects.toThrow(/not a valid DNS host name/);
  });
});

describe('other roles', () => {
  it('DPauth / DPpb with SAN OID, and without when smdpOid is null', async () => {
    const auth = await issueDpAuth({ curve: 'brainpoolP256r1', smdpOid: '2.999.12' });
    expect(auth.cert.subject).toBe('O=ACME, CN=TEST SM-DP\\+');
    expect(auth.cert.sanRegisteredIds).toEqual(['2.999.12']);
    expect(verifyChain(auth.der, [], { trustedCis, at: new Date(), expectedRole: 'dpauth' }).ok).toBe(true);
    const pb = await issueDpPb({ smdpOid: null });
    expect(pb.cert.sanRegisteredIds).toEqual([]);
    expect(pb.cert.policies).toEqual([RSP_POLICY.DPpb]);
  });

  it('EUM with name constraint, and eUICCs under it', async () => {
    const eum = await issueEum({ prefix: '89049077' });
    expect(eum.cert.eidPrefix).toBe('89049077');
    expect(eum.cert.basicConstraints).toMatchObject({ ca: true, pathLength: 0 });
    expect(verifyChain(eum.der, [], { trustedCis, at: new Date(), expectedRole: 'eum' }).ok).toBe(true);
    const euicc = await issueEuicc({ eid: randomEid('89049077'), issuer: { cert: eum.cert, key: eum.key } });
    expect(verifyChain(euicc.der, [eum.der], { trustedCis, at: new Date(), expectedRole: 'euicc' }).ok).toBe(true);
  });

  it('rogue CI is self-signed, CA, and unknown to the store', async () => {
    const ci = await generateRogueCi('brainpoolP256r1');
    expect(ci.cert.issuer).toBe(ci.cert.subject);
    expect(ci.cert.authorityKeyId).toBeUndefined();
    expect(trustedCis.map((t) => t.keyId)).not.toContain(ci.cert.subjectKeyId);
    const dp = await issueDpAuth({ curve: 'brainpoolP256r1', issuer: { cert: ci.cert, key: ci.key } });
    expect(verifyChain(dp.der, [], { trustedCis: [...trustedCis, ci.der], at: new Date(), expectedRole: 'dpauth' }).ok).toBe(true);
  });

  it('flipSignatureBit copies and changes exactly one bit', () => {
    const der = loadCert('DPauth_NIST').der;
    const flipped = flipSignatureBit(der);
    expect(flipped).not.toBe(der);
    expect(flipped.length).toBe(der.length);
    expect(flipped.filter((b, i) => b !== der[i])).toHaveLength(1);
    expect(parseCert(flipped).signatureRaw).not.toBeNull();
  });

  it('refuses variants that do not apply', async () => {
    await expect(issueInvalid('dptls', 'missingSanOid')).rejects.toThrow(/does not apply/);
    await expect(issueInvalid('dpauth', 'eidOutsidePrefix')).rejects.toThrow(IssueError);
  });

  it('storeAuthority loads a signing certificate with its key', () => {
    const a = storeAuthority('CI_BRP');
    expect(a.cert.subjectKeyId).toBe('c0bc70ba36929d43b467ff57570530e57ab8fcd8');
    expect(toHex(a.key.publicKey)).toBe(toHex(a.cert.publicKey));
  });
});

describe.skipIf(!hasOpenssl())('OpenSSL accepts what we mint', () => {
  it.each(CURVES)('DPtls and DPauth on %s verify with openssl against the SGP.26 CI', async (curve) => {
    const dir = mkdtempSync(join(tmpdir(), 'bridgelab-issue-'));
    try {
      const ci = loadCert(curve === 'P-256' ? 'CI_NIST' : 'CI_BRP');
      writeFileSync(join(dir, 'ci.pem'), certificatePem(ci.der));
      const tls = await issueTls({ host: 'smdp.bridgelab.test', curve });
      const auth = await issueDpAuth({ curve });
      writeFileSync(join(dir, 'tls.pem'), tls.pem);
      writeFileSync(join(dir, 'auth.pem'), auth.pem);
      const out = execFileSync('openssl', ['verify', '-CAfile', join(dir, 'ci.pem'), join(dir, 'tls.pem'), join(dir, 'auth.pem')], { encoding: 'utf8' });
      expect(out).toContain('tls.pem: OK');
      expect(out).toContain('auth.pem: OK');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
