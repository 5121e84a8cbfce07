// The whole bridge: vpcd listen and connect-out modes driven by the test LPA's vpcd
// reader (sim/lpa/vpcd-transport.ts), a virtual EC25 behind a mock serial binding,
// one LPA at a time (refuse / queue), channels released on reset and disconnect,
// TLS-PSK (right key, wrong key, no TLS), ATR, trace and JSON log.
import { afterEach, describe, expect, it } from 'vitest';
import { hexToBytes, toUpperHex } from '../bytes.ts';
import { buildAtr } from '../apdu/atr.ts';
import { VpcdTransportError } from '../lpa/errors.ts';
import { connectVpcdReader, VpcdReaderListener, VpcdReaderTransport } from '../lpa/vpcd-transport.ts';
import { connectPsk, startBridge, BridgeStartError, type Bridge, type BridgeOptions, type BridgeTraceEvent } from './bridge.ts';
import { ISD_R_AID } from './modem-session.ts';
import { modemRig, type ModemRig } from '../modem/testing/modem-rig.ts';
import { createEuicc } from '../euicc/euicc.ts';
import { Es10Client } from '../lpa/es10.ts';

const OPEN = '0070000001';
const SELECT1 = `01A4040010${ISD_R_AID}`;
const GETEID1 = '81E2910006BF3E035C015A';
const FCI = `6F128410${ISD_R_AID}9000`;
const KEY = hexToBytes('000102030405060708090A0B0C0D0E0F');

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Setup {
  rig: ModemRig;
  bridge: Bridge;
  trace: BridgeTraceEvent[];
  log: string[];
}

async function setup(opts: Partial<BridgeOptions> = {}, personality = 'quectel-ec25j'): Promise<Setup> {
  const rig = modemRig(personality);
  cleanups.push(() => rig.close());
  const trace: BridgeTraceEvent[] = [];
  const log: string[] = [];
  const bridge = await startBridge({
    serial: { path: rig.path, baudRate: 115200, binding: rig.binding },
    listen: opts.connect ? undefined : { host: '127.0.0.1', port: 0 },
    at: { probeTimeoutMs: 200 },
    ...opts,
    onTrace: (e) => trace.push(e),
    log: (l) => log.push(l),
  });
  cleanups.push(() => bridge.close());
  return { rig, bridge, trace, log };
}

async function reader(s: Setup): Promise<VpcdReaderTransport> {
  const t = await connectVpcdReader('127.0.0.1', s.bridge.address!.port, { commandTimeoutMs: 5000 });
  cleanups.push(() => t.close());
  return t;
}

const tx = async (t: VpcdReaderTransport, hex: string): Promise<string> => toUpperHex(await t.transmit(hexToBytes(hex)));

function waitFor(trace: BridgeTraceEvent[], pred: (e: BridgeTraceEvent) => boolean, ms = 3000): Promise<BridgeTraceEvent> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const tick = (): void => {
      const hit = trace.find(pred);
      if (hit) return resolve(hit);
      if (Date.now() - t0 > ms) return reject(new Error('event did not come'));
      setTimeout(tick, 5);
    };
    tick();
  });
}

describe('listen mode', () => {
  it('serves ATR, APDUs and reset; reset closes the LPA channels on the modem', async () => {
    const s = await setup();
    expect(s.bridge.report.detection.mode).toBe('ccho');
    const lpa = await reader(s);
    await lpa.powerOn();
    expect(toUpperHex(await lpa.getAtr())).toBe(toUpperHex(buildAtr()));
    expect(await tx(lpa, OPEN)).toBe('019000');
    expect(await tx(lpa, SELECT1)).toBe(FCI);
    expect(await tx(lpa, GETEID1)).toBe('BF3E035C015A9000');
    expect(toUpperHex(await lpa.reset())).toBe(toUpperHex(buildAtr()));
    expect(s.rig.lines().at(-1)).toBe('AT+CCHC=1');
    expect(s.rig.modem.state().sessions).toEqual([]);
    expect(await tx(lpa, GETEID1)).toBe('6881');
    const apdus = s.trace.filter((e) => e.type === 'apdu');
    expect(apdus.map((e) => (e as { capdu: string }).capdu)).toEqual([OPEN, SELECT1, GETEID1, GETEID1]);
    expect(apdus.map((e) => (e as { sw: string }).sw)).toEqual(['9000', '9000', '9000', '6881']);
    const parsed = s.log.map((l) => JSON.parse(l) as { type: string; ts: string });
    expect(parsed.some((e) => e.type === 'at-tx')).toBe(true);
    expect(parsed.every((e) => typeof e.ts === 'string')).toBe(true);
  });

  it('an LPA that disconnects gets its channels closed', async () => {
    const s = await setup();
    const lpa = await reader(s);
    await tx(lpa, OPEN);
    await tx(lpa, SELECT1);
    await lpa.close();
    await waitFor(s.trace, (e) => e.type === 'lpa' && e.event === 'disconnected');
    expect(s.rig.lines().at(-1)).toBe('AT+CCHC=1');
  });

  it('refuses a second LPA while one is active (default) and keeps serving the first', async () => {
    const s = await setup();
    const a = await reader(s);
    await tx(a, OPEN);
    const b = await reader(s);
    await expect(b.transmit(hexToBytes(OPEN))).rejects.toBeInstanceOf(VpcdTransportError);
    expect(await tx(a, SELECT1)).toBe(FCI);
    const refused = await waitFor(s.trace, (e) => e.type === 'lpa' && e.event === 'refused');
    expect((refused as { detail: string }).detail).toContain('APDUs of two LPAs must not interleave');
  });

  it('queues a second LPA until the first leaves (its channels closed first)', async () => {
    const s = await setup({ secondLpa: 'queue' });
    const a = await reader(s);
    await tx(a, OPEN);
    await tx(a, SELECT1);
    const b = await reader(s);
    const bOpen = tx(b, OPEN);
    await waitFor(s.trace, (e) => e.type === 'lpa' && e.event === 'queued');
    let answered = false;
    void bOpen.then(() => (answered = true));
    await new Promise((r) => setTimeout(r, 100));
    expect(answered).toBe(false);
    await a.close();
    expect(await bOpen).toBe('019000');
    const lines = s.rig.lines();
    expect(lines.at(-1)).toBe('AT+CCHC=1');
    expect(await tx(b, SELECT1)).toBe(FCI);
  });

  it('cannot start on a serial port that does not exist, or on a port in use', async () => {
    const rig1 = modemRig('seiko');
    cleanups.push(() => rig1.close());
    await expect(startBridge({ serial: { path: '/dev/ttyDOESNOTEXIST', baudRate: 115200, binding: rig1.binding }, listen: { host: '127.0.0.1', port: 0 } })).rejects.toBeInstanceOf(BridgeStartError);
    const s = await setup();
    const rig2 = modemRig('seiko');
    cleanups.push(() => rig2.close());
    const err = await startBridge({ serial: { path: rig2.path, baudRate: 115200, binding: rig2.binding }, listen: { host: '127.0.0.1', port: s.bridge.address!.port } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BridgeStartError);
    expect((err as Error).message).toContain(`cannot listen on 127.0.0.1:${s.bridge.address!.port}`);
  });
});

describe('serial port lifecycle', () => {
  it('reopens the serial path when the port closes (USB modem re-enumerating); the LPA channel is lost', async () => {
    const s = await setup();
    const lpa = await reader(s);
    await tx(lpa, OPEN);
    await tx(lpa, SELECT1);
    const old = s.bridge.at.currentPort as unknown as { close(cb: (err: Error | null) => void): void };
    await new Promise<void>((r) => old.close(() => r()));
    await waitFor(s.trace, (e) => e.type === 'at-reboot' && e.reason === 'port-closed');
    expect(await tx(lpa, GETEID1)).toBe('6881');
    expect(await tx(lpa, SELECT1)).toBe(FCI);
    expect(await tx(lpa, GETEID1)).toBe('BF3E035C015A9000');
    expect(s.bridge.at.currentPort).not.toBe(old);
    expect(s.trace.some((e) => e.type === 'at-note' && e.text === 'serial port reopened (attempt 1)')).toBe(true);
  });
});

describe('connect-out mode', () => {
  it('connects to a listening vpcd and reconnects with backoff after the link drops', async () => {
    const listener = await VpcdReaderListener.listen('127.0.0.1', 0, { commandTimeoutMs: 5000 });
    cleanups.push(() => listener.close());
    const s = await setup({ connect: { host: '127.0.0.1', port: listener.port, initialBackoffMs: 20, maxBackoffMs: 100 } });
    const first = await listener.accept(3000);
    expect(await tx(first, OPEN)).toBe('019000');
    expect(await tx(first, SELECT1)).toBe(FCI);
    await first.close();
    const second = await listener.accept(3000);
    expect(await tx(second, GETEID1)).toBe('6881'); // channels were closed with the first link
    expect(s.rig.lines()).toContain('AT+CCHC=1');
    expect(s.trace.filter((e) => e.type === 'lpa' && e.event === 'connected')).toHaveLength(2);
  });

  it('keeps retrying while nobody listens', async () => {
    const listener = await VpcdReaderListener.listen('127.0.0.1', 0);
    const port = listener.port;
    await listener.close();
    const s = await setup({ connect: { host: '127.0.0.1', port, initialBackoffMs: 10, maxBackoffMs: 40 } });
    await waitFor(s.trace, () => s.trace.filter((e) => e.type === 'lpa' && e.event === 'connect-failed').length >= 3);
    const again = await VpcdReaderListener.listen('127.0.0.1', port);
    cleanups.push(() => again.close());
    const t = await again.accept(3000);
    expect(await tx(t, OPEN)).toBe('019000');
  });
});

describe('TLS-PSK', () => {
  it('an LPA with the key exchanges APDUs', async () => {
    const s = await setup({ psk: { identity: 'lpa-1', key: KEY } });
    const socket = await connectPsk('127.0.0.1', s.bridge.address!.port, 'lpa-1', KEY);
    const lpa = new VpcdReaderTransport(socket, { commandTimeoutMs: 5000 });
    cleanups.push(() => lpa.close());
    expect(await tx(lpa, OPEN)).toBe('019000');
    expect(await tx(lpa, SELECT1)).toBe(FCI);
    expect(s.log.join('\n')).not.toContain('000102030405060708090A0B0C0D0E0F');
    expect(s.log.join('\n').toLowerCase()).not.toContain('000102030405060708090a0b0c0d0e0f');
  });

  it('a wrong key, a wrong identity or no TLS at all gets not a single APDU through', async () => {
    const s = await setup({ psk: { identity: 'lpa-1', key: KEY } });
    const port = s.bridge.address!.port;
    const before = s.rig.lines().length;
    await expect(connectPsk('127.0.0.1', port, 'lpa-1', hexToBytes('FF'.repeat(16)))).rejects.toThrow();
    await expect(connectPsk('127.0.0.1', port, 'intruder', KEY)).rejects.toThrow();
    const plain = await connectVpcdReader('127.0.0.1', port, { commandTimeoutMs: 2000 });
    cleanups.push(() => plain.close());
    await expect(plain.transmit(hexToBytes(SELECT1))).rejects.toBeInstanceOf(VpcdTransportError);
    expect(s.rig.lines().length).toBe(before);
    expect(s.trace.filter((e) => e.type === 'apdu')).toEqual([]);
    const failures = s.trace.filter((e) => e.type === 'lpa' && e.event === 'tls-failed');
    expect(failures.length).toBeGreaterThanOrEqual(3);
    expect(failures.some((e) => (e as { detail?: string }).detail === "unknown PSK identity 'intruder'")).toBe(true);
  });

  it('connect-out with PSK', async () => {
    const { createServer } = await import('node:tls');
    const accepted: VpcdReaderTransport[] = [];
    const server = createServer(
      { ciphers: 'PSK-AES128-GCM-SHA256', minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', pskCallback: (_s, id) => (id === 'dev' ? Buffer.from(KEY) : null) },
      (sock) => accepted.push(new VpcdReaderTransport(sock, { commandTimeoutMs: 5000 })),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    cleanups.push(async () => {
      for (const t of accepted) await t.close();
      await new Promise<void>((r) => server.close(() => r()));
    });
    const port = (server.address() as { port: number }).port;
    await setup({ connect: { host: '127.0.0.1', port, initialBackoffMs: 20 }, psk: { identity: 'dev', key: KEY } });
    const t0 = Date.now();
    while (!accepted.length && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 10));
    expect(await tx(accepted[0]!, OPEN)).toBe('019000');
  });
});

describe('with the software eUICC behind the modem', () => {
  it('ES10 GetEID through vpcd -> bridge -> EC25 (spurious ERRORs, 115200 baud) -> eUICC', async () => {
    const euicc = await createEuicc();
    cleanups.push(() => euicc.close());
    const rig = modemRig('quectel-ec25j', { card: euicc, baud: 115200 });
    cleanups.push(() => rig.close());
    rig.modem.faults.setSpuriousErrorRate(0.5, 'storeData');
    const trace: BridgeTraceEvent[] = [];
    const bridge = await startBridge({ serial: { path: rig.path, baudRate: 115200, binding: rig.binding }, listen: { host: '127.0.0.1', port: 0 }, onTrace: (e) => trace.push(e) });
    cleanups.push(() => bridge.close());
    const lpa = await connectVpcdReader('127.0.0.1', bridge.address!.port, { commandTimeoutMs: 10_000 });
    cleanups.push(() => lpa.close());
    const es10 = await Es10Client.open(lpa);
    expect(await es10.getEid()).toBe(euicc.eid);
    expect(await es10.getEid()).toBe(euicc.eid);
    await es10.close();
    expect(rig.lines().filter((l) => l.startsWith('AT+CGLA')).length).toBeGreaterThan(3);
    expect(trace.filter((e) => e.type === 'apdu').every((e) => (e as { sw: string }).sw === '9000')).toBe(true);
    expect(trace.some((e) => e.type === 'at-note' && /^AT\+CGLA=.*: ERROR; retry 1\/2/.test(e.text))).toBe(true);
  });
});
