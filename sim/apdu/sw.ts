// Status words (SW1-SW2) of ISO/IEC 7816-4:2013 5.6 (tables 5-6), ETSI TS 102 221
// 10.2.1 (UICC specific: 91xx proactive command pending, 92xx, 93xx, 98xx) and the
// GlobalPlatform Card Specification 11.1.3 general error conditions, with names for
// traces and reports. `StatusWordError` is how card-side code answers a command
// with an error SW: the card catches it and sends the SW with no data.

/** Named status words. Families (61xx, 6Cxx, 91xx, 63Cx) have a base value with SW2 = 00. */
export const SW = {
  OK: 0x9000,
  /** 61xx: SW2 more bytes available with GET RESPONSE (00 = 256 or more) */
  BYTES_REMAINING: 0x6100,
  WARNING_STATE_UNCHANGED: 0x6200,
  END_OF_FILE: 0x6282,
  SELECTED_FILE_INVALIDATED: 0x6283,
  /** 63Cx: verification failed, x retries left */
  VERIFY_FAILED_RETRIES: 0x63c0,
  EXECUTION_ERROR: 0x6400,
  MEMORY_PROBLEM: 0x6581,
  WRONG_LENGTH: 0x6700,
  LOGICAL_CHANNEL_NOT_SUPPORTED: 0x6881,
  SECURE_MESSAGING_NOT_SUPPORTED: 0x6882,
  LAST_COMMAND_OF_CHAIN_EXPECTED: 0x6883,
  COMMAND_CHAINING_NOT_SUPPORTED: 0x6884,
  COMMAND_INCOMPATIBLE_WITH_FILE_STRUCTURE: 0x6981,
  SECURITY_STATUS_NOT_SATISFIED: 0x6982,
  AUTHENTICATION_METHOD_BLOCKED: 0x6983,
  REFERENCE_DATA_NOT_USABLE: 0x6984,
  CONDITIONS_NOT_SATISFIED: 0x6985,
  COMMAND_NOT_ALLOWED_NO_CURRENT_EF: 0x6986,
  INCORRECT_DATA: 0x6a80,
  FUNCTION_NOT_SUPPORTED: 0x6a81,
  FILE_NOT_FOUND: 0x6a82,
  RECORD_NOT_FOUND: 0x6a83,
  NOT_ENOUGH_MEMORY: 0x6a84,
  INCORRECT_P1P2: 0x6a86,
  LC_INCONSISTENT_WITH_P1P2: 0x6a87,
  REFERENCED_DATA_NOT_FOUND: 0x6a88,
  /** wrong parameters P1-P2 (READ BINARY: offset outside the EF) */
  WRONG_P1P2: 0x6b00,
  /** 6Cxx: wrong Le, SW2 is the exact number of bytes available */
  WRONG_LE: 0x6c00,
  INS_NOT_SUPPORTED: 0x6d00,
  CLA_NOT_SUPPORTED: 0x6e00,
  TECHNICAL_PROBLEM: 0x6f00,
  /** 91xx (TS 102 221): normal ending, proactive command of xx bytes pending (FETCH) */
  PROACTIVE_COMMAND_PENDING: 0x9100,
  /** 92xx (TS 102 221): normal ending, extra information about an ongoing data transfer session */
  DATA_TRANSFER_INFO: 0x9200,
  /** 9300 (TS 102 221): toolkit busy */
  TOOLKIT_BUSY: 0x9300,
  /** 9862 (TS 102 221): authentication error, application specific */
  AUTHENTICATION_ERROR: 0x9862,
  /** 9863 (TS 102 221): security session or association expired */
  SECURITY_SESSION_EXPIRED: 0x9863,
} as const;

export type SwName = keyof typeof SW;

const EXACT_NAMES: ReadonlyMap<number, string> = new Map<number, string>([
  [0x9000, 'normal processing'],
  [0x6200, 'warning: state of non-volatile memory unchanged'],
  [0x6281, 'warning: part of returned data may be corrupted'],
  [0x6282, 'warning: end of file or record reached before reading Ne bytes'],
  [0x6283, 'warning: selected file deactivated'],
  [0x6285, 'warning: selected file in termination state'],
  [0x6300, 'warning: state of non-volatile memory changed'],
  [0x6400, 'execution error: state of non-volatile memory unchanged'],
  [0x6500, 'execution error: state of non-volatile memory changed'],
  [0x6581, 'execution error: memory problem'],
  [0x6700, 'wrong length'],
  [0x6881, 'logical channel not supported'],
  [0x6882, 'secure messaging not supported'],
  [0x6883, 'last command of the chain expected'],
  [0x6884, 'command chaining not supported'],
  [0x6981, 'command incompatible with file structure'],
  [0x6982, 'security status not satisfied'],
  [0x6983, 'authentication method blocked'],
  [0x6984, 'reference data not usable'],
  [0x6985, 'conditions of use not satisfied'],
  [0x6986, 'command not allowed (no current EF)'],
  [0x6999, 'applet selection failed'],
  [0x6a80, 'incorrect parameters in the data field'],
  [0x6a81, 'function not supported'],
  [0x6a82, 'file or application not found'],
  [0x6a83, 'record not found'],
  [0x6a84, 'not enough memory space'],
  [0x6a86, 'incorrect parameters P1-P2'],
  [0x6a87, 'Lc inconsistent with P1-P2'],
  [0x6a88, 'referenced data not found'],
  [0x6b00, 'wrong parameters P1-P2 (offset outside the EF)'],
  [0x6d00, 'instruction code not supported or invalid'],
  [0x6e00, 'class not supported'],
  [0x6f00, 'technical problem, no precise diagnosis'],
  [0x9300, 'toolkit busy'],
  [0x9862, 'authentication error, application specific'],
  [0x9863, 'security session or association expired'],
]);

/** Human-readable meaning of a status word, e.g. `swName(0x6a82)` -> 'file or application not found'. */
export function swName(sw: number): string {
  const exact = EXACT_NAMES.get(sw);
  if (exact) return exact;
  const sw1 = sw >> 8;
  const sw2 = sw & 0xff;
  switch (sw1) {
    case 0x61:
      return `${sw2 === 0 ? '256 or more' : sw2} bytes available (GET RESPONSE)`;
    case 0x6c:
      return `wrong Le, ${sw2 === 0 ? 256 : sw2} bytes available`;
    case 0x91:
      return `normal processing, proactive command of ${sw2} bytes pending`;
    case 0x92:
      return 'normal processing, data transfer session information';
    case 0x9f:
      return `${sw2} bytes available (GSM 51.011 GET RESPONSE)`;
    case 0x62:
      return 'warning: state of non-volatile memory unchanged';
    case 0x63:
      return (sw2 & 0xf0) === 0xc0 ? `verification failed, ${sw2 & 0x0f} retries left` : 'warning: state of non-volatile memory changed';
    case 0x64:
      return 'execution error: state of non-volatile memory unchanged';
    case 0x65:
      return 'execution error: state of non-volatile memory changed';
    case 0x68:
      return 'functions in CLA not supported';
    case 0x69:
      return 'command not allowed';
    case 0x6a:
      return 'wrong parameters P1-P2';
    default:
      return 'unknown status word';
  }
}

/** SW1 in 90, 91, 92 (normal processing per TS 102 221 10.2.1.1). 61xx is not final: use the T=0 procedure. */
export function isNormalSw(sw: number): boolean {
  const sw1 = sw >> 8;
  return sw === SW.OK || sw1 === 0x91 || sw1 === 0x92;
}

/** 61xx with SW2 = n, n = remaining bytes (256 or more encode as 00). */
export function bytesRemainingSw(remaining: number): number {
  return SW.BYTES_REMAINING | (remaining >= 256 ? 0 : remaining);
}

/** 6Cxx with SW2 = exact length (256 encodes as 00). */
export function wrongLeSw(exact: number): number {
  return SW.WRONG_LE | (exact & 0xff);
}

/** Four upper-case hex digits, e.g. '6A82'. */
export function formatSw(sw: number): string {
  return (sw & 0xffff).toString(16).toUpperCase().padStart(4, '0');
}

/**
 * A command ends with this status word and no response data. Thrown by card-side code
 * (file system, applets, STORE DATA assembler); the card turns it into the R-APDU.
 */
export class StatusWordError extends Error {
  override readonly name: string = 'StatusWordError';
  constructor(
    readonly sw: number,
    message?: string,
  ) {
    super(message ?? `${formatSw(sw)} ${swName(sw)}`);
  }
}
