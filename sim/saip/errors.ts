// Errors of the SAIP (SIMalliance/TCA eUICC Profile Package, v2.x) layer.
// Structural DER problems are DerError (sim/rsp/der.ts) with the byte offset in
// the package; SaipError covers what is well-formed DER but not a usable profile
// (a missing PE or file, bad file content) and bad personalisation input. Each
// carries the PEStatus code (PEDefinitions EUICCResponse) an eUICC would report.

/** PEStatus.status values (PEDefinitions) used by this layer. */
export const PE_STATUS = {
  ok: 0,
  peNotSupported: 1,
  badValues: 3,
  invalidRequestFormat: 5,
  invalidParameter: 6,
} as const;

export type SaipErrorKind = 'missingElement' | 'missingFile' | 'invalidContent' | 'unsupportedLayout' | 'invalidInput';

export class SaipError extends Error {
  override readonly name = 'SaipError';
  constructor(
    readonly kind: SaipErrorKind,
    message: string,
    readonly details: {
      /** PEStatus code an eUICC would answer (undefined for caller input errors) */
      peStatus?: number;
      /** offset of the offending TLV in the package */
      offset?: number;
      /** personalisation field for kind 'invalidInput' */
      field?: 'iccid' | 'imsi';
      cause?: unknown;
    } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
  }

  get peStatus(): number | undefined {
    return this.details.peStatus;
  }
  get offset(): number | undefined {
    return this.details.offset;
  }
  get field(): 'iccid' | 'imsi' | undefined {
    return this.details.field;
  }
}
