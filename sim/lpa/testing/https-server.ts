// A small HTTPS server for the LPA's ES9+/ES11 client tests (SGP.22 6.5 HTTP binding, 2.6.6
// TLS): TLS certificate minted from the SGP.26 CI for a host name (default
// testsmdpplus1.example.com), listening on 127.0.0.1, answering each POST from a handler
// and recording method, path, headers and body. Loopback only.
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { issueTls, type IssuedCert } from '../../../certs/issue.ts';

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
}

export interface TestReply {
  readonly status: number;
  /** a value is sent as JSON; a string as is */
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  /** wait before answering */
  readonly delayMs?: number;
  /** announce a longer body, send part of it, then drop the connection */
  readonly truncate?: boolean;
}

export type TestHandler = (req: RecordedRequest) => TestReply | Promise<TestReply>;

export interface RspTestServer {
  readonly port: number;
  readonly host: string;
  readonly cert: IssuedCert;
  readonly requests: RecordedRequest[];
  handler: TestHandler;
  close(): Promise<void>;
}

export const TEST_SMDP_HOST = 'testsmdpplus1.example.com';

const certCache = new Map<string, Promise<IssuedCert>>();

/** A TLS certificate for `host` from the SGP.26 NIST CI (cached per host). */
export function testTlsCert(host = TEST_SMDP_HOST): Promise<IssuedCert> {
  let c = certCache.get(host);
  if (!c) {
    c = issueTls({ host });
    certCache.set(host, c);
  }
  return c;
}

export async function startRspTestServer(handler: TestHandler, options: { host?: string; cert?: IssuedCert } = {}): Promise<RspTestServer> {
  const cert = options.cert ?? (await testTlsCert(options.host));
  const requests: RecordedRequest[] = [];
  const state = { handler };
  const server: Server = createServer({ cert: cert.pem, key: cert.keyPem, minVersion: 'TLSv1.2' }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rec: RecordedRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      requests.push(rec);
      void Promise.resolve(state.handler(rec)).then(async (reply) => {
        if (reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs));
        if (res.destroyed) return;
        const body = reply.body === undefined ? '' : typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
        if (reply.truncate) {
          res.writeHead(reply.status, { 'Content-Length': String(Buffer.byteLength(body) + 100) });
          res.write(body, () => res.socket?.destroy());
          return;
        }
        res.writeHead(reply.status, { ...(body ? { 'Content-Type': 'application/json;charset=UTF-8' } : {}), 'X-Admin-Protocol': 'gsma/rsp/v2.2.0', ...(reply.headers ?? {}) });
        res.end(body);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    host: '127.0.0.1',
    cert,
    requests,
    get handler() {
      return state.handler;
    },
    set handler(h: TestHandler) {
      state.handler = h;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
