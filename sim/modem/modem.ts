// A virtual modem: the AT engine (engine.ts) behind a UART line in each direction
// (uart.ts; 10 bit times per byte at the personality's baud rate) with byte counters,
// and the run-time fault controls of the conformance suites: dropped bytes, a URC in
// the middle of a response, reboot (CFUN=1,1 semantics: sessions gone, card reset, echo
// per personality, URCs), re-enumeration (the serial device vanishes while the modem
// restarts), response delay, spurious ERROR rate, card removal.
// Endpoint-independent: serial.ts attaches it to a mock binding or a PTY.
import { type DeviceControl, ModemEngine, type ModemEngineState, type ModemTraceEvent } from './engine.ts';
import { loadPersonality, type Personality, type SpuriousScope } from './personality.ts';
import { Prng } from './prng.ts';
import type { ApduTransport } from './types.ts';
import { UartLine } from './uart.ts';

/** toTe: modem TX -> TE RX; fromTe: TE TX -> modem RX. */
export type Direction = 'toTe' | 'fromTe';

export interface DirectionCounters {
  /** bytes that went over the wire (delivered at the far end) */
  bytes: number;
  /** bytes lost to a drop fault */
  dropped: number;
  /** bytes still on the wire (queued behind the baud rate) */
  pending: number;
}

export interface WireCounters {
  toTe: DirectionCounters;
  fromTe: DirectionCounters;
}

/** Run-time fault controls (all off by default). */
export interface ModemFaults {
  /** lose exactly the next `count` bytes in that direction (default toTe) */
  dropNextBytes(count: number, direction?: Direction): void;
  /** lose each byte with this probability (seeded, so runs repeat) */
  setDropProbability(probability: number, direction?: Direction): void;
  /** split the next response (default: in the middle of its first line) and put this URC there */
  injectUrcInNextResponse(text?: string, offset?: number): void;
  /** send a URC now, between responses */
  emitUrc(text: string): void;
  /** internal restart: resolves when the personality's URCs after restart have been sent */
  reboot(): Promise<void>;
  /**
   * restart with a USB re-enumeration: the serial device vanishes for goneMs (default the
   * personality's lifecycle.reenumerateGoneMs, else 1000; scaled by timeScale) and comes
   * back; resolves when the URCs after restart have been sent. Only endpoints that can
   * remove the device (the PTY) make it vanish.
   */
  reenumerate(goneMs?: number): Promise<void>;
  /** delay every response (count omitted) or the next `count` ones by ms */
  setResponseDelay(ms: number, count?: number): void;
  /** +CGLA/+CSIM answered ERROR without reaching the card, at this rate (null: personality's) */
  setSpuriousErrorRate(rate: number | null, scope?: SpuriousScope): void;
  removeCard(): Promise<void>;
  insertCard(): Promise<void>;
  /** drop faults, response delay and spurious-rate override off */
  clear(): void;
}

export interface VirtualModemOptions {
  personality: Personality | string;
  transport: ApduTransport;
  /** line rate; default the personality's timing.baud; null: no pacing */
  baud?: number | null;
  /** scales the personality's latencies, restart time and URC times (0: instant); default 1 */
  timeScale?: number;
  /** seed for spurious errors, drops and session handles (default: the personality's) */
  seed?: number;
  onTrace?: (event: ModemTraceEvent) => void;
  /** 'boot': start with a restart (URCs sent once attached); default 'ready' */
  powerOn?: 'ready' | 'boot';
}

export const DEFAULT_INJECTED_URC = '+QIND: SMS DONE';

export class VirtualModem {
  readonly personality: Personality;
  readonly engine: ModemEngine;
  readonly faults: ModemFaults;
  private readonly toTe: UartLine;
  private readonly fromTe: UartLine;
  private sink: ((bytes: Uint8Array) => void) | undefined;
  private readonly drop = {
    toTe: { next: 0, probability: 0, dropped: 0 },
    fromTe: { next: 0, probability: 0, dropped: 0 },
  };
  private readonly dropPrng: Prng;
  private readonly traceFn: (e: ModemTraceEvent) => void;
  private closed = false;

  constructor(opts: VirtualModemOptions) {
    this.personality = typeof opts.personality === 'string' ? loadPersonality(opts.personality) : opts.personality;
    const baud = opts.baud === undefined ? this.personality.timing.baud : opts.baud;
    this.traceFn = opts.onTrace ?? (() => {});
    this.dropPrng = new Prng((opts.seed ?? this.personality.spuriousErrors.seed) ^ 0x0d0d0d0d);
    this.toTe = new UartLine({ baud, deliver: (b) => this.sink?.(b) });
    this.engine = new ModemEngine({
      personality: this.personality,
      transport: opts.transport,
      output: (b) => this.toTe.push(this.applyDrops(b, 'toTe')),
      timeScale: opts.timeScale,
      seed: opts.seed,
      onTrace: this.traceFn,
    });
    this.fromTe = new UartLine({ baud, deliver: (b) => this.engine.receive(b) });
    const engine = this.engine;
    this.faults = {
      dropNextBytes: (count, direction = 'toTe') => {
        if (!Number.isInteger(count) || count < 0) throw new RangeError(`byte count must be a non-negative integer, got ${count}`);
        this.drop[direction].next = count;
      },
      setDropProbability: (probability, direction = 'toTe') => {
        if (!(probability >= 0 && probability <= 1)) throw new RangeError(`probability must be in [0, 1], got ${probability}`);
        this.drop[direction].probability = probability;
      },
      injectUrcInNextResponse: (text = DEFAULT_INJECTED_URC, offset) => engine.injectUrcInNextResponse(text, offset),
      emitUrc: (text) => engine.emitUrc(text),
      reboot: () => engine.restart('fault: reboot'),
      reenumerate: (goneMs) => engine.restart('fault: re-enumeration', 1, { vanishMs: goneMs ?? (this.personality.lifecycle.reenumerateGoneMs || 1000) }),
      setResponseDelay: (ms, count) => engine.setResponseDelay(ms, count),
      setSpuriousErrorRate: (rate, scope) => engine.setSpuriousErrorRate(rate, scope),
      removeCard: () => engine.removeCard(),
      insertCard: () => engine.insertCard(),
      clear: () => {
        for (const d of [this.drop.toTe, this.drop.fromTe]) {
          d.next = 0;
          d.probability = 0;
        }
        engine.setResponseDelay(0);
        engine.setSpuriousErrorRate(null);
      },
    };
    if (opts.powerOn === 'boot')
      engine.restart('power on').catch((err: unknown) => this.traceFn({ kind: 'note', text: `power-on restart failed: ${(err as Error).message}` }));
  }

  /** The endpoint's control over the serial device (re-enumeration); serial.ts sets it for a PTY. */
  setDeviceControl(device: DeviceControl | undefined): void {
    this.engine.setDeviceControl(device);
  }

  /** Where the modem's TX bytes go (the TE's RX). Bytes sent with nothing attached are lost, like on a real line. */
  attach(sink: (bytes: Uint8Array) => void): void {
    this.sink = sink;
  }

  detach(): void {
    this.sink = undefined;
  }

  /** Bytes the TE wrote: they cross the line at the baud rate, then reach the AT engine. */
  receive(bytes: Uint8Array): void {
    if (this.closed) return;
    this.fromTe.push(this.applyDrops(bytes, 'fromTe'));
  }

  private applyDrops(bytes: Uint8Array, dir: Direction): Uint8Array {
    const d = this.drop[dir];
    if (d.next === 0 && d.probability === 0) return bytes;
    const kept: number[] = [];
    let dropped = 0;
    for (const b of bytes) {
      if (d.next > 0) {
        d.next--;
        dropped++;
      } else if (d.probability > 0 && this.dropPrng.chance(d.probability)) dropped++;
      else kept.push(b);
    }
    if (dropped > 0) {
      d.dropped += dropped;
      this.traceFn({ kind: 'note', text: `fault: dropped ${dropped} byte(s) ${dir}` });
    }
    return Uint8Array.from(kept);
  }

  setBaud(baud: number | null): void {
    this.toTe.setBaud(baud);
    this.fromTe.setBaud(baud);
  }

  get baud(): number | null {
    return this.toTe.baudRate;
  }

  counters(): WireCounters {
    return {
      toTe: { bytes: this.toTe.delivered, dropped: this.drop.toTe.dropped, pending: this.toTe.pending },
      fromTe: { bytes: this.fromTe.delivered, dropped: this.drop.fromTe.dropped, pending: this.fromTe.pending },
    };
  }

  state(): ModemEngineState {
    return this.engine.state();
  }

  /** Resolves when both lines are empty and every command line has been answered and sent. */
  async settled(): Promise<void> {
    await this.fromTe.drained();
    await this.engine.idle();
    await this.toTe.drained();
  }

  /** Stop the engine and both lines. The transport (card) is not closed: it belongs to the caller. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.engine.close();
    this.fromTe.close();
    this.toTe.close();
    this.sink = undefined;
  }
}
