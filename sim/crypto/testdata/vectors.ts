// Typed loader for testdata/rsp-crypto.json (copy of /work/shared/vectors/rsp-crypto.json:
// pySim unit-test values and a third-party SM-DP+ trace). Test helper only.
import { readFileSync } from 'node:fs';
import type { BspMode } from '../bsp.ts';

export interface KdfVector {
  note: string;
  sharedSecret: string;
  keyType: string;
  keyLen: string;
  hostId: string;
  eid: string;
  sEnc: string;
  sMac: string;
  initialMcv: string;
}

export interface BspStep {
  op: BspMode;
  tag: string;
  plaintext: string;
  output: string;
  note?: string;
}

export interface BspVectorSet {
  note: string;
  sEnc: string;
  sMac: string;
  initialMcv: string;
  steps: BspStep[];
}

export interface RspCryptoVectors {
  kdf: KdfVector[];
  ecka: { note: string; euiccOtpk: string; smdpOtpk: string; smdpOtsk: string; sharedSecret: string };
  bspSegments: BspVectorSet;
  bspAfterReplaceSessionKeys: BspVectorSet;
}

export const vectors = JSON.parse(
  readFileSync(new URL('./rsp-crypto.json', import.meta.url), 'utf8'),
) as RspCryptoVectors;
