// Serial endpoints for the virtual modem (node-serialport bindings; socat PTYs):
// (a) in-process: @serialport/binding-mock cannot answer writes, so the port binding is
//     wrapped: bytes the TE writes go to the modem, the modem's bytes are emitted to the
//     TE's SerialPort with emitData;
// (b) a real PTY from socat (`socat -d -d pty,raw,echo=0[,link=L] STDIO`): any external
//     program (the bridge under test) opens it as a tty; socat relays it to its stdin and
//     stdout, which the engine reads and writes. The PTY can vanish and come back (a USB
//     re-enumeration: the tty hangs up, the link disappears, a new PTY appears at the same
//     link). UART pacing and faults live in modem.ts.
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, lstatSync, readlinkSync, unlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, join } from 'node:path';
import type * as BindingMock from '@serialport/binding-mock' with { 'resolution-mode': 'require' };
import type { OpenOptions, PortInfo } from '@serialport/bindings-interface' with { 'resolution-mode': 'require' };
import { SerialPort, SerialPortMock, type SerialPortMockOpenOptions } from 'serialport';
import { VirtualModem, type VirtualModemOptions } from './modem.ts';
import { ModemEndpointError } from './types.ts';

// ---- (a) mock binding ------------------------------------------------------------------

// serialport is CommonJS and requires the CommonJS build of binding-mock; load that same
// copy so the port registry (createPort) is the one SerialPortMock's default binding sees.
const { MockBinding, MockPortBinding } = createRequire(import.meta.url)('@serialport/binding-mock') as typeof BindingMock;
type MockBindingInterface = BindingMock.MockBindingInterface;
type MockPortInternal = BindingMock.MockPortInternal;
type CreatePortOptions = BindingMock.CreatePortOptions;
type MockPortBindingT = BindingMock.MockPortBinding;

/** A MockPortBinding whose writes reach the virtual modem. */
export class ModemMockPortBinding extends MockPortBinding {
  constructor(
    port: MockPortInternal,
    openOptions: Required<OpenOptions>,
    private readonly modem: VirtualModem,
  ) {
    super(port, openOptions);
  }

  override async write(buffer: Buffer): Promise<void> {
    await super.write(buffer);
    this.modem.receive(Uint8Array.from(buffer));
  }
}

/**
 * A MockBinding-compatible binding whose ports talk to `modem`: pass it as `binding` to a
 * SerialPortStream (or SerialPortMock) opened on a path created with createPort.
 */
export function createModemMockBinding(modem: VirtualModem): MockBindingInterface {
  return {
    list: (): Promise<PortInfo[]> => MockBinding.list(),
    reset: (): void => MockBinding.reset(),
    createPort: (path: string, opt?: CreatePortOptions): void => MockBinding.createPort(path, opt),
    async open(options: OpenOptions): Promise<MockPortBindingT> {
      const base = await MockBinding.open(options);
      const port = new ModemMockPortBinding(base.port, base.openOptions, modem);
      modem.attach((bytes) => {
        if (port.isOpen) port.emitData(Buffer.from(bytes));
      });
      return port;
    },
  };
}

export interface MockModemPortOptions extends Omit<VirtualModemOptions, 'transport'> {
  transport: VirtualModemOptions['transport'];
  /** mock device path (default /dev/ttyFAKE<n>) */
  path?: string;
  /** baud rate the TE's SerialPort is opened with (default: the modem's line rate) */
  baudRate?: number;
}

export interface MockModemPort {
  /** the TE's port, already open: write AT commands, read responses */
  port: SerialPortMock;
  modem: VirtualModem;
  binding: MockBindingInterface;
  path: string;
  /** close the port and the modem (not the transport) */
  close(): Promise<void>;
}

let mockCounter = 0;

/** An opened SerialPort (mock binding) with a virtual modem on the other side. */
export async function createMockModemPort(opts: MockModemPortOptions): Promise<MockModemPort> {
  const modem = new VirtualModem(opts);
  const path = opts.path ?? `/dev/ttyFAKE${mockCounter++}`;
  const binding = createModemMockBinding(modem);
  binding.createPort(path, { echo: false, record: false });
  const baudRate = opts.baudRate ?? modem.baud ?? 115200;
  // SerialPortMock spreads its options over its default binding, so `binding` here wins.
  const portOptions: SerialPortMockOpenOptions & { binding: MockBindingInterface } = { path, baudRate, autoOpen: false, binding };
  const port = new SerialPortMock(portOptions);
  try {
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  } catch (err) {
    await modem.close();
    throw new ModemEndpointError(`cannot open mock port ${path}: ${(err as Error).message}`);
  }
  if (!(port.port instanceof ModemMockPortBinding)) {
    await modem.close();
    throw new ModemEndpointError('SerialPortMock did not use the modem binding (serialport changed how it takes options)');
  }
  return {
    port,
    modem,
    binding,
    path,
    async close(): Promise<void> {
      await modem.close();
      if (port.isOpen) await new Promise<void>((resolve, reject) => port.close((err) => (err ? reject(err) : resolve())));
    },
  };
}

// ---- (b) PTY through socat ---------------------------------------------------------------

/** Path of the socat executable on PATH, or null. */
export function findSocat(): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, 'socat');
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && (err as NodeJS.ErrnoException).code !== 'EACCES' && (err as NodeJS.ErrnoException).code !== 'ENOTDIR') throw err;
    }
  }
  return null;
}

export interface PtyModemOptions extends Omit<VirtualModemOptions, 'transport'> {
  transport: VirtualModemOptions['transport'];
  /** stable symlink to the external end (socat's link=); removed on close; the device comes back at it after a re-enumeration */
  link?: string;
  /** ms to wait for socat to set the PTYs up (default 5000) */
  startTimeoutMs?: number;
  socatPath?: string;
}

export type DeviceEvent = { kind: 'gone'; path: string } | { kind: 'back'; path: string; ptsPath: string };

export interface PtyModem {
  /** what the bridge under test opens: the link when one was asked for, else the current /dev/pts path */
  readonly path: string;
  /** /dev/pts/N of the external end (a new one after each re-enumeration) */
  readonly ptsPath: string;
  modem: VirtualModem;
  /** pid of the current socat */
  readonly socatPid: number;
  /** resolves with socat's exit code when it exits for another reason than a re-enumeration, or on close */
  exited: Promise<number | null>;
  /** last lines socat wrote to stderr (diagnostics) */
  socatLog(): string[];
  /** the device vanishes now (socat stopped, link removed) and a new PTY appears after ms, at the link when there is one */
  vanish(ms: number): Promise<void>;
  /** be told when the device goes and comes back; returns the unsubscribe function */
  onDeviceEvent(listener: (event: DeviceEvent) => void): () => void;
  /** close the engine's end, stop socat (link removed), close the modem (not the transport) */
  close(): Promise<void>;
}

const SOCAT_UNSAFE = /[,!:"'\s\\{}[\]]/;

interface SocatPty {
  child: ChildProcess;
  external: string;
  exited: Promise<number | null>;
}

async function spawnSocatPty(socat: string, link: string | undefined, timeoutMs: number, log: string[]): Promise<SocatPty> {
  const first = `pty,raw,echo=0${link ? `,link=${link}` : ''}`;
  const child = spawn(socat, ['-d', '-d', first, 'STDIO'], { stdio: ['pipe', 'pipe', 'pipe'] });
  killOnExit(child);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const external = await waitForPty(child, log, timeoutMs, exited);
  return { child, external, exited };
}

/**
 * Start socat with one PTY (the end the bridge opens) relayed to socat's stdin/stdout, and
 * attach a virtual modem to those pipes. Pipes instead of a second PTY read through
 * serialport's poller: one hop less per AT exchange. A re-enumeration (vanish) stops
 * socat, which closes the PTY under the bridge and removes the link, and starts a new
 * one later: the bridge sees its tty hang up and must reopen the path.
 */
export async function startPtyModem(opts: PtyModemOptions): Promise<PtyModem> {
  const socat = opts.socatPath ?? findSocat();
  if (!socat) throw new ModemEndpointError("'socat' is not installed (Debian package socat): it provides the PTY for the fake modem");
  if (opts.link !== undefined && SOCAT_UNSAFE.test(opts.link)) throw new ModemEndpointError(`link path '${opts.link}' has a character socat cannot take in an address`);
  const startTimeoutMs = opts.startTimeoutMs ?? 5000;
  const log: string[] = [];
  let current = await spawnSocatPty(socat, opts.link, startTimeoutMs, log);

  const modem = new VirtualModem(opts);
  let closed = false;
  let gone = false;
  let endedWith: ((code: number | null) => void) | undefined;
  const exited = new Promise<number | null>((resolve) => (endedWith = resolve));
  const listeners = new Set<(event: DeviceEvent) => void>();
  const emit = (event: DeviceEvent): void => {
    for (const l of [...listeners]) l(event);
  };
  const wire = (pty: SocatPty): void => {
    pty.child.stdout!.on('data', (chunk: Buffer) => modem.receive(Uint8Array.from(chunk)));
    pty.child.stdin!.on('error', (err: Error) => log.push(`engine pipe error: ${err.message}`));
    void pty.exited.then((code) => {
      if (pty !== current || gone) return;
      if (!closed) log.push(`socat exited unexpectedly (code ${code})`);
      endedWith?.(code);
    });
  };
  wire(current);
  modem.attach((bytes) => {
    const stdin = current.child.stdin;
    if (!gone && stdin && !stdin.destroyed && stdin.writable) stdin.write(Buffer.from(bytes));
  });

  let goneTimer: { timer: NodeJS.Timeout; wake: () => void } | undefined;
  const vanish = async (ms: number): Promise<void> => {
    if (closed || gone) return;
    gone = true;
    const old = current;
    emit({ kind: 'gone', path: opts.link ?? old.external });
    await stopChild(old.child, old.exited);
    if (opts.link) removeStaleLink(opts.link);
    await new Promise<void>((resolve) => {
      goneTimer = { timer: setTimeout(resolve, Math.max(0, ms)), wake: resolve };
    });
    goneTimer = undefined;
    if (closed) return;
    const next = await spawnSocatPty(socat, opts.link, startTimeoutMs, log);
    if (closed) {
      await stopChild(next.child, next.exited);
      if (opts.link) removeStaleLink(opts.link);
      return;
    }
    current = next;
    wire(current);
    gone = false;
    emit({ kind: 'back', path: opts.link ?? current.external, ptsPath: current.external });
  };
  modem.setDeviceControl({ vanish });

  return {
    get path(): string {
      return opts.link ?? current.external;
    },
    get ptsPath(): string {
      return current.external;
    },
    modem,
    get socatPid(): number {
      return current.child.pid ?? -1;
    },
    exited,
    socatLog: () => [...log],
    vanish,
    onDeviceEvent(listener): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      if (goneTimer) {
        clearTimeout(goneTimer.timer);
        goneTimer.wake();
      }
      modem.setDeviceControl(undefined);
      await modem.close();
      await stopChild(current.child, current.exited);
      if (opts.link) removeStaleLink(opts.link);
      endedWith?.(current.child.exitCode);
    },
  };
}

const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

/** socat must not outlive this process even when close() is never called (a crashed test run). */
function killOnExit(child: ChildProcess): void {
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
      if (err) {
        void stopChild(child, exited).then(() => reject(err));
      } else resolve(value as string);
    };
    const timer = setTimeout(() => finish(new ModemEndpointError(`socat did not set up the PTY within ${timeoutMs} ms: ${log.join(' | ')}`)), timeoutMs);
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
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
    child.once('error', (err) => finish(new ModemEndpointError(`cannot run socat: ${err.message}`)));
    void exited.then((code) => finish(new ModemEndpointError(`socat exited (code ${code}) before the PTY was ready: ${[...log, pending].join(' | ')}`)));
  });
}

async function stopChild(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const killTimer = setTimeout(() => child.kill('SIGKILL'), 2000);
  await exited;
  clearTimeout(killTimer);
}

/** socat removes its link on a clean exit; after a SIGKILL it may remain: remove it if it still points at a pts. */
function removeStaleLink(link: string): void {
  try {
    if (lstatSync(link).isSymbolicLink() && readlinkSync(link).startsWith('/dev/pts/')) unlinkSync(link);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
