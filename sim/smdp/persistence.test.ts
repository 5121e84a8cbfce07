// Persistence of the test SM-DP+ (lmdb in the data dir): a restart between every ES9+ step
// of a download (SGP.22 5.6.1 -> 5.6.3 -> 5.6.2 -> 5.6.4) keeps inventory, orders and
// sessions and the session continues; 8 downloads of different orders in parallel leave
// a consistent database (3.1.6 states, one order per profile, unique notification numbers).
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { base64ToBytes, bytesToBase64 } from '../rsp/json.ts';
import { readProfile } from '../saip/profile.ts';
import { toHex } from '../bytes.ts';
import type { SmdpServer } from './server.ts';
import { DB_FILENAME } from './db.ts';
import { TestEuicc } from './testing/euicc-sim.ts';
import { RspClient, codeOf, download } from './testing/client.ts';
import { removeDir, startTestSmdp, tempDir } from './testing/fixture.ts';

let dir: string;
let server: SmdpServer;

beforeEach(async () => {
  dir = tempDir();
  server = await startTestSmdp(dir);
});

afterEach(async () => {
  await server.close();
  removeDir(dir);
});

async function restart(): Promise<RspClient> {
  const port = server.port;
  await server.close();
  server = await startTestSmdp(dir, { port });
  return new RspClient(server);
}

describe('restart', () => {
  it('a session survives a restart after every step and the download completes', async () => {
    const inventoryBefore = server.inventory.list().map((p) => p.iccid);
    const o = server.es2.order({ confirmationCode: '4321' });
    const euicc = new TestEuicc();
    let client = new RspClient(server);

    const ia = await client.initiateAuthentication(euicc.initiateAuthenticationBody(server.address));
    expect(codeOf(ia)).toBe('ok');
    client = await restart();
    expect(server.inventory.list().map((p) => p.iccid)).toEqual(inventoryBefore);
    expect(server.inventory.get(o.iccid)!.state).toBe('Released');
    expect(server.state.session(ia.body.transactionId)!.state).toBe('authInitiated');

    const asr = euicc.authenticateServer(ia.body, { matchingId: o.matchingId });
    const ac = await client.authenticateClient({ transactionId: ia.body.transactionId, authenticateServerResponse: bytesToBase64(asr.der) });
    expect(codeOf(ac)).toBe('ok');
    client = await restart();

    const pd = euicc.prepareDownload(ac.body, { confirmationCode: '4321' });
    const gb = await client.getBoundProfilePackage({ transactionId: ac.body.transactionId, prepareDownloadResponse: bytesToBase64(pd.der) });
    expect(codeOf(gb)).toBe('ok');
    const load = euicc.loadBoundProfilePackage(base64ToBytes(gb.body.boundProfilePackage));
    expect(toHex(load.upp)).toBe(toHex(server.inventory.personalisedUpp(o.iccid)));
    client = await restart();
    expect(server.inventory.get(o.iccid)!.state).toBe('Downloaded');

    // same session, same otPK: the stored BPP comes back byte for byte after a restart
    const gb2 = await client.getBoundProfilePackage({ transactionId: ac.body.transactionId, prepareDownloadResponse: bytesToBase64(pd.der) });
    expect(gb2.body.boundProfilePackage).toBe(gb.body.boundProfilePackage);

    const hn = await client.handleNotification(euicc.profileInstallationResult({ iccid: o.iccid, notificationAddress: server.address, smdpOid: server.smdpOid }));
    expect(hn.status).toBe(204);
    await restart();
    expect(server.inventory.get(o.iccid)!.state).toBe('Installed');
    expect(server.state.session(ia.body.transactionId)!.state).toBe('completed');
    expect(server.state.notifications()).toHaveLength(1);
    expect(server.activationCodeFor(o.iccid)).toBe(o.activationCode);
  });

  it('keeps its TLS identity; the key file is 0600 and the database a file in the data dir', async () => {
    const keyFile = join(dir, 'tls', `${server.hostname}.key.pem`);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, DB_FILENAME)).isFile()).toBe(true);
    const before = statSync(keyFile).mtimeMs;
    await restart();
    expect(statSync(keyFile).mtimeMs).toBe(before);
  });
});

describe('concurrency', () => {
  it('8 downloads of different orders in parallel, then the database is consistent (also after reopening)', async () => {
    const client = new RspClient(server);
    const orders = Array.from({ length: 8 }, () => server.es2.order());
    expect(new Set(orders.map((o) => o.iccid)).size).toBe(8);
    const results = await Promise.all(
      orders.map(async (o) => {
        const euicc = new TestEuicc();
        const d = await download(client, euicc, { address: server.address, matchingId: o.matchingId });
        const hn = await client.handleNotification(euicc.profileInstallationResult({ iccid: o.iccid, notificationAddress: server.address, smdpOid: server.smdpOid }));
        expect(hn.status).toBe(204);
        return { o, d };
      }),
    );
    const check = (): void => {
      for (const { o, d } of results) {
        expect(readProfile(d.load.upp).iccid).toBe(o.iccid);
        expect(server.inventory.get(o.iccid)!.state).toBe('Installed');
        expect(server.state.session(d.transactionId)).toMatchObject({ state: 'completed', iccid: o.iccid });
        expect(server.state.order(o.iccid)).toMatchObject({ closed: true, downloadAttempts: 1, binding: { transactionId: d.transactionId } });
      }
      const imsis = results.map(({ d }) => readProfile(d.load.upp).imsi);
      expect(new Set(imsis).size).toBe(8);
      const notes = server.state.notifications();
      expect(notes).toHaveLength(8);
      expect(notes.every((n) => n.accepted)).toBe(true);
      expect(new Set(notes.map((n) => n.seq)).size).toBe(8);
      expect(server.state.sessions().filter((s) => s.state === 'completed')).toHaveLength(8);
      const held = server.inventory.list().filter((p) => p.orderId !== undefined);
      expect(held).toHaveLength(8);
      expect(new Set(held.map((p) => p.orderId)).size).toBe(8);
      expect(server.inventory.list().filter((p) => p.state === 'Available')).toHaveLength(server.inventory.list().length - 8);
    };
    check();
    await restart();
    check();
  });
});
