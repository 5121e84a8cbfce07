// Embedded SM-DS (SGP.22 5.8 ES11, 5.9 ES12, 3.6): an order bound to an EID registers an
// event (eventId = MatchingID), ES11 mutual authentication returns it, the LPA downloads
// with it, and the event is deleted after installation or cancellation; plus the default
// SM-DP+ flow (empty MatchingID) for EID-bound orders.
import tls from 'node:tls';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bytesToBase64 } from '../rsp/json.ts';
import { randomEid } from '../../certs/issue.ts';
import type { SmdpServer } from './server.ts';
import { SMDP_STATUS } from './errors.ts';
import { TestEuicc } from './testing/euicc-sim.ts';
import { RspClient, code, codeOf, download, type RspReply } from './testing/client.ts';
import { removeDir, startTestSmdp, tempDir } from './testing/fixture.ts';

let dir: string;
let server: SmdpServer;
let client: RspClient;

beforeEach(async () => {
  dir = tempDir();
  server = await startTestSmdp(dir);
  client = new RspClient(server);
});

afterEach(async () => {
  await server.close();
  removeDir(dir);
});

async function discover(euicc: TestEuicc, opts: { address?: string; eventId?: string } = {}): Promise<RspReply<{ eventEntries: { eventId: string; rspServerAddress: string }[] }>> {
  const ia = await client.es11InitiateAuthentication(euicc.initiateAuthenticationBody(opts.address ?? server.smdsAddress, 'smdsAddress'));
  if (codeOf(ia) !== 'ok') return ia as RspReply<never>;
  const asr = euicc.authenticateServer(ia.body, opts.eventId !== undefined ? { matchingId: opts.eventId } : {});
  expect(asr.ok).toBe(true);
  return client.es11AuthenticateClient({ transactionId: ia.body.transactionId, authenticateServerResponse: bytesToBase64(asr.der) });
}

describe('SM-DS event registration and ES11 discovery', () => {
  it('serves the SM-DS hostname with its own DPtls certificate (SNI)', async () => {
    const cn = await new Promise<string>((resolve, reject) => {
      const u = new URL(server.url);
      const s = tls.connect({ host: u.hostname, port: Number(u.port), servername: server.smdsHostname, ca: server.trustAnchorPem }, () => {
        const subject = s.getPeerCertificate().subject;
        s.end();
        resolve(String(subject.CN));
      });
      s.on('error', reject);
    });
    expect(cn).toBe('testsmds.example.com');
  });

  it('registers an event for a released EID-bound order, returns it over ES11, deletes it once installed', async () => {
    const euicc = new TestEuicc();
    const other = server.es2.order({ eid: randomEid() });
    const o = server.es2.order({ eid: euicc.eid });
    server.es2.order(); // no EID: no event
    expect(server.state.events()).toHaveLength(2);

    const r = await discover(euicc);
    expect(codeOf(r)).toBe('ok');
    expect(r.body.eventEntries).toEqual([{ eventId: o.matchingId, rspServerAddress: server.address }]);
    expect(r.body.eventEntries.some((e) => e.eventId === other.matchingId)).toBe(false);

    // the LPA follows the event: ES9+ download with MatchingID = eventId
    const [entry] = r.body.eventEntries;
    const d = await download(client, euicc, { address: entry!.rspServerAddress, matchingId: entry!.eventId });
    await client.handleNotification(euicc.profileInstallationResult({ iccid: o.iccid, notificationAddress: server.address, smdpOid: server.smdpOid }));
    expect(server.inventory.get(o.iccid)!.state).toBe('Installed');
    expect(d.load.upp.byteLength).toBeGreaterThan(10_000);
    const after = await discover(euicc);
    expect(after.body.eventEntries).toEqual([]);
  });

  it('registers on releaseProfile, deletes on cancelOrder', async () => {
    const euicc = new TestEuicc();
    const o = server.es2.order({ eid: euicc.eid, release: false });
    expect(server.state.events()).toEqual([]);
    server.es2.releaseProfile({ iccid: o.iccid });
    expect(server.state.events().map((e) => e.eventId)).toEqual([o.matchingId]);
    server.es2.cancelOrder({ iccid: o.iccid, finalProfileStatusIndicator: 'Available' });
    expect(server.state.events()).toEqual([]);
  });

  it('8.9.1/3.8 for an address that is not the SM-DS; 8.9.5/3.9 for an unknown eventId', async () => {
    const euicc = new TestEuicc();
    expect(codeOf(await discover(euicc, { address: server.address }))).toBe(code(SMDP_STATUS.InvalidSmdsAddress));
    server.es2.order({ eid: euicc.eid });
    expect(codeOf(await discover(euicc, { eventId: 'NOSUC-HEVEN-TXXXX-XXXXX' }))).toBe(code(SMDP_STATUS.EventIdUnknown));
  });
});

describe('default SM-DP+ flow', () => {
  it('downloads the order bound to the EID with an empty MatchingID', async () => {
    const euicc = new TestEuicc();
    const o = server.es2.order({ eid: euicc.eid });
    expect(server.activationCodeFor(o.iccid)).toBe(`1$${server.address}$${o.matchingId}`);
    const d = await download(client, euicc, { address: server.address });
    expect(server.state.session(d.transactionId)!.iccid).toBe(o.iccid);
    expect(server.inventory.get(o.iccid)!.state).toBe('Downloaded');
  });

  it('8.2/1.2 when the EID-bound order is only linked', async () => {
    const euicc = new TestEuicc();
    const { iccid } = server.es2.downloadOrder({ eid: euicc.eid });
    expect(server.activationCodeFor(iccid)).toBe(`1$${server.address}$`);
    await expect(download(client, euicc, { address: server.address })).rejects.toThrow(/8\.2\/1\.2/);
  });
});
