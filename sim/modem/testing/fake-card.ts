// A small fake UICC/eUICC for the modem's tests (the software eUICC replaces it later):
// logical channels (MANAGE CHANNEL, ETSI TS 102 221 11.1.17; CLA coding 10.1.1), SELECT by
// AID (ISD-R, USIM) and by file id (MF 3F00, EF.ICCID 2FE2, EF.DIR 2F00, EF.IMSI 6F07 under
// ADF.USIM), READ BINARY / READ RECORD / UPDATE BINARY / STATUS, and a STORE DATA echo on
// the ISD-R. In "T=0 mode" it follows the T=0 procedure (TS 102 221 7.3.1): case 4
// commands answer 61xx and wait for GET RESPONSE, a case 2 command with the wrong Le gets 6Cxx.
// A proactive command raised by a test (raiseProactive) turns 9000 into 91xx until FETCH
// (TS 102 221 10.2.1.1, 11.1.14); TERMINAL RESPONSE (11.1.13) ends the session.
import { concatBytes, hexToBytes } from '../../bytes.ts';
import { encodeImsi, encodeSwappedBcd } from '../sim-access.ts';
import type { ApduTransport } from '../types.ts';
export { ISD_R_AID_HEX as ISD_R_AID } from '../../apdu/aids.ts';
import { ISD_R_AID_HEX as ISD_R_AID } from '../../apdu/aids.ts';

export const DEFAULT_USIM_AID = 'A0000000871002FFFFFFFF8907090000';

export interface FakeCardOptions {
  /** answer 61xx / 6Cxx like a T=0 card (default false: T=1-like, data + 9000 at once) */
  t0?: boolean;
  iccid?: string;
  imsi?: string;
  usimAid?: string;
  /** has an ISD-R (default true); false: CCHO on the ISD-R AID fails with 6A82 */
  euicc?: boolean;
  /** extra logical channels the card can open (default 3) */
  maxChannels?: number;
  /** EF.DIR lists the USIM (default true); false makes the modem fall back to its default AID */
  efDir?: boolean;
  /** answer to STORE DATA (default: echo the command data) */
  storeDataResponse?: (data: Uint8Array, channel: number) => Uint8Array;
  /** carries a USIM (default true); false: a card with no enabled profile, SELECT of the USIM answers 6A82 */
  usim?: boolean;
}

type FileKind = 'df' | 'transparent' | 'linear';
interface CardFile {
  fid: number;
  kind: FileKind;
  data: Uint8Array;
  recordLength?: number;
}

interface ChannelState {
  app: 'none' | 'isdr' | 'usim';
  df: 'mf' | 'usim';
  ef: CardFile | undefined;
  pending: Uint8Array | undefined;
}

const SW_OK = Uint8Array.of(0x90, 0x00);
const sw = (v: number): Uint8Array => Uint8Array.of(v >> 8, v & 0xff);

export class FakeCard implements ApduTransport {
  readonly options: Required<Omit<FakeCardOptions, 'storeDataResponse'>> & Pick<FakeCardOptions, 'storeDataResponse'>;
  /** every C-APDU received, in order */
  readonly apdus: Uint8Array[] = [];
  resets = 0;
  closed = false;
  readonly atr: Uint8Array;
  private channels = new Map<number, ChannelState>();
  private proactive: Uint8Array | undefined;
  /** TERMINAL RESPONSE data received, in order */
  readonly terminalResponses: Uint8Array[] = [];
  /** TERMINAL CAPABILITY data received, in order */
  readonly terminalCapabilities: Uint8Array[] = [];
  private readonly mfFiles: Map<number, CardFile>;
  private readonly usimFiles: Map<number, CardFile>;

  constructor(opts: FakeCardOptions = {}) {
    this.options = {
      t0: opts.t0 ?? false,
      iccid: opts.iccid ?? '89000123456789012341',
      imsi: opts.imsi ?? '001010123456789',
      usimAid: opts.usimAid ?? DEFAULT_USIM_AID,
      euicc: opts.euicc ?? true,
      maxChannels: opts.maxChannels ?? 3,
      efDir: opts.efDir ?? true,
      storeDataResponse: opts.storeDataResponse,
      usim: opts.usim ?? true,
    };
    const aid = hexToBytes(this.options.usimAid);
    const label = new TextEncoder().encode('USIM');
    const dirRecord = new Uint8Array(0x20).fill(0xff);
    dirRecord.set(Uint8Array.of(0x61, 4 + aid.length + label.length, 0x4f, aid.length, ...aid, 0x50, label.length, ...label));
    this.mfFiles = new Map<number, CardFile>([[0x2fe2, { fid: 0x2fe2, kind: 'transparent', data: encodeSwappedBcd(this.options.iccid, 10) }]]);
    if (this.options.efDir) this.mfFiles.set(0x2f00, { fid: 0x2f00, kind: 'linear', data: dirRecord, recordLength: 0x20 });
    this.usimFiles = new Map<number, CardFile>([[0x6f07, { fid: 0x6f07, kind: 'transparent', data: encodeImsi(this.options.imsi) }]]);
    const body = hexToBytes('9F96801FC78031E073FE211B633A204A83009000');
    let tck = 0;
    for (const b of body) tck ^= b;
    this.atr = concatBytes(Uint8Array.of(0x3b), body, Uint8Array.of(tck));
    this.resetState();
  }

  /** A proactive command is pending: 9000 answers become 91xx until FETCH. */
  raiseProactive(command: Uint8Array): void {
    this.proactive = Uint8Array.from(command);
  }

  private resetState(): void {
    this.proactive = undefined;
    this.channels = new Map([[0, { app: 'none', df: 'mf', ef: undefined, pending: undefined }]]);
  }

  /** Channels currently open (0 included). */
  openChannels(): number[] {
    return [...this.channels.keys()].sort((a, b) => a - b);
  }

  async reset(): Promise<Uint8Array> {
    this.resets++;
    this.resetState();
    return this.atr;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  async transmit(capdu: Uint8Array): Promise<Uint8Array> {
    if (this.closed) throw new Error('fake card: closed');
    this.apdus.push(Uint8Array.from(capdu));
    const r = this.process(capdu);
    if (this.proactive && r.length >= 2 && r[r.length - 2] === 0x90 && r[r.length - 1] === 0x00) return concatBytes(r.subarray(0, r.length - 2), Uint8Array.of(0x91, this.proactive.length));
    return r;
  }

  private process(c: Uint8Array): Uint8Array {
    if (c.length < 4) return sw(0x6700);
    const [cla, ins, p1, p2] = [c[0] as number, c[1] as number, c[2] as number, c[3] as number];
    if (cla === 0xff) return sw(0x6e00);
    const ch = (cla & 0x40) !== 0 ? 4 + (cla & 0x0f) : cla & 0x03;
    const state = this.channels.get(ch);
    if (!state) return sw(0x6881);
    // body: case 1 (4 bytes), case 2 (5, Le), case 3/4 (Lc data [Le])
    const lc = c.length > 5 ? (c[4] as number) : 0;
    if (c.length > 5 && c.length !== 5 + lc && c.length !== 6 + lc) return sw(0x6700);
    const data = c.length > 5 ? c.subarray(5, 5 + lc) : new Uint8Array(0);
    const le = c.length === 5 ? (c[4] as number) || 256 : c.length === 6 + lc ? (c[5 + lc] as number) || 256 : 256;
    const hasData = c.length > 5;
    if (ins !== 0xc0) state.pending = undefined;

    switch (ins) {
      case 0x12: {
        const cmd = this.proactive;
        if (!cmd) return sw(0x6985);
        this.proactive = undefined;
        return concatBytes(cmd, SW_OK);
      }
      case 0x14:
        this.terminalResponses.push(Uint8Array.from(data));
        return SW_OK;
      case 0xaa:
        this.terminalCapabilities.push(Uint8Array.from(data));
        return SW_OK;
      case 0x70:
        return this.manageChannel(p1, p2);
      case 0xc0: {
        const pending = state.pending;
        if (!pending) return sw(0x6985);
        const n = Math.min(le, pending.length);
        const rest = pending.subarray(n);
        state.pending = rest.length ? rest : undefined;
        return concatBytes(pending.subarray(0, n), rest.length ? Uint8Array.of(0x61, Math.min(rest.length, 256) & 0xff) : SW_OK);
      }
      case 0xa4:
        return this.answer(state, this.select(state, p1, p2, data), hasData, le);
      case 0xb0: {
        const ef = state.ef;
        if (!ef || ef.kind !== 'transparent') return sw(0x6986);
        const off = (p1 << 8) | p2;
        if (off >= ef.data.length) return sw(0x6b00);
        const avail = ef.data.length - off;
        const wanted = c.length === 5 ? le : 256;
        if (this.options.t0 && c.length === 5 && wanted !== avail && wanted > avail) return Uint8Array.of(0x6c, avail);
        return concatBytes(ef.data.subarray(off, off + Math.min(wanted, avail)), SW_OK);
      }
      case 0xb2: {
        const ef = state.ef;
        if (!ef || ef.kind !== 'linear' || !ef.recordLength) return sw(0x6981);
        const count = ef.data.length / ef.recordLength;
        if (p2 !== 0x04 || p1 < 1 || p1 > count) return sw(0x6a83);
        const rec = ef.data.subarray((p1 - 1) * ef.recordLength, p1 * ef.recordLength);
        if (this.options.t0 && c.length === 5 && le !== rec.length) return Uint8Array.of(0x6c, rec.length);
        return concatBytes(rec, SW_OK);
      }
      case 0xd6: {
        const ef = state.ef;
        if (!ef || ef.kind !== 'transparent') return sw(0x6986);
        const off = (p1 << 8) | p2;
        if (off + data.length > ef.data.length) return sw(0x6700);
        ef.data.set(data, off);
        return SW_OK;
      }
      case 0xf2: {
        if (p2 === 0x0c) return SW_OK;
        const r = this.fci(state);
        if (this.options.t0 && c.length === 5 && le !== r.length) return Uint8Array.of(0x6c, r.length);
        return concatBytes(r, SW_OK);
      }
      case 0xe2: {
        if (state.app !== 'isdr') return sw(0x6985);
        const resp = this.options.storeDataResponse ? this.options.storeDataResponse(data, ch) : Uint8Array.from(data);
        return this.answer(state, resp, true, 256);
      }
      default:
        return sw(0x6d00);
    }
  }

  /** Data for a case 4 command: 61xx in T=0 mode (or when over 256 bytes), else data + 9000. Numbers are SWs. */
  private answer(state: ChannelState, r: Uint8Array | number, hasData: boolean, le: number): Uint8Array {
    if (typeof r === 'number') return sw(r);
    if (r.length === 0) return SW_OK;
    if ((this.options.t0 && hasData) || r.length > 256 || (!hasData && r.length > le)) {
      state.pending = r;
      return Uint8Array.of(0x61, Math.min(r.length, 256) & 0xff);
    }
    return concatBytes(r, SW_OK);
  }

  private manageChannel(p1: number, p2: number): Uint8Array {
    if (p1 === 0x00) {
      for (let ch = 1; ch <= this.options.maxChannels; ch++) {
        if (!this.channels.has(ch)) {
          this.channels.set(ch, { app: 'none', df: 'mf', ef: undefined, pending: undefined });
          return Uint8Array.of(ch, 0x90, 0x00);
        }
      }
      return sw(0x6a81);
    }
    if (p1 === 0x80) {
      if (p2 === 0) return sw(0x6a86);
      if (!this.channels.delete(p2)) return sw(0x6881);
      return SW_OK;
    }
    return sw(0x6a86);
  }

  private select(state: ChannelState, p1: number, p2: number, data: Uint8Array): Uint8Array | number {
    const noData = (p2 & 0x0c) === 0x0c;
    if (p1 === 0x04) {
      const hex = Array.from(data, (b) => b.toString(16).padStart(2, '0')).join('').toUpperCase();
      if (data.length < 5) return 0x6a82;
      if (this.options.euicc && ISD_R_AID.startsWith(hex)) {
        state.app = 'isdr';
        state.ef = undefined;
        return noData ? new Uint8Array(0) : this.fci(state);
      }
      if (this.options.usim && this.options.usimAid.toUpperCase().startsWith(hex)) {
        state.app = 'usim';
        state.df = 'usim';
        state.ef = undefined;
        return noData ? new Uint8Array(0) : this.fci(state);
      }
      return 0x6a82;
    }
    if (p1 !== 0x00 || data.length !== 2) return 0x6a86;
    const fid = ((data[0] as number) << 8) | (data[1] as number);
    if (fid === 0x3f00) {
      state.df = 'mf';
      state.ef = undefined;
      return noData ? new Uint8Array(0) : fcp(0x3f00, 'df', 0);
    }
    if (fid === 0x7fff) {
      if (state.app !== 'usim') return 0x6a82;
      state.df = 'usim';
      state.ef = undefined;
      return noData ? new Uint8Array(0) : this.fci(state);
    }
    const file = (state.df === 'mf' ? this.mfFiles : this.usimFiles).get(fid);
    if (!file) return 0x6a82;
    state.ef = file;
    return noData ? new Uint8Array(0) : fcp(file.fid, file.kind, file.data.length, file.recordLength);
  }

  private fci(state: ChannelState): Uint8Array {
    const aid = state.app === 'isdr' ? hexToBytes(ISD_R_AID) : state.app === 'usim' ? hexToBytes(this.options.usimAid) : undefined;
    if (!aid) return fcp(0x3f00, 'df', 0);
    return Uint8Array.of(0x6f, aid.length + 2, 0x84, aid.length, ...aid);
  }
}

function fcp(fid: number, kind: FileKind, size: number, recordLength?: number): Uint8Array {
  const desc =
    kind === 'df'
      ? [0x82, 0x02, 0x78, 0x21]
      : kind === 'transparent'
        ? [0x82, 0x02, 0x41, 0x21]
        : [0x82, 0x05, 0x42, 0x21, 0x00, recordLength ?? 0, size / (recordLength ?? 1)];
  const body = [...desc, 0x83, 0x02, fid >> 8, fid & 0xff, ...(kind === 'df' ? [] : [0x80, 0x02, size >> 8, size & 0xff]), 0x8a, 0x01, 0x05];
  return Uint8Array.of(0x62, body.length, ...body);
}
