// End-to-end download against the test SM-DP+ over loopback HTTPS (SGP.22 3.1.2/3.1.3):
// ES2+ order over mutual TLS, ES9+ mutual authentication, BPP binding checked and decrypted
// by the test eUICC, the UPP compared with the personalised profile, PIR -> Installed.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ES2P_PATHS } from '../rsp/json.ts';
import { parseActivationCode } from '../rsp/activation-code.ts';
import { iccidFromBytes } from '../rsp/iccid.ts';
import { parseTlv } from '../rsp/der.ts';
import { readProfile } from '../saip/profile.ts';
import { toHex } from '../bytes.ts';
import type { SmdpServer } from './server.ts';
import { TestEuicc } from './testing/euicc-sim.ts';
import { RspClient, download, codeOf } from './testing/client.ts';
import { ES2_HEADER, es2Post, operatorIdentity, removeDir, startTestSmdp, tempDir, type OperatorIdentity } from './testing/fixture.ts';

let dir: string;
let server: SmdpServer;
let operator: OperatorIdentity;

beforeEach(async () => {
  dir = tempDir();
  server = await startTestSmdp(dir, { segmentSize: 1200 });
  operator = operatorIdentity(server);
});

afterEach(async () => {
  await server.close();
  removeDir(dir);
});

async function orderOverHttps(iccid: string, eid?: string): Promise<{ matchingId: string; smdpAddress: string }> {
  const d = await es2Post(server, ES2P_PATHS.downloadOrder, { header: ES2_HEADER, iccid, ...(eid ? { eid } : {}) }, operator);
  expect(d.status).toBe(200);
  expect(d.json).toMatchObject({ header: { functionExecutionStatus: { status: 'Executed-Success' } }, iccid });
  const c = await es2Post(server, ES2P_PATHS.confirmOrder, { header: ES2_HEADER, iccid, releaseFlag: true }, operator);
  expect(c.status).toBe(200);
  return c.json as { matchingId: string; smdpAddress: string };
}

describe('full download flow', () => {
  it('ES2+ order -> ES9+ download -> BPP decrypts to the personalised UPP -> PIR -> Installed', async () => {
    const euicc = new TestEuicc();
    const client = new RspClient(server);
    const [p1, p2] = server.inventory.list().filter((p) => p.template === 'TS48v2_SAIP2.3_NoBERTLV');
    const installed: { iccid: string; imsi: string }[] = [];

    for (const profile of [p1!, p2!]) {
      const { matchingId, smdpAddress } = await orderOverHttps(profile.iccid);
      expect(matchingId).toMatch(/^[A-Z0-9]{5}(-[A-Z0-9]{5}){3}$/);
      expect(smdpAddress).toBe(server.address);
      expect(server.inventory.get(profile.iccid)!.state).toBe('Released');
      const ac = parseActivationCode(server.activationCodeFor(profile.iccid));
      expect(ac).toMatchObject({ smdpAddress: server.address, matchingId, confirmationCodeRequired: false });

      const d = await download(client, euicc, { address: ac.smdpAddress, matchingId });
      // the UPP is the template personalised with this entry's ICCID and IMSI
      expect(toHex(d.load.upp)).toBe(toHex(server.inventory.personalisedUpp(profile.iccid)));
      const summary = readProfile(d.load.upp);
      expect(summary.iccid).toBe(profile.iccid);
      expect(summary.imsi).toBe(profile.imsi);
      // metadata, ConfigureISDP, ReplaceSessionKeys and the 86 segment size
      expect(iccidFromBytes(d.load.metadata.iccid)).toBe(profile.iccid);
      expect(d.load.metadata.notificationConfigurationInfo).toEqual([
        { profileManagementOperation: ['notificationInstall', 'notificationEnable', 'notificationDisable', 'notificationDelete'], notificationAddress: server.address },
      ]);
      expect(d.load.configureIsdp).toEqual({ dpProprietaryData: { dpOid: server.smdpOid } });
      expect(d.load.replaceSessionKeys).toBe(true);
      expect(d.load.segments86).toHaveLength(Math.ceil(d.load.upp.byteLength / 1200));
      for (const seg of d.load.segments86.slice(0, -1)) expect(parseTlv(seg).value.byteLength).toBe(1200 + 16 + 8); // 1200 -> padded 1216 + MAC
      expect(server.inventory.get(profile.iccid)!.state).toBe('Downloaded');
      expect(server.state.session(d.transactionId)).toMatchObject({ state: 'bppDelivered', eid: euicc.eid, iccid: profile.iccid });

      const pir = euicc.profileInstallationResult({ iccid: profile.iccid, notificationAddress: server.address, smdpOid: server.smdpOid });
      const hn = await client.handleNotification(pir);
      expect(hn.status).toBe(204);
      expect(hn.text).toBe('');
      expect(server.inventory.get(profile.iccid)!.state).toBe('Installed');
      expect(server.state.session(d.transactionId)!.state).toBe('completed');
      expect(server.state.order(profile.iccid)).toMatchObject({ closed: true, eid: euicc.eid, downloadAttempts: 1 });
      installed.push({ iccid: summary.iccid, imsi: summary.imsi! });
    }
    expect(installed[0]!.iccid).not.toBe(installed[1]!.iccid);
    expect(installed[0]!.imsi).not.toBe(installed[1]!.imsi);
    expect(server.state.notifications()).toEqual([
      expect.objectContaining({ kind: 'profileInstallationResult', accepted: true, result: 'success', iccid: p1!.iccid, eid: euicc.eid }),
      expect.objectContaining({ kind: 'profileInstallationResult', accepted: true, result: 'success', iccid: p2!.iccid }),
    ]);
    expect(server.inventory.get(p1!.iccid)!.history.map((h) => h.state)).toEqual(['Available', 'Allocated', 'Released', 'Downloaded', 'Installed']);
  });

  it('binds with brainpool credentials for a brainpool eUICC, without ReplaceSessionKeys when disabled', async () => {
    await server.close();
    server = await startTestSmdp(dir, { replaceSessionKeys: false });
    const euicc = TestEuicc.brainpool();
    const client = new RspClient(server);
    const o = server.es2.order({});
    const d = await download(client, euicc, { address: server.address, matchingId: o.matchingId });
    expect(d.load.replaceSessionKeys).toBe(false);
    expect(toHex(d.load.upp)).toBe(toHex(server.inventory.personalisedUpp(o.iccid)));
    expect(server.state.session(d.transactionId)!.curve).toBe('brainpoolP256r1');
    expect(d.load.segments86.length).toBe(Math.ceil(d.load.upp.byteLength / 1020));
    const hn = await client.handleNotification(euicc.profileInstallationResult({ iccid: o.iccid, notificationAddress: server.address, smdpOid: server.smdpOid }));
    expect(codeOf(hn)).toBe('ok');
    expect(server.inventory.get(o.iccid)!.state).toBe('Installed');
  });

  it('uses per-entry metadata; metadata over 1020 bytes goes in several 88 segments', async () => {
    const icon = Buffer.alloc(1000, 0x5a).toString('base64');
    const [p] = server.inventory.list();
    server.inventory.setMetadata(p!.iccid, {
      serviceProviderName: 'Bridge Operator',
      profileName: 'Lab profile',
      profileClass: 'test',
      iconType: 'png',
      icon,
      notificationOperations: ['install', 'delete'],
      profileOwner: { mccMnc: '00f110', gid1: 'ab' },
      profilePolicyRules: ['ppr1', 'ppr2'],
    });
    const o = server.es2.order({ iccid: p!.iccid });
    const d = await download(new RspClient(server), new TestEuicc(), { address: server.address, matchingId: o.matchingId });
    expect(d.load.segments88).toBe(2);
    expect(d.load.metadata).toMatchObject({
      serviceProviderName: 'Bridge Operator',
      profileName: 'Lab profile',
      profileClass: 0,
      iconType: 1,
      notificationConfigurationInfo: [{ profileManagementOperation: ['notificationInstall', 'notificationDelete'], notificationAddress: server.address }],
      profileOwner: { mccMnc: Uint8Array.from([0x00, 0xf1, 0x10]), gid1: Uint8Array.from([0xab]) },
      profilePolicyRules: ['ppr1', 'ppr2'],
    });
    expect(Buffer.from(d.load.metadata.icon!).toString('base64')).toBe(icon);
    // the LPA sees the same metadata in AuthenticateClient
    expect(d.auth.profileMetadata).toBeDefined();
    expect(() => server.inventory.setMetadata(p!.iccid, { serviceProviderName: 'x'.repeat(40) })).toThrow(/at most 32 bytes/);
    expect(() => server.inventory.setMetadata(p!.iccid, { profilePolicyRules: ['ppr3' as 'ppr1'] })).toThrow(/unknown rule 'ppr3'/);
  });

  it('creates the configured inventory on first start only', async () => {
    await server.close();
    removeDir(dir);
    server = await startTestSmdp(dir, { inventory: [{ template: 'TS48v1_A', count: 3, profileType: 'lab', metadata: { serviceProviderName: 'Lab' } }] });
    expect(server.inventory.list().map((p) => [p.template, p.profileType, p.metadata.serviceProviderName])).toEqual([
      ['TS48v1_A', 'lab', 'Lab'],
      ['TS48v1_A', 'lab', 'Lab'],
      ['TS48v1_A', 'lab', 'Lab'],
    ]);
    await server.close();
    server = await startTestSmdp(dir, { inventory: [{ template: 'TS48v1_B', count: 1 }] });
    expect(server.inventory.list()).toHaveLength(3);
    expect(server.inventory.add({ template: 'TS48v1_B', count: 2 })).toHaveLength(2);
    expect(server.inventory.list()).toHaveLength(5);
    expect(server.inventory.templates()).toHaveLength(18);
  });

  it('answers with the RSP headers', async () => {
    const client = new RspClient(server);
    const r = await client.initiateAuthentication(new TestEuicc().initiateAuthenticationBody(server.address));
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/json;charset=UTF-8');
    expect(r.headers['x-admin-protocol']).toBe('gsma/rsp/v2.2.0');
    expect(r.body.transactionId).toMatch(/^[0-9A-F]{32}$/);
  });
});
