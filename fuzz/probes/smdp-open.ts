// Child process of the `smdp-db-damage` fuzz campaign: starts the SM-DP+ (startSmdp, as
// `bridgelab smdp` does) on each data dir it is sent, reports what it found and stops it.
// It runs in its own process so that a native crash of lmdb on a damaged file (the signal)
// is seen by the campaign instead of killing it. One JSON request per stdin line
// {"id", "dir"}, one JSON reply per stdout line {"id", "ok", ...}.
// Run: node --import tsx fuzz/probes/smdp-open.ts
import { createInterface } from 'node:readline';
import { startSmdp } from '../../sim/smdp/server.ts';
import { DAMAGE_INVENTORY } from '../targets/smdp-db-damage.ts';

export interface ProbeReply {
  id: number;
  ok: boolean;
  batch?: string;
  profiles?: number;
  orders?: number;
  error?: { name: string; message: string };
}

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  const { id, dir } = JSON.parse(line) as { id: number; dir: string };
  let reply: ProbeReply;
  try {
    const s = await startSmdp({ dataDir: dir, host: '127.0.0.1', port: 0, inventory: DAMAGE_INVENTORY, retention: { sweepIntervalMs: 0 } });
    try {
      const profiles = s.inventory.list();
      reply = { id, ok: true, batch: profiles[0]?.iccid.slice(5, 9) ?? '', profiles: profiles.length, orders: s.state.orders().length };
    } finally {
      await s.close();
    }
  } catch (e) {
    reply = { id, ok: false, error: e instanceof Error ? { name: e.name, message: e.message } : { name: typeof e, message: String(e) } };
  }
  process.stdout.write(`${JSON.stringify(reply)}\n`);
}
