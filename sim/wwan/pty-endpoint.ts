// A byte-stream endpoint on a pseudo-terminal for fake modems that are not AT modems
// (QMI QMUX, MBIM control messages): socat (`socat -d -d pty,raw,echo=0[,link=L] STDIO`,
// the PTY approach of sim/modem/serial.ts, whose socat lookup it reuses) creates the PTY
// that a real client opens (qmicli --device-open-qmi, mbimcli, a bridge back-end) and
// relays it to its stdin/stdout, which the fake modem reads and writes. A PTY carries a
// byte stream: a message may arrive split or joined, so the modems frame by the length
// fields of their protocol, as libqmi and libmbim do on their side.
import { type ChildProcess, spawn } from 'node:child_process';
import { lstatSync, readlinkSync, unlinkSync } from 'node:fs';
import { findSocat } from '../modem/serial.ts';

/** The PTY could not be set up, or broke. */
export class CharDeviceError extends Error {
  override readonly name = 'CharDeviceError';
}

export interface PtyEndpointOptions {
  /** bytes the client wrote to the PTY */
  onData: (bytes: Uint8Array) => void;
  /** stable symlink to the PTY (socat's link=); removed on close */
  link?: string;
  /** ms to wait for socat to set the PTY up (default 5000) */
  startTimeoutMs?: number;
  socatPath?: string;
}

export interface PtyEndpoint {
  /** what the client opens: the link when one was asked for, else the /dev/pts path */
  readonly path: string;
  readonly ptsPath: string;
  readonly socatPid: number;
  /** resolves with socat's exit code when it exits, for whatever reason */
  readonly exited: Promise<number | null>;
  /** send bytes to the client */
  write(bytes: Uint8Array): void;
  /** last lines socat wrote to stderr (diagnostics) */
  socatLog(): string[];
  /** stop socat (link removed) */
  close(): Promise<void>;
}

/** A modem that speaks bytes: what the QMI and MBIM fake modems have in common. */
export interface ByteModem {
  /** bytes from the client, in any split */
  receive(bytes: Uint8Array): void;
  /** where the modem's bytes go */
  attach(sink: (bytes: Uint8Array) => void): void;
  close(): Promise<void>;
}

export interface PtyModem<M extends ByteModem> {
  readonly modem: M;
  readonly endpoint: PtyEndpoint;
  /** what the client opens */
  readonly path: string;
  /** stop socat, then the modem */
  close(): Promise<void>;
}

/** Serve `modem` on a new PTY (link optional). */
export async function servePty<M extends ByteModem>(modem: M, opts: Omit<PtyEndpointOptions, 'onData'> = {}): Promise<PtyModem<M>> {
  const endpoint = await startPtyEndpoint({ ...opts, onData: (bytes) => modem.receive(bytes) });
  modem.attach((bytes) => endpoint.write(bytes));
  return {
    modem,
    endpoint,
    path: endpoint.path,
    async close(): Promise<void> {
      await endpoint.close();
      await modem.close();
    },
  };
}

const SOCAT_UNSAFE = /[,!:"'\s\\{}[\]]/;

export async function startPtyEndpoint(opts: PtyEndpointOptions): Promise<PtyEndpoint> {
  const socat = opts.socatPath ?? findSocat();
  if (!socat) throw new CharDeviceError("'socat' is not installed (Debian package socat): it provides the PTY of the fake modem");
  if (opts.link !== undefined && SOCAT_UNSAFE.test(opts.link)) throw new CharDeviceError(`link path '${opts.link}' has a character socat cannot take in an address`);
  const first = `pty,raw,echo=0${opts.link ? `,link=${opts.link}` : ''}`;
  const child = spawn(socat, ['-d', '-d', first, 'STDIO'], { stdio: ['pipe', 'pipe', 'pipe'] });
  stopOnProcessExit(child);
  const log: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ptsPath = await waitForPty(child, log, opts.startTimeoutMs ?? 5000, exited);
  const toSocat = child.stdin!;
  toSocat.on('error', (err: Error) => log.push(`pipe to socat: ${err.message}`));
  child.stdout!.on('data', (chunk: Buffer) => opts.onData(Uint8Array.from(chunk)));
  let closed = false;
  void exited.then((code) => {
    if (!closed) log.push(`socat exited unexpectedly (code ${code})`);
  });
  return {
    path: opts.link ?? ptsPath,
    ptsPath,
    socatPid: child.pid ?? -1,
    exited,
    write(bytes: Uint8Array): void {
      if (!toSocat.destroyed && toSocat.writable) toSocat.write(Buffer.from(bytes));
    },
    socatLog: () => [...log],
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await stopChild(child, exited);
      if (opts.link) removeStaleLink(opts.link);
    },
  };
}

const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

/** socat must not outlive this process when close() is never called (a crashed test run). */
function stopOnProcessExit(child: ChildProcess): void {
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const c of liveChildren) c.kill('SIGTERM');
  });
}

function waitForPty(child: ChildProcess, log: string[], timeoutMs: number, exited: Promise<number | null>): Promise<string> {
  return new Promise((resolve, reject) => {
    let pty: string | undefined;
    let pending = '';
    let settled = false;
    const finish = (err: Error | null, value?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) void stopChild(child, exited).then(() => reject(err));
      else resolve(value as string);
    };
    const timer = setTimeout(() => finish(new CharDeviceError(`socat did not set up the PTY within ${timeoutMs} ms: ${log.join(' | ')}`)), timeoutMs);
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        log.push(line);
        if (log.length > 200) log.shift();
        const m = /PTY is (\/dev\/pts\/\d+)/.exec(line);
        if (m) pty = m[1] as string;
        if (/starting data transfer loop/.test(line) && pty) finish(null, pty);
      }
    });
    child.once('error', (err) => finish(new CharDeviceError(`cannot run socat: ${err.message}`)));
    void exited.then((code) => finish(new CharDeviceError(`socat exited (code ${code}) before the PTY was ready: ${[...log, pending].join(' | ')}`)));
  });
}

async function stopChild(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const killTimer = setTimeout(() => child.kill('SIGKILL'), 2000);
  await exited;
  clearTimeout(killTimer);
}

/** socat removes its link on a clean exit; after a SIGKILL it may remain. */
function removeStaleLink(link: string): void {
  try {
    if (lstatSync(link).isSymbolicLink() && readlinkSync(link).startsWith('/dev/pts/')) unlinkSync(link);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
