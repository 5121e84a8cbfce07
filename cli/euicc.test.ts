import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server, type Socket } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeFrame, FrameDecoder } from '../sim/vpcd/framing.ts';
import { hexToBytes, toHex } from '../sim/bytes.ts';
import { euiccCommand, parseEuiccArgs, parseHostPort } from './euicc.ts';
import { OperationError, UsageError } from './errors.ts';
import type { Euicc } from '../sim/euicc/euicc.ts';

describe('bridgelab euicc: arguments', () => {
  it('parses the options', () => {
    expect(parseEuiccArgs(['--vpcd', '127.0.0.1:35963'])).toEqual({ host: '127.0.0.1', port: 35963, identity: 'both', svn: '2.2.2', reconnectMs: 1000 });
    expect(parseEuiccArgs(['--vpcd', 'localhost', '--state', 's.json', '--identity', 'nist', '--svn', '2.5.0', '--reconnect-ms', '50'])).toEqual({
      host: 'localhost',
      port: 35963,
      statePath: 's.json',
      identity: 'nist',
      svn: '2.5.0',
      reconnectMs: 50,
    });
    expect(parseEuiccArgs(['--vpcd', '[::1]:4000', '--identity', 'fresh', '--eid', '89049032123451234512345678901235'])).toMatchObject({
      host: '::1',
      port: 4000,
      identity: { fresh: { eid: '89049032123451234512345678901235' } },
    });
    expect(parseEuiccArgs(['--help'])).toBeUndefined();
    expect(parseHostPort('pcscd.local:1')).toEqual({ host: 'pcscd.local', port: 1 });
  });

  it.each([
    [[], /--vpcd is required/],
    [['--vpcd', 'h:0'], /port 0 out of range/],
    [['--vpcd', 'h:99999'], /out of range/],
    [['--vpcd', 'a:b:c'], /not host:port/],
    [['--vpcd', 'h', '--svn', '3.0.0'], /--svn must be one of/],
    [['--vpcd', 'h', '--identity', 'rsa'], /--identity must be/],
    [['--vpcd', 'h', '--eid', '89049032123451234512345678901235'], /--eid needs --identity fresh/],
    [['--vpcd', 'h', '--identity', 'fresh', '--eid', '123'], /not a valid EID/],
    [['--vpcd', 'h', '--reconnect-ms', 'soon'], /--reconnect-ms/],
    [['--vpcd', 'h', '--bogus'], /Unknown option/],
    [['--vpcd', 'h', 'extra'], /positional/],
  ])('%j is a usage error', async (args, message) => {
    await expect(euiccCommand(args, { log: () => {} })).rejects.toSatisfy((e: unknown) => e instanceof UsageError && message.test(e.message));
  });

  it('an unusable state file is an operation failure (exit 1) naming the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bridgelab-cli-euicc-'));
    try {
      writeFileSync(join(dir, 's.json'), 'not json');
      await expect(euiccCommand(['--vpcd', '127.0.0.1:1', '--state', join(dir, 's.json')], { log: () => {} })).rejects.toSatisfy(
        (e: unknown) => e instanceof OperationError && e.message.startsWith(`euicc: eUICC state file ${join(dir, 's.json')}: not valid JSON`),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** A stand-in for pcscd's vpcd: listens, talks the vpcd framing to the card that connects. */
class FakeVpcd {
  server: Server | undefined;
  private waiting: ((s: Socket) => void)[] = [];
  private sockets: Socket[] = [];
  connections = 0;

  async listen(port = 0): Promise<number> {
    this.server = createServer((s) => {
      this.connections++;
      this.sockets.push(s);
      const w = this.waiting.shift();
      if (w) w(s);
    });
    await new Promise<void>((res) => this.server!.listen(port, '127.0.0.1', () => res()));
    return (this.server.address() as { port: number }).port;
  }

  next(): Promise<Socket> {
    const ready = this.sockets.find((s) => !s.destroyed && !(s as Socket & { used?: boolean }).used);
    if (ready) {
      (ready as Socket & { used?: boolean }).used = true;
      return Promise.resolve(ready);
    }
    return new Promise((res) =>
      this.waiting.push((s) => {
        (s as Socket & { used?: boolean }).used = true;
        res(s);
      }),
    );
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.sockets = [];
    await new Promise<void>((res) => (this.server ? this.server.close(() => res()) : res()));
    this.server = undefined;
  }
}

/** Send one vpcd payload, wait for one answer (control 00/01/02 have none). */
function exchange(s: Socket, payload: Uint8Array): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const dec = new FrameDecoder();
    const onData = (chunk: Buffer) => {
      const frames = dec.push(chunk);
      if (frames.length) {
        s.off('data', onData);
        resolve(frames[0]!);
      }
    };
    s.on('data', onData);
    s.once('error', reject);
    s.write(encodeFrame(payload));
  });
}

describe('bridgelab euicc: vpcd connection', () => {
  let vpcd: FakeVpcd;
  afterEach(async () => {
    await vpcd?.close();
  });

  it('serves ATR and APDUs, reconnects when vpcd goes away, stops on abort', async () => {
    vpcd = new FakeVpcd();
    const port = await vpcd.listen();
    const abort = new AbortController();
    const lines: string[] = [];
    let euicc: Euicc | undefined;
    const run = euiccCommand(['--vpcd', `127.0.0.1:${port}`, '--reconnect-ms', '50'], { log: (l) => lines.push(l), signal: abort.signal, onReady: (e) => (euicc = e) });

    const s1 = await vpcd.next();
    const atr = await exchange(s1, Uint8Array.of(0x04));
    expect(toHex(atr)).toBe(toHex(euicc!.atr()));
    s1.write(encodeFrame(Uint8Array.of(0x01)));
    expect(toHex(await exchange(s1, hexToBytes('00A4040010A0000005591010FFFFFFFF890000010000'))).slice(-4)).toBe('9000');
    expect(toHex(await exchange(s1, hexToBytes('80E2910006BF3E035C015A00')))).toBe('bf3e125a10890490321234512345123456789012359000');

    // vpcd drops the connection: the card connects again
    s1.destroy();
    const s2 = await vpcd.next();
    expect(toHex(await exchange(s2, Uint8Array.of(0x04)))).toBe(toHex(atr));

    // vpcd restarts (nobody listening for a while)
    await vpcd.close();
    await new Promise((res) => setTimeout(res, 150));
    await vpcd.listen(port);
    const s3 = await vpcd.next();
    s3.write(encodeFrame(Uint8Array.of(0x01)));
    expect(toHex(await exchange(s3, hexToBytes('00A4040010A0000005591010FFFFFFFF890000010000'))).slice(-4)).toBe('9000');

    abort.abort();
    expect(await run).toBe(0);
    expect(lines[0]).toMatch(/^EID 89049032123451234512345678901235, SVN 2.2.2, P-256 \+ brainpoolP256r1, state \(memory\), 0 profile\(s\)$/);
    expect(lines.filter((l) => l.startsWith('connected to vpcd')).length).toBe(3);
    expect(lines.some((l) => l.startsWith('waiting for vpcd'))).toBe(true);
    expect(lines.join('\n')).not.toMatch(/[0-9a-f]{64}/i);
  });
});
