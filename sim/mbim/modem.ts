// The fake MBIM modem: MBIM 1.0 control messages (OPEN/OPEN_DONE, CLOSE/CLOSE_DONE,
// COMMAND/COMMAND_DONE with fragments both ways, FUNCTION_ERROR NOT_OPENED before OPEN),
// basic connect DEVICE_CAPS and SUBSCRIBER_READY_STATUS (MBIM 1.0 10.5.1 / 10.5.2), the MS
// basic connect extensions DEVICE_SLOT_MAPPINGS and SLOT_INFO_STATUS (single slot), and
// the MS UICC low-level access service (Microsoft "MB low level UICC access", CIDs 1-6:
// ATR, OPEN_CHANNEL = MANAGE CHANNEL + SELECT by AID with SelectP2Arg, CLOSE_CHANNEL by
// channel or by channel group, APDU, TERMINAL_CAPABILITY, RESET). APDU results carry the
// card's SW in Status (SW1 low byte) and the data without SW in Response. Backed by any
// ApduTransport (the software eUICC); bytes from any endpoint (a PTY: sim/wwan).
import { type ApduTransport, responseData, responseSw } from '../apdu/apdu.ts';
import { withChannel } from '../apdu/channels.ts';
import { transmitWithT0Procedure } from '../apdu/t0.ts';
import { concatBytes } from '../bytes.ts';
import {
  BASIC_CONNECT_CID,
  buildInfo,
  COMMAND_TYPE,
  encodeMbim,
  InfoReader,
  MBIM_MESSAGE,
  MBIM_PROTOCOL_ERROR,
  MBIM_STATUS,
  MbimFormatError,
  MbimFramer,
  type MbimMessage,
  MS_BASIC_CONNECT_EXTENSIONS_CID,
  MS_UICC_CID,
  SERVICE,
  swToUiccStatus,
} from './codec.ts';
import { loadMbimPersonality, type MbimPersonality } from './personality.ts';

export type MbimTraceEvent = { kind: 'in' | 'out'; message: MbimMessage } | { kind: 'apdu'; channel: number; capdu: Uint8Array; rapdu: Uint8Array } | { kind: 'framing'; error: string };

export interface MbimModemOptions {
  personality: MbimPersonality | string;
  card: ApduTransport;
  onTrace?: (e: MbimTraceEvent) => void;
}

export interface MbimModemState {
  opened: boolean;
  maxControlTransfer: number;
  channels: { channel: number; group: number }[];
  passThrough: boolean;
  framingErrors: number;
}

/** A command answered with a status other than SUCCESS (and maybe a buffer). */
class MbimRefusal extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly buffer: Uint8Array = new Uint8Array(0),
  ) {
    super(message);
  }
}

const SLOT_STATE_ACTIVE_ESIM = 7;
const READY_STATE_INITIALIZED = 1;

export class MbimModem {
  readonly personality: MbimPersonality;
  private readonly card: ApduTransport;
  private readonly trace: (e: MbimTraceEvent) => void;
  private readonly framer: MbimFramer;
  private sink: ((b: Uint8Array) => void) | undefined;
  private queue: Promise<void> = Promise.resolve();
  private opened = false;
  private maxControlTransfer = 4096;
  private readonly channels = new Map<number, number>();
  private terminalCapabilities: Uint8Array[] = [];
  private passThrough = false;
  private atr: Uint8Array | undefined;
  private framingErrors = 0;
  private closed = false;

  constructor(opts: MbimModemOptions) {
    this.personality = typeof opts.personality === 'string' ? loadMbimPersonality(opts.personality) : opts.personality;
    this.card = opts.card;
    this.trace = opts.onTrace ?? (() => {});
    this.framer = new MbimFramer(
      (m) => {
        this.trace({ kind: 'in', message: m });
        this.queue = this.queue.then(() => this.serve(m));
      },
      (err) => {
        this.framingErrors++;
        this.trace({ kind: 'framing', error: err.message });
        this.queue = this.queue.then(() => this.send({ type: MBIM_MESSAGE.FUNCTION_ERROR, tid: err.tid, error: err.protocolError }));
      },
    );
  }

  attach(sink: (bytes: Uint8Array) => void): void {
    this.sink = sink;
  }

  receive(bytes: Uint8Array): void {
    if (!this.closed) this.framer.push(bytes);
  }

  idle(): Promise<void> {
    return this.queue;
  }

  state(): MbimModemState {
    return { opened: this.opened, maxControlTransfer: this.maxControlTransfer, channels: [...this.channels].map(([channel, group]) => ({ channel, group })), passThrough: this.passThrough, framingErrors: this.framingErrors };
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
  }

  private send(m: MbimMessage): void {
    if (this.closed) return;
    this.trace({ kind: 'out', message: m });
    // one write per message (fragment): on cdc-wdm each is one control transfer
    for (const part of encodeMbim(m, this.maxControlTransfer)) this.sink?.(part);
  }

  private async serve(m: MbimMessage): Promise<void> {
    switch (m.type) {
      case MBIM_MESSAGE.OPEN:
        this.opened = true;
        this.maxControlTransfer = Math.max(64, m.maxControlTransfer);
        return this.send({ type: MBIM_MESSAGE.OPEN_DONE, tid: m.tid, status: MBIM_STATUS.SUCCESS });
      case MBIM_MESSAGE.CLOSE:
        this.opened = false;
        await this.closeChannels(() => true);
        return this.send({ type: MBIM_MESSAGE.CLOSE_DONE, tid: m.tid, status: MBIM_STATUS.SUCCESS });
      case MBIM_MESSAGE.COMMAND: {
        if (!this.opened) return this.send({ type: MBIM_MESSAGE.FUNCTION_ERROR, tid: m.tid, error: MBIM_PROTOCOL_ERROR.NOT_OPENED });
        let status: number = MBIM_STATUS.SUCCESS;
        let buffer: Uint8Array;
        try {
          buffer = await this.command(m.service, m.cid, m.commandType, m.buffer);
        } catch (err) {
          if (err instanceof MbimRefusal) [status, buffer] = [err.status, err.buffer];
          else if (err instanceof MbimFormatError) [status, buffer] = [MBIM_STATUS.INVALID_PARAMETERS, new Uint8Array(0)];
          else throw err;
        }
        return this.send({ type: MBIM_MESSAGE.COMMAND_DONE, tid: m.tid, service: m.service, cid: m.cid, status, buffer });
      }
      default:
        // a host sends no other type; HOST_ERROR needs no answer
        return;
    }
  }

  private async command(service: string, cid: number, type: number, buffer: Uint8Array): Promise<Uint8Array> {
    const set = type === COMMAND_TYPE.SET;
    if (service === SERVICE.BASIC_CONNECT && cid === BASIC_CONNECT_CID.DEVICE_CAPS && !set) return this.deviceCaps();
    if (service === SERVICE.BASIC_CONNECT && cid === BASIC_CONNECT_CID.SUBSCRIBER_READY_STATUS && !set)
      return buildInfo([{ u32: READY_STATE_INITIALIZED }, { string: '' }, { string: '' }, { u32: 0 }, { u32: 0 }]);
    if (service === SERVICE.MS_BASIC_CONNECT_EXTENSIONS && (cid === MS_BASIC_CONNECT_EXTENSIONS_CID.DEVICE_SLOT_MAPPINGS || cid === MS_BASIC_CONNECT_EXTENSIONS_CID.SLOT_INFO_STATUS)) {
      if (this.personality.values.slotMappings === 'no-device-support') throw new MbimRefusal(MBIM_STATUS.NO_DEVICE_SUPPORT, 'single-slot module: no slot mapping');
      return this.slots(cid, set, buffer);
    }
    if (service === SERVICE.MS_UICC_LOW_LEVEL_ACCESS) return this.uicc(cid, set, buffer);
    throw new MbimRefusal(MBIM_STATUS.NO_DEVICE_SUPPORT, `service ${service} CID ${cid} is not provided`);
  }

  private deviceCaps(): Uint8Array {
    // MBIM 1.0 10.5.1: embedded device, GSM, no voice, logical SIM class, LTE data class
    return buildInfo([{ u32: 1 }, { u32: 1 }, { u32: 1 }, { u32: 1 }, { u32: 0x20 }, { u32: 0 }, { u32: 1 }, { u32: 1 }, { string: '' }, { string: '350000000000015' }, { string: 'bridgelab fake MBIM modem' }, { string: this.personality.id }]);
  }

  private slots(cid: number, set: boolean, buffer: Uint8Array): Uint8Array {
    const mapping = buildInfo([{ u32: 1 }, { structs: [buildInfo([{ u32: 0 }])] }]);
    if (cid === MS_BASIC_CONNECT_EXTENSIONS_CID.SLOT_INFO_STATUS) {
      const slot = new InfoReader(buffer, 'slot info status').u32();
      if (slot !== 0) throw new MbimRefusal(MBIM_STATUS.INVALID_PARAMETERS, `slot ${slot} does not exist`);
      return buildInfo([{ u32: 0 }, { u32: SLOT_STATE_ACTIVE_ESIM }]);
    }
    if (set) {
      const r = new InfoReader(buffer, 'device slot mappings');
      const slots = r.structs(r.u32()).map((s) => new InfoReader(s, 'slot').u32());
      if (slots.some((s) => s !== 0)) throw new MbimRefusal(MBIM_STATUS.INVALID_PARAMETERS, `slots ${slots.join(',')}: only slot 0 exists`);
    }
    return mapping;
  }

  private async transmit(channel: number, capdu: Uint8Array): Promise<Uint8Array> {
    const rapdu = await this.card.transmit(capdu);
    this.trace({ kind: 'apdu', channel, capdu, rapdu });
    return rapdu;
  }

  private exchange(channel: number, capdu: Uint8Array): Promise<Uint8Array> {
    return this.personality.values.getResponse === 'modem' ? transmitWithT0Procedure((c) => this.transmit(channel, c), capdu) : this.transmit(channel, capdu);
  }

  private async closeChannels(which: (channel: number, group: number) => boolean): Promise<number> {
    let sw = 0x9000;
    for (const [channel, group] of [...this.channels]) {
      if (!which(channel, group)) continue;
      this.channels.delete(channel);
      sw = responseSw(await this.transmit(0, Uint8Array.of(0x00, 0x70, 0x80, channel)));
    }
    return sw;
  }

  private async uicc(cid: number, set: boolean, buffer: Uint8Array): Promise<Uint8Array> {
    const r = new InfoReader(buffer, `MS UICC CID ${cid}`);
    switch (cid) {
      case MS_UICC_CID.ATR:
        this.atr ??= await this.card.reset();
        return buildInfo([{ bytes: this.atr, order: 'size-offset' }]);
      case MS_UICC_CID.OPEN_CHANNEL: {
        const aid = r.bytes('size-offset');
        const p2 = r.u32();
        const group = r.u32();
        if (aid.length === 0 || aid.length > 16 || p2 > 0xff) throw new MbimRefusal(MBIM_STATUS.INVALID_PARAMETERS, 'AppId of 1..16 bytes and SelectP2Arg 0..255 required');
        const manage = await this.transmit(0, Uint8Array.of(0x00, 0x70, 0x00, 0x00, 0x01));
        if (responseSw(manage) !== 0x9000) throw new MbimRefusal(MBIM_STATUS.MS_NO_LOGICAL_CHANNELS, 'no logical channel', buildInfo([{ u32: swToUiccStatus(responseSw(manage)) }, { u32: 0 }, { bytes: new Uint8Array(0), order: 'size-offset' }]));
        const channel = responseData(manage)[0]!;
        const select = concatBytes(Uint8Array.of(withChannel(0x00, channel), 0xa4, 0x04, p2, aid.length), aid, (p2 & 0x0c) === 0x0c ? new Uint8Array(0) : Uint8Array.of(0));
        const rs = await transmitWithT0Procedure((c) => this.transmit(channel, c), select);
        const sw = responseSw(rs);
        if (sw !== 0x9000 && sw >> 8 !== 0x62 && sw >> 8 !== 0x63 && sw >> 8 !== 0x91) {
          await this.transmit(0, Uint8Array.of(0x00, 0x70, 0x80, channel));
          throw new MbimRefusal(MBIM_STATUS.MS_SELECT_FAILED, `SELECT answered ${sw.toString(16)}`, buildInfo([{ u32: swToUiccStatus(sw) }, { u32: 0 }, { bytes: new Uint8Array(0), order: 'size-offset' }]));
        }
        this.channels.set(channel, group);
        return buildInfo([{ u32: swToUiccStatus(sw) }, { u32: channel }, { bytes: responseData(rs), order: 'size-offset' }]);
      }
      case MS_UICC_CID.CLOSE_CHANNEL: {
        const channel = r.u32();
        const group = r.u32();
        // Channel 0 closes every channel of the group (how hermes and ModemManager clean up)
        if (channel === 0) return buildInfo([{ u32: swToUiccStatus(await this.closeChannels((_c, g) => g === group)) }]);
        if (!this.channels.has(channel)) throw new MbimRefusal(MBIM_STATUS.MS_INVALID_LOGICAL_CHANNEL, `channel ${channel} is not open`);
        return buildInfo([{ u32: swToUiccStatus(await this.closeChannels((c) => c === channel)) }]);
      }
      case MS_UICC_CID.APDU: {
        const channel = r.u32();
        r.u32(); // secure messaging: passed on in the CLA as the host coded it
        r.u32(); // class byte type: interindustry or extended, both structured CLAs here
        const command = r.bytes('size-offset');
        if (command.length < 4) throw new MbimRefusal(MBIM_STATUS.INVALID_PARAMETERS, `APDU of ${command.length} bytes`);
        if (channel !== 0 && !this.channels.has(channel)) throw new MbimRefusal(MBIM_STATUS.MS_INVALID_LOGICAL_CHANNEL, `channel ${channel} is not open`);
        const capdu = this.personality.values.classByte === 'modem-constructed' ? Uint8Array.of(withChannel(command[0]!, channel), ...command.subarray(1)) : command;
        const rapdu = await this.exchange(channel, capdu);
        return buildInfo([{ u32: swToUiccStatus(responseSw(rapdu)) }, { bytes: responseData(rapdu), order: 'size-offset' }]);
      }
      case MS_UICC_CID.TERMINAL_CAPABILITY: {
        if (set) {
          this.terminalCapabilities = r.structs(r.u32()).map((s) => s);
          // TERMINAL CAPABILITY (ETSI TS 102 221 11.1.19) to the card, one TLV set
          const data = concatBytes(...this.terminalCapabilities);
          if (data.length && data.length <= 255) await this.transmit(0, concatBytes(Uint8Array.of(0x80, 0xaa, 0x00, 0x00, data.length), data));
        }
        return buildInfo([{ u32: this.terminalCapabilities.length }, { structs: this.terminalCapabilities }]);
      }
      case MS_UICC_CID.RESET:
        if (set) {
          this.passThrough = r.u32() === 1;
          this.channels.clear();
          this.atr = await this.card.reset();
        }
        return buildInfo([{ u32: this.passThrough ? 1 : 0 }]);
      default:
        throw new MbimRefusal(MBIM_STATUS.NO_DEVICE_SUPPORT, `MS UICC CID ${cid} is not provided`);
    }
  }
}
