// Test doubles for the LPA's unit tests: a scripted ISD-R applet on the real card layer
// (sim/euicc/card: channels, SELECT, STORE DATA reassembly, GET RESPONSE), answering each
// complete ES10 command (SGP.22 5.7) by its top-level tag from a handler table, and a
// recording transport that logs every APDU. No cryptography: responses come from the test.
import type { ApduTransport } from '../../apdu/apdu.ts';
import { Card, type CardOptions } from '../../euicc/card/card.ts';
import { ISD_R_AID, StoreDataApplet } from '../../euicc/card/applet.ts';
import { StatusWordError } from '../../apdu/sw.ts';
import { parseTlv, tagHex } from '../../rsp/der.ts';

export type Es10Handler = (request: Uint8Array) => Uint8Array | Promise<Uint8Array>;

export interface Es10Received {
  readonly tag: number;
  readonly request: Uint8Array;
  readonly channel: number;
}

/**
 * An ISD-R whose ES10 answers are set per top-level request tag. A command without a
 * handler answers 6A88 (referenced data not found). BPP segments (which are not complete
 * TLVs) are handed to `onBppSegment`: return a response to end the load (e.g. a PIR).
 */
export class ScriptedIsdr extends StoreDataApplet {
  readonly received: Es10Received[] = [];
  readonly handlers = new Map<number, Es10Handler>();
  /** answers for BPP segments, called with each complete STORE DATA sequence whose first tag is BF36 header/A0/A1/A2/A3/88/86 */
  onBppSegment: ((segment: Uint8Array, index: number) => Uint8Array | Promise<Uint8Array>) | undefined;
  readonly bppSegments: Uint8Array[] = [];

  constructor() {
    super(ISD_R_AID);
  }

  on(tag: number, handler: Es10Handler | Uint8Array): this {
    this.handlers.set(tag, handler instanceof Uint8Array ? () => handler : handler);
    return this;
  }

  /** requests received with this tag */
  requests(tag: number): Uint8Array[] {
    return this.received.filter((r) => r.tag === tag).map((r) => r.request);
  }

  protected async handleStoreData(command: Uint8Array, channel: number): Promise<Uint8Array> {
    const first = command[0]!;
    const bppTag = first === 0xbf && command[1] === 0x36;
    const isBppPart = bppTag || ((first === 0xa0 || first === 0xa1 || first === 0xa2 || first === 0xa3 || first === 0x88 || first === 0x86) && this.bppSegments.length > 0);
    if (isBppPart) {
      if (bppTag) this.bppSegments.length = 0;
      this.bppSegments.push(command);
      this.received.push({ tag: bppTag ? 0xbf36 : first, request: command, channel });
      return (await this.onBppSegment?.(command, this.bppSegments.length - 1)) ?? new Uint8Array(0);
    }
    const tag = parseTlv(command, { der: false }).tag;
    this.received.push({ tag, request: command, channel });
    const h = this.handlers.get(tag);
    if (!h) throw new StatusWordError(0x6a88, `no handler for ${tagHex(tag)}`);
    return h(command);
  }
}

/** A Card with the scripted ISD-R (plus any card options). */
export function cardWithIsdr(isdr: ScriptedIsdr, options: Omit<CardOptions, 'applets'> = {}): Card {
  return new Card({ ...options, applets: [isdr] });
}

/** Wraps a transport and records every exchange. */
export class RecordingTransport implements ApduTransport {
  readonly exchanges: { capdu: Uint8Array; rapdu: Uint8Array }[] = [];
  constructor(private readonly inner: ApduTransport) {}
  async transmit(capdu: Uint8Array): Promise<Uint8Array> {
    const rapdu = await this.inner.transmit(capdu);
    this.exchanges.push({ capdu: capdu.slice(), rapdu: rapdu.slice() });
    return rapdu;
  }
  reset(): Promise<Uint8Array> {
    return this.inner.reset();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/** A transport answering from a function of the C-APDU; records every C-APDU. */
export class ScriptedTransport implements ApduTransport {
  readonly sent: Uint8Array[] = [];
  closed = false;
  constructor(private readonly answer: (capdu: Uint8Array, index: number) => Uint8Array | Promise<Uint8Array>) {}
  async transmit(capdu: Uint8Array): Promise<Uint8Array> {
    this.sent.push(capdu.slice());
    return this.answer(capdu, this.sent.length - 1);
  }
  async reset(): Promise<Uint8Array> {
    return Uint8Array.of(0x3b, 0x00);
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}
