// MBIM control messages (USB MBIM 1.0 section 9: OPEN / OPEN_DONE, CLOSE / CLOSE_DONE,
// COMMAND / COMMAND_DONE, FUNCTION_ERROR / HOST_ERROR, INDICATE_STATUS, and 9.2
// fragmentation of COMMAND, COMMAND_DONE and INDICATE_STATUS past MaxControlTransfer),
// laid out as libmbim (src/libmbim-glib/mbim-message-private.h) reads them: header
// {type u32, length u32, transaction id u32}, little-endian; UUIDs in their written byte
// order. A byte stream (PTY) may split or join messages: MbimFramer cuts by the header
// length as libmbim's parse_response() does. Information buffers: static fields first,
// then the variable data, each item padded to 4 bytes, referenced by (offset, size) pairs
// from the start of the buffer; MS UICC low-level access byte arrays are (size, offset)
// ("uicc-ref-byte-array" in libmbim's service definitions); strings are UTF-16LE.
import { concatBytes, hexToBytes } from '../bytes.ts';

export const MBIM_MESSAGE = {
  OPEN: 0x00000001,
  CLOSE: 0x00000002,
  COMMAND: 0x00000003,
  HOST_ERROR: 0x00000004,
  OPEN_DONE: 0x80000001,
  CLOSE_DONE: 0x80000002,
  COMMAND_DONE: 0x80000003,
  FUNCTION_ERROR: 0x80000004,
  INDICATE_STATUS: 0x80000007,
} as const;

export const COMMAND_TYPE = { QUERY: 0, SET: 1 } as const;

/** MBIM 1.0 9.4.5 status codes (libmbim MbimStatusError) and the MS UICC low-level access ones. */
export const MBIM_STATUS = {
  SUCCESS: 0,
  BUSY: 1,
  FAILURE: 2,
  SIM_NOT_INSERTED: 3,
  NO_DEVICE_SUPPORT: 9,
  INVALID_PARAMETERS: 21,
  OPERATION_NOT_ALLOWED: 28,
  MS_NO_LOGICAL_CHANNELS: 0x87430001,
  MS_SELECT_FAILED: 0x87430002,
  MS_INVALID_LOGICAL_CHANNEL: 0x87430003,
} as const;

/** MBIM 1.0 9.3.4 protocol error codes of FUNCTION_ERROR / HOST_ERROR. */
export const MBIM_PROTOCOL_ERROR = { TIMEOUT_FRAGMENT: 1, FRAGMENT_OUT_OF_SEQUENCE: 2, LENGTH_MISMATCH: 3, DUPLICATED_TID: 4, NOT_OPENED: 5, UNKNOWN: 6, CANCEL: 7, MAX_TRANSFER: 8 } as const;

export function mbimStatusName(code: number): string {
  const hit = Object.entries(MBIM_STATUS).find(([, v]) => v === code);
  return hit ? hit[0] : `0x${code.toString(16).padStart(8, '0')}`;
}

export function uuidBytes(uuid: string): Uint8Array {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new RangeError(`'${uuid}' is not a UUID`);
  return hexToBytes(hex);
}

export function uuidString(b: Uint8Array): string {
  const h = Buffer.from(b).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export const SERVICE = {
  BASIC_CONNECT: 'a289cc33-bcbb-8b4f-b6b0-133ec2aae6df',
  MS_BASIC_CONNECT_EXTENSIONS: '3d01dcc5-fef5-4d05-0d3a-bef7058e9aaf',
  MS_UICC_LOW_LEVEL_ACCESS: 'c2f6588e-f037-4bc9-8665-f4d44bd09367',
} as const;

export const BASIC_CONNECT_CID = { DEVICE_CAPS: 1, SUBSCRIBER_READY_STATUS: 2 } as const;
export const MS_BASIC_CONNECT_EXTENSIONS_CID = { DEVICE_SLOT_MAPPINGS: 7, SLOT_INFO_STATUS: 8 } as const;
export const MS_UICC_CID = { ATR: 1, OPEN_CHANNEL: 2, CLOSE_CHANNEL: 3, APDU: 4, TERMINAL_CAPABILITY: 5, RESET: 6 } as const;

/** A whole (reassembled) message. */
export type MbimMessage =
  | { type: typeof MBIM_MESSAGE.OPEN; tid: number; maxControlTransfer: number }
  | { type: typeof MBIM_MESSAGE.CLOSE; tid: number }
  | { type: typeof MBIM_MESSAGE.OPEN_DONE | typeof MBIM_MESSAGE.CLOSE_DONE; tid: number; status: number }
  | { type: typeof MBIM_MESSAGE.HOST_ERROR | typeof MBIM_MESSAGE.FUNCTION_ERROR; tid: number; error: number }
  | { type: typeof MBIM_MESSAGE.COMMAND; tid: number; service: string; cid: number; commandType: number; buffer: Uint8Array }
  | { type: typeof MBIM_MESSAGE.COMMAND_DONE; tid: number; service: string; cid: number; status: number; buffer: Uint8Array }
  | { type: typeof MBIM_MESSAGE.INDICATE_STATUS; tid: number; service: string; cid: number; buffer: Uint8Array };

export class MbimFormatError extends Error {
  override readonly name = 'MbimFormatError';
  constructor(
    message: string,
    /** MBIM protocol error a FUNCTION_ERROR would carry for it */
    readonly protocolError: number = MBIM_PROTOCOL_ERROR.LENGTH_MISMATCH,
    readonly tid = 0,
  ) {
    super(message);
  }
}

const u32 = (b: Uint8Array, at: number): number => (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
function u32le(...values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  values.forEach((v, i) => new DataView(out.buffer).setUint32(i * 4, v >>> 0, true));
  return out;
}

const FRAGMENTED: readonly number[] = [MBIM_MESSAGE.COMMAND, MBIM_MESSAGE.COMMAND_DONE, MBIM_MESSAGE.INDICATE_STATUS];

/**
 * Encode a message; COMMAND, COMMAND_DONE and INDICATE_STATUS longer than maxTransfer
 * are split into fragments (MBIM 1.0 9.2), each a message of its own.
 */
export function encodeMbim(m: MbimMessage, maxTransfer = 4096): Uint8Array[] {
  const header = (type: number, length: number) => u32le(type, length, m.tid);
  switch (m.type) {
    case MBIM_MESSAGE.OPEN:
      return [concatBytes(header(m.type, 16), u32le(m.maxControlTransfer))];
    case MBIM_MESSAGE.CLOSE:
      return [header(m.type, 12)];
    case MBIM_MESSAGE.OPEN_DONE:
    case MBIM_MESSAGE.CLOSE_DONE:
      return [concatBytes(header(m.type, 16), u32le(m.status))];
    case MBIM_MESSAGE.HOST_ERROR:
    case MBIM_MESSAGE.FUNCTION_ERROR:
      return [concatBytes(header(m.type, 16), u32le(m.error))];
    default:
      break;
  }
  const third = m.type === MBIM_MESSAGE.COMMAND ? [m.commandType] : m.type === MBIM_MESSAGE.COMMAND_DONE ? [m.status] : [];
  const payload = concatBytes(uuidBytes(m.service), u32le(m.cid, ...third, m.buffer.length), m.buffer);
  const room = maxTransfer - 20;
  if (room <= 0) throw new RangeError(`MaxControlTransfer ${maxTransfer} leaves no room for a fragment`);
  const total = Math.max(1, Math.ceil(payload.length / room));
  const out: Uint8Array[] = [];
  for (let i = 0; i < total; i++) {
    const part = payload.subarray(i * room, (i + 1) * room);
    out.push(concatBytes(header(m.type, 20 + part.length), u32le(total, i), part));
  }
  return out;
}

interface Fragment {
  type: number;
  tid: number;
  total: number;
  current: number;
  payload: Uint8Array;
}

/** Decode one message as it came off the stream: either complete or a fragment. */
function decodeOne(raw: Uint8Array): MbimMessage | Fragment {
  if (raw.length < 12) throw new MbimFormatError(`message of ${raw.length} bytes is shorter than the 12-byte header`);
  const type = u32(raw, 0);
  const tid = u32(raw, 8);
  const need = (n: number) => {
    if (raw.length < n) throw new MbimFormatError(`message type 0x${type.toString(16)} of ${raw.length} bytes is shorter than its ${n}-byte header`, MBIM_PROTOCOL_ERROR.LENGTH_MISMATCH, tid);
  };
  switch (type) {
    case MBIM_MESSAGE.OPEN:
      need(16);
      return { type, tid, maxControlTransfer: u32(raw, 12) };
    case MBIM_MESSAGE.CLOSE:
      return { type, tid };
    case MBIM_MESSAGE.OPEN_DONE:
    case MBIM_MESSAGE.CLOSE_DONE:
      need(16);
      return { type, tid, status: u32(raw, 12) };
    case MBIM_MESSAGE.HOST_ERROR:
    case MBIM_MESSAGE.FUNCTION_ERROR:
      need(16);
      return { type, tid, error: u32(raw, 12) };
    default:
      if (!FRAGMENTED.includes(type)) throw new MbimFormatError(`message type 0x${type.toString(16).padStart(8, '0')} is unknown`, MBIM_PROTOCOL_ERROR.UNKNOWN, tid);
      need(20);
      return { type, tid, total: u32(raw, 12), current: u32(raw, 16), payload: raw.slice(20) };
  }
}

function assemble(f: Fragment, payload: Uint8Array): MbimMessage {
  const fixed = f.type === MBIM_MESSAGE.INDICATE_STATUS ? 24 : 28;
  if (payload.length < fixed) throw new MbimFormatError(`message type 0x${f.type.toString(16)} carries ${payload.length} bytes, fewer than its ${fixed}-byte fixed part`, MBIM_PROTOCOL_ERROR.LENGTH_MISMATCH, f.tid);
  const service = uuidString(payload.subarray(0, 16));
  const cid = u32(payload, 16);
  const length = u32(payload, fixed - 4);
  if (length !== payload.length - fixed) throw new MbimFormatError(`InformationBufferLength ${length} does not match the ${payload.length - fixed} bytes that follow`, MBIM_PROTOCOL_ERROR.LENGTH_MISMATCH, f.tid);
  const buffer = payload.slice(fixed);
  if (f.type === MBIM_MESSAGE.COMMAND) return { type: f.type, tid: f.tid, service, cid, commandType: u32(payload, 20), buffer };
  if (f.type === MBIM_MESSAGE.COMMAND_DONE) return { type: f.type, tid: f.tid, service, cid, status: u32(payload, 20), buffer };
  return { type: MBIM_MESSAGE.INDICATE_STATUS, tid: f.tid, service, cid, buffer };
}

/**
 * Cuts a byte stream into messages and reassembles fragments (MBIM 1.0 9.2: same
 * transaction id, CurrentFragment counting up from 0 to TotalFragments-1). A message
 * whose length field is impossible, or a fragment out of sequence, is reported and the
 * buffer dropped, as libmbim does with a stream it cannot validate.
 */
export class MbimFramer {
  private buffer = new Uint8Array(0);
  private partial: { type: number; tid: number; total: number; next: number; parts: Uint8Array[] } | undefined;

  constructor(
    private readonly onMessage: (m: MbimMessage) => void,
    private readonly onError: (err: MbimFormatError) => void,
    /** longest message accepted (default 64 KiB) */
    private readonly maxLength = 65536,
  ) {}

  push(bytes: Uint8Array): void {
    this.buffer = this.buffer.length ? concatBytes(this.buffer, bytes) : Uint8Array.from(bytes);
    while (this.buffer.length >= 8) {
      const length = u32(this.buffer, 4);
      if (length < 12 || length > this.maxLength) {
        const dropped = this.buffer.length;
        this.buffer = new Uint8Array(0);
        this.onError(new MbimFormatError(`message length ${length} is impossible; ${dropped} byte(s) dropped`));
        return;
      }
      if (this.buffer.length < length) return;
      const raw = this.buffer.slice(0, length);
      this.buffer = this.buffer.slice(length);
      try {
        this.take(decodeOne(raw));
      } catch (err) {
        if (!(err instanceof MbimFormatError)) throw err;
        this.onError(err);
      }
    }
  }

  private take(m: MbimMessage | Fragment): void {
    if (!('total' in m)) return this.onMessage(m);
    const p = this.partial;
    if (m.current === 0) {
      if (p) this.onError(new MbimFormatError(`fragments of transaction ${p.tid} abandoned by a new message`, MBIM_PROTOCOL_ERROR.FRAGMENT_OUT_OF_SEQUENCE, p.tid));
      if (m.total === 0) throw new MbimFormatError('TotalFragments 0', MBIM_PROTOCOL_ERROR.FRAGMENT_OUT_OF_SEQUENCE, m.tid);
      if (m.total === 1) {
        this.partial = undefined;
        return this.onMessage(assemble(m, m.payload));
      }
      this.partial = { type: m.type, tid: m.tid, total: m.total, next: 1, parts: [m.payload] };
      return;
    }
    if (!p || p.tid !== m.tid || p.type !== m.type || p.total !== m.total || p.next !== m.current) {
      this.partial = undefined;
      throw new MbimFormatError(`fragment ${m.current}/${m.total} of transaction ${m.tid} out of sequence`, MBIM_PROTOCOL_ERROR.FRAGMENT_OUT_OF_SEQUENCE, m.tid);
    }
    p.parts.push(m.payload);
    p.next++;
    if (p.next === p.total) {
      this.partial = undefined;
      this.onMessage(assemble(m, concatBytes(...p.parts)));
    }
  }
}

// ---- information buffers -------------------------------------------------------------

export type Field = { u32: number } | { bytes: Uint8Array; order?: 'offset-size' | 'size-offset' } | { string: string } | { structs: Uint8Array[] };

/** Build an information buffer: u32 fields, (offset, size) / (size, offset) byte arrays, UTF-16LE strings, ref-struct-arrays. */
export function buildInfo(fields: readonly Field[]): Uint8Array {
  const staticLength = fields.reduce((n, f) => n + ('u32' in f ? 4 : 'structs' in f ? 8 * f.structs.length : 8), 0);
  const head: number[] = [];
  const tail: Uint8Array[] = [];
  let at = staticLength;
  const place = (data: Uint8Array): number => {
    const offset = data.length ? at : 0;
    const padded = new Uint8Array(Math.ceil(data.length / 4) * 4);
    padded.set(data);
    tail.push(padded);
    at += padded.length;
    return offset;
  };
  for (const f of fields) {
    if ('u32' in f) head.push(f.u32);
    else if ('bytes' in f) {
      const offset = place(f.bytes);
      head.push(...(f.order === 'size-offset' ? [f.bytes.length, offset] : [offset, f.bytes.length]));
    } else if ('string' in f) {
      const data = Buffer.from(f.string, 'utf16le');
      head.push(place(data), data.length);
    } else for (const s of f.structs) head.push(place(s), s.length);
  }
  return concatBytes(u32le(...head), ...tail);
}

/** Reads the fields of an information buffer, checking every reference stays inside it. */
export class InfoReader {
  private at = 0;
  constructor(
    private readonly b: Uint8Array,
    private readonly what: string,
  ) {}
  u32(): number {
    if (this.at + 4 > this.b.length) throw new MbimFormatError(`${this.what}: information buffer of ${this.b.length} bytes ends before offset ${this.at + 4}`, MBIM_PROTOCOL_ERROR.LENGTH_MISMATCH);
    const v = u32(this.b, this.at);
    this.at += 4;
    return v;
  }
  private ref(offset: number, size: number): Uint8Array {
    if (offset + size > this.b.length) throw new MbimFormatError(`${this.what}: reference (offset ${offset}, size ${size}) runs past the ${this.b.length}-byte buffer`, MBIM_PROTOCOL_ERROR.LENGTH_MISMATCH);
    return this.b.slice(offset, offset + size);
  }
  bytes(order: 'offset-size' | 'size-offset' = 'offset-size'): Uint8Array {
    const a = this.u32();
    const b = this.u32();
    return order === 'offset-size' ? this.ref(a, b) : this.ref(b, a);
  }
  string(): string {
    return Buffer.from(this.bytes()).toString('utf16le');
  }
  structs(count: number): Uint8Array[] {
    return Array.from({ length: count }, () => this.bytes());
  }
}

/** MS UICC low-level access Status field: the card's SW1 in the low byte, SW2 in the next (ModemManager mm-sim-mbim.c UICC_STATUS_OK 144 = 9000; lpac driver/apdu/mbim.c). */
export function swToUiccStatus(sw: number): number {
  return ((sw >> 8) & 0xff) | ((sw & 0xff) << 8);
}

export function uiccStatusToSw(status: number): number {
  return ((status & 0xff) << 8) | ((status >> 8) & 0xff);
}
