// Campaign `lpa-hostile`: a hostile SM-DP+/SM-DS/operator over loopback HTTPS against the
// clients that talk to it: the LPA's ES9+ client (5.6, every function) and ES11 client
// (5.8), and the ES2+ JSON client (`bridgelab smdp order`, the SM-DP+'s operator
// callbacks). Each iteration picks a client call, a size limit and a time limit, and a
// way to misbehave (sim/lpa/testing/hostile-server.ts): endless body, huge declared
// Content-Length, body or headers trickled, headers then silence, no answer, garbage, 64 KiB
// of headers, a body cut short.
//
// Must hold: the call rejects (the peer never sends a valid reply) with the client's typed
// error (Es9TransportError / HttpClientError), within its time limit plus a second; a
// response over the size limit is refused as too-large after at most the limit (plus one
// read); and the process's memory stays bounded (RSS checked every 32 calls: at most 256 MB
// above where it started).
import { Es9pClient } from '../../sim/lpa/es9p-client.ts';
import { Es11Client } from '../../sim/lpa/es11-client.ts';
import { Es9TransportError } from '../../sim/lpa/errors.ts';
import { defaultRspCa } from '../../sim/lpa/rsp-http.ts';
import { startHostileServer, type HostileMode, type HostileServer } from '../../sim/lpa/testing/hostile-server.ts';
import { HttpClientError, postJson } from '../../sim/smdp/https-json.ts';
import type { Campaign, CampaignContext } from '../harness.ts';
import { Rng } from '../prng.ts';

const MODES: readonly HostileMode[] = ['endless', 'huge-declared', 'trickle', 'headers-then-stall', 'silent', 'garbage', 'slow-headers', 'huge-headers', 'cut-body'];
const RSS_SLACK = 256 * 1024 * 1024;
const CHALLENGE = new Uint8Array(16);
const INFO1 = Uint8Array.of(0xbf, 0x20, 0x00);

type Call = (peer: HostileServer, limits: { maxResponseBytes: number; timeoutMs: number }) => Promise<unknown>;

const CALLS: Record<string, Call> = {
  'ES9+.initiateAuthentication': (p, l) => es9(p, l).initiateAuthentication({ euiccChallenge: CHALLENGE, euiccInfo1: INFO1 }),
  'ES9+.authenticateClient': (p, l) => es9(p, l).authenticateClient(CHALLENGE, INFO1),
  'ES9+.getBoundProfilePackage': (p, l) => es9(p, l).getBoundProfilePackage(CHALLENGE, INFO1),
  'ES9+.handleNotification': (p, l) => es9(p, l).handleNotification(INFO1),
  'ES9+.cancelSession': (p, l) => es9(p, l).cancelSession(CHALLENGE, INFO1),
  'ES11.authenticateClient': (p, l) => new Es11Client(`${p.hostname}:${p.port}`, { connect: { host: p.host, port: p.port }, ...l }).authenticateClient(CHALLENGE, INFO1),
  'ES2+.downloadOrder': (p, l) => postJson(`https://127.0.0.1:${p.port}/gsma/rsp2/es2plus/downloadOrder`, { header: {} }, { ca: defaultRspCa(), servername: p.hostname, ...l }),
};

function es9(p: HostileServer, l: { maxResponseBytes: number; timeoutMs: number }): Es9pClient {
  return new Es9pClient(`${p.hostname}:${p.port}`, { connect: { host: p.host, port: p.port }, ...l });
}

export const lpaHostileCampaign: Campaign = {
  name: 'lpa-hostile',
  description: 'hostile HTTPS peers (endless, oversized, trickled, silent, garbage responses) against the LPA ES9+/ES11 and the ES2+ clients',
  defaultIterations: 1000,
  weight: 160,
  episodeLength: 1,
  unit: 'call',
  async run(ctx: CampaignContext) {
    const peer = await startHostileServer({ mode: 'silent', intervalMs: 25 });
    const rssAtStart = process.memoryUsage().rss;
    try {
      for (let i = ctx.from; i < ctx.to; i++) {
        if (Date.now() > ctx.deadline) break;
        ctx.heartbeat(i);
        ctx.stats.count();
        const rng = Rng.for(ctx.seed, 'lpa-hostile', i);
        peer.mode = rng.pick(MODES);
        const name = rng.pick(Object.keys(CALLS));
        const limits = { maxResponseBytes: rng.pick([64 * 1024, 512 * 1024, 4 * 1024 * 1024]), timeoutMs: rng.pick([150, 300, 600]) };
        const shown = `${name} against ${peer.mode}, limits ${JSON.stringify(limits)}`;
        const sentBefore = peer.sent();
        const t0 = performance.now();
        let outcome: { ok: true } | { ok: false; error: unknown };
        try {
          await CALLS[name]!(peer, limits);
          outcome = { ok: true };
        } catch (e) {
          outcome = { ok: false, error: e };
        }
        const ms = performance.now() - t0;
        if (outcome.ok) ctx.stats.violation(i, 'the call succeeded on a hostile reply', shown);
        else if (!(outcome.error instanceof Es9TransportError) && !(outcome.error instanceof HttpClientError)) ctx.stats.crash(i, outcome.error, shown);
        else if (ms > limits.timeoutMs + 1000) ctx.stats.hang(i, `the call took ${Math.round(ms)} ms with a ${limits.timeoutMs} ms limit`, shown);
        else {
          const e = outcome.error;
          const cls = e instanceof Es9TransportError ? e.problem : (e.code ?? 'network');
          // what the client let in: the peer's bytes written during the call include what was in flight (socket buffers)
          if ((cls === 'too-large' || cls === 'ETOOLARGE') && peer.sent() - sentBefore > limits.maxResponseBytes + 16 * 1024 * 1024) ctx.stats.violation(i, `the peer wrote ${peer.sent() - sentBefore} bytes before the client stopped`, shown);
          ctx.stats.reject(`${e.name}:${cls}`);
        }
        if ((i & 31) === 31) {
          const grown = process.memoryUsage().rss - rssAtStart;
          if (grown > RSS_SLACK) ctx.stats.violation(i, `RSS grew ${Math.round(grown / 1048576)} MB`, shown);
        }
      }
    } finally {
      await peer.close();
    }
  },
};
