// Terminal-side MBIM client for a bridge back-end: MBIM 1.0 control messages over a byte
// stream (a Duplex: `serialport` on a tty/PTY, or CharDeviceStream from sim/wwan/fd-duplex.ts
// on /dev/cdc-wdmN, which is not a tty), fragments reassembled and sent within the
// MaxControlTransfer of OPEN, and the MS UICC low-level access service (Microsoft "MB low
// level UICC access"):
//
//   const uicc = await MbimUiccClient.open(stream);                 // OPEN / OPEN_DONE
//   const atr = await uicc.atr();                                   // CID 1
//   const { channel } = await uicc.openChannel(ISD_R_AID);          // CID 2 (SelectP2Arg, group)
//   const rapdu = await uicc.sendApdu(channel, capdu);              // CID 4, data || SW
//   await uicc.closeChannel(channel);                               // CID 3
//   await uicc.reset(); await uicc.slotMappings();                  // CID 6; MS basic connect ext CID 7
//   await uicc.close();                                             // CLOSE / CLOSE_DONE
//
// A COMMAND_DONE with a status other than SUCCESS rejects with MbimError carrying the MBIM
// status (9 NO_DEVICE_SUPPORT, 0x87430002 MS_SELECT_FAILED...).
import type { Duplex } from 'node:stream';
import { type ApduTransport } from '../apdu/apdu.ts';
import { channelOf } from '../apdu/channels.ts';
import { transmitWithT0Procedure } from '../apdu/t0.ts';
import { concatBytes } from '../bytes.ts';
import {
  BASIC_CONNECT_CID,
  buildInfo,
  COMMAND_TYPE,
  encodeMbim,
  InfoReader,
  MBIM_MESSAGE,
  MBIM_STATUS,
  MbimFramer,
  type MbimMessage,
  mbimStatusName,
  MS_BASIC_CONNECT_EXTENSIONS_CID,
  MS_UICC_CID,
  SERVICE,
  uiccStatusToSw,
} from './codec.ts';

export class MbimError extends Error {
  override readonly name = 'MbimError';
  constructor(
    readonly cid: number,
    /** MBIM status code of COMMAND_DONE, or the protocol error of FUNCTION_ERROR */
    readonly status: number,
    readonly kind: 'status' | 'protocol' = 'status',
    /** the card's SW when the modem reported one (open channel / APDU buffers) */
    readonly cardSw?: number,
  ) {
    super(kind === 'status' ? `MBIM command CID ${cid} failed: status ${mbimStatusName(status)} (0x${status.toString(16)})${cardSw !== undefined ? `, card SW ${cardSw.toString(16).toUpperCase()}` : ''}` : `MBIM function error ${status}`);
  }
}

export class MbimTransportError extends Error {
  override readonly name = 'MbimTransportError';
}

export interface MbimConnectionOptions {
  timeoutMs?: number;
  /** MaxControlTransfer announced in OPEN (default 4096, libmbim's default) */
  maxControlTransfer?: number;
}

export class MbimConnection {
  private readonly waiters = new Map<number, { resolve: (m: MbimMessage) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private tid = 0;
  private ended: Error | undefined;
  readonly maxControlTransfer: number;

  constructor(
    private readonly stream: Duplex,
    private readonly opts: MbimConnectionOptions = {},
  ) {
    this.maxControlTransfer = opts.maxControlTransfer ?? 4096;
    const framer = new MbimFramer(
      (m) => this.dispatch(m),
      () => {
        // an answer that cannot be read: its request times out
      },
    );
    stream.on('data', (c: Buffer) => framer.push(Uint8Array.from(c)));
    const fail = (why: string) => {
      this.ended ??= new MbimTransportError(why);
      for (const [k, w] of this.waiters) {
        clearTimeout(w.timer);
        this.waiters.delete(k);
        w.reject(this.ended);
      }
    };
    stream.on('error', (e: Error) => fail(`stream error: ${e.message}`));
    stream.on('close', () => fail('stream closed'));
    stream.on('end', () => fail('stream ended'));
  }

  private dispatch(m: MbimMessage): void {
    const w = this.waiters.get(m.tid);
    if (!w || m.type === MBIM_MESSAGE.INDICATE_STATUS) return;
    this.waiters.delete(m.tid);
    clearTimeout(w.timer);
    w.resolve(m);
  }

  private exchange(build: (tid: number) => MbimMessage): Promise<MbimMessage> {
    if (this.ended) return Promise.reject(this.ended);
    const tid = (this.tid = (this.tid % 0xfffffffe) + 1);
    const m = build(tid);
    const timeoutMs = this.opts.timeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(tid);
        reject(new MbimTransportError(`no answer to MBIM message 0x${m.type.toString(16)} (transaction ${tid}) within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.set(tid, { resolve, reject, timer });
      for (const part of encodeMbim(m, this.maxControlTransfer)) this.stream.write(Buffer.from(part));
    });
  }

  async open(): Promise<void> {
    const r = await this.exchange((tid) => ({ type: MBIM_MESSAGE.OPEN, tid, maxControlTransfer: this.maxControlTransfer }));
    if (r.type !== MBIM_MESSAGE.OPEN_DONE || r.status !== MBIM_STATUS.SUCCESS) throw new MbimError(0, r.type === MBIM_MESSAGE.OPEN_DONE ? r.status : MBIM_STATUS.FAILURE);
  }

  async close(): Promise<void> {
    const r = await this.exchange((tid) => ({ type: MBIM_MESSAGE.CLOSE, tid }));
    if (r.type !== MBIM_MESSAGE.CLOSE_DONE || r.status !== MBIM_STATUS.SUCCESS) throw new MbimError(0, r.type === MBIM_MESSAGE.CLOSE_DONE ? r.status : MBIM_STATUS.FAILURE);
  }

  /** COMMAND -> the COMMAND_DONE information buffer; a failure status rejects with MbimError. */
  async command(service: string, cid: number, commandType: number, buffer: Uint8Array = new Uint8Array(0)): Promise<Uint8Array> {
    const r = await this.exchange((tid) => ({ type: MBIM_MESSAGE.COMMAND, tid, service, cid, commandType, buffer }));
    if (r.type === MBIM_MESSAGE.FUNCTION_ERROR) throw new MbimError(cid, r.error, 'protocol');
    if (r.type !== MBIM_MESSAGE.COMMAND_DONE) throw new MbimTransportError(`COMMAND answered by message type 0x${r.type.toString(16)}`);
    if (r.status !== MBIM_STATUS.SUCCESS) {
      let sw: number | undefined;
      if (service === SERVICE.MS_UICC_LOW_LEVEL_ACCESS && r.buffer.length >= 4) sw = uiccStatusToSw(new InfoReader(r.buffer, 'status').u32());
      throw new MbimError(cid, r.status, 'status', sw);
    }
    return r.buffer;
  }
}

export interface MbimOpenedChannel {
  channel: number;
  sw: number;
  /** SELECT response data (without SW) */
  response: Uint8Array;
}

export class MbimUiccClient {
  private constructor(readonly connection: MbimConnection) {}

  static async open(stream: Duplex, opts: MbimConnectionOptions = {}): Promise<MbimUiccClient> {
    const c = new MbimConnection(stream, opts);
    await c.open();
    return new MbimUiccClient(c);
  }

  private uicc(cid: number, type: number, fields: Parameters<typeof buildInfo>[0] = []): Promise<Uint8Array> {
    return this.connection.command(SERVICE.MS_UICC_LOW_LEVEL_ACCESS, cid, type, fields.length ? buildInfo(fields) : new Uint8Array(0));
  }

  /** Basic connect DEVICE_CAPS: the DeviceId (IMEI) and firmware strings. */
  async deviceCaps(): Promise<{ deviceId: string; firmwareInfo: string; hardwareInfo: string }> {
    const r = new InfoReader(await this.connection.command(SERVICE.BASIC_CONNECT, BASIC_CONNECT_CID.DEVICE_CAPS, COMMAND_TYPE.QUERY), 'device caps');
    for (let i = 0; i < 8; i++) r.u32();
    r.string();
    return { deviceId: r.string(), firmwareInfo: r.string(), hardwareInfo: r.string() };
  }

  /** MS basic connect extensions DEVICE_SLOT_MAPPINGS query: slot per executor. */
  async slotMappings(): Promise<number[]> {
    const r = new InfoReader(await this.connection.command(SERVICE.MS_BASIC_CONNECT_EXTENSIONS, MS_BASIC_CONNECT_EXTENSIONS_CID.DEVICE_SLOT_MAPPINGS, COMMAND_TYPE.QUERY), 'slot mappings');
    return r.structs(r.u32()).map((s) => new InfoReader(s, 'slot').u32());
  }

  async atr(): Promise<Uint8Array> {
    return new InfoReader(await this.uicc(MS_UICC_CID.ATR, COMMAND_TYPE.QUERY), 'atr').bytes('size-offset');
  }

  /** OPEN_CHANNEL: selectP2 is SelectP2Arg (default 0x00: FCI), group the ChannelGroup (default 1, as ModemManager). */
  async openChannel(aid: Uint8Array, opts: { selectP2?: number; group?: number } = {}): Promise<MbimOpenedChannel> {
    const r = new InfoReader(await this.uicc(MS_UICC_CID.OPEN_CHANNEL, COMMAND_TYPE.SET, [{ bytes: aid, order: 'size-offset' }, { u32: opts.selectP2 ?? 0 }, { u32: opts.group ?? 1 }]), 'open channel');
    const sw = uiccStatusToSw(r.u32());
    return { sw, channel: r.u32(), response: r.bytes('size-offset') };
  }

  /** CLOSE_CHANNEL of one channel, or (channel 0) of every channel in the group. */
  async closeChannel(channel: number, group = 1): Promise<number> {
    return uiccStatusToSw(new InfoReader(await this.uicc(MS_UICC_CID.CLOSE_CHANNEL, COMMAND_TYPE.SET, [{ u32: channel }, { u32: group }]), 'close channel').u32());
  }

  /** APDU on `channel`: resolves with data || SW (Status carries the SW, SW1 in its low byte). */
  async sendApdu(channel: number, capdu: Uint8Array, opts: { classByteType?: 'inter-industry' | 'extended' } = {}): Promise<Uint8Array> {
    const r = new InfoReader(await this.uicc(MS_UICC_CID.APDU, COMMAND_TYPE.SET, [{ u32: channel }, { u32: 0 }, { u32: opts.classByteType === 'extended' ? 1 : 0 }, { bytes: capdu, order: 'size-offset' }]), 'apdu');
    const sw = uiccStatusToSw(r.u32());
    return concatBytes(r.bytes('size-offset'), Uint8Array.of(sw >> 8, sw & 0xff));
  }

  /** TERMINAL_CAPABILITY set: each entry is one TLV of ETSI TS 102 221 11.1.19. */
  async setTerminalCapability(tlvs: readonly Uint8Array[]): Promise<void> {
    await this.uicc(MS_UICC_CID.TERMINAL_CAPABILITY, COMMAND_TYPE.SET, [{ u32: tlvs.length }, { structs: [...tlvs] }]);
  }

  /** RESET set: resets the UICC; passThrough = MBIMUiccPassThroughEnable. Resolves with the pass-through status. */
  async reset(passThrough = false): Promise<boolean> {
    return new InfoReader(await this.uicc(MS_UICC_CID.RESET, COMMAND_TYPE.SET, [{ u32: passThrough ? 1 : 0 }]), 'reset').u32() === 1;
  }

  close(): Promise<void> {
    return this.connection.close();
  }
}

/**
 * ApduTransport over an MBIM UICC client: transmit() sends on the channel the CLA codes
 * (channels come from client.openChannel); 61xx/6Cxx left by a modem that does not fetch
 * the rest are handled here. reset() is MS UICC RESET, then the ATR.
 */
export class MbimApduTransport implements ApduTransport {
  constructor(readonly client: MbimUiccClient) {}

  transmit(capdu: Uint8Array): Promise<Uint8Array> {
    const channel = channelOf(capdu[0] ?? 0);
    return transmitWithT0Procedure((c) => this.client.sendApdu(channel, c), capdu);
  }

  async reset(): Promise<Uint8Array> {
    await this.client.reset(false);
    return this.client.atr();
  }

  close(): Promise<void> {
    return this.client.close();
  }
}
