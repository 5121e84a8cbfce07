import { describe, it, expect, beforeEach, afterEach, vi } from 'vitest';
import { mkdtempSync, rmSync, readFileSync, writeFileSync, statSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { certsCommand, type CertsIo } from './certs.ts';
import { main } from './main.ts';
import { UsageError } from './errors.ts';
import { issueInvalid } from '../certs/issue.ts';
import { parseCert, certificatePem } from '../certs/cert.ts';
import { parsePrivateKey } from '../sim/crypto/keys.ts';
import { toHex } from '../sim/bytes.ts';

const SGP26 = fileURLToPath(new URL('../certs/sgp26/', import.meta.url));

let dir: string;
let out: string;
const io: CertsIo = { out: (t) => void (out += t) };

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bridgelab-certs-cli-'));
  out = '';
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  vi.restoreAllMocks();
});

/** Run through cli/main (the real exit-code path) with stdout/stderr captured. */
async function runMain(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  const code = await main(args);
  vi.restoreAllMocks();
  return { code, stdout, stderr };
}

describe('certs list', () => {
  it('prints a table for people', async () => {
    expect(await certsCommand(['list'], io)).toBe(0);
    const lines = out.trim().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+ROLE\s+CURVE\s+VALIDITY\s+SKI\s+AKI\s+SUBJECT$/);
    expect(lines).toHaveLength(20);
    expect(out).toMatch(/CI_NIST\s+CI\s+NIST\s+2020-04-01\.\.2055-04-01\s+f54172bdf98a95d65cbeb88a38a1c11d800a85c3\s+-\s+CN=Test CI/);
  });

  it('prints JSON for machines', async () => {
    expect(await certsCommand(['list', '--json'], io)).toBe(0);
    const json = JSON.parse(out) as { name: string; subjectKeyId: string; authorityKeyId: string | null; notAfter: string; subject: string }[];
    expect(json).toHaveLength(19);
    expect(json[0]).toMatchObject({ name: 'CI_NIST', subjectKeyId: 'f54172bdf98a95d65cbeb88a38a1c11d800a85c3', authorityKeyId: null, notAfter: '2055-04-01T08:27:51.000Z' });
    expect(json.find((e) => e.name === 'DPauth_NIST')?.subject).toBe('O=ACME, CN=TEST SM-DP\\+');
  });

  it('rejects unknown options (exit 2)', async () => {
    await expect(certsCommand(['list', '--yaml'], io)).rejects.toThrow(UsageError);
    const r = await runMain(['certs', 'list', '--yaml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^bridgelab: certs: Unknown option '--yaml'/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('certs verify', () => {
  it('accepts the SGP.26 eUICC certificate, finding the EUM in the store (exit 0)', async () => {
    expect(await certsCommand(['verify', SGP26 + 'eUICC/CERT_EUICC_ECDSA_NIST.der'], io)).toBe(0);
    expect(out).toBe(
      'OK euicc: C=ES, O=RSP Test EUM, serialNumber=89049032123451234512345678901235, CN=Test eUICC <- C=ES, O=RSP Test EUM, CN=EUM Test <- CI f54172bdf98a95d65cbeb88a38a1c11d800a85c3\n',
    );
  });

  it('accepts PEM, an explicit chain and role, and a date (JSON output)', async () => {
    const args = ['verify', SGP26 + 'DPtls/CERT_S_SM_DP_VARO_TLS_BRP.der', '--role', 'dptls', '--at', '2026-08-01', '--json'];
    expect(await certsCommand(args, io)).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ ok: true, role: 'dptls', ciKeyId: 'c0bc70ba36929d43b467ff57570530e57ab8fcd8' });
    out = '';
    const eumPem = join(dir, 'eum.pem');
    writeFileSync(eumPem, readFileSync(SGP26 + 'CertificateIssuer/CERT_CI_ECDSA_BRP.pem', 'utf8') + certificatePem(new Uint8Array(readFileSync(SGP26 + 'EUM/CERT_EUM_ECDSA_BRP.der'))));
    expect(await certsCommand(['verify', SGP26 + 'eUICC/CERT_EUICC_ECDSA_BRP.der', '--chain', eumPem, '--role', 'euicc'], io)).toBe(0);
    expect(out).toMatch(/^OK euicc: .* <- CI c0bc70ba36929d43b467ff57570530e57ab8fcd8\n$/);
  });

  it('reports the reason for an invalid certificate (exit 1)', async () => {
    expect(await certsCommand(['verify', SGP26 + 'DPtls/CERT_S_SM_DP2_TLS.der', '--at', '2026-08-01'], io)).toBe(1);
    expect(out).toMatch(/^INVALID dptls: expired: dptls certificate expired 2025-08-11T15:26:48\.000Z/);
    out = '';
    expect(await certsCommand(['verify', SGP26 + 'DPauth/CERT_S_SM_DPauth_ECDSA_NIST.der', '--role', 'dppb', '--json'], io)).toBe(1);
    expect(JSON.parse(out)).toMatchObject({ ok: false, role: 'dppb', reason: 'wrongPolicy', position: 'leaf' });
  });

  it.each([
    ['euicc', 'eidOutsidePrefix'],
    ['euicc', 'badSignature'],
    ['dpauth', 'missingSanOid'],
    ['dptls', 'wrongCi'],
  ] as const)('rejects a generated %s / %s certificate with its reason (exit 1)', async (role, variant) => {
    const inv = await issueInvalid(role, variant);
    const file = join(dir, 'leaf.pem');
    writeFileSync(file, inv.leaf.pem);
    const chain = inv.intermediates.map((der, i) => {
      const p = join(dir, `chain${i}.der`);
      writeFileSync(p, der);
      return ['--chain', p];
    });
    expect(await certsCommand(['verify', file, '--role', role, ...chain.flat(), '--json'], io)).toBe(1);
    expect(JSON.parse(out)).toMatchObject({ ok: false, reason: inv.expectedReason });
  });

  it('reports a certificate-shaped but broken file as malformed (exit 1)', async () => {
    const file = join(dir, 'broken.der');
    writeFileSync(file, Buffer.from('3003020101', 'hex'));
    expect(await certsCommand(['verify', file], io)).toBe(1);
    expect(out).toMatch(/^INVALID unknown: malformed: /);
  });

  it.each([
    [['verify'], /expected exactly one certificate file/],
    [['verify', '/nonexistent/cert.der'], /cannot read certificate '\/nonexistent\/cert.der': ENOENT/],
    [['verify', SGP26 + 'EUM/EUM-ext.cnf'], /neither PEM nor a DER certificate/],
    [['verify', SGP26 + 'EUM/PK_EUM_ECDSA_NIST.pem'], /has no CERTIFICATE block/],
    [['verify', SGP26 + 'CertificateIssuer/CERT_CI_ECDSA_NIST.der'], /cannot tell the role .* pass --role/],
    [['verify', SGP26 + 'eUICC/CERT_EUICC_ECDSA_NIST.der', '--role', 'ci'], /--role must be one of euicc, eum, dpauth, dppb, dptls/],
    [['verify', SGP26 + 'eUICC/CERT_EUICC_ECDSA_NIST.der', '--at', 'yesterday'], /--at 'yesterday' is not a date/],
    [['verify', SGP26 + 'eUICC/CERT_EUICC_ECDSA_NIST.der', '--chain'], /argument missing/],
  ])('usage error for %j (exit 2)', async (args, message) => {
    await expect(certsCommand(args, io)).rejects.toThrow(message);
    const r = await runMain(['certs', ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^bridgelab: /);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});

describe('certs issue', () => {
  it('issues an eUICC certificate and key that verify (NIST)', async () => {
    const eid = '89049032123451234512345678901235';
    expect(await certsCommand(['issue', 'euicc', '--eid', eid, '--out', dir], io)).toBe(0);
    const base = `EUICC_ECDSA_NIST_${eid}`;
    expect(readdirSync(dir).sort()).toEqual([`CERT_${base}.der`, `CERT_${base}.pem`, `SK_${base}.pem`]);
    expect(statSync(join(dir, `SK_${base}.pem`)).mode & 0o777).toBe(0o600);
    const cert = parseCert(readFileSync(join(dir, `CERT_${base}.der`)));
    expect(cert.eid).toBe(eid);
    expect(toHex(parseCert(readFileSync(join(dir, `CERT_${base}.pem`), 'utf8')).der)).toBe(toHex(cert.der));
    expect(toHex(parsePrivateKey(readFileSync(join(dir, `SK_${base}.pem`), 'utf8')).publicKey)).toBe(toHex(cert.publicKey));
    expect(out).toContain(`wrote ${join(dir, `SK_${base}.pem`)} (mode 0600)`);
    out = '';
    expect(await certsCommand(['verify', join(dir, `CERT_${base}.pem`)], io)).toBe(0);
    expect(out).toMatch(/^OK euicc: /);
  });

  it('adds the check digits to a 30-digit EID and issues brainpool (JSON output)', async () => {
    expect(await certsCommand(['issue', 'euicc', '--eid', '890490321234512345123456789012', '--curve', 'brp', '--out', dir, '--json'], io)).toBe(0);
    const json = JSON.parse(out) as { eid: string; curve: string; certDer: string };
    expect(json).toMatchObject({ eid: '89049032123451234512345678901235', curve: 'brainpoolP256r1' });
    out = '';
    expect(await certsCommand(['verify', json.certDer, '--json'], io)).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ ok: true, ciKeyId: 'c0bc70ba36929d43b467ff57570530e57ab8fcd8' });
  });

  it('issues a TLS certificate for a host (brainpool) that verifies as dptls', async () => {
    expect(await certsCommand(['issue', 'tls', '--host', 'smdp.example.org', '--curve', 'brp', '--days', '30', '--out', dir], io)).toBe(0);
    const certFile = join(dir, 'CERT_S_SM_DP_TLS_BRP_smdp.example.org.der');
    const cert = parseCert(readFileSync(certFile));
    expect(cert.sanDnsNames).toEqual(['smdp.example.org']);
    expect(Math.round((cert.notAfter.getTime() - cert.notBefore.getTime()) / 86_400_000)).toBe(30);
    expect(statSync(join(dir, 'SK_S_SM_DP_TLS_BRP_smdp.example.org.pem')).mode & 0o777).toBe(0o600);
    out = '';
    expect(await certsCommand(['verify', certFile], io)).toBe(0);
    expect(out).toMatch(/^OK dptls: O=ACME, CN=smdp.example.org <- CI c0bc70ba/);
  });

  it.each([
    [['issue'], /expected 'euicc' or 'tls'/],
    [['issue', 'eum', '--out', 'x'], /expected 'euicc' or 'tls', not 'eum'/],
    [['issue', 'euicc', '--eid', '89049032123451234512345678901235'], /--out <dir> is required/],
    [['issue', 'euicc', '--out', 'DIR'], /--eid <EID> is required/],
    [['issue', 'euicc', '--eid', '89049032123451234512345678901234', '--out', 'DIR'], /wrong check digits \(expected 89049032123451234512345678901235\)/],
    [['issue', 'euicc', '--eid', '8904903212345', '--out', 'DIR'], /--eid must be 32 digits/],
    [['issue', 'euicc', '--eid', '89049033123451234512345678901257', '--out', 'DIR'], /outside the SGP.26 EUM prefix 89049032/],
    [['issue', 'euicc', '--eid', '89049032123451234512345678901235', '--curve', 'p384', '--out', 'DIR'], /--curve must be nist or brp/],
    [['issue', 'tls', '--out', 'DIR'], /--host <name> is required/],
    [['issue', 'tls', '--host', 'no spaces.example', '--out', 'DIR'], /not a valid DNS name/],
    [['issue', 'tls', '--host', 'a.example', '--days', '0', '--out', 'DIR'], /--days must be a whole number/],
    [['issue', 'tls', '--host', 'a.example', '--eid', '1', '--out', 'DIR'], /--eid applies to euicc only/],
  ])('usage error for %j (exit 2)', async (args, message) => {
    const a = args.map((x) => (x === 'DIR' ? dir : x));
    await expect(certsCommand(a, io)).rejects.toThrow(message);
    expect((await runMain(['certs', ...a])).code).toBe(2);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('reports an unwritable --out as a usage error', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    await expect(certsCommand(['issue', 'tls', '--host', 'a.example', '--out', join(file, 'sub')], io)).rejects.toThrow(/cannot write to .*: (ENOTDIR|EEXIST)/);
  });
});

describe('certs help', () => {
  it('prints usage (exit 0 with --help, 2 without a command)', async () => {
    expect(await certsCommand(['--help'], io)).toBe(0);
    expect(out).toMatch(/^usage: bridgelab certs <command>/);
    out = '';
    expect(await certsCommand([], io)).toBe(2);
    await expect(certsCommand(['frobnicate'], io)).rejects.toThrow(/unknown command 'frobnicate'/);
  });
});
