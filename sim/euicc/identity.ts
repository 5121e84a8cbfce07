// The eUICC's identities (SGP.22 2.6 / 4.5.2.1: CERT.EUICC.ECDSA signed by the EUM,
// CERT.EUM.ECDSA signed by a CI; SK.EUICC.ECDSA signs euiccSigned1/2, the PIR and the
// notifications, 5.7.13, 5.7.5, 5.7.6, 5.7.10). Either the SGP.26 test eUICC
// (NIST P-256 and/or brainpoolP256r1, EID 89049032123451234512345678901235) or a
// freshly issued EID with certificates from the SGP.26 EUMs. The private key never
// leaves the identity object (no getter, redacted in JSON and console output).
import { loadCert, loadKeyPair } from '../../certs/store.ts';
import { issueEuicc, randomEid } from '../../certs/issue.ts';
import { parseCert } from '../../certs/cert.ts';
import { sign as ecdsaSign } from '../crypto/ecdsa.ts';
import { publicKeyFromPrivate } from '../crypto/keys.ts';
import type { CurveName } from '../crypto/curves.ts';
import { equalBytes, hexToBytes, toHex } from '../bytes.ts';

export class IdentityError extends Error {
  override readonly name = 'IdentityError';
}

/** One eUICC certificate with its key: signs, never reveals the key. */
export interface EuiccIdentity {
  readonly curve: CurveName;
  /** 32 digits */
  readonly eid: string;
  /** CERT.EUICC.ECDSA, DER */
  readonly certificate: Uint8Array;
  /** CERT.EUM.ECDSA, DER */
  readonly eumCertificate: Uint8Array;
  /** subject key id of the CI the EUM chains to, lowercase hex (an entry of euiccCiPKIdListForSigning) */
  readonly ciKeyId: string;
  /** ECDSA-SHA256 r||s over `message` with SK.EUICC.ECDSA */
  sign(message: Uint8Array): Uint8Array;
}

/** What the state file keeps of a freshly issued identity (card NVM). */
export interface PersistedIdentity {
  curve: CurveName;
  /** hex DER */
  certificate: string;
  /** hex DER */
  eumCertificate: string;
  /** hex, 32 bytes */
  privateKey: string;
}

const inspectSymbol = Symbol.for('nodejs.util.inspect.custom');

class KeyedIdentity implements EuiccIdentity {
  readonly #privateKey: Uint8Array;
  readonly curve: CurveName;
  readonly eid: string;
  readonly ciKeyId: string;

  constructor(
    readonly certificate: Uint8Array,
    readonly eumCertificate: Uint8Array,
    privateKey: Uint8Array,
  ) {
    const cert = parseCert(certificate);
    const eum = parseCert(eumCertificate);
    if (cert.eid === undefined) throw new IdentityError('eUICC certificate has no EID (subject serialNumber)');
    if (cert.authorityKeyId !== eum.subjectKeyId) throw new IdentityError(`eUICC certificate AKI ${cert.authorityKeyId} is not the EUM key id ${eum.subjectKeyId}`);
    if (!eum.authorityKeyId) throw new IdentityError('EUM certificate has no authorityKeyIdentifier');
    if (!equalBytes(publicKeyFromPrivate(cert.curve, privateKey), cert.publicKey)) throw new IdentityError('private key does not match the eUICC certificate');
    this.#privateKey = privateKey.slice();
    this.curve = cert.curve;
    this.eid = cert.eid;
    this.ciKeyId = eum.authorityKeyId;
  }

  sign(message: Uint8Array): Uint8Array {
    return ecdsaSign(this.curve, this.#privateKey, message);
  }

  /** for the state file only */
  persist(): PersistedIdentity {
    return { curve: this.curve, certificate: toHex(this.certificate), eumCertificate: toHex(this.eumCertificate), privateKey: toHex(this.#privateKey) };
  }

  toJSON(): Record<string, unknown> {
    return { curve: this.curve, eid: this.eid, ciKeyId: this.ciKeyId, privateKey: '<redacted>' };
  }

  [inspectSymbol](): string {
    return `EuiccIdentity ${JSON.stringify(this.toJSON())}`;
  }
}

function tag(curve: CurveName): 'NIST' | 'BRP' {
  return curve === 'P-256' ? 'NIST' : 'BRP';
}

/** The SGP.26 test eUICC of one curve. */
// Identities are immutable and the SGP.26 files do not change while the process runs:
// building one (certificate parsing, public key from the private key) costs more than
// a whole ES10 session, and every software eUICC a suite or a benchmark creates needs it.
const sgp26Cache = new Map<CurveName, EuiccIdentity>();

export function sgp26Identity(curve: CurveName): EuiccIdentity {
  let id = sgp26Cache.get(curve);
  if (!id) {
    const t = tag(curve);
    id = new KeyedIdentity(loadCert(`EUICC_${t}`).der, loadCert(`EUM_${t}`).der, loadKeyPair(`EUICC_${t}`).privateKey);
    sgp26Cache.set(curve, id);
  }
  return id;
}

export function sgp26Identities(choice: 'nist' | 'brp' | 'both'): EuiccIdentity[] {
  if (choice === 'nist') return [sgp26Identity('P-256')];
  if (choice === 'brp') return [sgp26Identity('brainpoolP256r1')];
  return [sgp26Identity('P-256'), sgp26Identity('brainpoolP256r1')];
}

/** Fresh identities sharing one EID (default: random under 89049032), one per curve. */
export async function issueFreshIdentities(opts: { eid?: string; curves?: readonly CurveName[] } = {}): Promise<{ identities: EuiccIdentity[]; persisted: PersistedIdentity[] }> {
  const eid = opts.eid ?? randomEid();
  const curves = opts.curves ?? ['P-256', 'brainpoolP256r1'];
  if (curves.length === 0) throw new IdentityError('at least one curve is needed');
  const identities: KeyedIdentity[] = [];
  for (const curve of curves) {
    let issued;
    try {
      issued = await issueEuicc({ eid, curve });
    } catch (e) {
      throw new IdentityError(`cannot issue an eUICC certificate for EID ${eid}: ${(e as Error).message}`);
    }
    identities.push(new KeyedIdentity(issued.der, loadCert(`EUM_${tag(curve)}`).der, issued.key.privateKey));
  }
  return { identities, persisted: identities.map((i) => i.persist()) };
}

/** Rebuild an identity kept in the state file. */
export function identityFromPersisted(p: PersistedIdentity): EuiccIdentity {
  let id: KeyedIdentity;
  try {
    id = new KeyedIdentity(hexToBytes(p.certificate), hexToBytes(p.eumCertificate), hexToBytes(p.privateKey));
  } catch (e) {
    throw new IdentityError(`stored eUICC identity is unusable: ${(e as Error).message}`);
  }
  if (id.curve !== p.curve) throw new IdentityError(`stored eUICC identity says ${p.curve}, its certificate is ${id.curve}`);
  return id;
}

/** Check that the identities form one eUICC: one EID, at most one per curve. */
export function checkIdentities(ids: readonly EuiccIdentity[]): { eid: string; eidBytes: Uint8Array } {
  if (ids.length === 0) throw new IdentityError('an eUICC needs at least one identity');
  const eid = ids[0]!.eid;
  if (ids.some((i) => i.eid !== eid)) throw new IdentityError(`identities have different EIDs: ${ids.map((i) => i.eid).join(', ')}`);
  const curves = ids.map((i) => i.curve);
  if (new Set(curves).size !== curves.length) throw new IdentityError(`two identities on the same curve (${curves.join(', ')})`);
  return { eid, eidBytes: hexToBytes(eid) };
}
