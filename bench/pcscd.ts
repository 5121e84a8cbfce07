// TS.48 download from a PC/SC LPA (the strict lpac-pcsc profile: T=0, 264-byte buffer)
// through pcscd + vsmartcard vpcd -> reference bridge (connect mode) -> PTY fake modem
// (quectel-ec25j, timeScale 0) -> software eUICC, next to the sum of the bridge's AT
// round trips (AT command written -> final result code read) of the same download; the
// ratio download / AT sum is what the README reports. Each run is done with TCP_QUICKACK
// on the bridge's vpcd socket and, interleaved, without it (the Nagle / delayed-ACK
// pattern), so the two are measured under the same load.
import { join } from 'node:path';
import { startBridge, type Bridge } from '../sim/bridge/bridge.ts';
import { startPtyModem } from '../sim/modem/serial.ts';
import { Lpa } from '../sim/lpa/flows.ts';
import { es10OptionsOf, loadLpaProfile } from '../sim/lpa/lpa-profile.ts';
import { LinkTimer, openPcscPath, pcscPathUnavailable } from '../sim/lpa/pcsc-path.ts';
import { CardSlot, lpaHttp, newEuicc, startBenchSmdp, statePathFor } from './lib/rig.ts';

export interface PcscdRun {
  readonly quickAck: boolean;
  readonly totalMs: number;
  readonly apdus: number;
  /** mean time the LPA waited per R-APDU */
  readonly perApduMs: number;
  readonly atExchanges: number;
  /** the bridge's AT round trips of this download, summed */
  readonly atSumMs: number;
}

export interface PcscdBench {
  readonly unavailable?: string;
  readonly runs: readonly PcscdRun[];
}

export async function benchPcscd(opts: { runs: number; workDir: string; log: (s: string) => void }): Promise<PcscdBench> {
  const unavailable = await pcscPathUnavailable();
  if (unavailable) return { unavailable, runs: [] };
  const profile = loadLpaProfile('lpac-pcsc');
  const smdp = await startBenchSmdp(join(opts.workDir, 'smdp'), { count: opts.runs * 2 + 4 });
  const slot = new CardSlot(await newEuicc(statePathFor(opts.workDir, 'pcscd', 0), smdp));
  const pty = await startPtyModem({ personality: 'quectel-ec25j', transport: slot, baud: null, timeScale: 0 });
  const runs: PcscdRun[] = [];
  try {
    for (let i = 0; i < opts.runs * 2 + 2; i++) {
      const quickAck = i % 2 === 0;
      const old = slot.card;
      slot.card = await newEuicc(statePathFor(opts.workDir, 'pcscd', i + 1), smdp);
      await old.close();
      const timer = new LinkTimer();
      let bridge: Bridge | undefined;
      const path = await openPcscPath({
        profile,
        attach: async (vpcd) => {
          bridge = await startBridge({ serial: { path: pty.path, baudRate: 115200 }, connect: { ...vpcd, initialBackoffMs: 50 }, quickAck, onTrace: timer.onBridgeTrace });
          const b = bridge;
          return () => b.close();
        },
        onApdu: timer.onApdu,
      });
      try {
        const lpa = await Lpa.open(path.transport, { http: lpaHttp(smdp), es10: es10OptionsOf(profile) });
        timer.reset();
        const started = performance.now();
        await lpa.downloadProfile(smdp.es2.order({}).activationCode);
        const totalMs = performance.now() - started;
        await lpa.close();
        const t = timer.timing;
        // the first pair warms up (JIT, TLS session state)
        if (i >= 2) runs.push({ quickAck, totalMs, apdus: t.apdus, perApduMs: t.apduMs / t.apdus, atExchanges: t.atExchanges, atSumMs: t.atMs });
        if (i % 10 < 2) opts.log(`  pcscd run ${i + 1} (quickack ${quickAck ? 'on' : 'off'}): ${Math.round(totalMs)} ms, ${t.apdus} APDUs, AT sum ${Math.round(t.atMs)} ms`);
      } finally {
        await path.close();
      }
    }
  } finally {
    await pty.close();
    await slot.card.close();
    await smdp.close();
  }
  return { runs };
}
