// QMI CTL and UIM messages a bridge needs, with their TLVs, as libqmi defines them in
// data/qmi-service-ctl.json and data/qmi-service-uim.json (Open Logical Channel 0x0042,
// Send APDU 0x003B and Logical Channel 0x003F since libqmi 1.36; the others since
// 1.x as noted there), the QMI protocol error codes of libqmi's qmi-errors.h, and the
// UIM card status / slot status structures both the fake modem and the client encode
// and decode (one definition for both ends).
import { concatBytes } from '../bytes.ts';
import { prefixed, QmiTlvError, type QmiTlv, tlv, u16Bytes, u32Bytes } from './qmux.ts';

export const CTL_MESSAGE = {
  SET_INSTANCE_ID: 0x0020,
  GET_VERSION_INFO: 0x0021,
  ALLOCATE_CID: 0x0022,
  RELEASE_CID: 0x0023,
  SYNC: 0x0027,
} as const;

export const UIM_MESSAGE = {
  RESET: 0x0000,
  GET_SUPPORTED_MESSAGES: 0x001e,
  GET_CARD_STATUS: 0x002f,
  POWER_OFF_SIM: 0x0030,
  POWER_ON_SIM: 0x0031,
  SEND_APDU: 0x003b,
  LOGICAL_CHANNEL: 0x003f,
  OPEN_LOGICAL_CHANNEL: 0x0042,
  GET_SLOT_STATUS: 0x0047,
} as const;

export const UIM_MESSAGE_NAME: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(UIM_MESSAGE).map(([k, v]) => [v, k.toLowerCase().replace(/_/g, '-')]),
);

/** TLV types of the UIM messages above (input and output). */
export const UIM_TLV = {
  /** Send APDU / Open Logical Channel / Logical Channel / Power: slot u8 (1-based) */
  SLOT: 0x01,
  /** Send APDU input: APDU, u16 size prefix */
  APDU: 0x02,
  /** Send APDU input: channel id u8 */
  SEND_APDU_CHANNEL: 0x10,
  /** Send APDU input: procedure bytes u8 (0 return intermediate 61xx, 1 skip: final result only) */
  SEND_APDU_PROCEDURE_BYTES: 0x11,
  /** Send APDU output: APDU response, u16 size prefix */
  SEND_APDU_RESPONSE: 0x10,
  /** Open Logical Channel input: AID, u8 size prefix */
  OPEN_AID: 0x10,
  /** Open Logical Channel input: file control information u8 */
  OPEN_FCI: 0x11,
  /** Logical Channel input: AID (open), channel id (close), FCI, terminate application */
  LOGICAL_AID: 0x10,
  LOGICAL_CHANNEL_ID: 0x11,
  LOGICAL_FCI: 0x12,
  LOGICAL_TERMINATE: 0x13,
  /** Open/Logical Channel output: channel id u8, card result SW1 SW2, select response (u8 prefix) */
  CHANNEL_ID_OUT: 0x10,
  CARD_RESULT: 0x11,
  SELECT_RESPONSE: 0x12,
  /** Get Card Status output */
  CARD_STATUS: 0x10,
  /** Get Slot Status output */
  PHYSICAL_SLOT_STATUS: 0x10,
  PHYSICAL_SLOT_INFORMATION: 0x11,
  SLOT_EID: 0x12,
  /** Get Supported Messages output: bit list, u16 size prefix */
  SUPPORTED_LIST: 0x10,
} as const;

export const PROCEDURE_BYTES = { RETURN: 0, SKIP: 1 } as const;

/** QMI protocol errors (libqmi qmi-errors.h QmiProtocolError), the subset this fake modem answers. */
export const QMI_ERROR = {
  NONE: 0,
  MALFORMED_MESSAGE: 1,
  NO_MEMORY: 2,
  INTERNAL: 3,
  CLIENT_IDS_EXHAUSTED: 5,
  INVALID_CLIENT_ID: 7,
  MISSING_ARGUMENT: 17,
  ARGUMENT_TOO_LONG: 19,
  DEVICE_NOT_READY: 52,
  INVALID_ARGUMENT: 48,
  INSUFFICIENT_RESOURCES: 68,
  INVALID_QMI_COMMAND: 71,
  SIM_FILE_NOT_FOUND: 80,
  ACCESS_DENIED: 82,
  HARDWARE_RESTRICTED: 83,
  INCOMPATIBLE_STATE: 90,
  NOT_SUPPORTED: 94,
  NO_SIM: 102,
} as const;

export type QmiErrorName = keyof typeof QMI_ERROR;

/** libqmi's nick for an error code (what qmicli prints), e.g. 82 -> 'AccessDenied'. */
export function qmiErrorNick(code: number): string {
  const name = (Object.keys(QMI_ERROR) as QmiErrorName[]).find((k) => QMI_ERROR[k] === code);
  if (!name) return `error ${code}`;
  return name
    .toLowerCase()
    .split('_')
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join('');
}

export function qmiErrorCode(nick: string): number {
  const name = (Object.keys(QMI_ERROR) as QmiErrorName[]).find((k) => qmiErrorNick(QMI_ERROR[k]) === nick);
  if (name === undefined) throw new RangeError(`unknown QMI error '${nick}' (known: ${Object.keys(QMI_ERROR).map((k) => qmiErrorNick(QMI_ERROR[k as QmiErrorName])).join(', ')})`);
  return QMI_ERROR[name];
}

// ---- UIM enums (libqmi qmi-enums-uim.h) --------------------------------------------------

export const CARD_STATE = { ABSENT: 0, PRESENT: 1, ERROR: 2 } as const;
export const PIN_STATE = { NOT_INITIALIZED: 0, ENABLED_NOT_VERIFIED: 1, ENABLED_VERIFIED: 2, DISABLED: 3, BLOCKED: 4, PERMANENTLY_BLOCKED: 5 } as const;
export const CARD_ERROR = { UNKNOWN: 0, POWER_DOWN: 1, NO_ATR_RECEIVED: 3 } as const;
export const APPLICATION_TYPE = { UNKNOWN: 0, SIM: 1, USIM: 2, RUIM: 3, CSIM: 4, ISIM: 5 } as const;
export const APPLICATION_STATE = { UNKNOWN: 0, DETECTED: 1, READY: 7 } as const;
export const PERSONALIZATION_STATE = { UNKNOWN: 0, READY: 2 } as const;
export const PHYSICAL_CARD_STATE = { UNKNOWN: 0, ABSENT: 1, PRESENT: 2 } as const;
export const SLOT_STATE = { INACTIVE: 0, ACTIVE: 1 } as const;
export const CARD_PROTOCOL = { UNKNOWN: 0, ICC: 1, UICC: 2 } as const;

export interface CardApplication {
  type: number;
  state: number;
  aid: Uint8Array;
}

export interface CardStatus {
  /** index of the primary GW application: slot (high byte) and application (low byte); 0xFFFF none */
  gwPrimary: number;
  cards: { state: number; upinState: number; error: number; applications: CardApplication[] }[];
}

export const NO_SESSION = 0xffff;

/** Get Card Status TLV 0x10 (libqmi common-ref "UIM Card Status"). */
export function encodeCardStatus(s: CardStatus): QmiTlv {
  const cards = s.cards.map((c) => {
    const apps = c.applications.map((a) =>
      concatBytes(
        // type, state, personalization state/feature/retries/unblock retries
        Uint8Array.of(a.type, a.state, PERSONALIZATION_STATE.READY, 0, 0, 0),
        prefixed(a.aid),
        // UPIN replaces PIN1, PIN1 state/retries/PUK retries, PIN2 state/retries/PUK retries
        Uint8Array.of(0, PIN_STATE.DISABLED, 3, 10, PIN_STATE.ENABLED_NOT_VERIFIED, 3, 10),
      ),
    );
    return concatBytes(Uint8Array.of(c.state, c.upinState, 0, 0, c.error, apps.length), ...apps);
  });
  return tlv(UIM_TLV.CARD_STATUS, concatBytes(Uint8Array.from([...u16Bytes(s.gwPrimary), ...u16Bytes(NO_SESSION), ...u16Bytes(NO_SESSION), ...u16Bytes(NO_SESSION), cards.length]), ...cards));
}

class Reader {
  at = 0;
  constructor(
    private readonly b: Uint8Array,
    private readonly what: string,
  ) {}
  u8(): number {
    if (this.at >= this.b.length) throw new QmiTlvError(`${this.what} ends early at byte ${this.at}`, 1);
    return this.b[this.at++]!;
  }
  u16(): number {
    return this.u8() | (this.u8() << 8);
  }
  u32(): number {
    return (this.u16() | (this.u16() << 16)) >>> 0;
  }
  bytes(n: number): Uint8Array {
    if (this.at + n > this.b.length) throw new QmiTlvError(`${this.what} ends early: ${n} bytes wanted at ${this.at}`, 1);
    const out = this.b.slice(this.at, this.at + n);
    this.at += n;
    return out;
  }
  end(): void {
    if (this.at !== this.b.length) throw new QmiTlvError(`${this.what} has ${this.b.length - this.at} trailing bytes`, 1);
  }
}

export function decodeCardStatus(value: Uint8Array): CardStatus {
  const r = new Reader(value, 'card status TLV');
  const gwPrimary = r.u16();
  r.u16();
  r.u16();
  r.u16();
  const cards: CardStatus['cards'] = [];
  for (let n = r.u8(); n > 0; n--) {
    const state = r.u8();
    const upinState = r.u8();
    r.u8();
    r.u8();
    const error = r.u8();
    const applications: CardApplication[] = [];
    for (let a = r.u8(); a > 0; a--) {
      const type = r.u8();
      const appState = r.u8();
      r.bytes(4);
      const aid = r.bytes(r.u8());
      r.bytes(7);
      applications.push({ type, state: appState, aid });
    }
    cards.push({ state, upinState, error, applications });
  }
  r.end();
  return { gwPrimary, cards };
}

export interface SlotStatus {
  physicalCardState: number;
  slotState: number;
  logicalSlot: number;
  iccid: Uint8Array;
  protocol: number;
  atr: Uint8Array;
  isEuicc: boolean;
  /** 16 bytes, or empty when unknown */
  eid: Uint8Array;
}

/** Get Slot Status TLVs 0x10 (physical slot status), 0x11 (information: ATR, is eUICC), 0x12 (slot EID). */
export function encodeSlotStatus(slots: readonly SlotStatus[]): QmiTlv[] {
  const status = concatBytes(Uint8Array.of(slots.length), ...slots.map((s) => concatBytes(Uint8Array.from([...u32Bytes(s.physicalCardState), ...u32Bytes(s.slotState), s.logicalSlot]), prefixed(s.iccid))));
  const info = concatBytes(Uint8Array.of(slots.length), ...slots.map((s) => concatBytes(Uint8Array.from([...u32Bytes(s.protocol), 1]), prefixed(s.atr), Uint8Array.of(s.isEuicc ? 1 : 0))));
  const eids = concatBytes(Uint8Array.of(slots.length), ...slots.map((s) => prefixed(s.eid)));
  return [tlv(UIM_TLV.PHYSICAL_SLOT_STATUS, status), tlv(UIM_TLV.PHYSICAL_SLOT_INFORMATION, info), tlv(UIM_TLV.SLOT_EID, eids)];
}

export function decodeSlotStatus(tlvs: readonly QmiTlv[]): SlotStatus[] {
  const get = (type: number): Uint8Array | undefined => tlvs.find((t) => t.type === type)?.value;
  const statusBytes = get(UIM_TLV.PHYSICAL_SLOT_STATUS);
  if (!statusBytes) throw new QmiTlvError('slot status response has no TLV 0x10', 17);
  const r = new Reader(statusBytes, 'physical slot status TLV');
  const slots: SlotStatus[] = [];
  for (let n = r.u8(); n > 0; n--) {
    const physicalCardState = r.u32();
    const slotState = r.u32();
    const logicalSlot = r.u8();
    const iccid = r.bytes(r.u8());
    slots.push({ physicalCardState, slotState, logicalSlot, iccid, protocol: CARD_PROTOCOL.UNKNOWN, atr: new Uint8Array(0), isEuicc: false, eid: new Uint8Array(0) });
  }
  r.end();
  const infoBytes = get(UIM_TLV.PHYSICAL_SLOT_INFORMATION);
  if (infoBytes) {
    const ri = new Reader(infoBytes, 'physical slot information TLV');
    const n = ri.u8();
    for (let i = 0; i < n; i++) {
      const protocol = ri.u32();
      ri.u8();
      const atr = ri.bytes(ri.u8());
      const isEuicc = ri.u8() !== 0;
      if (slots[i]) Object.assign(slots[i]!, { protocol, atr, isEuicc });
    }
    ri.end();
  }
  const eidBytes = get(UIM_TLV.SLOT_EID);
  if (eidBytes) {
    const re = new Reader(eidBytes, 'slot EID TLV');
    const n = re.u8();
    for (let i = 0; i < n; i++) {
      const eid = re.bytes(re.u8());
      if (slots[i]) slots[i]!.eid = eid;
    }
    re.end();
  }
  return slots;
}

/** Get Supported Messages TLV 0x10: bit n set = message id n supported (libqmi qmicli-uim.c prints it so). */
export function encodeSupportedMessages(ids: readonly number[]): QmiTlv {
  const max = Math.max(...ids);
  const bits = new Uint8Array(Math.floor(max / 8) + 1);
  for (const id of ids) bits[id >> 3]! |= 1 << (id & 7);
  return tlv(UIM_TLV.SUPPORTED_LIST, prefixed(bits, 'u16'));
}
