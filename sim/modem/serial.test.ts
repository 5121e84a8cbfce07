// Serial endpoints: the mock binding with a real SerialPort object, and a socat PTY
// opened by serialport and by a separate process, as a bridge under test would.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPort, SerialPortMock } from 'serialport';
import { afterEach, describe, expect, it } from 'vitest';
import { createMockModemPort, findSocat, type MockModemPort, ModemMockPortBinding, type PtyModem, startPtyModem } from './serial.ts';
import { AtClient } from './testing/at-client.ts';
import { FakeCard, ISD_R_AID } from './testing/fake-card.ts';
import { ModemEndpointError } from './types.ts';

describe('mock binding endpoint', () => {
  let m: MockModemPort | undefined;
  afterEach(async () => {
    await m?.close();
    m = undefined;
  });

  it('round trip through a real SerialPortMock object', async () => {
    m = await createMockModemPort({ personality: 'quectel-ec25j', transport: new FakeCard(), timeScale: 0, path: '/dev/ttyFAKE-rt' });
    expect(m.port).toBeInstanceOf(SerialPortMock);
    expect(m.port.port).toBeInstanceOf(ModemMockPortBinding);
    expect(m.port.isOpen).toBe(true);
    expect(m.path).toBe('/dev/ttyFAKE-rt');
    const port = m.port;
    const at = new AtClient((b) => port.write(Buffer.from(b)));
    port.on('data', (d: Buffer) => at.feed(d));
    expect(await at.command('AT')).toBe('AT\r\r\nOK\r\n');
    expect(await at.command(`AT+CCHO="${ISD_R_AID}"`)).toBe(`AT+CCHO="${ISD_R_AID}"\r\r\n+CCHO: 1\r\n\r\nOK\r\n`);
    expect(await at.command('AT+CGLA=1,10,"81E2910000"')).toBe('AT+CGLA=1,10,"81E2910000"\r\r\n+CGLA: 4,"9000"\r\n\r\nOK\r\n');
    await m.modem.settled();
    const c = m.modem.counters();
    expect(c.fromTe.bytes).toBe('AT\r'.length + `AT+CCHO="${ISD_R_AID}"\r`.length + 'AT+CGLA=1,10,"81E2910000"\r'.length);
    expect(c.toTe.bytes).toBeGreaterThan(c.fromTe.bytes);
  });

  it('shares the port registry with SerialPortMock, and the port closes with the modem', async () => {
    m = await createMockModemPort({ personality: 'seiko', transport: new FakeCard(), timeScale: 0 });
    expect(await SerialPortMock.binding.list()).toContainEqual(expect.objectContaining({ path: m.path }));
    await m.close();
    expect(m.port.isOpen).toBe(false);
    m = undefined;
  });
});

const socat = findSocat();

describe.skipIf(!socat)('PTY endpoint (needs socat, Debian package socat)', () => {
  let pty: PtyModem | undefined;
  const ports: SerialPort[] = [];
  afterEach(async () => {
    for (const p of ports.splice(0)) if (p.isOpen) await new Promise<void>((r) => p.close(() => r()));
    await pty?.close();
    pty = undefined;
  });

  const openTe = async (path: string): Promise<{ port: SerialPort; at: AtClient }> => {
    const port = new SerialPort({ path, baudRate: 115200, autoOpen: false });
    ports.push(port);
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
    const at = new AtClient((b) => port.write(Buffer.from(b)));
    port.on('data', (d: Buffer) => at.feed(d));
    return { port, at };
  };

  it('the external end answers AT with OK, through a stable link; close removes link and socat', async () => {
    const link = join(tmpdir(), `bridgelab-modem-${process.pid}-${Date.now()}`);
    pty = await startPtyModem({ personality: 'quectel-ec25j', transport: new FakeCard(), timeScale: 0, link });
    expect(pty.path).toBe(link);
    expect(pty.ptsPath).toMatch(/^\/dev\/pts\/\d+$/);
    expect(existsSync(link)).toBe(true);
    const { at } = await openTe(pty.path);
    expect(await at.command('AT')).toBe('AT\r\r\nOK\r\n');
    expect(await at.command('AT+QCCID')).toBe('AT+QCCID\r\r\n+QCCID: 89000123456789012341\r\n\r\nOK\r\n');
    const pid = pty.socatPid;
    await pty.close();
    expect(await pty.exited).not.toBeUndefined();
    expect(existsSync(link)).toBe(false);
    expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
    pty = undefined;
  });

  it('re-enumeration: the tty hangs up, the link disappears, a new PTY appears at the same link after goneMs; the modem restarts and sends its URCs there', async () => {
    const link = join(tmpdir(), `bridgelab-reenum-${process.pid}-${Date.now()}`);
    pty = await startPtyModem({ personality: 'quectel-ec25j', transport: new FakeCard(), timeScale: 1, baud: null, link });
    const events: string[] = [];
    pty.onDeviceEvent((e) => events.push(`${e.kind} ${e.path}`));
    const firstPts = pty.ptsPath;
    const firstPid = pty.socatPid;
    const first = await openTe(link);
    ports.splice(ports.indexOf(first.port), 1); // its tty goes away under it: closed by hand below
    expect(await first.at.command('AT')).toBe('AT\r\r\nOK\r\n');
    const done = pty.modem.faults.reenumerate(400);
    const waitFor = async (cond: () => boolean, what: string): Promise<number> => {
      const t = performance.now();
      while (!cond()) {
        if (performance.now() - t > 5000) throw new Error(`${what} did not happen within 5 s`);
        await new Promise((r) => setTimeout(r, 10));
      }
      return performance.now();
    };
    const goneAt = await waitFor(() => !existsSync(link), 'the link removal');
    expect(pty.modem.state().deviceGone).toBe(true);
    const t0 = goneAt;
    // existsSync of the link alone can be fooled while the old socat exits (its pts number may be reused): wait for the endpoint's event
    await waitFor(() => events.length === 2 && existsSync(link), 'the link coming back');
    expect(() => process.kill(firstPid, 0)).toThrow(/ESRCH/); // the old socat is gone, a new one serves the link
    expect(pty.socatPid).not.toBe(firstPid);
    expect(performance.now() - t0).toBeGreaterThan(250);
    // the first port's tty belonged to the stopped socat: close it (it may already be closed)
    await new Promise<void>((r) => {
      const t = setTimeout(r, 1000);
      first.port.close(() => {
        clearTimeout(t);
        r();
      });
    });
    const second = await openTe(link);
    await done;
    expect(pty.ptsPath).not.toBe(firstPts);
    expect(pty.path).toBe(link);
    expect(events).toEqual([`gone ${link}`, `back ${link}`]);
    expect(pty.modem.state()).toMatchObject({ deviceGone: false, restarting: false });
    expect(await second.at.command('AT')).toMatch(/AT\r\r\nOK\r\n$/);
    // a re-enumeration is not the end of the endpoint
    const ended = await Promise.race([pty.exited.then(() => 'exited'), new Promise((r) => setTimeout(() => r('running'), 50))]);
    expect(ended).toBe('running');
  });

  it('survives the external program closing and reopening the tty', async () => {
    pty = await startPtyModem({ personality: 'seiko', transport: new FakeCard(), timeScale: 0 });
    const first = await openTe(pty.path);
    expect(await first.at.command('AT')).toBe('AT\r\r\nOK\r\n');
    await new Promise<void>((r) => first.port.close(() => r()));
    const second = await openTe(pty.path);
    expect(await second.at.command('AT+CGMM')).toBe('AT+CGMM\r\r\nSEIKO-LTE-BASELINE\r\n\r\nOK\r\n');
  });

  it('a separate process can open the tty and talk AT', async () => {
    pty = await startPtyModem({ personality: 'simcom-a7908e', transport: new FakeCard(), timeScale: 0 });
    const script = `
      const fs = require('node:fs');
      const fd = fs.openSync(process.argv[1], fs.constants.O_RDWR | fs.constants.O_NOCTTY);
      let buf = '';
      const rs = fs.createReadStream(null, { fd, autoClose: false });
      rs.on('data', (d) => {
        buf += d.toString('latin1');
        if (/\\r\\nOK\\r\\n/.test(buf)) { process.stdout.write(JSON.stringify(buf)); process.exit(0); }
      });
      fs.writeSync(fd, 'AT+CPIN?\\r');
      setTimeout(() => { process.stderr.write('no OK: ' + JSON.stringify(buf)); process.exit(3); }, 8000);
    `;
    const child = spawn(process.execPath, ['-e', script, pty.path], { stdio: ['ignore', 'pipe', 'pipe'] });
    const killer = setTimeout(() => child.kill('SIGKILL'), 12_000);
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    clearTimeout(killer);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(out)).toBe('\r\n+CPIN:READY\r\n\r\nOK\r\n'); // no echo, no space after the colon (lpac PR 238)
  });

  it('refuses a link path socat cannot parse', async () => {
    await expect(startPtyModem({ personality: 'seiko', transport: new FakeCard(), link: '/tmp/a,b' })).rejects.toThrow(ModemEndpointError);
  });

  it('reports a socat that cannot run', async () => {
    await expect(startPtyModem({ personality: 'seiko', transport: new FakeCard(), socatPath: '/nonexistent/socat' })).rejects.toThrow(/cannot run socat|exited/);
  });
});
