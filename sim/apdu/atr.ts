// Answer-to-Reset (ISO/IEC 7816-3:2006 8.2: TS, T0, TAi/TBi/TCi/TDi, historical bytes,
// TCK) as a UICC sends it (ETSI TS 102 221 6.3-6.5: T=15 global bytes carry the clock
// stop / class indicator; historical bytes are ISO 7816-4 12.1.1 compact-TLV with the
// card capabilities). TCK is present whenever a protocol other than T=0 is indicated
// (T=1 or T=15) and makes the XOR of T0..TCK zero. Shared by the software eUICC (the
// card's ATR) and the reference bridge (the ATR it answers the LPA's reader with).
//
// The default is what field eUICCs send: T=0 only, then T=15 global bytes TA = C7 and
// TB = 82, e.g. 3B 9F 96 80 3F C7 82 80 31 E0 73 F6 21 57 57 4A 4D 02 0B 60 01 00 69, one
// of the tested eUICC ATRs listed by Infineon's OPTIGA Connect Consumer LPA
// (Infineon/optiga-connect-consumer-lpa-android, app/.../euicc/base/generic/Atr.java),
// which, like Android's AnswerToReset.isEuiccSupported (AOSP frameworks/opt/telephony),
// reads b8 and b2 of that TB as "eUICC". PC/SC LPAs that connect with T=0 only (lpac)
// trip over an ATR whose first offered protocol is T=1; T=0+T=1 stays an option.
// Extended Lc/Le is announced in the third software function byte of the card
// capabilities (ISO/IEC 7816-4 12.1.1.9, tag 7: b7 of the third byte).
import { concatBytes } from '../bytes.ts';

export type AtrProtocols = 'T=0' | 'T=1' | 'T=0,T=1';
export const ATR_PROTOCOLS: readonly AtrProtocols[] = ['T=0', 'T=1', 'T=0,T=1'];

export interface AtrOptions {
  /** offered protocols, first is the default (default 'T=0' like field eUICCs) */
  readonly protocols?: AtrProtocols;
  /** TA1 = FI/DI (default 0x96: Fi 512, Di 32) */
  readonly ta1?: number;
  /** first TA for T=15: clock stop / class indicator (default 0xC7: no preference, classes A, B, C) */
  readonly t15Ta?: number;
  /** first TB for T=15 (default 0x82: b8 and b2, read as "eUICC" by Android and Infineon's LPA); null leaves it out */
  readonly t15Tb?: number | null;
  /** announce extended Lc/Le in the card capabilities of the default historical bytes (default false) */
  readonly extendedLength?: boolean;
  /** include the T=15 global interface bytes (default true) */
  readonly t15?: boolean;
  /** T=1 IFSC (default 0xFE) and BWI/CWI (default 0x45) */
  readonly t1Ifsc?: number;
  readonly t1BwiCwi?: number;
  /** historical bytes, at most 15 (default DEFAULT_HISTORICAL_BYTES) */
  readonly historical?: Uint8Array;
}

/**
 * Category 80, compact-TLV: 31 E0 card service data; 73 FE 21 1B card capabilities
 * (third byte 1B: logical channel assignment by card and by terminal, 4 channels);
 * 63 3A 20 4A pre-issuing data; 83 00 90 00 status indicator (LCS 00, SW 9000).
 */
export const DEFAULT_HISTORICAL_BYTES = Uint8Array.of(0x80, 0x31, 0xe0, 0x73, 0xfe, 0x21, 0x1b, 0x63, 0x3a, 0x20, 0x4a, 0x83, 0x00, 0x90, 0x00);

/** Offset of the third card-capabilities byte in DEFAULT_HISTORICAL_BYTES; b7 (0x40) = extended Lc and Le fields. */
const CAPABILITIES_THIRD_BYTE = 6;
const EXTENDED_LENGTH_BIT = 0x40;

export class AtrError extends Error {
  override readonly name = 'AtrError';
}

interface Group {
  ta?: number;
  tb?: number;
  tc?: number;
  /** protocol indicated by the TD byte that introduces the *next* group */
  nextT?: number;
}

function byteOpt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xff) throw new AtrError(`${name} must be a byte, got ${v}`);
  return v;
}

/** Build an ATR. Interface byte groups: TA1, then one TDi per protocol (T=0 / T=1 / T=15). */
export function buildAtr(options: AtrOptions = {}): Uint8Array {
  const protocols = options.protocols ?? 'T=0';
  const historical = options.historical ?? defaultHistorical(options.extendedLength ?? false);
  if (historical.length > 15) throw new AtrError(`${historical.length} historical bytes, at most 15`);
  const withT15 = options.t15 ?? true;
  const ta1 = byteOpt('TA1', options.ta1 ?? 0x96);
  const offered = protocols === 'T=0' ? [0] : protocols === 'T=1' ? [1] : [0, 1];
  // Group 1 holds TA1. Group 2 (TA2 specific mode, TB2, TC2 = WI of T=0) stays empty:
  // TD1 only names the first protocol. T=1 parameters (IFSC, BWI/CWI) must be in a
  // group i >= 3 introduced by a TD indicating T=1 (ISO 7816-3 11.4), T=15 global bytes
  // after the first TD indicating T=15.
  const groups: Group[] = [{ ta: ta1, nextT: offered[0]! }, {}];
  if (offered.includes(1)) {
    groups[groups.length - 1]!.nextT = 1;
    groups.push({ ta: byteOpt('IFSC', options.t1Ifsc ?? 0xfe), tb: byteOpt('BWI/CWI', options.t1BwiCwi ?? 0x45) });
  }
  if (withT15) {
    groups[groups.length - 1]!.nextT = 15;
    const tb = options.t15Tb === undefined ? 0x82 : options.t15Tb;
    groups.push({ ta: byteOpt('T=15 TA', options.t15Ta ?? 0xc7), ...(tb !== null ? { tb: byteOpt('T=15 TB', tb) } : {}) });
  }
  const y = (g: Group): number => (g.ta !== undefined ? 0x1 : 0) | (g.tb !== undefined ? 0x2 : 0) | (g.tc !== undefined ? 0x4 : 0) | (g.nextT !== undefined ? 0x8 : 0);
  const bytes: number[] = [0x3b, (y(groups[0]!) << 4) | historical.length];
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i]!;
    if (g.ta !== undefined) bytes.push(g.ta);
    if (g.tb !== undefined) bytes.push(g.tb);
    if (g.tc !== undefined) bytes.push(g.tc);
    if (g.nextT !== undefined) bytes.push((y(groups[i + 1]!) << 4) | g.nextT);
  }
  const body = concatBytes(Uint8Array.from(bytes), historical);
  const needsTck = offered.some((t) => t !== 0) || withT15;
  if (!needsTck) return body;
  let tck = 0;
  for (let i = 1; i < body.length; i++) tck ^= body[i]!;
  return concatBytes(body, Uint8Array.of(tck));
}

function defaultHistorical(extendedLength: boolean): Uint8Array {
  const h = DEFAULT_HISTORICAL_BYTES.slice();
  if (extendedLength) h[CAPABILITIES_THIRD_BYTE]! |= EXTENDED_LENGTH_BIT;
  return h;
}

export interface AtrInterfaceGroup {
  readonly ta?: number;
  readonly tb?: number;
  readonly tc?: number;
  readonly td?: number;
}

export interface ParsedAtr {
  readonly convention: 'direct' | 'inverse';
  readonly groups: readonly AtrInterfaceGroup[];
  /** transmission protocols offered (T=15 excluded), in order; [0] when no TD1 */
  readonly protocols: readonly number[];
  readonly hasT15: boolean;
  readonly historical: Uint8Array;
  readonly tck?: number;
}

/** Parse an ATR; checks TCK presence and value. */
export function parseAtr(atr: Uint8Array): ParsedAtr {
  if (atr.length < 2) throw new AtrError('ATR shorter than TS T0');
  const ts = atr[0]!;
  if (ts !== 0x3b && ts !== 0x3f) throw new AtrError(`TS ${ts.toString(16)} is neither 3B nor 3F`);
  const t0 = atr[1]!;
  const k = t0 & 0x0f;
  let i = 2;
  let y = t0 >> 4;
  const groups: AtrInterfaceGroup[] = [];
  const tds: number[] = [];
  const take = (): number => {
    if (i >= atr.length) throw new AtrError('ATR truncated in the interface bytes');
    return atr[i++]!;
  };
  for (;;) {
    const g: { ta?: number; tb?: number; tc?: number; td?: number } = {};
    if (y & 0x1) g.ta = take();
    if (y & 0x2) g.tb = take();
    if (y & 0x4) g.tc = take();
    if (y & 0x8) g.td = take();
    groups.push(g);
    if (g.td === undefined) break;
    tds.push(g.td & 0x0f);
    y = g.td >> 4;
  }
  if (i + k > atr.length) throw new AtrError(`ATR announces ${k} historical bytes, ${atr.length - i} left`);
  const historical = atr.slice(i, i + k);
  i += k;
  const protocols = tds.length === 0 ? [0] : [...new Set(tds.filter((t) => t !== 15))];
  const hasT15 = tds.includes(15);
  const tckRequired = tds.some((t) => t !== 0);
  let tck: number | undefined;
  if (i < atr.length) {
    tck = atr[i++]!;
    if (i !== atr.length) throw new AtrError(`${atr.length - i} bytes after TCK`);
    let x = 0;
    for (let j = 1; j < atr.length; j++) x ^= atr[j]!;
    if (x !== 0) throw new AtrError(`TCK ${tck.toString(16)} wrong: XOR of T0..TCK is ${x.toString(16)}`);
  } else if (tckRequired) {
    throw new AtrError('TCK missing although a protocol other than T=0 is indicated');
  }
  if (tck !== undefined && !tckRequired) throw new AtrError('TCK present although only T=0 is indicated');
  return { convention: ts === 0x3b ? 'direct' : 'inverse', groups, protocols: protocols.length ? protocols : [0], hasT15, historical, ...(tck !== undefined ? { tck } : {}) };
}

/**
 * Whether the historical bytes announce extended Lc and Le fields: category indicator 80
 * (compact-TLV), card capabilities (tag 7) of at least three bytes, b7 of the third
 * (ISO/IEC 7816-4 12.1.1.9). False for anything that cannot be read that way.
 */
export function atrAnnouncesExtendedLength(atr: Uint8Array): boolean {
  let h: Uint8Array;
  try {
    h = parseAtr(atr).historical;
  } catch (err) {
    if (err instanceof AtrError) return false;
    throw err;
  }
  if (h[0] !== 0x80) return false;
  for (let i = 1; i < h.length; ) {
    const tag = h[i]! >> 4;
    const len = h[i]! & 0x0f;
    if (tag === 7) return len >= 3 && i + 3 < h.length && (h[i + 3]! & EXTENDED_LENGTH_BIT) !== 0;
    i += 1 + len;
  }
  return false;
}
