// Fixtures the suites share (not cases): a clean rig for a case (fresh emulated card,
// faults and SM-DP+ misbehaviour off), ES2+ orders on an inventory entry added for the
// case (so cases never compete for the default inventory), the test LPA over the bridge
// (RigRuntime.openLpa, with an optional APDU hook to interrupt a download at a chosen
// point of the Bound Profile Package, SGP.22 2.5.5), typed error expectations, and
// decoders for what the eUICC stores (ProfileInstallationResult, SGP.22 5.7.6), and the
// checks on the card side that only a rig with the emulated eUICC can make (they ask
// the case, CaseRun.observe, and make their step 'not verifiable' elsewhere).
import { expect } from 'vitest';
import { decode } from '../../sim/rsp/der.ts';
import { ProfileInstallationResult } from '../../sim/rsp/es10b.ts';
import type { Lpa } from '../../sim/lpa/flows.ts';
import type { Es9pApi } from '../../sim/lpa/es9p-client.ts';
import { Es9pClient } from '../../sim/lpa/es9p-client.ts';
import type { Euicc } from '../../sim/euicc/euicc.ts';
import type { SmdpServer, OrderResult } from '../../sim/smdp/server.ts';
import type { VirtualModem } from '../../sim/modem/modem.ts';
import type { CaseRun } from './case.ts';
import type { LpaHandle, OpenLpaOptions, RigRuntime } from './rig-runtime.ts';
export type { ApduHook, LpaHandle, OpenLpaOptions } from './rig-runtime.ts';
import type { Infer } from '../../sim/rsp/der.ts';
import { toHex } from '../../sim/bytes.ts';
import { iccidFromBytes } from '../../sim/rsp/iccid.ts';
import type { ProfileInfo } from '../../sim/rsp/common.ts';

export { ISD_R_AID_HEX as ISD_R_AID } from '../../sim/apdu/aids.ts';

/** The embedded SM-DP+ (cases that need it declare requires: ['embeddedSmdp']). */
export function smdpOf(rt: RigRuntime): SmdpServer {
  if (!rt.smdp) throw new Error('this rig has no embedded SM-DP+');
  return rt.smdp;
}

/** The emulated eUICC (cases that need it declare requires: ['emulatedEuicc']). */
export function euiccOf(rt: RigRuntime): Euicc {
  if (!rt.euicc) throw new Error('this rig has no emulated eUICC');
  return rt.euicc;
}

/** The fake modem (cases that need it declare requires: ['modemFaults']). */
export function modemOf(rt: RigRuntime): VirtualModem {
  if (!rt.modem) throw new Error('this rig has no fake modem');
  return rt.modem;
}

/**
 * Start a case from a known rig: a fresh emulated card (when the rig has one), modem and
 * eUICC faults cleared, SM-DP+ misbehaviour off.
 */
export async function cleanRig(rt: RigRuntime, opts: { freshEid?: boolean } = {}): Promise<void> {
  rt.modem?.faults.clear();
  rt.euicc?.faults.clear();
  await rt.smdp?.control.reset();
  // a fresh EID keeps orders bound to the EID (or bound by an earlier download) of other cases out of this one
  await cleanCard(rt, opts.freshEid ? { identity: 'fresh' } : {});
}

/**
 * A clean emulated card (no profiles, no notifications) once the bridge has finished with
 * the previous LPA (its channel closes must reach the old card, not the new one); nothing
 * on a real card.
 */
export async function cleanCard(rt: RigRuntime, options: Parameters<RigRuntime['freshCard']>[0] = {}): Promise<void> {
  await rt.bridgeIdle();
  if (rt.euicc) await rt.freshCard(options);
}

/**
 * A case body run on a clean rig (set up as the case's set-up step), with everything the
 * case switched on undone afterwards, whatever happened.
 */
export async function withCleanRig(c: CaseRun, rt: RigRuntime, body: () => Promise<void>, opts: { freshEid?: boolean } = {}): Promise<void> {
  await c.setup('clean rig', () => cleanRig(rt, opts));
  try {
    await body();
  } finally {
    await restoreRig(rt);
  }
}

/** ProfileInfo.profileState values (SGP.22 5.7.15). */
export const PROFILE_STATE = { disabled: 0, enabled: 1 } as const;

/** Undo what a case switched on (called in `finally`). */
export async function restoreRig(rt: RigRuntime): Promise<void> {
  rt.modem?.faults.clear();
  rt.euicc?.faults.clear();
  await rt.smdp?.control.reset();
}

export interface OrderOptions {
  /** template of the inventory entry (default: the first template) */
  template?: string;
  eid?: string;
  confirmationCode?: string;
  matchingId?: string;
  release?: boolean;
}

/** Add one inventory entry of a template and order it (ES2+ DownloadOrder + ConfirmOrder). */
export function orderProfile(rt: RigRuntime, opts: OrderOptions = {}): OrderResult {
  const smdp = smdpOf(rt);
  const template = opts.template ?? smdp.inventory.templates()[0];
  if (!template) throw new Error('the SM-DP+ has no profile template');
  const [entry] = smdp.inventory.add({ template, count: 1 });
  if (!entry) throw new Error(`no inventory entry was added for template ${template}`);
  return smdp.es2.order({
    iccid: entry.iccid,
    ...(opts.eid !== undefined ? { eid: opts.eid } : {}),
    ...(opts.confirmationCode !== undefined ? { confirmationCode: opts.confirmationCode } : {}),
    ...(opts.matchingId !== undefined ? { matchingId: opts.matchingId } : {}),
    ...(opts.release !== undefined ? { release: opts.release } : {}),
  });
}

/** State of an inventory entry at the SM-DP+ (SGP.22 3.1.6). */
export function smdpState(rt: RigRuntime, iccid: string): string | undefined {
  return smdpOf(rt).inventory.get(iccid)?.state;
}

/** Run `fn` with a test LPA and close it afterwards, whatever happens. */
export function withLpa<T>(rt: RigRuntime, fn: (lpa: Lpa, session: LpaHandle) => Promise<T>, options: OpenLpaOptions = {}): Promise<T> {
  return rt.withLpa(fn, options);
}

/** Await a promise that must reject with an instance of `cls`; returns the error. */
export async function rejectsWith<E extends Error>(p: Promise<unknown>, cls: abstract new (...args: never[]) => E): Promise<E> {
  let outcome: unknown;
  try {
    await p;
  } catch (err) {
    outcome = err;
  }
  if (outcome === undefined) throw new Error(`expected ${cls.name}, but the operation succeeded`);
  if (!(outcome instanceof cls)) throw new Error(`expected ${cls.name}, got ${(outcome as Error)?.name ?? typeof outcome}: ${(outcome as Error)?.message ?? String(outcome)}`, { cause: outcome });
  return outcome;
}

export type Pir = Infer<typeof ProfileInstallationResult>;

/** Decode a stored install notification (ProfileInstallationResult 'BF37'). */
export function decodePir(der: Uint8Array): Pir {
  return decode(ProfileInstallationResult, der);
}

/** The errorResult of a PIR, or undefined for a success. */
export function pirError(der: Uint8Array): { bppCommandId: number; errorReason: number } | undefined {
  const fr = decodePir(der).profileInstallationResultData.finalResult;
  return 'errorResult' in fr ? { bppCommandId: fr.errorResult.bppCommandId, errorReason: fr.errorResult.errorReason } : undefined;
}

/** Nothing left on the emulated card of a download that did not complete. */
export function expectNoProfile(c: CaseRun, rt: RigRuntime, iccid: string): void {
  if (!c.observe('cardState', `no profile ${iccid} and no BPP in progress left on the card`)) return;
  const euicc = euiccOf(rt);
  expect(euicc.state.profiles().map((p) => p.iccid)).not.toContain(iccid);
  expect(euicc.state.bppInProgress()).toBeUndefined();
}

/** Only the logical channels the card has after a reset (the basic channel) are left open. */
export function expectNoOpenLogicalChannel(c: CaseRun, rt: RigRuntime): void {
  if (!c.observe('cardState', 'no logical channel left open on the card')) return;
  expect(euiccOf(rt).card.openChannels().filter((n) => n !== 0)).toEqual([]);
}

/**
 * The ES10 STORE DATA commands the card received (modem-card hop), by the tag of their
 * first block; undefined when the rig cannot see that hop (`why`: what the caller checks).
 */
export function cardCommandTags(c: CaseRun, rt: RigRuntime, why: string): string[] | undefined {
  if (!c.observe('cardSide', why)) return undefined;
  const out: string[] = [];
  for (const e of rt.trace.events) {
    if (e.kind !== 'apdu' || e.hop !== 'modem-card') continue;
    const capdu = e.command;
    // STORE DATA, first block (P2 = 00): the ES10 tag starts the data
    if (capdu.length > 6 && capdu[1] === 0xe2 && capdu[3] === 0x00) {
      const data = capdu.subarray(5);
      out.push(toHex(data[0] === 0xbf ? data.subarray(0, 2) : data.subarray(0, 1)).toUpperCase());
    }
  }
  return out;
}

/** An ES9+ client of the embedded SM-DP+ (for replay tests), traced like the LPA's. */
export function es9Client(rt: RigRuntime): Es9pApi {
  return new Es9pClient(smdpOf(rt).address, rt.httpOptions());
}

/** An Es9pApi that records the requests the LPA made and answers through the real client. */
export class RecordingEs9p implements Es9pApi {
  readonly authenticateClientCalls: { transactionId: Uint8Array; authenticateServerResponse: Uint8Array }[] = [];
  readonly getBppCalls: { transactionId: Uint8Array; prepareDownloadResponse: Uint8Array }[] = [];
  constructor(private readonly inner: Es9pApi) {}
  get smdpAddress(): string {
    return this.inner.smdpAddress;
  }
  initiateAuthentication(input: Parameters<Es9pApi['initiateAuthentication']>[0]): ReturnType<Es9pApi['initiateAuthentication']> {
    return this.inner.initiateAuthentication(input);
  }
  authenticateClient(transactionId: Uint8Array, authenticateServerResponse: Uint8Array): ReturnType<Es9pApi['authenticateClient']> {
    this.authenticateClientCalls.push({ transactionId, authenticateServerResponse });
    return this.inner.authenticateClient(transactionId, authenticateServerResponse);
  }
  getBoundProfilePackage(transactionId: Uint8Array, prepareDownloadResponse: Uint8Array): ReturnType<Es9pApi['getBoundProfilePackage']> {
    this.getBppCalls.push({ transactionId, prepareDownloadResponse });
    return this.inner.getBoundProfilePackage(transactionId, prepareDownloadResponse);
  }
  handleNotification(pendingNotification: Uint8Array): Promise<void> {
    return this.inner.handleNotification(pendingNotification);
  }
  cancelSession(transactionId: Uint8Array, cancelSessionResponse: Uint8Array): ReturnType<Es9pApi['cancelSession']> {
    return this.inner.cancelSession(transactionId, cancelSessionResponse);
  }
}

/** ICCIDs of a GetProfilesInfo answer. */
export function iccidsOf(list: readonly ProfileInfo[]): string[] {
  return list.flatMap((p) => (p.iccid ? [iccidFromBytes(p.iccid)] : []));
}

/** The ProfileInfo of one ICCID. */
export function profileInfoOf(list: readonly ProfileInfo[], iccid: string): ProfileInfo | undefined {
  return list.find((p) => p.iccid !== undefined && iccidFromBytes(p.iccid) === iccid);
}
