// `bridgelab bridge`: argument checking (UsageError, exit 2) and a real run on a PTY
// (socat) with a virtual EC25 behind it, opened through serialport's native binding like
// /dev/ttyUSB2 on a Raspberry Pi; the LPA side is the test LPA's vpcd reader.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bridgeCommand, bridgeOptionsFromArgs, parseHostPort } from './bridge.ts';
import { UsageError } from './errors.ts';
import { findSocat, startPtyModem, type PtyModem } from '../sim/modem/serial.ts';
import { FakeCard } from '../sim/modem/testing/fake-card.ts';
import { connectVpcdReader } from '../sim/lpa/vpcd-transport.ts';
import { hexToBytes, toUpperHex } from '../sim/bytes.ts';
import { ISD_R_AID, ECASD_AID } from '../sim/bridge/modem-session.ts';

describe('bridgelab bridge arguments', () => {
  const usage = (args: string[]): string => {
    try {
      bridgeOptionsFromArgs(args);
    } catch (err) {
      expect(err).toBeInstanceOf(UsageError);
      return (err as Error).message.split('\n')[0] as string;
    }
    throw new Error('expected a UsageError');
  };

  it('rejects bad arguments with one clear line', () => {
    expect(usage([])).toBe('--serial is required');
    expect(usage(['--serial', '/dev/ttyUSB2', '--listen', '0.0.0.0:1', '--connect', 'h:2'])).toBe('--listen and --connect are exclusive');
    expect(usage(['--serial', '/dev/ttyUSB2', '--listen', 'nohost'])).toBe("--listen expects HOST:PORT, got 'nohost'");
    expect(usage(['--serial', '/dev/ttyUSB2', '--connect', 'h:70000'])).toBe("--connect expects HOST:PORT, got 'h:70000'");
    expect(usage(['--serial', '/dev/ttyUSB2', '--baud', 'fast'])).toBe("--baud expects a positive integer, got 'fast'");
    expect(usage(['--serial', '/dev/ttyUSB2', '--allow-aid', 'A0'])).toBe("--allow-aid expects 5 to 16 bytes of hex, got 'A0'");
    expect(usage(['--serial', '/dev/ttyUSB2', '--psk-identity', 'x'])).toBe('TLS-PSK needs both --psk-identity and --psk-key (or --psk-key-file)');
    expect(usage(['--serial', '/dev/ttyUSB2', '--psk-identity', 'x', '--psk-key', '0011'])).toBe('--psk-key: the PSK must be 16 to 64 bytes, got 2');
    expect(usage(['--serial', '/dev/ttyUSB2', '--psk-identity', 'x', '--psk-key', 'zz'])).toMatch(/^--psk-key: not hex/);
    expect(usage(['--serial', '/dev/ttyUSB2', '--mode', 'at'])).toBe("--mode expects auto, ccho or csim, got 'at'");
    expect(usage(['--serial', '/dev/ttyUSB2', '--bogus'])).toMatch(/bogus/);
    expect(usage(['--serial', '/dev/ttyUSB2', '--t0', 'auto'])).toBe("--t0 expects reader, join, pass, got 'auto'");
    expect(usage(['--serial', '/dev/ttyUSB2', '--atr', 'T=1'])).toBe("--atr expects T=0 or T=0,T=1, got 'T=1'");
  });

  it('T=0 reader procedure and a field-eUICC T=0 ATR by default; --t0, --atr and --no-quickack change them', () => {
    const o = bridgeOptionsFromArgs(['--serial', '/dev/ttyUSB2']);
    expect(o.session?.t0).toBe('reader');
    expect(toUpperHex(o.atr!)).toBe('3B9F96803FC7828031E073FE211B633A204A8300900035');
    expect(o.quickAck).toBeUndefined();
    const p = bridgeOptionsFromArgs(['--serial', '/dev/ttyUSB2', '--t0', 'join', '--atr', 'T=0,T=1', '--no-quickack']);
    expect(p.session?.t0).toBe('join');
    expect(toUpperHex(p.atr!).startsWith('3B9F9680B1FE45')).toBe(true);
    expect(p.quickAck).toBe(false);
  });

  it('defaults: listen on 0.0.0.0:35963, refuse a second LPA, ISD-R and ECASD allowed; --allow-aid adds', () => {
    const o = bridgeOptionsFromArgs(['--serial', '/dev/ttyUSB2']);
    expect(o.serial).toEqual({ path: '/dev/ttyUSB2', baudRate: 115200 });
    expect(o.listen).toEqual({ host: '0.0.0.0', port: 35963 });
    expect(o.connect).toBeUndefined();
    expect(o.secondLpa).toBe('refuse');
    expect(o.session?.allowAids).toEqual([ISD_R_AID, ECASD_AID]);
    const p = bridgeOptionsFromArgs(['--serial', '/dev/x', '--connect', '[::1]:4000', '--allow-aid', 'a0000000871002', '--queue', '--baud', '921600']);
    expect(p.connect).toEqual({ host: '::1', port: 4000 });
    expect(p.listen).toBeUndefined();
    expect(p.secondLpa).toBe('queue');
    expect(p.serial).toEqual({ path: '/dev/x', baudRate: 921600 });
    expect(p.session?.allowAids).toEqual([ISD_R_AID, ECASD_AID, 'A0000000871002']);
    expect(parseHostPort('127.0.0.1:0', '--listen')).toEqual({ host: '127.0.0.1', port: 0 });
  });

  it('reads the PSK from a file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bridgelab-psk-'));
    try {
      const f = join(dir, 'key');
      writeFileSync(f, '00112233445566778899aabbccddeeff\n');
      const o = bridgeOptionsFromArgs(['--serial', '/dev/x', '--psk-identity', 'lpa', '--psk-key-file', f]);
      expect(o.psk?.identity).toBe('lpa');
      expect(toUpperHex(o.psk!.key)).toBe('00112233445566778899AABBCCDDEEFF');
      expect(() => bridgeOptionsFromArgs(['--serial', '/dev/x', '--psk-identity', 'lpa', '--psk-key-file', join(dir, 'none')])).toThrow(/cannot read/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--help prints the usage and exits 0', async () => {
    const out: string[] = [];
    expect(await bridgeCommand(['--help'], { stdout: (l) => out.push(l), stderr: () => {} })).toBe(0);
    expect(out[0]).toMatch(/^usage: bridgelab bridge --serial PATH/);
  });
});

describe.skipIf(findSocat() === null)('bridgelab bridge on a PTY (socat)', () => {
  let pty: PtyModem | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await pty?.close();
    pty = undefined;
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('prints one ready line, serves the LPA, logs JSON lines and stops on the signal', async () => {
    pty = await startPtyModem({ personality: 'quectel-ec25j', transport: new FakeCard(), timeScale: 0 });
    dir = mkdtempSync(join(tmpdir(), 'bridgelab-bridge-'));
    const logFile = join(dir, 'bridge.jsonl');
    const stdout: string[] = [];
    const stderr: string[] = [];
    const stop = new AbortController();
    const ready = new Promise<string>((resolve) => {
      const t = setInterval(() => {
        if (stdout.length) {
          clearInterval(t);
          resolve(stdout[0] as string);
        }
      }, 10);
    });
    const run = bridgeCommand(['--serial', pty.path, '--baud', '115200', '--listen', '127.0.0.1:0', '--log', logFile], {
      stdout: (l) => stdout.push(l),
      stderr: (l) => stderr.push(l),
      signal: stop.signal,
    });
    const line = await Promise.race([ready, run.then((c) => `exited ${c}`)]);
    expect(line).toMatch(/^bridgelab bridge: listening on 127\.0\.0\.1:\d+ \(Quectel EC25 EC25JFAR06A03M4G, ccho mode\)$/);
    const port = Number(/:(\d+) /.exec(line)![1]);
    const lpa = await connectVpcdReader('127.0.0.1', port, { commandTimeoutMs: 5000 });
    expect(toUpperHex(await lpa.transmit(hexToBytes('0070000001')))).toBe('019000');
    expect(toUpperHex(await lpa.transmit(hexToBytes(`01A4040010${ISD_R_AID}`)))).toMatch(/9000$/);
    expect(toUpperHex(await lpa.transmit(hexToBytes('81E2910006BF3E035C015A')))).toBe('BF3E035C015A9000');
    await lpa.close();
    stop.abort();
    expect(await run).toBe(0);
    expect(stdout).toHaveLength(1);
    expect(stderr.some((l) => /lpa connected 127\.0\.0\.1:\d+/.test(l))).toBe(true);
    const events = readFileSync(logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; line?: string });
    expect(events.some((e) => e.type === 'at-tx' && e.line === `AT+CCHO="${ISD_R_AID}"`)).toBe(true);
    expect(events.some((e) => e.type === 'at-tx' && e.line === 'AT+CCHC=1')).toBe(true);
    expect(events.filter((e) => e.type === 'apdu')).toHaveLength(3);
    expect(events.at(-1)?.type).toBe('bridge');
  });

  it('a serial path that does not exist fails with exit 1 (OperationError)', async () => {
    const err = await bridgeCommand(['--serial', '/dev/ttyNOPE_bridgelab', '--listen', '127.0.0.1:0'], { stdout: () => {}, stderr: () => {}, signal: new AbortController().signal }).catch((e: unknown) => e);
    expect((err as Error).name).toBe('OperationError');
    expect((err as Error).message).toMatch(/^bridge did not start: cannot open serial port \/dev\/ttyNOPE_bridgelab/);
  });
});
