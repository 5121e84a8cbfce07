// Key derivation for the SGP.22 BSP session keys: ANSI X9.63 KDF with SHA-256
// (BSI TR-03111 4.3.3) and the SGP.22 2.6.6.2 / 5.5.1 (GlobalPlatform Amd F,
// SCP11 6.5.2.3) SharedInfo: keyType | keyLength | L(hostId)|hostId | L(EID)|EID.
// KeyData = initialMCV | S-ENC | S-MAC, each keyLength bytes (16 for AES-128).
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes } from '../bytes.ts';
import { CryptoError } from './errors.ts';

/** ANSI X9.63 KDF: Hash(Z || counter32 || SharedInfo) for counter = 1, 2, ... truncated to `length`. */
export function x963Kdf(z: Uint8Array, sharedInfo: Uint8Array, length: number): Uint8Array {
  if (!Number.isInteger(length) || length < 0 || length > 32 * 0xffff)
    throw new CryptoError('invalidLength', `X9.63 KDF output length out of range: ${length}`);
  const out = new Uint8Array(Math.ceil(length / 32) * 32);
  const counter = new Uint8Array(4);
  const view = new DataView(counter.buffer);
  for (let i = 0; i * 32 < length; i++) {
    view.setUint32(0, i + 1);
    out.set(sha256.create().update(z).update(counter).update(sharedInfo).digest(), i * 32);
  }
  return out.slice(0, length);
}

export interface SessionKeys {
  initialMcv: Uint8Array;
  sEnc: Uint8Array;
  sMac: Uint8Array;
}

export interface SessionKeyInput {
  /** ShS from ECKA (32 bytes). */
  sharedSecret: Uint8Array;
  /** hostId of the ISCR CRT (tag 84), 1..127 bytes. */
  hostId: Uint8Array;
  /** EID, 16 bytes (the 32 hex digits decoded). */
  eid: Uint8Array;
  /** CRT key type (tag 80), 0x88 = AES. */
  keyType?: number;
  /** CRT key length (tag 81), 0x10 = AES-128. */
  keyLength?: number;
}

export function deriveSessionKeys({ sharedSecret, hostId, eid, keyType = 0x88, keyLength = 16 }: SessionKeyInput): SessionKeys {
  if (eid.length !== 16) throw new CryptoError('invalidLength', `EID must be 16 bytes, got ${eid.length}`);
  if (hostId.length < 1 || hostId.length > 127)
    throw new CryptoError('invalidLength', `hostId must be 1..127 bytes, got ${hostId.length}`);
  if (![16, 24, 32].includes(keyLength)) throw new CryptoError('invalidLength', `unsupported key length ${keyLength}`);
  if (!Number.isInteger(keyType) || keyType < 0 || keyType > 0xff)
    throw new CryptoError('invalidInput', `key type must be one byte, got ${keyType}`);
  const sharedInfo = concatBytes(
    Uint8Array.of(keyType, keyLength, hostId.length),
    hostId,
    Uint8Array.of(eid.length),
    eid,
  );
  const k = x963Kdf(sharedSecret, sharedInfo, 3 * keyLength);
  return {
    initialMcv: k.slice(0, keyLength),
    sEnc: k.slice(keyLength, 2 * keyLength),
    sMac: k.slice(2 * keyLength, 3 * keyLength),
  };
}
