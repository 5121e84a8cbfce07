// Terminal-side QMI client for a bridge back-end: QMUX over a byte stream (a Duplex: a
// `serialport` SerialPort on a tty/PTY, or CharDeviceStream from sim/wwan/fd-duplex.ts
// on /dev/cdc-wdmN, which is not a tty), CTL client-id allocation (libqmi
// data/qmi-service-ctl.json) and the UIM messages of data/qmi-service-uim.json:
//
//   const uim = await QmiUimClient.open(stream);
//   const { channel } = await uim.openLogicalChannel(ISD_R_AID);   // Open Logical Channel 0x0042
//   const rapdu = await uim.sendApdu(channel, capdu);               // Send APDU 0x003B
//   await uim.closeLogicalChannel(channel);                         // Logical Channel 0x003F
//   await uim.cardStatus(); await uim.slotStatus();                 // 0x002F, 0x0047 (ATR, EID)
//   await uim.powerOff(); await uim.powerOn();                      // 0x0030, 0x0031
//   await uim.close();                                              // Release CID
//
// A failed request rejects with QmiError carrying the QMI protocol error code (82
// AccessDenied...) and, for channel opens, the card's SW from TLV 0x11. Each QMUX frame
// goes to the stream in one write() (one USB control transfer on cdc-wdm).
// QmiApduTransport adapts a client to the ApduTransport contract (sim/apdu/apdu.ts).
import type { Duplex } from 'node:stream';
import { type ApduTransport } from '../apdu/apdu.ts';
import { channelOf } from '../apdu/channels.ts';
import { transmitWithT0Procedure } from '../apdu/t0.ts';
import { type CardStatus, CTL_MESSAGE, decodeCardStatus, decodeSlotStatus, PROCEDURE_BYTES, qmiErrorNick, type SlotStatus, UIM_MESSAGE, UIM_TLV } from './messages.ts';
import { encodeQmi, findTlv, isIndication, prefixed, QMI_SERVICE, type QmiMessage, QmiTlvError, type QmiTlv, QmuxFramer, readPrefixed, readResult, readU8, tlv, u8Tlv } from './qmux.ts';

/** The modem answered a request with a QMI error. */
export class QmiError extends Error {
  override readonly name = 'QmiError';
  constructor(
    readonly messageId: number,
    /** QMI protocol error (libqmi QmiProtocolError) */
    readonly code: number,
    /** SW1 SW2 of the card result TLV 0x11 when the modem sent one */
    readonly cardSw?: number,
  ) {
    super(`QMI message 0x${messageId.toString(16).padStart(4, '0')} failed: QMI protocol error (${code}): '${qmiErrorNick(code)}'${cardSw !== undefined ? `, card SW ${cardSw.toString(16).padStart(4, '0').toUpperCase()}` : ''}`);
  }
  get nick(): string {
    return qmiErrorNick(this.code);
  }
}

/** No answer in time, or the stream closed before the answer. */
export class QmiTransportError extends Error {
  override readonly name = 'QmiTransportError';
}

export interface QmiConnectionOptions {
  /** ms to wait for each response (default 10000) */
  timeoutMs?: number;
}

interface Waiter {
  resolve: (m: QmiMessage) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/** QMUX transactions over one stream: matches responses to requests by service, client and transaction id. */
export class QmiConnection {
  private readonly waiters = new Map<string, Waiter>();
  private readonly framer: QmuxFramer;
  private ctlTid = 0;
  private serviceTid = 0;
  private ended: Error | undefined;
  /** frames that answered nothing (late, unknown transaction) or were indications */
  readonly unmatched: QmiMessage[] = [];

  constructor(
    private readonly stream: Duplex,
    private readonly opts: QmiConnectionOptions = {},
  ) {
    this.framer = new QmuxFramer(
      (m) => this.dispatch(m),
      () => {
        // bytes outside a frame: nothing answers them; the waiting request times out if its answer was lost
      },
    );
    stream.on('data', (chunk: Buffer) => this.framer.push(Uint8Array.from(chunk)));
    const fail = (why: string) => this.failAll(new QmiTransportError(why));
    stream.on('error', (err: Error) => fail(`stream error: ${err.message}`));
    stream.on('close', () => fail('stream closed'));
    stream.on('end', () => fail('stream ended'));
  }

  private failAll(err: Error): void {
    this.ended ??= err;
    for (const [k, w] of this.waiters) {
      clearTimeout(w.timer);
      this.waiters.delete(k);
      w.reject(err);
    }
  }

  private dispatch(m: QmiMessage): void {
    const key = `${m.service}:${m.clientId}:${m.transactionId}`;
    const w = this.waiters.get(key);
    if (!w || isIndication(m)) {
      this.unmatched.push(m);
      return;
    }
    this.waiters.delete(key);
    clearTimeout(w.timer);
    w.resolve(m);
  }

  /** Send a request and resolve with its response; a result TLV with an error rejects with QmiError. */
  async request(service: number, clientId: number, messageId: number, tlvs: readonly QmiTlv[] = []): Promise<QmiMessage> {
    if (this.ended) throw this.ended;
    const ctl = service === QMI_SERVICE.CTL;
    const transactionId = ctl ? (this.ctlTid = (this.ctlTid % 0xff) + 1) : (this.serviceTid = (this.serviceTid % 0xffff) + 1);
    const frame = encodeQmi({ controlFlags: 0, service, clientId, messageFlags: 0, transactionId, messageId, tlvs });
    const key = `${service}:${clientId}:${transactionId}`;
    const timeoutMs = this.opts.timeoutMs ?? 10_000;
    const response = await new Promise<QmiMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(key);
        reject(new QmiTransportError(`no answer to QMI message 0x${messageId.toString(16).padStart(4, '0')} (service 0x${service.toString(16)}) within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.set(key, { resolve, reject, timer });
      this.stream.write(Buffer.from(frame), (err) => {
        if (!err) return;
        clearTimeout(timer);
        this.waiters.delete(key);
        reject(new QmiTransportError(`cannot write to the QMI device: ${err.message}`));
      });
    });
    const result = readResult(response);
    if (result.status !== 0) {
      const card = findTlv(response, UIM_TLV.CARD_RESULT);
      throw new QmiError(messageId, result.error, card && card.value.length === 2 ? (card.value[0]! << 8) | card.value[1]! : undefined);
    }
    return response;
  }

  /** CTL Allocate CID for a service. */
  async allocateClientId(service: number): Promise<number> {
    const r = await this.request(QMI_SERVICE.CTL, 0, CTL_MESSAGE.ALLOCATE_CID, [u8Tlv(0x01, service)]);
    const info = findTlv(r, 0x01);
    if (!info || info.value.length !== 2 || info.value[0] !== service) throw new QmiTlvError('Allocate CID response has no allocation info for the service', 1);
    return info.value[1]!;
  }

  async releaseClientId(service: number, clientId: number): Promise<void> {
    await this.request(QMI_SERVICE.CTL, 0, CTL_MESSAGE.RELEASE_CID, [tlv(0x01, [service, clientId])]);
  }

  /** CTL Get Version Info: service -> [major, minor]. */
  async versionInfo(): Promise<Map<number, [number, number]>> {
    const r = await this.request(QMI_SERVICE.CTL, 0, CTL_MESSAGE.GET_VERSION_INFO);
    const v = findTlv(r, 0x01)?.value;
    const out = new Map<number, [number, number]>();
    if (!v) return out;
    for (let i = 0, at = 1; i < v[0]!; i++, at += 5) out.set(v[at]!, [v[at + 1]! | (v[at + 2]! << 8), v[at + 3]! | (v[at + 4]! << 8)]);
    return out;
  }
}

export interface OpenedChannel {
  channel: number;
  /** SW of the SELECT, from the card result TLV */
  sw: number;
  /** SELECT response (FCI) the modem returned, at most 255 bytes */
  selectResponse: Uint8Array;
}

export interface QmiUimClientOptions extends QmiConnectionOptions {
  /** QMI UIM slot (1-based, default 1) */
  slot?: number;
}

export class QmiUimClient {
  private released = false;

  private constructor(
    readonly connection: QmiConnection,
    readonly clientId: number,
    readonly slot: number,
  ) {}

  /** Allocate a UIM client id on the device behind `stream`. */
  static async open(stream: Duplex, opts: QmiUimClientOptions = {}): Promise<QmiUimClient> {
    const connection = new QmiConnection(stream, opts);
    return new QmiUimClient(connection, await connection.allocateClientId(QMI_SERVICE.UIM), opts.slot ?? 1);
  }

  private uim(messageId: number, tlvs: readonly QmiTlv[] = []): Promise<QmiMessage> {
    return this.connection.request(QMI_SERVICE.UIM, this.clientId, messageId, tlvs);
  }

  private slotTlv(): QmiTlv {
    return u8Tlv(UIM_TLV.SLOT, this.slot);
  }

  async cardStatus(): Promise<CardStatus> {
    const r = await this.uim(UIM_MESSAGE.GET_CARD_STATUS);
    const t = findTlv(r, UIM_TLV.CARD_STATUS);
    if (!t) throw new QmiTlvError('Get Card Status response has no card status TLV 0x10', 1);
    return decodeCardStatus(t.value);
  }

  async slotStatus(): Promise<SlotStatus[]> {
    return decodeSlotStatus((await this.uim(UIM_MESSAGE.GET_SLOT_STATUS)).tlvs);
  }

  /** Open Logical Channel 0x0042: the modem opens a channel and SELECTs `aid` on it. fci: TLV 0x11 (0 no data .. 4 FMD). */
  async openLogicalChannel(aid: Uint8Array, opts: { fci?: number } = {}): Promise<OpenedChannel> {
    const tlvs = [this.slotTlv(), tlv(UIM_TLV.OPEN_AID, prefixed(aid))];
    if (opts.fci !== undefined) tlvs.push(u8Tlv(UIM_TLV.OPEN_FCI, opts.fci));
    const r = await this.uim(UIM_MESSAGE.OPEN_LOGICAL_CHANNEL, tlvs);
    const ch = findTlv(r, UIM_TLV.CHANNEL_ID_OUT);
    if (!ch) throw new QmiTlvError('Open Logical Channel response has no channel id TLV 0x10', 1);
    const card = findTlv(r, UIM_TLV.CARD_RESULT);
    const select = findTlv(r, UIM_TLV.SELECT_RESPONSE);
    return { channel: readU8(ch, 'channel id'), sw: card && card.value.length === 2 ? (card.value[0]! << 8) | card.value[1]! : 0x9000, selectResponse: select ? readPrefixed(select, 'u8', 'select response') : new Uint8Array(0) };
  }

  /**
   * Send APDU 0x003B on `channel` (0: basic channel). procedureBytes: TLV 0x11, 'return'
   * (61xx comes back to the caller) or 'skip' (the modem fetches the rest); omitted: the
   * modem's default. The R-APDU comes back with its SW.
   */
  async sendApdu(channel: number, capdu: Uint8Array, opts: { procedureBytes?: 'return' | 'skip' } = {}): Promise<Uint8Array> {
    const tlvs = [this.slotTlv(), tlv(UIM_TLV.APDU, prefixed(capdu, 'u16'))];
    if (channel !== 0) tlvs.push(u8Tlv(UIM_TLV.SEND_APDU_CHANNEL, channel));
    if (opts.procedureBytes) tlvs.push(u8Tlv(UIM_TLV.SEND_APDU_PROCEDURE_BYTES, opts.procedureBytes === 'skip' ? PROCEDURE_BYTES.SKIP : PROCEDURE_BYTES.RETURN));
    const r = await this.uim(UIM_MESSAGE.SEND_APDU, tlvs);
    const t = findTlv(r, UIM_TLV.SEND_APDU_RESPONSE);
    if (!t) throw new QmiTlvError('Send APDU response has no APDU response TLV 0x10', 1);
    return readPrefixed(t, 'u16', 'APDU response');
  }

  /** Logical Channel 0x003F with the channel id: close it. */
  async closeLogicalChannel(channel: number): Promise<void> {
    await this.uim(UIM_MESSAGE.LOGICAL_CHANNEL, [this.slotTlv(), u8Tlv(UIM_TLV.LOGICAL_CHANNEL_ID, channel)]);
  }

  async powerOff(): Promise<void> {
    await this.uim(UIM_MESSAGE.POWER_OFF_SIM, [u8Tlv(UIM_TLV.SLOT, this.slot)]);
  }

  async powerOn(): Promise<void> {
    await this.uim(UIM_MESSAGE.POWER_ON_SIM, [u8Tlv(UIM_TLV.SLOT, this.slot)]);
  }

  /** Release the client id (the modem closes the channels this client still holds). */
  async close(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.connection.releaseClientId(QMI_SERVICE.UIM, this.clientId);
  }
}

export interface QmiApduTransportOptions {
  /** who runs the T=0 procedure on 61xx/6Cxx: the modem (TLV 0x11 skip) or this adapter (default 'adapter') */
  getResponse?: 'modem' | 'adapter';
}

/**
 * ApduTransport over a QMI UIM client: transmit() sends on the logical channel the CLA
 * codes (0 = basic channel); channels are opened with client.openLogicalChannel, so a
 * bridge maps an LPA's MANAGE CHANNEL + SELECT onto that call. reset() powers the SIM off
 * and on and resolves with the ATR from Get Slot Status.
 */
export class QmiApduTransport implements ApduTransport {
  constructor(
    readonly client: QmiUimClient,
    private readonly opts: QmiApduTransportOptions = {},
  ) {}

  transmit(capdu: Uint8Array): Promise<Uint8Array> {
    const channel = channelOf(capdu[0] ?? 0);
    if (this.opts.getResponse === 'modem') return this.client.sendApdu(channel, capdu, { procedureBytes: 'skip' });
    return transmitWithT0Procedure((c) => this.client.sendApdu(channel, c, { procedureBytes: 'return' }), capdu);
  }

  async reset(): Promise<Uint8Array> {
    await this.client.powerOff();
    await this.client.powerOn();
    const [slot] = await this.client.slotStatus();
    return slot?.atr ?? new Uint8Array(0);
  }

  close(): Promise<void> {
    return this.client.close();
  }
}
