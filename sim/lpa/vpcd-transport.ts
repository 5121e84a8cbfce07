// Reader side of the vsmartcard vpcd protocol (vsmartcard's vpcd.c; the role pcscd's
// vpcd plays) as an ApduTransport for the test LPA: the LPA drives a card behind an LPA
// Bridge through it (SGP.22 5.7 ES10 APDUs). Both directions of connection: connect to a
// bridge that listens, or listen for a bridge that connects out. Control bytes 00/01/02/04
// (power off/on, reset, get ATR); a C-APDU frame is answered by exactly one R-APDU frame.
// Commands are queued (one at a time) with a per-command timeout; a lost link fails them.
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { ApduTransport } from '../apdu/apdu.ts';
import { encodeFrame, FrameDecoder, VPCD_DEFAULT_PORT, VpcdControl, VpcdFrameError } from '../vpcd/framing.ts';
import { VpcdTransportError } from './errors.ts';

export { VPCD_DEFAULT_PORT };

export const DEFAULT_VPCD_COMMAND_TIMEOUT_MS = 30_000;

export interface VpcdReaderOptions {
  /** time allowed for each answer (R-APDU or ATR), default 30 s */
  readonly commandTimeoutMs?: number;
  /**
   * after a timeout: 'close' (default) drops the connection; 'discard-late' keeps it and
   * throws away the next frame, the late answer to the timed-out command
   */
  readonly afterTimeout?: 'close' | 'discard-late';
  /** time allowed to connect (connectVpcdReader), default 10 s */
  readonly connectTimeoutMs?: number;
  readonly trace?: VpcdReaderTrace;
}

export interface VpcdReaderTrace {
  onApdu?(capdu: Uint8Array, rapdu: Uint8Array): void;
  onControl?(control: keyof typeof VpcdControl, answer?: Uint8Array): void;
  /** a frame that answered nothing (received while no command was waiting) */
  onUnexpectedFrame?(payload: Uint8Array): void;
}

interface Waiter {
  resolve(payload: Uint8Array): void;
  reject(err: Error): void;
}

/** ApduTransport over one vpcd TCP connection (this side is the reader). */
export class VpcdReaderTransport implements ApduTransport {
  private readonly decoder = new FrameDecoder();
  private waiter: Waiter | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private failure: VpcdTransportError | undefined;
  private discard = 0;
  private readonly closedPromise: Promise<void>;
  /** frames received while no command was waiting (and not discarded) */
  unexpectedFrames = 0;

  private readonly closeHooks: (() => Promise<void>)[] = [];

  constructor(
    private readonly socket: Socket,
    private readonly options: VpcdReaderOptions = {},
  ) {
    socket.setNoDelay(true);
    this.closedPromise = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.fail(new VpcdTransportError('closed', `vpcd connection error: ${err.message}`, { cause: err })));
    socket.on('close', () => this.fail(new VpcdTransportError('closed', 'vpcd connection closed by the peer')));
  }

  /** remote end of the connection, "host:port" */
  get peer(): string {
    return `${this.socket.remoteAddress ?? '?'}:${this.socket.remotePort ?? '?'}`;
  }

  /** resolves when the TCP connection has closed */
  get closed(): Promise<void> {
    return this.closedPromise;
  }

  get isOpen(): boolean {
    return this.failure === undefined;
  }

  private onData(chunk: Buffer): void {
    let frames: Uint8Array[];
    try {
      frames = this.decoder.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    } catch (err) {
      this.fail(new VpcdTransportError('protocol', `vpcd framing error: ${(err as VpcdFrameError).message}`, { cause: err }));
      this.socket.destroy();
      return;
    }
    for (const f of frames) {
      if (this.discard > 0) {
        this.discard--;
        continue;
      }
      const w = this.waiter;
      if (!w) {
        this.unexpectedFrames++;
        this.options.trace?.onUnexpectedFrame?.(f);
        continue;
      }
      this.waiter = undefined;
      w.resolve(f);
    }
  }

  private fail(err: VpcdTransportError): void {
    if (this.failure) return;
    this.failure = err;
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(err);
  }

  /** Run `op` after the commands queued before it. */
  private enqueue<T>(op: () => Promise<T>): Promise<T> {
    const run = this.queue.then(op, op);
    this.queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private write(payload: Uint8Array): void {
    if (this.failure) throw this.failure;
    this.socket.write(encodeFrame(payload));
  }

  /** Send a frame and wait for exactly one frame back. */
  private request(payload: Uint8Array, what: string): Promise<Uint8Array> {
    if (this.failure) return Promise.reject(this.failure);
    const timeoutMs = this.options.commandTimeoutMs ?? DEFAULT_VPCD_COMMAND_TIMEOUT_MS;
    return new Promise<Uint8Array>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.waiter !== waiter) return;
        this.waiter = undefined;
        const err = new VpcdTransportError('timeout', `no answer to ${what} within ${timeoutMs} ms from ${this.peer}`);
        if ((this.options.afterTimeout ?? 'close') === 'discard-late') this.discard++;
        else {
          this.fail(new VpcdTransportError('closed', `vpcd connection dropped after a timeout (${what})`));
          this.socket.destroy();
        }
        reject(err);
      }, timeoutMs);
      const waiter: Waiter = {
        resolve: (p) => {
          clearTimeout(timer);
          resolve(p);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.waiter = waiter;
      try {
        this.write(payload);
      } catch (err) {
        this.waiter = undefined;
        waiter.reject(err as Error);
      }
    });
  }

  transmit(capdu: Uint8Array): Promise<Uint8Array> {
    if (capdu.length < 4) return Promise.reject(new RangeError(`a C-APDU needs at least 4 bytes, got ${capdu.length}`));
    return this.enqueue(async () => {
      const rapdu = await this.request(capdu, 'a C-APDU');
      if (rapdu.length < 2) throw new VpcdTransportError('protocol', `R-APDU of ${rapdu.length} byte(s) has no status word`);
      this.options.trace?.onApdu?.(capdu, rapdu);
      return rapdu;
    });
  }

  /** Power the card on (control 01; vpcd expects no answer). */
  powerOn(): Promise<void> {
    return this.enqueue(async () => {
      this.write(Uint8Array.of(VpcdControl.powerOn));
      this.options.trace?.onControl?.('powerOn');
    });
  }

  /** Power the card off (control 00; no answer). */
  powerOff(): Promise<void> {
    return this.enqueue(async () => {
      this.write(Uint8Array.of(VpcdControl.powerOff));
      this.options.trace?.onControl?.('powerOff');
    });
  }

  /** The ATR (control 04). */
  getAtr(): Promise<Uint8Array> {
    return this.enqueue(() => this.atr());
  }

  private async atr(): Promise<Uint8Array> {
    const atr = await this.request(Uint8Array.of(VpcdControl.getAtr), 'GET ATR');
    this.options.trace?.onControl?.('getAtr', atr);
    return atr;
  }

  /** Warm reset: control 02, then 04 for the ATR (as vpcd does after a reset). */
  reset(): Promise<Uint8Array> {
    return this.enqueue(async () => {
      this.write(Uint8Array.of(VpcdControl.reset));
      this.options.trace?.onControl?.('reset');
      return this.atr();
    });
  }

  /** Close the connection (and the listening socket of listenVpcdReader). */
  async close(): Promise<void> {
    this.fail(new VpcdTransportError('not-connected', 'vpcd transport closed'));
    if (!this.socket.destroyed) {
      this.socket.end();
      const t = setTimeout(() => this.socket.destroy(), 1000);
      await this.closedPromise;
      clearTimeout(t);
    }
    const hooks = this.closeHooks.splice(0);
    for (const hook of hooks) await hook();
  }

  /** run `hook` when close() is called (e.g. stop a listener) */
  addCloseHook(hook: () => Promise<void>): void {
    this.closeHooks.push(hook);
  }
}

/** Connect to a bridge that listens for the LPA's vpcd (reader side connects). */
export function connectVpcdReader(host: string, port: number = VPCD_DEFAULT_PORT, options: VpcdReaderOptions = {}): Promise<VpcdReaderTransport> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const timeoutMs = options.connectTimeoutMs ?? 10_000;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new VpcdTransportError('timeout', `could not connect to vpcd card side at ${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(new VpcdTransportError('not-connected', `could not connect to vpcd card side at ${host}:${port}: ${err.message}`, { cause: err }));
    });
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(new VpcdReaderTransport(socket, options));
    });
  });
}

/** A listening reader: a bridge (card side) connects to it. */
export class VpcdReaderListener {
  private pending: { resolve(t: VpcdReaderTransport): void; reject(e: Error): void } | undefined;
  private accepted: VpcdReaderTransport[] = [];
  private backlog: Socket[] = [];
  private closed = false;
  /** errors the listening socket reported after it started listening */
  readonly errors: Error[] = [];

  private constructor(
    private readonly server: Server,
    private readonly options: VpcdReaderOptions,
  ) {
    server.on('connection', (socket) => {
      if (this.closed) {
        socket.destroy();
        return;
      }
      const p = this.pending;
      if (p) {
        this.pending = undefined;
        p.resolve(this.wrap(socket));
      } else this.backlog.push(socket);
    });
  }

  static listen(host: string, port: number, options: VpcdReaderOptions = {}): Promise<VpcdReaderListener> {
    return new Promise((resolve, reject) => {
      const server = createServer();
      server.once('error', (err) => reject(new VpcdTransportError('not-connected', `cannot listen on ${host}:${port}: ${err.message}`, { cause: err })));
      server.listen(port, host, () => {
        server.removeAllListeners('error');
        const listener = new VpcdReaderListener(server, options);
        server.on('error', (err) => listener.errors.push(err));
        resolve(listener);
      });
    });
  }

  get address(): AddressInfo {
    return this.server.address() as AddressInfo;
  }

  get port(): number {
    return this.address.port;
  }

  private wrap(socket: Socket): VpcdReaderTransport {
    const t = new VpcdReaderTransport(socket, this.options);
    this.accepted.push(t);
    return t;
  }

  /** The next card side that connects (or one that already did). */
  accept(timeoutMs?: number): Promise<VpcdReaderTransport> {
    if (this.closed) return Promise.reject(new VpcdTransportError('not-connected', 'vpcd listener closed'));
    const queued = this.backlog.shift();
    if (queued) return Promise.resolve(this.wrap(queued));
    if (this.pending) return Promise.reject(new VpcdTransportError('protocol', 'accept() is already waiting'));
    return new Promise((resolve, reject) => {
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              this.pending = undefined;
              reject(new VpcdTransportError('timeout', `no card side connected to ${this.address.address}:${this.port} within ${timeoutMs} ms`));
            }, timeoutMs);
      this.pending = {
        resolve: (t) => {
          if (timer) clearTimeout(timer);
          resolve(t);
        },
        reject: (e) => {
          if (timer) clearTimeout(timer);
          reject(e);
        },
      };
    });
  }

  /** Stop listening and close every accepted connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.pending?.reject(new VpcdTransportError('not-connected', 'vpcd listener closed'));
    this.pending = undefined;
    for (const s of this.backlog) s.destroy();
    this.backlog = [];
    await Promise.all(this.accepted.map((t) => t.close()));
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * Listen for a bridge that connects out to the LPA's vpcd ("reversed" mode) and resolve
 * with the transport of the first card side that connects. Closing the transport also
 * stops the listener. `onListening` reports the bound address (port 0 picks a free port).
 */
export async function listenVpcdReader(
  host: string,
  port: number = VPCD_DEFAULT_PORT,
  options: VpcdReaderOptions & { onListening?: (address: AddressInfo) => void; acceptTimeoutMs?: number } = {},
): Promise<VpcdReaderTransport> {
  const listener = await VpcdReaderListener.listen(host, port, options);
  options.onListening?.(listener.address);
  let transport: VpcdReaderTransport;
  try {
    transport = await listener.accept(options.acceptTimeoutMs);
  } catch (err) {
    await listener.close();
    throw err;
  }
  transport.addCloseHook(() => listener.close());
  return transport;
}
