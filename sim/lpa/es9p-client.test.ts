import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateRogueCi, issueTls } from '../../certs/issue.ts';
import { hexToBytes } from '../bytes.ts';
import { encode } from '../rsp/der.ts';
import { codecs } from '../rsp/registry.ts';
import { samples } from '../rsp/testdata/samples.ts';
import { bytesToBase64, executedSuccess, failed, Status } from '../rsp/json.ts';
import { Es9pClient } from './es9p-client.ts';
import { Es11Client } from './es11-client.ts';
import { Es9Error, Es9TransportError } from './errors.ts';
import type { HttpRequestRecord, HttpResponseRecord } from './rsp-http.ts';
import { FAKE_TX, initiateAuthenticationResult } from './testing/fake-smdp.ts';
import { startRspTestServer, TEST_SMDP_HOST, type RspTestServer } from './testing/https-server.ts';

const CHALLENGE = hexToBytes('55'.repeat(16));
const INFO1 = encode(codecs['EUICCInfo1']!, samples['EUICCInfo1']);
const ADDRESS = TEST_SMDP_HOST;

function initiateOkJson(serverAddress = ADDRESS) {
  const r = initiateAuthenticationResult(serverAddress, CHALLENGE, FAKE_TX);
  return {
    ...executedSuccess(),
    transactionId: '0123456789ABCDEF0123456789ABCDEF',
    serverSigned1: bytesToBase64(r.der.serverSigned1),
    serverSignature1: bytesToBase64(r.der.serverSignature1),
    euiccCiPKIdToBeUsed: bytesToBase64(r.der.euiccCiPKIdToBeUsed),
    serverCertificate: bytesToBase64(r.der.serverCertificate),
  };
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
}

describe('Es9pClient over HTTPS', () => {
  let server: RspTestServer;
  let client: Es9pClient;
  let trace: [HttpRequestRecord, HttpResponseRecord][];

  beforeEach(async () => {
    server = await startRspTestServer(() => ({ status: 200, body: initiateOkJson() }));
    trace = [];
    client = new Es9pClient(ADDRESS, { connect: { host: server.host, port: server.port }, timeoutMs: 5000, trace: { onHttp: (q, r) => trace.push([q, r]) } });
  });
  afterEach(async () => {
    await server.close();
  });

  it('POSTs initiateAuthentication with the RSP headers and JSON, over TLS trusted through the SGP.26 CI', async () => {
    const r = await client.initiateAuthentication({ euiccChallenge: CHALLENGE, euiccInfo1: INFO1 });
    const req = server.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/gsma/rsp2/es9plus/initiateAuthentication');
    expect(req.headers['user-agent']).toBe('gsma-rsp-lpad');
    expect(req.headers['x-admin-protocol']).toBe('gsma/rsp/v2.2.0');
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers['host']).toBe(ADDRESS);
    expect(JSON.parse(req.body)).toEqual({ smdpAddress: ADDRESS, euiccChallenge: bytesToBase64(CHALLENGE), euiccInfo1: bytesToBase64(INFO1) });
    expect(r.transactionId).toEqual(FAKE_TX);
    expect(r.serverSigned1.serverAddress).toBe(ADDRESS);
    expect(r.serverSignature1).toHaveLength(64);
    expect(r.der.serverSignature1.subarray(0, 3)).toEqual(Uint8Array.of(0x5f, 0x37, 0x40));
    expect(trace).toHaveLength(1);
    expect(trace[0]![0]).toMatchObject({ url: `https://${ADDRESS}/gsma/rsp2/es9plus/initiateAuthentication`, connectHost: '127.0.0.1', servername: ADDRESS });
    expect(trace[0]![1].status).toBe(200);
  });

  it('turns a Failed functionExecutionStatus into Es9Error with subject and reason codes', async () => {
    server.handler = () => ({ status: 200, body: failed(Status.InvalidSmdpAddress) });
    const err = await rejection(client.initiateAuthentication({ euiccChallenge: CHALLENGE, euiccInfo1: INFO1 }));
    expect(err).toBeInstanceOf(Es9Error);
    expect(err).toMatchObject({ fn: 'ES9+.initiateAuthentication', status: 'Failed', subjectCode: '8.8.1', reasonCode: '3.8', statusName: 'InvalidSmdpAddress' });
  });

  it('sends authenticateClient / getBoundProfilePackage with hex transactionId and base64 DER, and decodes the answers', async () => {
    const meta = encode(codecs['StoreMetadataRequest']!, samples['StoreMetadataRequest']);
    const signed2 = encode(codecs['SmdpSigned2']!, samples['SmdpSigned2']);
    const cert = samples['Certificate'] as Uint8Array;
    const bpp = encode(codecs['BoundProfilePackage']!, samples['BoundProfilePackage']);
    server.handler = (req) =>
      req.path.endsWith('authenticateClient')
        ? {
            status: 200,
            body: {
              ...executedSuccess(),
              transactionId: '0123456789ABCDEF0123456789ABCDEF',
              profileMetadata: bytesToBase64(meta),
              smdpSigned2: bytesToBase64(signed2),
              smdpSignature2: bytesToBase64(hexToBytes('5F3740' + '22'.repeat(64))),
              smdpCertificate: bytesToBase64(cert),
            },
          }
        : { status: 200, body: { ...executedSuccess(), transactionId: '0123456789ABCDEF0123456789ABCDEF', boundProfilePackage: bytesToBase64(bpp) } };
    const asr = encode(codecs['AuthenticateServerResponse']!, samples['AuthenticateServerResponse']);
    const ac = await client.authenticateClient(FAKE_TX, asr);
    expect(JSON.parse(server.requests[0]!.body)).toEqual({ transactionId: '0123456789ABCDEF0123456789ABCDEF', authenticateServerResponse: bytesToBase64(asr) });
    expect(ac.profileMetadata.profileName).toBe('Test Profile');
    expect(ac.der.smdpSigned2).toEqual(signed2);
    const pdr = encode(codecs['PrepareDownloadResponse']!, samples['PrepareDownloadResponse']);
    const got = await client.getBoundProfilePackage(FAKE_TX, pdr);
    expect(server.requests[1]!.path).toBe('/gsma/rsp2/es9plus/getBoundProfilePackage');
    expect(JSON.parse(server.requests[1]!.body).prepareDownloadResponse).toBe(bytesToBase64(pdr));
    expect(got.boundProfilePackage).toEqual(bpp);
  });

  it('accepts 204 without a body for handleNotification and reports a Failed header as Es9Error', async () => {
    server.handler = () => ({ status: 204 });
    const pir = encode(codecs['ProfileInstallationResult']!, samples['ProfileInstallationResult']);
    await client.handleNotification(pir);
    expect(server.requests[0]!.path).toBe('/gsma/rsp2/es9plus/handleNotification');
    expect(JSON.parse(server.requests[0]!.body)).toEqual({ pendingNotification: bytesToBase64(pir) });
    server.handler = () => ({ status: 200, body: failed(Status.UnknownTransactionId) });
    await expect(client.handleNotification(pir)).rejects.toMatchObject({ name: 'Es9Error', subjectCode: '8.10.1', reasonCode: '3.9' });
  });

  it('sends cancelSession with the eUICC response and accepts a header-only success', async () => {
    server.handler = () => ({ status: 200, body: executedSuccess() });
    const csr = encode(codecs['CancelSessionResponse']!, samples['CancelSessionResponse']);
    const header = await client.cancelSession(FAKE_TX, csr);
    expect(header.functionExecutionStatus.status).toBe('Executed-Success');
    expect(JSON.parse(server.requests[0]!.body)).toEqual({ transactionId: '0123456789ABCDEF0123456789ABCDEF', cancelSessionResponse: bytesToBase64(csr) });
  });

  it('reports malformed JSON, a missing field, an HTTP error status and 204 on a JSON function as Es9TransportError', async () => {
    const call = () => rejection(client.initiateAuthentication({ euiccChallenge: CHALLENGE, euiccInfo1: INFO1 }));
    server.handler = () => ({ status: 200, body: '{"header": ' });
    expect(await call()).toMatchObject({ name: 'Es9TransportError', problem: 'malformed-json' });
    server.handler = () => ({ status: 200, body: { ...initiateOkJson(), serverSigned1: undefined } });
    expect(await call()).toMatchObject({ name: 'Es9TransportError', problem: 'invalid-message', details: { field: 'serverSigned1' } });
    server.handler = () => ({ status: 200, body: { ...initiateOkJson(), serverSignature1: bytesToBase64(hexToBytes('0440' + '22'.repeat(64))) } });
    expect(await call()).toMatchObject({ name: 'Es9TransportError', problem: 'invalid-message', details: { field: 'serverSignature1' } });
    server.handler = () => ({ status: 500, body: 'oops' });
    expect(await call()).toMatchObject({ name: 'Es9TransportError', problem: 'http-status', details: { httpStatus: 500, body: 'oops' } });
    server.handler = () => ({ status: 204 });
    expect(await call()).toMatchObject({ problem: 'http-status', details: { httpStatus: 204 } });
    server.handler = () => ({ status: 200, body: initiateOkJson(), truncate: true });
    expect(await call()).toMatchObject({ name: 'Es9TransportError', problem: 'network' });
    expect(trace.at(-1)![1].error).toMatch(/closed before|aborted/);
  });

  it('fails TLS with a CA that did not issue the server certificate, and with a certificate for another host', async () => {
    const rogue = await generateRogueCi();
    const untrusting = new Es9pClient(ADDRESS, { ca: rogue.der, connect: { host: server.host, port: server.port }, timeoutMs: 5000 });
    const err = await rejection(untrusting.initiateAuthentication({ euiccChallenge: CHALLENGE, euiccInfo1: INFO1 }));
    expect(err).toBeInstanceOf(Es9TransportError);
    expect(err).toMatchObject({ problem: 'tls' });
    const other = await startRspTestServer(() => ({ status: 200, body: initiateOkJson() }), { cert: await issueTls({ host: 'other.example.com' }) });
    try {
      const wrongName = new Es9pClient(ADDRESS, { connect: { host: other.host, port: other.port }, timeoutMs: 5000 });
      expect(await rejection(wrongName.initiateAuthentication({ euiccChallenge: CHALLENGE, euiccInfo1: INFO1 }))).toMatchObject({ problem: 'tls', details: { code: 'ERR_TLS_CERT_ALTNAME_INVALID' } });
    } finally {
      await other.close();
    }
    expect(server.requests).toHaveLength(0);
  });

  it('times out and reports a refused connection', async () => {
    server.handler = () => ({ status: 200, body: initiateOkJson(), delayMs: 2000 });
    const slow = new Es9pClient(ADDRESS, { connect: { host: server.host, port: server.port }, timeoutMs: 200 });
    expect(await rejection(slow.initiateAuthentication({ euiccChallenge: CHALLENGE, euiccInfo1: INFO1 }))).toMatchObject({ problem: 'timeout' });
    const closed = await startRspTestServer(() => ({ status: 204 }));
    const port = closed.port;
    await closed.close();
    const refused = new Es9pClient(ADDRESS, { connect: { host: '127.0.0.1', port }, timeoutMs: 2000 });
    expect(await rejection(refused.handleNotification(new Uint8Array([0x30, 0x00])))).toMatchObject({ problem: 'network', details: { code: 'ECONNREFUSED' } });
  });
});

describe('Es11Client over HTTPS', () => {
  let server: RspTestServer;
  afterEach(async () => {
    await server.close();
  });

  it('uses the ES9+ paths by default, names the address smdsAddress and returns the event entries', async () => {
    const events = [
      { eventId: 'EVT-1', rspServerAddress: 'testsmdpplus1.example.com' },
      { eventId: 'EVT-2', rspServerAddress: 'smdp.example.org' },
    ];
    server = await startRspTestServer((req) =>
      req.path.endsWith('initiateAuthentication') ? { status: 200, body: initiateOkJson() } : { status: 200, body: { ...executedSuccess(), transactionId: '0123456789ABCDEF0123456789ABCDEF', eventEntries: events } },
    );
    const es11 = new Es11Client(ADDRESS, { connect: { host: server.host, port: server.port } });
    await es11.initiateAuthentication({ euiccChallenge: CHALLENGE, euiccInfo1: INFO1 });
    const r = await es11.authenticateClient(FAKE_TX, new Uint8Array([0xbf, 0x38, 0x00]));
    expect(server.requests.map((q) => q.path)).toEqual(['/gsma/rsp2/es9plus/initiateAuthentication', '/gsma/rsp2/es9plus/authenticateClient']);
    expect(JSON.parse(server.requests[0]!.body)).toMatchObject({ smdsAddress: ADDRESS });
    expect(r.eventEntries).toEqual(events);
    expect(r.transactionId).toEqual(FAKE_TX);
  });

  it('can use /gsma/rsp2/es11 paths and the lpac field name', async () => {
    server = await startRspTestServer(() => ({ status: 200, body: initiateOkJson() }));
    const es11 = new Es11Client(ADDRESS, { connect: { host: server.host, port: server.port }, paths: 'es11', addressField: 'smdpAddress' });
    await es11.initiateAuthentication({ euiccChallenge: CHALLENGE, euiccInfo1: INFO1 });
    expect(server.requests[0]!.path).toBe('/gsma/rsp2/es11/initiateAuthentication');
    expect(JSON.parse(server.requests[0]!.body)).toMatchObject({ smdpAddress: ADDRESS });
  });
});
