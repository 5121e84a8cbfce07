// Misbehaviour switches of the test SM-DP+ (negative suites): each one's observable effect
// on a real download over loopback HTTPS (SGP.22 5.6.1 serverSignature1, 5.6.3
// smdpSignature2, 5.5.1 smdpSign, serverAddress, transaction ids, expired DPauth/DPpb/DPtls,
// delay, HTTP 500, malformed JSON, a corrupted '86' segment), the loopback control endpoint
// and the JSON validation.
import tls from 'node:tls';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decode } from '../rsp/der.ts';
import { ServerSigned1 } from '../rsp/common.ts';
import { base64ToBytes, bytesToBase64, Status } from '../rsp/json.ts';
import { toHex } from '../bytes.ts';
import type { SmdpServer } from './server.ts';
import { SmdpConfigError } from './errors.ts';
import { parseMisbehaviour } from './misbehaviour.ts';
import { CONTROL_PATHS } from './http.ts';
import { postJson, requestJson } from './https-json.ts';
import { LoadBppError, TestEuicc } from './testing/euicc-sim.ts';
import { RspClient, authenticate, code, codeOf, download } from './testing/client.ts';
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

async function initAndAuthServer(euicc: TestEuicc) {
  const ia = await client.initiateAuthentication(euicc.initiateAuthenticationBody(server.address));
  expect(codeOf(ia)).toBe('ok');
  return { ia, asr: euicc.authenticateServer(ia.body, { matchingId: server.es2.order().matchingId }) };
}

function loadError(fn: () => unknown): LoadBppError {
  try {
    fn();
  } catch (e) {
    if (e instanceof LoadBppError) return e;
    throw e;
  }
  throw new Error('expected a LoadBppError');
}

describe('signature and content switches', () => {
  it('corrupted serverSignature1: the eUICC refuses the server (invalidSignature)', async () => {
    await server.control.set({ corruptSignatures: ['serverSignature1'] });
    expect((await initAndAuthServer(new TestEuicc())).asr).toMatchObject({ ok: false, error: 'invalidSignature' });
    await server.control.reset();
    expect((await initAndAuthServer(new TestEuicc())).asr.ok).toBe(true);
  });

  it('corrupted smdpSignature2: PrepareDownload fails (invalidSignature)', async () => {
    await server.control.set({ corruptSignatures: ['smdpSignature2'] });
    const euicc = new TestEuicc();
    const { auth } = await authenticate(client, euicc, { address: server.address, matchingId: server.es2.order().matchingId });
    expect(euicc.prepareDownload(auth)).toMatchObject({ ok: false, error: 'invalidSignature' });
  });

  it('corrupted smdpSign: LoadBoundProfilePackage fails at initialiseSecureChannel (0) with invalidSignature (2)', async () => {
    await server.control.set({ corruptSignatures: ['smdpSign'] });
    const euicc = new TestEuicc();
    const err = await download(client, euicc, { address: server.address, matchingId: server.es2.order().matchingId }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(LoadBppError);
    expect(err).toMatchObject({ bppCommandId: 0, errorReason: 2 });
  });

  it('wrong serverAddress in serverSigned1', async () => {
    await server.control.set({ serverAddress: 'evil.example.com' });
    const ia = await client.initiateAuthentication(new TestEuicc().initiateAuthenticationBody(server.address));
    expect(decode(ServerSigned1, base64ToBytes(ia.body.serverSigned1)).serverAddress).toBe('evil.example.com');
  });

  it('wrong transaction ids: in serverSigned1, in the JSON response, in smdpSigned2, in the ISCR', async () => {
    await server.control.set({ wrongTransactionId: ['serverSigned1'] });
    let ia = await client.initiateAuthentication(new TestEuicc().initiateAuthenticationBody(server.address));
    expect(toHex(decode(ServerSigned1, base64ToBytes(ia.body.serverSigned1)).transactionId).toUpperCase()).not.toBe(ia.body.transactionId);

    await server.control.set({ wrongTransactionId: ['response'] });
    const euicc = new TestEuicc();
    ia = await client.initiateAuthentication(euicc.initiateAuthenticationBody(server.address));
    const asr = euicc.authenticateServer(ia.body, { matchingId: server.es2.order().matchingId });
    expect(codeOf(await client.authenticateClient({ transactionId: ia.body.transactionId, authenticateServerResponse: bytesToBase64(asr.der) }))).toBe(code(Status.UnknownTransactionId));

    await server.control.set({ wrongTransactionId: ['smdpSigned2'] });
    const e2 = new TestEuicc();
    const { auth } = await authenticate(client, e2, { address: server.address, matchingId: server.es2.order().matchingId });
    expect(e2.prepareDownload(auth)).toMatchObject({ ok: false, error: 'invalidTransactionId' });

    await server.control.set({ wrongTransactionId: ['initialiseSecureChannel'] });
    const e3 = new TestEuicc();
    const err = await download(client, e3, { address: server.address, matchingId: server.es2.order().matchingId }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ bppCommandId: 0, errorReason: 3 });
  });

  it('corrupted 86 segment N: the eUICC fails loadProfileElements (5) with scp03tSecurityError (8)', async () => {
    const euicc = new TestEuicc();
    const o = server.es2.order();
    const { auth } = await authenticate(client, euicc, { address: server.address, matchingId: o.matchingId });
    await server.control.set({ corruptSegment86: 2 });
    const body = { transactionId: auth.transactionId, prepareDownloadResponse: bytesToBase64(euicc.prepareDownload(auth).der) };
    const r = await client.getBoundProfilePackage(body);
    const bpp = base64ToBytes(r.body.boundProfilePackage);
    expect(loadError(() => euicc.loadBoundProfilePackage(bpp))).toMatchObject({ bppCommandId: 5, errorReason: 8 });
    // the stored binding is intact: the same session gets a clean copy once the switch is off
    await server.control.reset();
    const again = await client.getBoundProfilePackage(body);
    expect(codeOf(again)).toBe('ok');
    expect(euicc.loadBoundProfilePackage(base64ToBytes(again.body.boundProfilePackage)).upp).toEqual(server.inventory.personalisedUpp(o.iccid));
  });
});

describe('expired certificates', () => {
  it('expired DPauth: the eUICC refuses the server certificate', async () => {
    await server.control.set({ expiredCertificates: ['dpauth'] });
    const { asr } = await initAndAuthServer(new TestEuicc());
    expect(asr).toMatchObject({ ok: false, error: 'expired' });
  });

  it('expired DPpb: PrepareDownload refuses the SM-DP+ certificate', async () => {
    await server.control.set({ expiredCertificates: ['dppb'] });
    const euicc = new TestEuicc();
    const { auth } = await authenticate(client, euicc, { address: server.address, matchingId: server.es2.order().matchingId });
    expect(euicc.prepareDownload(auth)).toMatchObject({ ok: false, error: 'expired' });
  });

  it('expired DPtls: TLS clients that check validity fail with CERT_HAS_EXPIRED', async () => {
    const connect = () =>
      new Promise<string>((resolve) => {
        const u = new URL(server.url);
        const s = tls.connect({ host: u.hostname, port: Number(u.port), servername: server.hostname, ca: server.trustAnchorPem }, () => {
          s.end();
          resolve('ok');
        });
        s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
      });
    await server.control.set({ expiredCertificates: ['dptls'] });
    expect(await connect()).toBe('CERT_HAS_EXPIRED');
    await server.control.reset();
    expect(await connect()).toBe('ok');
  });
});

describe('HTTP-level switches', () => {
  it('delay applies to the selected functions only', async () => {
    await server.control.set({ delayMs: 400, functions: ['initiateAuthentication'] });
    let t = Date.now();
    expect(codeOf(await client.initiateAuthentication(new TestEuicc().initiateAuthenticationBody(server.address)))).toBe('ok');
    expect(Date.now() - t).toBeGreaterThanOrEqual(390);
    t = Date.now();
    await client.getBoundProfilePackage({ transactionId: 'AB', prepareDownloadResponse: 'vyEA' });
    expect(Date.now() - t).toBeLessThan(390);
  });

  it('HTTP 500 without running the function', async () => {
    await server.control.set({ http500: true, functions: ['initiateAuthentication'] });
    const before = server.state.sessions().length;
    const r = await client.initiateAuthentication(new TestEuicc().initiateAuthenticationBody(server.address));
    expect(r.status).toBe(500);
    expect(server.state.sessions()).toHaveLength(before);
  });

  it('malformed JSON with HTTP 200', async () => {
    await server.control.set({ malformedJson: true });
    const r = await client.initiateAuthentication(new TestEuicc().initiateAuthenticationBody(server.address));
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/json;charset=UTF-8');
    expect(() => JSON.parse(r.text) as unknown).toThrow(SyntaxError);
  });
});

describe('control API and JSON config', () => {
  it('switches set at start from a JSON config', async () => {
    await server.close();
    server = await startTestSmdp(dir, { misbehaviour: { http500: true } });
    client = new RspClient(server);
    expect((await client.initiateAuthentication({})).status).toBe(500);
    expect(server.control.get()).toEqual({ http500: true });
  });

  it('update merges, reset clears', async () => {
    await server.control.set({ delayMs: 10 });
    await server.control.update({ http500: true });
    expect(server.control.get()).toEqual({ delayMs: 10, http500: true });
    await server.control.reset();
    expect(server.control.get()).toEqual({});
  });

  it('loopback HTTP control endpoint: PUT validates and sets, GET reads, DELETE resets', async () => {
    const url = server.url + CONTROL_PATHS.misbehaviour;
    const tlsOpts = { ca: server.trustAnchorPem, servername: server.hostname };
    const bad = await postJson(url, { http500: 'yes' }, tlsOpts);
    expect(bad.status).toBe(400);
    const ok = await postJson(url, { corruptSignatures: ['smdpSign'], functions: ['getBoundProfilePackage'] }, tlsOpts);
    expect(ok.status).toBe(200);
    expect(server.control.get()).toEqual({ corruptSignatures: ['smdpSign'], functions: ['getBoundProfilePackage'] });
    expect((await requestJson('GET', url, undefined, tlsOpts)).json).toEqual({ corruptSignatures: ['smdpSign'], functions: ['getBoundProfilePackage'] });
    expect((await requestJson('DELETE', url, undefined, tlsOpts)).json).toEqual({});
    expect(server.control.get()).toEqual({});
    const inv = await requestJson('GET', server.url + CONTROL_PATHS.inventory, undefined, tlsOpts);
    expect((inv.json as unknown[]).length).toBe(server.inventory.list().length);
  });

  it('parseMisbehaviour names the bad switch', () => {
    expect(() => parseMisbehaviour({ nope: 1 })).toThrow(/unknown switch 'nope'/);
    expect(() => parseMisbehaviour({ corruptSignatures: ['x'] })).toThrow(SmdpConfigError);
    expect(() => parseMisbehaviour({ delayMs: -1 })).toThrow(/delayMs/);
    expect(() => parseMisbehaviour({ expiredCertificates: ['dpauth', 'ci'] })).toThrow(/'ci' is not one of dpauth, dppb, dptls/);
    expect(parseMisbehaviour({ corruptSegment86: 0, functions: ['cancelSession'] })).toEqual({ corruptSegment86: 0, functions: ['cancelSession'] });
  });
});
