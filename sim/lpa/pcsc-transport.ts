// PC/SC reader side of the test LPA (PC/SC Workgroup specification part 5, the winscard
// API pcsc-lite implements): an ApduTransport over a pcscd reader, as a PC LPA reaches an
// LPA Bridge through vsmartcard's vpcd driver (LPA -> pcscd -> vpcd -> bridge). It uses
// the `smartcard` package (N-API binding over libpcsclite), an optional dependency: where
// it did not build (no libpcsclite-dev) `loadPcsc()` says so in one line.
//
// What a PC/SC LPA really asks of the reader is a behaviour profile (lpa-profile.ts):
// the protocols it connects with (lpac: SCardConnect(..., SCARD_PROTOCOL_T0, ...)) and the
// receive buffer it hands SCardTransmit (lpac: 264 bytes); an R-APDU longer than the
// buffer fails there with SCARD_E_INSUFFICIENT_BUFFER, exactly what a real LPA gets.
import { setTimeout as sleep } from 'node:timers/promises';
import { createRequire } from 'node:module';
import type { ApduTransport } from '../apdu/apdu.ts';
import { LpaError } from './errors.ts';

export type PcscProblem = 'unavailable' | 'no-service' | 'no-reader' | 'no-card' | 'protocol' | 'insufficient-buffer' | 'removed' | 'timeout' | 'failed';

/** A PC/SC call failed; `pcscMessage` is pcsc-lite's text for the SCARD_E_/SCARD_W_ code. */
export class PcscTransportError extends LpaError {
  override readonly name = 'PcscTransportError';
  constructor(
    readonly problem: PcscProblem,
    message: string,
    readonly pcscMessage?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The part of the `smartcard` package used here. */
interface PcscCard {
  readonly protocol: number;
  readonly atr: Buffer | null;
  transmit(command: Buffer, options?: { maxRecvLength?: number }): Promise<Buffer>;
  disconnect(disposition?: number): void;
  reconnect(shareMode?: number, protocol?: number, initialization?: number): Promise<number>;
}
interface PcscReader {
  readonly name: string;
  readonly state: number;
  readonly atr: Buffer | null;
  connect(shareMode?: number, protocol?: number): Promise<PcscCard>;
}
interface PcscContext {
  listReaders(): PcscReader[];
  close(): void;
}
export interface PcscBinding {
  Context: new () => PcscContext;
  SCARD_SHARE_EXCLUSIVE: number;
  SCARD_SHARE_SHARED: number;
  SCARD_PROTOCOL_T0: number;
  SCARD_PROTOCOL_T1: number;
  SCARD_RESET_CARD: number;
  SCARD_UNPOWER_CARD: number;
  SCARD_LEAVE_CARD: number;
  SCARD_STATE_PRESENT: number;
}

let binding: PcscBinding | undefined;
let missing: string | undefined;

/** The PC/SC binding, or a PcscTransportError('unavailable') saying what is missing. */
export function loadPcsc(): PcscBinding {
  if (binding) return binding;
  if (missing === undefined) {
    try {
      binding = createRequire(import.meta.url)('smartcard') as PcscBinding;
      return binding;
    } catch (err) {
      missing = `the optional package smartcard is not built (needs Debian libpcsclite-dev and pcscd): ${(err as Error).message.split('\n')[0]}`;
    }
  }
  throw new PcscTransportError('unavailable', missing);
}

/** Why PC/SC cannot be used here, or undefined when it can. */
export function pcscUnavailableReason(): string | undefined {
  try {
    loadPcsc();
    return undefined;
  } catch (err) {
    if (err instanceof PcscTransportError) return err.message;
    throw err;
  }
}

export type PcscProtocols = 'T=0' | 'T=1' | 'T=0,T=1';

export interface PcscConnectOptions {
  /** protocols offered to SCardConnect (default 'T=0', as lpac) */
  readonly protocols?: PcscProtocols;
  /** the receive buffer handed to SCardTransmit (default 264, lpac's EUICC_INTERFACE_BUFSZ) */
  readonly receiveBuffer?: number;
  /** SCARD_SHARE_EXCLUSIVE (default, as lpac) or SHARED */
  readonly share?: 'exclusive' | 'shared';
  /** wait this long for a card in the reader (default 10 s) */
  readonly cardTimeoutMs?: number;
  readonly trace?: { onApdu?(capdu: Uint8Array, rapdu: Uint8Array, ms: number): void };
}

function classify(err: unknown, what: string): PcscTransportError {
  const text = err instanceof Error ? err.message : String(err);
  const problem: PcscProblem = /insufficient buffer/i.test(text)
    ? 'insufficient-buffer'
    : /service (not running|stopped)/i.test(text)
      ? 'no-service'
      : /no smart card|unpowered|unresponsive/i.test(text)
        ? 'no-card'
        : /removed|reset/i.test(text)
          ? 'removed'
          : /protocol mismatch/i.test(text)
            ? 'protocol'
            : /unknown reader|reader unavailable|no readers/i.test(text)
              ? 'no-reader'
              : /timed out/i.test(text)
                ? 'timeout'
                : 'failed';
  const scard = problem === 'insufficient-buffer' ? ' (SCARD_E_INSUFFICIENT_BUFFER)' : '';
  return new PcscTransportError(problem, `${what}: ${text}${scard}`, text, { cause: err });
}


/** An ApduTransport over one pcscd reader, connected like the profile's LPA connects. */
export class PcscReaderTransport implements ApduTransport {
  private closed = false;

  private constructor(
    private readonly pcsc: PcscBinding,
    private readonly context: PcscContext,
    private card: PcscCard,
    readonly reader: string,
    private readonly options: Required<Omit<PcscConnectOptions, 'trace'>> & Pick<PcscConnectOptions, 'trace'>,
  ) {}

  /** Wait for a card in `reader` and connect to it. */
  static async connect(reader: string, options: PcscConnectOptions = {}): Promise<PcscReaderTransport> {
    const pcsc = loadPcsc();
    const opts = { protocols: options.protocols ?? 'T=0', receiveBuffer: options.receiveBuffer ?? 264, share: options.share ?? 'exclusive', cardTimeoutMs: options.cardTimeoutMs ?? 10_000, trace: options.trace } as const;
    let context: PcscContext;
    try {
      context = new pcsc.Context();
    } catch (err) {
      throw classify(err, 'SCardEstablishContext');
    }
    try {
      const deadline = Date.now() + opts.cardTimeoutMs;
      for (;;) {
        let readers: PcscReader[];
        try {
          readers = context.listReaders();
        } catch (err) {
          throw classify(err, 'SCardListReaders');
        }
        const r = readers.find((x) => x.name === reader);
        if (r && (r.state & pcsc.SCARD_STATE_PRESENT) !== 0) {
          let card: PcscCard;
          try {
            card = await r.connect(opts.share === 'exclusive' ? pcsc.SCARD_SHARE_EXCLUSIVE : pcsc.SCARD_SHARE_SHARED, protocolMask(pcsc, opts.protocols));
          } catch (err) {
            throw classify(err, `SCardConnect to "${reader}" with ${opts.protocols}`);
          }
          return new PcscReaderTransport(pcsc, context, card, reader, opts);
        }
        if (Date.now() > deadline) {
          const known = readers.map((x) => `"${x.name}"`).join(', ') || 'none';
          throw new PcscTransportError(r ? 'no-card' : 'no-reader', r ? `no card in PC/SC reader "${reader}" within ${opts.cardTimeoutMs} ms` : `no PC/SC reader "${reader}" (readers: ${known})`);
        }
        await sleep(50);
      }
    } catch (err) {
      context.close();
      throw err;
    }
  }

  /** the protocol pcscd chose: 'T=0' or 'T=1' */
  get protocol(): 'T=0' | 'T=1' {
    return this.card.protocol === this.pcsc.SCARD_PROTOCOL_T1 ? 'T=1' : 'T=0';
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  async transmit(capdu: Uint8Array): Promise<Uint8Array> {
    if (this.closed) throw new PcscTransportError('failed', 'PC/SC transport closed');
    const started = performance.now();
    let r: Buffer;
    try {
      r = await this.card.transmit(Buffer.from(capdu), { maxRecvLength: this.options.receiveBuffer });
    } catch (err) {
      throw classify(err, `SCardTransmit (receive buffer ${this.options.receiveBuffer} bytes)`);
    }
    const rapdu = new Uint8Array(r.buffer, r.byteOffset, r.byteLength).slice();
    this.options.trace?.onApdu?.(capdu, rapdu, performance.now() - started);
    return rapdu;
  }

  /** The card's ATR as pcscd reports it. */
  getAtr(): Uint8Array {
    const atr = this.card.atr;
    return atr ? Uint8Array.from(atr) : new Uint8Array(0);
  }

  /** Warm reset (SCardReconnect with SCARD_RESET_CARD); resolves with the ATR. */
  async reset(): Promise<Uint8Array> {
    try {
      await this.card.reconnect(this.options.share === 'exclusive' ? this.pcsc.SCARD_SHARE_EXCLUSIVE : this.pcsc.SCARD_SHARE_SHARED, protocolMask(this.pcsc, this.options.protocols), this.pcsc.SCARD_RESET_CARD);
    } catch (err) {
      throw classify(err, 'SCardReconnect (reset)');
    }
    return this.getAtr();
  }

  /** SCardDisconnect with SCARD_UNPOWER_CARD (as lpac), then the context is released. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      this.card.disconnect(this.pcsc.SCARD_UNPOWER_CARD);
    } finally {
      this.context.close();
    }
  }
}

function protocolMask(pcsc: PcscBinding, p: PcscProtocols): number {
  return p === 'T=0' ? pcsc.SCARD_PROTOCOL_T0 : p === 'T=1' ? pcsc.SCARD_PROTOCOL_T1 : pcsc.SCARD_PROTOCOL_T0 | pcsc.SCARD_PROTOCOL_T1;
}
