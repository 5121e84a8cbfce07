// ECKA (Elliptic Curve Key Agreement, BSI TR-03111 4.3.1 "ECKA-DH") as used by
// SGP.22 3.1.3 / 5.7.13 (ES10b.PrepareDownload, ES8+.InitialiseSecureChannel):
// one-time key pairs otSK/otPK on NIST P-256 or brainpoolP256r1, public keys in
// uncompressed form 04||X||Y (65 bytes, tag 5F49), shared secret ShS = x-coordinate
// of otSK.DP * otPK.EUICC (32 bytes). Peer points are validated before use. Key
// generation and the scalar multiplication run in node:crypto (OpenSSL), about 20 times
// faster than @noble/curves: both the eUICC and the SM-DP+ do one of each per download.
import { createECDH } from 'node:crypto';
import { CURVES, type CurveName } from './curves.ts';
import { CryptoError } from './errors.ts';
import { isOpensslKeyError, opensslCurveName, scalar32 } from './native.ts';

export interface EcKeyPair {
  /** 32-byte scalar. */
  privateKey: Uint8Array;
  /** 65 bytes, 04||X||Y. */
  publicKey: Uint8Array;
}

export function generateKeyPair(curve: CurveName): EcKeyPair {
  const ecdh = createECDH(opensslCurveName(curve));
  const publicKey = new Uint8Array(ecdh.generateKeys());
  return { privateKey: scalar32(ecdh.getPrivateKey()), publicKey };
}

/** Uncompressed public key (65 bytes) of a private key; throws CryptoError 'invalidKey'. */
export function publicKeyOf(curve: CurveName, privateKey: Uint8Array): Uint8Array {
  assertPrivateKey(curve, privateKey);
  return CURVES[curve].getPublicKey(privateKey, false);
}

/** Throws CryptoError 'invalidPoint' unless `publicKey` is 04||X||Y of a point on `curve`. */
export function assertPublicKey(curve: CurveName, publicKey: Uint8Array): void {
  if (publicKey.length !== 65 || publicKey[0] !== 0x04)
    throw new CryptoError('invalidPoint', `${curve} public key must be 65 bytes 04||X||Y, got ${publicKey.length} bytes`);
  try {
    CURVES[curve].Point.fromBytes(publicKey).assertValidity();
  } catch (e) {
    throw new CryptoError('invalidPoint', `public key is not a point on ${curve}`, { cause: e });
  }
}

function assertPrivateKey(curve: CurveName, privateKey: Uint8Array): void {
  if (privateKey.length !== 32 || !CURVES[curve].utils.isValidSecretKey(privateKey))
    throw new CryptoError('invalidKey', `${curve} private key must be a 32-byte scalar in [1, n-1]`);
}

/** ECKA-DH: returns the 32-byte x-coordinate of privateKey * peerPublicKey. */
export function ecka(curve: CurveName, privateKey: Uint8Array, peerPublicKey: Uint8Array): Uint8Array {
  assertPrivateKey(curve, privateKey);
  assertPublicKey(curve, peerPublicKey);
  const ecdh = createECDH(opensslCurveName(curve));
  ecdh.setPrivateKey(privateKey);
  try {
    // the x-coordinate of privateKey * peer, left-padded to the field size
    return new Uint8Array(ecdh.computeSecret(peerPublicKey));
  } catch (e) {
    if (isOpensslKeyError(e) || (e as { code?: unknown }).code === 'ERR_CRYPTO_ECDH_INVALID_PUBLIC_KEY') throw new CryptoError('invalidPoint', `public key is not a point on ${curve}`, { cause: e });
    throw e;
  }
}
