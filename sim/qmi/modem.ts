// The fake QMI modem: the CTL service (client ids: Allocate CID 0x0022, Release CID
// 0x0023, Get Version Info 0x0021, Sync 0x0027, Set Instance ID 0x0020) and the UIM
// service messages a bridge uses (libqmi data/qmi-service-uim.json): Get Card Status
// 0x002F, Get Slot Status 0x0047 (ATR, eUICC flag, EID read from the ISD-R with ES10c
// GetEID, SGP.22 5.7.20), Open Logical Channel 0x0042 / Logical Channel 0x003F (MANAGE
// CHANNEL then SELECT by AID on the new channel, ETSI TS 102 221 11.1.17 / 11.1.1; close
// with MANAGE CHANNEL close), Send APDU 0x003B (on the basic channel or an opened one,
// procedure bytes per TLV 0x11 and the personality), Power Off SIM 0x0030 / Power On SIM
// 0x0031, Reset 0x0000 and Get Supported Messages 0x001E. Logical channels belong to the
// client that opened them and close when it releases its client id. Requests are served
// one at a time, in order, like a modem's UIM task. Backed by any ApduTransport (the
// software eUICC); the byte stream comes from any endpoint (a PTY: sim/wwan).
import { type ApduTransport, responseData, responseSw } from '../apdu/apdu.ts';
import { ISD_R_AID_HEX } from '../apdu/aids.ts';
import { withChannel } from '../apdu/channels.ts';
import { transmitWithT0Procedure } from '../apdu/t0.ts';
import { concatBytes, hexToBytes } from '../bytes.ts';
import {
  APPLICATION_STATE,
  CARD_ERROR,
  CARD_PROTOCOL,
  CARD_STATE,
  CTL_MESSAGE,
  encodeCardStatus,
  encodeSlotStatus,
  encodeSupportedMessages,
  NO_SESSION,
  PHYSICAL_CARD_STATE,
  PIN_STATE,
  PROCEDURE_BYTES,
  QMI_ERROR,
  qmiErrorCode,
  SLOT_STATE,
  UIM_MESSAGE,
  UIM_TLV,
} from './messages.ts';
import { loadQmiPersonality, type QmiPersonality } from './personality.ts';
import {
  encodeQmi,
  findTlv,
  prefixed,
  QMI_SERVICE,
  type QmiMessage,
  QmiTlvError,
  type QmiTlv,
  QmuxFramer,
  type QmuxFormatError,
  readPrefixed,
  readU8,
  requireTlv,
  responseTo,
  tlv,
  u16Bytes,
  u8Tlv,
} from './qmux.ts';

export type QmiTraceEvent =
  | { kind: 'in'; message: QmiMessage }
  | { kind: 'out'; message: QmiMessage }
  | { kind: 'apdu'; channel: number; capdu: Uint8Array; rapdu: Uint8Array }
  | { kind: 'framing'; error: string; bytes: number };

export interface QmiModemOptions {
  personality: QmiPersonality | string;
  card: ApduTransport;
  onTrace?: (event: QmiTraceEvent) => void;
}

/** What a test or a suite can see of the modem's state. */
export interface QmiModemState {
  powered: boolean;
  /** allocated client ids per service */
  clients: { service: number; clientId: number }[];
  /** open logical channels and the client that holds each */
  channels: { channel: number; clientId: number; aid: string }[];
  /** frames or bytes the framer could not use */
  framingErrors: number;
}

/** The single slot of this modem (QMI UIM slots are numbered from 1). */
const SLOT = 1;
const SUPPORTED_SERVICES: readonly number[] = [QMI_SERVICE.UIM];
const INVALID_SERVICE_TYPE = 31;
/** no public capture says what a powered-off UIM answers; DeviceNotReady is the closest libqmi error */
const POWERED_OFF_ERROR = QMI_ERROR.DEVICE_NOT_READY;
/** FCI TLV (QmiUimFileControlInformation) -> P2 of the SELECT the modem sends (ETSI TS 102 221 11.1.1.2) */
const SELECT_P2_BY_FCI: Readonly<Record<number, number>> = { 0: 0x0c, 1: 0x04, 2: 0x00, 3: 0x00, 4: 0x08 };
const GET_EID = hexToBytes('80E2910006BF3E035C015A00');

/** A request the modem refuses: the QMI protocol error and TLVs of its response (card result...). */
class QmiRefusal extends Error {
  constructor(
    readonly qmiError: number,
    message: string,
    readonly tlvs: readonly QmiTlv[] = [],
  ) {
    super(message);
  }
}

export class QmiModem {
  readonly personality: QmiPersonality;
  private readonly card: ApduTransport;
  private readonly trace: (e: QmiTraceEvent) => void;
  private readonly framer: QmuxFramer;
  private sink: ((bytes: Uint8Array) => void) | undefined;
  private queue: Promise<void> = Promise.resolve();
  private readonly clients = new Map<string, { service: number; clientId: number }>();
  private readonly channels = new Map<number, { clientId: number; aid: string }>();
  private powered = true;
  private atr: Uint8Array | undefined;
  private eid: Uint8Array | undefined;
  private framingErrors = 0;
  private closed = false;

  constructor(opts: QmiModemOptions) {
    this.personality = typeof opts.personality === 'string' ? loadQmiPersonality(opts.personality) : opts.personality;
    this.card = opts.card;
    this.trace = opts.onTrace ?? (() => {});
    this.framer = new QmuxFramer(
      (m) => this.enqueue(m),
      (err: QmuxFormatError, raw) => {
        this.framingErrors++;
        this.trace({ kind: 'framing', error: err.message, bytes: raw.length });
      },
    );
  }

  /** Where the modem's bytes go (the endpoint's write). */
  attach(sink: (bytes: Uint8Array) => void): void {
    this.sink = sink;
  }

  /** Bytes from the host, in any split. */
  receive(bytes: Uint8Array): void {
    if (!this.closed) this.framer.push(bytes);
  }

  /** Resolves when every request received so far has been answered. */
  idle(): Promise<void> {
    return this.queue;
  }

  state(): QmiModemState {
    return {
      powered: this.powered,
      clients: [...this.clients.values()].map((c) => ({ ...c })),
      channels: [...this.channels].map(([channel, c]) => ({ channel, ...c })),
      framingErrors: this.framingErrors,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
  }

  private enqueue(request: QmiMessage): void {
    this.trace({ kind: 'in', message: request });
    this.queue = this.queue.then(() => this.serve(request));
  }

  private async serve(request: QmiMessage): Promise<void> {
    let response: QmiMessage;
    try {
      const tlvs = request.service === QMI_SERVICE.CTL ? this.control(request) : await this.service(request);
      response = responseTo(request, QMI_ERROR.NONE, tlvs);
    } catch (err) {
      if (err instanceof QmiRefusal) response = responseTo(request, err.qmiError, err.tlvs);
      else if (err instanceof QmiTlvError) response = responseTo(request, err.qmiError);
      else response = responseTo(request, QMI_ERROR.INTERNAL);
      if (!(err instanceof QmiRefusal) && !(err instanceof QmiTlvError)) this.trace({ kind: 'framing', error: `internal error serving message 0x${request.messageId.toString(16)}: ${(err as Error).message}`, bytes: 0 });
    }
    if (this.closed) return;
    this.trace({ kind: 'out', message: response });
    this.sink?.(encodeQmi(response));
  }

  // ---- CTL -------------------------------------------------------------------------------

  private control(request: QmiMessage): QmiTlv[] {
    switch (request.messageId) {
      case CTL_MESSAGE.ALLOCATE_CID: {
        const service = readU8(requireTlv(request, 0x01, 'service'), 'service');
        if (!SUPPORTED_SERVICES.includes(service)) throw new QmiRefusal(INVALID_SERVICE_TYPE, `service 0x${service.toString(16)} is not provided by this modem`);
        let cid = 1;
        while (this.clients.has(`${service}:${cid}`)) cid++;
        if (cid > 0xfe) throw new QmiRefusal(QMI_ERROR.CLIENT_IDS_EXHAUSTED, 'no client id left');
        this.clients.set(`${service}:${cid}`, { service, clientId: cid });
        return [tlv(0x01, [service, cid])];
      }
      case CTL_MESSAGE.RELEASE_CID: {
        const t = requireTlv(request, 0x01, 'release info');
        if (t.value.length !== 2) throw new QmiTlvError('release info TLV must be 2 bytes (service, cid)', QMI_ERROR.MALFORMED_MESSAGE);
        const [service, cid] = [t.value[0]!, t.value[1]!];
        if (!this.clients.delete(`${service}:${cid}`)) throw new QmiRefusal(QMI_ERROR.INVALID_CLIENT_ID, `client ${cid} of service 0x${service.toString(16)} is not allocated`);
        if (service === QMI_SERVICE.UIM) this.dropChannelsOf(cid);
        return [tlv(0x01, [service, cid])];
      }
      case CTL_MESSAGE.GET_VERSION_INFO: {
        const { ctl, uim } = this.personality.values.serviceVersions;
        return [tlv(0x01, [2, QMI_SERVICE.CTL, ...u16Bytes(ctl[0]), ...u16Bytes(ctl[1]), QMI_SERVICE.UIM, ...u16Bytes(uim[0]), ...u16Bytes(uim[1])])];
      }
      case CTL_MESSAGE.SYNC:
        // CTL Sync: the modem forgets every client id (and so their channels)
        for (const c of this.clients.values()) if (c.service === QMI_SERVICE.UIM) this.dropChannelsOf(c.clientId);
        this.clients.clear();
        return [];
      case CTL_MESSAGE.SET_INSTANCE_ID:
        readU8(requireTlv(request, 0x01, 'instance id'), 'instance id');
        return [tlv(0x01, u16Bytes(0))];
      default:
        throw new QmiRefusal(QMI_ERROR.INVALID_QMI_COMMAND, `CTL message 0x${request.messageId.toString(16)} is not supported`);
    }
  }

  /** Channels held by a released client are closed on the card too. */
  private dropChannelsOf(clientId: number): void {
    for (const [channel, c] of [...this.channels]) {
      if (c.clientId !== clientId) continue;
      this.channels.delete(channel);
      this.queue = this.queue.then(() => this.closeOnCard(channel).then(() => undefined));
    }
  }

  // ---- UIM -------------------------------------------------------------------------------

  private async service(request: QmiMessage): Promise<QmiTlv[]> {
    if (!this.clients.has(`${request.service}:${request.clientId}`)) throw new QmiRefusal(QMI_ERROR.INVALID_CLIENT_ID, `client ${request.clientId} of service 0x${request.service.toString(16)} is not allocated`);
    switch (request.messageId) {
      case UIM_MESSAGE.GET_CARD_STATUS:
        return [await this.cardStatus()];
      case UIM_MESSAGE.GET_SLOT_STATUS:
        return encodeSlotStatus([await this.slotStatus()]);
      case UIM_MESSAGE.OPEN_LOGICAL_CHANNEL:
        this.requireSlot(request);
        return this.openChannel(request.clientId, readPrefixed(requireTlv(request, UIM_TLV.OPEN_AID, 'AID'), 'u8', 'AID'), findTlv(request, UIM_TLV.OPEN_FCI));
      case UIM_MESSAGE.LOGICAL_CHANNEL: {
        this.requireSlot(request);
        const aid = findTlv(request, UIM_TLV.LOGICAL_AID);
        if (aid) return this.openChannel(request.clientId, readPrefixed(aid, 'u8', 'AID'), findTlv(request, UIM_TLV.LOGICAL_FCI));
        const channel = readU8(requireTlv(request, UIM_TLV.LOGICAL_CHANNEL_ID, 'channel id'), 'channel id');
        await this.closeChannel(request.clientId, channel);
        return [];
      }
      case UIM_MESSAGE.SEND_APDU:
        this.requireSlot(request);
        return this.sendApdu(request);
      case UIM_MESSAGE.POWER_OFF_SIM:
        this.requireSlot(request);
        this.powered = false;
        this.channels.clear();
        this.eid = undefined;
        return [];
      case UIM_MESSAGE.POWER_ON_SIM:
        this.requireSlot(request);
        if (!this.powered) {
          this.atr = await this.card.reset();
          this.powered = true;
        }
        return [];
      case UIM_MESSAGE.RESET:
        return [];
      case UIM_MESSAGE.GET_SUPPORTED_MESSAGES:
        return [encodeSupportedMessages(Object.values(UIM_MESSAGE))];
      default:
        throw new QmiRefusal(QMI_ERROR.INVALID_QMI_COMMAND, `UIM message 0x${request.messageId.toString(16)} is not supported`);
    }
  }

  private requireSlot(request: QmiMessage): void {
    const slot = readU8(requireTlv(request, UIM_TLV.SLOT, 'slot'), 'slot');
    if (slot !== SLOT) throw new QmiRefusal(QMI_ERROR.INVALID_ARGUMENT, `slot ${slot} does not exist (this modem has slot ${SLOT})`);
  }

  private requirePowered(): void {
    if (!this.powered) throw new QmiRefusal(POWERED_OFF_ERROR, 'the SIM is powered off');
  }

  private async transmit(channel: number, capdu: Uint8Array): Promise<Uint8Array> {
    const rapdu = await this.card.transmit(capdu);
    this.trace({ kind: 'apdu', channel, capdu, rapdu });
    return rapdu;
  }

  private async currentAtr(): Promise<Uint8Array> {
    this.atr ??= await this.card.reset();
    return this.atr;
  }

  private async cardStatus(): Promise<QmiTlv> {
    if (!this.powered) return encodeCardStatus({ gwPrimary: NO_SESSION, cards: [{ state: CARD_STATE.ERROR, upinState: PIN_STATE.NOT_INITIALIZED, error: CARD_ERROR.POWER_DOWN, applications: [] }] });
    await this.currentAtr();
    const isdr = { type: 0, state: APPLICATION_STATE.DETECTED, aid: hexToBytes(ISD_R_AID_HEX) };
    return encodeCardStatus({ gwPrimary: NO_SESSION, cards: [{ state: CARD_STATE.PRESENT, upinState: PIN_STATE.NOT_INITIALIZED, error: CARD_ERROR.UNKNOWN, applications: (await this.readEid()) ? [isdr] : [] }] });
  }

  private async slotStatus() {
    const powered = this.powered;
    const atr = powered ? await this.currentAtr() : new Uint8Array(0);
    const eid = powered ? await this.readEid() : undefined;
    return {
      physicalCardState: PHYSICAL_CARD_STATE.PRESENT,
      slotState: SLOT_STATE.ACTIVE,
      logicalSlot: SLOT,
      iccid: new Uint8Array(0),
      protocol: powered ? CARD_PROTOCOL.UICC : CARD_PROTOCOL.UNKNOWN,
      atr,
      isEuicc: eid !== undefined,
      eid: eid ?? new Uint8Array(0),
    };
  }

  /** The EID, read once per power-on over a channel of the modem's own (SGP.22 5.7.20 GetEID); undefined for a card without ISD-R. */
  private async readEid(): Promise<Uint8Array | undefined> {
    if (this.eid) return this.eid;
    const opened = await this.openOnCard(hexToBytes(ISD_R_AID_HEX), 0x0c);
    if (!opened.ok) return undefined;
    try {
      const r = await transmitWithT0Procedure((c) => this.transmit(opened.channel, c), Uint8Array.of(withChannel(GET_EID[0]!, opened.channel), ...GET_EID.subarray(1)));
      const data = responseData(r);
      // BF3E len 5A 10 <16 bytes>
      const at = data.indexOf(0x5a);
      if (responseSw(r) !== 0x9000 || at < 0 || data[at + 1] !== 0x10) return undefined;
      this.eid = data.slice(at + 2, at + 18);
      return this.eid;
    } finally {
      await this.closeOnCard(opened.channel);
    }
  }

  private async openOnCard(aid: Uint8Array, selectP2: number): Promise<{ ok: true; channel: number; select: Uint8Array } | { ok: false; sw: number }> {
    const manage = await this.transmit(0, Uint8Array.of(0x00, 0x70, 0x00, 0x00, 0x01));
    if (responseSw(manage) !== 0x9000 || responseData(manage).length !== 1) return { ok: false, sw: responseSw(manage) };
    const channel = responseData(manage)[0]!;
    const select = concatBytes(Uint8Array.of(withChannel(0x00, channel), 0xa4, 0x04, selectP2, aid.length), aid, selectP2 === 0x0c ? new Uint8Array(0) : Uint8Array.of(0x00));
    const r = await transmitWithT0Procedure((c) => this.transmit(channel, c), select);
    const sw = responseSw(r);
    if (sw !== 0x9000 && sw >> 8 !== 0x91 && sw >> 8 !== 0x62 && sw >> 8 !== 0x63) {
      await this.closeOnCard(channel);
      return { ok: false, sw };
    }
    return { ok: true, channel, select: r };
  }

  private async closeOnCard(channel: number): Promise<number> {
    return responseSw(await this.transmit(0, Uint8Array.of(0x00, 0x70, 0x80, channel)));
  }

  private async openChannel(clientId: number, aid: Uint8Array, fci: QmiTlv | undefined): Promise<QmiTlv[]> {
    const v = this.personality.values;
    if (v.openLogicalChannelError !== null) throw new QmiRefusal(qmiErrorCode(v.openLogicalChannelError), `Open Logical Channel refused (personality ${this.personality.id})`);
    this.requirePowered();
    if (aid.length === 0 || aid.length > 16) throw new QmiRefusal(QMI_ERROR.INVALID_ARGUMENT, `AID of ${aid.length} bytes (ISO/IEC 7816-4: 1..16)`);
    if (v.maxLogicalChannels !== null && this.channels.size >= v.maxLogicalChannels) throw new QmiRefusal(qmiErrorCode(v.channelLimitError!), `${this.channels.size} logical channels already open (modem limit ${v.maxLogicalChannels})`);
    const fciValue = fci ? readU8(fci, 'file control information') : 2;
    const p2 = SELECT_P2_BY_FCI[fciValue];
    if (p2 === undefined) throw new QmiRefusal(QMI_ERROR.INVALID_ARGUMENT, `file control information ${fciValue} is not 0..4`);
    const opened = await this.openOnCard(aid, p2);
    if (!opened.ok) throw new QmiRefusal(qmiErrorCode(v.cardRefusedOpenError), `the card refused the open (SW ${opened.sw.toString(16)})`, [tlv(UIM_TLV.CARD_RESULT, [opened.sw >> 8, opened.sw & 0xff])]);
    this.channels.set(opened.channel, { clientId, aid: Buffer.from(aid).toString('hex').toUpperCase() });
    const sw = responseSw(opened.select);
    // the select response TLV has a u8 length: a longer FCI is cut, as the TLV format forces
    return [u8Tlv(UIM_TLV.CHANNEL_ID_OUT, opened.channel), tlv(UIM_TLV.CARD_RESULT, [sw >> 8, sw & 0xff]), tlv(UIM_TLV.SELECT_RESPONSE, prefixed(responseData(opened.select).slice(0, 255)))];
  }

  private ownedChannel(clientId: number, channel: number): void {
    const c = this.channels.get(channel);
    // no public capture of the answer to a foreign or closed channel; InvalidArgument is the QMI error for a bad parameter
    if (!c || c.clientId !== clientId) throw new QmiRefusal(QMI_ERROR.INVALID_ARGUMENT, `channel ${channel} is not open for client ${clientId}`);
  }

  private async closeChannel(clientId: number, channel: number): Promise<void> {
    this.requirePowered();
    this.ownedChannel(clientId, channel);
    this.channels.delete(channel);
    const sw = await this.closeOnCard(channel);
    if (sw !== 0x9000) throw new QmiRefusal(qmiErrorCode(this.personality.values.cardRefusedOpenError), `MANAGE CHANNEL close answered ${sw.toString(16)}`, [tlv(UIM_TLV.CARD_RESULT, [sw >> 8, sw & 0xff])]);
  }

  private async sendApdu(request: QmiMessage): Promise<QmiTlv[]> {
    this.requirePowered();
    const capdu = readPrefixed(requireTlv(request, UIM_TLV.APDU, 'APDU'), 'u16', 'APDU');
    if (capdu.length < 4) throw new QmiRefusal(QMI_ERROR.INVALID_ARGUMENT, `APDU of ${capdu.length} bytes is shorter than a header (ISO/IEC 7816-3 12.1)`);
    const channelTlv = findTlv(request, UIM_TLV.SEND_APDU_CHANNEL);
    const channel = channelTlv ? readU8(channelTlv, 'channel id') : 0;
    if (channel !== 0) this.ownedChannel(request.clientId, channel);
    const v = this.personality.values;
    const asked = findTlv(request, UIM_TLV.SEND_APDU_PROCEDURE_BYTES);
    let skip = v.getResponseDefault === 'skip';
    if (asked && v.procedureBytesTlv === 'honoured') {
      const pb = readU8(asked, 'procedure bytes');
      if (pb !== PROCEDURE_BYTES.RETURN && pb !== PROCEDURE_BYTES.SKIP) throw new QmiRefusal(QMI_ERROR.INVALID_ARGUMENT, `procedure bytes ${pb} is not 0 (return) or 1 (skip)`);
      skip = pb === PROCEDURE_BYTES.SKIP;
    }
    const rapdu = skip ? await transmitWithT0Procedure((c) => this.transmit(channel, c), capdu) : await this.transmit(channel, capdu);
    return [tlv(UIM_TLV.SEND_APDU_RESPONSE, prefixed(rapdu, 'u16'))];
  }
}
