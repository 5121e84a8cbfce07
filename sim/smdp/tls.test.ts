// Transport of the test SM-DP+ (SGP.22 2.6.6 / 6.5: HTTPS with TLS 1.2 or later, server
// certificate CERT.DPtls chained to the CI): TLS 1.1 refused, the certificate chain and
// hostname, no key material in logs or inspected objects, plain HTTP only when asked.
import tls from 'node:tls';
import { inspect } from 'node:util';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ES2P_PATHS } from '../rsp/json.ts';
import { loadKeyPair } from '../../certs/store.ts';
import { toHex } from '../bytes.ts';
import type { SmdpServer } from './server.ts';
import { SmdpCredentials, prepareTlsIdentity } from './credentials.ts';
import { postJson } from './https-json.ts';
import { TestEuicc } from './testing/euicc-sim.ts';
import { RspClient, codeOf, download } from './testing/client.ts';
import { ES2_HEADER, removeDir, startTestSmdp, tempDir } from './testing/fixture.ts';

let dir: string;
let server: SmdpServer;

beforeEach(() => {
  dir = tempDir();
});

afterEach(async () => {
  await server.close();
  removeDir(dir);
});

function connect(opts: tls.ConnectionOptions): Promise<{ protocol?: string; cert?: tls.PeerCertificate; error?: string }> {
  const u = new URL(server.url);
  return new Promise((resolve) => {
    const s = tls.connect({ host: u.hostname, port: Number(u.port), ...opts }, () => {
      const out = { protocol: s.getProtocol() ?? undefined, cert: s.getPeerCertificate(true) };
      s.end();
      resolve(out);
    });
    s.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
  });
}

describe('TLS', () => {
  beforeEach(async () => {
    server = await startTestSmdp(dir);
  });

  it('refuses a TLS 1.1 client with a protocol_version alert', async () => {
    const r = await connect({ servername: server.hostname, ca: server.trustAnchorPem, minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' });
    expect(r.error).toBe('ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION');
  });

  it('serves TLS 1.2 with a DPtls certificate for its hostname chained to the SGP.26 CI', async () => {
    const r = await connect({ servername: server.hostname, ca: server.trustAnchorPem, maxVersion: 'TLSv1.2' });
    expect(r.error).toBeUndefined();
    expect(r.protocol).toBe('TLSv1.2');
    expect(r.cert!.subject.CN).toBe('testsmdpplus1.example.com');
    expect(r.cert!.issuer.CN).toBe('Test CI');
    expect(r.cert!.subjectaltname).toContain('DNS:testsmdpplus1.example.com');
    // a client that expects another name refuses it
    expect((await connect({ servername: 'other.example.com', ca: server.trustAnchorPem })).error).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
  });

  it('keeps keys out of logs and out of inspected objects', async () => {
    await server.close();
    const lines: string[] = [];
    server = await startTestSmdp(dir, { log: (level, m) => lines.push(`${level} ${m}`), misbehaviour: { expiredCertificates: ['dpauth', 'dptls'] } });
    await server.control.reset();
    const client = new RspClient(server);
    const o = server.es2.order({ confirmationCode: 'cc-secret' });
    const euicc = new TestEuicc();
    await download(client, euicc, { address: server.address, matchingId: o.matchingId, confirmationCode: 'cc-secret' });
    await client.handleNotification(euicc.profileInstallationResult({ iccid: o.iccid, notificationAddress: server.address, smdpOid: server.smdpOid }));
    const log = lines.join('\n');
    expect(lines.length).toBeGreaterThan(5);
    const tlsKey = readFileSync(join(dir, 'tls', `${server.hostname}.key.pem`), 'utf8');
    const tlsKeyBody = tlsKey.split('\n')[1]!;
    for (const secret of [tlsKeyBody, toHex(loadKeyPair('DPauth_NIST').privateKey), toHex(loadKeyPair('DPpb_NIST').privateKey), 'PRIVATE KEY', 'cc-secret']) expect(log).not.toContain(secret);
    const creds = new SmdpCredentials();
    const id = (await prepareTlsIdentity(dir, server.hostname)).identity;
    for (const text of [inspect(creds, { depth: 5 }), JSON.stringify(creds.forCurve('P-256')), inspect(id), JSON.stringify(id)]) {
      expect(text).not.toContain(toHex(loadKeyPair('DPauth_NIST').privateKey));
      expect(text).not.toContain(tlsKeyBody);
    }
    expect(JSON.stringify(server.state.sessions())).not.toMatch(/PRIVATE|privateKey|otsk/i);
  });
});

describe('plain HTTP (explicit flag)', () => {
  it('serves ES9+ over http://, refuses ES2+ unless in test mode', async () => {
    server = await startTestSmdp(dir, { http: true });
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const client = new RspClient(server);
    const ia = await client.initiateAuthentication(new TestEuicc().initiateAuthenticationBody(server.address));
    expect(codeOf(ia)).toBe('ok');
    const es2 = await postJson(server.url + ES2P_PATHS.downloadOrder, { header: ES2_HEADER });
    expect(es2.status).toBe(403);
    await server.close();
    server = await startTestSmdp(dir, { http: true, testMode: true });
    expect((await postJson(server.url + ES2P_PATHS.downloadOrder, { header: ES2_HEADER })).status).toBe(200);
  });
});
