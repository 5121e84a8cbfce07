// Regression tests for issue 18 (LPA side): the ES9+, ES11 and ES2+ HTTPS clients cap the
// response size and the exchange time. A hostile SM-DP+ streaming an endless body (600 MB
// drove the LPA to 1.3 GB and an uncaught ERR_STRING_TOO_LONG with a stack trace) now ends
// in a typed error after at most the size limit, with the connection closed; a declared
// Content-Length over the limit fails before the body is read; a trickled body or a
// silent server ends at the time-out.
import { afterEach, describe, expect, it } from 'vitest';
import { Es9pClient } from './es9p-client.ts';
import { Es11Client } from './es11-client.ts';
import { Es9TransportError } from './errors.ts';
import { rspPost } from './rsp-http.ts';
import { HttpClientError, postJson } from '../smdp/https-json.ts';
import { defaultRspCa } from './rsp-http.ts';
import { startHostileServer, type HostileServer } from './testing/hostile-server.ts';

let peer: HostileServer | undefined;
afterEach(async () => {
  await peer?.close();
  peer = undefined;
});

async function transportError(p: Promise<unknown>): Promise<Es9TransportError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof Es9TransportError) return e;
    throw e;
  }
  throw new Error('expected an Es9TransportError');
}

describe('issue 18: the LPA HTTPS clients bound what a hostile SM-DP+ sends', () => {
  it('LpaHttp_EndlessResponse: an endless body ends in too-large after the limit, and the peer stops being read', async () => {
    peer = await startHostileServer({ mode: 'endless' });
    const client = new Es9pClient(`${peer.hostname}:${peer.port}`, { connect: { host: peer.host, port: peer.port }, maxResponseBytes: 2 * 1024 * 1024 });
    const t0 = Date.now();
    const e = await transportError(client.initiateAuthentication({ euiccChallenge: new Uint8Array(16), euiccInfo1: new Uint8Array([0xbf, 0x20, 0]) }));
    expect(e.problem).toBe('too-large');
    expect(e.message).toMatch(/^ES9\+\.initiateAuthentication: response from .* exceeds \d+ bytes, over the 2097152-byte limit$/);
    expect(Date.now() - t0).toBeLessThan(5000);
    const sentAtError = peer.sent();
    await new Promise((r) => setTimeout(r, 300));
    // the connection is gone: the peer cannot push more than what was in flight
    expect(peer.sent() - sentAtError).toBeLessThan(4 * 1024 * 1024);
  });

  it('LpaHttp_HugeDeclaredLength: a 600 MB Content-Length fails before the body is read', async () => {
    peer = await startHostileServer({ mode: 'huge-declared' });
    const e = await transportError(rspPost('ES9+.getBoundProfilePackage', `${peer.hostname}:${peer.port}`, '/gsma/rsp2/es9plus/getBoundProfilePackage', '{}', { connect: { host: peer.host, port: peer.port } }));
    expect(e.problem).toBe('too-large');
    expect(e.message).toContain(`declares ${600 * 1024 * 1024} bytes, over the ${4 * 1024 * 1024}-byte limit`);
  });

  it('LpaHttp_TrickledResponse: a body trickled byte by byte ends at the exchange time-out', async () => {
    peer = await startHostileServer({ mode: 'trickle', intervalMs: 50 });
    const client = new Es11Client(`${peer.hostname}:${peer.port}`, { connect: { host: peer.host, port: peer.port }, timeoutMs: 800 });
    const t0 = Date.now();
    const e = await transportError(client.initiateAuthentication({ euiccChallenge: new Uint8Array(16), euiccInfo1: new Uint8Array([0xbf, 0x20, 0]) }));
    expect(e.problem).toBe('timeout');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(750);
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('LpaHttp_SilentServer: headers and then silence end at the time-out', async () => {
    peer = await startHostileServer({ mode: 'headers-then-stall' });
    const e = await transportError(rspPost('ES9+.handleNotification', `${peer.hostname}:${peer.port}`, '/x', '{}', { connect: { host: peer.host, port: peer.port }, timeoutMs: 500 }));
    expect(e.problem).toBe('timeout');
  });
});

describe('issue 18: the ES2+ client (smdp order, operator callbacks) bounds it too', () => {
  const opts = (p: HostileServer) => ({ ca: defaultRspCa(), servername: p.hostname });

  it('Es2Http_EndlessResponse: ETOOLARGE after 1 MiB', async () => {
    peer = await startHostileServer({ mode: 'endless' });
    const err = await postJson(`https://127.0.0.1:${peer.port}/gsma/rsp2/es2plus/downloadOrder`, {}, opts(peer)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(HttpClientError);
    expect((err as HttpClientError).code).toBe('ETOOLARGE');
    expect((err as HttpClientError).message).toMatch(/exceeds 1048576 bytes$/);
  });

  it('Es2Http_TrickledResponse: a trickle is cut at the whole-exchange time-out, not kept alive by each byte', async () => {
    peer = await startHostileServer({ mode: 'trickle', intervalMs: 50 });
    const t0 = Date.now();
    const err = await postJson(`https://127.0.0.1:${peer.port}/x`, {}, { ...opts(peer), timeoutMs: 600 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as HttpClientError).code).toBe('ETIMEDOUT');
    expect(Date.now() - t0).toBeLessThan(3000);
  });
});
