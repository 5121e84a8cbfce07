// QMUX framing and QMI messages, as libqmi (src/libqmi-glib/qmi-message.c) and the
// Linux qmi_wwan/cdc-wdm stack exchange them on a modem's control port:
//   I/F type 0x01 | length u16 LE (everything after the I/F type byte) | control flags u8
//   (0x00 from the host, 0x80 "sent by the service") | service u8 | client id u8 |
//   QMI header: CTL (service 0): flags u8, transaction u8, message id u16, TLV length u16;
//               other services: flags u8, transaction u16, message id u16, TLV length u16
//   TLVs: type u8, length u16 LE, value.
// Message flags: CTL response 0x01 / indication 0x02; services compound 0x01 /
// response 0x02 / indication 0x04. Every response carries the result TLV 0x02
// (status u16: 0 success, 1 failure; error u16: a QMI protocol error code).
// On a byte stream (PTY) frames may arrive split or joined: QmuxFramer buffers and cuts
// by the length field, as libqmi's qmi_endpoint_parse_buffer does.
import { concatBytes } from '../bytes.ts';

export const QMUX_IF_TYPE = 0x01;
/** QMUX control flags: the frame was sent by the service (modem to host) */
export const QMUX_FROM_SERVICE = 0x80;
export const QMI_SERVICE = { CTL: 0x00, UIM: 0x0b } as const;
export const CTL_FLAG = { RESPONSE: 0x01, INDICATION: 0x02 } as const;
export const SERVICE_FLAG = { COMPOUND: 0x01, RESPONSE: 0x02, INDICATION: 0x04 } as const;
export const RESULT_TLV = 0x02;
/** a QMUX frame is at most 64 KiB; libqmi allocates by the u16 length */
export const MAX_QMUX_LENGTH = 0xffff;

export interface QmiTlv {
  readonly type: number;
  readonly value: Uint8Array;
}

export interface QmiMessage {
  /** QMUX control flags (0x00 host, 0x80 service) */
  readonly controlFlags: number;
  readonly service: number;
  readonly clientId: number;
  /** QMI header flags (CTL_FLAG / SERVICE_FLAG) */
  readonly messageFlags: number;
  readonly transactionId: number;
  readonly messageId: number;
  readonly tlvs: readonly QmiTlv[];
}

/** Bytes that are not a well-formed QMUX frame; names the field at fault. */
export class QmuxFormatError extends Error {
  override readonly name = 'QmuxFormatError';
}

/** A TLV that is missing or malformed in a QMI message (answered QMI_ERR_MALFORMED_MSG / MISSING_ARG). */
export class QmiTlvError extends Error {
  override readonly name = 'QmiTlvError';
  constructor(
    message: string,
    /** QMI protocol error the peer should get for it */
    readonly qmiError: number,
  ) {
    super(message);
  }
}

function u16(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8);
}

function putU16(out: Uint8Array, at: number, v: number): void {
  out[at] = v & 0xff;
  out[at + 1] = (v >> 8) & 0xff;
}

export function isControl(service: number): boolean {
  return service === QMI_SERVICE.CTL;
}

/** QMI header size after the QMUX header: 6 bytes for CTL, 7 for the other services. */
function qmiHeaderLength(service: number): number {
  return isControl(service) ? 6 : 7;
}

export function encodeQmi(m: QmiMessage): Uint8Array {
  const ctl = isControl(m.service);
  if (ctl ? m.transactionId > 0xff : m.transactionId > 0xffff) throw new RangeError(`transaction id ${m.transactionId} does not fit the ${ctl ? 'CTL' : 'service'} header`);
  const tlvBytes = m.tlvs.map((t) => {
    if (t.value.length > 0xffff) throw new RangeError(`TLV 0x${t.type.toString(16)} of ${t.value.length} bytes`);
    const out = new Uint8Array(3 + t.value.length);
    out[0] = t.type;
    putU16(out, 1, t.value.length);
    out.set(t.value, 3);
    return out;
  });
  const tlvLength = tlvBytes.reduce((n, t) => n + t.length, 0);
  const headerLength = qmiHeaderLength(m.service);
  const qmuxLength = 5 + headerLength + tlvLength;
  if (qmuxLength > MAX_QMUX_LENGTH) throw new RangeError(`QMUX frame of ${qmuxLength} bytes exceeds ${MAX_QMUX_LENGTH}`);
  const head = new Uint8Array(1 + 5 + headerLength);
  head[0] = QMUX_IF_TYPE;
  putU16(head, 1, qmuxLength);
  head[3] = m.controlFlags;
  head[4] = m.service;
  head[5] = m.clientId;
  head[6] = m.messageFlags;
  if (ctl) {
    head[7] = m.transactionId;
    putU16(head, 8, m.messageId);
    putU16(head, 10, tlvLength);
  } else {
    putU16(head, 7, m.transactionId);
    putU16(head, 9, m.messageId);
    putU16(head, 11, tlvLength);
  }
  return concatBytes(head, ...tlvBytes);
}

/** Decode exactly one frame (I/F type byte included). */
export function decodeQmi(frame: Uint8Array): QmiMessage {
  if (frame.length < 6) throw new QmuxFormatError(`QMUX frame of ${frame.length} bytes is shorter than the 6-byte QMUX header`);
  if (frame[0] !== QMUX_IF_TYPE) throw new QmuxFormatError(`I/F type 0x${frame[0]!.toString(16).padStart(2, '0')} is not QMUX (0x01)`);
  const qmuxLength = u16(frame, 1);
  if (qmuxLength !== frame.length - 1) throw new QmuxFormatError(`QMUX length ${qmuxLength} does not match the ${frame.length - 1} bytes after the I/F type`);
  const service = frame[4]!;
  const ctl = isControl(service);
  const headerEnd = 6 + qmiHeaderLength(service);
  if (frame.length < headerEnd) throw new QmuxFormatError(`QMUX length ${qmuxLength} is too short for the ${ctl ? 'CTL' : 'service'} QMI header`);
  const transactionId = ctl ? frame[7]! : u16(frame, 7);
  const messageId = ctl ? u16(frame, 8) : u16(frame, 9);
  const tlvLength = ctl ? u16(frame, 10) : u16(frame, 11);
  if (headerEnd + tlvLength !== frame.length) throw new QmuxFormatError(`QMI TLV length ${tlvLength} does not match the ${frame.length - headerEnd} bytes after the QMI header`);
  const tlvs: QmiTlv[] = [];
  let at = headerEnd;
  while (at < frame.length) {
    if (at + 3 > frame.length) throw new QmuxFormatError(`TLV header at offset ${at} runs past the end of the frame`);
    const len = u16(frame, at + 1);
    if (at + 3 + len > frame.length) throw new QmuxFormatError(`TLV 0x${frame[at]!.toString(16)} of ${len} bytes runs past the end of the frame`);
    tlvs.push({ type: frame[at]!, value: frame.slice(at + 3, at + 3 + len) });
    at += 3 + len;
  }
  return { controlFlags: frame[3]!, service, clientId: frame[5]!, messageFlags: frame[6]!, transactionId, messageId, tlvs };
}

/**
 * Cuts a byte stream into QMUX frames. Bytes that cannot start a frame (not 0x01) are
 * skipped up to the next 0x01 and counted, so that one corrupt frame does not wedge
 * the stream; a frame whose content does not decode is reported through onError.
 */
export class QmuxFramer {
  private buffer: Uint8Array = new Uint8Array(0);
  /** bytes skipped because they could not start a frame */
  discarded = 0;

  constructor(
    private readonly onMessage: (m: QmiMessage, raw: Uint8Array) => void,
    private readonly onError: (err: QmuxFormatError, raw: Uint8Array) => void,
  ) {}

  push(bytes: Uint8Array): void {
    this.buffer = this.buffer.length ? concatBytes(this.buffer, bytes) : Uint8Array.from(bytes);
    for (;;) {
      if (this.buffer.length === 0) return;
      if (this.buffer[0] !== QMUX_IF_TYPE) {
        const next = this.buffer.indexOf(QMUX_IF_TYPE);
        const skip = next < 0 ? this.buffer.length : next;
        this.discarded += skip;
        this.onError(new QmuxFormatError(`${skip} byte(s) outside a QMUX frame skipped`), this.buffer.slice(0, skip));
        this.buffer = this.buffer.slice(skip);
        continue;
      }
      if (this.buffer.length < 3) return;
      const total = 1 + u16(this.buffer, 1);
      if (this.buffer.length < total) return;
      const raw = this.buffer.slice(0, total);
      this.buffer = this.buffer.slice(total);
      let message: QmiMessage;
      try {
        message = decodeQmi(raw);
      } catch (err) {
        if (!(err instanceof QmuxFormatError)) throw err;
        this.onError(err, raw);
        continue;
      }
      this.onMessage(message, raw);
    }
  }

  /** bytes of a frame not yet complete */
  get pending(): number {
    return this.buffer.length;
  }
}

// ---- TLV values --------------------------------------------------------------------------

export function tlv(type: number, value: Uint8Array | readonly number[]): QmiTlv {
  return { type, value: Uint8Array.from(value) };
}

export function u8Tlv(type: number, v: number): QmiTlv {
  return tlv(type, [v & 0xff]);
}

export function u16Bytes(v: number): number[] {
  return [v & 0xff, (v >> 8) & 0xff];
}

export function u32Bytes(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}

/** An array with a u8 (or u16) element count before it, as libqmi's size-prefix-format. */
export function prefixed(bytes: Uint8Array, prefix: 'u8' | 'u16' = 'u8'): Uint8Array {
  const max = prefix === 'u8' ? 0xff : 0xffff;
  if (bytes.length > max) throw new RangeError(`${bytes.length} bytes do not fit a ${prefix} size prefix`);
  return concatBytes(Uint8Array.from(prefix === 'u8' ? [bytes.length] : u16Bytes(bytes.length)), bytes);
}

export function findTlv(m: Pick<QmiMessage, 'tlvs'>, type: number): QmiTlv | undefined {
  return m.tlvs.find((t) => t.type === type);
}

/** QMI protocol error codes used for malformed requests (libqmi qmi-errors.h). */
const MALFORMED_MESSAGE = 1;
const MISSING_ARGUMENT = 17;

export function requireTlv(m: Pick<QmiMessage, 'tlvs'>, type: number, what: string): QmiTlv {
  const t = findTlv(m, type);
  if (!t) throw new QmiTlvError(`mandatory TLV 0x${type.toString(16).padStart(2, '0')} (${what}) is missing`, MISSING_ARGUMENT);
  return t;
}

export function readU8(t: QmiTlv, what: string): number {
  if (t.value.length !== 1) throw new QmiTlvError(`TLV 0x${t.type.toString(16)} (${what}) must be 1 byte, got ${t.value.length}`, MALFORMED_MESSAGE);
  return t.value[0]!;
}

/** The bytes of a size-prefixed array TLV; the prefix must match the rest of the value. */
export function readPrefixed(t: QmiTlv, prefix: 'u8' | 'u16', what: string): Uint8Array {
  const n = prefix === 'u8' ? 1 : 2;
  if (t.value.length < n) throw new QmiTlvError(`TLV 0x${t.type.toString(16)} (${what}) has no ${prefix} length`, MALFORMED_MESSAGE);
  const count = prefix === 'u8' ? t.value[0]! : u16(t.value, 0);
  if (count !== t.value.length - n) throw new QmiTlvError(`TLV 0x${t.type.toString(16)} (${what}) says ${count} bytes but carries ${t.value.length - n}`, MALFORMED_MESSAGE);
  return t.value.slice(n);
}

export interface QmiResult {
  /** 0 success, 1 failure */
  readonly status: number;
  /** QMI protocol error (0 = none) */
  readonly error: number;
}

export function resultTlv(error: number): QmiTlv {
  return tlv(RESULT_TLV, [...u16Bytes(error === 0 ? 0 : 1), ...u16Bytes(error)]);
}

export function readResult(m: Pick<QmiMessage, 'tlvs'>): QmiResult {
  const t = findTlv(m, RESULT_TLV);
  if (!t || t.value.length !== 4) throw new QmiTlvError('response has no 4-byte result TLV 0x02', MALFORMED_MESSAGE);
  return { status: u16(t.value, 0), error: u16(t.value, 2) };
}

/** The response frame the service sends for `request`: same service, client and transaction. */
export function responseTo(request: QmiMessage, error: number, tlvs: readonly QmiTlv[] = []): QmiMessage {
  return {
    controlFlags: QMUX_FROM_SERVICE,
    service: request.service,
    clientId: request.clientId,
    messageFlags: isControl(request.service) ? CTL_FLAG.RESPONSE : SERVICE_FLAG.RESPONSE,
    transactionId: request.transactionId,
    messageId: request.messageId,
    tlvs: [resultTlv(error), ...tlvs],
  };
}

export function isResponse(m: QmiMessage): boolean {
  return (m.messageFlags & (isControl(m.service) ? CTL_FLAG.RESPONSE : SERVICE_FLAG.RESPONSE)) !== 0;
}

export function isIndication(m: QmiMessage): boolean {
  return (m.messageFlags & (isControl(m.service) ? CTL_FLAG.INDICATION : SERVICE_FLAG.INDICATION)) !== 0;
}
