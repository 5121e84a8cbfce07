// GSMTAP-in-UDP pcap writer for APDU traces (libosmocore's gsmtap.h, the format SIMtrace2
// and pySim-trace emit): GSMTAP version 2, 4-word header, sent to UDP port 4729, frames as
// raw IPv4 (pcap LINKTYPE_RAW 101).
//
// - An APDU exchange is one GSMTAP type 0x04 (SIM) sub-type 0x00 (APDU) packet holding the
//   C-APDU followed by the R-APDU (data + SW), which Wireshark's gsm_sim dissector decodes.
// - Each hop has its own pair of loopback addresses (HOP_ADDRESSES), so "what the LPA got"
//   (lpa-bridge) and "what the card said" (modem-card) filter apart: `ip.src == 127.0.1.1`.
// - Everything that is not a complete T=0 exchange goes as a GSMTAP type 0x10 (libosmocore
//   log) record, Wireshark's GSMTAP-LOG, with the bytes spelt in text: the ATR (Wireshark
//   4.0, Debian 12's, hands every SIM-type packet to gsm_sim whatever its sub-type, so an
//   ATR there reads as a bogus APDU), transport errors (no R-APDU), and exchanges gsm_sim
//   would mis-slice into "Malformed Packet" (see simFrameProblem).
// - The first frame is a log record naming the hops of the file.
import type { Hop } from './trace.ts';

export const GSMTAP_PORT = 4729;
const GSMTAP_VERSION = 2;
const GSMTAP_TYPE_SIM = 0x04;
const GSMTAP_TYPE_OSMOCORE_LOG = 0x10;
const GSMTAP_SIM_APDU = 0x00;
const LINKTYPE_RAW = 101;

/** Source (the side sending the C-APDU) and destination address of each hop in the pcap. */
export const HOP_ADDRESSES: Readonly<Record<Hop, { src: string; dst: string; label: string }>> = {
  'lpa-bridge': { src: '127.0.1.1', dst: '127.0.1.2', label: 'LPA -> LPA Bridge (vpcd link)' },
  'bridge-modem': { src: '127.0.2.1', dst: '127.0.2.2', label: 'LPA Bridge -> modem (AT+CSIM/CGLA payload)' },
  'modem-card': { src: '127.0.3.1', dst: '127.0.3.2', label: 'modem -> card eUICC' },
  'lpa-card': { src: '127.0.4.1', dst: '127.0.4.2', label: 'LPA -> card eUICC (no bridge)' },
};
const TRACE_ADDRESS = { src: '127.0.0.1', dst: '127.0.0.1' };

/** libosmocore logging levels Wireshark names (GSMTAP-LOG). */
export const LOG_LEVEL = { info: 3, notice: 5, error: 7 } as const;

export type GsmtapRecord =
  | { kind: 'apdu'; timeMs: number; hop: Hop; command: Uint8Array; response: Uint8Array }
  | {
      kind: 'log';
      timeMs: number;
      /** absent: the file's own legend */
      hop?: Hop;
      level: (typeof LOG_LEVEL)[keyof typeof LOG_LEVEL];
      message: string;
      /** where the same event is in the text evidence (shown as "source file:line") */
      source?: { file: string; line: number };
    };

/**
 * Instructions whose data Wireshark's gsm_sim (4.0, SIMtrace mode) reads by P3 or by their
 * structure: in a frame that does not hold what it expects there it reports "Malformed
 * Packet". Found by feeding it every INS in the shapes bridges produce; gsmtap.test.ts
 * re-checks them against the installed tshark.
 * Case 2 reads (P3 bytes of data come back): READ BINARY, READ RECORD, GET RESPONSE, GET DATA,
 * FETCH, GET IDENTITY. Case 3 writes (P3 bytes of command data): TERMINAL PROFILE, SEARCH
 * RECORD, SELECT, UPDATE BINARY, UPDATE RECORD.
 */
const CASE2_BY_P3 = new Set([0xb0, 0xb2, 0xc0, 0xca, 0x12, 0x78]);
const CASE3_BY_P3 = new Set([0x10, 0xa2, 0xa4, 0xd6, 0xdc]);
/** TERMINAL RESPONSE, ENVELOPE: gsm_sim decodes their data as card toolkit TLVs (ETSI TS 102 223). */
const TOOLKIT = new Set([0x14, 0xc2]);
const INS_SELECT = 0xa4;
const INS_RUN_GSM_ALGORITHM = 0x88;

/**
 * Why an exchange cannot be one GSM SIM frame (undefined: it can). A frame is "C-APDU then
 * R-APDU"; the dissector slices it the way a T=0 exchange is laid out (ISO/IEC 7816-3 12.2):
 * CLA INS P1 P2 P3, P3 bytes of command data or (case 2) of response data, then SW1 SW2.
 */
export function simFrameProblem(command: Uint8Array, response: Uint8Array): string | undefined {
  if (response.length < 2) return 'the R-APDU has no status word';
  if (command.length < 5) return `a ${command.length}-byte C-APDU has no P3 (T=0 sends case 1 with P3 = 00, ISO/IEC 7816-3 12.2.2)`;
  const [, ins, p1, p2, p3] = command as unknown as [number, number, number, number, number];
  const body = command.length - 5;
  if (p3 === 0 && body > 0) return 'extended-length C-APDU (ISO/IEC 7816-4 5.1), which T=0 cannot carry (ISO/IEC 7816-3 12.1.3)';
  if (body > 0 && body !== p3 && body !== p3 + 1) return `Lc ${p3} but ${body} bytes follow the header (ISO/IEC 7816-4 5.1)`;
  const dataLength = response.length - 2;
  if (body === 0 && CASE2_BY_P3.has(ins) && p3 !== 0 && dataLength !== p3)
    return `Le ${p3} but ${dataLength} response data bytes (a T=0 case 2 exchange returns exactly P3 bytes, ISO/IEC 7816-3 12.2.3)`;
  if (body === 0 && CASE3_BY_P3.has(ins) && p3 !== 0) return `P3 ${p3} announces command data that the C-APDU does not hold (ISO/IEC 7816-4 5.1)`;
  if (ins === INS_SELECT && body > 0 && ((p1 <= 2 && p3 !== 2) || ((p1 === 8 || p1 === 9) && p3 % 2 !== 0)))
    return `SELECT by file identifier or path with ${p3} data bytes (ETSI TS 102 221 11.1.1: a file identifier is 2 bytes)`;
  if (TOOLKIT.has(ins)) return 'card toolkit command (ETSI TS 102 223): not LPA Bridge traffic, kept as bytes';
  if (ins === INS_RUN_GSM_ALGORITHM && !(p2 === 0 && p3 === 16 && body === 16 && dataLength === 12))
    return dataLength === 0 ? 'authentication refused with a bare status word (no SRES/Kc or RES to dissect, 3GPP TS 51.011 9.2.16 / TS 31.102 7.1.2)' : 'authentication exchange outside the GSM algorithm layout (3GPP TS 51.011 9.2.16)';
  return undefined;
}

function ipv4Checksum(header: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < header.length; i += 2) sum += (header[i]! << 8) | header[i + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function ipv4(address: string): number[] {
  return address.split('.').map(Number);
}

/** One IPv4/UDP/GSMTAP packet. */
export function gsmtapPacket(type: number, subType: number, payload: Uint8Array, addresses: { src: string; dst: string } = TRACE_ADDRESS): Uint8Array {
  const gsmtap = new Uint8Array(16 + payload.length);
  gsmtap[0] = GSMTAP_VERSION;
  gsmtap[1] = 4; // header length in 32-bit words
  gsmtap[2] = type;
  gsmtap[12] = subType;
  gsmtap.set(payload, 16);
  const udpLen = 8 + gsmtap.length;
  const total = 20 + udpLen;
  if (total > 0xffff) throw new RangeError(`a GSMTAP payload of ${payload.length} bytes does not fit an IPv4 packet`);
  const pkt = new Uint8Array(total);
  const dv = new DataView(pkt.buffer);
  pkt[0] = 0x45;
  dv.setUint16(2, total);
  pkt[8] = 64; // TTL
  pkt[9] = 17; // UDP
  pkt.set(ipv4(addresses.src), 12);
  pkt.set(ipv4(addresses.dst), 16);
  dv.setUint16(10, ipv4Checksum(pkt.subarray(0, 20)));
  dv.setUint16(20, GSMTAP_PORT);
  dv.setUint16(22, GSMTAP_PORT);
  dv.setUint16(24, udpLen);
  // UDP checksum 0 = not computed (allowed for IPv4)
  pkt.set(gsmtap, 28);
  return pkt;
}

function fixedAscii(out: Uint8Array, offset: number, size: number, text: string): void {
  const bytes = new TextEncoder().encode(text.replace(/[^\x20-\x7e]/g, '?'));
  out.set(bytes.subarray(0, size - 1), offset); // NUL-terminated, as libosmocore writes it
}

/**
 * The source-file field always names where the event is kept: besides telling the reader, it
 * keeps every record free of 16 zero bytes in a row (an empty 32-byte field would be), which a
 * scan of the evidence for all-zero key material would flag.
 */
export const SOURCE_FILE = { apdu: 'apdu.log of this case', legend: 'bridgelab GSMTAP trace' } as const;

/** The body of a GSMTAP libosmocore log record (struct gsmtap_osmocore_log_hdr + text). */
export function osmocoreLogPayload(timeMs: number, subsystem: string, level: number, message: string, source?: { file: string; line: number }): Uint8Array {
  const text = new TextEncoder().encode(message.replace(/[^\x20-\x7e]/g, '?'));
  const out = new Uint8Array(84 + text.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, Math.floor(timeMs / 1000));
  dv.setUint32(4, Math.min(999_999, Math.round((timeMs % 1000) * 1000)));
  fixedAscii(out, 8, 16, 'bridgelab');
  dv.setUint32(24, 0); // pid: not meaningful for a recorded trace
  out[28] = level;
  fixedAscii(out, 32, 16, subsystem);
  fixedAscii(out, 48, 32, source?.file ?? SOURCE_FILE.legend);
  dv.setUint32(80, source?.line ?? 0);
  out.set(text, 84);
  return out;
}

function recordPacket(r: GsmtapRecord): Uint8Array {
  if (r.kind === 'apdu') {
    const payload = new Uint8Array(r.command.length + r.response.length);
    payload.set(r.command);
    payload.set(r.response, r.command.length);
    return gsmtapPacket(GSMTAP_TYPE_SIM, GSMTAP_SIM_APDU, payload, HOP_ADDRESSES[r.hop]);
  }
  return gsmtapPacket(GSMTAP_TYPE_OSMOCORE_LOG, 0, osmocoreLogPayload(r.timeMs, r.hop ?? 'trace', r.level, r.message, r.source), r.hop ? HOP_ADDRESSES[r.hop] : TRACE_ADDRESS);
}

/** The legend record: which address pair is which hop, for the hops present. */
export function legendRecord(timeMs: number, hops: readonly Hop[]): GsmtapRecord {
  const parts = hops.map((h) => `${HOP_ADDRESSES[h].src} -> ${HOP_ADDRESSES[h].dst} = ${h} (${HOP_ADDRESSES[h].label})`);
  return {
    kind: 'log',
    timeMs,
    level: LOG_LEVEL.info,
    message: `bridgelab APDU trace; each GSM SIM frame is one C-APDU followed by its R-APDU; ${parts.join('; ') || 'no APDU hop'}`,
  };
}

/** A complete pcap file (microsecond timestamps). */
export function gsmtapPcap(records: readonly GsmtapRecord[]): Uint8Array {
  const packets = records.map((r) => ({ timeMs: r.timeMs, pkt: recordPacket(r) }));
  const size = 24 + packets.reduce((n, p) => n + 16 + p.pkt.length, 0);
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, 0xa1b2c3d4, true);
  dv.setUint16(4, 2, true);
  dv.setUint16(6, 4, true);
  dv.setUint32(16, 65535, true);
  dv.setUint32(20, LINKTYPE_RAW, true);
  let o = 24;
  for (const { timeMs, pkt } of packets) {
    const sec = Math.floor(timeMs / 1000);
    const usec = Math.min(999_999, Math.round((timeMs - sec * 1000) * 1000));
    dv.setUint32(o, sec, true);
    dv.setUint32(o + 4, usec, true);
    dv.setUint32(o + 8, pkt.length, true);
    dv.setUint32(o + 12, pkt.length, true);
    out.set(pkt, o + 16);
    o += 16 + pkt.length;
  }
  return out;
}
