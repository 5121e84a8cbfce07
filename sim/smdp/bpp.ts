// SM-DP+ side of profile binding (SGP.22 2.5.3 PPP, 2.5.4 BPP, 2.5.5 segmentation, 5.5
// ES8+): one-time key pair otPK/otSK.DP.ECKA per binding, ECKA with otPK.EUICC.ECKA and
// the X9.63 KDF (hostId, EID) to the BSP session keys, InitialiseSecureChannelRequest
// signed with SK.DPpb over the bytes of 5.5.1, ConfigureISDP '87', StoreMetadata as
// MAC-only '88' segments (<= 1020 bytes each), optional ReplaceSessionKeys '87' with random
// PPKs, and the UPP as encrypted '86' segments of a configurable plaintext size.
import { randomBytes } from 'node:crypto';
import { concat, encodeTlv, parseTlv, type TagId } from '../rsp/der.ts';
import { ConfigureISDPRequest, InitialiseSecureChannelRequest, iscrSignatureInput, ReplaceSessionKeysRequest } from '../rsp/es8p.ts';
import { generateKeyPair, ecka } from '../crypto/ecka.ts';
import { deriveSessionKeys } from '../crypto/kdf.ts';
import { protectSegments, type BspSegment } from '../crypto/bsp.ts';
import type { CurveName } from '../crypto/curves.ts';
import { hexToBytes } from '../bytes.ts';
import type { SigningIdentity } from './credentials.ts';
import { flipLastBit } from './misbehaviour.ts';

/** Plaintext bytes per '88' StoreMetadata segment (SGP.22 5.5.3). */
export const METADATA_SEGMENT_SIZE = 1020;
/** Default plaintext bytes per '86' segment. */
export const DEFAULT_SEGMENT_SIZE = 1020;
/** Largest plaintext per segment: the padded data + MAC must fit a 2-byte BER length. */
export const MAX_SEGMENT_SIZE = 65_000;

const ctx = (num: number): TagId => ({ cls: 'context', num });

export interface IscrInput {
  transactionId: Uint8Array;
  hostId: Uint8Array;
  smdpOtpk: Uint8Array;
  euiccOtpk: Uint8Array;
  dpPb: SigningIdentity;
  /** misbehaviour: flip a bit of smdpSign */
  corruptSignature?: boolean;
}

/** InitialiseSecureChannelRequest 'BF23' with smdpSign over 82|80|A6|5F49 smdpOtpk|5F49 euiccOtpk (5.5.1). */
export function buildIscr(input: IscrInput): Uint8Array {
  const unsigned = {
    remoteOpId: 1,
    transactionId: input.transactionId,
    controlRefTemplate: { keyType: Uint8Array.of(0x88), keyLen: Uint8Array.of(0x10), hostId: input.hostId },
    smdpOtpk: input.smdpOtpk,
  };
  const draft = InitialiseSecureChannelRequest.encode({ ...unsigned, smdpSign: new Uint8Array(64) });
  let smdpSign = input.dpPb.sign(iscrSignatureInput(draft, input.euiccOtpk));
  if (input.corruptSignature) smdpSign = flipLastBit(smdpSign);
  return InitialiseSecureChannelRequest.encode({ ...unsigned, smdpSign });
}

export interface BindInput {
  curve: CurveName;
  dpPb: SigningIdentity;
  transactionId: Uint8Array;
  /** 32 digits */
  eid: string;
  euiccOtpk: Uint8Array;
  hostId: Uint8Array;
  /** StoreMetadataRequest DER ('BF25') */
  metadata: Uint8Array;
  /** ConfigureISDPRequest value ('BF24') */
  configureIsdp: ConfigureISDPRequest;
  /** the personalised UPP */
  upp: Uint8Array;
  /** plaintext bytes per '86' segment */
  segmentSize: number;
  replaceSessionKeys: boolean;
  corruptSmdpSign?: boolean;
  /** transactionId to put into the ISCR (misbehaviour); default `transactionId` */
  iscrTransactionId?: Uint8Array;
}

export interface BoundPackage {
  /** the whole 'BF36' */
  bpp: Uint8Array;
  iscr: Uint8Array;
  /** A0, A1, A2?, A3 TLVs as they follow the ISCR (reusable for a rebinding with the same otPK.EUICC) */
  segments: Uint8Array;
  smdpOtpk: Uint8Array;
  segmentCount86: number;
}

function chunks(data: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let o = 0; o < data.byteLength; o += size) out.push(data.subarray(o, Math.min(o + size, data.byteLength)));
  return out.length > 0 ? out : [new Uint8Array(0)];
}

/** Wrap the ISCR and the protected segments into 'BF36'. */
export function assembleBpp(iscr: Uint8Array, segments: Uint8Array): Uint8Array {
  return encodeTlv({ cls: 'context', num: 54 }, true, concat([iscr, segments]));
}

/**
 * Bind a UPP to one eUICC session (2.5.4). otSK.DP.ECKA exists only inside this call
 * and is overwritten before it returns; the result holds public values and ciphertext.
 */
export function bindProfile(input: BindInput): BoundPackage {
  if (!Number.isInteger(input.segmentSize) || input.segmentSize < 1 || input.segmentSize > MAX_SEGMENT_SIZE)
    throw new RangeError(`segment size must be 1..${MAX_SEGMENT_SIZE}, got ${input.segmentSize}`);
  const ot = generateKeyPair(input.curve);
  let keys;
  try {
    const sharedSecret = ecka(input.curve, ot.privateKey, input.euiccOtpk);
    keys = deriveSessionKeys({ sharedSecret, hostId: input.hostId, eid: hexToBytes(input.eid) });
    sharedSecret.fill(0);
  } finally {
    ot.privateKey.fill(0);
  }

  const plain: BspSegment[] = [{ tag: 0x87, plaintext: ConfigureISDPRequest.encode(input.configureIsdp) }];
  const metaParts = chunks(input.metadata, METADATA_SEGMENT_SIZE);
  for (const m of metaParts) plain.push({ tag: 0x88, plaintext: m, mode: 'macOnly' });
  if (input.replaceSessionKeys)
    plain.push({
      tag: 0x87,
      plaintext: ReplaceSessionKeysRequest.encode({ initialMacChainingValue: randomBytes(16), ppkEnc: randomBytes(16), ppkCmac: randomBytes(16) }),
    });
  const uppParts = chunks(input.upp, input.segmentSize);
  for (const u of uppParts) plain.push({ tag: 0x86, plaintext: u });

  const protectedSegs = protectSegments(keys, plain, 'encryptAndMac');
  keys.sEnc.fill(0);
  keys.sMac.fill(0);
  for (const p of plain) if (p.plaintext[0] === 0xbf && p.plaintext[1] === 0x26) p.plaintext.fill(0);

  let i = 0;
  const take = (n: number): Uint8Array[] => protectedSegs.slice(i, (i += n));
  const a0 = encodeTlv(ctx(0), true, concat(take(1)));
  const a1 = encodeTlv(ctx(1), true, concat(take(metaParts.length)));
  const a2 = input.replaceSessionKeys ? encodeTlv(ctx(2), true, concat(take(1))) : new Uint8Array(0);
  const a3 = encodeTlv(ctx(3), true, concat(take(uppParts.length)));
  const segments = concat([a0, a1, a2, a3]);

  const iscr = buildIscr({
    transactionId: input.iscrTransactionId ?? input.transactionId,
    hostId: input.hostId,
    smdpOtpk: ot.publicKey,
    euiccOtpk: input.euiccOtpk,
    dpPb: input.dpPb,
    ...(input.corruptSmdpSign ? { corruptSignature: true } : {}),
  });
  return { bpp: assembleBpp(iscr, segments), iscr, segments, smdpOtpk: ot.publicKey, segmentCount86: uppParts.length };
}

/** A copy of a BPP with one byte of the payload of the `index`-th '86' flipped (unchanged when there is no such segment). */
export function corruptSegment86(bpp: Uint8Array, index: number): Uint8Array {
  const tree = parseTlv(bpp);
  const a3 = tree.children.find((c) => c.tag === 0xa3);
  const seg = a3?.children[index];
  if (!seg) return bpp;
  const out = new Uint8Array(bpp);
  out[seg.valueOffset]! ^= 0xff;
  return out;
}
