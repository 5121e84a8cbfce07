// How the suites' test LPA reaches the bridge and behaves (rig field `lpa`): the LPA
// behaviour profile (sim/lpa/lpa-profile.ts, default the strict lpac-like PC/SC LPA) and
// the path, vpcd directly or through pcscd's vpcd driver (sim/lpa/pcsc-path.ts). The
// PC/SC path needs a bridge the rig can point at a vpcd slot: the built-in one, started
// for the session in connect mode on the fake modem's PTY (the listening one is stopped
// meanwhile, the PTY having one user at a time).
import type { Rig } from '../../rigs/rig.ts';
import type { Es10Options } from '../../sim/lpa/es10.ts';
import { describeFinding, type DerFinding } from '../../sim/rsp/der.ts';
import { es10OptionsOf, loadLpaProfile, type LpaProfile } from '../../sim/lpa/lpa-profile.ts';
import { LinkTimer, openPcscPath, pcscPathUnavailable, type PcscPath } from '../../sim/lpa/pcsc-path.ts';
import { startBridge, type Bridge, type BridgeOptions } from '../../sim/bridge/bridge.ts';

export function lpaProfileOf(rig: Rig): LpaProfile {
  return loadLpaProfile(rig.lpa.profile);
}

/**
 * ES10 options of the rig's LPA: its profile, with the rig's STORE DATA block size; a card's
 * BER that is not DER is accepted as field LPAs accept it and reported to `onFinding`
 * (the case trace: a 'log' event with source 'finding').
 */
export function lpaEs10Options(rig: Rig, onFinding?: (message: string) => void): Es10Options {
  return {
    ...es10OptionsOf(lpaProfileOf(rig)),
    blockSize: rig.lpa.storeDataBlockSize,
    ...(onFinding ? { peerEncoding: 'tolerant' as const, trace: { onFinding: (fn: string, f: DerFinding) => onFinding(`${fn}: ${describeFinding(f)}`) } } : {}),
  };
}

/** Why this rig cannot put its LPA on the PC/SC path, or undefined. */
export async function pcscPathNotApplicable(rig: Rig): Promise<string | undefined> {
  if (rig.bridge.kind !== 'builtin' || rig.modem.kind !== 'fake') return `the PC/SC path needs the built-in bridge on a fake modem (rig bridge '${rig.bridge.kind}')`;
  return pcscPathUnavailable();
}

export interface PcscSession {
  readonly path: PcscPath;
  readonly timer: LinkTimer;
  readonly bridge: Bridge;
  close(): Promise<void>;
}

/**
 * The built-in bridge on `ttyPath` connected out to a free vpcd slot, and the rig's LPA on
 * that slot's PC/SC reader. `stopListening` / `restartListening` take the rig's listening
 * bridge off the PTY and back.
 */
export async function openPcscSession(
  rig: Rig,
  parts: { ttyPath: string; bridgeOptions: Partial<BridgeOptions>; stopListening(): Promise<void>; restartListening(): Promise<void>; onApdu?(capdu: Uint8Array, rapdu: Uint8Array, ms: number): void; onBridgeTrace?(e: Parameters<NonNullable<BridgeOptions['onTrace']>>[0]): void },
): Promise<PcscSession> {
  const timer = new LinkTimer();
  let bridge: Bridge | undefined;
  await parts.stopListening();
  try {
    const path = await openPcscPath({
      profile: lpaProfileOf(rig),
      attach: async (vpcd) => {
        const b = await startBridge({
          serial: { path: parts.ttyPath, baudRate: 115200 },
          connect: { ...vpcd, initialBackoffMs: 100 },
          ...parts.bridgeOptions,
          onTrace: (e) => {
            timer.onBridgeTrace(e);
            parts.onBridgeTrace?.(e);
          },
        });
        bridge = b;
        return () => b.close();
      },
      onApdu: (c, r, ms) => {
        timer.onApdu(c, r, ms);
        parts.onApdu?.(c, r, ms);
      },
    });
    const b = bridge as unknown as Bridge;
    return {
      path,
      timer,
      bridge: b,
      async close() {
        try {
          await path.close();
        } finally {
          await parts.restartListening();
        }
      },
    };
  } catch (err) {
    await parts.restartListening();
    throw err;
  }
}
