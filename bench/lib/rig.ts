// The parts of the virtual rig a benchmark puts together (the same parts the suites'
// RigRuntime uses, minus tracing): an embedded SM-DP+ with a large inventory of one
// TS.48 template, software eUICCs as the virtual rig configures them (SGP.26 NIST +
// brainpool identities, SVN 2.5.0, state file on disk), a card slot whose card can be
// swapped under a running modem, and the serial chain fake modem (PTY) -> reference
// bridge listening for the LPA's vpcd on loopback.
import { join } from 'node:path';
import type { ApduTransport } from '../../sim/apdu/apdu.ts';
import { createEuicc, type Euicc } from '../../sim/euicc/euicc.ts';
import { startSmdp, type SmdpServer } from '../../sim/smdp/server.ts';
import type { HttpTrace, RspHttpOptions } from '../../sim/lpa/rsp-http.ts';
import { startPtyModem, type PtyModem } from '../../sim/modem/serial.ts';
import type { VirtualModem } from '../../sim/modem/modem.ts';
import { startBridge, type Bridge, type BridgeTraceEvent } from '../../sim/bridge/bridge.ts';
import type { ModemTraceEvent } from '../../sim/modem/engine.ts';

/** The TS.48 package benchmarks download unless told otherwise (GSMA TS.48 v5, SAIP 2.3). */
export const DEFAULT_TEMPLATE = 'TS48v5_SAIP2.3_NoBERTLV';

export async function startBenchSmdp(dataDir: string, opts: { template?: string; count: number }): Promise<SmdpServer> {
  return startSmdp({ dataDir, host: '127.0.0.1', port: 0, inventory: [{ template: opts.template ?? DEFAULT_TEMPLATE, count: opts.count }] });
}

/** The LPA's HTTPS options for an SM-DP+ on loopback (trust its CI, connect to 127.0.0.1:port). */
export function lpaHttp(smdp: Pick<SmdpServer, 'trustAnchorPem' | 'port'>, trace?: HttpTrace): RspHttpOptions {
  return { ca: smdp.trustAnchorPem, connect: { host: '127.0.0.1', port: smdp.port }, ...(trace ? { trace } : {}) };
}

/** A software eUICC configured as on the virtual rig (rigs/virtual.json). */
export function newEuicc(statePath: string, smdp?: Pick<SmdpServer, 'address' | 'smdsAddress'>): Promise<Euicc> {
  return createEuicc({
    statePath,
    identity: 'both',
    svn: '2.5.0',
    ...(smdp ? { defaultDpAddress: smdp.address, rootDsAddress: smdp.smdsAddress } : {}),
  });
}

/** A card slot: the modem keeps one transport while cards are swapped in and out. */
export class CardSlot implements ApduTransport {
  constructor(public card: Euicc) {}
  transmit(capdu: Uint8Array): Promise<Uint8Array> {
    return this.card.transmit(capdu);
  }
  reset(): Promise<Uint8Array> {
    return this.card.reset();
  }
  /** the modem does not own the card: closing the slot leaves it alone */
  async close(): Promise<void> {}
}

export interface SerialChain {
  readonly pty: PtyModem;
  readonly modem: VirtualModem;
  readonly bridge: Bridge;
  /** where the LPA connects its vpcd reader */
  readonly vpcd: { host: string; port: number };
  close(): Promise<void>;
}

/**
 * Fake modem on a socat PTY in front of `card`, and the reference bridge on the other end
 * of the PTY, listening on 127.0.0.1 (ephemeral port). `baud` null = no UART pacing.
 */
export async function startSerialChain(
  card: ApduTransport,
  opts: { personality: string; baud: number | null; timeScale?: number; onModemTrace?: (e: ModemTraceEvent) => void; onBridgeTrace?: (e: BridgeTraceEvent) => void },
): Promise<SerialChain> {
  const pty = await startPtyModem({ personality: opts.personality, transport: card, baud: opts.baud, timeScale: opts.timeScale ?? 0, ...(opts.onModemTrace ? { onTrace: opts.onModemTrace } : {}) });
  let bridge: Bridge;
  try {
    bridge = await startBridge({ serial: { path: pty.path, baudRate: opts.baud ?? 115200 }, listen: { host: '127.0.0.1', port: 0 }, ...(opts.onBridgeTrace ? { onTrace: opts.onBridgeTrace } : {}) });
  } catch (err) {
    await pty.close();
    throw err;
  }
  return {
    pty,
    modem: pty.modem,
    bridge,
    vpcd: { host: '127.0.0.1', port: bridge.address!.port },
    async close() {
      await bridge.close();
      await pty.close();
    },
  };
}

export function statePathFor(dir: string, label: string, i: number): string {
  return join(dir, `${label}-${i}.json`);
}
