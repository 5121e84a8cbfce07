// What the modem itself does with the card (the MT side of 3GPP TS 27.007 8.17, 8.18,
// 8.43, 8.45): the T=0 procedure of ISO 7816-3 / ETSI TS 102 221 7.3.1 (61xx -> GET
// RESPONSE, 6Cxx -> resend with Le), CLA channel coding of TS 102 221 10.1.1, and the
// file reads behind +CCID (EF.ICCID 2FE2 under MF, TS 102 221 13.2), +CIMI (EF.IMSI 6F07
// under ADF.USIM, TS 31.102 4.2.2; USIM AID from EF.DIR 2F00) and +CRSM (select the file, then READ/UPDATE BINARY/RECORD, STATUS).
import { concatBytes } from '../bytes.ts';
import type { ApduTransport } from './types.ts';

/** A card answered with a status word the operation cannot continue from. */
export class CardStatusError extends Error {
  override readonly name = 'CardStatusError';
  constructor(
    readonly step: string,
    readonly sw: number,
  ) {
    super(`${step}: card answered ${sw.toString(16).padStart(4, '0').toUpperCase()}`);
  }
}

export function swOf(rapdu: Uint8Array): number {
  if (rapdu.length < 2) return 0x6f00;
  return ((rapdu[rapdu.length - 2] as number) << 8) | (rapdu[rapdu.length - 1] as number);
}

/** True when CLA follows the ISO structure (interindustry and '8X'/'9X'/'CX'..'FX'); 'AX'/'BX' (GSM) and FF do not. */
export function isStructuredCla(cla: number): boolean {
  const c = cla & 0xff;
  if (c === 0xff) return false;
  if ((c & 0xe0) === 0x20 || (c & 0xe0) === 0xa0) return false; // RFU 001x xxxx, GSM 'AX'/'BX'
  return true;
}

/** Logical channel a CLA addresses (0 for unstructured classes). */
export function channelOfCla(cla: number): number {
  if (!isStructuredCla(cla)) return 0;
  return (cla & 0x40) !== 0 ? 4 + (cla & 0x0f) : cla & 0x03;
}

/**
 * Put a channel number into CLA (TS 102 221 10.1.1): keeps the proprietary bit, chaining
 * and secure messaging, switches between first (0-3) and further (4-19) coding.
 * Unstructured classes are returned unchanged.
 */
export function claForChannel(cla: number, channel: number): number {
  if (!isStructuredCla(cla)) return cla & 0xff;
  if (!Number.isInteger(channel) || channel < 0 || channel > 19) throw new RangeError(`logical channel ${channel} out of range 0-19`);
  const b8 = cla & 0x80;
  const chaining = cla & 0x10;
  const further = (cla & 0x40) !== 0;
  if (channel < 4) {
    const sm = further ? ((cla & 0x20) !== 0 ? 0x08 : 0) : cla & 0x0c;
    return b8 | chaining | sm | channel;
  }
  const sm = further ? cla & 0x20 : (cla & 0x0c) !== 0 ? 0x20 : 0;
  return b8 | 0x40 | sm | chaining | (channel - 4);
}

/** Resend a C-APDU with Le = le (6Cxx): replace Le of case 2/4, append it to case 1/3. */
function withLe(capdu: Uint8Array, le: number): Uint8Array {
  if (capdu.length === 5) return concatBytes(capdu.subarray(0, 4), Uint8Array.of(le));
  if (capdu.length > 5) {
    const lc = capdu[4] as number;
    if (capdu.length === 5 + lc + 1) return concatBytes(capdu.subarray(0, capdu.length - 1), Uint8Array.of(le));
    return concatBytes(capdu, Uint8Array.of(le));
  }
  return concatBytes(capdu, Uint8Array.of(le));
}

export type ApduLogger = (capdu: Uint8Array, rapdu: Uint8Array) => void;

/** The modem's own link to the card: plain transmit, or with the T=0 procedure handled. */
export class CardLink {
  constructor(
    readonly transport: ApduTransport,
    private readonly log: ApduLogger = () => {},
  ) {}

  async transmit(capdu: Uint8Array): Promise<Uint8Array> {
    const r = await this.transport.transmit(capdu);
    this.log(capdu, r);
    return r;
  }

  /** Transmit and resolve 61xx (GET RESPONSE, repeated) and 6Cxx (resend once) like an MT on T=0. */
  async exchange(capdu: Uint8Array): Promise<Uint8Array> {
    let resp = await this.transmit(capdu);
    let sw = swOf(resp);
    if (sw >> 8 === 0x6c) {
      resp = await this.transmit(withLe(capdu, sw & 0xff));
      sw = swOf(resp);
    }
    const parts: Uint8Array[] = [];
    const ch = channelOfCla(capdu[0] as number);
    const grCla = isStructuredCla(capdu[0] as number) ? claForChannel(0x00, ch) : (capdu[0] as number);
    for (let guard = 0; sw >> 8 === 0x61 && guard < 256; guard++) {
      parts.push(resp.subarray(0, resp.length - 2));
      resp = await this.transmit(Uint8Array.of(grCla, 0xc0, 0x00, 0x00, sw & 0xff));
      sw = swOf(resp);
    }
    if (parts.length === 0) return resp;
    return concatBytes(...parts, resp);
  }

  /** SELECT by file id on the basic channel (P2 04: FCP). Returns the full R-APDU. */
  async selectFid(fid: number): Promise<Uint8Array> {
    return this.exchange(Uint8Array.of(0x00, 0xa4, 0x00, 0x04, 0x02, fid >> 8, fid & 0xff));
  }

  async selectAid(aid: Uint8Array): Promise<Uint8Array> {
    return this.exchange(concatBytes(Uint8Array.of(0x00, 0xa4, 0x04, 0x04, aid.length), aid));
  }

  private async must(step: string, p: Promise<Uint8Array>): Promise<Uint8Array> {
    const r = await p;
    const sw = swOf(r);
    if (sw !== 0x9000) throw new CardStatusError(step, sw);
    return r.subarray(0, r.length - 2);
  }

  /** EF.ICCID: SELECT 3F00, SELECT 2FE2, READ BINARY 10 bytes, nibble-swapped BCD. */
  async readIccid(): Promise<string> {
    await this.must('SELECT MF', this.selectFid(0x3f00));
    await this.must('SELECT EF.ICCID', this.selectFid(0x2fe2));
    const data = await this.must('READ BINARY EF.ICCID', this.exchange(Uint8Array.of(0x00, 0xb0, 0x00, 0x00, 0x0a)));
    return decodeSwappedBcd(data);
  }

  /** USIM AID from EF.DIR (first application whose AID starts A0000000871002), else the fallback. */
  async findUsimAid(fallback: Uint8Array): Promise<Uint8Array> {
    await this.must('SELECT MF', this.selectFid(0x3f00));
    const fcp = await this.selectFid(0x2f00);
    if (swOf(fcp) !== 0x9000) return fallback;
    const desc = findTlv(fcp.subarray(0, fcp.length - 2), 0x82);
    const recLen = desc && desc.length >= 4 ? ((desc[2] as number) << 8) | (desc[3] as number) : 0;
    const recCount = desc && desc.length >= 5 ? (desc[4] as number) : 8;
    for (let rec = 1; rec <= recCount; rec++) {
      const r = await this.exchange(Uint8Array.of(0x00, 0xb2, rec, 0x04, recLen & 0xff));
      if (swOf(r) !== 0x9000) break;
      const app = findTlv(r.subarray(0, r.length - 2), 0x61);
      const aid = app ? findTlv(app, 0x4f) : undefined;
      if (aid && aid.length >= 7 && hexOf(aid.subarray(0, 7)) === 'A0000000871002') return aid;
    }
    return fallback;
  }

  /** EF.IMSI under ADF.USIM: SELECT ADF by AID, SELECT 6F07, READ BINARY 9 bytes. */
  async readImsi(fallbackAid: Uint8Array): Promise<string> {
    const aid = await this.findUsimAid(fallbackAid);
    await this.must('SELECT ADF.USIM', this.selectAid(aid));
    await this.must('SELECT EF.IMSI', this.selectFid(0x6f07));
    const data = await this.must('READ BINARY EF.IMSI', this.exchange(Uint8Array.of(0x00, 0xb0, 0x00, 0x00, 0x09)));
    return decodeImsi(data);
  }
}

function hexOf(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('').toUpperCase();
}

/** First value of a one-byte-tag BER TLV at this level (or inside the outer 62/6F template). */
export function findTlv(data: Uint8Array, tag: number): Uint8Array | undefined {
  let buf = data;
  if (buf.length >= 2 && (buf[0] === 0x62 || buf[0] === 0x6f) && tag !== buf[0]) {
    const inner = readTlv(buf, 0);
    if (inner) buf = inner.value;
  }
  for (let i = 0; i < buf.length; ) {
    const t = readTlv(buf, i);
    if (!t) return undefined;
    if (t.tag === tag) return t.value;
    i = t.next;
  }
  return undefined;
}

function readTlv(buf: Uint8Array, i: number): { tag: number; value: Uint8Array; next: number } | undefined {
  if (i + 2 > buf.length) return undefined;
  const tag = buf[i] as number;
  let len = buf[i + 1] as number;
  let off = i + 2;
  if (len === 0x81) {
    len = buf[off] ?? 0;
    off++;
  } else if (len === 0x82) {
    len = ((buf[off] ?? 0) << 8) | (buf[off + 1] ?? 0);
    off += 2;
  }
  if (off + len > buf.length) return undefined;
  return { tag, value: buf.subarray(off, off + len), next: off + len };
}

/** TS 102 221 13.2 / ITU-T E.118: each byte holds two digits, low nibble first; F pads. */
export function decodeSwappedBcd(data: Uint8Array): string {
  let s = '';
  for (const b of data) {
    for (const n of [b & 0x0f, b >> 4]) {
      if (n === 0x0f) return s;
      s += n.toString(16).toUpperCase();
    }
  }
  return s;
}

export function encodeSwappedBcd(digits: string, bytes: number): Uint8Array {
  const padded = digits.padEnd(bytes * 2, 'F');
  const out = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) out[i] = (parseInt(padded[2 * i + 1] as string, 16) << 4) | parseInt(padded[2 * i] as string, 16);
  return out;
}

/** TS 31.102 4.2.2 EF.IMSI: length byte, then the first nibble is the parity/type indicator. */
export function decodeImsi(data: Uint8Array): string {
  const len = data[0] ?? 0;
  if (len === 0 || len === 0xff || len > 8) throw new CardStatusError('EF.IMSI', 0x6f00);
  const digits = decodeSwappedBcd(data.subarray(1, 1 + len));
  return digits.slice(1);
}

export function encodeImsi(imsi: string): Uint8Array {
  const odd = imsi.length % 2 === 1;
  const nibbles = (odd ? '9' : '1') + imsi;
  const n = Math.ceil(nibbles.length / 2);
  return concatBytes(Uint8Array.of(n), encodeSwappedBcd(nibbles, n), new Uint8Array(8 - n).fill(0xff));
}
