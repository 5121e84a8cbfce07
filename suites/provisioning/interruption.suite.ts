// Provisioning through the bridge, interrupted: the download is cut at a chosen point of
// the Bound Profile Package (after the ISCR, after StoreMetadata, in the middle of the
// profile elements, or before the BPP once PrepareDownload was done) by a power loss of
// the card, a card reset, an eUICC restart from its non-volatile state, a modem reboot
// or the loss of the bridge. Each time the eUICC must hold the whole profile or nothing
// (SGP.22 2.5.5, 5.7.6: installFailedDueToInterruption (11) reported in a pending
// ProfileInstallationResult when the BPP had started), and a retry must succeed: with
// the same order when the BPP had not started (the eUICC reuses its one-time key,
// 5.7.5 bppEuiccOtpk), with a new order once the SM-DP+ got the failed result (3.1.6).
import { expect } from 'vitest';
import { tc, type CaseRun, type CaseSpec } from '../framework/case.ts';
import { useRig } from '../framework/shared-rig.ts';
import type { RigRuntime } from '../framework/rig-runtime.ts';
import { createEuicc } from '../../sim/euicc/euicc.ts';
import { ApduError, VpcdTransportError } from '../../sim/lpa/errors.ts';
import { iccidFromBytes } from '../../sim/rsp/iccid.ts';
import type { OrderResult } from '../../sim/smdp/server.ts';
import {
  cleanRig,
  decodePir,
  euiccOf,
  expectNoProfile,
  modemOf,
  orderProfile,
  pirError,
  restoreRig,
  smdpOf,
  smdpState,
  withLpa,
  type ApduHook,
} from '../framework/fixtures.ts';

const rig = useRig();
const group = 'Provisioning through the bridge' as const;

const LOAD_PROFILE_ELEMENTS = 5;
const CONFIGURE_ISDP = 1;
const INTERRUPTION = 11;

/** Points of the download where the interruption is made (before the C-APDU that starts there goes out). */
type Point = 'afterIscr' | 'afterStoreMetadata' | 'thirdSegment86' | 'beforeBpp';

/** STORE DATA first block (P2 00) whose data starts with these bytes. */
function firstBlockStarts(capdu: Uint8Array, ...tag: number[]): boolean {
  return capdu.length > 5 + tag.length && capdu[1] === 0xe2 && capdu[3] === 0x00 && tag.every((b, i) => capdu[5 + i] === b);
}

/** A hook that runs `interrupt` once, just before the C-APDU at `point`. */
function at(rt: RigRuntime, point: Point, interrupt: () => Promise<void>): { hook: ApduHook; fired: () => boolean } {
  let fired = false;
  let seen86 = 0;
  const hook: ApduHook = async (capdu) => {
    if (fired) return;
    const marker = rt.euicc?.state.bppInProgress();
    let hit = false;
    if (point === 'beforeBpp') hit = firstBlockStarts(capdu, 0xbf, 0x36);
    else if (point === 'afterIscr') hit = marker?.bppCommandId === CONFIGURE_ISDP;
    else if (point === 'afterStoreMetadata') hit = marker?.bppCommandId === LOAD_PROFILE_ELEMENTS && marker.iccid !== undefined;
    else if (firstBlockStarts(capdu, 0x86)) hit = ++seen86 === 3;
    if (!hit) return;
    fired = true;
    rt.trace.log('case', `interrupting at ${point}`);
    await interrupt();
  };
  return { hook, fired: () => fired };
}

/** Download with the hook; the download must fail. Returns the error. */
async function interruptedDownload(rt: RigRuntime, order: OrderResult, hook: ApduHook): Promise<unknown> {
  const s = await rt.openLpa({ beforeApdu: hook, commandTimeoutMs: 15_000 });
  try {
    await s.lpa.downloadProfile(order.activationCode);
  } catch (err) {
    return err;
  } finally {
    await s.close();
  }
  throw new Error('the download completed although it was interrupted');
}

/** After an interruption once the BPP had started: nothing half installed, one interruption PIR pending. */
async function checkInterrupted(c: CaseRun, rt: RigRuntime, order: OrderResult, n: number, bppCommandId: number, withIccid: boolean): Promise<void> {
  await c.step(n, () =>
    withLpa(rt, async (lpa) => {
      // the first ES10 command after a bridge loss ends the BPP the eUICC still had open
      const list = await lpa.listNotifications();
      expectNoProfile(c, rt, order.iccid);
      expect(list.map((m) => m.profileManagementOperation)).toEqual([['notificationInstall']]);
      expect(list[0]!.notificationAddress).toBe(smdpOf(rt).address);
      if (withIccid) expect(list[0]!.iccid && iccidFromBytes(list[0]!.iccid)).toBe(order.iccid);
      const stored = euiccOf(rt).state.notifications();
      expect(stored.length).toBe(1);
      expect(pirError(stored[0]!.der)).toEqual({ bppCommandId, errorReason: INTERRUPTION });
      expect(decodePir(stored[0]!.der).profileInstallationResultData.smdpOid).toBe(smdpOf(rt).smdpOid);
      const profiles = await lpa.listProfiles();
      expect(profiles.filter((p) => p.iccid && iccidFromBytes(p.iccid) === order.iccid)).toEqual([]);
    }),
  );
}

/** Deliver the interruption PIR (SM-DP+ entry -> Error), then download a new order. */
async function checkRetryWithNewOrder(c: CaseRun, rt: RigRuntime, order: OrderResult, n: number): Promise<void> {
  await c.step(n, () =>
    withLpa(rt, async (lpa) => {
      const done = await lpa.processNotifications();
      expect(done.map((d) => [d.delivered, d.removed])).toEqual([[true, true]]);
      const rec = smdpOf(rt).state.notifications().filter((x) => x.kind === 'profileInstallationResult' && x.transactionId !== undefined && smdpOf(rt).state.session(x.transactionId)?.iccid === order.iccid);
      expect(rec.map((x) => [x.accepted, x.result, x.errorReason])).toEqual([[true, 'error', INTERRUPTION]]);
      expect(smdpState(rt, order.iccid)).toBe('Error');
      const next = orderProfile(rt);
      const r = await lpa.downloadProfile(next.activationCode);
      expect(r.iccid).toBe(next.iccid);
      expect(euiccOf(rt).state.profiles().map((p) => p.iccid)).toEqual([next.iccid]);
      expect(euiccOf(rt).state.notifications()).toEqual([]);
      expect(smdpState(rt, next.iccid)).toBe('Installed');
    }),
  );
}

const midBppSteps = (how: string, where: string, cmd: string) => [
  { action: `download, and ${how} ${where}`, expected: 'the download fails at the LPA (the link or the channel is gone)' },
  {
    action: 'reconnect and list notifications and profiles',
    expected: `no profile and no BPP in progress on the card; one install notification pending whose PIR is errorResult {bppCommandId ${cmd}, installFailedDueToInterruption (11)}`,
  },
  { action: 'process the notifications, then download a new order', expected: 'the PIR is accepted by the SM-DP+ (entry Error); the new profile installs whole, nothing else on the card' },
];

const beforeBppSteps = (how: string) => [
  { action: `download, and ${how} once PrepareDownload was answered and the BPP fetched, before its first STORE DATA`, expected: 'the download fails at the LPA' },
  { action: 'check the eUICC', expected: 'no profile, no BPP in progress, no notification (the BPP never started)' },
  {
    action: 'download again with the same Activation Code',
    expected: 'the SM-DP+ offers the same binding (bppEuiccOtpk), the eUICC reuses its one-time key, the profile installs; SM-DP+ entry Installed',
  },
];

/** Same-order retry after an interruption before the BPP: the binding of the first attempt is reused. */
async function checkSameOrderRetry(c: CaseRun, rt: RigRuntime, order: OrderResult, n: number): Promise<void> {
  const binding = smdpOf(rt).state.order(order.iccid)?.binding;
  await c.step(n, () =>
    withLpa(rt, async (lpa) => {
      expect(binding).toBeDefined();
      const r = await lpa.downloadProfile(order.activationCode);
      expect(r.iccid).toBe(order.iccid);
      // a new session, the same bound package: the eUICC used the one-time key of the first attempt
      expect(Buffer.from(r.transactionId).toString('hex').toUpperCase()).not.toBe(binding!.transactionId);
      const first = smdpOf(rt).state.session(binding!.transactionId);
      const second = smdpOf(rt).state.session(Buffer.from(r.transactionId).toString('hex').toUpperCase());
      expect(second?.euiccOtpk).toBe(binding!.euiccOtpk);
      expect(first?.euiccOtpk).toBe(binding!.euiccOtpk);
      expect(smdpState(rt, order.iccid)).toBe('Installed');
      expect(euiccOf(rt).state.profiles().map((p) => p.iccid)).toEqual([order.iccid]);
    }),
  );
}

/** How a case interrupts the download, and what the LPA must see when it does. */
interface Interruption {
  point: Point;
  /** the fault, run once just before the C-APDU at the point */
  interrupt(): Promise<void>;
  /** the error the interrupted download ended with */
  expectError(err: unknown): void;
  /** the fault stopped the bridge: start it again after step 1 */
  stopsBridge?: boolean;
  /** the failed PIR names the ICCID (StoreMetadata had been processed) */
  withIccid?: boolean;
}

/**
 * One interruption case: clean rig and a released order, the download interrupted at the
 * point (step 1); then, when the BPP had started, an interruption PIR and a retry with a
 * new order (steps 2-3), or, when it had not, nothing on the card and a retry with the
 * same order (steps 2-3).
 */
function interruptionCase(spec: CaseSpec, make: (rt: RigRuntime) => Interruption): void {
  tc(spec, async (c) => {
    const rt = rig(c);
    await c.setup('clean rig', () => cleanRig(rt));
    const order = await c.setup('released order', () => orderProfile(rt));
    try {
      const how = make(rt);
      const point = at(rt, how.point, () => how.interrupt());
      try {
        await c.step(1, async () => {
          const err = await interruptedDownload(rt, order, point.hook);
          expect(point.fired()).toBe(true);
          how.expectError(err);
        });
      } finally {
        if (how.stopsBridge && point.fired()) {
          await rt.startBridge();
          await rt.waitBridgeServing();
        }
      }
      if (how.point === 'beforeBpp') {
        await c.step(2, () => {
          expectNoProfile(c, rt, order.iccid);
          expect(euiccOf(rt).state.notifications()).toEqual([]);
          expect(smdpState(rt, order.iccid)).toBe('Downloaded');
        });
        await checkSameOrderRetry(c, rt, order, 3);
      } else {
        await checkInterrupted(c, rt, order, 2, how.point === 'afterIscr' ? CONFIGURE_ISDP : LOAD_PROFILE_ELEMENTS, how.withIccid ?? false);
        await checkRetryWithNewOrder(c, rt, order, 3);
      }
    } finally {
      await restoreRig(rt);
    }
  });
}

/** The LPA lost its channel: an APDU error, 6881 when the modem restart dropped it. */
const channelLost =
  (sw?: number) =>
  (err: unknown): void => {
    expect(err).toBeInstanceOf(ApduError);
    if (sw !== undefined) expect((err as ApduError).sw).toBe(sw);
  };

/** The LPA lost its link to the bridge; nothing was installed meanwhile. */
const linkLost =
  (rt: RigRuntime) =>
  (err: unknown): void => {
    expect(err).toBeInstanceOf(VpcdTransportError);
    expect(euiccOf(rt).state.profiles()).toEqual([]);
  };

interruptionCase(
  {
    id: 'TC_LPA-Bridge_ES10b.LoadBoundProfilePackage_PowerLossAfterMetadata',
    title: 'the card loses power after StoreMetadata: no profile, an interruption PIR, and a new order installs',
    group,
    iut: 'bridge',
    purpose: 'A power loss of the card during the BPP (the modem sees the card go and come back) leaves no half profile.',
    requirement: 'SGP.22 5.7.6 (installFailedDueToInterruption), 2.5.5, 3.1.6; ETSI TS 102 221 (card deactivation)',
    initialConditions: ['clean eUICC', 'a released order'],
    steps: midBppSteps('remove and reinsert the card (power loss)', 'once StoreMetadata was processed', 'loadProfileElements (5)'),
    requires: ['embeddedSmdp', 'emulatedEuicc', 'cardPowerCycle', 'modemFaults'],
  },
  (rt) => ({
    point: 'afterStoreMetadata',
    interrupt: async () => {
      euiccOf(rt).faults.removeCard();
      await modemOf(rt).faults.removeCard();
      euiccOf(rt).faults.insertCard();
      await modemOf(rt).faults.insertCard();
    },
    expectError: channelLost(),
    withIccid: true,
  }),
);

interruptionCase(
  {
    id: 'TC_LPA-Bridge_ES10b.LoadBoundProfilePackage_CardResetAfterIscr',
    title: 'a card reset right after InitialiseSecureChannel: no profile, an interruption PIR at configureISDP, a new order installs',
    group,
    iut: 'bridge',
    purpose: 'A warm reset of the card (as a modem CFUN cycle or REFRESH does) at the very start of the BPP.',
    requirement: 'SGP.22 5.7.6, 2.5.5; ISO/IEC 7816-3 warm reset',
    initialConditions: ['clean eUICC', 'a released order'],
    steps: midBppSteps('reset the card', 'right after the ISCR sequence', 'configureISDP (1)'),
    requires: ['embeddedSmdp', 'emulatedEuicc', 'cardPowerCycle'],
  },
  (rt) => ({
    point: 'afterIscr',
    interrupt: () => euiccOf(rt).faults.resetCard().then(() => undefined),
    expectError: channelLost(),
  }),
);

interruptionCase(
  {
    id: 'TC_LPA-Bridge_ES10b.LoadBoundProfilePackage_EuiccRestartMidElements',
    title: 'the eUICC restarts from its non-volatile state in the middle of the profile elements: the interruption is recovered at start-up',
    group,
    iut: 'bridge',
    purpose: 'A power loss that stops the eUICC abruptly (nothing runs on the way down): at the next start the eUICC finds the BPP it had in progress and reports it.',
    requirement: 'SGP.22 5.7.6 (installFailedDueToInterruption reported after the interruption), 2.5.5',
    initialConditions: ['clean eUICC', 'a released order'],
    steps: midBppSteps('stop the eUICC abruptly (restart from its state file, card removed and reinserted at the modem)', 'before the third 86 segment', 'loadProfileElements (5)'),
    requires: ['embeddedSmdp', 'emulatedEuicc', 'cardPowerCycle', 'modemFaults'],
  },
  (rt) => {
    let recovered = false;
    return {
      point: 'thirdSegment86',
      interrupt: async () => {
        const old = euiccOf(rt);
        const o = old.options;
        expect(o.statePath).toBeDefined();
        expect(old.state.bppInProgress()?.bppCommandId).toBe(LOAD_PROFILE_ELEMENTS);
        await modemOf(rt).faults.removeCard();
        // the old instance is abandoned as it is (a crash): it must not run its power-off path
        const next = await createEuicc({
          statePath: o.statePath,
          identity: o.identity,
          svn: o.svn,
          totalNvm: o.totalNvm,
          rootDsAddress: o.rootDsAddress,
          ...(o.defaultDpAddress !== undefined ? { defaultDpAddress: o.defaultDpAddress } : {}),
        });
        recovered = next.recoveredInterruption;
        rt.euicc = next;
        await modemOf(rt).faults.insertCard();
      },
      expectError: (err) => {
        expect(recovered).toBe(true);
        channelLost()(err);
      },
      withIccid: true,
    };
  },
);

interruptionCase(
  {
    id: 'TC_LPA-Bridge_ES10b.LoadBoundProfilePackage_ModemRebootMidElements',
    title: 'the modem reboots in the middle of the profile elements: no profile, an interruption PIR, a new order installs',
    group,
    iut: 'bridge',
    purpose: 'A modem restart (sessions gone, card reset, URCs) during the BPP: the bridge must not replay the rest of the BPP into a fresh channel.',
    requirement: 'SGP.22 5.7.6, 2.5.5; 3GPP TS 27.007 +CFUN=1,1 semantics',
    initialConditions: ['clean eUICC', 'a released order'],
    steps: midBppSteps('reboot the modem', 'before the third 86 segment', 'loadProfileElements (5)'),
    requires: ['embeddedSmdp', 'emulatedEuicc', 'modemFaults'],
  },
  (rt) => ({ point: 'thirdSegment86', interrupt: () => modemOf(rt).faults.reboot(), expectError: channelLost(0x6881), withIccid: true }),
);

interruptionCase(
  {
    id: 'TC_LPA-Bridge_ES10b.LoadBoundProfilePackage_BridgeLossMidElements',
    title: 'the bridge goes away in the middle of the profile elements: the open BPP ends as interrupted at the next ES10 command',
    group,
    iut: 'bridge',
    purpose: 'Losing the bridge (process killed / restarted) must not leave a half profile; the eUICC reports the interruption once it is used again.',
    requirement: 'SGP.22 5.7.6 (another ES10 command interrupts a BPP in progress), 2.5.5',
    initialConditions: ['clean eUICC', 'a released order', 'the rig can stop and restart the bridge'],
    steps: midBppSteps('stop the bridge (then start it again)', 'before the third 86 segment', 'loadProfileElements (5)'),
    requires: ['embeddedSmdp', 'emulatedEuicc', 'bridgeRestart'],
  },
  (rt) => ({ point: 'thirdSegment86', interrupt: () => rt.stopBridge(), expectError: linkLost(rt), stopsBridge: true, withIccid: true }),
);

interruptionCase(
  {
    id: 'TC_LPA-Bridge_ES10b.LoadBoundProfilePackage_BridgeLossBeforeBpp',
    title: 'the bridge goes away between GetBoundProfilePackage and the BPP load: the same order is retried and installs',
    group,
    iut: 'bridge',
    purpose: 'Retry with the same order (SGP.22 retry with otPK reuse) after losing the bridge before the eUICC saw the BPP.',
    requirement: 'SGP.22 3.1.3 (retry), 5.7.5 PrepareDownload bppEuiccOtpk, 5.6.2',
    initialConditions: ['clean eUICC', 'a released order', 'the rig can stop and restart the bridge'],
    steps: beforeBppSteps('stop the bridge (then start it again)'),
    requires: ['embeddedSmdp', 'emulatedEuicc', 'bridgeRestart'],
  },
  (rt) => ({ point: 'beforeBpp', interrupt: () => rt.stopBridge(), expectError: linkLost(rt), stopsBridge: true }),
);

interruptionCase(
  {
    id: 'TC_LPA-Bridge_ES10b.LoadBoundProfilePackage_ModemRebootBeforeBpp',
    title: 'the modem reboots between GetBoundProfilePackage and the BPP load: the same order is retried and installs',
    group,
    iut: 'bridge',
    purpose: 'Retry with the same order after a modem restart that reset the card before the BPP started.',
    requirement: 'SGP.22 3.1.3 (retry), 5.7.5 bppEuiccOtpk, 5.6.2',
    initialConditions: ['clean eUICC', 'a released order'],
    steps: beforeBppSteps('reboot the modem'),
    requires: ['embeddedSmdp', 'emulatedEuicc', 'modemFaults'],
  },
  (rt) => ({ point: 'beforeBpp', interrupt: () => modemOf(rt).faults.reboot(), expectError: channelLost(0x6881) }),
);
