// Typed errors of the sim/crypto modules. CryptoError covers bad inputs to the
// primitives (keys, points, lengths); BspError covers the eUICC-side rejection of
// an SCP03t-protected BPP segment (SGP.22 2.5.4 / 5.5) and carries the
// ProfileInstallationResult errorReason it maps to (SGP.22 v2.5 ASN.1 module:
// scp03tStructureError 7, scp03tSecurityError 8).

export type CryptoErrorKind = 'invalidPoint' | 'invalidKey' | 'invalidLength' | 'invalidInput';

export class CryptoError extends Error {
  override readonly name = 'CryptoError';
  constructor(
    readonly kind: CryptoErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export type BspErrorKind = 'structure' | 'security';

/** SGP.22 ProfileInstallationResult errorReason for each BSP failure kind. */
export const BSP_ERROR_REASON = { structure: 7, security: 8 } as const satisfies Record<BspErrorKind, number>;

export function bspErrorReason(kind: BspErrorKind): 7 | 8 {
  return BSP_ERROR_REASON[kind];
}

export class BspError extends Error {
  override readonly name = 'BspError';
  /** errorReason to put in ProfileInstallationResult (scp03tStructureError 7 / scp03tSecurityError 8). */
  readonly errorReason: 7 | 8;
  constructor(
    readonly kind: BspErrorKind,
    message: string,
  ) {
    super(message);
    this.errorReason = bspErrorReason(kind);
  }
}
