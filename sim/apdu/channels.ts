// Class byte (CLA) coding: ISO/IEC 7816-4:2013 5.4.1 (first interindustry 000x xxxx:
// b5 chaining, b4-b3 secure messaging, b2-b1 channel 0-3; further interindustry
// 01xx xxxx: b6 secure messaging, b5 chaining, b4-b1 channel 4-19; 001x xxxx RFU;
// FF invalid) and ETSI TS 102 221 10.1.1 / GlobalPlatform Card Spec 11.1.4, which
// structure the proprietary classes '8X'/'9X' and 'CX'..'FX' the same way.
// Logical channels are opened with MANAGE CHANNEL (ISO 7816-4 11.1.2, TS 102 221 11.1.17).

export const MAX_LOGICAL_CHANNEL = 19;

export type SecureMessaging = 'none' | 'proprietary' | 'iso' | 'iso-authenticated-header';
export type ClaKind = 'interindustry' | 'proprietary' | 'rfu' | 'invalid';

export interface ClaInfo {
  readonly cla: number;
  readonly kind: ClaKind;
  /**
   * Channel, secure messaging and chaining bits follow the ISO structure: all
   * interindustry classes and the proprietary ones except 'AX'/'BX' (0xA0 is the
   * GSM 51.011 class, not structured).
   */
  readonly structured: boolean;
  /** further (01xx xxxx / 11xx xxxx) coding: channels 4-19 */
  readonly further: boolean;
  /** 0-19, or -1 when the class is not structured */
  readonly channel: number;
  readonly secureMessaging: SecureMessaging;
  readonly chaining: boolean;
}

export class ClaError extends Error {
  override readonly name = 'ClaError';
  constructor(
    message: string,
    readonly cla: number,
  ) {
    super(message);
  }
}

export class ChannelError extends RangeError {
  override readonly name = 'ChannelError';
}

/** 0xFF: invalid (ISO 7816-3 reserves it for PPS). */
export function isInvalidCla(cla: number): boolean {
  return (cla & 0xff) === 0xff;
}

/** b8 = 1 (proprietary: GlobalPlatform '80', TS 102 221 '8X'/'CX'/'EX', GSM 'A0'), except FF. */
export function isProprietaryCla(cla: number): boolean {
  return (cla & 0x80) !== 0 && !isInvalidCla(cla);
}

/** 000x xxxx or 01xx xxxx. */
export function isInterindustryCla(cla: number): boolean {
  return (cla & 0xe0) === 0x00 || (cla & 0xc0) === 0x40;
}

export function decodeCla(cla: number): ClaInfo {
  const c = cla & 0xff;
  if (c === 0xff) {
    return { cla: c, kind: 'invalid', structured: false, further: false, channel: -1, secureMessaging: 'none', chaining: false };
  }
  const proprietary = (c & 0x80) !== 0;
  const further = (c & 0x40) !== 0;
  if (!further && (c & 0x20) !== 0) {
    // 001x xxxx is RFU; 101x xxxx ('AX', 'BX') is proprietary without ISO structure
    return { cla: c, kind: proprietary ? 'proprietary' : 'rfu', structured: false, further: false, channel: -1, secureMessaging: 'none', chaining: false };
  }
  const chaining = (c & 0x10) !== 0;
  if (further) {
    // b6 = 1: secure messaging. GlobalPlatform's 'EX' is its SCP (first-class '84' equivalent).
    const sm: SecureMessaging = (c & 0x20) === 0 ? 'none' : proprietary ? 'proprietary' : 'iso';
    return { cla: c, kind: proprietary ? 'proprietary' : 'interindustry', structured: true, further: true, channel: (c & 0x0f) + 4, secureMessaging: sm, chaining };
  }
  const smBits = (c >> 2) & 0x03;
  const sm: SecureMessaging = (['none', 'proprietary', 'iso', 'iso-authenticated-header'] as const)[smBits]!;
  return { cla: c, kind: proprietary ? 'proprietary' : 'interindustry', structured: true, further: false, channel: c & 0x03, secureMessaging: sm, chaining };
}

/** Logical channel (0-19) a structured CLA addresses. */
export function channelOf(cla: number): number {
  const info = decodeCla(cla);
  if (!info.structured) throw new ClaError(`CLA ${hex2(cla)} does not code a logical channel (${info.kind})`, cla);
  return info.channel;
}

/**
 * The same class on another channel. For a channel-0 CLA without secure messaging this
 * is the usual `(cla & 0xBC) | ch` for 0-3 and `(cla & 0xB0) | 0x40 | (ch - 4)` for
 * 4-19; it also converts a CLA already coded for another channel, and maps secure
 * messaging between b4-b3 (channels 0-3) and b6 (channels 4-19).
 */
export function withChannel(cla: number, channel: number): number {
  if (!Number.isInteger(channel) || channel < 0 || channel > MAX_LOGICAL_CHANNEL) {
    throw new ChannelError(`logical channel must be 0..${MAX_LOGICAL_CHANNEL}, got ${channel}`);
  }
  const info = decodeCla(cla);
  if (!info.structured) throw new ClaError(`CLA ${hex2(cla)} does not code a logical channel (${info.kind})`, cla);
  const b8 = info.cla & 0x80;
  const chaining = info.chaining ? 0x10 : 0;
  if (channel < 4) {
    let sm = 0;
    if (info.secureMessaging === 'proprietary') sm = 0x04;
    else if (info.secureMessaging === 'iso') sm = 0x08;
    else if (info.secureMessaging === 'iso-authenticated-header') sm = 0x0c;
    return b8 | chaining | sm | channel;
  }
  if (info.secureMessaging === 'iso-authenticated-header') {
    throw new ClaError(`CLA ${hex2(cla)}: header-authenticated secure messaging has no coding on channels 4-19`, cla);
  }
  return b8 | 0x40 | (info.secureMessaging === 'none' ? 0 : 0x20) | chaining | (channel - 4);
}

export function hasSecureMessaging(cla: number): boolean {
  const info = decodeCla(cla);
  return info.structured && info.secureMessaging !== 'none';
}

export function isChainingCla(cla: number): boolean {
  const info = decodeCla(cla);
  return info.structured && info.chaining;
}

function hex2(b: number): string {
  return (b & 0xff).toString(16).toUpperCase().padStart(2, '0');
}
