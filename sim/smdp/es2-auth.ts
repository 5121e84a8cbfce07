// Who may call ES2+ (SGP.22 5.3, operator -> SM-DP+ over mutual TLS, 6.5 HTTPS binding):
// only clients with a certificate from an operator CA configured for ES2+, and each only
// under its own name (the functionRequesterIdentifier of a request must be the subject CN
// of its certificate). The CA is the operator's (`--operator-ca FILE`), or, when none is
// given, one the SM-DP+ creates in its data dir on first start (es2/operator-ca.*, key
// 0600) together with a client certificate for `bridgelab smdp order` on the same machine
// (es2/client.*). The SGP.26 test CI, whose private key is published, is accepted only in
// the explicit ES2+ test-CA mode; test mode (no client certificate at all) is explicit too.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { certificatePem, CertParseError, parseCert, type ParsedCert } from '../../certs/cert.ts';
import { issueCertificate, issueTls, type Authority } from '../../certs/issue.ts';
import { loadCert } from '../../certs/store.ts';
import { CryptoError } from '../crypto/errors.ts';
import { encodePrivateKeyPem, generateKey, parsePrivateKey } from '../crypto/keys.ts';
import { writeFileAtomic } from '../store/atomic-file.ts';
import { SmdpConfigError, SmdpStateError } from './errors.ts';
import type { PreparedIdentity } from './credentials.ts';

const DAY = 86_400_000;
/** subject CN (and functionRequesterIdentifier) of the client certificate the SM-DP+ issues */
export const LOCAL_OPERATOR_NAME = 'operator.bridgelab.test';

export type Es2Mode =
  /** client certificates of the configured operator CA(s) */
  | 'operator-ca'
  /** client certificates of the data dir's own operator CA */
  | 'data-dir-ca'
  /** test: any client without a certificate, requester not checked */
  | 'open';

export interface Es2Auth {
  readonly mode: Es2Mode;
  /** PEM of every CA a client certificate may chain to (server `ca`) */
  readonly cas: readonly string[];
  /** the SGP.26 CI is among them (explicit test mode) */
  readonly sgp26Accepted: boolean;
  /** one line for the start-up output */
  readonly description: string;
  /** write a newly created data-dir CA and client identity */
  persist(): void;
}

export interface Es2AuthOptions {
  /** PEM of the operator CA(s) */
  operatorCa?: string | readonly string[];
  /** also accept client certificates of the SGP.26 CI (its key is public: test rigs only) */
  es2TestCa?: boolean;
  /** no client certificate at all (test only) */
  testMode?: boolean;
}

/** Where the data-dir operator CA and its client identity live. */
export function es2Paths(dataDir: string): { dir: string; caCert: string; caKey: string; clientCert: string; clientKey: string } {
  const dir = join(dataDir, 'es2');
  return { dir, caCert: join(dir, 'operator-ca.cert.pem'), caKey: join(dir, 'operator-ca.key.pem'), clientCert: join(dir, 'client.cert.pem'), clientKey: join(dir, 'client.key.pem') };
}

/** Check a configured operator CA: PEM certificate(s) of a CA. */
function checkOperatorCas(pems: readonly string[]): string[] {
  return pems.map((pem, i) => {
    let cert: ParsedCert;
    try {
      cert = parseCert(pem);
    } catch (e) {
      if (e instanceof CertParseError) throw new SmdpConfigError(`operator CA ${i + 1}: not a certificate (${e.message})`);
      throw e;
    }
    if (cert.basicConstraints?.ca !== true) throw new SmdpConfigError(`operator CA ${i + 1} (${cert.subject}) is not a CA certificate (basicConstraints cA)`);
    return certificatePem(cert.der);
  });
}

/** The data dir's operator CA and client identity: read them, or issue new ones (written by persist). */
async function dataDirCa(dataDir: string): Promise<PreparedIdentity<{ ca: string }>> {
  const p = es2Paths(dataDir);
  if (existsSync(p.caCert)) {
    try {
      const cert = parseCert(readFileSync(p.caCert, 'utf8'));
      return { identity: { ca: certificatePem(cert.der) }, issued: false, persist: () => undefined };
    } catch (e) {
      if (e instanceof CertParseError) throw new SmdpStateError(`${p.caCert}: not a certificate (${e.message}); restore it, or delete ${p.dir} for a new operator CA (clients then need the new es2/client.* files)`);
      throw e;
    }
  }
  const key = generateKey('P-256');
  const now = Date.now();
  const caDer = await issueCertificate({
    subject: [
      ['CN', 'bridgelab ES2+ operator CA'],
      ['O', 'bridgelab lab operator'],
    ],
    subjectKey: key,
    issuer: { self: key },
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + 20 * 365 * DAY),
    policies: ['2.5.29.32.0'],
    policiesCritical: false,
    keyUsage: ['keyCertSign', 'cRLSign'],
    basicConstraints: { ca: true, pathLength: 0 },
  });
  const authority: Authority = { cert: parseCert(caDer), key };
  const client = await issueTls({ host: LOCAL_OPERATOR_NAME, issuer: authority, smdpOid: null, notAfter: new Date(now + 5 * 365 * DAY) });
  return {
    identity: { ca: certificatePem(caDer) },
    issued: true,
    persist: () => {
      mkdirSync(p.dir, { recursive: true, mode: 0o700 });
      writeFileAtomic(p.caKey, encodePrivateKeyPem(key), 0o600);
      writeFileAtomic(p.caCert, certificatePem(caDer), 0o600);
      writeFileAtomic(p.clientKey, client.keyPem, 0o600);
      writeFileAtomic(p.clientCert, client.pem, 0o600);
    },
  };
}

/** Decide how ES2+ clients authenticate (nothing is written before persist()). */
export async function prepareEs2Auth(dataDir: string, o: Es2AuthOptions): Promise<Es2Auth> {
  if (o.testMode) return { mode: 'open', cas: [], sgp26Accepted: false, description: 'ES2+ TEST MODE: any client, no certificate, requester not checked (never expose this server)', persist: () => undefined };
  const sgp26 = o.es2TestCa ? [certificatePem(loadCert('CI_NIST').der), certificatePem(loadCert('CI_BRP').der)] : [];
  const testNote = o.es2TestCa ? '; ES2+ TEST CA MODE: client certificates of the SGP.26 CI (whose key is public) are accepted too' : '';
  const configured = o.operatorCa === undefined ? [] : typeof o.operatorCa === 'string' ? [o.operatorCa] : [...o.operatorCa];
  if (configured.length > 0) {
    const cas = checkOperatorCas(configured);
    return { mode: 'operator-ca', cas: [...cas, ...sgp26], sgp26Accepted: o.es2TestCa === true, description: `ES2+ clients: certificates of the configured operator CA (${cas.length})${testNote}`, persist: () => undefined };
  }
  const own = await dataDirCa(dataDir);
  const p = es2Paths(dataDir);
  return {
    mode: 'data-dir-ca',
    cas: [own.identity.ca, ...sgp26],
    sgp26Accepted: o.es2TestCa === true,
    description: `ES2+ clients: certificates of ${p.caCert} (local client identity ${p.clientCert})${testNote}`,
    persist: own.persist,
  };
}

/** The client identity `bridgelab smdp order` uses with a data dir's operator CA. */
export function localClientIdentity(dataDir: string): { cert: string; key: string; requester: string } | undefined {
  const p = es2Paths(dataDir);
  if (!existsSync(p.clientCert) || !existsSync(p.clientKey)) return undefined;
  const cert = readFileSync(p.clientCert, 'utf8');
  const key = readFileSync(p.clientKey, 'utf8');
  try {
    parsePrivateKey(key);
    return { cert, key, requester: requesterOf(parseCert(cert)) };
  } catch (e) {
    if (e instanceof CertParseError || e instanceof CryptoError) throw new SmdpStateError(`${p.clientCert}: unusable client identity (${e.message})`);
    throw e;
  }
}

/** The name a client certificate may act under: its subject CN. */
export function requesterOf(cert: Pick<ParsedCert, 'subjectAttributes'>): string {
  const cn = cert.subjectAttributes.find((a) => a.type === 'CN')?.value;
  if (cn === undefined) throw new SmdpConfigError('the client certificate has no subject CN (its functionRequesterIdentifier)');
  return cn;
}
