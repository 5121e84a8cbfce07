import { createCipheriv } from 'node:crypto';
import { cmac } from '@noble/ciphers/aes.js';
import { describe, expect, it } from 'vitest';
import { hexToBytes, toHex } from '../bytes.ts';
import {
  berLength,
  BspSession,
  parseReplaceSessionKeys,
  protectSegments,
  type BspKeys,
  type BspMode,
  type BspSegment,
} from './bsp.ts';
import { BspError, bspErrorReason, CryptoError } from './errors.ts';
import { vectors, type BspVectorSet } from './testdata/vectors.ts';

// ---- independent reference on node:crypto (AES-ECB/CBC, RFC 4493 CMAC) ----

function aesEcb(key: Uint8Array, block: Uint8Array): Buffer {
  const c = createCipheriv(`aes-${key.length * 8}-ecb`, key, null).setAutoPadding(false);
  return Buffer.concat([c.update(block), c.final()]);
}

function aesCbc(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Buffer {
  const c = createCipheriv(`aes-${key.length * 8}-cbc`, key, iv).setAutoPadding(false);
  return Buffer.concat([c.update(data), c.final()]);
}

/** RFC 4493 AES-CMAC written out on AES-ECB. */
function refCmac(key: Uint8Array, msg: Uint8Array): Buffer {
  const dbl = (b: Buffer) => {
    const out = Buffer.alloc(16);
    for (let i = 0; i < 16; i++) out[i] = ((b[i]! << 1) | (i < 15 ? b[i + 1]! >> 7 : 0)) & 0xff;
    if (b[0]! & 0x80) out[15]! ^= 0x87;
    return out;
  };
  const k1 = dbl(aesEcb(key, new Uint8Array(16)));
  const k2 = dbl(k1);
  const n = Math.max(1, Math.ceil(msg.length / 16));
  const complete = msg.length > 0 && msg.length % 16 === 0;
  const last = Buffer.alloc(16);
  Buffer.from(msg.subarray((n - 1) * 16)).copy(last);
  if (!complete) last[msg.length - (n - 1) * 16] = 0x80;
  const sub = complete ? k1 : k2;
  for (let i = 0; i < 16; i++) last[i]! ^= sub[i]!;
  let x: Buffer = Buffer.alloc(16);
  for (let i = 0; i < n - 1; i++) {
    const blk = Buffer.from(msg.subarray(i * 16, i * 16 + 16));
    for (let j = 0; j < 16; j++) blk[j]! ^= x[j]!;
    x = aesEcb(key, blk);
  }
  for (let j = 0; j < 16; j++) last[j]! ^= x[j]!;
  return aesEcb(key, last);
}

function refBer(n: number): Buffer {
  return Buffer.from(n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff]);
}

/** Reference SCP03t segment; `rawPadded` skips padding (to build malformed segments). */
function refSegment(
  st: { sEnc: Uint8Array; sMac: Uint8Array; mcv: Uint8Array; counter: number },
  tag: number,
  payload: Uint8Array,
  mode: BspMode,
  rawPadded = false,
): Buffer {
  let data: Buffer = Buffer.from(payload);
  if (mode === 'encryptAndMac') {
    if (!rawPadded) data = Buffer.concat([data, Buffer.from([0x80]), Buffer.alloc(15 - (data.length % 16))]);
    const ctr = Buffer.alloc(16);
    ctr.writeBigUInt64BE(BigInt(st.counter), 8);
    data = aesCbc(st.sEnc, aesEcb(st.sEnc, ctr), data);
  }
  st.counter++;
  const header = Buffer.concat([Buffer.from([tag]), refBer(data.length + 8)]);
  const mac = refCmac(st.sMac, Buffer.concat([st.mcv, header, data]));
  st.mcv = mac;
  return Buffer.concat([header, data, mac.subarray(0, 8)]);
}

// ---- helpers ----

const keysOf = (set: BspVectorSet): BspKeys => ({
  sEnc: hexToBytes(set.sEnc),
  sMac: hexToBytes(set.sMac),
  initialMcv: hexToBytes(set.initialMcv),
});
const refStateOf = (k: BspKeys) => ({ sEnc: k.sEnc, sMac: k.sMac, mcv: k.initialMcv, counter: 1 });
const segmentsOf = (set: BspVectorSet): BspSegment[] =>
  set.steps.map((s) => ({ tag: parseInt(s.tag, 16), plaintext: hexToBytes(s.plaintext), mode: s.op }));

function expectBspError(call: () => unknown, kind: 'structure' | 'security'): void {
  let caught: unknown;
  try {
    call();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(BspError);
  expect((caught as BspError).kind).toBe(kind);
  expect((caught as BspError).errorReason).toBe(kind === 'structure' ? 7 : 8);
}

const segs = vectors.bspSegments;
const after = vectors.bspAfterReplaceSessionKeys;

// ---- tests ----

describe('AES-CMAC (RFC 4493 section 4 examples)', () => {
  const key = hexToBytes('2b7e151628aed2a6abf7158809cf4f3c');
  const msg = hexToBytes(
    '6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710',
  );
  it.each([
    [0, 'bb1d6929e95937287fa37d129b756746'],
    [16, '070a16b46b4d4144f79bdd9dd04a287c'],
    [40, 'dfa66747de9ae63030ca32611497c827'],
    [64, '51f0bebf7e3b9d92fc49741779363cfe'],
  ])('Mlen = %i', (len, tag) => {
    expect(toHex(cmac(msg.subarray(0, len), key))).toBe(tag);
    expect(refCmac(key, msg.subarray(0, len)).toString('hex')).toBe(tag);
  });
});

describe('berLength', () => {
  it.each([
    [0, '00'],
    [127, '7f'],
    [128, '8180'],
    [255, '81ff'],
    [256, '820100'],
    [1016, '8203f8'],
    [65535, '82ffff'],
  ])('%i -> %s', (n, hex) => expect(toHex(berLength(n))).toBe(hex));
  it('rejects values beyond 82 xxxx', () => {
    expect(() => berLength(65536)).toThrow(expect.objectContaining({ name: 'CryptoError', kind: 'invalidLength' }));
  });
});

describe.each([
  ['bspSegments', segs],
  ['bspAfterReplaceSessionKeys', after],
] as const)('%s vectors', (_name, set) => {
  it.each(set.steps.map((s, i) => [i, s.tag, s.op] as const))('step %i (%s %s): wrap is byte-exact', (i) => {
    const session = new BspSession(keysOf(set));
    for (let j = 0; j < i; j++) session.wrap(parseInt(set.steps[j]!.tag, 16), hexToBytes(set.steps[j]!.plaintext), set.steps[j]!.op);
    const s = set.steps[i]!;
    expect(session.counter).toBe(i + 1);
    expect(toHex(session.wrap(parseInt(s.tag, 16), hexToBytes(s.plaintext), s.op))).toBe(s.output);
    expect(session.counter).toBe(i + 2);
  });

  it('unwrap returns every plaintext in order', () => {
    const session = new BspSession(keysOf(set));
    for (const s of set.steps) {
      expect(toHex(session.unwrap(hexToBytes(s.output), s.op, parseInt(s.tag, 16)))).toBe(s.plaintext);
    }
    expect(session.counter).toBe(set.steps.length + 1);
  });

  it('the independent node:crypto reference gives the same outputs', () => {
    const st = refStateOf(keysOf(set));
    for (const s of set.steps)
      expect(refSegment(st, parseInt(s.tag, 16), hexToBytes(s.plaintext), s.op).toString('hex')).toBe(s.output);
  });
});

describe('ReplaceSessionKeys chain', () => {
  const rskStep = segs.steps[2]!;

  it('the BF26 plaintext carries the keys of bspAfterReplaceSessionKeys', () => {
    const rsk = parseReplaceSessionKeys(hexToBytes(rskStep.plaintext));
    expect(toHex(rsk.initialMacChainingValue)).toBe(after.initialMcv);
    expect(toHex(rsk.ppkEnc)).toBe(after.sEnc);
    expect(toHex(rsk.ppkCmac)).toBe(after.sMac);
  });

  it('eUICC side: unwrap 87/88/87(BF26), switch session, unwrap the 86 segments', () => {
    let session = new BspSession(keysOf(segs));
    let rskPlain: Uint8Array | undefined;
    for (const s of segs.steps) rskPlain = session.unwrap(hexToBytes(s.output), s.op);
    session = BspSession.fromReplaceSessionKeys(parseReplaceSessionKeys(rskPlain!));
    expect(session.counter).toBe(1);
    for (const s of after.steps) expect(toHex(session.unwrap(hexToBytes(s.output), s.op, 0x86))).toBe(s.plaintext);
  });

  it('protectSegments reproduces all five segments, switching keys after BF26', () => {
    const out = protectSegments(keysOf(segs), [...segmentsOf(segs), ...segmentsOf(after)]);
    expect(out.map(toHex)).toEqual([...segs.steps, ...after.steps].map((s) => s.output));
  });

  it('protectSegments uses the mode argument for segments without their own mode', () => {
    const plain = segmentsOf(after).map(({ tag, plaintext }) => ({ tag, plaintext }));
    const rsk = parseReplaceSessionKeys(hexToBytes(rskStep.plaintext));
    const keys = { sEnc: rsk.ppkEnc, sMac: rsk.ppkCmac, initialMcv: rsk.initialMacChainingValue };
    expect(protectSegments(keys, plain).map(toHex)).toEqual(after.steps.map((s) => s.output));
    const macOnly = protectSegments(keys, plain, 'macOnly');
    const check = new BspSession(keys);
    macOnly.forEach((tlv, i) => expect(check.unwrap(tlv, 'macOnly')).toEqual(plain[i]!.plaintext));
  });

  it('parseReplaceSessionKeys rejects malformed content with CryptoError', () => {
    const good = hexToBytes(rskStep.plaintext);
    for (const bad of [good.subarray(0, good.length - 1), Uint8Array.of(0xbf, 0x25, ...good.subarray(2)), Uint8Array.of(...good, 0)])
      expect(() => parseReplaceSessionKeys(bad)).toThrow(expect.objectContaining({ name: 'CryptoError', kind: 'invalidInput' }));
  });
});

describe('large segments (86 over 1020 bytes, 82 xxxx lengths)', () => {
  const keys = keysOf(after);
  it.each([1020, 1036, 1500, 4096, 65500])('%i bytes plaintext', (n) => {
    const plain = new Uint8Array(n).map((_, i) => (i * 7 + 3) & 0xff);
    const tlv = new BspSession(keys).wrap(0x86, plain, 'encryptAndMac');
    expect(tlv[1]).toBe(0x82);
    expect(toHex(tlv)).toBe(refSegment(refStateOf(keys), 0x86, plain, 'encryptAndMac').toString('hex'));
    expect(new BspSession(keys).unwrap(tlv, 'encryptAndMac')).toEqual(plain);
  });
  it('a segment whose length does not fit 82 xxxx is refused', () => {
    expect(() => new BspSession(keys).wrap(0x86, new Uint8Array(65520), 'encryptAndMac')).toThrow(
      expect.objectContaining({ name: 'CryptoError', kind: 'invalidLength' }),
    );
  });
});

describe('unwrap errors', () => {
  const keys = keysOf(segs);
  const first = hexToBytes(segs.steps[0]!.output);
  const second = hexToBytes(segs.steps[1]!.output);
  const flip = (b: Uint8Array, i: number) => {
    const c = b.slice();
    c[i < 0 ? c.length + i : i]! ^= 0x01;
    return c;
  };

  it('bspErrorReason maps structure to 7 and security to 8', () => {
    expect(bspErrorReason('structure')).toBe(7);
    expect(bspErrorReason('security')).toBe(8);
  });

  it('flipped MAC byte -> security (8)', () => {
    expectBspError(() => new BspSession(keys).unwrap(flip(first, -1), 'encryptAndMac'), 'security');
    expectBspError(() => new BspSession(keys).unwrap(flip(first, -8), 'encryptAndMac'), 'security');
  });

  it('flipped ciphertext, tag or MAC-only data byte -> security (8)', () => {
    expectBspError(() => new BspSession(keys).unwrap(flip(first, 2), 'encryptAndMac'), 'security');
    const s = new BspSession(keys);
    s.unwrap(first, 'encryptAndMac');
    expectBspError(() => s.unwrap(flip(second, 10), 'macOnly'), 'security');
    expectBspError(() => new BspSession(keys).unwrap(Uint8Array.of(0x86, ...first.subarray(1)), 'encryptAndMac'), 'security');
  });

  it('segment at the wrong counter/MCV (skipped segment) -> security (8)', () => {
    const s = new BspSession(keys);
    expectBspError(() => s.unwrap(second, 'macOnly'), 'security');
  });

  it('truncated TLV -> structure (7)', () => {
    for (const cut of [0, 1, 5, first.length - 1])
      expectBspError(() => new BspSession(keys).unwrap(first.subarray(0, cut), 'encryptAndMac'), 'structure');
    const big = new BspSession(keysOf(after));
    expectBspError(() => big.unwrap(hexToBytes(after.steps[0]!.output).subarray(0, 3), 'encryptAndMac'), 'structure');
  });

  it('trailing bytes, bad length forms, wrong tag, short value -> structure (7)', () => {
    const cases = [
      Uint8Array.of(...first, 0x00),
      Uint8Array.of(0x87, 0x80, ...first.subarray(2)), // indefinite length
      Uint8Array.of(0x87, 0x83, 0x00, 0x00, 0x18, ...first.subarray(2)), // 3 length bytes
      Uint8Array.of(0x87, 0x04, 1, 2, 3, 4), // shorter than the C-MAC
    ];
    for (const c of cases) expectBspError(() => new BspSession(keys).unwrap(c, 'encryptAndMac'), 'structure');
    expectBspError(() => new BspSession(keys).unwrap(first, 'encryptAndMac', 0x86), 'structure');
  });

  it('encrypted data not a multiple of 16 -> structure (7)', () => {
    const st = refStateOf(keys);
    const tlv = refSegment(st, 0x87, new Uint8Array(20), 'macOnly'); // correctly MACed, 20 bytes of "ciphertext"
    expectBspError(() => new BspSession(keys).unwrap(tlv, 'encryptAndMac'), 'structure');
  });

  it.each([
    ['no 80 marker', '00112233445566778899aabbccddeeff'],
    ['all zeros', '00000000000000000000000000000000'],
    ['non-zero after 80', '11223344556677889900aabb80000001'],
    ['padding longer than one block', '11223380000000000000000000000000' + '00000000000000000000000000000000'],
  ])('wrong padding (%s) with a valid MAC -> structure (7)', (_why, padded) => {
    const tlv = refSegment(refStateOf(keys), 0x87, hexToBytes(padded), 'encryptAndMac', true);
    expectBspError(() => new BspSession(keys).unwrap(tlv, 'encryptAndMac'), 'structure');
  });

  it('a 16-byte padding block alone is accepted (empty plaintext)', () => {
    const tlv = new BspSession(keys).wrap(0x87, new Uint8Array(0), 'encryptAndMac');
    expect(tlv).toHaveLength(2 + 16 + 8);
    expect(new BspSession(keys).unwrap(tlv, 'encryptAndMac')).toEqual(new Uint8Array(0));
  });
});

describe('failure policy', () => {
  const keys = keysOf(segs);
  const first = hexToBytes(segs.steps[0]!.output);
  const second = hexToBytes(segs.steps[1]!.output);
  const corrupt = first.slice();
  corrupt[corrupt.length - 1]! ^= 0xff;

  it('default: a failed unwrap leaves counter and MCV unchanged and aborts the session', () => {
    const s = new BspSession(keys);
    expectBspError(() => s.unwrap(corrupt, 'encryptAndMac'), 'security');
    expect(s.counter).toBe(1);
    expect(toHex(s.mcv)).toBe(segs.initialMcv);
    expect(s.failure?.kind).toBe('security');
    // the genuine segment no longer helps: the eUICC has stopped processing this BPP
    expectBspError(() => s.unwrap(first, 'encryptAndMac'), 'security');
    expect(s.counter).toBe(1);
  });

  it('default: the first error is rethrown, even after a later structure problem', () => {
    const s = new BspSession(keys);
    s.unwrap(first, 'encryptAndMac');
    expectBspError(() => s.unwrap(second.subarray(0, 10), 'macOnly'), 'structure');
    expectBspError(() => s.unwrap(second, 'macOnly'), 'structure');
  });

  it('abortOnError false: state unchanged, the next valid segment still verifies', () => {
    const s = new BspSession(keys, { abortOnError: false });
    expectBspError(() => s.unwrap(corrupt, 'encryptAndMac'), 'security');
    expect(s.failure).toBeUndefined();
    expect(toHex(s.unwrap(first, 'encryptAndMac'))).toBe(segs.steps[0]!.plaintext);
    expectBspError(() => s.unwrap(second.subarray(0, 10), 'macOnly'), 'structure');
    expect(toHex(s.unwrap(second, 'macOnly'))).toBe(segs.steps[1]!.plaintext);
    expect(s.counter).toBe(3);
  });
});

describe('session construction', () => {
  it('rejects keys and MCVs of the wrong size', () => {
    const k = keysOf(segs);
    expect(() => new BspSession({ ...k, sEnc: new Uint8Array(15) })).toThrow(expect.objectContaining({ kind: 'invalidKey' }));
    expect(() => new BspSession({ ...k, sMac: new Uint8Array(8) })).toThrow(expect.objectContaining({ kind: 'invalidKey' }));
    expect(() => new BspSession({ ...k, initialMcv: new Uint8Array(8) })).toThrow(
      expect.objectContaining({ kind: 'invalidLength' }),
    );
  });
  it('rejects tags that are not one byte', () => {
    expect(() => new BspSession(keysOf(segs)).wrap(0xbf26, new Uint8Array(1), 'macOnly')).toThrow(CryptoError);
  });
  it('copies its keys (later mutation of the caller buffers has no effect)', () => {
    const k = keysOf(segs);
    const s = new BspSession(k);
    k.sEnc.fill(0);
    k.initialMcv.fill(0);
    expect(toHex(s.wrap(0x87, hexToBytes(segs.steps[0]!.plaintext), 'encryptAndMac'))).toBe(segs.steps[0]!.output);
  });
});
