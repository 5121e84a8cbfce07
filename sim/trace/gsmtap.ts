// GSMTAP-in-UDP pcap writer for APDU traces (libosmocore gsmtap.h, as SIMtrace2
// and pySim-trace emit it): GSMTAP version 2, header length 4 words, type 0x04
// (SIM), sub-type 0x00 APDU / 0x01 ATR, sent to UDP port 4729. Each APDU
// exchange is one packet holding the C-APDU followed by the R-APDU (data + SW),
// which is what Wireshark's gsm_sim dissector decodes. Frames are written as
// raw IPv4 (pcap LINKTYPE_RAW 101) from 127.0.0.1 to 127.0.0.1.

export const GSMTAP_PORT = 4729;
const GSMTAP_VERSION = 2;
const GSMTAP_TYPE_SIM = 0x04;
export const GSMTAP_SIM_APDU = 0x00;
export const GSMTAP_SIM_ATR = 0x01;
const LINKTYPE_RAW = 101;

export interface GsmtapRecord {
  /** milliseconds since the epoch */
  timeMs: number;
  subType: typeof GSMTAP_SIM_APDU | typeof GSMTAP_SIM_ATR;
  payload: Uint8Array;
}

function ipv4Checksum(header: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < header.length; i += 2) sum += (header[i]! << 8) | header[i + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** One IPv4/UDP/GSMTAP packet. */
export function gsmtapPacket(subType: number, payload: Uint8Array, srcPort = 4729): Uint8Array {
  const gsmtap = new Uint8Array(16 + payload.length);
  gsmtap[0] = GSMTAP_VERSION;
  gsmtap[1] = 4; // header length in 32-bit words
  gsmtap[2] = GSMTAP_TYPE_SIM;
  gsmtap[12] = subType;
  gsmtap.set(payload, 16);
  const udpLen = 8 + gsmtap.length;
  const total = 20 + udpLen;
  if (total > 0xffff) throw new RangeError(`APDU exchange of ${payload.length} bytes does not fit an IPv4 packet`);
  const pkt = new Uint8Array(total);
  const dv = new DataView(pkt.buffer);
  pkt[0] = 0x45;
  dv.setUint16(2, total);
  pkt[8] = 64; // TTL
  pkt[9] = 17; // UDP
  pkt.set([127, 0, 0, 1], 12);
  pkt.set([127, 0, 0, 1], 16);
  dv.setUint16(10, ipv4Checksum(pkt.subarray(0, 20)));
  dv.setUint16(20, srcPort);
  dv.setUint16(22, GSMTAP_PORT);
  dv.setUint16(24, udpLen);
  // UDP checksum 0 = not computed (allowed for IPv4)
  pkt.set(gsmtap, 28);
  return pkt;
}

/** A complete pcap file (microsecond timestamps). */
export function gsmtapPcap(records: readonly GsmtapRecord[]): Uint8Array {
  const packets = records.map((r) => ({ r, pkt: gsmtapPacket(r.subType, r.payload) }));
  const size = 24 + packets.reduce((n, p) => n + 16 + p.pkt.length, 0);
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, 0xa1b2c3d4, true);
  dv.setUint16(4, 2, true);
  dv.setUint16(6, 4, true);
  dv.setUint32(16, 65535, true);
  dv.setUint32(20, LINKTYPE_RAW, true);
  let o = 24;
  for (const { r, pkt } of packets) {
    const sec = Math.floor(r.timeMs / 1000);
    const usec = Math.round((r.timeMs - sec * 1000) * 1000);
    dv.setUint32(o, sec, true);
    dv.setUint32(o + 4, usec, true);
    dv.setUint32(o + 8, pkt.length, true);
    dv.setUint32(o + 12, pkt.length, true);
    out.set(pkt, o + 16);
    o += 16 + pkt.length;
  }
  return out;
}
