// GlobalPlatform STORE DATA (GP Card Specification 2.3 11.11) as SGP.22 uses it for
// ES10 (SGP.22 5.7.2): CLA '80'|channel, INS 'E2', P1 '11' (more blocks, BER-TLV) /
// '91' (last block), P2 block number from '00', Le '00' on the last block. The LPA
// side splits a command into blocks; the card side reassembles them and yields the
// complete command when the last block arrives.

// Card-side error choices (GP 11.11.3 lists 6A80/6A84/6A88 plus the general 11.1.3 SWs):
// - P1 other than '11'/'91'                    -> 6A86 (incorrect P1-P2), chain discarded
// - block number out of sequence                -> 6A86 (incorrect P1-P2), chain discarded
// - total size above `maxCommandSize` (64 KiB)  -> 6A84 (not enough memory), chain discarded
// A block with P2 '00' while a chain is open restarts the chain. After block 'FF' the
// numbering wraps to '00' and continues the chain (lpac counts P2 in a uint8); only a
// '00' that does not follow 'FF' restarts.
import { buildCommand, type CommandApdu } from './apdu.ts';
import { SW, StatusWordError } from './sw.ts';
import { withChannel } from './channels.ts';
import { concatBytes } from '../bytes.ts';

export const INS_STORE_DATA = 0xe2;
export const STORE_DATA_P1_MORE = 0x11;
export const STORE_DATA_P1_LAST = 0x91;
export const DEFAULT_STORE_DATA_BLOCK = 120;
export const DEFAULT_MAX_STORE_DATA_COMMAND = 65536;

export interface SegmentOptions {
  /** bytes of command data per block, 1..255 (lpac: 120) */
  readonly blockSize?: number;
  /** logical channel 0..19 (coded into CLA) */
  readonly channel?: number;
  /** base class, default 0x80 */
  readonly cla?: number;
  /** put Le=00 on the last block (default true); lpac sends the last block as case 3 */
  readonly leOnLast?: boolean;
}

export class StoreDataError extends StatusWordError {
  override readonly name = 'StoreDataError';
  constructor(
    sw: number,
    readonly reason: 'p1' | 'sequence' | 'too-large' | 'ins',
    message: string,
  ) {
    super(sw, message);
  }
}

/** LPA side: split an ES10 command (a BER-TLV, e.g. BF3E035C015A) into STORE DATA C-APDUs. */
export function segmentStoreData(payload: Uint8Array, options: SegmentOptions = {}): Uint8Array[] {
  const blockSize = options.blockSize ?? DEFAULT_STORE_DATA_BLOCK;
  if (!Number.isInteger(blockSize) || blockSize < 1 || blockSize > 255) throw new RangeError(`STORE DATA block size must be 1..255, got ${blockSize}`);
  if (payload.length === 0) throw new RangeError('STORE DATA payload is empty');
  const cla = withChannel(options.cla ?? 0x80, options.channel ?? 0);
  const leOnLast = options.leOnLast ?? true;
  const out: Uint8Array[] = [];
  const blocks = Math.ceil(payload.length / blockSize);
  for (let i = 0; i < blocks; i++) {
    const last = i === blocks - 1;
    const data = payload.subarray(i * blockSize, Math.min(payload.length, (i + 1) * blockSize));
    out.push(
      buildCommand({
        cla,
        ins: INS_STORE_DATA,
        p1: last ? STORE_DATA_P1_LAST : STORE_DATA_P1_MORE,
        p2: i & 0xff,
        data,
        ...(last && leOnLast ? { le: 256 } : {}),
      }),
    );
  }
  return out;
}

export type StoreDataProgress =
  | { readonly status: 'incomplete'; readonly blocks: number; readonly bytes: number }
  | { readonly status: 'complete'; readonly command: Uint8Array; readonly blocks: number };

export interface StoreDataAssemblerOptions {
  /** largest complete command accepted, bytes (default 65536) */
  readonly maxCommandSize?: number;
}

/** Card side: reassembles one logical channel's STORE DATA chain. */
export class StoreDataAssembler {
  private parts: Uint8Array[] = [];
  private size = 0;
  private count = 0;
  readonly maxCommandSize: number;

  constructor(options: StoreDataAssemblerOptions = {}) {
    this.maxCommandSize = options.maxCommandSize ?? DEFAULT_MAX_STORE_DATA_COMMAND;
  }

  /** a chain is open (at least one '11' block accepted) */
  get inProgress(): boolean {
    return this.count > 0;
  }

  /** number of the block expected next */
  get expectedBlock(): number {
    return this.count & 0xff;
  }

  /** discard a partial chain */
  reset(): void {
    this.parts = [];
    this.size = 0;
    this.count = 0;
  }

  /**
   * Accept one STORE DATA block. Throws StoreDataError (with the SW to answer) and
   * discards the chain on a P1, sequence or size error.
   */
  accept(cmd: CommandApdu): StoreDataProgress {
    if (cmd.ins !== INS_STORE_DATA) throw new StoreDataError(SW.INS_NOT_SUPPORTED, 'ins', `INS ${cmd.ins.toString(16)} is not STORE DATA`);
    if (cmd.p1 !== STORE_DATA_P1_MORE && cmd.p1 !== STORE_DATA_P1_LAST) {
      this.reset();
      throw new StoreDataError(SW.INCORRECT_P1P2, 'p1', `STORE DATA P1 ${hex2(cmd.p1)}: only 11 (more) and 91 (last) are supported`);
    }
    if (cmd.p2 !== this.expectedBlock) {
      if (cmd.p2 === 0) {
        this.reset(); // a new chain replaces an unfinished one
      } else {
        const expected = this.expectedBlock;
        this.reset();
        throw new StoreDataError(SW.INCORRECT_P1P2, 'sequence', `STORE DATA block ${hex2(cmd.p2)} out of sequence, expected ${hex2(expected)}`);
      }
    }
    if (this.size + cmd.data.length > this.maxCommandSize) {
      const total = this.size + cmd.data.length;
      this.reset();
      throw new StoreDataError(SW.NOT_ENOUGH_MEMORY, 'too-large', `STORE DATA command of ${total}+ bytes exceeds ${this.maxCommandSize}`);
    }
    this.parts.push(cmd.data);
    this.size += cmd.data.length;
    this.count++;
    if (cmd.p1 === STORE_DATA_P1_MORE) return { status: 'incomplete', blocks: this.count, bytes: this.size };
    const command = concatBytes(...this.parts);
    const blocks = this.count;
    this.reset();
    return { status: 'complete', command, blocks };
  }
}

function hex2(b: number): string {
  return b.toString(16).toUpperCase().padStart(2, '0');
}
