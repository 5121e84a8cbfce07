// The SGP.26 test PKI shipped in certs/sgp26 (published GSMA test material: CI,
// EUM, eUICC, DPauth, DPpb and DPtls certificates with their private keys, NIST
// P-256 and brainpoolP256r1), by name. SGP.22 4.5.2 describes the certificates;
// SGP.26 the test values. Every certificate here has its private key (SK_*.pem).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { parseCert, type CertRole, type ParsedCert } from './cert.ts';
import { trustedCiFromCert, type TrustedCi } from './chain.ts';
import { parsePrivateKey, type CurveKeyPair } from '../sim/crypto/keys.ts';
import { equalBytes } from '../sim/bytes.ts';
import { CryptoError } from '../sim/crypto/errors.ts';
import type { CurveName } from '../sim/crypto/curves.ts';

/** Directory of the SGP.26 files. */
export const SGP26_DIR = fileURLToPath(new URL('./sgp26/', import.meta.url));

interface StoreFile {
  role: CertRole;
  cert: string;
  key: string;
}

const FILES = {
  CI_NIST: { role: 'CI', cert: 'CertificateIssuer/CERT_CI_ECDSA_NIST.der', key: 'CertificateIssuer/SK_CI_ECDSA_NIST.pem' },
  CI_BRP: { role: 'CI', cert: 'CertificateIssuer/CERT_CI_ECDSA_BRP.der', key: 'CertificateIssuer/SK_CI_ECDSA_BRP.pem' },
  EUM_NIST: { role: 'EUM', cert: 'EUM/CERT_EUM_ECDSA_NIST.der', key: 'EUM/SK_EUM_ECDSA_NIST.pem' },
  EUM_BRP: { role: 'EUM', cert: 'EUM/CERT_EUM_ECDSA_BRP.der', key: 'EUM/SK_EUM_ECDSA_BRP.pem' },
  EUICC_NIST: { role: 'EUICC', cert: 'eUICC/CERT_EUICC_ECDSA_NIST.der', key: 'eUICC/SK_EUICC_ECDSA_NIST.pem' },
  EUICC_BRP: { role: 'EUICC', cert: 'eUICC/CERT_EUICC_ECDSA_BRP.der', key: 'eUICC/SK_EUICC_ECDSA_BRP.pem' },
  DPauth_NIST: { role: 'DPauth', cert: 'DPauth/CERT_S_SM_DPauth_ECDSA_NIST.der', key: 'DPauth/SK_S_SM_DPauth_ECDSA_NIST.pem' },
  DPauth_BRP: { role: 'DPauth', cert: 'DPauth/CERT_S_SM_DPauth_ECDSA_BRP.der', key: 'DPauth/SK_S_SM_DPauth_ECDSA_BRP.pem' },
  DP2auth_NIST: { role: 'DPauth', cert: 'DPauth/CERT_S_SM_DP2auth_ECDSA_NIST.der', key: 'DPauth/SK_S_SM_DP2auth_ECDSA_NIST.pem' },
  DP2auth_BRP: { role: 'DPauth', cert: 'DPauth/CERT_S_SM_DP2auth_ECDSA_BRP.der', key: 'DPauth/SK_S_SM_DP2auth_ECDSA_BRP.pem' },
  DPpb_NIST: { role: 'DPpb', cert: 'DPpb/CERT_S_SM_DPpb_ECDSA_NIST.der', key: 'DPpb/SK_S_SM_DPpb_ECDSA_NIST.pem' },
  DPpb_BRP: { role: 'DPpb', cert: 'DPpb/CERT_S_SM_DPpb_ECDSA_BRP.der', key: 'DPpb/SK_S_SM_DPpb_ECDSA_BRP.pem' },
  DP2pb_NIST: { role: 'DPpb', cert: 'DPpb/CERT_S_SM_DP2pb_ECDSA_NIST.der', key: 'DPpb/SK_S_SM_DP2pb_ECDSA_NIST.pem' },
  DP2pb_BRP: { role: 'DPpb', cert: 'DPpb/CERT_S_SM_DP2pb_ECDSA_BRP.der', key: 'DPpb/SK_S_SM_DP2pb_ECDSA_BRP.pem' },
  DPtls_NIST: { role: 'DPtls', cert: 'DPtls/CERT_S_SM_DP_VARO_TLS_NIST.der', key: 'DPtls/SK_S_SM_DP_TLS_NIST.pem' },
  DPtls_BRP: { role: 'DPtls', cert: 'DPtls/CERT_S_SM_DP_VARO_TLS_BRP.der', key: 'DPtls/SK_S_SM_DP_TLS_BRP.pem' },
  DP2_TLS: { role: 'DPtls', cert: 'DPtls/CERT_S_SM_DP2_TLS.der', key: 'DPtls/SK_S_SM_DP2_TLS_NIST.pem' },
  DP4_TLS: { role: 'DPtls', cert: 'DPtls/CERT_S_SM_DP4_TLS.der', key: 'DPtls/SK_S_SM_DP4_TLS.pem' },
  DP8_TLS: { role: 'DPtls', cert: 'DPtls/CERT_S_SM_DP8_TLS.der', key: 'DPtls/SK_S_SM_DP8_TLS.pem' },
} as const satisfies Record<string, StoreFile>;

export type StoreName = keyof typeof FILES;

export const STORE_NAMES = Object.keys(FILES) as StoreName[];

export interface StoreEntry {
  name: StoreName;
  role: CertRole;
  curve: CurveName;
  subject: string;
  /** lowercase hex */
  subjectKeyId: string;
  /** lowercase hex; the CI's own entry has none */
  authorityKeyId?: string;
  notBefore: Date;
  notAfter: Date;
  certDer: Uint8Array;
  /** file names relative to SGP26_DIR */
  certFile: string;
  keyFile: string;
}

export class StoreError extends Error {
  override readonly name = 'StoreError';
}

export function isStoreName(s: string): s is StoreName {
  return Object.hasOwn(FILES, s);
}

function checkName(name: string): StoreName {
  if (!isStoreName(name)) throw new StoreError(`unknown certificate '${name}' (known: ${STORE_NAMES.join(', ')})`);
  return name;
}

const certCache = new Map<StoreName, ParsedCert>();

/** The parsed certificate of a store entry. */
export function loadCert(name: StoreName | string): ParsedCert {
  const n = checkName(name);
  let cert = certCache.get(n);
  if (!cert) {
    cert = parseCert(readFileSync(join(SGP26_DIR, FILES[n].cert)));
    certCache.set(n, cert);
  }
  return cert;
}

/** The key pair of a store entry; the private key is checked against the certificate's public key. */
export function loadKeyPair(name: StoreName | string): CurveKeyPair {
  const n = checkName(name);
  const key = parsePrivateKey(readFileSync(join(SGP26_DIR, FILES[n].key), 'utf8'));
  const cert = loadCert(n);
  if (key.curve !== cert.curve || !equalBytes(key.publicKey, cert.publicKey))
    throw new CryptoError('invalidKey', `${FILES[n].key} does not match the public key of ${FILES[n].cert}`);
  return key;
}

export function listCerts(): StoreEntry[] {
  return STORE_NAMES.map((name) => {
    const c = loadCert(name);
    if (!c.subjectKeyId) throw new StoreError(`${FILES[name].cert} has no subjectKeyIdentifier`);
    return {
      name,
      role: FILES[name].role,
      curve: c.curve,
      subject: c.subject,
      subjectKeyId: c.subjectKeyId,
      ...(c.authorityKeyId !== undefined ? { authorityKeyId: c.authorityKeyId } : {}),
      notBefore: c.notBefore,
      notAfter: c.notAfter,
      certDer: c.der,
      certFile: FILES[name].cert,
      keyFile: FILES[name].key,
    };
  });
}

/** The SGP.26 CIs (NIST and brainpool) as trust anchors. */
export function sgp26TrustedCis(): TrustedCi[] {
  return [trustedCiFromCert(loadCert('CI_NIST').der), trustedCiFromCert(loadCert('CI_BRP').der)];
}

/** Store entries of a role, e.g. every EUM certificate. */
export function certsOfRole(role: CertRole): ParsedCert[] {
  return STORE_NAMES.filter((n) => FILES[n].role === role).map((n) => loadCert(n));
}

/** The store certificate whose subjectKeyIdentifier is `keyId` (lowercase or uppercase hex). */
export function findBySubjectKeyId(keyId: string): { name: StoreName; cert: ParsedCert } | undefined {
  const id = keyId.toLowerCase();
  for (const name of STORE_NAMES) {
    const cert = loadCert(name);
    if (cert.subjectKeyId === id) return { name, cert };
  }
  return undefined;
}
