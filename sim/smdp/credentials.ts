// SM-DP+ credentials (SGP.22 4.5.2 certificates, SGP.26 test PKI): per curve the CI it
// chains to, CERT.DPauth.ECDSA (ES9+/ES11 server authentication, 5.6.1) and CERT.DPpb.ECDSA
// (profile binding, 5.6.3 / 5.5.1) with their keys, selected from the eUICC's CI key id
// lists; and the TLS identity (CERT.DPtls for the server's hostname, minted from the SGP.26
// CI, key file 0600 in the data dir). Private keys stay in this module's objects and are
// redacted from JSON and util.inspect output.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCert, loadKeyPair, sgp26TrustedCis } from '../../certs/store.ts';
import { certificatePem, parseCert, CertParseError, type ParsedCert } from '../../certs/cert.ts';
import { issueDpAuth, issueDpPb, issueTls, SGP26_SMDP_OID } from '../../certs/issue.ts';
import type { TrustedCi } from '../../certs/chain.ts';
import { sign } from '../crypto/ecdsa.ts';
import { parsePrivateKey, encodePrivateKeyPem, type CurveKeyPair } from '../crypto/keys.ts';
import type { CurveName } from '../crypto/curves.ts';
import { CryptoError } from '../crypto/errors.ts';
import { writeFileAtomic } from '../store/atomic-file.ts';
import { SmdpConfigError } from './errors.ts';

const inspectSymbol = Symbol.for('nodejs.util.inspect.custom');
const DAY = 86_400_000;

/** A certificate with its signing key (the key never leaves through JSON/inspect). */
export class SigningIdentity {
  readonly #key: CurveKeyPair;
  constructor(
    readonly cert: ParsedCert,
    key: CurveKeyPair,
  ) {
    this.#key = key;
  }

  get curve(): CurveName {
    return this.cert.curve;
  }

  /** ECDSA-SHA256, raw r||s (BSI TR-03111) as SGP.22 puts in tag 5F37. */
  sign(message: Uint8Array): Uint8Array {
    return sign(this.#key.curve, this.#key.privateKey, message);
  }

  /** Same key, another certificate (expired variants). */
  withCert(cert: ParsedCert): SigningIdentity {
    return new SigningIdentity(cert, this.#key);
  }

  /** Key pair for minting certificates of the same key (certs/issue.ts). */
  keyPairForIssuing(): CurveKeyPair {
    return this.#key;
  }

  toJSON(): Record<string, unknown> {
    return { subject: this.cert.subject, curve: this.curve, notAfter: this.cert.notAfter.toISOString(), key: '<redacted>' };
  }

  [inspectSymbol](): string {
    return `SigningIdentity ${JSON.stringify(this.toJSON())}`;
  }
}

export interface CurveCredentials {
  curve: CurveName;
  ci: TrustedCi;
  dpAuth: SigningIdentity;
  dpPb: SigningIdentity;
}

export type ExpirableCert = 'dpauth' | 'dppb' | 'dptls';

/** DPauth/DPpb of both SGP.26 curves, by CI key id. */
export class SmdpCredentials {
  readonly trustedCis: readonly TrustedCi[];
  readonly #byCi = new Map<string, CurveCredentials>();
  readonly #expired = new Map<string, CurveCredentials>();
  /** SM-DP+ OID (SAN registeredID of CERT.DPauth) */
  readonly smdpOid: string;

  constructor() {
    this.trustedCis = sgp26TrustedCis();
    for (const [tag, curve] of [['NIST', 'P-256'], ['BRP', 'brainpoolP256r1']] as const) {
      const ci = this.trustedCis.find((c) => c.curve === curve);
      if (!ci) throw new SmdpConfigError(`no SGP.26 CI for ${curve}`);
      const dpAuth = new SigningIdentity(loadCert(`DPauth_${tag}`), loadKeyPair(`DPauth_${tag}`));
      const dpPb = new SigningIdentity(loadCert(`DPpb_${tag}`), loadKeyPair(`DPpb_${tag}`));
      this.#byCi.set(ci.keyId, { curve, ci, dpAuth, dpPb });
    }
    this.smdpOid = [...this.#byCi.values()][0]!.dpAuth.cert.sanRegisteredIds[0] ?? SGP26_SMDP_OID;
  }

  /** CI key ids (lowercase hex) this SM-DP+ has DPauth/DPpb certificates for. */
  ciKeyIds(): string[] {
    return [...this.#byCi.keys()];
  }

  isTrustedCi(keyId: string): boolean {
    return this.trustedCis.some((c) => c.keyId === keyId.toLowerCase());
  }

  /** Credentials for a CI key id; the expired variants while that misbehaviour is on. */
  forCi(keyId: string, expired: readonly ExpirableCert[] = []): CurveCredentials | undefined {
    const base = this.#byCi.get(keyId.toLowerCase());
    if (!base) return undefined;
    const exp = this.#expired.get(base.ci.keyId);
    if (!exp) return base;
    return {
      ...base,
      dpAuth: expired.includes('dpauth') ? exp.dpAuth : base.dpAuth,
      dpPb: expired.includes('dppb') ? exp.dpPb : base.dpPb,
    };
  }

  forCurve(curve: CurveName, expired: readonly ExpirableCert[] = []): CurveCredentials {
    const c = [...this.#byCi.values()].find((x) => x.curve === curve);
    if (!c) throw new SmdpConfigError(`no credentials for ${curve}`);
    return this.forCi(c.ci.keyId, expired)!;
  }

  /** Mint expired DPauth/DPpb certificates (same keys, validity ended yesterday) for both curves. */
  async prepareExpired(): Promise<void> {
    if (this.#expired.size > 0) return;
    const notBefore = new Date(Date.now() - 60 * DAY);
    const notAfter = new Date(Date.now() - DAY);
    for (const c of this.#byCi.values()) {
      const auth = await issueDpAuth({ key: c.dpAuth.keyPairForIssuing(), notBefore, notAfter, smdpOid: this.smdpOid });
      const pb = await issueDpPb({ key: c.dpPb.keyPairForIssuing(), notBefore, notAfter, smdpOid: this.smdpOid });
      this.#expired.set(c.ci.keyId, { ...c, dpAuth: c.dpAuth.withCert(auth.cert), dpPb: c.dpPb.withCert(pb.cert) });
    }
  }
}

/** A TLS server certificate and its key (the key is only handed to node:tls). */
export class TlsIdentity {
  readonly #keyPem: string;
  constructor(
    readonly hostname: string,
    readonly cert: ParsedCert,
    keyPem: string,
  ) {
    this.#keyPem = keyPem;
  }

  get certPem(): string {
    return certificatePem(this.cert.der);
  }

  /** cert/key options for tls.createSecureContext. */
  contextOptions(): { cert: string; key: string } {
    return { cert: this.certPem, key: this.#keyPem };
  }

  toJSON(): Record<string, unknown> {
    return { hostname: this.hostname, subject: this.cert.subject, notAfter: this.cert.notAfter.toISOString(), key: '<redacted>' };
  }

  [inspectSymbol](): string {
    return `TlsIdentity ${JSON.stringify(this.toJSON())}`;
  }
}

function usable(cert: ParsedCert, hostname: string): boolean {
  const now = Date.now();
  return cert.sanDnsNames.includes(hostname) && cert.notBefore.getTime() <= now && cert.notAfter.getTime() > now + DAY;
}

/** An identity found in the data dir, or issued in memory and written there by persist(). */
export interface PreparedIdentity<T> {
  readonly identity: T;
  /** whether it was issued now (persist() writes it) */
  readonly issued: boolean;
  /** write a newly issued identity to the data dir (no-op for one read from there) */
  persist(): void;
}

/**
 * The DPtls identity for `hostname`: `dataDir`/tls/<hostname>.{cert,key}.pem while valid,
 * otherwise a new one chained to the SGP.26 CI (NIST). Nothing is written until persist(),
 * so a start that fails before its database is committed leaves no trace in the data dir.
 * An unreadable or mismatched pair is replaced (`warn` says so): clients trust the CI, not
 * one certificate, so a new DPtls certificate changes nothing for them.
 */
export async function prepareTlsIdentity(dataDir: string, hostname: string, warn: (message: string) => void = () => undefined): Promise<PreparedIdentity<TlsIdentity>> {
  const dir = join(dataDir, 'tls');
  const certPath = join(dir, `${hostname}.cert.pem`);
  const keyPath = join(dir, `${hostname}.key.pem`);
  if (existsSync(certPath) && existsSync(keyPath)) {
    try {
      const cert = parseCert(readFileSync(certPath, 'utf8'));
      const keyPem = readFileSync(keyPath, 'utf8');
      const key = parsePrivateKey(keyPem);
      if (Buffer.compare(key.publicKey, cert.publicKey) !== 0) warn(`${certPath}: does not match ${keyPath}; a new DPtls certificate replaces it`);
      else if (usable(cert, hostname)) return { identity: new TlsIdentity(hostname, cert, keyPem), issued: false, persist: () => undefined };
    } catch (e) {
      if (!(e instanceof CertParseError) && !(e instanceof CryptoError)) throw e;
      warn(`${certPath}: unreadable (${e.message}); a new DPtls certificate replaces it`);
    }
  }
  const issued = await issueTls({ host: hostname, curve: 'P-256', notAfter: new Date(Date.now() + 365 * DAY) });
  return {
    identity: new TlsIdentity(hostname, issued.cert, issued.keyPem),
    issued: true,
    persist: () => {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      writeFileAtomic(keyPath, issued.keyPem, 0o600);
      writeFileAtomic(certPath, issued.pem, 0o600);
    },
  };
}

/** An expired DPtls certificate for `hostname` (misbehaviour 'expired DPtls'); not stored. */
export async function expiredTlsIdentity(hostname: string): Promise<TlsIdentity> {
  const issued = await issueTls({ host: hostname, curve: 'P-256', notBefore: new Date(Date.now() - 60 * DAY), notAfter: new Date(Date.now() - DAY) });
  return new TlsIdentity(hostname, issued.cert, encodePrivateKeyPem(issued.key));
}
