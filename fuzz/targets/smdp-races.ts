// Campaign `smdp-races`: stale ProfileInstallationResults and cross-order races on the test
// SM-DP+ (SGP.22 3.1.6 profile states, 5.3 ES2+ orders, 5.6 ES9+ sessions). A few profiles
// and three eUICCs; each iteration is one operation, sometimes two at once: an ES2+ order
// (in process), a download up to the BPP (the session and its PIR are kept), a PIR of a
// kept session (fresh or stale, success or failure), a CancelSession (eUICC-signed with a
// random reason, or only the transactionId), a CancelOrder (Available or Unavailable).
//
// Must hold after every operation: the database passes its start-up checks (state.check);
// every profile's history uses only transitions of PROFILE_TRANSITIONS; a PIR whose
// session's order no longer held the profile when it was sent is not accepted; no ICCID
// has more than one accepted successful PIR (so it is never installed on two eUICCs);
// CancelOrder(Available) of a Downloaded profile never succeeds; an unsigned CancelSession
// of a session bound to an eUICC is refused; the server logs no error.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { issueEuicc, randomEid } from '../../certs/issue.ts';
import { CancelSessionResponse } from '../../sim/rsp/es10b.ts';
import { bytesToBase64 } from '../../sim/rsp/json.ts';
import { RspFunctionError } from '../../sim/smdp/errors.ts';
import { PROFILE_TRANSITIONS, type ProfileEvent, type ProfileState } from '../../sim/smdp/inventory-state.ts';
import { startSmdp, type SmdpServer } from '../../sim/smdp/server.ts';
import { TestEuicc } from '../../sim/smdp/testing/euicc-sim.ts';
import { codeOf, download, FlowError, RspClient } from '../../sim/smdp/testing/client.ts';
import type { Campaign, CampaignContext } from '../harness.ts';
import { Rng } from '../prng.ts';

export const RACES_EPISODE = 16;
const TEMPLATE = 'TS48v2_SAIP2.3_NoBERTLV';

interface Kept {
  euicc: number;
  transactionId: string;
  iccid: string;
  orderId: string;
}

interface World {
  server: SmdpServer;
  client: RspClient;
  euiccs: TestEuicc[];
  kept: Kept[];
  /** accepted successful PIRs per ICCID */
  installs: Map<string, number>;
  seenNotifications: number;
  /** downloads in flight per eUICC index (an eUICC holds one euiccChallenge at a time) */
  downloading?: Map<number, number>;
  /** downloads started so far per eUICC index */
  downloadStarts?: Map<number, number>;
}

type Outcome = { ok: true; what: string } | { ok: false; violation: string };

function pick<T>(rng: Rng, items: readonly T[]): T | undefined {
  return items.length ? rng.pick(items) : undefined;
}

async function opOrder(rng: Rng, w: World): Promise<Outcome> {
  const available = w.server.inventory.list().filter((p) => p.state === 'Available');
  if (available.length === 0) w.server.inventory.add({ template: TEMPLATE, count: 2 });
  const p = pick(rng, w.server.inventory.list().filter((x) => x.state === 'Available'))!;
  const o = w.server.es2.order({ iccid: p.iccid, ...(rng.chance(0.2) ? { eid: w.euiccs[rng.int(w.euiccs.length)]!.eid, matchingId: '' } : {}) });
  return { ok: true, what: `order ${o.iccid}` };
}

async function opDownload(rng: Rng, w: World): Promise<Outcome> {
  const orders = w.server.state.orders().filter((o) => !o.closed && o.matchingId);
  const o = pick(rng, orders);
  if (!o) return opOrder(rng, w);
  const e = rng.int(w.euiccs.length);
  // a download of the same eUICC in flight when this one starts, or started before it ends
  const starts = (w.downloadStarts ??= new Map());
  const inFlight = (w.downloading ??= new Map());
  const overlappedAtStart = (inFlight.get(e) ?? 0) > 0;
  const myStart = (starts.get(e) ?? 0) + 1;
  starts.set(e, myStart);
  inFlight.set(e, (inFlight.get(e) ?? 0) + 1);
  try {
    const d = await download(w.client, w.euiccs[e]!, { address: w.server.address, matchingId: o.matchingId! });
    w.kept.push({ euicc: e, transactionId: d.transactionId, iccid: o.iccid, orderId: o.orderId });
    return { ok: true, what: `download ${o.iccid} by eUICC ${e}` };
  } catch (err) {
    if (err instanceof FlowError) return { ok: true, what: `download refused: ${err.message.slice(0, 80)}` };
    // two sessions of one eUICC at once: GetEuiccChallenge of the second replaced the first's
    // challenge, so the eUICC refuses the first server's signature (SGP.22 5.7.13) - as it must
    if ((overlappedAtStart || starts.get(e) !== myStart) && err instanceof Error && err.message.endsWith('euiccChallengeMismatch')) return { ok: true, what: 'download refused by the eUICC: another session of it started meanwhile' };
    throw err;
  } finally {
    inFlight.set(e, (inFlight.get(e) ?? 1) - 1);
  }
}

async function opPir(rng: Rng, w: World): Promise<Outcome> {
  const k = pick(rng, w.kept);
  if (!k) return opDownload(rng, w);
  const profile = w.server.inventory.get(k.iccid);
  const order = w.server.state.order(k.iccid);
  const fresh = profile?.orderId === k.orderId && order?.orderId === k.orderId && !order.closed;
  const success = rng.chance(0.6);
  const e = w.euiccs[k.euicc]!;
  const pir = e.profileInstallationResult({
    iccid: k.iccid,
    notificationAddress: w.server.address,
    smdpOid: w.server.smdpOid,
    transactionId: Buffer.from(k.transactionId, 'hex'),
    ...(success ? {} : { error: { bppCommandId: 5, errorReason: 12 } }),
  });
  const before = w.server.state.notifications().length;
  const r = await w.client.handleNotification(pir);
  if (r.status !== 204) return { ok: false, violation: `handleNotification answered HTTP ${r.status}` };
  const rec = w.server.state.notifications().at(-1);
  if (!rec || w.server.state.notifications().length <= before - 1) return { ok: false, violation: 'the notification was not recorded' };
  if (rec.accepted && !fresh) return { ok: false, violation: `a stale PIR (session ${k.transactionId}, its order no longer held ${k.iccid}) was accepted` };
  return { ok: true, what: `${fresh ? 'fresh' : 'stale'} PIR ${success ? 'success' : 'failure'} -> ${rec.accepted ? 'accepted' : rec.rejection}` };
}

async function opCancelSession(rng: Rng, w: World): Promise<Outcome> {
  const k = pick(rng, w.kept);
  if (!k) return opDownload(rng, w);
  const session = w.server.state.session(k.transactionId);
  if (rng.chance(0.5)) {
    const r = await w.client.post('/gsma/rsp2/es9plus/cancelSession', { transactionId: k.transactionId, cancelSessionResponse: bytesToBase64(CancelSessionResponse.encode({ cancelSessionResponseError: 5 })) });
    if (session?.euiccCertificate && codeOf(r) === 'ok') return { ok: false, violation: `an unsigned CancelSession of session ${k.transactionId}, bound to an eUICC, was executed` };
    return { ok: true, what: `unsigned cancel -> ${codeOf(r)}` };
  }
  const e = w.euiccs[k.euicc]!;
  if (e.transactionId === undefined || Buffer.from(e.transactionId).toString('hex').toUpperCase() !== k.transactionId) return { ok: true, what: 'signed cancel: not the eUICC current session' };
  const r = await w.client.cancelSession(k.transactionId, e.cancelSession(rng.int(6), w.server.smdpOid));
  return { ok: true, what: `signed cancel -> ${codeOf(r)}` };
}

async function opCancelOrder(rng: Rng, w: World): Promise<Outcome> {
  const p = pick(rng, w.server.inventory.list().filter((x) => x.orderId !== undefined));
  if (!p) return opOrder(rng, w);
  const to = rng.chance(0.7) ? 'Available' : 'Unavailable';
  const wasDownloaded = p.state === 'Downloaded';
  try {
    w.server.es2.cancelOrder({ iccid: p.iccid, finalProfileStatusIndicator: to });
  } catch (e) {
    if (e instanceof RspFunctionError) return { ok: true, what: `cancelOrder ${p.state} -> ${to}: ${e.subjectCode}/${e.reasonCode}` };
    throw e;
  }
  if (wasDownloaded && to === 'Available') return { ok: false, violation: `CancelOrder(Available) succeeded on the Downloaded profile ${p.iccid}` };
  return { ok: true, what: `cancelOrder ${p.state} -> ${to}` };
}

const OPS: readonly (readonly [(rng: Rng, w: World) => Promise<Outcome>, number])[] = [
  [opOrder, 2],
  [opDownload, 4],
  [opPir, 4],
  [opCancelSession, 2],
  [opCancelOrder, 2],
];

/** Invariants over the whole server state. */
function checkWorld(w: World): string | undefined {
  try {
    w.server.state.check();
  } catch (e) {
    return `state check: ${(e as Error).message.slice(0, 300)}`;
  }
  for (const p of w.server.inventory.list())
    for (let j = 1; j < p.history.length; j++) {
      const from = p.history[j - 1]!.state as ProfileState;
      const step = p.history[j]!;
      if (PROFILE_TRANSITIONS[from][step.event as ProfileEvent] !== step.state) return `profile ${p.iccid}: ${from} -> ${step.state} by '${step.event}' is not a transition`;
    }
  const notes = w.server.state.notifications();
  for (const n of notes.slice(w.seenNotifications))
    if (n.accepted && n.kind === 'profileInstallationResult' && n.result === 'success' && n.iccid) w.installs.set(n.iccid, (w.installs.get(n.iccid) ?? 0) + 1);
  w.seenNotifications = notes.length;
  for (const [iccid, count] of w.installs) if (count > 1) return `ICCID ${iccid} has ${count} accepted successful PIRs (installed twice)`;
  return undefined;
}

export const smdpRacesCampaign: Campaign = {
  name: 'smdp-races',
  description: 'stale PIRs, cross-order races, unsigned CancelSession and CancelOrder against the SM-DP+ profile state machine',
  defaultIterations: 800,
  weight: 60,
  episodeLength: RACES_EPISODE,
  unit: 'operation',
  async run(ctx: CampaignContext) {
    const dataDir = mkdtempSync(join(tmpdir(), 'bridgelab-fuzz-smdpraces-'));
    const errors: string[] = [];
    const server = await startSmdp({ dataDir, host: '127.0.0.1', port: 0, inventory: [{ template: TEMPLATE, count: 3 }], log: (level, m) => level === 'error' && errors.push(m) });
    const euiccs = [new TestEuicc()];
    for (let k = 0; k < 2; k++) {
      const issued = await issueEuicc({ eid: randomEid() });
      euiccs.push(new TestEuicc({ cert: issued.der, key: issued.key }));
    }
    const w: World = { server, client: new RspClient(server), euiccs, kept: [], installs: new Map(), seenNotifications: 0 };
    try {
      for (let episode = ctx.from / RACES_EPISODE; episode * RACES_EPISODE < ctx.to; episode++) {
        if (Date.now() > ctx.deadline) break;
        const rng = Rng.for(ctx.seed, 'smdp-races', episode);
        w.kept.length = 0;
        for (let k = 0; k < RACES_EPISODE; k++) {
          const i = episode * RACES_EPISODE + k;
          ctx.heartbeat(i);
          ctx.stats.count();
          const ops = rng.chance(0.25) ? [rng.weighted(OPS), rng.weighted(OPS)] : [rng.weighted(OPS)];
          let outcomes: Outcome[];
          try {
            outcomes = await Promise.all(ops.map((op) => op(rng, w)));
          } catch (e) {
            ctx.stats.crash(i, e, ops.map((o) => o.name).join(' + '));
            continue;
          }
          const shown = outcomes.map((o) => (o.ok ? o.what : o.violation)).join(' | ');
          const bad = outcomes.find((o): o is { ok: false; violation: string } => !o.ok);
          const broken = bad?.violation ?? checkWorld(w) ?? (errors.length ? `server logged errors: ${errors.splice(0).join(' | ').slice(0, 300)}` : undefined);
          if (broken) ctx.stats.violation(i, broken, shown);
          else ctx.stats.reject(outcomes.map((o) => (o.ok ? o.what.split(/[ :]/)[0] : 'x')).join('+'));
        }
      }
    } finally {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  },
};
