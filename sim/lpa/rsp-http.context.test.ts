// Regression test for the TLS context cache of rsp-http.ts (one SecureContext per trust
// anchors + minimum version instead of one per ES9+ call): the minimum TLS version and the
// trust anchors of each call are still the ones applied, in any order of calls.
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rspPost } from './rsp-http.ts';
import { testTlsCert, TEST_SMDP_HOST } from './testing/https-server.ts';
import { generateRogueCi } from '../../certs/issue.ts';
import { certificatePem } from '../../certs/cert.ts';
import { loadCert } from '../../certs/store.ts';

let server: Server;
let port = 0;

beforeAll(async () => {
  const cert = await testTlsCert();
  // a server that speaks TLS 1.2 only
  server = createServer({ cert: cert.pem, key: cert.keyPem, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' }, (req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

describe('rspPost TLS contexts', () => {
  const post = (options: Parameters<typeof rspPost>[4]) => rspPost('ES9+.test', `${TEST_SMDP_HOST}:${port}`, '/x', '{}', { connect: { host: '127.0.0.1', port }, ...options });
  const nist = certificatePem(loadCert('CI_NIST').der);

  it('applies each call its own minimum version and trust anchors', async () => {
    const rogue = await generateRogueCi();
    expect((await post({ ca: nist })).status).toBe(200);
    await expect(post({ ca: nist, minTlsVersion: 'TLSv1.3' })).rejects.toMatchObject({ name: 'Es9TransportError', problem: 'tls' });
    expect((await post({ ca: nist, minTlsVersion: 'TLSv1.2' })).status).toBe(200);
    await expect(post({ ca: rogue.pem })).rejects.toMatchObject({ name: 'Es9TransportError', problem: 'tls' });
    expect((await post({})).status).toBe(200); // default anchors: the SGP.26 CIs
  });
});
