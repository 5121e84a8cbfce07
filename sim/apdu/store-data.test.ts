import { describe, expect, it } from 'vitest';
import { hexToBytes, toHex } from '../bytes.ts';
import { parseCommand } from './apdu.ts';
import { segmentStoreData, StoreDataAssembler, StoreDataError } from './store-data.ts';

const payload = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff);
const header = (c: Uint8Array): string => toHex(c.subarray(0, 5));

function acceptAll(asm: StoreDataAssembler, blocks: Uint8Array[]) {
  let last;
  for (const b of blocks) last = asm.accept(parseCommand(b));
  return last;
}

function expectStoreDataError(fn: () => unknown, sw: number, reason: StoreDataError['reason']): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(StoreDataError);
  expect((err as StoreDataError).sw).toBe(sw);
  expect((err as StoreDataError).reason).toBe(reason);
}

describe('segmentStoreData (GP 11.11, SGP.22 5.7.2)', () => {
  it('blocks of 120 (lpac default): P1 11/11/91, P2 00/01/02, Le 00 on the last', () => {
    const blocks = segmentStoreData(payload(300));
    expect(blocks.map(header)).toEqual(['80e2110078', '80e2110178', '80e291023c']);
    expect(blocks.map((b) => b.length)).toEqual([125, 125, 66]);
    expect(toHex(blocks[2]!.subarray(-1))).toBe('00');
  });

  it('blocks of 255 on channel 2', () => {
    const blocks = segmentStoreData(payload(600), { blockSize: 255, channel: 2 });
    expect(blocks.map(header)).toEqual(['82e21100ff', '82e21101ff', '82e291025a']);
    expect(blocks[0]!.length).toBe(5 + 255); // no Le on intermediate blocks
  });

  it('lpac "chip info" GetEID on channel 1 without Le', () => {
    const [b] = segmentStoreData(hexToBytes('BF3E035C015A'), { channel: 1, leOnLast: false });
    expect(toHex(b!)).toBe('81e2910006bf3e035c015a');
  });

  it('channel 5 uses the further class C1', () => {
    expect(header(segmentStoreData(payload(10), { channel: 5 })[0]!)).toBe('c1e291000a');
  });

  it('rejects empty payloads and bad block sizes', () => {
    expect(() => segmentStoreData(new Uint8Array(0))).toThrow(RangeError);
    expect(() => segmentStoreData(payload(10), { blockSize: 256 })).toThrow(RangeError);
    expect(() => segmentStoreData(payload(10), { blockSize: 0 })).toThrow(RangeError);
  });
});

describe('StoreDataAssembler', () => {
  it('reassembles a 3000-byte command sent in 120-byte blocks', () => {
    const data = payload(3000);
    const blocks = segmentStoreData(data, { channel: 1 });
    expect(blocks.length).toBe(25);
    const asm = new StoreDataAssembler();
    for (const b of blocks.slice(0, -1)) {
      expect(asm.accept(parseCommand(b)).status).toBe('incomplete');
    }
    expect(asm.inProgress).toBe(true);
    const done = asm.accept(parseCommand(blocks[24]!));
    expect(done.status).toBe('complete');
    if (done.status === 'complete') {
      expect(toHex(done.command)).toBe(toHex(data));
      expect(done.blocks).toBe(25);
    }
    expect(asm.inProgress).toBe(false);
  });

  it('a single last block P2=00 is a complete command', () => {
    const asm = new StoreDataAssembler();
    const r = asm.accept(parseCommand(hexToBytes('80E2910006BF3E035C015A00')));
    expect(r).toMatchObject({ status: 'complete', blocks: 1 });
  });

  it('a block out of sequence answers 6A86 and discards the chain', () => {
    const blocks = segmentStoreData(payload(600));
    const asm = new StoreDataAssembler();
    acceptAll(asm, blocks.slice(0, 2));
    expect(asm.expectedBlock).toBe(2);
    expectStoreDataError(() => asm.accept(parseCommand(blocks[3]!)), 0x6a86, 'sequence');
    expect(asm.inProgress).toBe(false);
    // the discarded chain cannot be continued: block 02 is now out of sequence too
    expectStoreDataError(() => asm.accept(parseCommand(blocks[2]!)), 0x6a86, 'sequence');
    // a fresh chain from block 00 works
    expect(acceptAll(asm, blocks)?.status).toBe('complete');
  });

  it('a repeated block number is a sequence error', () => {
    const blocks = segmentStoreData(payload(600));
    const asm = new StoreDataAssembler();
    acceptAll(asm, blocks.slice(0, 2));
    expectStoreDataError(() => asm.accept(parseCommand(blocks[1]!)), 0x6a86, 'sequence');
  });

  it('P1 other than 11/91 answers 6A86 and discards the chain', () => {
    const asm = new StoreDataAssembler();
    acceptAll(asm, segmentStoreData(payload(600)).slice(0, 2));
    expectStoreDataError(() => asm.accept(parseCommand(hexToBytes('80E2010202AABB'))), 0x6a86, 'p1');
    expect(asm.inProgress).toBe(false);
  });

  it('a new block 00 restarts an unfinished chain', () => {
    const asm = new StoreDataAssembler();
    acceptAll(asm, segmentStoreData(payload(600)).slice(0, 3));
    const fresh = hexToBytes('BF2E00');
    const r = asm.accept(parseCommand(segmentStoreData(fresh)[0]!));
    expect(r.status).toBe('complete');
    if (r.status === 'complete') expect(toHex(r.command)).toBe('bf2e00');
  });

  it('a command above the size limit answers 6A84 and discards the chain', () => {
    const asm = new StoreDataAssembler({ maxCommandSize: 200 });
    const blocks = segmentStoreData(payload(300));
    asm.accept(parseCommand(blocks[0]!));
    expectStoreDataError(() => asm.accept(parseCommand(blocks[1]!)), 0x6a84, 'too-large');
    expect(asm.inProgress).toBe(false);
  });

  it('block numbers wrap after FF and continue the chain', () => {
    const data = payload(257);
    const blocks = segmentStoreData(data, { blockSize: 1 });
    expect(header(blocks[255]!)).toBe('80e211ff01');
    expect(header(blocks[256]!)).toBe('80e2910001');
    const asm = new StoreDataAssembler();
    const r = acceptAll(asm, blocks);
    expect(r?.status).toBe('complete');
    if (r?.status === 'complete') expect(r.command.length).toBe(257);
  });
});
