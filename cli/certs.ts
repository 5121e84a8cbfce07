// `bridgelab certs`: list the SGP.26 test PKI, check a certificate with the SGP.22
// chain rules (SGP.22 4.5.2; eUICC -> EUM -> CI, DPauth/DPpb/DPtls -> CI), and
// issue fresh eUICC or DPtls certificates from the SGP.26 CI/EUM keys.
// Exit codes: 0 ok / valid, 1 certificate invalid, 2 bad arguments or unreadable
// input. `--json` gives machine output.
import type { ParseArgsConfig } from 'node:util';
import { parseCommandArgs } from './args.ts';
import { readFileSync, writeFileSync, mkdirSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { HelpRequested, UsageError, EXIT_OK, EXIT_FAILURE, EXIT_USAGE } from './errors.ts';
import { listCerts, certsOfRole, sgp26TrustedCis } from '../certs/store.ts';
import { parseCert, CertParseError, type ParsedCert } from '../certs/cert.ts';
import { verifyChain, chainRoleOf, isChainRole, trustedCiFromCert, CHAIN_ROLES, type ChainRole, type ChainResult, type TrustedCi } from '../certs/chain.ts';
import { issueEuicc, issueTls, isValidHostname, type IssuedCert } from '../certs/issue.ts';
import { isValidEid, completeEid } from '../sim/rsp/eid.ts';
import { pemDecode, looksLikePem } from '../sim/crypto/keys.ts';
import type { CurveName } from '../sim/crypto/curves.ts';

export interface CertsIo {
  out(text: string): void;
}

const processIo: CertsIo = { out: (t) => void process.stdout.write(t) };

const USAGE = `usage: bridgelab certs <command> [options]

commands:
  list [--json]                              the SGP.26 certificates and keys in certs/sgp26
  verify <file> [--chain <file>]... [--role euicc|eum|dpauth|dppb|dptls]
         [--at <ISO date>] [--ci <file>]... [--json]
                                             SGP.22 chain check (PEM or DER); the EUM of an
                                             eUICC certificate is taken from the store by AKI
  issue euicc --eid <EID> [--curve nist|brp] --out <dir> [--json]
  issue tls --host <name> [--curve nist|brp] [--days <n>] --out <dir> [--json]
                                             mint a certificate + PKCS#8 key (mode 0600)

exit codes: 0 ok/valid, 1 invalid certificate, 2 usage error or unreadable file`;

function parse<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseCommandArgs<T>> {
  if (config.args?.some((a) => a === '--help' || a === '-h')) throw new HelpRequested(USAGE);
  return parseCommandArgs('certs', config);
}

function readInput(path: string, what: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new UsageError(`cannot read ${what} '${path}': ${typeof code === 'string' ? code : (err as Error).message}`);
  }
}

/** Every certificate in a file: all CERTIFICATE blocks of a PEM, or the DER file itself. */
function certificatesIn(bytes: Uint8Array, path: string): Uint8Array[] {
  if (looksLikePem(bytes)) {
    let blocks;
    try {
      blocks = pemDecode(Buffer.from(bytes).toString('latin1')).filter((b) => b.label === 'CERTIFICATE');
    } catch (err) {
      throw new UsageError(`'${path}': ${(err as Error).message}`);
    }
    if (blocks.length === 0) throw new UsageError(`'${path}' has no CERTIFICATE block`);
    return blocks.map((b) => b.der);
  }
  if (bytes[0] !== 0x30) throw new UsageError(`'${path}' is neither PEM nor a DER certificate`);
  return [bytes];
}

function parseCurve(value: string | undefined): CurveName {
  switch ((value ?? 'nist').toLowerCase()) {
    case 'nist':
    case 'p-256':
    case 'p256':
      return 'P-256';
    case 'brp':
    case 'brainpool':
    case 'brainpoolp256r1':
      return 'brainpoolP256r1';
    default:
      throw new UsageError(`--curve must be nist or brp, not '${value}'`);
  }
}

function day(d: Date): string {
  return d.toISOString().slice(0, 10);
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

// ---------------------------------------------------------------------------

function listCommand(args: string[], io: CertsIo): number {
  const { values } = parse({ args, options: { json: { type: 'boolean' } }, strict: true, allowPositionals: false });
  const entries = listCerts();
  if (values.json) {
    const json = entries.map((e) => ({
      name: e.name,
      role: e.role,
      curve: e.curve,
      subject: e.subject,
      subjectKeyId: e.subjectKeyId,
      authorityKeyId: e.authorityKeyId ?? null,
      notBefore: e.notBefore.toISOString(),
      notAfter: e.notAfter.toISOString(),
      certFile: e.certFile,
      keyFile: e.keyFile,
    }));
    io.out(JSON.stringify(json, null, 2) + '\n');
    return EXIT_OK;
  }
  const now = Date.now();
  const rows = [['NAME', 'ROLE', 'CURVE', 'VALIDITY', 'SKI', 'AKI', 'SUBJECT']];
  for (const e of entries) {
    const state = now > e.notAfter.getTime() ? ' (expired)' : now < e.notBefore.getTime() ? ' (not yet valid)' : '';
    rows.push([e.name, e.role, e.curve === 'P-256' ? 'NIST' : 'BRP', `${day(e.notBefore)}..${day(e.notAfter)}${state}`, e.subjectKeyId, e.authorityKeyId ?? '-', e.subject]);
  }
  io.out(table(rows));
  return EXIT_OK;
}

function verifyCommand(args: string[], io: CertsIo): number {
  const { values, positionals } = parse({
    args,
    options: {
      chain: { type: 'string', multiple: true },
      ci: { type: 'string', multiple: true },
      role: { type: 'string' },
      at: { type: 'string' },
      json: { type: 'boolean' },
    },
    strict: true,
    allowPositionals: true,
  });
  if (positionals.length !== 1) throw new UsageError('certs verify: expected exactly one certificate file');
  const file = positionals[0]!;
  if (values.role !== undefined && !isChainRole(values.role)) throw new UsageError(`--role must be one of ${CHAIN_ROLES.join(', ')}, not '${values.role}'`);
  let at = new Date();
  if (values.at !== undefined) {
    at = new Date(values.at);
    if (Number.isNaN(at.getTime())) throw new UsageError(`--at '${values.at}' is not a date (use ISO 8601, e.g. 2026-08-01)`);
  }

  const leafDer = certificatesIn(readInput(file, 'certificate'), file)[0]!;
  const intermediates = (values.chain ?? []).flatMap((p) => certificatesIn(readInput(p, 'chain file'), p));
  let trustedCis: TrustedCi[] = sgp26TrustedCis();
  for (const p of values.ci ?? []) {
    for (const der of certificatesIn(readInput(p, 'CI file'), p)) {
      try {
        trustedCis = [...trustedCis, trustedCiFromCert(der)];
      } catch (err) {
        if (err instanceof CertParseError) throw new UsageError(`CI certificate '${p}': ${err.message}`);
        throw err;
      }
    }
  }

  let role: ChainRole | undefined = values.role as ChainRole | undefined;
  if (!role) {
    let leaf: ParsedCert;
    try {
      leaf = parseCert(leafDer);
    } catch (err) {
      if (!(err instanceof CertParseError)) throw err;
      return report(io, values.json === true, at, 'unknown', { ok: false, reason: 'malformed', position: 'leaf', detail: err.message });
    }
    role = chainRoleOf(leaf);
    if (!role) throw new UsageError(`cannot tell the role of '${file}' from its policies (${leaf.policies.join(', ') || 'none'}); pass --role`);
  }
  if (role === 'euicc') intermediates.push(...certsOfRole('EUM').map((c) => c.der));

  return report(io, values.json === true, at, role, verifyChain(leafDer, intermediates, { trustedCis, at, expectedRole: role }));
}

function report(io: CertsIo, json: boolean, at: Date, role: ChainRole | 'unknown', result: ChainResult): number {
  if (json) {
    const out = result.ok
      ? { ok: true, role, ciKeyId: result.ciKeyId, chain: result.chain.map((c) => ({ subject: c.subject, subjectKeyId: c.subjectKeyId ?? null })), at: at.toISOString() }
      : { ok: false, role, reason: result.reason, position: result.position, detail: result.detail, at: at.toISOString() };
    io.out(JSON.stringify(out, null, 2) + '\n');
  } else if (result.ok) {
    io.out(`OK ${role}: ${result.chain.map((c) => c.subject).join(' <- ')} <- CI ${result.ciKeyId}\n`);
  } else {
    io.out(`INVALID ${role}: ${result.reason}: ${result.detail}\n`);
  }
  return result.ok ? EXIT_OK : EXIT_FAILURE;
}

function writeIssued(dir: string, base: string, issued: IssuedCert): { certDer: string; certPem: string; key: string } {
  const paths = { certDer: join(dir, `CERT_${base}.der`), certPem: join(dir, `CERT_${base}.pem`), key: join(dir, `SK_${base}.pem`) };
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(paths.certDer, issued.der);
    writeFileSync(paths.certPem, issued.pem);
    writeFileSync(paths.key, issued.keyPem, { mode: 0o600 });
    chmodSync(paths.key, 0o600); // also when the file already existed
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new UsageError(`cannot write to '${dir}': ${typeof code === 'string' ? code : (err as Error).message}`);
  }
  return paths;
}

async function issueCommand(args: string[], io: CertsIo): Promise<number> {
  const [kind, ...rest] = args;
  if (kind !== 'euicc' && kind !== 'tls') throw new UsageError(`certs issue: expected 'euicc' or 'tls', not '${kind ?? ''}'`);
  const { values } = parse({
    args: rest,
    options: {
      eid: { type: 'string' },
      host: { type: 'string' },
      curve: { type: 'string' },
      days: { type: 'string' },
      out: { type: 'string' },
      json: { type: 'boolean' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (!values.out) throw new UsageError(`certs issue ${kind}: --out <dir> is required`);
  const curve = parseCurve(values.curve);
  const tag = curve === 'P-256' ? 'NIST' : 'BRP';

  let issued: IssuedCert;
  let base: string;
  if (kind === 'euicc') {
    if (values.host !== undefined || values.days !== undefined) throw new UsageError('certs issue euicc: --host and --days apply to tls only');
    if (!values.eid) throw new UsageError('certs issue euicc: --eid <EID> is required');
    let eid = values.eid;
    if (/^[0-9]{30}$/.test(eid)) eid = completeEid(eid);
    if (!/^[0-9]{32}$/.test(eid)) throw new UsageError(`--eid must be 32 digits (or 30 digits to get the check digits added), not '${values.eid}'`);
    if (!isValidEid(eid)) throw new UsageError(`--eid ${eid} has wrong check digits (expected ${completeEid(eid)})`);
    const eum = certsOfRole('EUM').find((c) => c.curve === curve);
    if (eum?.eidPrefix !== undefined && !eid.startsWith(eum.eidPrefix)) throw new UsageError(`--eid ${eid} is outside the SGP.26 EUM prefix ${eum.eidPrefix}`);
    issued = await issueEuicc({ eid, curve });
    base = `EUICC_ECDSA_${tag}_${eid}`;
  } else {
    if (values.eid !== undefined) throw new UsageError('certs issue tls: --eid applies to euicc only');
    if (!values.host) throw new UsageError('certs issue tls: --host <name> is required');
    if (!isValidHostname(values.host)) throw new UsageError(`--host '${values.host}' is not a valid DNS name`);
    let days = 365;
    if (values.days !== undefined) {
      days = Number(values.days);
      if (!Number.isInteger(days) || days < 1 || days > 36500) throw new UsageError(`--days must be a whole number of days between 1 and 36500, not '${values.days}'`);
    }
    const notBefore = new Date(Date.now() - 3_600_000);
    issued = await issueTls({ host: values.host, curve, notBefore, notAfter: new Date(notBefore.getTime() + days * 86_400_000) });
    base = `S_SM_DP_TLS_${tag}_${values.host}`;
  }

  const paths = writeIssued(values.out, base, issued);
  const c = issued.cert;
  if (values.json) {
    io.out(
      JSON.stringify(
        { ...paths, subject: c.subject, subjectKeyId: c.subjectKeyId ?? null, authorityKeyId: c.authorityKeyId ?? null, curve: c.curve, notBefore: c.notBefore.toISOString(), notAfter: c.notAfter.toISOString(), ...(c.eid ? { eid: c.eid } : {}) },
        null,
        2,
      ) + '\n',
    );
  } else {
    io.out(`issued ${c.subject} (SKI ${c.subjectKeyId}, issuer AKI ${c.authorityKeyId}, valid ${day(c.notBefore)}..${day(c.notAfter)})\n`);
    io.out(`wrote ${paths.certDer}\nwrote ${paths.certPem}\nwrote ${paths.key} (mode 0600)\n`);
  }
  return EXIT_OK;
}

/** Entry point for `bridgelab certs ...`. Throws UsageError for bad arguments (exit 2, via cli/main). */
export async function certsCommand(args: string[], io: CertsIo = processIo): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case undefined:
      io.out(USAGE + '\n');
      return EXIT_USAGE;
    case '--help':
    case '-h':
    case 'help':
      io.out(USAGE + '\n');
      return EXIT_OK;
    case 'list':
      return listCommand(rest, io);
    case 'verify':
      return verifyCommand(rest, io);
    case 'issue':
      return issueCommand(rest, io);
    default:
      throw new UsageError(`certs: unknown command '${sub}' (list, verify, issue)`);
  }
}
