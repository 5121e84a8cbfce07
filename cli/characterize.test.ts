// `bridgelab characterize`: argument errors (exit 2) before the port is touched, a silent
// PTY (exit 1, bounded time), and a fake modem on a PTY characterized into a personality
// file that loads and runs, with the observations next to it.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Observation } from '../sim/modem/characterize.ts';
import { loadPersonality, PERSONALITY_DIR } from '../sim/modem/personality.ts';
import { findSocat, type PtyModem, startPtyModem } from '../sim/modem/serial.ts';
import { personalityWith } from '../sim/modem/testing/engine-harness.ts';
import { AtClient } from '../sim/modem/testing/at-client.ts';
import { FakeCard } from '../sim/modem/testing/fake-card.ts';
import { characterizeCommand } from './characterize.ts';
import { UsageError } from './errors.ts';
import { main } from './main.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bridgelab-characterize-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  vi.restoreAllMocks();
});

/** Through cli/main (the real exit-code path), stdout and stderr captured. */
async function runMain(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  try {
    return { code: await main(['characterize', ...args]), stdout, stderr };
  } finally {
    vi.restoreAllMocks();
  }
}

describe('arguments', () => {
  it('usage errors throw UsageError before any port is opened', async () => {
    await expect(characterizeCommand([])).rejects.toThrow(UsageError);
    await expect(characterizeCommand([])).rejects.toThrow(/^--serial is required/);
    await expect(characterizeCommand(['--serial', '/dev/null', '--baud', 'fast'])).rejects.toThrow("--baud must be a whole number from 300 to 4000000, got 'fast'");
    await expect(characterizeCommand(['--serial', '/dev/null', '--bogus'])).rejects.toThrow("characterize: Unknown option '--bogus'");
    await expect(characterizeCommand(['--serial'])).rejects.toThrow("characterize: Option '--serial <value>' argument missing");
    await expect(characterizeCommand(['--serial', '/dev/null', '--name', 'Seiko LTE'])).rejects.toThrow("--name must be lower-case letters, digits, '.', '_' or '-', got 'Seiko LTE'");
    await expect(characterizeCommand(['--serial', '/dev/null', '--out', join(dir, 'x.txt')])).rejects.toThrow(/--out must end in \.json/);
    await expect(characterizeCommand(['--serial', '/dev/null', '--out', join(dir, 'no', 'x.json')])).rejects.toThrow(`--out: directory '${join(dir, 'no')}' does not exist`);
    await expect(characterizeCommand(['--serial', '/dev/null', '--out', join(dir, 'seiko-lab.json'), '--name', 'other'])).rejects.toThrow(
      "--name 'other' does not match the --out file name 'seiko-lab.json': a personality file must be named <id>.json",
    );
    await expect(characterizeCommand(['--serial', '/dev/null', '--base', 'no-such-modem'])).rejects.toThrow(/^--base: .*no-such-modem/);
    writeFileSync(join(dir, 'seiko-lab.json'), '{}');
    await expect(characterizeCommand(['--serial', '/dev/null', '--out', join(dir, 'seiko-lab.json')])).rejects.toThrow(`--out: '${join(dir, 'seiko-lab.json')}' exists (--force to overwrite)`);
    await expect(characterizeCommand(['--serial', '/dev/null', '--out', join(PERSONALITY_DIR, 'seiko-lab.json')])).rejects.toThrow(/would sit among the bundled personalities.*--observations FILE/);
  });

  it('exit codes through bridgelab main: 2 for usage, 1 for a port that cannot be opened', async () => {
    const usage = await runMain(['--serial', '/dev/null', '--timeout', '5']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toBe("bridgelab: --timeout must be a whole number from 100 to 600000, got '5'\n");
    const missing = await runMain(['--serial', join(dir, 'ttyNOPE')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(new RegExp(`^bridgelab: cannot open ${join(dir, 'ttyNOPE')}: .*No such file or directory`));
  });

  it('--help', async () => {
    let out = '';
    expect(await characterizeCommand(['--help'], { stdout: (t) => (out += t) })).toBe(0);
    expect(out).toMatch(/^usage: bridgelab characterize --serial PORT/);
  });
});

const socat = findSocat();

/** A PTY pair with nothing on the far end: whatever is written is never answered. */
async function silentPty(): Promise<{ path: string; child: ChildProcess }> {
  const child = spawn(socat as string, ['-d', '-d', 'pty,raw,echo=0', 'pty,raw,echo=0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const paths: string[] = [];
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`socat did not start: ${log}`)), 5000);
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      log += chunk;
      for (const m of chunk.matchAll(/PTY is (\/dev\/pts\/\d+)/g)) paths.push(m[1] as string);
      if (/starting data transfer loop/.test(log) && paths.length === 2) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return { path: paths[0] as string, child };
}

describe.skipIf(!socat)('against PTYs (needs socat)', () => {
  let pty: PtyModem | undefined;
  let child: ChildProcess | undefined;
  afterEach(async () => {
    await pty?.close();
    pty = undefined;
    if (child && child.exitCode === null) {
      const c = child;
      await new Promise<void>((r) => {
        c.once('exit', () => r());
        c.kill('SIGTERM');
      });
    }
    child = undefined;
  });

  it('a PTY with nothing behind it: exit 1, a clear message, within a bounded time; the observations are written', async () => {
    const s = await silentPty();
    child = s.child;
    const out = join(dir, 'silent.json');
    const t0 = performance.now();
    const r = await runMain(['--serial', s.path, '--timeout', '500', '--out', out]);
    expect(performance.now() - t0).toBeLessThan(4000);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`bridgelab: no answer to AT on ${s.path} within \\d+ ms: nothing came back; is it the modem's AT port, powered, and not held by another program\\?\\n$`));
    expect(existsSync(out)).toBe(false);
    const obs = JSON.parse(readFileSync(`${out}.observations.json`, 'utf8')) as Observation[];
    expect(obs.filter((o) => o.sent === 'AT').map((o) => o.conclusion)).toEqual(Array(3).fill('no final result code within 500 ms'));
  });

  it('a fake modem: personality file (id from the file name) that loads and runs, observations next to it, progress on stderr', async () => {
    // the A7908E's no-space form, with echo on, verbose errors and +CICCID (properties characterize must all find)
    const lab = personalityWith('simcom-a7908e', { echoDefault: true, cmeeDefault: 2, iccidCommands: [{ command: '+CICCID', prefix: '+ICCID' }] });
    pty = await startPtyModem({ personality: lab, transport: new FakeCard({ t0: true, maxChannels: 19 }), timeScale: 0, baud: null });
    const out = join(dir, 'simcom-lab.json');
    let stdout = '';
    let stderr = '';
    const code = await characterizeCommand(['--serial', pty.path, '--out', out, '--silence-ms', '200', '--max-gap-ms', '200'], {
      stdout: (t) => (stdout += t),
      stderr: (t) => (stderr += t),
      isTTY: false,
    });
    expect(code).toBe(0);
    expect(stdout).toBe('');
    const p = loadPersonality(out);
    expect(p.id).toBe('simcom-lab');
    expect(p.format.spaceAfterColon).toBe(false);
    expect(p.cmeeDefault).toBe(2);
    expect(p.iccidCommands).toEqual([{ command: '+CICCID', prefix: '+ICCID' }]);
    const obs = JSON.parse(readFileSync(`${out}.observations.json`, 'utf8')) as Observation[];
    expect(obs.find((o) => o.sent === 'AT+CMEE?')).toMatchObject({ received: '\r\n+CMEE:2\r\n\r\nOK\r\n', conclusion: expect.stringMatching(/^\+CMEE is 2/) });
    const steps = stderr.split('\n').filter((l) => /^characterize: \[\d+\/18\]/.test(l));
    expect(steps[0]).toBe('characterize: [1/18] AT and echo');
    expect(steps.at(-1)).toBe('characterize: [18/18] restore settings');
    expect(stderr).toMatch(/characterize: SIMCOM INCORPORATED A7908E \(A7908E_V1\.0\) -> .*simcom-lab\.json as 'simcom-lab'; \d+ observations in .*simcom-lab\.json\.observations\.json; \d+ properties not probed \(defaults\)\n$/);
    // the modem is left as found: echo back on, +CMEE back to 2
    expect(pty.modem.state()).toMatchObject({ echo: true, cmee: 2, sessions: [] });
    // and the file runs as a fake modem
    const again = await startPtyModem({ personality: out, transport: new FakeCard(), timeScale: 0, baud: null });
    try {
      const port = new SerialPort({ path: again.path, baudRate: 115200, autoOpen: false });
      await new Promise<void>((res, rej) => port.open((e) => (e ? rej(e) : res())));
      const at = new AtClient((b) => port.write(Buffer.from(b)));
      port.on('data', (d: Buffer) => at.feed(d));
      expect(await at.command('AT+CICCID')).toBe('AT+CICCID\r\r\n+ICCID:89000123456789012341\r\n\r\nOK\r\n');
      await new Promise<void>((r) => port.close(() => r()));
    } finally {
      await again.close();
    }
  });

  it('stdout by default (through main): the JSON parses into a personality named by --name', async () => {
    pty = await startPtyModem({ personality: 'seiko', transport: new FakeCard({ t0: true }), timeScale: 0, baud: null });
    const r = await runMain(['--serial', pty.path, '--name', 'seiko-lab', '--silence-ms', '200', '--max-gap-ms', '0']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { id: string; identity: { manufacturer: string } };
    expect(doc.id).toBe('seiko-lab');
    expect(doc.identity.manufacturer).toBe('SEIKO SOLUTIONS INC.');
    expect(r.stderr).toMatch(/observations \(not written: use --out or --observations\)/);
  });
});
