// Activation Code (GSMA SGP.22 v2.5 section 4.1): the text an end user scans or
// types to start a profile download, optionally prefixed "LPA:" in QR codes:
//   [LPA:]1$<SM-DP+ address>$<Matching ID>[$<SM-DP+ OID>[$<1 = Confirmation Code required>]]
// Fields are separated by "$" and cannot contain it. Empty Matching ID and empty
// OID fields are legal and are kept, so parse -> format gives back the same text.

export type ActivationCodeField = 'activationCode' | 'format' | 'smdpAddress' | 'matchingId' | 'smdpOid' | 'confirmationCodeRequired';

export type ActivationCodeErrorReason =
  | 'wrongFormat'
  | 'empty'
  | 'missing'
  | 'tooManyFields'
  | 'containsDelimiter'
  | 'invalidAddress'
  | 'invalidOid'
  | 'invalidFlag'
  | 'nonPrintable';

/** A malformed Activation Code: which field is wrong and why. */
export class ActivationCodeError extends Error {
  override readonly name = 'ActivationCodeError';
  constructor(
    readonly field: ActivationCodeField,
    readonly reason: ActivationCodeErrorReason,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

export interface ActivationCode {
  /** AC_Format; only "1" is defined. */
  format: 1;
  /** SM-DP+ FQDN, optionally with ":port" (test servers). */
  smdpAddress: string;
  /** AC_Token; undefined when the field is empty. */
  matchingId?: string;
  /** SM-DP+ OID (dotted); undefined when the field is absent or empty. */
  smdpOid?: string;
  /** Fifth field "1": the end user must enter a Confirmation Code. */
  confirmationCodeRequired: boolean;
}

export interface FormatActivationCodeOptions {
  /** Prefix the text with "LPA:" as QR codes do (default false). */
  lpaPrefix?: boolean;
}

export const LPA_PREFIX = 'LPA:';
const FIELDS: readonly ActivationCodeField[] = ['format', 'smdpAddress', 'matchingId', 'smdpOid', 'confirmationCodeRequired'];
const FIELD_LABEL: Record<ActivationCodeField, string> = {
  activationCode: 'Activation Code',
  format: 'AC_Format',
  smdpAddress: 'SM-DP+ address',
  matchingId: 'Matching ID',
  smdpOid: 'SM-DP+ OID',
  confirmationCodeRequired: 'Confirmation Code Required flag',
};

// FQDN labels (letters, digits, inner hyphens), dot-separated, optional :port.
const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?';
const ADDRESS = new RegExp(`^${LABEL}(?:\\.${LABEL})*(?::(\\d{1,5}))?$`);
const OID = /^[0-2](?:\.(?:0|[1-9]\d*))+$/;

function checkPrintable(field: ActivationCodeField, value: string): void {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x21 || c > 0x7e)
      throw new ActivationCodeError(
        field,
        'nonPrintable',
        `character ${JSON.stringify(value[i])} (U+${c.toString(16).toUpperCase().padStart(4, '0')}) at position ${i} is not printable ASCII`,
      );
  }
}

function checkNoDelimiter(field: ActivationCodeField, value: string): void {
  const i = value.indexOf('$');
  if (i >= 0)
    throw new ActivationCodeError(field, 'containsDelimiter', `"$" at position ${i}: "$" is the field delimiter and cannot appear inside a field`);
}

function checkAddress(address: string): void {
  if (address === '') throw new ActivationCodeError('smdpAddress', 'empty', `the ${FIELD_LABEL.smdpAddress} is mandatory and cannot be empty`);
  const m = ADDRESS.exec(address);
  if (!m) throw new ActivationCodeError('smdpAddress', 'invalidAddress', `"${address}" is not a fully qualified domain name (optionally :port)`);
  if (m[1] !== undefined && (Number(m[1]) < 1 || Number(m[1]) > 65535))
    throw new ActivationCodeError('smdpAddress', 'invalidAddress', `port ${m[1]} is outside 1..65535`);
}

function checkOid(oid: string): void {
  if (!OID.test(oid)) throw new ActivationCodeError('smdpOid', 'invalidOid', `"${oid}" is not a dotted OBJECT IDENTIFIER (e.g. 1.3.6.1.4.1.31746)`);
  const arcs = oid.split('.');
  if (arcs[0] !== '2' && Number(arcs[1]) >= 40)
    throw new ActivationCodeError('smdpOid', 'invalidOid', `"${oid}": the second arc must be below 40 under arc ${arcs[0]}`);
}

/**
 * Parse an Activation Code, with or without the "LPA:" prefix.
 * Throws ActivationCodeError naming the field and the reason.
 */
export function parseActivationCode(text: string): ActivationCode {
  const body = text.startsWith(LPA_PREFIX) ? text.slice(LPA_PREFIX.length) : text;
  if (body === '') throw new ActivationCodeError('activationCode', 'empty', 'the Activation Code is empty');
  const parts = body.split('$');
  if (parts.length > FIELDS.length)
    throw new ActivationCodeError(
      'activationCode',
      'tooManyFields',
      `${parts.length} "$"-separated fields, at most ${FIELDS.length} are defined; "$" is the delimiter and cannot appear inside a field`,
    );
  parts.forEach((p, i) => checkPrintable(FIELDS[i]!, p));

  const [format, smdpAddress, matchingId, smdpOid, cc] = parts;
  if (format !== '1')
    throw new ActivationCodeError('format', 'wrongFormat', `AC_Format must be "1", got ${JSON.stringify(format)}${text.slice(0, 4).toUpperCase() === LPA_PREFIX ? ' (the "LPA:" prefix is case-sensitive)' : ''}`);
  if (smdpAddress === undefined) throw new ActivationCodeError('smdpAddress', 'missing', `the ${FIELD_LABEL.smdpAddress} field is missing`);
  checkAddress(smdpAddress);
  if (matchingId === undefined)
    throw new ActivationCodeError('matchingId', 'missing', `the ${FIELD_LABEL.matchingId} field is missing (it may be empty, but its "$" delimiter is mandatory)`);
  if (smdpOid !== undefined && smdpOid !== '') checkOid(smdpOid);
  if (smdpOid === '' && cc === undefined)
    throw new ActivationCodeError('smdpOid', 'empty', 'an empty trailing SM-DP+ OID field is not allowed: omit its "$" delimiter');
  if (cc !== undefined && cc !== '1')
    throw new ActivationCodeError('confirmationCodeRequired', 'invalidFlag', `the flag must be "1" when present, got ${JSON.stringify(cc)}`);

  const ac: ActivationCode = { format: 1, smdpAddress, confirmationCodeRequired: cc === '1' };
  if (matchingId !== '') ac.matchingId = matchingId;
  if (smdpOid !== undefined && smdpOid !== '') ac.smdpOid = smdpOid;
  return ac;
}

/**
 * Format an Activation Code. Empty fields are written only where a later field
 * needs them (an empty Matching ID always, an empty OID before a CC flag).
 */
export function formatActivationCode(ac: ActivationCode, options: FormatActivationCodeOptions = {}): string {
  if (ac.format !== 1) throw new ActivationCodeError('format', 'wrongFormat', `AC_Format must be 1, got ${String(ac.format)}`);
  const fields: [ActivationCodeField, string | undefined][] = [
    ['smdpAddress', ac.smdpAddress],
    ['matchingId', ac.matchingId],
    ['smdpOid', ac.smdpOid],
  ];
  for (const [field, value] of fields) {
    if (value === undefined) continue;
    checkNoDelimiter(field, value);
    checkPrintable(field, value);
  }
  checkAddress(ac.smdpAddress);
  if (ac.smdpOid !== undefined && ac.smdpOid !== '') checkOid(ac.smdpOid);

  const out = ['1', ac.smdpAddress, ac.matchingId ?? ''];
  const oid = ac.smdpOid ?? '';
  if (oid !== '' || ac.confirmationCodeRequired) out.push(oid);
  if (ac.confirmationCodeRequired) out.push('1');
  return (options.lpaPrefix ? LPA_PREFIX : '') + out.join('$');
}
