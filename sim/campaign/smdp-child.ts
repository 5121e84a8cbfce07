// The test SM-DP+ (sim/smdp, SGP.22 ES9+/ES2+) as a separate process that a parent can
// SIGKILL and start again from the same data dir and port: used by the power-loss
// campaign (SM-DP+ side) and by the throughput benchmark (the server on its own process,
// as in production). Configuration is one JSON argument (SmdpChildConfig). The parent
// talks over stdio, one JSON object per line: the first stdout line is
// {"type":"ready",...}; every command line {"id","op",...} on stdin is answered by one
// {"type":"reply","id",...} line. Ops: order, state, upp, stats, close (see below).
// Log lines of the server go to `logFile` (never key material: the SM-DP+ logger
// contract). Run: node --import tsx sim/campaign/smdp-child.ts '<json>'.
import dc from 'node:diagnostics_channel';
import { appendFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createInterface } from 'node:readline';
import { startSmdp, type SmdpServer } from '../smdp/server.ts';
import { toHex } from '../bytes.ts';

export interface SmdpChildConfig {
  readonly dataDir: string;
  /** 0 on the first start; the port it got on every restart (activation codes carry it) */
  readonly port: number;
  /** inventory created on the first start of a data dir */
  readonly template: string;
  readonly count: number;
  readonly logFile?: string;
  readonly downloadRetryLimit?: number;
}

/** Commands of the parent and what they return. */
export type SmdpChildRequest =
  /** ES2+ DownloadOrder + ConfirmOrder (released) `n` times */
  | { op: 'order'; n?: number }
  /** the order/profile/session/notification records of one ICCID and one session (consistency checks) */
  | { op: 'state'; iccid: string; transactionId?: string }
  /** hex of the personalised UPP an inventory entry is bound from */
  | { op: 'upp'; iccid: string }
  /** CPU time of the process and the server-side time per ES9+ request since the last call */
  | { op: 'stats' }
  | { op: 'close' };

export interface ChildOrder {
  readonly iccid: string;
  readonly matchingId: string;
  readonly activationCode: string;
}

export interface ChildStats {
  readonly cpuMs: number;
  /** server-side handler time (request start -> response finish) per function, ms */
  readonly handlerMs: Readonly<Record<string, number[]>>;
}

/** Server-side handler time per ES9+ function (node:http diagnostics channels). */
function handlerTimer(): () => Record<string, number[]> {
  const started = new WeakMap<object, { at: number; fn: string }>();
  let samples: Record<string, number[]> = {};
  dc.subscribe('http.server.request.start', (m) => {
    const { request, response } = m as { request: IncomingMessage; response: ServerResponse };
    started.set(response, { at: performance.now(), fn: (request.url ?? '').split('/').filter(Boolean).pop() ?? '' });
  });
  dc.subscribe('http.server.response.finish', (m) => {
    const s = started.get((m as { response: ServerResponse }).response);
    if (s) (samples[s.fn] ??= []).push(performance.now() - s.at);
  });
  return () => {
    const out = samples;
    samples = {};
    return out;
  };
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '') as SmdpChildConfig;
  const log = config.logFile;
  const takeTimings = handlerTimer();
  const smdp: SmdpServer = await startSmdp({
    dataDir: config.dataDir,
    host: '127.0.0.1',
    port: config.port,
    inventory: [{ template: config.template, count: config.count }],
    ...(config.downloadRetryLimit !== undefined ? { downloadRetryLimit: config.downloadRetryLimit } : {}),
    ...(log ? { log: (level, message) => appendFileSync(log, `${new Date().toISOString()} ${level} ${message}\n`) } : {}),
  });
  const send = (o: object): void => void process.stdout.write(`${JSON.stringify(o)}\n`);
  send({ type: 'ready', pid: process.pid, port: smdp.port, address: smdp.address, trustAnchorPem: smdp.trustAnchorPem });
  let cpu = process.cpuUsage();

  const run = async (req: SmdpChildRequest): Promise<unknown> => {
    switch (req.op) {
      case 'order':
        return Array.from({ length: req.n ?? 1 }, (): ChildOrder => {
          const o = smdp.es2.order({});
          return { iccid: o.iccid, matchingId: o.matchingId, activationCode: o.activationCode };
        });
      case 'state': {
        const order = smdp.state.order(req.iccid);
        return {
          profile: smdp.inventory.get(req.iccid),
          order,
          sessions: smdp.state.sessions().filter((s) => s.iccid === req.iccid || (order !== undefined && s.orderId === order.orderId) || s.transactionId === req.transactionId?.toUpperCase()),
          notifications: smdp.state.notifications().filter((n) => n.iccid === req.iccid),
        };
      }
      case 'upp':
        return toHex(smdp.inventory.personalisedUpp(req.iccid));
      case 'stats': {
        const d = process.cpuUsage(cpu);
        cpu = process.cpuUsage();
        const stats: ChildStats = { cpuMs: (d.user + d.system) / 1000, handlerMs: takeTimings() };
        return stats;
      }
      case 'close':
        await smdp.close();
        return null;
    }
  };

  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (!line.trim()) continue;
    const msg = JSON.parse(line) as SmdpChildRequest & { id: number };
    try {
      send({ type: 'reply', id: msg.id, ok: true, result: await run(msg) });
    } catch (e) {
      send({ type: 'reply', id: msg.id, ok: false, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
    }
    if (msg.op === 'close') process.exit(0);
  }
  // the parent closed stdin without 'close': stop cleanly
  await smdp.close();
}

main().catch((e: unknown) => {
  process.stderr.write(`smdp-child: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
