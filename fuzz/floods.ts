// Flood measurements for the README's "Threat model and limits": the real `bridgelab smdp`
// (default limits and retention) in its own process, flooded over loopback HTTPS the ways
// issue 18 found, with its RSS (/proc/<pid>/status VmRSS) and the size of its data dir
// measured before and after; and the real `bridgelab lpa` against a hostile SM-DP+ that
// streams an endless (600 MB declared) response, with its peak RSS.
//   node --import tsx fuzz/floods.ts [--quick] [--only notifications,sessions,slow,lpa]
// Floods: 3 x 150 rejected handleNotification requests of 700 KB; 12,000 InitiateAuthentication
// requests (over the 10,000-session cap); 300 connections trickling a body (over the
// 256-connection cap, cut at the 30 s request time-out).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { loadCert } from '../certs/store.ts';
import { certificatePem } from '../certs/cert.ts';
import { PendingNotification } from '../sim/rsp/es10b.ts';
import { bytesToBase64, ES9P_PATHS } from '../sim/rsp/json.ts';
import { iccidToBytes } from '../sim/rsp/iccid.ts';
import { postJson } from '../sim/smdp/https-json.ts';
import { TestEuicc } from '../sim/smdp/testing/euicc-sim.ts';
import { startHostileServer } from '../sim/lpa/testing/hostile-server.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const quick = process.argv.includes('--quick');
const onlyAt = process.argv.indexOf('--only');
const only = new Set(onlyAt > 0 ? (process.argv[onlyAt + 1] ?? '').split(',') : ['notifications', 'sessions', 'slow', 'lpa']);
const CA = certificatePem(loadCert('CI_NIST').der);
const SERVERNAME = 'testsmdpplus1.example.com';

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

function dirMb(path: string): number {
  const bytes = (p: string): number => readdirSync(p, { withFileTypes: true }).reduce((n, e) => n + (e.isDirectory() ? bytes(join(p, e.name)) : statSync(join(p, e.name)).size), 0);
  return bytes(path) / 1048576;
}

async function startServer(dataDir: string): Promise<{ child: ChildProcess; url: string; address: string }> {
  const child = spawn(process.execPath, ['bin/bridgelab.js', 'smdp', '--port', '0', '--data-dir', dataDir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr!.resume();
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening on (https:\/\/[\d.]+:\d+)/.exec(out);
      if (m && /activation codes|no released orders/.test(out)) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`bridgelab smdp exited (${code}): ${out}`)));
  });
  const address = /^SM-DP\+ (\S+) /m.exec(out)![1]!;
  return { child, url, address };
}

async function stop(child: ChildProcess): Promise<void> {
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** `n` tasks, `width` at a time. */
async function pool(n: number, width: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < n) await task(next++);
  }));
}

interface Row {
  flood: string;
  rssBefore: number;
  rssAfter: number;
  dirBefore: number;
  dirAfter: number;
  note: string;
}

async function flood(name: string, run: (s: { url: string; address: string; pid: number }) => Promise<string>): Promise<Row> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bridgelab-flood-'));
  const s = await startServer(join(dataDir, 'data'));
  try {
    await new Promise((r) => setTimeout(r, 500));
    const rssBefore = rssMb(s.child.pid!);
    const dirBefore = dirMb(join(dataDir, 'data'));
    const note = await run({ url: s.url, address: s.address, pid: s.child.pid! });
    await new Promise((r) => setTimeout(r, 500));
    return { flood: name, rssBefore, rssAfter: rssMb(s.child.pid!), dirBefore, dirAfter: dirMb(join(dataDir, 'data')), note };
  } finally {
    await stop(s.child);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function bigPir(pad: number): string {
  return bytesToBase64(
    PendingNotification.encode({
      profileInstallationResult: {
        profileInstallationResultData: {
          transactionId: new Uint8Array(16).fill(0x42),
          notificationMetadata: { seqNumber: 1, profileManagementOperation: ['notificationInstall'], notificationAddress: 'x'.repeat(pad), iccid: iccidToBytes('89000123456789012341') },
          smdpOid: '2.999.10',
          finalResult: { errorResult: { bppCommandId: 1, errorReason: 1 } },
        },
        euiccSignPIR: new Uint8Array(64),
      },
    }),
  );
}

/** Three rounds of 150 (RSS after each: it levels off once the heap has grown to what 4 requests in flight need). */
async function notificationFlood(s: { url: string; pid: number }): Promise<string> {
  const body = { pendingNotification: bigPir(700_000) };
  const n = quick ? 30 : 150;
  let ok = 0;
  const rss: string[] = [];
  for (let round = 0; round < 3; round++) {
    await pool(n, 4, async () => {
      const r = await postJson(s.url + ES9P_PATHS.handleNotification, body, { ca: CA, servername: SERVERNAME });
      if (r.status === 204) ok++;
    });
    rss.push(rssMb(s.pid).toFixed(0));
  }
  return `3 x ${n} rejected notifications of ${Math.round(JSON.stringify(body).length / 1024)} KB, ${ok} answered 204; RSS after each ${n}: ${rss.join(', ')} MB`;
}

async function sessionFlood(s: { url: string; address: string }): Promise<string> {
  const body = new TestEuicc().initiateAuthenticationBody(s.address);
  const n = quick ? 2000 : 12_000;
  let ok = 0;
  const t0 = Date.now();
  await pool(n, 16, async () => {
    const r = await postJson(s.url + ES9P_PATHS.initiateAuthentication, body, { ca: CA, servername: SERVERNAME });
    if (r.status === 200) ok++;
  });
  return `${n} InitiateAuthentication (${ok} answered) in ${((Date.now() - t0) / 1000).toFixed(0)} s`;
}

async function slowFlood(s: { url: string }): Promise<string> {
  const u = new URL(s.url);
  const n = quick ? 60 : 300;
  const t0 = Date.now();
  const closed = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<{ ms: number; refused: boolean }>((resolve) => {
          let connected = false;
          const sock: TLSSocket = tlsConnect({ host: u.hostname, port: Number(u.port), ca: CA, servername: SERVERNAME }, () => {
            connected = true;
            sock.write(`POST ${ES9P_PATHS.initiateAuthentication} HTTP/1.1\r\nHost: x\r\nX-Admin-Protocol: gsma/rsp/v2.2.0\r\nContent-Length: 100000\r\n\r\n`);
            const t = setInterval(() => (sock.writable ? sock.write('{') : clearInterval(t)), 1000);
            sock.once('close', () => clearInterval(t));
          });
          sock.on('error', (e: NodeJS.ErrnoException) => void e.code); // refused (reset) or cut off: counted below
          sock.once('close', () => resolve({ ms: Date.now() - t0, refused: !connected }));
        }),
    ),
  );
  const refused = closed.filter((c) => c.refused).length;
  return `${n} connections trickling a body 1 byte/s: ${refused} refused at accept (cap 256), the others cut at the request time-out, the last after ${(Math.max(...closed.map((c) => c.ms)) / 1000).toFixed(0)} s`;
}

async function lpaFlood(): Promise<{ peakMb: number; code: number | null; lastLine: string }> {
  const peer = await startHostileServer({ mode: 'huge-declared', declaredBytes: 600 * 1024 * 1024 });
  const work = mkdtempSync(join(tmpdir(), 'bridgelab-flood-lpa-'));
  try {
    // streams without a Content-Length: the client has to stop it by counting
    peer.mode = 'endless';
    const child = spawn(process.execPath, ['bin/bridgelab.js', 'lpa', 'profile', 'download', '-a', `LPA:1$${peer.hostname}:${peer.port}$FLOOD`, '--smdp-host', `127.0.0.1:${peer.port}`], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, BRIDGELAB_EUICC_STATE: join(work, 'euicc.json') },
    });
    let peak = 0;
    const sample = setInterval(() => {
      try {
        const rss = rssMb(child.pid!);
        if (Number.isFinite(rss)) peak = Math.max(peak, rss); // a process that just ended has no VmRSS
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e; // the process is gone
      }
    }, 20);
    let out = '';
    child.stdout!.on('data', (c: Buffer) => void (out += c.toString()));
    let err = '';
    child.stderr!.on('data', (c: Buffer) => void (err += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    clearInterval(sample);
    const lastLine = (out.trim().split('\n').pop() ?? '') + (err ? ` stderr: ${err.trim().slice(0, 200)}` : '');
    return { peakMb: peak, code, lastLine };
  } finally {
    await peer.close();
    rmSync(work, { recursive: true, force: true });
  }
}

const floods: [string, string, (s: { url: string; address: string; pid: number }) => Promise<string>][] = [
  ['notifications', 'handleNotification, rejected, 700 KB each', notificationFlood],
  ['sessions', 'InitiateAuthentication', sessionFlood],
  ['slow', 'slow bodies', slowFlood],
];
const rows: Row[] = [];
for (const [key, name, run] of floods) if (only.has(key)) rows.push(await flood(name, run));
if (rows.length) {
  console.log('| flood | SM-DP+ RSS before -> after (MB) | data dir before -> after (MB) | what happened |');
  console.log('|---|---:|---:|---|');
  for (const r of rows) console.log(`| ${r.flood} | ${r.rssBefore.toFixed(0)} -> ${r.rssAfter.toFixed(0)} | ${r.dirBefore.toFixed(2)} -> ${r.dirAfter.toFixed(2)} | ${r.note} |`);
}
if (only.has('lpa')) {
  const lpa = await lpaFlood();
  console.log(`\nbridgelab lpa against an SM-DP+ streaming an endless response: exit ${lpa.code}, peak RSS ${lpa.peakMb.toFixed(0)} MB; ${lpa.lastLine.slice(0, 300)}`);
}
