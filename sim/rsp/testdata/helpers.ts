// Test helpers for the sim/rsp codec tests: byte-exact round trips and DerError capture.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { hexToBytes, toHex } from '../../bytes.ts';
import { type Codec, decode, DerError, derOf } from '../der.ts';

/** decode(hex) equals `expected`, re-encodes to the same bytes, and derOf gives the received bytes. */
export function expectRoundTrip<T>(codec: Codec<T>, hex: string, expected: T): T {
  const bytes = hexToBytes(hex);
  const value = decode(codec, bytes);
  expect(value).toEqual(expected);
  expect(toHex(codec.encode(value))).toBe(toHex(bytes));
  expect(toHex(codec.encode(expected))).toBe(toHex(bytes));
  if (typeof value === 'object' && value !== null && !(value instanceof Uint8Array)) expect(toHex(derOf(codec, value))).toBe(toHex(bytes));
  return value;
}

/** The DerError thrown by `fn` (fails the test when none is thrown). */
export function derError(fn: () => unknown): DerError {
  try {
    fn();
  } catch (e) {
    if (e instanceof DerError) return e;
    throw e;
  }
  throw new Error('expected a DerError, nothing was thrown');
}

// The SGP.26 test PKI committed under certs/sgp26 (same files as the shared reference copy).
const SGP26_DIRS = [fileURLToPath(new URL('../../../certs/sgp26/', import.meta.url)), '/work/shared/sgp26/'];
/** An SGP.26 test certificate (DER), e.g. sgp26Cert('eUICC/CERT_EUICC_ECDSA_NIST.der'). */
export function sgp26Cert(path: string): Uint8Array {
  const dir = SGP26_DIRS.find((d) => existsSync(d + path));
  if (!dir) throw new Error(`SGP.26 file ${path} not found in ${SGP26_DIRS.join(' or ')}`);
  return new Uint8Array(readFileSync(dir + path));
}

export const h = hexToBytes;
export const SGP26_CI_SKI = 'f54172bdf98a95d65cbeb88a38a1c11d800a85c3';
