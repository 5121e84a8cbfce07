// Bound Profile Package protection: SCP03t as profiled by SGP.22 2.5.4 and 5.5
// (ES8+ segments 86/87/88), built on GlobalPlatform SCP03 (Amd D) C-MAC and C-DEC:
//   padding 0x80 00.. to a 16-byte multiple (always added),
//   ICV = AES-ECB(S-ENC, 16-byte big-endian block counter), data = AES-CBC(S-ENC, ICV),
//   C-MAC = AES-CMAC(S-MAC, MCV | tag | L | data)[0..8], the full CMAC is the next MCV.
// One block counter per session, starting at 1 and incremented for every segment
// (MAC-only ones too); ReplaceSessionKeys (BF26) starts a new session with the PPKs.
//
// Failure policy (unwrap): a rejected segment never advances the counter or the MCV.
// By default the session is then aborted, as an eUICC does (SGP.22 5.5: an ES8+
// error stops BPP processing and ProfileInstallationResult reports
// scp03tStructureError 7 or scp03tSecurityError 8): every later unwrap rethrows it.
// `{ abortOnError: false }` keeps the session usable: the next correct segment for
// the same counter/MCV still verifies (fault-injection and retry experiments).
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { concatBytes, equalBytes } from '../bytes.ts';
import { BspError, CryptoError } from './errors.ts';

export type BspMode = 'encryptAndMac' | 'macOnly';

export interface BspKeys {
  sEnc: Uint8Array;
  sMac: Uint8Array;
  initialMcv: Uint8Array;
}

/** Content of ReplaceSessionKeysRequest (BF26): the Profile Protection Keys. */
export interface ReplaceSessionKeys {
  initialMacChainingValue: Uint8Array;
  ppkEnc: Uint8Array;
  ppkCmac: Uint8Array;
}

export interface BspSegment {
  /** One-byte BSP tag: 0x86 loadProfileElements, 0x87 ConfigureISDP/ReplaceSessionKeys, 0x88 StoreMetadata. */
  tag: number;
  plaintext: Uint8Array;
  /** Overrides the mode given to protectSegments for this segment. */
  mode?: BspMode;
}

export interface BspSessionOptions {
  /** Default true: after a failed unwrap every later unwrap throws that same error. */
  abortOnError?: boolean;
}

const MAC_LEN = 8;
const BLOCK = 16;
const MAX_LEN = 0xffff;

/** BER length: 1 byte below 128, 81 xx, 82 xxxx (longer values are not BSP segments). */
export function berLength(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n > MAX_LEN) throw new CryptoError('invalidLength', `BER length out of range: ${n}`);
  if (n < 0x80) return Uint8Array.of(n);
  if (n < 0x100) return Uint8Array.of(0x81, n);
  return Uint8Array.of(0x82, n >> 8, n & 0xff);
}

/** Decode a BER definite length at `off`; undefined if malformed or truncated. */
function readBerLength(b: Uint8Array, off: number): { length: number; end: number } | undefined {
  const first = b[off];
  if (first === undefined) return undefined;
  if (first < 0x80) return { length: first, end: off + 1 };
  const n = first & 0x7f;
  if (n === 0 || n > 2 || off + 1 + n > b.length) return undefined; // indefinite, or > 65535
  let length = 0;
  for (let i = 1; i <= n; i++) length = (length << 8) | b[off + i]!;
  return { length, end: off + 1 + n };
}

function pad80(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.length + BLOCK - (data.length % BLOCK));
  out.set(data);
  out[data.length] = 0x80;
  return out;
}

function unpad80(data: Uint8Array): Uint8Array {
  let i = data.length - 1;
  while (i >= 0 && data[i] === 0) i--;
  if (i < 0 || data[i] !== 0x80 || data.length - i > BLOCK)
    throw new BspError('structure', 'invalid padding after decryption (expected 80 00.. within the last block)');
  return data.slice(0, i);
}

// AES through node:crypto (OpenSSL): a BPP is ~12 KB encrypted and MACed on both sides of
// every download, which @noble/ciphers' table-free JS AES made a visible share of its cost.

function aes(mode: 'cbc' | 'ecb', key: Uint8Array): string {
  return `aes-${key.length * 8}-${mode}`;
}

function aesCbcEncrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  const c = createCipheriv(aes('cbc', key), key, iv).setAutoPadding(false);
  return new Uint8Array(Buffer.concat([c.update(data), c.final()]));
}

function aesCbcDecrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  const d = createDecipheriv(aes('cbc', key), key, iv).setAutoPadding(false);
  return new Uint8Array(Buffer.concat([d.update(data), d.final()]));
}

function aesBlock(key: Uint8Array, block: Uint8Array): Uint8Array {
  const c = createCipheriv(aes('ecb', key), key, null).setAutoPadding(false);
  return new Uint8Array(Buffer.concat([c.update(block), c.final()]));
}

/** Doubling in GF(2^128) (RFC 4493 2.3 subkey generation). */
function dbl(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(BLOCK);
  for (let i = 0; i < BLOCK; i++) out[i] = ((b[i]! << 1) | (i + 1 < BLOCK ? b[i + 1]! >> 7 : 0)) & 0xff;
  if (b[0]! & 0x80) out[BLOCK - 1]! ^= 0x87;
  return out;
}

/** AES-CMAC (RFC 4493 / NIST SP 800-38B), 16 bytes. */
function aesCmac(key: Uint8Array, message: Uint8Array): Uint8Array {
  const k1 = dbl(aesBlock(key, new Uint8Array(BLOCK)));
  const complete = message.length > 0 && message.length % BLOCK === 0;
  const padded = complete ? message.slice() : pad80(message);
  const last = padded.subarray(padded.length - BLOCK);
  const k = complete ? k1 : dbl(k1);
  for (let i = 0; i < BLOCK; i++) last[i]! ^= k[i]!;
  const chain = aesCbcEncrypt(key, new Uint8Array(BLOCK), padded);
  return chain.slice(chain.length - BLOCK);
}

function checkKeys({ sEnc, sMac, initialMcv }: BspKeys): void {
  for (const [name, k] of [['S-ENC', sEnc], ['S-MAC', sMac]] as const)
    if (![16, 24, 32].includes(k.length)) throw new CryptoError('invalidKey', `${name} must be an AES key, got ${k.length} bytes`);
  if (initialMcv.length !== BLOCK)
    throw new CryptoError('invalidLength', `initial MAC chaining value must be 16 bytes, got ${initialMcv.length}`);
}

export class BspSession {
  readonly #sEnc: Uint8Array;
  readonly #sMac: Uint8Array;
  readonly #abortOnError: boolean;
  #mcv: Uint8Array;
  #counter = 1;
  #failure: BspError | undefined;

  constructor(keys: BspKeys, options: BspSessionOptions = {}) {
    checkKeys(keys);
    this.#sEnc = keys.sEnc.slice();
    this.#sMac = keys.sMac.slice();
    this.#mcv = keys.initialMcv.slice();
    this.#abortOnError = options.abortOnError ?? true;
  }

  /** The session that follows a ReplaceSessionKeys segment (PPK-ENC, PPK-MAC, counter back to 1). */
  static fromReplaceSessionKeys(rsk: ReplaceSessionKeys, options?: BspSessionOptions): BspSession {
    return new BspSession({ sEnc: rsk.ppkEnc, sMac: rsk.ppkCmac, initialMcv: rsk.initialMacChainingValue }, options);
  }

  /** Block counter the next segment will use. */
  get counter(): number {
    return this.#counter;
  }

  /** Current MAC chaining value (copy). */
  get mcv(): Uint8Array {
    return this.#mcv.slice();
  }

  /** The error that aborted this session, if any. */
  get failure(): BspError | undefined {
    return this.#failure;
  }

  #icv(): Uint8Array {
    const block = new Uint8Array(BLOCK);
    new DataView(block.buffer).setBigUint64(8, BigInt(this.#counter));
    return aesBlock(this.#sEnc, block);
  }

  #cmac(header: Uint8Array, data: Uint8Array): Uint8Array {
    return aesCmac(this.#sMac, concatBytes(this.#mcv, header, data));
  }

  /** Protect one segment: tag | BER length | payload | 8-byte C-MAC. */
  wrap(tag: number, plaintext: Uint8Array, mode: BspMode): Uint8Array {
    if (!Number.isInteger(tag) || tag < 0 || tag > 0xff) throw new CryptoError('invalidInput', `BSP tag must be one byte, got ${tag}`);
    const data = mode === 'encryptAndMac' ? pad80(plaintext) : plaintext;
    const header = concatBytes(Uint8Array.of(tag), berLength(data.length + MAC_LEN));
    const payload = mode === 'encryptAndMac' ? aesCbcEncrypt(this.#sEnc, this.#icv(), data) : data;
    const mac = this.#cmac(header, payload);
    this.#mcv = mac;
    this.#counter++;
    return concatBytes(header, payload, mac.subarray(0, MAC_LEN));
  }

  /**
   * Verify (C-MAC first) and, for 'encryptAndMac', decrypt and unpad one segment.
   * Throws BspError 'structure' (errorReason 7) or 'security' (errorReason 8); on
   * failure counter and MCV are unchanged (see the failure policy in the header).
   */
  unwrap(tlv: Uint8Array, mode: BspMode, expectedTag?: number): Uint8Array {
    if (this.#failure) throw this.#failure;
    try {
      return this.#unwrap(tlv, mode, expectedTag);
    } catch (e) {
      if (e instanceof BspError && this.#abortOnError) this.#failure = e;
      throw e;
    }
  }

  #unwrap(tlv: Uint8Array, mode: BspMode, expectedTag: number | undefined): Uint8Array {
    const tag = tlv[0];
    if (tag === undefined) throw new BspError('structure', 'empty segment');
    if (expectedTag !== undefined && tag !== expectedTag)
      throw new BspError('structure', `expected tag ${expectedTag.toString(16)}, got ${tag.toString(16)}`);
    const len = readBerLength(tlv, 1);
    if (!len) throw new BspError('structure', 'malformed or truncated BER length');
    if (len.end + len.length !== tlv.length)
      throw new BspError('structure', `length field says ${len.length} bytes, ${tlv.length - len.end} present`);
    if (len.length < MAC_LEN) throw new BspError('structure', `segment value shorter than the ${MAC_LEN}-byte C-MAC`);
    const header = tlv.subarray(0, len.end);
    const data = tlv.subarray(len.end, tlv.length - MAC_LEN);
    if (mode === 'encryptAndMac' && (data.length === 0 || data.length % BLOCK !== 0))
      throw new BspError('structure', `encrypted data length ${data.length} is not a positive multiple of 16`);
    const mac = this.#cmac(header, data);
    if (!equalBytes(mac.subarray(0, MAC_LEN), tlv.subarray(tlv.length - MAC_LEN)))
      throw new BspError('security', 'C-MAC verification failed');
    const plaintext =
      mode === 'encryptAndMac' ? unpad80(aesCbcDecrypt(this.#sEnc, this.#icv(), data)) : data.slice();
    this.#mcv = mac;
    this.#counter++;
    return plaintext;
  }
}

/** Parse the plaintext of a ReplaceSessionKeys segment: BF26 { 80 MCV, 81 PPK-ENC, 82 PPK-CMAC }. */
export function parseReplaceSessionKeys(plaintext: Uint8Array): ReplaceSessionKeys {
  const bad = (why: string) => new CryptoError('invalidInput', `ReplaceSessionKeysRequest: ${why}`);
  if (plaintext[0] !== 0xbf || plaintext[1] !== 0x26) throw bad('tag is not BF26');
  const outer = readBerLength(plaintext, 2);
  if (!outer || outer.end + outer.length !== plaintext.length) throw bad('bad outer length');
  const fields: Uint8Array[] = [];
  let off = outer.end;
  for (const expected of [0x80, 0x81, 0x82]) {
    if (plaintext[off] !== expected) throw bad(`expected tag ${expected.toString(16)} at offset ${off}`);
    const l = readBerLength(plaintext, off + 1);
    if (!l || l.end + l.length > plaintext.length) throw bad(`bad length of tag ${expected.toString(16)}`);
    fields.push(plaintext.slice(l.end, l.end + l.length));
    off = l.end + l.length;
  }
  if (off !== plaintext.length) throw bad('trailing data');
  const [initialMacChainingValue, ppkEnc, ppkCmac] = fields as [Uint8Array, Uint8Array, Uint8Array];
  return { initialMacChainingValue, ppkEnc, ppkCmac };
}

function isReplaceSessionKeys(seg: BspSegment): boolean {
  return seg.tag === 0x87 && seg.plaintext[0] === 0xbf && seg.plaintext[1] === 0x26;
}

/**
 * Protect a BPP's segments in order as an SM-DP+ does (SGP.22 2.5.4, 5.5): one
 * session from `keys`; after an 87 segment carrying ReplaceSessionKeys (BF26) the
 * following segments use a new session with the PPKs it contains.
 */
export function protectSegments(keys: BspKeys, segments: readonly BspSegment[], mode: BspMode = 'encryptAndMac'): Uint8Array[] {
  let session = new BspSession(keys);
  return segments.map((seg) => {
    const out = session.wrap(seg.tag, seg.plaintext, seg.mode ?? mode);
    if (isReplaceSessionKeys(seg)) session = BspSession.fromReplaceSessionKeys(parseReplaceSessionKeys(seg.plaintext));
    return out;
  });
}
