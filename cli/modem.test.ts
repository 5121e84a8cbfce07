// `bridgelab modem`: argument handling in-process, and a real process that prints its
// device path, serves AT, and stops cleanly (socat and link gone) on SIGTERM.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SerialPort } from 'serialport';
import { describe, expect, it } from 'vitest';
import { UsageError } from './errors.ts';
import { modemCommand } from './modem.ts';
import { listPersonalities } from '../sim/modem/personality.ts';
import { findSocat } from '../sim/modem/serial.ts';
import { AtClient } from '../sim/modem/testing/at-client.ts';
import { FakeCard } from '../sim/modem/testing/fake-card.ts';

const ROOT = resolve(import.meta.dirname, '..');

async function talk(path: string, lines: string[]): Promise<string[]> {
  const port = new SerialPort({ path, baudRate: 115200, autoOpen: false });
  await new Promise<void>((res, rej) => port.open((e) => (e ? rej(e) : res())));
  try {
    const at = new AtClient((b) => port.write(Buffer.from(b)));
    port.on('data', (d: Buffer) => at.feed(d));
    const out: string[] = [];
    for (const l of lines) out.push(await at.command(l));
    return out;
  } finally {
    await new Promise<void>((r) => port.close(() => r()));
  }
}

describe('modemCommand arguments', () => {
  it('usage errors', async () => {
    await expect(modemCommand([])).rejects.toThrow(UsageError);
    await expect(modemCommand(['--pty', '--personality', 'no-such-modem'])).rejects.toThrow(/no-such-modem.*bundled personalities/);
    await expect(modemCommand(['--pty', '--baud', 'fast'])).rejects.toThrow("--baud must be a whole number, got 'fast'");
    await expect(modemCommand(['--pty', '--bogus'])).rejects.toThrow(/modem: Unknown option '--bogus'/);
    await expect(modemCommand(['--pty', '--link'])).rejects.toThrow(/modem: Option '--link <value>' argument missing/);
  });

  it('--list and --help', async () => {
    let out = '';
    expect(await modemCommand(['--list'], { stdout: (t) => (out += t) })).toBe(0);
    expect(out.split('\n').filter(Boolean).map((l) => l.split(/\s+/)[0])).toEqual(listPersonalities());
    out = '';
    expect(await modemCommand(['--help'], { stdout: (t) => (out += t) })).toBe(0);
    expect(out).toMatch(/^usage: bridgelab modem --pty/);
  });
});

describe.skipIf(!findSocat())('bridgelab modem --pty (needs socat, Debian package socat)', () => {
  it('refuses to serve without a card factory', async () => {
    await expect(modemCommand(['--pty', '--personality', 'quectel-ec25j'])).rejects.toThrow(/no transportFactory/);
  });

  it('in-process: prints JSON, serves the card from the factory, stops on abort', async () => {
    const link = join(tmpdir(), `bridgelab-cli-${process.pid}-${Date.now()}`);
    const ac = new AbortController();
    let out = '';
    let err = '';
    const card = new FakeCard({ iccid: '8944101032547698101' });
    const running = modemCommand(['--pty', '--personality', 'quectel-ec25j', '--link', link, '--json', '--baud', '0'], {
      transportFactory: () => card,
      stdout: (t) => (out += t),
      stderr: (t) => (err += t),
      signal: ac.signal,
    });
    const deadline = Date.now() + 10_000;
    while (!out.includes('\n') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const info = JSON.parse(out) as { path: string; pts: string; personality: string; baud: number | null };
    expect(info).toMatchObject({ path: link, personality: 'quectel-ec25j', baud: null });
    expect(info.pts).toMatch(/^\/dev\/pts\/\d+$/);
    expect(await talk(info.path, ['AT+QCCID'])).toEqual(['AT+QCCID\r\r\n+QCCID: 8944101032547698101\r\n\r\nOK\r\n']);
    ac.abort();
    expect(await running).toBe(0);
    expect(existsSync(link)).toBe(false);
    expect(card.closed).toBe(true);
    expect(err).toMatch(/stopped \(abort\)/);
  });

  it('as a separate process: prints the path, serves AT, exits 0 on SIGTERM', async () => {
    const link = join(tmpdir(), `bridgelab-cli-proc-${process.pid}-${Date.now()}`);
    const code = `Promise.all([import(${JSON.stringify(join(ROOT, 'cli/modem.ts'))}), import(${JSON.stringify(join(ROOT, 'sim/modem/testing/fake-card.ts'))})]).then(([m, c]) => m.modemCommand(process.argv.slice(1), { transportFactory: () => new c.FakeCard() })).then((c) => { process.exitCode = c; }, (e) => { console.error(String(e)); process.exitCode = 1; });`;
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', code, '--', '--pty', '--personality', 'fibocom-fm350', '--link', link], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    try {
      let out = '';
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const exited = new Promise<number | null>((res) => child.once('exit', (c) => res(c)));
      const path = await new Promise<string>((res, rej) => {
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('\n')) res(out.split('\n')[0] as string);
        });
        void exited.then((c) => rej(new Error(`exited ${c} before printing the path: ${err}`)));
      });
      expect(path).toBe(link);
      expect(await talk(path, ['ATE0', 'AT+CGMM'])).toEqual(['\r\nOK\r\n', '\r\nFM350-GL\r\n\r\nOK\r\n']) // the FM350-GL does not echo (lpac issue 209);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(err).toMatch(/stopped \(SIGTERM\)/);
      expect(existsSync(link)).toBe(false);
    } finally {
      clearTimeout(killer);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
