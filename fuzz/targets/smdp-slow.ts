// Campaign `smdp-slow`: slow and idle clients against the test SM-DP+ (startSmdp over
// loopback HTTPS, short HttpLimits so a round takes about a second). Each iteration opens a
// batch of hostile connections of one kind, sometimes more than the connection cap: TCP
// that never starts TLS, TLS that never sends, headers or a body trickled byte by byte, half
// a header, an idle keep-alive connection after a valid request, bytes that are not TLS,
// headers over the size limit.
//
// Must hold: the server closes every hostile connection within its limit plus a margin (a
// connection still open is a hang); connections over the cap are refused at once; after
// the batch a valid InitiateAuthentication is answered (Executed-Success); the server logs
// no error; the process's memory stays bounded (RSS every 16 rounds, at most 256 MB above
// the start).
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ES9P_PATHS } from '../../sim/rsp/json.ts';
import { startSmdp, type SmdpServer } from '../../sim/smdp/server.ts';
import type { HttpLimits } from '../../sim/smdp/http.ts';
import { postJson } from '../../sim/smdp/https-json.ts';
import { TestEuicc } from '../../sim/smdp/testing/euicc-sim.ts';
import type { Campaign, CampaignContext } from '../harness.ts';
import { Rng } from '../prng.ts';

const LIMITS: Partial<HttpLimits> = { headersTimeoutMs: 400, requestTimeoutMs: 800, idleTimeoutMs: 800, handshakeTimeoutMs: 400, keepAliveTimeoutMs: 300, maxConnections: 32 };
const CLOSE_MARGIN_MS = 2500;
const RSS_SLACK = 256 * 1024 * 1024;

type Kind = 'tcp-idle' | 'tls-idle' | 'slow-headers' | 'slow-body' | 'half-header' | 'keepalive-idle' | 'not-tls' | 'oversized-header';
const KINDS: readonly Kind[] = ['tcp-idle', 'tls-idle', 'slow-headers', 'slow-body', 'half-header', 'keepalive-idle', 'not-tls', 'oversized-header'];

/** ms the server may take to close a connection of `kind` (its limit plus the check interval). */
function allowedMs(kind: Kind): number {
  const l = LIMITS as HttpLimits;
  const byKind: Record<Kind, number> = {
    'tcp-idle': l.handshakeTimeoutMs,
    'tls-idle': l.headersTimeoutMs,
    'slow-headers': l.headersTimeoutMs,
    'slow-body': l.requestTimeoutMs,
    'half-header': l.headersTimeoutMs,
    'keepalive-idle': l.keepAliveTimeoutMs,
    'not-tls': l.handshakeTimeoutMs,
    'oversized-header': l.headersTimeoutMs,
  };
  return byKind[kind] + CLOSE_MARGIN_MS;
}

interface Hostile {
  socket: Socket;
  closed: Promise<number>;
}

function watch(socket: Socket, timers: Set<NodeJS.Timeout>): Hostile {
  const t0 = Date.now();
  socket.on('error', () => undefined);
  socket.on('data', () => undefined);
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - t0)));
  void closed.then(() => {
    for (const t of timers) clearInterval(t);
  });
  return { socket, closed };
}

function trickle(socket: Socket, text: string, everyMs: number, timers: Set<NodeJS.Timeout>): void {
  let at = 0;
  const t = setInterval(() => {
    if (socket.destroyed || !socket.writable || at >= text.length) return clearInterval(t);
    socket.write(text[at++]!);
  }, everyMs);
  timers.add(t);
}

function open(server: SmdpServer, kind: Kind): Hostile {
  const timers = new Set<NodeJS.Timeout>();
  const head = (len: number): string => `POST ${ES9P_PATHS.initiateAuthentication} HTTP/1.1\r\nHost: ${server.hostname}\r\nX-Admin-Protocol: gsma/rsp/v2.2.0\r\nContent-Type: application/json\r\nContent-Length: ${len}\r\n\r\n`;
  if (kind === 'tcp-idle' || kind === 'not-tls') {
    const s = netConnect(server.port, '127.0.0.1');
    if (kind === 'not-tls') s.once('connect', () => s.write('GET / HTTP/1.1\r\n\r\n'));
    return watch(s, timers);
  }
  const s = tlsConnect({ host: '127.0.0.1', port: server.port, ca: server.trustAnchorPem, servername: server.hostname });
  const h = watch(s, timers);
  s.once('secureConnect', () => {
    switch (kind) {
      case 'tls-idle':
        return;
      case 'slow-headers':
        return trickle(s, head(2), 30, timers);
      case 'slow-body':
        s.write(head(10_000));
        return trickle(s, '{'.repeat(10_000), 30, timers);
      case 'half-header':
        s.write(head(2).slice(0, 40));
        return;
      case 'keepalive-idle': {
        const body = JSON.stringify(new TestEuicc().initiateAuthenticationBody(server.address));
        s.write(head(Buffer.byteLength(body)) + body);
        return;
      }
      case 'oversized-header':
        s.write(`POST / HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(20_000)}\r\n\r\n`);
        return;
    }
  });
  return h;
}

export const smdpSlowCampaign: Campaign = {
  name: 'smdp-slow',
  description: 'slow and idle clients (stalled TLS, trickled headers and bodies, idle keep-alive, connection floods) against the SM-DP+ limits',
  defaultIterations: 160,
  weight: 160,
  episodeLength: 1,
  unit: 'round',
  async run(ctx: CampaignContext) {
    const dataDir = mkdtempSync(join(tmpdir(), 'bridgelab-fuzz-smdpslow-'));
    const errors: string[] = [];
    const server = await startSmdp({
      dataDir,
      host: '127.0.0.1',
      port: 0,
      inventory: [{ template: 'TS48v2_SAIP2.3_NoBERTLV', count: 2 }],
      limits: LIMITS,
      log: (level, message) => {
        if (level === 'error') errors.push(message);
      },
    });
    const rssAtStart = process.memoryUsage().rss;
    const valid = JSON.stringify(new TestEuicc().initiateAuthenticationBody(server.address));
    try {
      for (let i = ctx.from; i < ctx.to; i++) {
        if (Date.now() > ctx.deadline) break;
        ctx.heartbeat(i);
        ctx.stats.count();
        const rng = Rng.for(ctx.seed, 'smdp-slow', i);
        const kind = rng.pick(KINDS);
        const n = rng.chance(0.15) ? 48 : 1 + rng.int(8);
        const shown = `${n} x ${kind}`;
        errors.length = 0;
        const batch = Array.from({ length: n }, () => open(server, kind));
        const limit = allowedMs(kind);
        const results = await Promise.all(batch.map((h) => Promise.race([h.closed, new Promise<number>((r) => setTimeout(() => r(-1), limit))])));
        for (const h of batch) h.socket.destroy();
        const open_ = results.filter((ms) => ms < 0).length;
        if (open_ > 0) {
          ctx.stats.hang(i, `${open_} of ${n} ${kind} connections still open after ${limit} ms`, shown);
          continue;
        }
        await new Promise((r) => setTimeout(r, 20));
        let answered = false;
        let last = '';
        for (let attempt = 0; attempt < 3 && !answered; attempt++) {
          // the refused flood may still be closing: up to three tries
          const r = await postJson(server.url + ES9P_PATHS.initiateAuthentication, JSON.parse(valid) as unknown, { ca: server.trustAnchorPem, servername: server.hostname, timeoutMs: 5000 }).then(
            (reply) => ({ ok: reply.status === 200 && reply.text.includes('Executed-Success'), what: `HTTP ${reply.status}` }),
            (e: unknown) => ({ ok: false, what: e instanceof Error ? e.message : String(e) }),
          );
          answered = r.ok;
          last = r.what;
          if (!answered) await new Promise((res) => setTimeout(res, 200));
        }
        if (!answered) ctx.stats.violation(i, `a valid InitiateAuthentication after the round was not answered (${last})`, shown);
        else if (errors.length) ctx.stats.violation(i, `server logged errors: ${errors.join(' | ').slice(0, 300)}`, shown);
        else ctx.stats.reject(`closed:${kind}${n > 32 ? ' (over the cap)' : ''}`);
        if ((i & 15) === 15) {
          const grown = process.memoryUsage().rss - rssAtStart;
          if (grown > RSS_SLACK) ctx.stats.violation(i, `RSS grew ${Math.round(grown / 1048576)} MB`, shown);
        }
      }
    } finally {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  },
};
