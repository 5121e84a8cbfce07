// Regression tests for issue 18 (SM-DP+ state and storage under hostile or unlucky clients):
// a late ProfileInstallationResult of an order that was closed must not touch the profile's
// next order; CancelOrder(Available) is refused once a BPP went out; a CancelSession with
// only a victim's transactionId changes nothing; rejected notifications are counted, not
// stored whole; sessions expire and are swept; the number of sessions and notifications is
// capped. Loopback HTTPS against a real SM-DP+ (ES9+ as an LPA sends it).
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { issueEuicc, randomEid } from '../../certs/issue.ts';
import { bytesToBase64, Status } from '../rsp/json.ts';
import { CancelSessionResponse, PendingNotification } from '../rsp/es10b.ts';
import { decode } from '../rsp/der.ts';
import { iccidToBytes } from '../rsp/iccid.ts';
import { postJson } from './https-json.ts';
import type { SmdpServer } from './server.ts';
import { SMDP_STATUS, RspFunctionError } from './errors.ts';
import { TestEuicc } from './testing/euicc-sim.ts';
import { authenticate, code, codeOf, download, RspClient } from './testing/client.ts';
import { removeDir, startTestSmdp, tempDir } from './testing/fixture.ts';
import type { SmdpOptions } from './server.ts';

let dir: string | undefined;
let server: SmdpServer | undefined;

afterEach(async () => {
  await server?.close();
  if (dir) removeDir(dir);
  server = undefined;
  dir = undefined;
});

async function start(opts: Partial<SmdpOptions> = {}): Promise<{ server: SmdpServer; client: RspClient }> {
  dir = tempDir();
  server = await startTestSmdp(dir, { inventory: [{ template: 'TS48v2_SAIP2.3_NoBERTLV', count: 4 }], ...opts });
  return { server, client: new RspClient(server) };
}

/** A second test eUICC with its own EID (SGP.26 EUM). */
async function otherEuicc(): Promise<TestEuicc> {
  const issued = await issueEuicc({ eid: randomEid() });
  return new TestEuicc({ cert: issued.der, key: issued.key });
}

function es2Code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof RspFunctionError) return `${e.subjectCode}/${e.reasonCode}`;
    throw e;
  }
  return 'ok';
}

describe('issue 18: state changes check that the session still owns the order', () => {
  it('SmdpPir_StaleAfterReorder: a late PIR of a closed order leaves the next order (another eUICC) alone', async () => {
    const { server: s, client } = await start();
    const first = s.es2.order();
    const a = new TestEuicc();
    // session A1 gets the BPP; its PIR is held back (a device offline)
    const a1 = await download(client, a, { address: s.address, matchingId: first.matchingId });
    // the LPA retries in session A2 (same order, same binding); A2 reports a failure
    await download(client, a, { address: s.address, matchingId: first.matchingId });
    const failedPir = a.profileInstallationResult({ iccid: first.iccid, notificationAddress: s.address, smdpOid: s.smdpOid, error: { bppCommandId: 5, errorReason: 12 } });
    expect((await client.handleNotification(failedPir)).status).toBe(204);
    expect(s.inventory.get(first.iccid)!.state).toBe('Error');
    // the operator frees the ICCID and orders it for eUICC B, which downloads it
    s.es2.cancelOrder({ iccid: first.iccid, finalProfileStatusIndicator: 'Available' });
    const second = s.es2.order({ iccid: first.iccid });
    const b = await otherEuicc();
    await download(client, b, { address: s.address, matchingId: second.matchingId });
    expect(s.inventory.get(first.iccid)!.state).toBe('Downloaded');
    // A1's late PIR (success) arrives: it must not install B's download
    const latePir = a.profileInstallationResult({ iccid: first.iccid, notificationAddress: s.address, smdpOid: s.smdpOid, transactionId: Buffer.from(a1.transactionId, 'hex') });
    expect((await client.handleNotification(latePir)).status).toBe(204);
    expect(s.inventory.get(first.iccid)!.state).toBe('Downloaded');
    expect(s.state.order(first.iccid)).toMatchObject({ orderId: expect.any(String), closed: false, eid: b.eid });
    expect(s.state.notifications().at(-1)).toMatchObject({ accepted: false, rejection: 'notOrderOwner', transactionId: a1.transactionId });
    // B's own PIR completes B's order
    const bPir = b.profileInstallationResult({ iccid: first.iccid, notificationAddress: s.address, smdpOid: s.smdpOid });
    expect((await client.handleNotification(bPir)).status).toBe(204);
    expect(s.inventory.get(first.iccid)!.state).toBe('Installed');
    expect(s.state.order(first.iccid)).toMatchObject({ closed: true, eid: b.eid });
  });

  it('SmdpPir_StaleFailureAfterReorder: a late failure PIR does not put the next order in Error', async () => {
    const { server: s, client } = await start();
    const first = s.es2.order();
    const a = new TestEuicc();
    const a1 = await download(client, a, { address: s.address, matchingId: first.matchingId });
    await download(client, a, { address: s.address, matchingId: first.matchingId });
    await client.handleNotification(a.profileInstallationResult({ iccid: first.iccid, notificationAddress: s.address, smdpOid: s.smdpOid, error: { bppCommandId: 5, errorReason: 12 } }));
    s.es2.cancelOrder({ iccid: first.iccid, finalProfileStatusIndicator: 'Available' });
    const second = s.es2.order({ iccid: first.iccid });
    const b = await otherEuicc();
    await download(client, b, { address: s.address, matchingId: second.matchingId });
    await client.handleNotification(
      a.profileInstallationResult({ iccid: first.iccid, notificationAddress: s.address, smdpOid: s.smdpOid, error: { bppCommandId: 5, errorReason: 12 }, transactionId: Buffer.from(a1.transactionId, 'hex') }),
    );
    expect(s.inventory.get(first.iccid)!.state).toBe('Downloaded');
  });

  it('SmdpCancelOrder_AvailableAfterDownload: CancelOrder(Available) on a Downloaded profile is 8.2.1/3.5; Unavailable is allowed', async () => {
    const { server: s, client } = await start();
    const o = s.es2.order();
    await download(client, new TestEuicc(), { address: s.address, matchingId: o.matchingId });
    expect(s.inventory.get(o.iccid)!.state).toBe('Downloaded');
    expect(es2Code(() => s.es2.cancelOrder({ iccid: o.iccid, finalProfileStatusIndicator: 'Available' }))).toBe(code(SMDP_STATUS.InvalidTransition));
    expect(s.inventory.get(o.iccid)!.state).toBe('Downloaded');
    expect(es2Code(() => s.es2.downloadOrder({ iccid: o.iccid }))).toBe(code(SMDP_STATUS.IccidInUse));
    s.es2.cancelOrder({ iccid: o.iccid, finalProfileStatusIndicator: 'Unavailable' });
    expect(s.inventory.get(o.iccid)!.state).toBe('Unavailable');
  });
});

describe('issue 18: CancelSession needs the eUICC-signed response (or the session own client before AuthenticateClient)', () => {
  const unsignedCancel = bytesToBase64(CancelSessionResponse.encode({ cancelSessionResponseError: 5 }));

  it('SmdpCancelSession_VictimTransactionId: only the transactionId, no signature: refused (8.1/6.1); the victim downloads', async () => {
    const { server: s, client } = await start();
    const o = s.es2.order();
    const victim = new TestEuicc();
    const { auth } = await authenticate(client, victim, { address: s.address, matchingId: o.matchingId });
    const r = await client.post('/gsma/rsp2/es9plus/cancelSession', { transactionId: auth.transactionId, cancelSessionResponse: unsignedCancel });
    expect(codeOf(r)).toBe(code(Status.EuiccSignatureInvalid));
    expect(s.state.session(auth.transactionId)!.state).toBe('clientAuthenticated');
    expect(s.inventory.get(o.iccid)!.state).toBe('Released');
    // a response signed by another eUICC does not do it either
    const attacker = await otherEuicc();
    await authenticate(client, attacker, { address: s.address, matchingId: s.es2.order().matchingId });
    const forged = decode(CancelSessionResponse, attacker.cancelSession(0, s.smdpOid));
    if (!('cancelSessionResponseOk' in forged)) throw new Error('not ok');
    forged.cancelSessionResponseOk.euiccCancelSessionSigned.transactionId = Buffer.from(auth.transactionId, 'hex');
    const r2 = await client.post('/gsma/rsp2/es9plus/cancelSession', { transactionId: auth.transactionId, cancelSessionResponse: bytesToBase64(CancelSessionResponse.encode(forged)) });
    expect(codeOf(r2)).toBe(code(Status.EuiccSignatureInvalid));
    expect(s.state.session(auth.transactionId)!.state).toBe('clientAuthenticated');
    // the victim's own eUICC-signed cancel works
    const own = await client.cancelSession(auth.transactionId, victim.cancelSession(0, s.smdpOid));
    expect(codeOf(own)).toBe('ok');
    expect(s.state.session(auth.transactionId)).toMatchObject({ state: 'cancelled', cancelReason: 0 });
    expect(s.inventory.get(o.iccid)!.state).toBe('Error');
  });

  it('SmdpCancelSession_UnboundFromAnotherClient: before AuthenticateClient only the opening client may cancel', async () => {
    const { server: s, client } = await start();
    const ia = await client.initiateAuthentication(new TestEuicc().initiateAuthenticationBody(s.address));
    const txid = ia.body.transactionId;
    const tls = { ca: s.trustAnchorPem, servername: s.hostname };
    const other = await postJson(`${s.url}/gsma/rsp2/es9plus/cancelSession`, { transactionId: txid, cancelSessionResponse: unsignedCancel }, { ...tls, localAddress: '127.0.0.2' });
    expect(other.status).toBe(200);
    expect((other.json as { header: { functionExecutionStatus: { statusCodeData: { subjectCode: string; reasonCode: string } } } }).header.functionExecutionStatus.statusCodeData).toMatchObject({ subjectCode: '8.1', reasonCode: '6.1' });
    expect(s.state.session(txid)!.state).toBe('authInitiated');
    const same = await postJson(`${s.url}/gsma/rsp2/es9plus/cancelSession`, { transactionId: txid, cancelSessionResponse: unsignedCancel }, tls);
    expect(same.status).toBe(200);
    expect(s.state.session(txid)!.state).toBe('cancelled');
  });
});

/** A PIR for an unknown session with a notificationAddress of `pad` characters: decodes, and is rejected. */
function bigRejectedPir(pad: number): Uint8Array {
  return PendingNotification.encode({
    profileInstallationResult: {
      profileInstallationResultData: {
        transactionId: new Uint8Array(16).fill(0x42),
        notificationMetadata: { seqNumber: 1, profileManagementOperation: ['notificationInstall'], notificationAddress: 'x'.repeat(pad), iccid: iccidToBytes('89000123456789012341') },
        smdpOid: '2.999.10',
        finalResult: { errorResult: { bppCommandId: 1, errorReason: 1 } },
      },
      euiccSignPIR: new Uint8Array(64),
    },
  });
}

function dirBytes(path: string): number {
  return readdirSync(path, { withFileTypes: true }).reduce((n, e) => n + (e.isDirectory() ? dirBytes(join(path, e.name)) : statSync(join(path, e.name)).size), 0);
}

describe('issue 18: storage stays bounded', () => {
  it('SmdpNotifications_RejectedNotStoredWhole: 20 rejected 700 KB notifications are counted, not stored', async () => {
    const { server: s, client } = await start();
    const before = dirBytes(s.dataDir);
    const pir = bigRejectedPir(700_000);
    for (let i = 0; i < 20; i++) expect((await client.handleNotification(pir)).status).toBe(204);
    const notes = s.state.notifications();
    expect(notes).toHaveLength(20);
    expect(notes.every((n) => n.rejection === 'unknownTransaction' && n.raw === undefined && n.rawBytes === pir.byteLength && /^[0-9a-f]{64}$/.test(n.rawSha256 ?? ''))).toBe(true);
    expect(s.state.counters().rejectedNotifications).toEqual({ unknownTransaction: 20 });
    // 20 x 930 KB of base64 were stored before; now records of a few hundred bytes
    expect(dirBytes(s.dataDir) - before).toBeLessThan(1024 * 1024);
  });

  it('SmdpSessions_Expire: a pending session expires after its lifetime (8.10.1/3.9) and the sweep deletes it', async () => {
    let now = Date.now();
    const { server: s, client } = await start({ now: () => now, retention: { sessionTtlMs: 60_000, sweepIntervalMs: 0 } });
    const o = s.es2.order();
    const euicc = new TestEuicc();
    const ia = await client.initiateAuthentication(euicc.initiateAuthenticationBody(s.address));
    const idle = await client.initiateAuthentication(euicc.initiateAuthenticationBody(s.address));
    now += 61_000;
    const asr = euicc.authenticateServer(ia.body, { matchingId: o.matchingId });
    const ac = await client.authenticateClient({ transactionId: ia.body.transactionId, authenticateServerResponse: bytesToBase64(asr.der) });
    expect(codeOf(ac)).toBe(code(Status.UnknownTransactionId));
    expect(s.state.session(ia.body.transactionId)).toBeUndefined();
    expect(s.state.session(idle.body.transactionId)).toBeDefined();
    expect(s.sweep()).toEqual({ sessions: 1, notifications: 0, orders: 0 });
    expect(s.state.sessions()).toEqual([]);
    expect(s.state.counters().removed).toMatchObject({ sessions: 1 });
  });

  it('SmdpSessions_Capped: at most maxSessions; the oldest pending ones go first, the newest stay usable', async () => {
    const { server: s, client } = await start({ retention: { maxSessions: 50 } });
    const euicc = new TestEuicc();
    const body = euicc.initiateAuthenticationBody(s.address);
    let last = '';
    for (let i = 0; i < 120; i++) last = (await client.initiateAuthentication(body)).body.transactionId;
    expect(s.state.sessions().length).toBeLessThanOrEqual(50);
    expect(s.state.session(last)!.state).toBe('authInitiated');
    expect(s.state.counters().removed!.sessions).toBeGreaterThanOrEqual(70);
  });

  it('SmdpRetention_Sweep: notifications and closed orders older than the retention go; the profile forgets the order', async () => {
    let now = Date.now();
    const { server: s, client } = await start({ now: () => now, retention: { retentionMs: 3_600_000, sweepIntervalMs: 0 } });
    const o = s.es2.order();
    const euicc = new TestEuicc();
    await download(client, euicc, { address: s.address, matchingId: o.matchingId });
    await client.handleNotification(euicc.profileInstallationResult({ iccid: o.iccid, notificationAddress: s.address, smdpOid: s.smdpOid }));
    expect(s.inventory.get(o.iccid)).toMatchObject({ state: 'Installed', orderId: expect.any(String) });
    now += 3_600_001;
    expect(s.sweep()).toEqual({ sessions: 1, notifications: 1, orders: 1 });
    expect(s.state.orders()).toEqual([]);
    expect(s.inventory.get(o.iccid)!.orderId).toBeUndefined();
    expect(s.inventory.get(o.iccid)!.state).toBe('Installed');
  });

  it('SmdpNotifications_Capped: at most maxNotifications, the oldest removed first', async () => {
    const { server: s, client } = await start({ retention: { maxNotifications: 30 } });
    const pir = bigRejectedPir(10);
    for (let i = 0; i < 80; i++) await client.handleNotification(pir);
    const seqs = s.state.notifications().map((n) => n.seq);
    expect(seqs.length).toBeLessThanOrEqual(30);
    expect(Math.max(...seqs)).toBe(80);
  });
});
