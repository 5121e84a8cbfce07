// The PC LPA's real path to an LPA Bridge: LPA -> pcscd -> vsmartcard vpcd -> bridge
// (the bridge connects out to the vpcd slot's port as the card side, vsmartcard's vpcd
// protocol) -> modem -> card. openPcscPath() takes a free vpcd slot (vpcd-slots.ts), lets
// the caller attach its bridge to the slot's port, and connects a PC/SC reader transport
// the way the LPA profile's LPA connects (pcsc-transport.ts).
//
// LinkTimer measures what the path costs per APDU next to the bridge's own AT round trips
// (from the bridge's trace: AT command written -> final result code read). The difference
// is the reader path (pcscd, vpcd, TCP): a few tenths of a millisecond on loopback, about
// 40 ms when the card side leaves pcscd's split frames to the delayed ACK (Nagle on
// pcscd's side; see sim/bridge/quickack.ts). diagnoseLatency() names that pattern.
import type { BridgeTraceEvent } from '../bridge/bridge.ts';
import { type LpaProfile, pcscOptionsOf } from './lpa-profile.ts';
import { PcscReaderTransport, PcscTransportError, pcscUnavailableReason } from './pcsc-transport.ts';
import { acquireVpcdSlot, type HeldSlot, vpcdListening } from './vpcd-slots.ts';

export interface PcscPath {
  readonly transport: PcscReaderTransport;
  readonly slot: HeldSlot;
  close(): Promise<void>;
}

/** Attach a card side (a bridge in connect mode) to vpcd at `vpcd`; resolves with its detach. */
export type AttachCard = (vpcd: { host: string; port: number }) => Promise<() => Promise<void>>;

export interface PcscPathOptions {
  readonly profile: LpaProfile;
  readonly attach: AttachCard;
  /** wait this long for a free vpcd slot (default 120 s: other processes may hold both) */
  readonly slotTimeoutMs?: number;
  /** wait this long for the card to show in the reader (default 20 s) */
  readonly cardTimeoutMs?: number;
  readonly onApdu?: (capdu: Uint8Array, rapdu: Uint8Array, ms: number) => void;
}

/** Why the PC/SC path cannot run here (package, pcscd), or undefined when it can. */
export async function pcscPathUnavailable(): Promise<string | undefined> {
  const pkg = pcscUnavailableReason();
  if (pkg) return pkg;
  if (!(await vpcdListening(35963)) && !(await vpcdListening(35964))) return "pcscd with vsmartcard's vpcd driver is not listening on 127.0.0.1:35963/35964 (Debian pcscd + vsmartcard-vpcd)";
  return undefined;
}

export async function openPcscPath(options: PcscPathOptions): Promise<PcscPath> {
  const why = pcscUnavailableReason();
  if (why) throw new PcscTransportError('unavailable', why);
  const slot = await acquireVpcdSlot(options.slotTimeoutMs !== undefined ? { timeoutMs: options.slotTimeoutMs } : {});
  let detach: (() => Promise<void>) | undefined;
  try {
    if (!(await vpcdListening(slot.port))) throw new PcscTransportError('no-service', `pcscd's vpcd does not listen on 127.0.0.1:${slot.port} (reader "${slot.reader}")`);
    detach = await options.attach({ host: '127.0.0.1', port: slot.port });
    const transport = await PcscReaderTransport.connect(slot.reader, {
      ...pcscOptionsOf(options.profile),
      cardTimeoutMs: options.cardTimeoutMs ?? 20_000,
      ...(options.onApdu ? { trace: { onApdu: options.onApdu } } : {}),
    });
    const detachNow = detach;
    return {
      transport,
      slot,
      // the card side goes first: SCardDisconnect(SCARD_UNPOWER_CARD) is a blocking call
      // during which pcscd powers the card down and up again, which an in-process bridge
      // could not answer; with the card gone pcscd answers at once
      async close() {
        try {
          await detachNow();
          await transport.close();
        } finally {
          slot.release();
        }
      },
    };
  } catch (err) {
    try {
      await detach?.();
    } finally {
      slot.release();
    }
    throw err;
  }
}

export interface LinkTiming {
  readonly apdus: number;
  /** time the LPA waited for its R-APDUs, summed */
  readonly apduMs: number;
  readonly atExchanges: number;
  /** bridge AT command written -> final result code, summed */
  readonly atMs: number;
}

/** Per-APDU time at the LPA against the bridge's AT round trips (feed it both traces). */
export class LinkTimer {
  private apdus = 0;
  private apduMs = 0;
  private atExchanges = 0;
  private atMs = 0;
  private atStarted: number | undefined;

  onApdu = (_capdu: Uint8Array, _rapdu: Uint8Array, ms: number): void => {
    this.apdus++;
    this.apduMs += ms;
  };

  onBridgeTrace = (e: BridgeTraceEvent): void => {
    if (e.type === 'at-tx') this.atStarted = performance.now();
    else if (e.type === 'at-rx' && e.role === 'final' && this.atStarted !== undefined) {
      this.atExchanges++;
      this.atMs += performance.now() - this.atStarted;
      this.atStarted = undefined;
    }
  };

  reset(): void {
    this.apdus = this.apduMs = this.atExchanges = this.atMs = 0;
    this.atStarted = undefined;
  }

  get timing(): LinkTiming {
    return { apdus: this.apdus, apduMs: this.apduMs, atExchanges: this.atExchanges, atMs: this.atMs };
  }
}

/** The delayed-ACK wait per APDU above which the path is diagnosed as Nagle / delayed ACK. */
export const DELAYED_ACK_SUSPECT_MS = 15;

/**
 * What the reader path costs per APDU over the bridge's AT time, and a diagnosis when it
 * looks like the Nagle / delayed-ACK stall (tens of milliseconds per APDU, one or two
 * delayed ACKs of about 40 ms each).
 */
export function diagnoseLatency(t: LinkTiming): { overheadPerApduMs: number; diagnosis: string | undefined } {
  const overheadPerApduMs = t.apdus ? (t.apduMs - t.atMs) / t.apdus : 0;
  const diagnosis =
    overheadPerApduMs > DELAYED_ACK_SUSPECT_MS
      ? `the reader path adds ${overheadPerApduMs.toFixed(1)} ms per APDU over the bridge's AT round trips: the Nagle / delayed-ACK pattern (pcscd writes each vpcd frame's 2-byte length and body separately and Nagle holds the body until the card side's delayed ACK, about 40 ms). The bridge must acknowledge at once on its vpcd socket: Linux TCP_QUICKACK after every read and every answer, or an equivalent`
      : undefined;
  return { overheadPerApduMs, diagnosis };
}
