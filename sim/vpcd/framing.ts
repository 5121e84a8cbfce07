// vsmartcard vpcd wire protocol (vsmartcard's vpcd.c and its protocol description):
// every message is a 2-byte big-endian length followed by that many bytes. A
// 1-byte payload is a control message from the reader side (00 power off,
// 01 power on, 02 reset, 04 get ATR, answered with the ATR); any other payload
// is a C-APDU answered by the R-APDU. The same framing carries the card's
// answers. This module only frames and classifies; the endpoints are in card.ts
// (card side) and sim/lpa (reader side).

export const VPCD_DEFAULT_PORT = 35963;

export const VpcdControl = {
  powerOff: 0x00,
  powerOn: 0x01,
  reset: 0x02,
  getAtr: 0x04,
} as const;
export type VpcdControlName = keyof typeof VpcdControl;

export type VpcdMessage = { kind: 'control'; control: VpcdControlName } | { kind: 'apdu'; apdu: Uint8Array } | { kind: 'invalid'; payload: Uint8Array; reason: string };

export class VpcdFrameError extends Error {
  override readonly name = 'VpcdFrameError';
}

export function encodeFrame(payload: Uint8Array): Uint8Array {
  if (payload.byteLength > 0xffff) throw new VpcdFrameError(`vpcd payload of ${payload.byteLength} bytes exceeds 65535`);
  const out = new Uint8Array(2 + payload.byteLength);
  out[0] = payload.byteLength >> 8;
  out[1] = payload.byteLength & 0xff;
  out.set(payload, 2);
  return out;
}

/** Classify a payload received by the card side. */
export function classifyCardSidePayload(payload: Uint8Array): VpcdMessage {
  if (payload.byteLength === 1) {
    const entry = (Object.entries(VpcdControl) as [VpcdControlName, number][]).find(([, v]) => v === payload[0]);
    return entry ? { kind: 'control', control: entry[0] } : { kind: 'invalid', payload, reason: `unknown control byte ${payload[0]!.toString(16).padStart(2, '0')}` };
  }
  if (payload.byteLength < 4) return { kind: 'invalid', payload, reason: `a C-APDU needs at least 4 bytes, got ${payload.byteLength}` };
  return { kind: 'apdu', apdu: payload };
}

/**
 * Incremental frame decoder for a TCP stream: feed chunks, get whole payloads.
 * `maxPayload` bounds memory against a peer that announces huge frames.
 */
export class FrameDecoder {
  private buffer = new Uint8Array(0);

  constructor(private readonly maxPayload = 0xffff) {}

  push(chunk: Uint8Array): Uint8Array[] {
    const merged = new Uint8Array(this.buffer.byteLength + chunk.byteLength);
    merged.set(this.buffer);
    merged.set(chunk, this.buffer.byteLength);
    const out: Uint8Array[] = [];
    let p = 0;
    while (merged.byteLength - p >= 2) {
      const len = (merged[p]! << 8) | merged[p + 1]!;
      if (len > this.maxPayload) throw new VpcdFrameError(`vpcd frame announces ${len} bytes, limit ${this.maxPayload}`);
      if (merged.byteLength - p - 2 < len) break;
      out.push(merged.slice(p + 2, p + 2 + len));
      p += 2 + len;
    }
    this.buffer = merged.slice(p);
    return out;
  }

  /** bytes received that do not form a whole frame yet */
  get pending(): number {
    return this.buffer.byteLength;
  }
}
