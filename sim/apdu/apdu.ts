// Command and response APDUs: the four cases of ISO/IEC 7816-3:2006 12.1.3 in short
// and extended form (ISO/IEC 7816-4:2013 5.1), the R-APDU as data || SW1 SW2, and the
// ApduTransport contract every party uses (in-process eUICC, vpcd client, AT path).
// A C-APDU whose length matches no case is an ApduFormatError, which a card answers
// with 6700 (wrong length).
import { concatBytes } from '../bytes.ts';
import { formatSw, SW } from './sw.ts';

export * from './sw.ts';

/** Something that carries APDUs to a card: transmit returns the R-APDU (SW included). */
export interface ApduTransport {
  transmit(capdu: Uint8Array): Promise<Uint8Array>;
  /** (warm) reset; resolves with the ATR */
  reset(): Promise<Uint8Array>;
  close(): Promise<void>;
}

export type ApduCase = 1 | 2 | 3 | 4;

/** A decoded C-APDU. */
export interface CommandApdu {
  readonly cla: number;
  readonly ins: number;
  readonly p1: number;
  readonly p2: number;
  /** command data (empty for cases 1 and 2) */
  readonly data: Uint8Array;
  /**
   * Ne, the maximum number of response bytes expected; absent for cases 1 and 3.
   * Short Le byte 00 decodes to 256, extended Le 0000 to 65536.
   */
  readonly le?: number;
  readonly case: ApduCase;
  readonly extended: boolean;
}

export class ApduFormatError extends Error {
  override readonly name = 'ApduFormatError';
  /** the SW a card answers to such a command */
  readonly sw = SW.WRONG_LENGTH;
  constructor(
    message: string,
    readonly bytes: Uint8Array,
  ) {
    super(message);
  }
}

export class ResponseFormatError extends Error {
  override readonly name = 'ResponseFormatError';
}

/**
 * Decode a C-APDU per ISO/IEC 7816-3 12.1.3: with L the length after the 4-byte header,
 * L=0 case 1; L=1 case 2S; B1!=0 and L=1+B1 case 3S, L=2+B1 case 4S; B1=0 and L=3
 * case 2E; B1=0, B2B3!=0 and L=3+Lc case 3E, L=5+Lc case 4E. Anything else throws.
 */
export function parseCommand(bytes: Uint8Array): CommandApdu {
  if (bytes.length < 4) throw new ApduFormatError(`C-APDU of ${bytes.length} bytes is shorter than its 4-byte header`, bytes);
  const [cla, ins, p1, p2] = [bytes[0]!, bytes[1]!, bytes[2]!, bytes[3]!];
  const head = { cla, ins, p1, p2 };
  const l = bytes.length - 4;
  const empty = new Uint8Array(0);
  if (l === 0) return { ...head, data: empty, case: 1, extended: false };
  const b1 = bytes[4]!;
  if (l === 1) return { ...head, data: empty, le: b1 === 0 ? 256 : b1, case: 2, extended: false };
  if (b1 !== 0) {
    if (l === 1 + b1) return { ...head, data: bytes.slice(5, 5 + b1), case: 3, extended: false };
    if (l === 2 + b1) {
      const le = bytes[5 + b1]!;
      return { ...head, data: bytes.slice(5, 5 + b1), le: le === 0 ? 256 : le, case: 4, extended: false };
    }
    throw new ApduFormatError(`short Lc=${b1} does not match ${l} bytes after the header`, bytes);
  }
  const b23 = l >= 3 ? (bytes[5]! << 8) | bytes[6]! : -1;
  if (l === 3) return { ...head, data: empty, le: b23 === 0 ? 65536 : b23, case: 2, extended: true };
  if (l < 3) throw new ApduFormatError(`${l} bytes after the header starting with 00 match no case`, bytes);
  if (b23 === 0) throw new ApduFormatError('extended Lc of 0000 with a data field', bytes);
  if (l === 3 + b23) return { ...head, data: bytes.slice(7, 7 + b23), case: 3, extended: true };
  if (l === 5 + b23) {
    const le = (bytes[7 + b23]! << 8) | bytes[8 + b23]!;
    return { ...head, data: bytes.slice(7, 7 + b23), le: le === 0 ? 65536 : le, case: 4, extended: true };
  }
  throw new ApduFormatError(`extended Lc=${b23} does not match ${l} bytes after the header`, bytes);
}

export interface CommandSpec {
  readonly cla: number;
  readonly ins: number;
  readonly p1: number;
  readonly p2: number;
  readonly data?: Uint8Array;
  /**
   * Ne: 1..256 short, 1..65536 extended. 0 is accepted as "the Le byte(s) 00" and means
   * 256 (short) or 65536 (extended). Absent: no Le field.
   */
  readonly le?: number;
  /** force the extended form; otherwise chosen only when data > 255 bytes or Ne > 256 */
  readonly extended?: boolean;
}

function checkByte(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xff) throw new RangeError(`${name} must be a byte, got ${v}`);
}

/** Encode a C-APDU in the shortest form its data and Le allow (or extended if asked). */
export function buildCommand(spec: CommandSpec): Uint8Array {
  checkByte('CLA', spec.cla);
  checkByte('INS', spec.ins);
  checkByte('P1', spec.p1);
  checkByte('P2', spec.p2);
  const data = spec.data ?? new Uint8Array(0);
  if (data.length > 65535) throw new RangeError(`command data of ${data.length} bytes exceeds 65535`);
  const le = spec.le;
  if (le !== undefined && (!Number.isInteger(le) || le < 0 || le > 65536)) throw new RangeError(`Le must be 0..65536, got ${le}`);
  const extended = spec.extended === true || data.length > 255 || (le !== undefined && le > 256);
  const header = Uint8Array.of(spec.cla, spec.ins, spec.p1, spec.p2);
  if (!extended) {
    const parts: Uint8Array[] = [header];
    if (data.length) parts.push(Uint8Array.of(data.length), data);
    if (le !== undefined) parts.push(Uint8Array.of(le & 0xff)); // 256 -> 00
    return concatBytes(...parts);
  }
  const parts: Uint8Array[] = [header];
  if (data.length) parts.push(Uint8Array.of(0, data.length >> 8, data.length & 0xff), data);
  if (le !== undefined) {
    const v = le & 0xffff; // 65536 -> 0000
    parts.push(data.length ? Uint8Array.of(v >> 8, v & 0xff) : Uint8Array.of(0, v >> 8, v & 0xff));
  }
  return concatBytes(...parts);
}

/** Re-encode a decoded command (keeps its short/extended form). */
export function encodeCommand(cmd: CommandApdu): Uint8Array {
  return buildCommand({ cla: cmd.cla, ins: cmd.ins, p1: cmd.p1, p2: cmd.p2, data: cmd.data, le: cmd.le, extended: cmd.extended });
}

/** The same command with Le replaced (or added): what a TE resends after 6Cxx. */
export function withLe(capdu: Uint8Array, le: number): Uint8Array {
  const cmd = parseCommand(capdu);
  return buildCommand({ cla: cmd.cla, ins: cmd.ins, p1: cmd.p1, p2: cmd.p2, data: cmd.data, le, extended: cmd.extended });
}

// ---------------------------------------------------------------------------
// Response APDUs

function checkResponse(r: Uint8Array): void {
  if (r.length < 2) throw new ResponseFormatError(`R-APDU of ${r.length} bytes has no SW1-SW2`);
}

/** SW1-SW2 as a number, e.g. 0x9000. */
export function responseSw(r: Uint8Array): number {
  checkResponse(r);
  return (r[r.length - 2]! << 8) | r[r.length - 1]!;
}

/** Response data without the status word. */
export function responseData(r: Uint8Array): Uint8Array {
  checkResponse(r);
  return r.slice(0, r.length - 2);
}

/** data || SW1 SW2 */
export function buildResponse(data: Uint8Array, sw: number): Uint8Array {
  const out = new Uint8Array(data.length + 2);
  out.set(data, 0);
  out[data.length] = (sw >> 8) & 0xff;
  out[data.length + 1] = sw & 0xff;
  return out;
}

/** '9000'-style hex of an SW, or of the SW of an R-APDU. */
export function swHex(swOrResponse: number | Uint8Array): string {
  return formatSw(typeof swOrResponse === 'number' ? swOrResponse : responseSw(swOrResponse));
}

/** R-APDU helpers grouped: ResponseApdu.sw(r), ResponseApdu.data(r), ResponseApdu.swHex(r). */
export const ResponseApdu = {
  sw: responseSw,
  data: responseData,
  swHex,
  build: buildResponse,
  sw1: (r: Uint8Array): number => responseSw(r) >> 8,
  sw2: (r: Uint8Array): number => responseSw(r) & 0xff,
} as const;
