// Confirmation Code hashing, SGP.22 3.1.3 / 5.7.13 (ES10b.PrepareDownload,
// hashCc in PrepareDownloadRequest; checked by the SM-DP+ in ES9+.GetBoundProfilePackage):
//   Hashed Confirmation Code = SHA256(SHA256(Confirmation Code) | TransactionID)
// Implementations disagree on the bytes of "Confirmation Code": lpac hashes the
// ASCII string as typed, some test tools hex-decode it. Default 'ascii' (lpac);
// pass 'hex' for the other reading.
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, hexToBytes } from '../bytes.ts';
import { CryptoError } from './errors.ts';

export type ConfirmationCodeEncoding = 'ascii' | 'hex';

export function confirmationCodeBytes(code: string, encoding: ConfirmationCodeEncoding = 'ascii'): Uint8Array {
  if (encoding === 'hex') {
    try {
      return hexToBytes(code);
    } catch (e) {
      throw new CryptoError('invalidInput', `confirmation code is not hex: ${(e as Error).message}`, { cause: e });
    }
  }
  if (/[^\x20-\x7e]/.test(code)) throw new CryptoError('invalidInput', 'confirmation code must be printable ASCII');
  return new TextEncoder().encode(code);
}

/** hashCc = SHA256(SHA256(ccBytes) || transactionId), 32 bytes. */
export function hashConfirmationCode(
  code: string,
  transactionId: Uint8Array,
  encoding: ConfirmationCodeEncoding = 'ascii',
): Uint8Array {
  if (transactionId.length < 1 || transactionId.length > 16)
    throw new CryptoError('invalidLength', `transactionId must be 1..16 bytes, got ${transactionId.length}`);
  return sha256(concatBytes(sha256(confirmationCodeBytes(code, encoding)), transactionId));
}
