// Regression tests for issue 18 (SM-DP+ data dir): a damaged or missing smdp.mdb next to
// the traces of an earlier run must stop `bridgelab smdp` with exit 1 and one line naming
// the file and what to do, never a signal (SIGBUS/SIGSEGV were seen on a truncated file or a
// damaged meta page) and never a silent new inventory (seen on a 0-byte or deleted file);
// bad input (--orders above the inventory, a --data-dir that is a file) is exit 2 with one
// line before anything is written; the data dir and its files are owner-only. Every case runs
// the real CLI in a child process.
import { chmodSync, cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { open } from 'lmdb';
import { startSmdp } from './server.ts';
import { removeDir, tempDir } from './testing/fixture.ts';
import { runCli } from './testing/cli-run.ts';

const TEMPLATE = 'TS48v2_SAIP2.3_NoBERTLV';
let work: string;
let pristine: string;
let iccidsBefore: string[];

beforeAll(async () => {
  work = tempDir('bridgelab-smdp-damage-');
  pristine = join(work, 'pristine');
  const s = await startSmdp({ dataDir: pristine, host: '127.0.0.1', port: 0, inventory: [{ template: TEMPLATE, count: 40 }] });
  for (let i = 0; i < 3; i++) s.es2.order();
  iccidsBefore = s.inventory.list().map((p) => p.iccid);
  await s.close();
});

afterAll(() => removeDir(work));

let n = 0;
function copy(damage: (dir: string) => void): string {
  const dir = join(work, `case-${++n}`);
  cpSync(pristine, dir, { recursive: true });
  damage(dir);
  return dir;
}

const dbFile = (dir: string): string => join(dir, 'smdp.mdb');

function overwrite(path: string, offset: number, bytes: Uint8Array): void {
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, bytes, 0, bytes.byteLength, offset);
  } finally {
    closeSync(fd);
  }
}

/** Runs `bridgelab smdp` on `dir` and checks the refusal: exit 1, no signal, one line naming smdp.mdb. */
async function expectRefused(dir: string, what: RegExp): Promise<string> {
  const r = await runCli(['smdp', '--port', '0', '--data-dir', dir], { startedWhen: /listening on/ });
  expect({ code: r.code, signal: r.signal, started: r.started }).toEqual({ code: 1, signal: null, started: false });
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toContain(dbFile(dir));
  expect(lines[0]).toMatch(what);
  expect(lines[0]).toMatch(/--reset/);
  expect(lines[0]).not.toMatch(/internal error|at .*\.ts:\d+/);
  return lines[0]!;
}

describe('issue 18: a damaged smdp.mdb is refused with exit 1 and one line', () => {
  it('SmdpDb_TruncatedToHalf: exit 1 (was SIGBUS)', async () => {
    const dir = copy((d) => truncateSync(dbFile(d), Math.floor(statSync(dbFile(d)).size / 2)));
    await expectRefused(dir, /needs \d+ \(pages 0\.\.\d+\)/);
  });

  it('SmdpDb_TruncatedTo4KiB: exit 1 (was SIGSEGV)', async () => {
    const dir = copy((d) => truncateSync(dbFile(d), 4096));
    await expectRefused(dir, /shorter than its two meta pages/);
  });

  it('SmdpDb_DamagedMetaMagic: exit 1 (was SIGSEGV)', async () => {
    const dir = copy((d) => overwrite(dbFile(d), 24, Uint8Array.of(0)));
    await expectRefused(dir, /meta page 0 has no lmdb magic number/);
  });

  it('SmdpDb_DamagedMetaRoot: a root page number outside the file, in both meta pages', async () => {
    const dir = copy((d) => {
      // MAIN db record root (meta offset 24 + 24 + 48 + 40) of both meta pages
      overwrite(dbFile(d), 136, Uint8Array.of(0xff, 0xff, 0xff, 0x00));
      overwrite(dbFile(d), 4096 + 136, Uint8Array.of(0xff, 0xff, 0xff, 0x00));
    });
    await expectRefused(dir, /main tree points to page \d+, outside pages/);
  });

  it('SmdpDb_ZeroBytes: exit 1 next to tls/ and the lock file (was a silent new inventory)', async () => {
    const dir = copy((d) => truncateSync(dbFile(d), 0));
    await expectRefused(dir, /empty \(0 bytes\), but .*tls/);
    expect(statSync(dbFile(dir)).size).toBe(0);
  });

  it('SmdpDb_Deleted: exit 1 next to tls/ and the lock file (was a silent new inventory)', async () => {
    const dir = copy((d) => rmSync(dbFile(d)));
    expect(existsSync(join(dir, 'smdp.mdb-lock'))).toBe(true);
    await expectRefused(dir, /missing, but .*tls/);
    expect(existsSync(dbFile(dir))).toBe(false);
  });

  it('SmdpDb_InconsistentRecord: valid lmdb, a profile holding an order that does not exist', async () => {
    const dir = copy((d) => {
      const root = open({ path: dbFile(d), noSubdir: true, maxDbs: 16 });
      const profiles = root.openDB<Record<string, unknown>, string>({ name: 'profiles', encoding: 'json' });
      const iccid = iccidsBefore[5]!;
      profiles.putSync(iccid, { ...profiles.get(iccid)!, orderId: 'no-such-order' });
      void root.close();
    });
    await expectRefused(dir, /profiles record '\d+': holds order no-such-order, which does not exist/);
  });

  it('SmdpDb_OlderCopy: a database older than its marker (replaced by an older copy)', async () => {
    const dir = copy((d) => {
      const marker = JSON.parse(readFileSync(join(d, 'smdp-state.json'), 'utf8')) as { txnid: string };
      writeFileSync(join(d, 'smdp-state.json'), JSON.stringify({ ...marker, txnid: String(BigInt(marker.txnid) + 100n) }));
    });
    await expectRefused(dir, /older than the \d+ that smdp-state\.json recorded/);
  });

  it('--reset starts a new inventory on a damaged data dir; the next start keeps it', async () => {
    const dir = copy((d) => truncateSync(dbFile(d), 4096));
    const r = await runCli(['smdp', '--port', '0', '--data-dir', dir, '--reset'], { startedWhen: /no released orders yet|activation codes/ });
    expect(r.started).toBe(true);
    expect(r.stdout).toMatch(/listening on https:\/\/127\.0\.0\.1:\d+/);
    const again = await runCli(['smdp', '--port', '0', '--data-dir', dir], { startedWhen: /no released orders yet|activation codes/ });
    expect(again.started, again.stderr).toBe(true);
  });
});

describe('issue 18: bad input is exit 2 with one line, before anything is written', () => {
  it('SmdpCli_OrdersAboveInventory: --orders 1000 on a new data dir writes nothing', async () => {
    const dir = join(work, 'orders-new');
    const r = await runCli(['smdp', '--port', '0', '--data-dir', dir, '--orders', '1000'], { startedWhen: /listening on/ });
    expect({ code: r.code, signal: r.signal }).toEqual({ code: 2, signal: null });
    expect(r.stderr).toBe('bridgelab: smdp: 1000 initial orders, but the new inventory has 36 profiles\n');
    expect(existsSync(dir)).toBe(false);
  });

  it('SmdpCli_OrdersAboveInventory: --orders 1000 on an existing data dir commits no order', async () => {
    const dir = copy(() => undefined);
    const before = readFileSync(dbFile(dir));
    const r = await runCli(['smdp', '--port', '0', '--data-dir', dir, '--orders', '1000'], { startedWhen: /listening on/ });
    expect({ code: r.code, signal: r.signal }).toEqual({ code: 2, signal: null });
    expect(r.stderr).toBe('bridgelab: smdp: 1000 initial orders, but the inventory has 37 Available profiles\n');
    const s = await startSmdp({ dataDir: dir, port: 0 });
    try {
      expect(s.state.orders()).toHaveLength(3);
    } finally {
      await s.close();
    }
    expect(before.byteLength).toBeGreaterThan(0);
  });

  it('SmdpCli_DataDirIsAFile: exit 2, one line', async () => {
    const file = join(work, 'a-file');
    writeFileSync(file, 'not a directory');
    const r = await runCli(['smdp', '--port', '0', '--data-dir', file]);
    expect({ code: r.code, signal: r.signal }).toEqual({ code: 2, signal: null });
    expect(r.stderr).toBe(`bridgelab: smdp: data dir '${file}' is not a directory\n`);
    expect(readFileSync(file, 'utf8')).toBe('not a directory');
  });
});

describe('issue 18: the data dir is owner-only', () => {
  it('SmdpDataDir_OwnerOnly: 0700 directories, 0600 files (smdp.mdb, lock, marker, TLS and ES2+ identities)', () => {
    const modes: Record<string, number> = {};
    const walk = (dir: string, rel: string): void => {
      modes[rel || '.'] = statSync(dir).mode & 0o777;
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) walk(p, join(rel, e.name));
        else modes[join(rel, e.name)] = statSync(p).mode & 0o777;
      }
    };
    walk(pristine, '');
    expect(Object.keys(modes).sort()).toEqual(
      [
        '.',
        'es2',
        'es2/client.cert.pem',
        'es2/client.key.pem',
        'es2/operator-ca.cert.pem',
        'es2/operator-ca.key.pem',
        'smdp-state.json',
        'smdp.mdb',
        'smdp.mdb-lock',
        'tls',
        'tls/testsmdpplus1.example.com.cert.pem',
        'tls/testsmdpplus1.example.com.key.pem',
        'tls/testsmds.example.com.cert.pem',
        'tls/testsmds.example.com.key.pem',
      ].sort(),
    );
    for (const [path, mode] of Object.entries(modes)) expect([path, mode.toString(8)]).toEqual([path, path === '.' || !path.includes('.') ? '700' : '600']);
  });

  it('an existing data dir readable by others is tightened on start', async () => {
    const dir = copy((d) => {
      chmodSync(d, 0o755);
      chmodSync(dbFile(d), 0o644);
    });
    const s = await startSmdp({ dataDir: dir, port: 0 });
    await s.close();
    expect((statSync(dir).mode & 0o777).toString(8)).toBe('700');
    expect((statSync(dbFile(dir)).mode & 0o777).toString(8)).toBe('600');
  });
});
