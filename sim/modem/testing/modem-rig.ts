// Test wiring for the bridge: a virtual modem (sim/modem, any personality) with a fake
// card behind it, reachable through a serialport mock binding path (what the bridge
// opens in production as /dev/ttyUSBx), plus counters of what crossed the serial line:
// every write the TE made (to check "one write per command") and every command line
// and APDU the modem saw. Used by the sim/bridge tests; not part of the bridge itself.
import { createModemMockBinding } from '../serial.ts';
import { VirtualModem } from '../modem.ts';
import type { ModemTraceEvent } from '../engine.ts';
import type { Personality } from '../personality.ts';
import { FakeCard, type FakeCardOptions } from './fake-card.ts';
import type { ApduTransport } from '../types.ts';
import { openSerialPort } from '../../bridge/bridge.ts';
import type { Duplex } from 'node:stream';

export interface ModemRigOptions {
  card?: FakeCardOptions | ApduTransport;
  /** latency / restart scale (default 0: instant) */
  timeScale?: number;
  /** line rate (default null: no pacing) */
  baud?: number | null;
  seed?: number;
}

export interface ModemRig {
  modem: VirtualModem;
  /** the fake card (undefined when another transport was given) */
  card: FakeCard | undefined;
  path: string;
  binding: ReturnType<typeof createModemMockBinding>;
  /** raw writes the TE made, in order, as latin1 text */
  writes: string[];
  trace: ModemTraceEvent[];
  /** command lines the modem received */
  lines(): string[];
  /** APDUs the card received (hex, upper case) */
  cardApdus(): string[];
  /** open the TE side (what the AT client uses) */
  openPort(): Promise<Duplex>;
  close(): Promise<void>;
}

let counter = 0;

export function modemRig(personality: string | Personality, options: ModemRigOptions = {}): ModemRig {
  const given = options.card;
  const card = given && 'transmit' in given ? undefined : new FakeCard(given as FakeCardOptions | undefined);
  const transport: ApduTransport = card ?? (given as ApduTransport);
  const trace: ModemTraceEvent[] = [];
  const modem = new VirtualModem({ personality, transport, baud: options.baud ?? null, timeScale: options.timeScale ?? 0, seed: options.seed, onTrace: (e) => trace.push(e) });
  const writes: string[] = [];
  const receive = modem.receive.bind(modem);
  modem.receive = (bytes: Uint8Array): void => {
    writes.push(Buffer.from(bytes).toString('latin1'));
    receive(bytes);
  };
  const binding = createModemMockBinding(modem);
  const path = `/dev/ttyBRIDGETEST${process.pid}_${counter++}`;
  binding.createPort(path, { echo: false, record: false });
  const opened: Duplex[] = [];
  return {
    modem,
    card,
    path,
    binding,
    writes,
    trace,
    lines: () => trace.filter((e): e is Extract<ModemTraceEvent, { kind: 'line' }> => e.kind === 'line').map((e) => e.line),
    cardApdus: () => (card ? card.apdus.map((a) => Buffer.from(a).toString('hex').toUpperCase()) : []),
    async openPort(): Promise<Duplex> {
      const p = await openSerialPort(path, 115200, binding);
      opened.push(p);
      return p;
    },
    async close(): Promise<void> {
      await modem.close();
      for (const p of opened) {
        const sp = p as Duplex & { isOpen: boolean; close(cb: (err: Error | null) => void): void };
        if (sp.isOpen) await new Promise<void>((resolve) => sp.close(() => resolve()));
      }
    },
  };
}
