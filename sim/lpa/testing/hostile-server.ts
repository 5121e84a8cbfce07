// A hostile HTTPS peer for the LPA's and the ES2+ client's limits (SGP.22 6.5 HTTP binding
// seen from the client): a TLS server (certificate from the SGP.26 CI for the SM-DP+ host)
// on 127.0.0.1 that answers every request in the way it is told: an endless body, a huge
// declared Content-Length, a body trickled byte by byte, headers and then silence, or no
// answer at all. It counts the bytes it managed to send, so a test can see that the client
// stopped reading. Loopback only.
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { ServerResponse } from 'node:http';
import { testTlsCert, TEST_SMDP_HOST } from './https-server.ts';

export type HostileMode =
  /** 200, no Content-Length, 64 KiB chunks as fast as the client takes them, forever */
  | 'endless'
  /** 200 with Content-Length of `declaredBytes`, then streams like endless */
  | 'huge-declared'
  /** 200, then one byte every `intervalMs` */
  | 'trickle'
  /** status line and headers, then nothing */
  | 'headers-then-stall'
  /** reads the request, never answers */
  | 'silent'
  /** bytes that are not HTTP, then the end of the connection */
  | 'garbage'
  /** the status line and headers one byte every `intervalMs` */
  | 'slow-headers'
  /** 64 KiB of header lines (over any client's header limit) */
  | 'huge-headers'
  /** a Content-Length, half the body, then the connection dropped */
  | 'cut-body';

export interface HostileServer {
  readonly host: string;
  readonly port: number;
  readonly hostname: string;
  mode: HostileMode;
  /** body bytes written to clients so far */
  readonly sent: () => number;
  close(): Promise<void>;
}

const CHUNK = Buffer.alloc(64 * 1024, 0x41);

export async function startHostileServer(o: { mode: HostileMode; declaredBytes?: number; intervalMs?: number; host?: string }): Promise<HostileServer> {
  const hostname = o.host ?? TEST_SMDP_HOST;
  const cert = await testTlsCert(hostname);
  let sent = 0;
  const state = { mode: o.mode };
  const timers = new Set<NodeJS.Timeout>();
  const stream = (res: ServerResponse): void => {
    const pump = (): void => {
      while (!res.destroyed && res.write(CHUNK)) sent += CHUNK.byteLength;
      if (!res.destroyed) {
        sent += CHUNK.byteLength;
        res.once('drain', pump);
      }
    };
    pump();
  };
  const server: Server = createServer({ cert: cert.pem, key: cert.keyPem, minVersion: 'TLSv1.2' }, (req, res) => {
    req.resume();
    req.on('end', () => {
      res.on('error', () => undefined);
      switch (state.mode) {
        case 'endless':
          res.writeHead(200, { 'Content-Type': 'application/json;charset=UTF-8' });
          return stream(res);
        case 'huge-declared':
          res.writeHead(200, { 'Content-Type': 'application/json;charset=UTF-8', 'Content-Length': String(o.declaredBytes ?? 600 * 1024 * 1024) });
          return stream(res);
        case 'trickle': {
          res.writeHead(200, { 'Content-Type': 'application/json;charset=UTF-8' });
          const t = setInterval(() => {
            if (res.destroyed) {
              clearInterval(t);
              timers.delete(t);
              return;
            }
            res.write('{');
            sent++;
          }, o.intervalMs ?? 100);
          timers.add(t);
          return;
        }
        case 'headers-then-stall':
          res.writeHead(200, { 'Content-Type': 'application/json;charset=UTF-8', 'Content-Length': '100' });
          res.flushHeaders();
          return;
        case 'silent':
          return;
        case 'garbage':
          res.socket?.end(Buffer.from('\u0000\u00ffNOT HTTP AT ALL\r\n\r\n\u0007'));
          return;
        case 'slow-headers': {
          const head = 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Pad: ' + 'p'.repeat(4096) + '\r\n\r\n{}';
          let at = 0;
          const t = setInterval(() => {
            if (res.socket?.destroyed !== false || at >= head.length) {
              clearInterval(t);
              timers.delete(t);
              return;
            }
            res.socket.write(head[at++]!);
          }, o.intervalMs ?? 100);
          timers.add(t);
          return;
        }
        case 'huge-headers': {
          const headers: Record<string, string> = {};
          for (let i = 0; i < 640; i++) headers[`X-Hostile-${i}`] = 'h'.repeat(100);
          res.writeHead(200, headers);
          res.end('{}');
          return;
        }
        case 'cut-body':
          res.writeHead(200, { 'Content-Type': 'application/json;charset=UTF-8', 'Content-Length': '200000' });
          res.write(Buffer.alloc(100_000, 0x41), () => res.socket?.destroy());
          sent += 100_000;
          return;
      }
    });
  });
  server.on('clientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    host: '127.0.0.1',
    port,
    hostname,
    get mode() {
      return state.mode;
    },
    set mode(m: HostileMode) {
      state.mode = m;
    },
    sent: () => sent,
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearInterval(t);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
