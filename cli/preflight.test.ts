// Pre-flight of `bridgelab certify` and of the part commands, as a user meets it: the real
// command in a child process, with a PATH that lacks socat or with a bridge command that
// cannot start. Each must end with exit code 2 and one line naming the cause, before any
// case runs (no report directory is written).
import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findSocat } from '../sim/modem/serial.ts';
import { programsFor, requirePrograms, SOCAT, PreflightError } from './preflight.ts';
import { loadRig } from '../rigs/rig.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'bridgelab.js');
const base = mkdtempSync(join(tmpdir(), 'bridgelab-preflight-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

function bridgelab(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...env, BRIDGELAB_DEBUG: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

let n = 0;
const newReportDir = () => join(base, `report-${++n}`);

/** A PATH with node and nothing else: no socat. */
function pathWithoutSocat(): string {
  const bin = join(base, 'bin-without-socat');
  if (!existsSync(bin)) {
    mkdirSync(bin);
    symlinkSync(process.execPath, join(bin, 'node'));
  }
  return bin;
}

const socatInstalled = findSocat() !== null;
function requireSocat(skip: () => void): void {
  if (socatInstalled) return;
  if (process.env.CI) throw new Error('socat is required in CI (.ci/run installs it)');
  skip();
}

describe('pre-flight: programs', () => {
  it('a fake-modem rig needs socat; a real rig does not', () => {
    expect(programsFor(loadRig('virtual'))).toEqual([SOCAT]);
    expect(programsFor(loadRig('rpi-ec25j'))).toEqual([]);
    const missing = { ...SOCAT, find: () => null };
    expect(() => requirePrograms([missing])).toThrow(PreflightError);
    expect(() => requirePrograms([missing])).toThrow("socat is required for the fake modem's PTY: apt-get install -y socat");
  });

  it('certify with a PATH lacking socat: exit 2, one line with the install command, before any case', async () => {
    const report = newReportDir();
    const r = await bridgelab(['certify', '--personality', 'quectel-ec25j', '--report', report, '--no-html'], { ...process.env, PATH: pathWithoutSocat() });
    expect(r.stderr).toBe("bridgelab: socat is required for the fake modem's PTY: apt-get install -y socat\n");
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(existsSync(report)).toBe(false);
  }, 60_000);

  it('bridgelab modem --pty with a PATH lacking socat: the same line, exit 2', async () => {
    const r = await bridgelab(['modem', '--pty', '--personality', 'quectel-ec25j'], { ...process.env, PATH: pathWithoutSocat() });
    expect(r.stderr).toBe("bridgelab: socat is required for the fake modem's PTY: apt-get install -y socat\n");
    expect(r.code).toBe(2);
  }, 60_000);
});

describe('pre-flight: the bridge', () => {
  it('a bridge command that does not exist: exit 2, one line with the shell\'s answer, before any case', async (ctx) => {
    requireSocat(() => ctx.skip());
    const report = newReportDir();
    const r = await bridgelab(['certify', '--personality', 'quectel-ec25j', '--report', report, '--no-html', '--bridge', 'no-such-bridge-binary --tty {tty} --port {port}']);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')).toEqual([expect.any(String), '']);
    expect(r.stderr).toMatch(
      /^bridgelab: the bridge command did not start: the bridge process exited with code 127 before listening on 127\.0\.0\.1:\d+ \(command not found\); command: no-such-bridge-binary --tty \{tty\} --port \{port\}; its output: .*no-such-bridge-binary: not found\n$/,
    );
    expect(r.stdout).toBe('');
    expect(existsSync(report)).toBe(false);
  }, 60_000);

  it('a bridge command that exits at once: its exit code and what it printed', async (ctx) => {
    requireSocat(() => ctx.skip());
    const r = await bridgelab(['certify', '--personality', 'quectel-ec25j', '--report', newReportDir(), '--no-html', '--bridge', "sh -c 'echo cannot open modem: permission denied >&2; exit 3' {tty}"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^bridgelab: the bridge command did not start: the bridge process exited with code 3 before listening on 127\.0\.0\.1:\d+; command: .*; its output: cannot open modem: permission denied\n$/);
  }, 60_000);

  it('a bridge command that never listens: the time it was given', async (ctx) => {
    requireSocat(() => ctx.skip());
    const rigFile = join(base, 'silent-bridge.json');
    const rig = loadRig('virtual-external-bridge');
    writeFileSync(rigFile, JSON.stringify({ ...rig, name: 'silent-bridge', modem: { ...rig.modem, personality: 'quectel-ec25j' }, bridge: { kind: 'external', command: 'sleep 30 # {tty}', lpaLink: 'bridge-listens', startupTimeoutMs: 1500 } }));
    const r = await bridgelab(['certify', '--rig', rigFile, '--report', newReportDir(), '--no-html']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^bridgelab: the bridge command did not start: the bridge did not listen on 127\.0\.0\.1:\d+ within 1500 ms; command: sleep 30 # \{tty\}; its output: \(no output\)\n$/);
  }, 60_000);

  it('a running bridge that does not answer at host:port: exit 2, one line', async (ctx) => {
    requireSocat(() => ctx.skip());
    // a port nobody listens on: taken from the OS, then released
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const r = await bridgelab(['certify', '--personality', 'quectel-ec25j', '--report', newReportDir(), '--no-html', '--bridge', `127.0.0.1:${port}`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^bridgelab: no bridge answers at 127\\.0\\.0\\.1:${port} \\(rig 'virtual', bridge kind 'running'\\): .*ECONNREFUSED.*\\n$`));
  }, 60_000);

  it('--help prints the usage on stdout and exits 0', async () => {
    const r = await bridgelab(['certify', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: bridgelab certify /);
    expect(r.stderr).toBe('');
  }, 60_000);
});
