// ES2+ of the test SM-DP+ (SGP.22 5.3.1-5.3.5) over loopback HTTPS: mutual TLS (client
// certificates of the ES2+ operator CA only; the SGP.26 CI in the explicit test-CA mode;
// no certificate in test mode), the requester bound to the certificate, order functions
// with their error codes and inventory states (3.1.6), and the HandleDownloadProgressInfo
// callbacks to the operator at each step of a download.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ES2P_PATHS, parseHandleDownloadProgressInfoRequest, Status } from '../rsp/json.ts';
import { generateRogueCi, issueTls, randomEid } from '../../certs/issue.ts';
import type { SmdpServer } from './server.ts';
import { RspFunctionError, SMDP_STATUS } from './errors.ts';
import { TestEuicc } from './testing/euicc-sim.ts';
import { RspClient, download } from './testing/client.ts';
import { ES2_HEADER, es2Header, es2Post, operatorEndpoint, operatorIdentity, removeDir, sgp26ClientIdentity, startTestSmdp, tempDir, type OperatorEndpoint, type OperatorIdentity } from './testing/fixture.ts';

let dir: string;
let server: SmdpServer;
let operator: OperatorIdentity;

beforeEach(async () => {
  dir = tempDir();
  server = await startTestSmdp(dir);
  operator = operatorIdentity(server);
});

afterEach(async () => {
  await server.close();
  removeDir(dir);
});

function codeOfJson(json: unknown): string {
  const h = (json as { header: { functionExecutionStatus: { status: string; statusCodeData?: { subjectCode: string; reasonCode: string } } } }).header.functionExecutionStatus;
  return h.statusCodeData ? `${h.statusCodeData.subjectCode}/${h.statusCodeData.reasonCode}` : h.status;
}

function es2Error(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof RspFunctionError) return `${e.subjectCode}/${e.reasonCode}`;
    throw e;
  }
  throw new Error('expected an RspFunctionError');
}

const c = (s: { subjectCode: string; reasonCode: string }) => `${s.subjectCode}/${s.reasonCode}`;

describe('ES2+ mutual TLS', () => {
  it('403 (1.1/1.2) without a client certificate or with one from an unknown CA; accepted with the data dir operator CA one', async () => {
    const iccid = server.inventory.list()[0]!.iccid;
    const none = await es2Post(server, ES2P_PATHS.downloadOrder, { header: ES2_HEADER, iccid });
    expect(none.status).toBe(403);
    expect(codeOfJson(none.json)).toBe(c(SMDP_STATUS.NotAllowed));
    const rogue = await generateRogueCi();
    const rogueClient = await issueTls({ host: 'operator.example.com', issuer: { cert: rogue.cert, key: rogue.key } });
    const bad = await es2Post(server, ES2P_PATHS.downloadOrder, { header: es2Header('operator.example.com'), iccid }, { cert: rogueClient.pem, key: rogueClient.keyPem });
    expect(bad.status).toBe(403);
    const ok = await es2Post(server, ES2P_PATHS.downloadOrder, { header: ES2_HEADER, iccid }, operator);
    expect(ok.status).toBe(200);
    expect(codeOfJson(ok.json)).toBe('Executed-Success');
    expect(server.inventory.get(iccid)!.state).toBe('Allocated');
    expect(server.es2Auth.mode).toBe('data-dir-ca');
  });

  it('ES2+_SGP26ClientCertificate_Refused: a client certificate of the SGP.26 CI (public key) is refused unless the test-CA mode is on', async () => {
    const sgp26 = await sgp26ClientIdentity('operator.example.com');
    const header = es2Header('operator.example.com');
    const refused = await es2Post(server, ES2P_PATHS.downloadOrder, { header }, sgp26);
    expect(refused.status).toBe(403);
    expect(codeOfJson(refused.json)).toBe(c(SMDP_STATUS.NotAllowed));
    await server.close();
    server = await startTestSmdp(dir, { es2TestCa: true });
    expect(server.es2Auth).toMatchObject({ sgp26Accepted: true, description: expect.stringMatching(/TEST CA MODE/) });
    expect((await es2Post(server, ES2P_PATHS.downloadOrder, { header }, sgp26)).status).toBe(200);
  });

  it('accepts client certificates of a configured operator CA only (not the data dir one)', async () => {
    const ca = await generateRogueCi();
    await server.close();
    server = await startTestSmdp(dir, { operatorCa: ca.pem });
    expect(server.es2Auth.mode).toBe('operator-ca');
    const id = await issueTls({ host: 'operator.example.com', issuer: { cert: ca.cert, key: ca.key } });
    const r = await es2Post(server, ES2P_PATHS.downloadOrder, { header: es2Header('operator.example.com') }, { cert: id.pem, key: id.keyPem });
    expect(r.status).toBe(200);
    expect((await es2Post(server, ES2P_PATHS.downloadOrder, { header: ES2_HEADER }, operator)).status).toBe(403);
  });

  it('ES2+_RequesterBoundToCertificate: a functionRequesterIdentifier other than the certificate CN is 403 and changes nothing', async () => {
    const iccid = server.inventory.list()[0]!.iccid;
    const r = await es2Post(server, ES2P_PATHS.downloadOrder, { header: es2Header('another-operator'), iccid }, operator);
    expect(r.status).toBe(403);
    expect(codeOfJson(r.json)).toBe(c(SMDP_STATUS.NotAllowed));
    expect(server.inventory.get(iccid)!.state).toBe('Available');
  });

  it("ES2+_OrderOwner: an order placed by one requester is not confirmed, released or cancelled by another (8.2.1/1.2)", async () => {
    await server.close();
    server = await startTestSmdp(dir, { es2TestCa: true });
    operator = operatorIdentity(server);
    const iccid = server.inventory.list()[0]!.iccid;
    expect((await es2Post(server, ES2P_PATHS.downloadOrder, { header: ES2_HEADER, iccid }, operator)).status).toBe(200);
    const other = await sgp26ClientIdentity('other.example.com');
    for (const [path, body] of [
      [ES2P_PATHS.confirmOrder, { iccid, releaseFlag: true }],
      [ES2P_PATHS.cancelOrder, { iccid, finalProfileStatusIndicator: 'Available' }],
    ] as const) {
      const r = await es2Post(server, path, { header: es2Header('other.example.com'), ...body }, other);
      expect(codeOfJson(r.json)).toBe(c(SMDP_STATUS.IccidNotAllowed));
    }
    expect(server.inventory.get(iccid)!.state).toBe('Allocated');
    expect(codeOfJson((await es2Post(server, ES2P_PATHS.confirmOrder, { header: ES2_HEADER, iccid, releaseFlag: true }, operator)).json)).toBe('Executed-Success');
  });

  it('test mode accepts any client', async () => {
    await server.close();
    server = await startTestSmdp(dir, { testMode: true });
    expect(server.es2Auth).toMatchObject({ mode: 'open', description: expect.stringMatching(/TEST MODE/) });
    const r = await es2Post(server, ES2P_PATHS.downloadOrder, { header: ES2_HEADER });
    expect(r.status).toBe(200);
  });

  it('400 for a request without the mandatory header', async () => {
    await server.close();
    server = await startTestSmdp(dir, { testMode: true });
    const r = await es2Post(server, ES2P_PATHS.downloadOrder, { iccid: server.inventory.list()[0]!.iccid });
    expect(r.status).toBe(400);
    expect(codeOfJson(r.json)).toBe(c(SMDP_STATUS.MissingElement));
  });
});

describe('ES2+ functions and inventory states', () => {
  it('downloadOrder: 8.2.1/3.9 unknown ICCID, 8.2.1/3.3 in use, 8.2.5/4.3 no eligible profile, 8.1.1/2.1 bad EID', async () => {
    const [p] = server.inventory.list();
    expect(es2Error(() => server.es2.downloadOrder({ iccid: '89000123456789012341' }))).toBe(c(Status.IccidUnknown));
    server.es2.downloadOrder({ iccid: p!.iccid });
    expect(es2Error(() => server.es2.downloadOrder({ iccid: p!.iccid }))).toBe(c(SMDP_STATUS.IccidInUse));
    expect(es2Error(() => server.es2.downloadOrder({ profileType: 'no such type' }))).toBe(c(Status.NoEligibleProfile));
    expect(es2Error(() => server.es2.downloadOrder({ eid: '89049032123451234512345678901234' }))).toBe(c(SMDP_STATUS.EidInvalid));
    const byType = server.es2.downloadOrder({ profileType: 'TS48v4_SAIP2.3_BERTLV', eid: randomEid() });
    expect(server.inventory.get(byType.iccid)).toMatchObject({ template: 'TS48v4_SAIP2.3_BERTLV', state: 'Linked' });
  });

  it('confirmOrder: releases, keeps an operator MatchingID, refuses a used one (8.2.6/3.3), another EID (8.1.1/3.8), a wrong state (8.2.1/3.5)', async () => {
    const [a, b] = server.inventory.list();
    const eid = randomEid();
    server.es2.downloadOrder({ iccid: a!.iccid, eid });
    expect(es2Error(() => server.es2.confirmOrder({ iccid: a!.iccid, eid: randomEid(), releaseFlag: true }))).toBe(c(Status.EidRefused));
    const ok = server.es2.confirmOrder({ iccid: a!.iccid, matchingId: 'OPERATOR-MID-1', releaseFlag: true });
    expect(ok).toEqual({ matchingId: 'OPERATOR-MID-1', smdpAddress: server.address, eid });
    expect(server.inventory.get(a!.iccid)!.state).toBe('Released');
    expect(es2Error(() => server.es2.confirmOrder({ iccid: a!.iccid, releaseFlag: true }))).toBe(c(SMDP_STATUS.InvalidTransition));
    server.es2.downloadOrder({ iccid: b!.iccid });
    expect(es2Error(() => server.es2.confirmOrder({ iccid: b!.iccid, matchingId: 'OPERATOR-MID-1', releaseFlag: false }))).toBe(c(SMDP_STATUS.MatchingIdInUse));
    expect(es2Error(() => server.es2.confirmOrder({ iccid: server.inventory.list()[5]!.iccid, releaseFlag: true }))).toBe(c(SMDP_STATUS.InvalidTransition));
  });

  it('releaseProfile only from Confirmed; cancelOrder to Available (reusable) or Unavailable (final)', async () => {
    const o = server.es2.order({ release: false });
    server.es2.releaseProfile({ iccid: o.iccid });
    expect(server.inventory.get(o.iccid)!.state).toBe('Released');
    expect(es2Error(() => server.es2.releaseProfile({ iccid: o.iccid }))).toBe(c(SMDP_STATUS.InvalidTransition));
    expect(es2Error(() => server.es2.cancelOrder({ iccid: o.iccid, matchingId: 'WRONG', finalProfileStatusIndicator: 'Available' }))).toBe(c(Status.MatchingIdRefused));
    server.es2.cancelOrder({ iccid: o.iccid, matchingId: o.matchingId, finalProfileStatusIndicator: 'Available' });
    expect(server.inventory.get(o.iccid)!.state).toBe('Available');
    expect(server.inventory.get(o.iccid)!.orderId).toBeUndefined();
    expect(() => server.activationCodeFor(o.matchingId)).toThrow(/no order/);
    // the profile can be ordered again; then cancelled for good
    const again = server.es2.order({ iccid: o.iccid });
    server.es2.cancelOrder({ iccid: again.iccid, finalProfileStatusIndicator: 'Unavailable' });
    expect(server.inventory.get(o.iccid)!.state).toBe('Unavailable');
    expect(es2Error(() => server.es2.downloadOrder({ iccid: o.iccid }))).toBe(c(SMDP_STATUS.IccidInUse));
    expect(es2Error(() => server.es2.cancelOrder({ iccid: o.iccid, finalProfileStatusIndicator: 'Available' }))).toBe(c(SMDP_STATUS.InvalidTransition));
  });

  it('an installed profile cannot be cancelled (8.2.1/3.5)', async () => {
    const o = server.es2.order();
    const euicc = new TestEuicc();
    const client = new RspClient(server);
    await download(client, euicc, { address: server.address, matchingId: o.matchingId });
    await client.handleNotification(euicc.profileInstallationResult({ iccid: o.iccid, notificationAddress: server.address, smdpOid: server.smdpOid }));
    expect(es2Error(() => server.es2.cancelOrder({ iccid: o.iccid, finalProfileStatusIndicator: 'Available' }))).toBe(c(SMDP_STATUS.InvalidTransition));
  });

  it('the whole order over HTTPS: downloadOrder, confirmOrder, cancelOrder, releaseProfile', async () => {
    const iccid = server.inventory.list()[1]!.iccid;
    const post = (path: string, body: object) => es2Post(server, path, { header: ES2_HEADER, ...body }, operator);
    expect((await post(ES2P_PATHS.downloadOrder, { iccid })).json).toMatchObject({ iccid });
    const conf = await post(ES2P_PATHS.confirmOrder, { iccid, releaseFlag: false, confirmationCode: '9876' });
    expect(conf.json).toMatchObject({ matchingId: expect.stringMatching(/^[A-Z0-9-]{23}$/), smdpAddress: server.address });
    expect(codeOfJson((await post(ES2P_PATHS.releaseProfile, { iccid })).json)).toBe('Executed-Success');
    expect(server.activationCodeFor(iccid)).toMatch(/\$\$1$/);
    const cancel = await post(ES2P_PATHS.cancelOrder, { iccid, finalProfileStatusIndicator: 'Unavailable' });
    expect(codeOfJson(cancel.json)).toBe('Executed-Success');
    expect(codeOfJson((await post(ES2P_PATHS.cancelOrder, { iccid, finalProfileStatusIndicator: 'Available' })).json)).toBe(c(SMDP_STATUS.InvalidTransition));
  });
});

describe('ES2+.HandleDownloadProgressInfo', () => {
  let op: OperatorEndpoint;
  beforeEach(async () => {
    op = await operatorEndpoint();
    await server.close();
    server = await startTestSmdp(dir, { operatorCallbackUrl: op.url });
  });
  afterEach(async () => {
    await op.close();
  });

  it('calls the operator back at eligibility, BPP download and installation, with the SGP.22 body', async () => {
    const o = server.es2.order();
    const euicc = new TestEuicc();
    const client = new RspClient(server);
    await download(client, euicc, { address: server.address, matchingId: o.matchingId });
    await client.handleNotification(euicc.profileInstallationResult({ iccid: o.iccid, notificationAddress: server.address, smdpOid: server.smdpOid }));
    await server.flush();
    const bodies = (await op.waitFor(3)).map((b) => parseHandleDownloadProgressInfoRequest(b));
    expect(bodies.map((b) => [b.notificationPointId, b.notificationPointStatus.status])).toEqual([
      [1, 'Executed-Success'],
      [3, 'Executed-Success'],
      [4, 'Executed-Success'],
    ]);
    for (const b of bodies) expect(b).toMatchObject({ iccid: o.iccid, eid: euicc.eid, profileType: 'TS48v2_SAIP2.3_NoBERTLV', header: { functionRequesterIdentifier: server.smdpOid } });
    expect(bodies[2]!.resultData).toBeDefined();
    expect(server.state.progress().every((p) => 'status' in p.outcome && p.outcome.status === 204)).toBe(true);
  });

  it('reports a confirmation code failure (point 2, Failed 8.2.7/3.8)', async () => {
    const o = server.es2.order({ confirmationCode: '1' });
    const euicc = new TestEuicc();
    const client = new RspClient(server);
    await expect(download(client, euicc, { address: server.address, matchingId: o.matchingId, confirmationCode: '2' })).rejects.toThrow(/8\.2\.7\/3\.8/);
    await server.flush();
    const bodies = (await op.waitFor(2)).map((b) => parseHandleDownloadProgressInfoRequest(b));
    expect(bodies[1]).toMatchObject({ notificationPointId: 2, notificationPointStatus: { status: 'Failed', statusCodeData: { subjectCode: '8.2.7', reasonCode: '3.8' } } });
  });
});
