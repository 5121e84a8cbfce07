// `bridgelab smdp` (serve until stopped, print activation codes) and `bridgelab smdp order`
// (ES2+ downloadOrder + confirmOrder over mutual TLS), usage errors (exit 2), refused
// orders (exit 1), and a clean shutdown on SIGTERM in a separate process.
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { smdpCommand, type SmdpCliIo } from './smdp.ts';
import { reportError } from './main.ts';
import { OperationError, UsageError } from './errors.ts';
import { parseActivationCode } from '../sim/rsp/activation-code.ts';
import { removeDir, tempDir } from '../sim/smdp/testing/fixture.ts';

let dir: string;
let out: string;
let err: string;
let stop: () => void;
let io: SmdpCliIo;

beforeEach(() => {
  dir = tempDir('bridgelab-smdp-cli-');
  out = '';
  err = '';
  const stopped = new Promise<void>((r) => (stop = r));
  io = { out: (t) => void (out += t), err: (t) => void (err += t), stopSignal: stopped };
});

afterEach(() => {
  stop();
  removeDir(dir);
});

async function usageError(args: string[]): Promise<UsageError> {
  try {
    await smdpCommand(args, io);
  } catch (e) {
    if (e instanceof UsageError) return e;
    throw e;
  }
  throw new Error('expected a UsageError');
}

async function waitFor(pred: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timeout waiting for ${what}; output so far:\n${out}\n${err}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('bridgelab smdp: arguments', () => {
  it('prints help', async () => {
    expect(await smdpCommand(['--help'], io)).toBe(0);
    expect(out).toMatch(/^usage: bridgelab smdp/);
  });

  it('bad arguments are UsageError (exit 2)', async () => {
    expect((await usageError(['--port', 'eighty'])).message).toBe("--port must be a whole number from 0 to 65535, got 'eighty'");
    expect((await usageError(['--bogus'])).message).toMatch(/Unknown option '--bogus'/);
    expect((await usageError(['serve'])).message).toMatch(/unexpected argument 'serve'/);
    expect((await usageError(['--segment-size', '0'])).message).toMatch(/segment-size/);
    expect((await usageError(['--config', join(dir, 'missing.json')])).message).toMatch(/cannot read config file .*ENOENT/);
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ portt: 1 }));
    expect((await usageError(['--config', join(dir, 'bad.json')])).message).toMatch(/unknown key 'portt'/);
    writeFileSync(join(dir, 'bad2.json'), JSON.stringify({ misbehaviour: { http500: 1 } }));
    expect((await usageError(['--config', join(dir, 'bad2.json')])).message).toMatch(/http500/);
    expect((await usageError(['--data-dir', dir, '--port', '0', '--profiles-dir', join(dir, 'none')])).message).toMatch(/profiles directory/);
    writeFileSync(join(dir, 'not-a-ca.pem'), 'garbage');
    expect((await usageError(['--data-dir', join(dir, 'd1'), '--port', '0', '--operator-ca', join(dir, 'not-a-ca.pem')])).message).toMatch(/^smdp: operator CA 1: not a certificate/);
    expect((await usageError(['--data-dir', join(dir, 'd2'), '--port', '0', '--host', '203.0.113.9'])).message).toBe('smdp: cannot listen on 203.0.113.9:0: EADDRNOTAVAIL (--host must be an address of this machine)');
    expect(existsSync(join(dir, 'd1')) || existsSync(join(dir, 'd2'))).toBe(false);
    expect((await usageError(['order'])).message).toBe('smdp order: --url is required');
    expect((await usageError(['order', '--url', 'https://127.0.0.1:1', '--eid', '123'])).message).toMatch(/--eid '123'/);
    expect((await usageError(['order', '--url', 'ftp://x'])).message).toMatch(/must be https/);
    expect((await usageError(['order', '--url', 'https://x', '--cert', 'a.pem'])).message).toMatch(/--cert and --key go together/);
    const silence = { write: process.stderr.write };
    process.stderr.write = () => true;
    try {
      expect(reportError(new UsageError('x'))).toBe(2);
    } finally {
      process.stderr.write = silence.write;
    }
  });
});

describe('bridgelab smdp: serve and order', () => {
  it('serves, prints activation codes, takes ES2+ orders from `smdp order`, stops cleanly', async () => {
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ inventory: [{ template: 'TS48v2_SAIP2.3_NoBERTLV', count: 4 }], segmentSize: 2048 }));
    const serving = smdpCommand(['--port', '0', '--data-dir', join(dir, 'data'), '--config', join(dir, 'config.json'), '--orders', '1'], io);
    await waitFor(() => out.includes('activation codes:') || out.includes('no released orders'), 'the server to start');
    expect(out).toContain(`ES2+ clients: certificates of ${join(dir, 'data', 'es2', 'operator-ca.cert.pem')}`);
    const url = /listening on (https:\/\/127\.0\.0\.1:\d+)/.exec(out)![1]!;
    const printed = /^\s+\d{20}\s+Released\s+(\S+)$/m.exec(out)![1]!;
    expect(parseActivationCode(printed).matchingId).toMatch(/^[A-Z0-9-]{23}$/);

    const orderIo: SmdpCliIo = { out: (t) => void (orderOut += t), err: () => undefined };
    let orderOut = '';
    const data = ['--data-dir', join(dir, 'data')];
    expect(await smdpCommand(['order', '--url', url, ...data, '--cc', '1234', '--json'], orderIo)).toBe(0);
    const json = JSON.parse(orderOut) as { iccid: string; matchingId: string; activationCode: string; smdpAddress: string };
    expect(json.activationCode).toBe(`1$${json.smdpAddress}$${json.matchingId}$$1`);
    expect(json.smdpAddress).toMatch(/^testsmdpplus1\.example\.com:\d+$/);

    orderOut = '';
    const caFile = fileURLToPath(new URL('../certs/sgp26/CertificateIssuer/CERT_CI_ECDSA_NIST.der', import.meta.url));
    expect(await smdpCommand(['order', '--url', url, ...data, '--insecure-ca', caFile, '--no-release'], orderIo)).toBe(0);
    expect(orderOut).toMatch(/^1\$testsmdpplus1\.example\.com:\d+\$[A-Z0-9-]{23}\n$/);

    await expect(smdpCommand(['order', '--url', url, ...data, '--iccid', '89000123456789012341'], orderIo)).rejects.toThrow(new OperationError('smdp order: downloadOrder failed: 8.2.1/3.9 ICCID 89000123456789012341 is not in the inventory'));
    await expect(smdpCommand(['order', '--url', url, ...data, '--servername', 'wrong.example.com'], orderIo)).rejects.toThrow(OperationError);
    await expect(smdpCommand(['order', '--url', url, '--data-dir', join(dir, 'nowhere')], orderIo)).rejects.toThrow(/no client certificate/);

    stop();
    expect(await serving).toBe(0);
    expect(out).toMatch(/SM-DP\+ stopped\n$/);
  });

  it('exits 0 on SIGTERM, and a second start on the same data dir keeps the orders', async () => {
    const repo = fileURLToPath(new URL('..', import.meta.url));
    const run = (extra: string[]): Promise<{ code: number | null; stdout: string }> =>
      new Promise((resolve, reject) => {
        const code = `import('./cli/smdp.ts').then(async (m) => { process.exitCode = await m.smdpCommand(${JSON.stringify(['--port', '0', '--data-dir', join(dir, 'data'), ...extra])}); })`;
        const child = spawn(process.execPath, ['--import', 'tsx', '-e', code], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let signalled = false;
        child.stdout.on('data', (c: Buffer) => {
          stdout += c.toString();
          if (!signalled && /activation codes:|no released orders/.test(stdout)) {
            signalled = true; // once: a second signal during shutdown kills, as a second Ctrl-C does
            child.kill('SIGTERM');
          }
        });
        child.on('error', reject);
        child.on('exit', (code) => resolve({ code, stdout }));
      });
    const first = await run(['--orders', '2']);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/SM-DP\+ stopped/);
    const codes = (s: string) => [...s.matchAll(/Released\s+(\S+)/g)].map((m) => m[1]);
    expect(codes(first.stdout)).toHaveLength(2);
    const second = await run([]);
    expect(second.code).toBe(0);
    expect(codes(second.stdout).map((c) => c!.split('$')[2])).toEqual(codes(first.stdout).map((c) => c!.split('$')[2]));
  }, 60_000);
});
