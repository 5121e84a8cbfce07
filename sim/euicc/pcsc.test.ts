// PC/SC integration (pcscd + vsmartcard's vpcd driver): `bridgelab euicc --vpcd 127.0.0.1:35963` runs as a
// separate process and plugs the software eUICC into pcscd's vsmartcard vpcd reader;
// opensc-tool (Debian `opensc`, a PC/SC client not written here) selects the ISD-R and
// sends ES10 GetEID and GetEUICCInfo1 STORE DATA APDUs (SGP.22 5.7.20, 5.7.8).
// Needs Debian pcscd + vsmartcard-vpcd + opensc. Skipped when they are absent, unless
// CI is set (then their absence fails). pcscd is started here (as root) when it is not
// already running, and stopped afterwards.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireVpcdSlot, VPCD_SLOTS, type HeldSlot } from '../lpa/vpcd-slots.ts';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseOpenscOutput } from './testing/opensc.ts';

const VPCD_PORT = 35963;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI_SCRIPT = fileURLToPath(new URL('../../cli/testing/run-euicc-cli.ts', import.meta.url));

function which(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

const VPCD_DRIVER = ['/usr/lib/pcsc/drivers/serial/libifdvpcd.so', '/usr/lib/x86_64-linux-gnu/pcsc/drivers/serial/libifdvpcd.so'].some(existsSync);
const TOOLS = which('pcscd') && which('opensc-tool') && VPCD_DRIVER;
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

function readerIndex(): number | undefined {
  const l = spawnSync('opensc-tool', ['-l'], { encoding: 'utf8', timeout: 20_000 });
  for (const line of (l.stdout ?? '').split('\n')) {
    const m = /^(\d+)\s+Yes\s+.*Virtual PCD 00 00/.exec(line);
    if (m) return Number(m[1]);
  }
  return undefined;
}

const SELECT_ISDR = '00A4040010A0000005591010FFFFFFFF890000010000';
const GET_EID = '80E2910006BF3E035C015A00';
const GET_EUICC_INFO1 = '80E2910003BF200000';
const NIST_CI = 'F54172BDF98A95D65CBEB88A38A1C11D800A85C3';
const BRP_CI = 'C0BC70BA36929D43B467FF57570530E57AB8FCD8';

describe.skipIf(SKIP)('PC/SC: bridgelab euicc in a vsmartcard vpcd reader, driven by opensc-tool', () => {
  let pcscd: ChildProcess | undefined;
  let card: ChildProcess | undefined;
  const cardLog: string[] = [];

  let slot: HeldSlot | undefined;
  beforeAll(async () => {
    // other test files plug cards into pcscd's vpcd slots too: take this one by its lock
    slot = await acquireVpcdSlot({ slots: [VPCD_SLOTS[0]!], timeoutMs: 120_000 });
    if (!TOOLS) throw new Error('pcscd, vsmartcard-vpcd and opensc are required when CI is set (apt-get install pcscd vsmartcard-vpcd opensc)');
    if (!(await portOpen(VPCD_PORT))) {
      if (process.getuid?.() !== 0) throw new Error(`pcscd is not running (no vpcd on port ${VPCD_PORT}) and only root may start it here`);
      pcscd = spawn('pcscd', ['--foreground'], { stdio: 'ignore' });
      await waitFor('pcscd to listen on the vpcd port', async () => ((await portOpen(VPCD_PORT)) ? true : undefined), 15_000);
    }
    card = spawn(process.execPath, ['--import', 'tsx/esm', CLI_SCRIPT, '--vpcd', `127.0.0.1:${VPCD_PORT}`, '--reconnect-ms', '200'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    card.stderr!.on('data', (b: Buffer) => cardLog.push(b.toString()));
    await waitFor('the emulated card in "Virtual PCD 00 00"', () => readerIndex(), 30_000);
  }, 180_000);

  afterAll(async () => {
    for (const child of [card, pcscd]) {
      if (!child || child.exitCode !== null) continue;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    }
    slot?.release();
  });

  it('SELECT ISD-R, GetEID and GetEUICCInfo1 through PC/SC', () => {
    const reader = readerIndex();
    expect(reader, cardLog.join('')).toBeDefined();
    const run = spawnSync('opensc-tool', ['-r', String(reader), '-s', SELECT_ISDR, '-s', GET_EID, '-s', GET_EUICC_INFO1], { encoding: 'utf8', timeout: 30_000 });
    expect(run.status, `${run.stdout}\n${run.stderr}\n${cardLog.join('')}`).toBe(0);
    const ex = parseOpenscOutput(run.stdout);
    expect(ex.map((e) => e.sent)).toEqual([SELECT_ISDR, GET_EID, GET_EUICC_INFO1]);
    expect(ex.map((e) => e.sw)).toEqual(['9000', '9000', '9000']);
    expect(ex[0]!.data).toBe('6F1F8410A0000005591010FFFFFFFF8900000100A5049F6501FFE0058203020202');
    expect(ex[1]!.data).toBe('BF3E125A1089049032123451234512345678901235');
    expect(ex[2]!.data).toBe(`BF20618203020202A92C0414${NIST_CI}0414${BRP_CI}AA2C0414${NIST_CI}0414${BRP_CI}`);
  });

  it('the card log says where it connected, and never prints key material', () => {
    const log = cardLog.join('');
    expect(log).toMatch(/connected to vpcd at 127\.0\.0\.1:35963/);
    expect(log).not.toMatch(/[0-9a-f]{64}/i);
  });
});

describe('opensc-tool output parser', () => {
  it('reads exchanges with and without data', () => {
    const out = [
      'Sending: 00 A4 04 00 10 A0 ',
      'Received (SW1=0x90, SW2=0x00):',
      '6F 1F 84 10 A0 00 00 05 59 10 10 FF FF FF FF 89 o.......Y.......',
      '02                                              .',
      'Sending: 80 E2 91 00 ',
      'Received (SW1=0x6A, SW2=0x88)',
    ].join('\n');
    expect(parseOpenscOutput(out)).toEqual([
      { sent: '00A4040010A0', sw: '9000', data: '6F1F8410A0000005591010FFFFFFFF8902' },
      { sent: '80E29100', sw: '6A88', data: '' },
    ]);
  });
});
