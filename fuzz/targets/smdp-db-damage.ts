// Campaign `smdp-db-damage`: damaged SM-DP+ data dirs into `startSmdp` (what `bridgelab
// smdp` runs), in a child process (fuzz/probes/smdp-open.ts) so that a native crash of lmdb
// is seen, not suffered. Each iteration copies a data dir made by a real run (inventory,
// released orders, a completed download with its notification, a pending session, an
// SM-DS event) and damages it: smdp.mdb truncated, zeroed, bit-flipped or deleted (the
// page-aligned variants hit lmdb's meta pages and page headers), or left a valid lmdb file
// with inconsistent records (a record deleted, moved under another key, a field changed).
//
// Must hold: the child never dies of a signal and answers within the watchdog; the start
// either succeeds with the original inventory (same batch: damage it could not see, in free
// pages or in a field no check covers) or fails with an SmdpStateError (or SmdpConfigError)
// whose one-line message names the data dir. A start with another batch is a silent new
// inventory: a violation.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { open } from 'lmdb';
import { startSmdp } from '../../sim/smdp/server.ts';
import type { InventorySpec } from '../../sim/smdp/inventory.ts';
import { TestEuicc } from '../../sim/smdp/testing/euicc-sim.ts';
import { RspClient, download } from '../../sim/smdp/testing/client.ts';
import type { Campaign, CampaignContext } from '../harness.ts';
import { damageFile, type DamageKind } from '../file-damage.ts';
import { Rng } from '../prng.ts';
import type { ProbeReply } from '../probes/smdp-open.ts';

export const DAMAGE_INVENTORY: InventorySpec[] = [{ template: 'TS48v2_SAIP2.3_NoBERTLV', count: 8 }];
const PROBE = fileURLToPath(new URL('../probes/smdp-open.ts', import.meta.url));
const REPLY_TIMEOUT_MS = 30_000;
const TABLES = ['profiles', 'orders', 'matchingIds', 'sessions', 'notifications', 'events', 'meta'] as const;

/** A data dir as a real run leaves it. */
async function makePristine(dir: string): Promise<string> {
  const s = await startSmdp({ dataDir: dir, host: '127.0.0.1', port: 0, inventory: DAMAGE_INVENTORY });
  try {
    const client = new RspClient(s);
    const done = s.es2.order();
    const euicc = new TestEuicc();
    await download(client, euicc, { address: s.address, matchingId: done.matchingId });
    await client.handleNotification(euicc.profileInstallationResult({ iccid: done.iccid, notificationAddress: s.address, smdpOid: s.smdpOid }));
    s.es2.order({ eid: euicc.eid });
    s.es2.order({ confirmationCode: '1234' });
    await client.initiateAuthentication(euicc.initiateAuthenticationBody(s.address));
    return s.inventory.list()[0]!.iccid.slice(5, 9);
  } finally {
    await s.close();
  }
}

/** Change the records of a valid database so they contradict each other (or do not). */
function inconsistent(rng: Rng, dbPath: string): string {
  const root = open({ path: dbPath, noSubdir: true, maxDbs: 16 });
  try {
    const table = rng.pick(TABLES);
    const db = root.openDB<unknown, string>({ name: table, encoding: 'json' });
    const entries = [...db.getRange({})];
    if (entries.length === 0) return `${table} is empty: unchanged`;
    const { key, value } = rng.pick(entries);
    const how = rng.pick(['delete', 'rekey', 'field', 'duplicate'] as const);
    if (how === 'delete') db.removeSync(key);
    else if (how === 'rekey') {
      db.removeSync(key);
      db.putSync(`${key}X`, value);
    } else if (how === 'duplicate') db.putSync(`${key}${rng.int(9)}`, value);
    else if (typeof value === 'object' && value !== null) {
      const rec = { ...(value as Record<string, unknown>) };
      const field = rng.pick(Object.keys(rec));
      rec[field] = rng.pick<unknown>([null, 'Bogus', -1, 1e21, {}, [], true, `${String(rec[field])}0`]);
      db.putSync(key, rec);
    } else db.putSync(key, { not: 'a string' });
    return `${how} ${table}/${key}`;
  } finally {
    void root.close();
  }
}

class Probe {
  #child?: ChildProcessWithoutNullStreams;
  #next = 1;
  #waiting = new Map<number, (r: ProbeReply | { died: string }) => void>();

  #start(): ChildProcessWithoutNullStreams {
    const child = spawn(process.execPath, ['--import', 'tsx', PROBE], { stdio: ['pipe', 'pipe', 'pipe'] });
    child.stderr.resume();
    createInterface({ input: child.stdout }).on('line', (line) => {
      const r = JSON.parse(line) as ProbeReply;
      this.#waiting.get(r.id)?.(r);
      this.#waiting.delete(r.id);
    });
    child.on('exit', (code, signal) => {
      if (this.#child === child) this.#child = undefined;
      for (const w of this.#waiting.values()) w({ died: signal ? `signal ${signal}` : `exit code ${code}` });
      this.#waiting.clear();
    });
    return child;
  }

  ask(dir: string): Promise<ProbeReply | { died: string } | { hang: true }> {
    const child = (this.#child ??= this.#start());
    const id = this.#next++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        this.kill();
        resolve({ hang: true });
      }, REPLY_TIMEOUT_MS);
      this.#waiting.set(id, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      child.stdin.write(`${JSON.stringify({ id, dir })}\n`);
    });
  }

  kill(): void {
    this.#child?.kill('SIGKILL');
    this.#child = undefined;
  }
}

export const smdpDbDamageCampaign: Campaign = {
  name: 'smdp-db-damage',
  description: 'damaged SM-DP+ data dirs (smdp.mdb truncated, zeroed, bit-flipped, deleted; inconsistent records) into startSmdp in a child process',
  defaultIterations: 1000,
  weight: 170,
  episodeLength: 1,
  unit: 'data dir',
  async run(ctx: CampaignContext) {
    const work = mkdtempSync(join(tmpdir(), 'bridgelab-fuzz-smdpdb-'));
    const pristine = join(work, 'pristine');
    const probe = new Probe();
    try {
      const batch = await makePristine(pristine);
      for (let i = ctx.from; i < ctx.to; i++) {
        if (Date.now() > ctx.deadline) break;
        ctx.heartbeat(i);
        ctx.stats.count();
        const rng = Rng.for(ctx.seed, 'smdp-db-damage', i);
        const dir = join(work, 'case');
        rmSync(dir, { recursive: true, force: true });
        cpSync(pristine, dir, { recursive: true });
        const kind = rng.weighted<DamageKind | 'inconsistent'>([
          ['truncate', 2],
          ['zero', 2],
          ['flip', 4],
          ['delete', 1],
          ['inconsistent', 3],
        ]);
        const what = kind === 'inconsistent' ? inconsistent(rng, join(dir, 'smdp.mdb')) : damageFile(rng, join(dir, 'smdp.mdb'), kind);
        const shown = `${kind}: ${what}`;
        const r = await probe.ask(dir);
        if ('hang' in r) {
          ctx.stats.hang(i, `startSmdp did not answer within ${REPLY_TIMEOUT_MS} ms`, shown);
          continue;
        }
        if ('died' in r) {
          ctx.stats.crash(i, new Error(`the SM-DP+ process died (${r.died}) on a damaged data dir`), shown);
          continue;
        }
        if (r.ok) {
          if (r.batch !== batch) ctx.stats.violation(i, `a new inventory (batch ${r.batch ?? '?'}, was ${batch}) on a damaged data dir`, shown);
          else ctx.stats.accept();
          continue;
        }
        const e = r.error!;
        if ((e.name !== 'SmdpStateError' && e.name !== 'SmdpConfigError') || !e.message.includes(dir) || e.message.includes('\n'))
          ctx.stats.violation(i, `refused with ${e.name}: ${e.message.slice(0, 300)}`, shown);
        else ctx.stats.reject(`${e.name}:${kind}`);
      }
    } finally {
      probe.kill();
      rmSync(work, { recursive: true, force: true });
    }
  },
};
