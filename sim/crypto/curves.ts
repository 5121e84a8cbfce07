// The two elliptic curves SGP.22 allows (SGP.22 2.6.5 / SGP.14): NIST P-256 and
// brainpoolP256r1, as @noble/curves objects, with the OIDs certificates use to
// name them. Every ECDSA/ECKA helper takes a CurveName so that NIST and brainpool
// identities go through the same code.
import { p256 } from '@noble/curves/nist.js';
import { brainpoolP256r1 } from '@noble/curves/misc.js';

export type CurveName = 'P-256' | 'brainpoolP256r1';

export const CURVES = {
  'P-256': p256,
  brainpoolP256r1,
} as const;

/** namedCurve OIDs as they appear in SubjectPublicKeyInfo. */
export const CURVE_OIDS: Record<CurveName, string> = {
  'P-256': '1.2.840.10045.3.1.7',
  brainpoolP256r1: '1.3.36.3.3.2.8.1.1.7',
};

export function curveByOid(oid: string): CurveName | undefined {
  return (Object.keys(CURVE_OIDS) as CurveName[]).find((c) => CURVE_OIDS[c] === oid);
}

export function curve(name: CurveName) {
  return CURVES[name];
}
