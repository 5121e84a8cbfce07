// Helpers of the "ES10 through the bridge" suites (SGP.22 5.7 ES10a/b/c): a test-side
// SM-DP+ (the eUICC tests' binder, sim/euicc/testing/smdp-binder.ts, signing with the
// SGP.26 DPauth/DPpb keys) driven over any ES10 session, so that AuthenticateServer,
// PrepareDownload and the BPP can be built valid or broken on purpose; and the set-up
// of profiles on the card. Set-up goes straight to the emulated eUICC when the rig has
// one (fast, not through the bridge), otherwise through the bridge; the step under
// test always goes through the bridge.
import { randomInt } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { Es10Client, type Es10Options } from '../../sim/lpa/es10.ts';
import type { ApduTransport } from '../../sim/apdu/apdu.ts';
import { decode } from '../../sim/rsp/der.ts';
import type { NotificationEvent } from '../../sim/rsp/common.ts';
import { ProfileInstallationResult } from '../../sim/rsp/es10b.ts';
import { bppSegmentsForLoading } from '../../sim/rsp/es8p.ts';
import { iccidFromBytes, iccidLuhn } from '../../sim/rsp/iccid.ts';
import { toUpperHex } from '../../sim/bytes.ts';
import { profileWithIccid } from '../../sim/euicc/testing/fixtures.ts';
import {
  TestSmdp,
  TEST_SMDP_ADDRESS,
  type AuthenticateOptions,
  type AuthenticateRequest,
  type AuthenticatedEuicc,
  type BindOptions,
  type BoundPackage,
  type MetadataSpec,
  type PreparedEuicc,
  type PrepareOptions,
} from '../../sim/euicc/testing/smdp-binder.ts';
import type { RigRuntime } from '../framework/rig-runtime.ts';
export { cleanCard } from '../framework/fixtures.ts';
import type { CaseRun } from '../framework/case.ts';

export { TestSmdp, TEST_SMDP_ADDRESS };
export type { AuthenticatedEuicc, BoundPackage, PreparedEuicc };

export const ALL_EVENTS: NotificationEvent = ['notificationInstall', 'notificationEnable', 'notificationDisable', 'notificationDelete'];
export const NOTIFY_ADDRESS = 'notifications.es10-suite.example.com';

/** A fresh test ICCID (89 000 12345 + 9 random digits + Luhn): distinct per profile, also on a real card. */
export function newIccid(): string {
  const body = `8900012345${String(randomInt(0, 1_000_000_000)).padStart(9, '0')}`;
  return body + String(iccidLuhn(body));
}

/** ES10 session options of this rig (STORE DATA block size). */
export function es10Options(rt: RigRuntime): Es10Options {
  return { blockSize: rt.env.rig.lpa.storeDataBlockSize };
}

/** Open an ES10 session through the bridge (vpcd connection, reset, channel, SELECT ISD-R). */
export async function bridgeSession(rt: RigRuntime): Promise<{ es10: Es10Client; close(): Promise<void> }> {
  const t = await rt.connectPowered();
  try {
    const es10 = await Es10Client.open(t, es10Options(rt));
    return {
      es10,
      close: async () => {
        try {
          await es10.close();
        } finally {
          await t.close();
        }
      },
    };
  } catch (err) {
    await t.close();
    throw err;
  }
}

// ---------------------------------------------------------------------------
// Test-side SM-DP+ over an ES10 session

export interface Authenticated {
  readonly request: AuthenticateRequest;
  /** AuthenticateServerResponse DER as the eUICC answered */
  readonly responseDer: Uint8Array;
  /** the eUICC's answer checked as an SM-DP+ would (chain, euiccSignature1, echoed fields) */
  readonly auth: AuthenticatedEuicc;
}

/** GetEUICCChallenge then AuthenticateServer signed by `smdp`; throws unless the eUICC accepts. */
export async function authenticate(es10: Es10Client, smdp: TestSmdp, o: AuthenticateOptions = {}): Promise<Authenticated> {
  const challenge = await es10.getEuiccChallenge();
  const request = smdp.authenticateServerRequest(challenge, o);
  const responseDer = await es10.storeData(request.der, 'ES10b.AuthenticateServer');
  return { request, responseDer, auth: smdp.verifyAuthenticateResponse(request, responseDer) };
}

export interface Prepared extends Authenticated {
  readonly prepareRequest: Uint8Array;
  readonly prepareResponse: Uint8Array;
  readonly prepared: PreparedEuicc;
}

/** authenticate() then PrepareDownload; throws unless the eUICC accepts both. */
export async function authenticateAndPrepare(es10: Es10Client, smdp: TestSmdp, prepare: PrepareOptions = {}): Promise<Prepared> {
  const a = await authenticate(es10, smdp);
  const prepareRequest = smdp.prepareDownloadRequest(a.auth, prepare);
  const prepareResponse = await es10.storeData(prepareRequest, 'ES10b.PrepareDownload');
  return { ...a, prepareRequest, prepareResponse, prepared: smdp.verifyPrepareDownloadResponse(a.auth, prepareRequest, prepareResponse) };
}

export interface ProfileSpec {
  readonly iccid?: string;
  /** 0 test, 1 provisioning, 2 operational (default) */
  readonly profileClass?: number;
  readonly profilePolicyRules?: ('pprUpdateControl' | 'ppr1' | 'ppr2')[];
  /** events notified to NOTIFY_ADDRESS (default all four); [] for none */
  readonly notify?: NotificationEvent;
  readonly serviceProviderName?: string;
  readonly profileName?: string;
  /** enable it after the installation */
  readonly enable?: boolean;
  /** set this nickname after the installation */
  readonly nickname?: string;
}

export function metadataOf(iccid: string, spec: ProfileSpec): MetadataSpec {
  const notify = spec.notify ?? ALL_EVENTS;
  return {
    iccid,
    profileClass: spec.profileClass ?? 2,
    ...(notify.length ? { notificationConfigurationInfo: [{ events: notify, address: NOTIFY_ADDRESS }] } : {}),
    ...(spec.profilePolicyRules ? { profilePolicyRules: spec.profilePolicyRules } : {}),
    ...(spec.serviceProviderName !== undefined ? { serviceProviderName: spec.serviceProviderName } : {}),
    ...(spec.profileName !== undefined ? { profileName: spec.profileName } : {}),
  };
}

export interface Loaded extends Prepared {
  readonly bound: BoundPackage;
  readonly pirDer: Uint8Array;
  readonly pir: ProfileInstallationResult;
}

/**
 * The download of a TS.48 package personalised with `iccid` through `es10`: authenticate,
 * prepare, bind, LoadBoundProfilePackage (as the 2.5.5 sequences). `tamper` may replace
 * the BPP before it is sent. Returns the PIR whatever its result.
 */
export async function download(
  es10: Es10Client,
  smdp: TestSmdp,
  iccid: string,
  bind: Omit<BindOptions, 'metadata'> & { metadata?: MetadataSpec } = {},
  tamper?: (b: BoundPackage) => Uint8Array,
  upp?: Uint8Array,
): Promise<Loaded> {
  const p = await authenticateAndPrepare(es10, smdp);
  const bound = smdp.bind(p.auth, p.prepared, upp ?? profileWithIccid(iccid), { metadata: metadataOf(iccid, {}), ...bind });
  const bpp = tamper ? tamper(bound) : bound.bpp;
  const pirDer = await loadBpp(es10, bpp);
  return { ...p, bound, pirDer, pir: decode(ProfileInstallationResult, pirDer) };
}

/**
 * LoadBoundProfilePackage as the separate STORE DATA sequences of SGP.22 2.5.5; returns
 * the response data of the first sequence that answers data (the PIR DER, as received).
 */
export async function loadBpp(es10: Es10Client, bpp: Uint8Array): Promise<Uint8Array> {
  const segments = bppSegmentsForLoading(bpp);
  for (let i = 0; i < segments.length; i++) {
    const r = await es10.storeData(segments[i]!.bytes, `ES10b.LoadBoundProfilePackage [${segments[i]!.kind} ${i + 1}/${segments.length}]`);
    if (r.length > 0) return r;
  }
  throw new Error(`all ${segments.length} BPP sequences were accepted without a ProfileInstallationResult`);
}

export interface InstalledProfile {
  readonly iccid: string;
  /** ISD-P AID, upper-case hex */
  readonly isdpAid: string;
  readonly spec: ProfileSpec;
  /** the eUICC certificate of the download (it signed the install notification) */
  readonly euiccCertificate: Uint8Array;
}

async function installOn(es10: Es10Client, specs: readonly ProfileSpec[]): Promise<InstalledProfile[]> {
  const smdp = new TestSmdp();
  const out: InstalledProfile[] = [];
  for (const spec of specs) {
    const iccid = spec.iccid ?? newIccid();
    const r = await download(es10, smdp, iccid, { metadata: metadataOf(iccid, spec) });
    const fr = r.pir.profileInstallationResultData.finalResult;
    if (!('successResult' in fr)) throw new Error(`set-up download of ${iccid} failed: bppCommandId ${fr.errorResult.bppCommandId} errorReason ${fr.errorResult.errorReason}`);
    if (spec.enable) {
      const e = await es10.enableProfile({ iccid });
      if (e.enableResult !== 0) throw new Error(`set-up EnableProfile ${iccid} answered ${e.enableResult}`);
    }
    if (spec.nickname !== undefined) {
      const n = await es10.setNickname(iccid, spec.nickname);
      if (n.setNicknameResult !== 0) throw new Error(`set-up SetNickname ${iccid} answered ${n.setNicknameResult}`);
    }
    out.push({ iccid, isdpAid: toUpperHex(fr.successResult.aid), spec, euiccCertificate: r.auth.euiccCertificate });
  }
  return out;
}

/**
 * Put profiles on the card for a case's initial conditions: straight on the emulated
 * eUICC when the rig has one (its own logical channel, closed afterwards), otherwise
 * through the bridge. Pending notifications of the set-up stay on the card.
 */
export async function installProfiles(rt: RigRuntime, specs: readonly ProfileSpec[]): Promise<InstalledProfile[]> {
  const installed = await onCard(rt, (es10) => installOn(es10, specs));
  for (const p of installed) track(rt, p.iccid);
  return installed;
}

/** Profiles a case put on a card eUICC, removed when its bridge session ends (emulated cards are simply replaced). */
const toRemove = new Set<string>();

/** Remember a profile installed on a card eUICC so that the case removes it afterwards. */
export function track(rt: RigRuntime, iccid: string): void {
  if (!rt.euicc) toRemove.add(iccid);
}

/**
 * Card eUICC only: disable and delete the profiles the case installed, then drop the
 * notifications about them, so cases do not fill the card. Failures go to the trace.
 */
export async function removeTracked(rt: RigRuntime, c: CaseRun): Promise<void> {
  if (rt.euicc || toRemove.size === 0) return;
  const iccids = [...toRemove];
  toRemove.clear();
  try {
    await onCard(rt, async (es10) => {
      for (const iccid of iccids) {
        const d = await es10.disableProfile({ iccid });
        const r = await es10.deleteProfile({ iccid });
        c.trace.log('es10-cleanup', `${iccid}: disable ${d.disableResult}, delete ${r.deleteResult}`);
      }
      const list = await es10.listNotification();
      if (!('notificationMetadataList' in list)) return;
      for (const m of list.notificationMetadataList) {
        if (m.iccid && iccids.includes(iccidFromBytes(m.iccid))) await es10.notificationSent(m.seqNumber);
      }
    });
  } catch (err) {
    c.trace.log('es10-cleanup', `removing ${iccids.join(', ')} failed: ${(err as Error).message}`);
  }
}

/**
 * Run fn with an ES10 session for set-up: straight on the emulated eUICC when the rig
 * has one (its own logical channel, closed afterwards), otherwise through the bridge.
 */
export async function onCard<T>(rt: RigRuntime, fn: (es10: Es10Client) => Promise<T>): Promise<T> {
  if (rt.euicc) {
    const direct: ApduTransport = rt.euicc;
    const es10 = await Es10Client.open(direct);
    try {
      return await fn(es10);
    } finally {
      await es10.close();
    }
  }
  const s = await bridgeSession(rt);
  try {
    return await fn(s.es10);
  } finally {
    await s.close();
  }
}

/** Runs the body with an ES10 session through the bridge, closed (and faults cleared) afterwards. */
export async function withBridge(c: CaseRun, rt: RigRuntime, body: (es10: Es10Client) => Promise<void>): Promise<void> {
  const s = await c.setup('ES10 session through the bridge (vpcd reset, MANAGE CHANNEL, SELECT ISD-R)', () => bridgeSession(rt));
  try {
    await body(s.es10);
  } finally {
    rt.euicc?.faults.clear();
    await s.close();
    await removeTracked(rt, c);
  }
}

// ---------------------------------------------------------------------------
// Card snapshots: an initial condition built once per suite file, restored per case

export interface Snapshots {
  /**
   * The initial condition `key`: on an emulated eUICC, built once with `build` (which
   * must start from a clean card) and its state file kept; later cases get a fresh card
   * loaded from a copy of it, so every case starts from the same state whatever the order.
   * On a card eUICC it is built every time.
   */
  restore<T>(rt: RigRuntime, key: string, build: () => Promise<T>): Promise<T>;
}

/** Snapshots of this suite file (kept in a temporary directory removed after the file). */
export function useSnapshots(): Snapshots {
  let dir: string | undefined;
  const kept = new Map<string, { file: string; value: unknown }>();
  let n = 0;
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return {
    async restore<T>(rt: RigRuntime, key: string, build: () => Promise<T>): Promise<T> {
      if (!rt.euicc) return build();
      dir ??= mkdtempSync(join(tmpdir(), 'bridgelab-es10-snapshots-'));
      const snap = kept.get(key);
      if (snap) {
        const statePath = join(dir, `card-${++n}.json`);
        copyFileSync(snap.file, statePath);
        await rt.freshCard({ statePath });
        return snap.value as T;
      }
      const value = await build();
      const from = rt.euicc.options.statePath;
      if (from === undefined) return value;
      const file = join(dir, `snapshot-${kept.size}.json`);
      copyFileSync(from, file);
      kept.set(key, { file, value });
      return value;
    },
  };
}
