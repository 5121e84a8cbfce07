// Regression tests for issue 18 (SM-DP+ HTTP layer): slow and idle clients are cut off by
// the request, header, idle and handshake time-outs; connections beyond the cap are
// refused; oversized headers get 431; responses carry Content-Type
// application/json;charset=UTF-8; a missing or wrong X-Admin-Protocol and a body that is
// not UTF-8 are refused with 400 (SGP.22 6.5.1); request fields cannot forge log lines
// (control characters escaped) and a 1,000,000-character transactionId is echoed neither
// whole in the response nor in the log. Raw TLS sockets on loopback, short limits.
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ES9P_PATHS } from '../rsp/json.ts';
import { postJson } from './https-json.ts';
import type { SmdpServer } from './server.ts';
import { removeDir, startTestSmdp, tempDir } from './testing/fixture.ts';
import { TestEuicc } from './testing/euicc-sim.ts';

let dir: string;
let server: SmdpServer;
const logLines: string[] = [];

beforeAll(async () => {
  dir = tempDir();
  server = await startTestSmdp(dir, {
    inventory: [{ template: 'TS48v2_SAIP2.3_NoBERTLV', count: 1 }],
    limits: { headersTimeoutMs: 800, requestTimeoutMs: 1500, idleTimeoutMs: 1500, handshakeTimeoutMs: 800, keepAliveTimeoutMs: 500, maxConnections: 8, maxHeaderBytes: 8192 },
    log: (level, message) => logLines.push(`${level} ${message}`),
  });
});

afterAll(async () => {
  await server.close();
  removeDir(dir);
});

const tlsOpts = (): { ca: string; servername: string } => ({ ca: server.trustAnchorPem, servername: server.hostname });

function connect(): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port: server.port, ...tlsOpts() }, () => resolve(s));
    s.once('error', reject);
  });
}

/** ms until the server closes `socket` (resolves with what it sent), or undefined after `maxMs`. */
function closedWithin(socket: tls.TLSSocket, maxMs: number): Promise<{ ms: number; data: string } | undefined> {
  const t0 = Date.now();
  let data = '';
  socket.on('data', (c: Buffer) => void (data += c.toString()));
  socket.on('error', () => undefined);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(undefined);
    }, maxMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve({ ms: Date.now() - t0, data });
    });
  });
}

const REQUEST_HEAD = (length: number): string =>
  `POST ${ES9P_PATHS.initiateAuthentication} HTTP/1.1\r\nHost: ${server.hostname}\r\nX-Admin-Protocol: gsma/rsp/v2.2.0\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;

describe('issue 18: slow and idle clients are cut off', () => {
  it('SmdpHttp_SlowBody: a body trickled one byte every 200 ms is cut at requestTimeout (was held open for 330 s)', async () => {
    const s = await connect();
    s.write(REQUEST_HEAD(1000));
    const trickle = setInterval(() => s.writable && s.write('{'), 200);
    const closed = await closedWithin(s, 6000);
    clearInterval(trickle);
    expect(closed).toBeDefined();
    expect(closed!.ms).toBeLessThan(4000);
    expect(closed!.data).toMatch(/^HTTP\/1\.1 408/);
  });

  it('SmdpHttp_SlowHeaders: headers trickled byte by byte are cut at headersTimeout', async () => {
    const s = await connect();
    const head = REQUEST_HEAD(2);
    let i = 0;
    const trickle = setInterval(() => s.writable && i < head.length && s.write(head[i++]!), 150);
    const closed = await closedWithin(s, 6000);
    clearInterval(trickle);
    expect(closed).toBeDefined();
    expect(closed!.ms).toBeLessThan(4000);
  });

  it('SmdpHttp_IdleConnection: a TLS connection that sends nothing is closed', async () => {
    const s = await connect();
    const closed = await closedWithin(s, 6000);
    expect(closed).toBeDefined();
    expect(closed!.ms).toBeLessThan(4000);
  });

  it('SmdpHttp_StalledHandshake: a TCP connection that never starts TLS is closed at handshakeTimeout', async () => {
    const net = await import('node:net');
    const sock = net.connect(server.port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    const t0 = Date.now();
    await new Promise<void>((resolve) => {
      sock.on('error', () => undefined);
      sock.once('close', () => resolve());
    });
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('SmdpHttp_ConnectionCap: beyond maxConnections new connections are closed; a valid request works again after', async () => {
    const held = await Promise.all(Array.from({ length: 8 }, () => connect()));
    const refused = await new Promise<boolean>((resolve) => {
      const s = tls.connect({ host: '127.0.0.1', port: server.port, ...tlsOpts() }, () => resolve(false));
      s.once('error', () => resolve(true));
      s.once('close', () => resolve(true));
    });
    expect(refused).toBe(true);
    for (const s of held) s.destroy();
    await new Promise((r) => setTimeout(r, 100));
    const ok = await postJson(server.url + ES9P_PATHS.initiateAuthentication, new TestEuicc().initiateAuthenticationBody(server.address), tlsOpts());
    expect(ok.status).toBe(200);
    expect(logLines.some((l) => /^warn connection refused: 8 connections open/.test(l))).toBe(true);
  });
});

describe('issue 18: headers and bodies', () => {
  it('SmdpHttp_Charset: responses are application/json;charset=UTF-8', async () => {
    const r = await postJson(server.url + ES9P_PATHS.initiateAuthentication, new TestEuicc().initiateAuthenticationBody(server.address), tlsOpts());
    expect(r.headers['content-type']).toBe('application/json;charset=UTF-8');
  });

  it('SmdpHttp_AdminProtocol: a missing or wrong X-Admin-Protocol is 400, nothing runs', async () => {
    const before = server.state.sessions().length;
    for (const header of [{ 'X-Admin-Protocol': 'gsma/rsp/v9.0.0' }, { 'X-Admin-Protocol': 'nonsense' }]) {
      const r = await postJson(server.url + ES9P_PATHS.initiateAuthentication, new TestEuicc().initiateAuthenticationBody(server.address), { ...tlsOpts(), headers: header });
      expect(r.status).toBe(400);
      expect(r.json).toMatchObject({ header: { functionExecutionStatus: { status: 'Failed', statusCodeData: { subjectCode: '1.1', reasonCode: '2.1' } } } });
    }
    const s = await connect();
    const body = JSON.stringify(new TestEuicc().initiateAuthenticationBody(server.address));
    s.write(`POST ${ES9P_PATHS.initiateAuthentication} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
    const reply = await closedWithin(s, 5000);
    expect(reply!.data).toMatch(/^HTTP\/1\.1 400/);
    expect(reply!.data).toContain('X-Admin-Protocol must be gsma/rsp/v2.x.y, got none');
    expect(server.state.sessions()).toHaveLength(before);
  });

  it('SmdpHttp_InvalidUtf8: a body that is not UTF-8 is 400, not repaired', async () => {
    const s = await connect();
    const body = Buffer.concat([Buffer.from('{"smdpAddress":"'), Buffer.from([0xc3, 0x28]), Buffer.from('","euiccChallenge":"AAAA","euiccInfo1":"AAAA"}')]);
    s.write(REQUEST_HEAD(body.byteLength).replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n'));
    s.write(body);
    const reply = await closedWithin(s, 5000);
    expect(reply!.data).toMatch(/^HTTP\/1\.1 400/);
    expect(reply!.data).toContain('request body is not valid UTF-8');
  });

  it('SmdpHttp_HeaderSize: headers over the limit get 431', async () => {
    const s = await connect();
    s.write(`POST ${ES9P_PATHS.initiateAuthentication} HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(20_000)}\r\n\r\n`);
    const reply = await closedWithin(s, 5000);
    expect(reply!.data).toMatch(/^HTTP\/1\.1 431/);
  });
});

describe('issue 18: logs and messages', () => {
  it('SmdpLog_ControlCharacters: a newline in a request field cannot forge a log line', async () => {
    logLines.length = 0;
    const forged = 'evil.example.com\n2026-01-01T00:00:00.000Z error forged line\u001b[31m';
    await postJson(server.url + ES9P_PATHS.initiateAuthentication, { ...new TestEuicc().initiateAuthenticationBody(server.address), smdpAddress: forged }, tlsOpts());
    const line = logLines.find((l) => l.includes('evil.example.com'));
    expect(line).toBeDefined();
    expect(logLines.every((l) => !/[\n\r\u001b]/.test(l))).toBe(true);
    expect(line).toContain('evil.example.com\\x0a2026-01-01T00:00:00.000Z error forged line\\x1b[31m');
  });

  it('SmdpHttp_LongTransactionId: a 1,000,000-character transactionId is cut in the response and in the log', async () => {
    logLines.length = 0;
    const r = await postJson(server.url + ES9P_PATHS.authenticateClient, { transactionId: 'A'.repeat(1_000_000), authenticateServerResponse: 'AAAA' }, tlsOpts());
    expect(r.status).toBe(400);
    expect(r.text.length).toBeLessThan(600);
    expect((r.json as { header: { functionExecutionStatus: { statusCodeData: { message: string } } } }).header.functionExecutionStatus.statusCodeData.message).toMatch(/\.\.\.\(\d+ chars\)$/);
    expect(logLines.length).toBeGreaterThan(0);
    for (const l of logLines) expect(l.length).toBeLessThan(1100);
  });
});
