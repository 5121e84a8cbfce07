// Power-loss campaign (SGP.22 2.5.5 / 5.7.6 interruption of a profile download, 3.1.3 LPA
// retries, 3.1.6 SM-DP+ profile states, 5.6 ES9+ sessions that survive a restart): a party
// of a TS.48 download runs as its own process and is killed with SIGKILL at every point of
// the download in turn, restarted from its persistent state, checked, and the download is
// then finished by an LPA retry.
//
// eUICC side: `bridgelab euicc --vpcd` (state file) serving the LPA's vpcd reader; killed
// right after its answer to APDU k (k = 1..N, N = APDUs of a download, ES10 session open
// and close included), before the LPA sees that answer. After the restart:
//  - the card holds the complete profile (package byte-identical to what the SM-DP+ bound)
//    or none of it, and no "BPP in progress" marker;
//  - its notifications have unique, increasing sequence numbers (never reused across the
//    kill), at most one ProfileInstallationResult for the download's transaction, and one
//    with errorReason installFailedDueToInterruption (11) and the bppCommandId of the
//    marker exactly when the kill came mid-BPP (ISCR accepted, no result yet; decided
//    both from the state file at the kill and from what the LPA had seen);
//  - the LPA delivers the pending notifications and retries: the same activation code,
//    else (SM-DP+ retry rules: order closed by the failure PIR, BPP bound to a one-time
//    key the killed card lost) a new order; the profile then gets installed.
// One card (state file) goes through all kill points; each point ends by deleting its
// profile, so sequence numbers are checked across every restart.
//
// SM-DP+ side: the test SM-DP+ process (smdp-child.ts, lmdb data dir) killed after each
// ES9+ call of a download in turn, either after the LPA got the answer ('after') or with
// the answer lost ('lost-response': the server committed, the LPA sees a dropped
// connection). The server is restarted on the same port and data dir; its order, profile,
// session and notification records must match the calls it had answered; then the LPA
// continues the same session ('after') or retries (same order, else a new one).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ApduTransport } from '../apdu/apdu.ts';
import { createEuicc, type Euicc } from '../euicc/euicc.ts';
import { StateStore, type EuiccState } from '../euicc/state.ts';
import { Lpa, type LpaProgressEvent } from '../lpa/flows.ts';
import { Es9pClient, type Es9pApi } from '../lpa/es9p-client.ts';
import { Es9TransportError, LpaError } from '../lpa/errors.ts';
import type { Es10CommandRecord } from '../lpa/es10.ts';
import type { RspHttpOptions } from '../lpa/rsp-http.ts';
import { VpcdReaderListener, type VpcdReaderTransport } from '../lpa/vpcd-transport.ts';
import { startSmdp, type SmdpServer } from '../smdp/server.ts';
import { iccidFromBytes } from '../rsp/iccid.ts';
import { transactionIdToHex } from '../rsp/json.ts';
import { EuiccProcess, SmdpProcess, type SmdpState } from './processes.ts';

/** The TS.48 package the campaign downloads. */
export const CAMPAIGN_TEMPLATE = 'TS48v5_SAIP2.3_NoBERTLV';

export type CampaignLog = (line: string) => void;

function describe(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

// ---------------------------------------------------------------------------------------
// what the eUICC holds, read through ES10 (the LPA's view) and from its state file

interface PirSeen {
  readonly seqNumber: number;
  readonly transactionId: string;
  readonly result: 'success' | 'error';
  readonly bppCommandId?: number;
  readonly errorReason?: number;
}

interface CardView {
  readonly iccids: string[];
  readonly seqNumbers: number[];
  readonly pirs: PirSeen[];
}

async function cardView(lpa: Lpa): Promise<CardView> {
  const profiles = await lpa.listProfiles();
  const list = await lpa.es10.retrieveNotificationsList();
  if (!('notificationList' in list)) throw new Error(`RetrieveNotificationsList failed: ${list.notificationsListResultError}`);
  const seqNumbers: number[] = [];
  const pirs: PirSeen[] = [];
  for (const n of list.notificationList) {
    if ('profileInstallationResult' in n) {
      const d = n.profileInstallationResult.profileInstallationResultData;
      seqNumbers.push(d.notificationMetadata.seqNumber);
      const fr = d.finalResult;
      pirs.push({
        seqNumber: d.notificationMetadata.seqNumber,
        transactionId: transactionIdToHex(d.transactionId),
        ...('successResult' in fr ? { result: 'success' as const } : { result: 'error' as const, bppCommandId: fr.errorResult.bppCommandId, errorReason: fr.errorResult.errorReason }),
      });
    } else seqNumbers.push(n.otherSignedNotification.tbsOtherNotification.seqNumber);
  }
  return { iccids: profiles.map((p) => (p.iccid ? iccidFromBytes(p.iccid) : '')), seqNumbers, pirs };
}

/** Sequence numbers: unique, increasing in list order, all above what was seen before. */
function checkSeqNumbers(view: CardView, floor: number, problems: string[]): void {
  for (let i = 1; i < view.seqNumbers.length; i++)
    if (view.seqNumbers[i]! <= view.seqNumbers[i - 1]!) problems.push(`notification seqNumbers not increasing: ${view.seqNumbers.join(', ')}`);
  const reused = view.seqNumbers.filter((s) => s <= floor);
  if (reused.length) problems.push(`notification seqNumber(s) ${reused.join(', ')} not above ${floor}, the highest before the kill`);
}

function readState(path: string): EuiccState {
  const s = new StateStore(path).load();
  if (!s) throw new Error(`no eUICC state file at ${path}`);
  return s;
}

// ---------------------------------------------------------------------------------------
// LPA retry after a failure (SGP.22 3.1.3 retry: same order while the SM-DP+ allows it)

export type Recovery = 'not-needed' | 'continued' | 'same-order' | 'new-order' | 'failed';

interface RetryOutcome {
  readonly recovery: Exclude<Recovery, 'not-needed' | 'continued'>;
  readonly iccid?: string;
  readonly attempts: string[];
}

/** Deliver what is pending, then download with the same activation code, else with a new order. */
async function retryDownload(lpa: Lpa, activationCode: string, newOrder: () => Promise<string>): Promise<RetryOutcome> {
  const attempts: string[] = [];
  try {
    await lpa.processNotifications();
  } catch (e) {
    attempts.push(`pending notifications: ${describe(e)}`);
  }
  try {
    const r = await lpa.downloadProfile(activationCode);
    return { recovery: 'same-order', iccid: r.iccid, attempts };
  } catch (e) {
    attempts.push(`same order: ${describe(e)}`);
  }
  try {
    const r = await lpa.downloadProfile(await newOrder());
    return { recovery: 'new-order', iccid: r.iccid, attempts };
  } catch (e) {
    attempts.push(`new order: ${describe(e)}`);
    return { recovery: 'failed', attempts };
  }
}

// ---------------------------------------------------------------------------------------
// eUICC campaign

/** An ApduTransport that SIGKILLs the card process right after its answer to APDU `killAt`. */
class KillAfter implements ApduTransport {
  count = 0;
  killed = false;
  constructor(
    private readonly inner: ApduTransport,
    private readonly killAt: number,
    private readonly kill: () => Promise<void>,
  ) {}
  async transmit(capdu: Uint8Array): Promise<Uint8Array> {
    const r = await this.inner.transmit(capdu);
    this.count++;
    if (this.count === this.killAt) {
      await this.kill();
      this.killed = true;
    }
    return r;
  }
  reset(): Promise<Uint8Array> {
    return this.inner.reset();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/** What the LPA had seen of the BPP when the card died. */
class BppWatch {
  /** the first LoadBoundProfilePackage sequence (BF36 + ISCR) was answered */
  iscrAnswered = false;
  /** a ProfileInstallationResult came back */
  pirReceived = false;
  transactionId: string | undefined;

  onCommand = (r: Es10CommandRecord): void => {
    if (!r.fn.startsWith('ES10b.LoadBoundProfilePackage') || r.response === undefined) return;
    this.iscrAnswered = true;
    if (r.response.length > 0) this.pirReceived = true;
  };

  onProgress = (e: LpaProgressEvent): void => {
    if (e.step === 'es9p.initiateAuthentication' && e.phase === 'done' && typeof e.detail?.transactionId === 'string') this.transactionId = e.detail.transactionId;
  };

  get midBpp(): boolean {
    return this.iscrAnswered && !this.pirReceived;
  }
}

export interface EuiccKillPoint {
  /** the download APDU (1-based) after whose answer the card was killed */
  readonly apdu: number;
  /** the ES10 command that APDU belonged to */
  readonly command: string;
  /** the LPA had its ISCR answered and no installation result: a BPP was in progress */
  readonly midBpp: boolean;
  /** the state file held a "BPP in progress" marker at the kill */
  readonly markerAtKill: boolean;
  /** after the restart: the complete profile, or none of it */
  readonly state: 'complete' | 'none';
  /** after the restart: an installFailedDueToInterruption result for the transaction */
  readonly interruptionResult: boolean;
  readonly recovery: Recovery;
  readonly attempts: readonly string[];
  readonly problems: readonly string[];
}

export interface EuiccCampaignResult {
  /** APDUs of one complete download (ES10 session open and close included) */
  readonly apdusPerDownload: number;
  readonly commands: readonly string[];
  readonly points: readonly EuiccKillPoint[];
  readonly counts: { readonly complete: number; readonly none: number; readonly recoveredSameOrder: number; readonly recoveredNewOrder: number; readonly failed: number; readonly withProblems: number };
}

export interface EuiccCampaignOptions {
  readonly workDir: string;
  /** APDU numbers to kill after (default: every APDU of the download) */
  readonly points?: readonly number[] | ((apdusPerDownload: number, commands: readonly string[]) => number[]);
  readonly log?: CampaignLog;
  /** time to wait for the eUICC process to connect after a (re)start */
  readonly startTimeoutMs?: number;
}

/** Every point of a ProfileInstallationResult check, for one kill point. */
function checkEuiccAfterRestart(o: {
  view: CardView;
  state: EuiccState;
  iccid: string;
  transactionId: string | undefined;
  markerAtKill: EuiccState['bppInProgress'];
  midBpp: boolean;
  installedUpp: string | undefined;
  expectedUpp: string;
  seqFloor: number;
  restartLog: string[];
  problems: string[];
}): { state: 'complete' | 'none'; interruption: boolean } {
  const p = o.problems;
  const has = o.view.iccids.includes(o.iccid);
  if (has && o.installedUpp !== o.expectedUpp) p.push(`ICCID ${o.iccid} is listed but its package differs from the one the SM-DP+ bound (partial profile)`);
  if (!has && o.installedUpp !== undefined) p.push(`the state file holds a package for ${o.iccid} that GetProfilesInfo does not list`);
  if (o.state.bppInProgress) p.push('the "BPP in progress" marker survived the restart');
  checkSeqNumbers(o.view, o.seqFloor, p);
  if (o.state.lastSeqNumber < Math.max(0, ...o.view.seqNumbers)) p.push(`lastSeqNumber ${o.state.lastSeqNumber} is below a pending notification's seqNumber`);
  const mine = o.transactionId ? o.view.pirs.filter((r) => r.transactionId === o.transactionId) : [];
  if (mine.length > 1) p.push(`${mine.length} installation results for transaction ${o.transactionId}`);
  const interruption = mine.some((r) => r.result === 'error' && r.errorReason === 11);
  if (o.midBpp !== (o.markerAtKill !== undefined)) p.push(`LPA view (mid-BPP ${o.midBpp}) and state file (marker ${o.markerAtKill !== undefined}) disagree about the kill point`);
  if (o.markerAtKill) {
    if (has) p.push('a profile is installed although the BPP was interrupted');
    if (!interruption) p.push(`no installFailedDueToInterruption (11) result for transaction ${o.transactionId ?? '?'} after a mid-BPP kill`);
    const r = mine[0];
    if (r && r.bppCommandId !== o.markerAtKill.bppCommandId) p.push(`interruption result names bppCommandId ${r.bppCommandId}, the marker said ${o.markerAtKill.bppCommandId}`);
    if (!o.restartLog.some((l) => l.includes('interrupted'))) p.push('the restarted eUICC did not report the interrupted download');
  } else {
    if (interruption) p.push('an interruption result although no BPP was in progress at the kill');
    if (mine.some((r) => r.result === 'error')) p.push(`an error installation result for transaction ${o.transactionId}`);
    if (!has && mine.length) p.push('an installation result for a profile that is not installed');
  }
  return { state: has ? 'complete' : 'none', interruption };
}

/** Delete the given profiles and deliver every pending notification (next kill point starts clean). */
async function cleanCard(transport: ApduTransport, http: RspHttpOptions, iccids: readonly string[]): Promise<void> {
  const lpa = await Lpa.open(transport, { http });
  for (const iccid of iccids) await lpa.deleteProfile({ iccid });
  await lpa.processNotifications();
  await lpa.close();
}

export async function euiccPowerLossCampaign(o: EuiccCampaignOptions): Promise<EuiccCampaignResult> {
  const log = o.log ?? (() => undefined);
  mkdirSync(o.workDir, { recursive: true });
  const startTimeoutMs = o.startTimeoutMs ?? 60_000;
  const smdp: SmdpServer = await startSmdp({ dataDir: join(o.workDir, 'smdp'), host: '127.0.0.1', port: 0, inventory: [{ template: CAMPAIGN_TEMPLATE, count: 2 }] });
  const http: RspHttpOptions = { ca: smdp.trustAnchorPem, connect: { host: '127.0.0.1', port: smdp.port } };
  const listener = await VpcdReaderListener.listen('127.0.0.1', 0, { commandTimeoutMs: 30_000 });
  const statePath = join(o.workDir, 'euicc-state.json');
  const card = new EuiccProcess({ statePath, vpcdPort: listener.port });
  const order = (): { activationCode: string; iccid: string } => {
    smdp.inventory.add({ template: CAMPAIGN_TEMPLATE, count: 1 });
    return smdp.es2.order({});
  };
  let link: VpcdReaderTransport | undefined;
  const connect = async (): Promise<VpcdReaderTransport> => {
    card.start();
    link = await listener.accept(startTimeoutMs);
    return link;
  };
  const points: EuiccKillPoint[] = [];
  try {
    // reference download: N and the command of every APDU
    let transport = await connect();
    const commands: string[] = [];
    let pending = 0;
    const counting: ApduTransport = {
      transmit: async (c) => {
        const r = await transport.transmit(c);
        pending++;
        return r;
      },
      reset: () => transport.reset(),
      close: async () => undefined,
    };
    const label = (fn: string) => {
      for (; pending > 0; pending--) commands.push(fn);
    };
    const ref = await Lpa.open(counting, { http, es10: { trace: { onCommand: (r) => label(r.fn) } } });
    label('open ES10 session (MANAGE CHANNEL, SELECT ISD-R)');
    const refResult = await ref.downloadProfile(order().activationCode);
    label('(download)');
    await ref.close();
    label('close ES10 session (MANAGE CHANNEL close)');
    const N = commands.length;
    await cleanCard(transport, http, [refResult.iccid]);
    log(`eUICC campaign: a download is ${N} APDUs`);
    const wanted = typeof o.points === 'function' ? o.points(N, commands) : (o.points ?? Array.from({ length: N }, (_, i) => i + 1));

    for (const k of wanted) {
      if (k < 1 || k > N) throw new RangeError(`kill point ${k} outside 1..${N}`);
      const problems: string[] = [];
      const watch = new BppWatch();
      // every notification made from here on must be numbered above this
      const seqFloor = readState(statePath).lastSeqNumber;
      const { activationCode: ac, iccid } = order();
      let markerAtKill: EuiccState['bppInProgress'];
      let installedAtKill = false;
      const killer = new KillAfter(transport, k, async () => {
        await card.kill();
        const s = readState(statePath);
        markerAtKill = s.bppInProgress;
        installedAtKill = s.profiles.some((p) => p.iccid === iccid);
      });
      // the download until the kill (it fails at the next APDU, unless k is the last one)
      let attempts: string[] = [];
      try {
        const lpa = await Lpa.open(killer, { http, onProgress: watch.onProgress, es10: { trace: { onCommand: watch.onCommand } } });
        await lpa.downloadProfile(ac);
        await lpa.close();
      } catch (e) {
        if (!killer.killed) problems.push(`download failed before the kill: ${describe(e)}`);
        else attempts.push(`interrupted by the kill: ${describe(e)}`);
      }
      if (!killer.killed) problems.push(`the download took fewer than ${k} APDUs (${killer.count})`);
      // restart from the state file
      await link?.close();
      const restartFrom = card.output().length;
      transport = await connect();
      const lpa = await Lpa.open(transport, { http });
      const view = await cardView(lpa);
      const state = readState(statePath);
      const installed = state.profiles.find((p) => p.iccid === iccid);
      const verdict = checkEuiccAfterRestart({
        view,
        state,
        iccid,
        transactionId: watch.transactionId,
        markerAtKill,
        midBpp: watch.midBpp,
        installedUpp: installed?.upp,
        expectedUpp: Buffer.from(smdp.inventory.personalisedUpp(iccid)).toString('hex'),
        seqFloor,
        restartLog: card.output().slice(restartFrom),
        problems,
      });
      if (installedAtKill !== (verdict.state === 'complete')) problems.push(`installed at the kill: ${installedAtKill}, after the restart: ${verdict.state}`);
      // the LPA finishes the job
      let recovery: Recovery = 'not-needed';
      const toDelete = new Set<string>();
      if (verdict.state === 'complete') {
        toDelete.add(iccid);
        try {
          await lpa.processNotifications();
        } catch (e) {
          problems.push(`pending notifications after the restart: ${describe(e)}`);
        }
      } else {
        const r = await retryDownload(lpa, ac, async () => order().activationCode);
        recovery = r.recovery;
        attempts = [...attempts, ...r.attempts];
        if (r.iccid) toDelete.add(r.iccid);
        else problems.push(`no retry succeeded: ${r.attempts.join('; ')}`);
      }
      const interrupted = verdict.interruption;
      // SM-DP+: at most one accepted installation result for the interrupted transaction
      const accepted = smdp.state.notifications().filter((x) => x.accepted && x.kind === 'profileInstallationResult' && x.transactionId === watch.transactionId);
      if (accepted.length > 1) problems.push(`the SM-DP+ accepted ${accepted.length} installation results for ${watch.transactionId}`);
      await lpa.close();
      // clean the card for the next point
      await cleanCard(transport, http, [...toDelete]);
      const point: EuiccKillPoint = { apdu: k, command: commands[k - 1] ?? '?', midBpp: watch.midBpp, markerAtKill: markerAtKill !== undefined, state: verdict.state, interruptionResult: interrupted, recovery, attempts, problems };
      points.push(point);
      log(`  kill after APDU ${k}/${N} (${point.command}): ${point.state}${point.markerAtKill ? ', BPP interrupted' : ''}, recovery ${recovery}${problems.length ? `; PROBLEMS: ${problems.join('; ')}` : ''}`);
    }
    return {
      apdusPerDownload: N,
      commands,
      points,
      counts: {
        complete: points.filter((p) => p.state === 'complete').length,
        none: points.filter((p) => p.state === 'none').length,
        recoveredSameOrder: points.filter((p) => p.recovery === 'same-order').length,
        recoveredNewOrder: points.filter((p) => p.recovery === 'new-order').length,
        failed: points.filter((p) => p.recovery === 'failed').length,
        withProblems: points.filter((p) => p.problems.length > 0).length,
      },
    };
  } finally {
    await link?.close();
    await card.stop();
    await listener.close();
    await smdp.close();
  }
}

// ---------------------------------------------------------------------------------------
// SM-DP+ campaign

export const ES9P_CALLS = ['initiateAuthentication', 'authenticateClient', 'getBoundProfilePackage', 'handleNotification'] as const;
export type Es9pCall = (typeof ES9P_CALLS)[number];
export type SmdpKillMode = 'after' | 'lost-response';

export interface SmdpKillSpec {
  readonly call: Es9pCall;
  readonly mode: SmdpKillMode;
}

export interface SmdpKillPoint extends SmdpKillSpec {
  /** what the restarted SM-DP+ held for the profile */
  readonly afterRestart: { readonly profileState?: string; readonly sessionState?: string; readonly downloadAttempts?: number; readonly orderClosed?: boolean; readonly acceptedResults: number };
  readonly recovery: Recovery;
  readonly attempts: readonly string[];
  readonly problems: readonly string[];
}

export interface SmdpCampaignResult {
  readonly points: readonly SmdpKillPoint[];
  readonly counts: { readonly continued: number; readonly sameOrder: number; readonly newOrder: number; readonly failed: number; readonly withProblems: number };
}

/** What the server must hold once it has answered `call` (it commits before it answers). */
function checkSmdpState(call: Es9pCall, st: SmdpState, transactionId: string | undefined, problems: string[]): void {
  const session = st.sessions.find((s) => s.transactionId === transactionId);
  const p = st.profile;
  const o = st.order;
  if (!p || !o) {
    problems.push('the profile or its order is missing after the restart');
    return;
  }
  if (!session) problems.push(`no session ${transactionId ?? '?'} after the restart`);
  if (!o.closed && p.orderId !== o.orderId) problems.push(`the open order ${o.orderId} does not hold profile ${p.iccid} (${p.orderId ?? 'none'})`);
  const accepted = st.notifications.filter((n) => n.accepted && n.kind === 'profileInstallationResult' && n.transactionId === transactionId);
  if (accepted.length > 1) problems.push(`${accepted.length} accepted installation results for one transaction`);
  const expect: Record<Es9pCall, { profile: string; session: string; attempts: number; closed: boolean; results: number }> = {
    initiateAuthentication: { profile: 'Released', session: 'authInitiated', attempts: 0, closed: false, results: 0 },
    authenticateClient: { profile: 'Released', session: 'clientAuthenticated', attempts: 1, closed: false, results: 0 },
    getBoundProfilePackage: { profile: 'Downloaded', session: 'bppDelivered', attempts: 1, closed: false, results: 0 },
    handleNotification: { profile: 'Installed', session: 'completed', attempts: 1, closed: true, results: 1 },
  };
  const e = expect[call];
  if (p.state !== e.profile) problems.push(`profile is ${p.state}, expected ${e.profile} after ${call}`);
  if (session && session.state !== e.session) problems.push(`session is ${session.state}, expected ${e.session} after ${call}`);
  if (o.downloadAttempts !== e.attempts) problems.push(`order has ${o.downloadAttempts} download attempts, expected ${e.attempts}`);
  if (o.closed !== e.closed) problems.push(`order closed: ${o.closed}, expected ${e.closed}`);
  if (accepted.length !== e.results) problems.push(`${accepted.length} accepted installation results, expected ${e.results}`);
  if (call === 'getBoundProfilePackage' && !o.binding) problems.push('the BPP binding of the order was lost');
}

export interface SmdpCampaignOptions {
  readonly workDir: string;
  /** default: every ES9+ call in both modes */
  readonly points?: readonly SmdpKillSpec[];
  readonly log?: CampaignLog;
}

export async function smdpPowerLossCampaign(o: SmdpCampaignOptions): Promise<SmdpCampaignResult> {
  const log = o.log ?? (() => undefined);
  mkdirSync(o.workDir, { recursive: true });
  const specs = o.points ?? ES9P_CALLS.flatMap((call) => (['after', 'lost-response'] as const).map((mode) => ({ call, mode })));
  const server = new SmdpProcess({ dataDir: join(o.workDir, 'smdp'), template: CAMPAIGN_TEMPLATE, count: 3 * specs.length + 4, logFile: join(o.workDir, 'smdp.log') });
  await server.start();
  const points: SmdpKillPoint[] = [];
  let euicc: Euicc | undefined;
  try {
    let i = 0;
    for (const spec of specs) {
      const problems: string[] = [];
      euicc = await createEuicc({ statePath: join(o.workDir, `euicc-${i++}.json`), identity: 'nist', svn: '2.5.0' });
      const [first] = await server.orders(1);
      const iccid = first!.iccid;
      const http: RspHttpOptions = { ca: server.trustAnchorPem, connect: { host: '127.0.0.1', port: server.port } };
      /** the session of the first attempt, as the SM-DP+ answered it (even when the LPA lost that answer) */
      let sessionTx: string | undefined;
      let killedAfterCall = false;
      let restarted: SmdpState | undefined;
      const wrap = (address: string): Es9pApi => {
        const inner = new Es9pClient(address, http);
        const around =
          <A extends unknown[], R>(name: Es9pCall, f: (...a: A) => Promise<R>) =>
          async (...a: A): Promise<R> => {
            const r = await f(...a);
            if (name === 'initiateAuthentication') sessionTx = transactionIdToHex((r as Awaited<ReturnType<Es9pApi['initiateAuthentication']>>).transactionId);
            if (name === spec.call && !killedAfterCall) {
              killedAfterCall = true;
              await server.kill();
              await server.start();
              // what the restarted server holds, before the LPA goes on
              restarted = await server.state(iccid, sessionTx);
              if (spec.mode === 'lost-response') throw new Es9TransportError(`ES9+.${name}`, 'network', 'connection reset: the SM-DP+ died before its answer arrived (campaign)');
            }
            return r;
          };
        return {
          smdpAddress: inner.smdpAddress,
          initiateAuthentication: around('initiateAuthentication', (x: Parameters<Es9pApi['initiateAuthentication']>[0]) => inner.initiateAuthentication(x)),
          authenticateClient: around('authenticateClient', (t: Uint8Array, r: Uint8Array) => inner.authenticateClient(t, r)),
          getBoundProfilePackage: around('getBoundProfilePackage', (t: Uint8Array, r: Uint8Array) => inner.getBoundProfilePackage(t, r)),
          handleNotification: around('handleNotification', (n: Uint8Array) => inner.handleNotification(n)),
          cancelSession: (t: Uint8Array, r: Uint8Array) => inner.cancelSession(t, r),
        };
      };
      const lpa = await Lpa.open(euicc, { http, es9pFactory: wrap });
      let recovery: Recovery = 'continued';
      let attempts: string[] = [];
      let delivered = true;
      let installedIccid: string | undefined;
      try {
        const r = await lpa.downloadProfile(first!.activationCode);
        installedIccid = r.iccid;
        delivered = r.notification?.delivered ?? false;
      } catch (e) {
        if (!(e instanceof LpaError)) throw e;
        attempts.push(`first attempt: ${describe(e)}`);
        recovery = 'failed';
      }
      if (!killedAfterCall) problems.push(`the download never made a successful ${spec.call} call`);
      const st: SmdpState = restarted ?? { sessions: [], notifications: [] };
      checkSmdpState(spec.call, st, sessionTx, problems);
      const accepted = st.notifications.filter((n) => n.accepted && n.kind === 'profileInstallationResult' && n.transactionId === sessionTx).length;
      const session = st.sessions.find((s) => s.transactionId === sessionTx);
      const afterRestart = {
        ...(st.profile ? { profileState: st.profile.state } : {}),
        ...(session ? { sessionState: session.state } : {}),
        ...(st.order ? { downloadAttempts: st.order.downloadAttempts, orderClosed: st.order.closed } : {}),
        acceptedResults: accepted,
      };
      if (recovery === 'failed') {
        const r = await retryDownload(lpa, first!.activationCode, async () => (await server.orders(1))[0]!.activationCode);
        recovery = r.recovery;
        attempts = [...attempts, ...r.attempts];
        installedIccid = r.iccid;
      } else if (!delivered) {
        // the answer to handleNotification was lost: the LPA sends the notification again
        await lpa.processNotifications().catch((e: unknown) => attempts.push(`notification again: ${describe(e)}`));
      }
      if (installedIccid) {
        if (!euicc.state.profile(installedIccid)) problems.push(`${installedIccid} is not installed on the eUICC`);
        const fin = await server.state(installedIccid);
        if (fin.profile?.state !== 'Installed') problems.push(`the SM-DP+ has ${installedIccid} ${fin.profile?.state ?? 'missing'} at the end, expected Installed`);
        const results = fin.notifications.filter((n) => n.accepted && n.kind === 'profileInstallationResult' && n.iccid === installedIccid).length;
        if (results !== 1) problems.push(`${results} accepted installation results for ${installedIccid}, expected 1`);
      } else problems.push(`no download succeeded: ${attempts.join('; ')}`);
      if (euicc.state.notifications().length) problems.push(`${euicc.state.notifications().length} notification(s) still pending on the eUICC`);
      await lpa.close();
      await euicc.close();
      euicc = undefined;
      const point: SmdpKillPoint = { ...spec, afterRestart, recovery, attempts, problems };
      points.push(point);
      log(`  kill after ${spec.call} (${spec.mode}): restarted with profile ${afterRestart.profileState ?? '?'}, session ${afterRestart.sessionState ?? '?'}; recovery ${recovery}${problems.length ? `; PROBLEMS: ${problems.join('; ')}` : ''}`);
    }
  } finally {
    await euicc?.close();
    await server.close();
  }
  return {
    points,
    counts: {
      continued: points.filter((p) => p.recovery === 'continued').length,
      sameOrder: points.filter((p) => p.recovery === 'same-order').length,
      newOrder: points.filter((p) => p.recovery === 'new-order').length,
      failed: points.filter((p) => p.recovery === 'failed').length,
      withProblems: points.filter((p) => p.problems.length > 0).length,
    },
  };
}
