// PC/SC through the whole device path (issue: "pcscd + vsmartcard-vpcd see the reference
// bridge (connect-out mode) as a reader with a card"): `bridgelab modem --pty` (fake
// Quectel EC25-J with the software eUICC behind it) and `bridgelab bridge --connect`
// run as separate processes; the bridge connects out to pcscd's vpcd (slot 1, port
// 35964, "Virtual PCD 00 01"), and opensc-tool (Debian opensc, not written here) reads
// the EID: opensc-tool -> pcscd -> vpcd -> bridge -> AT+CCHO/CGLA over the PTY -> modem -> eUICC.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireVpcdSlot, VPCD_SLOTS, type HeldSlot } from '../lpa/vpcd-slots.ts';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseOpenscOutput } from '../euicc/testing/opensc.ts';

const VPCD_SLOT1_PORT = 35964;
const READER = 'Virtual PCD 00 01';
const BIN = fileURLToPath(new URL('../../bin/bridgelab.js', import.meta.url));

function which(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}
const VPCD_DRIVER = ['/usr/lib/pcsc/drivers/serial/libifdvpcd.so', '/usr/lib/x86_64-linux-gnu/pcsc/drivers/serial/libifdvpcd.so'].some(existsSync);
const TOOLS = which('pcscd') && which('opensc-tool') && which('socat') && VPCD_DRIVER;
const SKIP = !TOOLS && !process.env.CI;

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function waitFor<T>(what: string, f: () => Promise<T | undefined> | T | undefined, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function readerWithCard(): number | undefined {
  const l = spawnSync('opensc-tool', ['-l'], { encoding: 'utf8', timeout: 20_000 });
  for (const line of (l.stdout ?? '').split('\n')) {
    const m = new RegExp(`^(\\d+)\\s+Yes\\s+.*${READER}`).exec(line);
    if (m) return Number(m[1]);
  }
  return undefined;
}

describe.skipIf(SKIP)('PC/SC: pcscd sees the reference bridge (connect-out) in front of a fake modem', () => {
  let pcscd: ChildProcess | undefined;
  let modem: ChildProcess | undefined;
  let bridge: ChildProcess | undefined;
  const log: string[] = [];
  let dir: string;

  let slot: HeldSlot | undefined;
  beforeAll(async () => {
    // other test files plug cards into pcscd's vpcd slots too: take this one by its lock
    slot = await acquireVpcdSlot({ slots: [VPCD_SLOTS[1]!], timeoutMs: 120_000 });
    if (!TOOLS) throw new Error('pcscd, vsmartcard-vpcd, opensc and socat are required when CI is set');
    dir = mkdtempSync(join(tmpdir(), 'bridgelab-pcsc-bridge-'));
    if (!(await portOpen(VPCD_SLOT1_PORT))) {
      if (process.getuid?.() !== 0) throw new Error('pcscd is not running and only root may start it here');
      pcscd = spawn('pcscd', ['--foreground'], { stdio: 'ignore' });
      await waitFor('pcscd to listen on vpcd slot 1', async () => ((await portOpen(VPCD_SLOT1_PORT)) ? true : undefined), 15_000);
    }
    const tty = join(dir, 'ttyEC25');
    modem = spawn(process.execPath, [BIN, 'modem', '--pty', '--personality', 'quectel-ec25j', '--link', tty], {
      env: { ...process.env, BRIDGELAB_EUICC_STATE: join(dir, 'euicc.json') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    modem.stdout!.on('data', (b: Buffer) => log.push(`modem: ${b}`));
    modem.stderr!.on('data', (b: Buffer) => log.push(`modem: ${b}`));
    await waitFor('the fake modem PTY', () => (existsSync(tty) ? true : undefined), 20_000);
    bridge = spawn(process.execPath, [BIN, 'bridge', '--serial', tty, '--baud', '115200', '--connect', `127.0.0.1:${VPCD_SLOT1_PORT}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    bridge.stdout!.on('data', (b: Buffer) => log.push(`bridge: ${b}`));
    bridge.stderr!.on('data', (b: Buffer) => log.push(`bridge: ${b}`));
    await waitFor(`a card in "${READER}"`, () => readerWithCard(), 40_000);
  }, 210_000);

  afterAll(async () => {
    for (const child of [bridge, modem, pcscd]) {
      if (!child || child.exitCode !== null) continue;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    }
    rmSync(dir, { recursive: true, force: true });
    slot?.release();
  });

  it('opensc-tool selects the ISD-R and reads the EID through bridge -> modem -> eUICC', () => {
    const reader = readerWithCard();
    expect(reader, log.join('')).toBeDefined();
    const run = spawnSync('opensc-tool', ['-r', String(reader), '-s', '00A4040010A0000005591010FFFFFFFF890000010000', '-s', '80E2910006BF3E035C015A00'], { encoding: 'utf8', timeout: 60_000 });
    expect(run.status, `${run.stdout}\n${run.stderr}\n${log.join('')}`).toBe(0);
    const ex = parseOpenscOutput(run.stdout);
    expect(ex.map((e) => e.sw)).toEqual(['9000', '9000']);
    expect(ex[0]!.data).toMatch(/^6F/);
    expect(ex[1]!.data).toBe('BF3E125A1089049032123451234512345678901235');
  });
});
