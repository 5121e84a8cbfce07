// Shared types of the fake modem: the card contract it forwards APDUs to, the
// +CME ERROR table of 3GPP TS 27.007 9.2.1 (numeric codes and the verbose texts
// +CMEE=2 prints), and the typed errors every sim/modem module throws.
// ApduTransport is the shared card contract of sim/apdu/apdu.ts.
import type { ApduTransport } from '../apdu/apdu.ts';

export type { ApduTransport };

/** Builds the card behind a modem (the software eUICC, a fake card, a vpcd client...). */
export type ApduTransportFactory = () => ApduTransport | Promise<ApduTransport>;

/** 27.007 9.2.1 general and SIM-related +CME ERROR codes, with the verbose text of +CMEE=2. */
export const CME_ERROR_TEXT: Readonly<Record<number, string>> = {
  0: 'phone failure',
  1: 'no connection to phone',
  3: 'operation not allowed',
  4: 'operation not supported',
  5: 'PH-SIM PIN required',
  10: 'SIM not inserted',
  11: 'SIM PIN required',
  12: 'SIM PUK required',
  13: 'SIM failure',
  14: 'SIM busy',
  15: 'SIM wrong',
  16: 'incorrect password',
  20: 'memory full',
  21: 'invalid index',
  22: 'not found',
  23: 'memory failure',
  24: 'text string too long',
  25: 'invalid characters in text string',
  30: 'no network service',
  31: 'network timeout',
  50: 'incorrect parameters',
  100: 'unknown',
};

export const CME = {
  OPERATION_NOT_ALLOWED: 3,
  OPERATION_NOT_SUPPORTED: 4,
  SIM_NOT_INSERTED: 10,
  SIM_FAILURE: 13,
  SIM_BUSY: 14,
  MEMORY_FULL: 20,
  INVALID_INDEX: 21,
  INCORRECT_PARAMETERS: 50,
  UNKNOWN: 100,
} as const;

/**
 * How a modem reports a failure: a bare `ERROR` whatever +CMEE says, or a +CME ERROR
 * code (shown as `ERROR` with +CMEE=0, the number with +CMEE=1, the text with +CMEE=2).
 */
export type ErrorSpec = { kind: 'error' } | { kind: 'cme'; code: number };

export const BARE_ERROR: ErrorSpec = Object.freeze({ kind: 'error' });
export function cmeError(code: number): ErrorSpec {
  return { kind: 'cme', code };
}

/** A personality file that cannot be loaded: names the file, the field and the problem. */
export class PersonalityError extends Error {
  override readonly name = 'PersonalityError';
  constructor(
    readonly source: string,
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${source}: ${field ? `field '${field}': ` : ''}${problem}`);
  }
}

/** A serial endpoint (mock binding, PTY, socat) failed to start or broke. */
export class ModemEndpointError extends Error {
  override readonly name = 'ModemEndpointError';
}

/** An operation on a modem that has been closed. */
export class ModemClosedError extends Error {
  override readonly name = 'ModemClosedError';
  constructor(what: string) {
    super(`modem is closed (${what})`);
  }
}
