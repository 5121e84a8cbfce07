// The reference LPA Bridge: a vsmartcard vpcd card endpoint towards
// the LPA (vsmartcard's vpcd protocol; listen mode, default 0.0.0.0:35963, or connect-out with
// backoff; optional TLS-PSK, RFC 4279 suites on TLS 1.2) whose card is the modem's card
// eUICC reached with 3GPP TS 27.007 8.17 +CSIM, 8.45 +CCHO, 8.43 +CGLA, 8.46 +CCHC
// (modem-session.ts; channels per ISO 7816-4 / ETSI TS 102 221, T=0 procedure run here).
// Runs unchanged against a real modem (/dev/ttyUSBx), a PTY or a mock serial binding.
//
// Status words the LPA gets when the card did not answer (SW_RULES in modem-session.ts;
// every occurrence is traced as a 'decision' event with the rule id):
//   6700  malformed C-APDU; APDU over maxApduBytes (261) or AT line over maxLineLength
//         (1024): never split into several AT commands
//   6E00  CLA FF
//   6A82  SELECT by AID outside the allow-list (no AT sent); +CCHO -> +CME ERROR: 13
//   6982  INS 88/89 (RUN GSM ALGORITHM / AUTHENTICATE) unless allowAuthenticate (no AT)
//   6881  channel not open; channel lost in a modem restart / card loss (until the LPA
//         closes it or SELECTs again); +CGLA -> +CME ERROR: 21/50 (unknown session)
//   6985  APDU other than SELECT by AID on a freshly opened channel; +CME ERROR: 3
//   6A81  no free virtual channel; basic channel without +CSIM; +CCHO -> +CME ERROR:
//         3/4/20/21/23; +CGLA/+CSIM -> +CME ERROR: 4
//   6A86  MANAGE CHANNEL with bad P1, or closing channel 0
//   6F00  +CME ERROR: 10 (no SIM), 13 (SIM failure), 14 (SIM busy, after retries), any
//         other +CME/+CMS ERROR, bare ERROR after retries, AT timeout, serial port gone,
//         unparseable +CGLA/+CSIM answer, endless 61xx chain
// Card status words pass through untouched (61xx as the reader procedure of modem-session.ts says).
// After a modem restart nothing is re-opened behind the LPA's back (modem-session.ts):
// its channels answer 6881 until closed or re-SELECTed. vpcd reset / power off and an LPA
// disconnecting close all that LPA's channels on the modem (+CCHC).
// Deliberate defects for certifying the certifier (option `defects`, none by default;
// defects.ts) turn this bridge into a broken port for the certifier's own tests.
import { once } from 'node:events';
import { createServer as createTcpServer, connect as tcpConnect, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, createServer as createTlsServer, type TLSSocket } from 'node:tls';
import type { BindingInterface } from '@serialport/bindings-interface' with { 'resolution-mode': 'require' };
import { SerialPort } from 'serialport';
import { responseSw } from '../apdu/apdu.ts';
import { formatSw } from '../apdu/sw.ts';
import { toUpperHex } from '../bytes.ts';
import { atrAnnouncesExtendedLength, buildAtr } from '../apdu/atr.ts';
import { serveVpcdSocket, type VpcdCard } from '../vpcd/card-side.ts';
import { VPCD_DEFAULT_PORT } from '../vpcd/framing.ts';
import { AtClient, type AtClientOptions, type AtTraceEvent } from './at.ts';
import { ModemSession, type ModemReport, type ModemSessionOptions, type SessionTraceEvent } from './modem-session.ts';
import { BridgeDefects, parseDefectNames, DefectError, type DefectName } from './defects.ts';
import { keepQuickAck, quickAck } from './quickack.ts';

export { VPCD_DEFAULT_PORT };

/** TLS 1.2 PSK suites (RFC 4279 / RFC 5487 / RFC 7905), strongest first. */
export const PSK_CIPHERS = 'PSK-AES128-GCM-SHA256:PSK-AES256-GCM-SHA384:PSK-CHACHA20-POLY1305:PSK-AES128-CBC-SHA256';

export type SerialOptions =
  | {
      /** /dev/ttyUSB2, a PTY, or a mock path */
      path: string;
      baudRate: number;
      /** serialport binding (default: the platform's); a mock binding for tests */
      binding?: BindingInterface;
      /** reopen the path when the port closes (a USB modem re-enumerating after a restart); default true */
      reopen?: boolean;
    }
  | {
      /** an already open port; the bridge does not close it */
      port: Duplex;
      description?: string;
    };

export interface ListenOptions {
  host: string;
  /** 0 picks a free port (see Bridge.address) */
  port: number;
}

export interface ConnectOptions {
  host: string;
  port: number;
  /** first pause before reconnecting (default 250 ms), doubled up to maxBackoffMs (default 10 s) */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** connect timeout (default 10 s) */
  connectTimeoutMs?: number;
}

export interface PskOptions {
  identity: string;
  /** the pre-shared key (never logged) */
  key: Uint8Array;
}

export interface BridgeOptions {
  serial: SerialOptions;
  /** LPA link: listen (default 0.0.0.0:35963 when connect is absent) ... */
  listen?: ListenOptions;
  /** ... or connect out to a listening vpcd (reconnects with backoff) */
  connect?: ConnectOptions;
  /** a second LPA while one is active: 'refuse' (default: closed at once) or 'queue' (served when the first leaves) */
  secondLpa?: 'refuse' | 'queue';
  /** TLS-PSK on the LPA link; without the key an LPA cannot exchange a single APDU */
  psk?: PskOptions;
  at?: Omit<AtClientOptions, 'onTrace' | 'reopen'>;
  session?: Omit<ModemSessionOptions, 'onTrace'>;
  /** ATR answered to the LPA (default buildAtr(): T=0 with T=15 global bytes, like field eUICCs); extended lengths are accepted when it announces them */
  atr?: Uint8Array;
  /** TCP_QUICKACK on the vpcd socket after every read (default true; quickack.ts): no delayed-ACK wait behind pcscd's split frames */
  quickAck?: boolean;
  /** deliberate defects for certifying the certifier (defects.ts); default none. Never in production. */
  defects?: readonly DefectName[];
  /** every event, structured */
  onTrace?: (event: BridgeTraceEvent) => void;
  /** every event as one JSON line */
  log?: (line: string) => void;
}

export type LpaEventName = 'listening' | 'connected' | 'disconnected' | 'refused' | 'queued' | 'dequeued' | 'connect-failed' | 'tls-failed';

export type BridgeEvent =
  | AtTraceEvent
  | SessionTraceEvent
  | { type: 'lpa'; event: LpaEventName; peer: string; detail?: string }
  | { type: 'vpcd'; peer: string; control?: 'powerOn' | 'powerOff' | 'reset' | 'getAtr'; detail: string }
  | { type: 'apdu'; peer: string; capdu: string; rapdu: string; sw: string; ms: number }
  | { type: 'bridge'; event: 'started' | 'stopped' | 'error'; detail: string };

export type BridgeTraceEvent = BridgeEvent & { ts: string };

export interface Bridge {
  readonly report: ModemReport;
  readonly session: ModemSession;
  readonly at: AtClient;
  /** listen mode: the bound address */
  readonly address: AddressInfo | undefined;
  /** peer of the LPA being served, if any */
  readonly activeLpa: string | undefined;
  close(): Promise<void>;
}

export class BridgeStartError extends Error {
  override readonly name = 'BridgeStartError';
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

function peerOf(s: Socket): string {
  return `${s.remoteAddress ?? '?'}:${s.remotePort ?? '?'}`;
}

function ackState(ack: ReturnType<typeof quickAck> | undefined): string {
  if (!ack) return 'TCP_QUICKACK off';
  return ack.available ? 'TCP_QUICKACK after every read' : `TCP_QUICKACK unavailable (${ack.reason}): pcscd's vpcd may wait for delayed ACKs`;
}

/** Open a serial port and wait until it is open. */
export async function openSerialPort(path: string, baudRate: number, binding?: BindingInterface): Promise<Duplex> {
  // SerialPort spreads its options over its default binding, so a given binding wins
  const options: ConstructorParameters<typeof SerialPort>[0] & { binding?: BindingInterface } = { path, baudRate, autoOpen: false };
  if (binding) options.binding = binding;
  const port = new SerialPort(options);
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  return port;
}

async function closeSerialPort(port: Duplex): Promise<void> {
  const p = port as Duplex & { isOpen?: boolean; close?: (cb?: (err: Error | null) => void) => void };
  if (typeof p.close === 'function' && p.isOpen !== false) {
    await new Promise<void>((resolve) => p.close?.(() => resolve()));
  } else if (!port.destroyed) port.destroy();
}

/** A TLS-PSK client socket (TLS 1.2, PSK suites): what the LPA's vpcd reader uses to reach a PSK bridge. */
export function connectPsk(host: string, port: number, identity: string, key: Uint8Array, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<TLSSocket> {
  const socket = tlsConnect({
    host,
    port,
    ciphers: PSK_CIPHERS,
    minVersion: 'TLSv1.2',
    maxVersion: 'TLSv1.2',
    checkServerIdentity: () => undefined,
    pskCallback: () => ({ identity, psk: Buffer.from(key) }),
  });
  return whenConnected(socket, 'secureConnect', `TLS-PSK connection to ${host}:${port}`, options);
}

function connectPlain(host: string, port: number, options: { timeoutMs?: number; signal?: AbortSignal }): Promise<Socket> {
  return whenConnected(tcpConnect({ host, port }), 'connect', `connection to ${host}:${port}`, options);
}

/** Resolve when `socket` emits `event`; reject on error, timeout or abort (the socket is destroyed). */
function whenConnected<S extends Socket>(socket: S, event: 'connect' | 'secureConnect', what: string, options: { timeoutMs?: number; signal?: AbortSignal }): Promise<S> {
  return new Promise((resolve, reject) => {
    const fail = (err: Error): void => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      reject(err);
    };
    const onAbort = (): void => fail(new Error(`${what} aborted`));
    const timer = setTimeout(() => fail(new Error(`${what} timed out`)), options.timeoutMs ?? 10_000);
    if (options.signal?.aborted) return onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('error', fail);
    socket.once(event, () => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      socket.off('error', fail);
      resolve(socket);
    });
  });
}

/** Open the modem, detect it, then serve the LPA link. Resolves once listening (or the first connect attempt started). */
export async function startBridge(options: BridgeOptions): Promise<Bridge> {
  if (options.listen && options.connect) throw new BridgeStartError('listen and connect are exclusive');
  if (options.psk && (options.psk.key.length === 0 || options.psk.identity.length === 0)) throw new BridgeStartError('PSK identity and key must not be empty');
  const emit = (e: BridgeEvent): void => {
    const event = { ...e, ts: new Date().toISOString() } as BridgeTraceEvent;
    options.onTrace?.(event);
    options.log?.(JSON.stringify(event));
  };
  let defectNames: DefectName[];
  try {
    defectNames = parseDefectNames([...(options.session?.defects ?? []), ...(options.defects ?? [])]);
  } catch (err) {
    if (err instanceof DefectError) throw new BridgeStartError(err.message, { cause: err });
    throw err;
  }
  const defects = new BridgeDefects(defectNames, (name, detail) => emit({ type: 'decision', what: `defect:${name}`, detail }));

  // ---- modem
  const serial = options.serial;
  let ownedPort: Duplex | undefined;
  let port: Duplex;
  let reopen: (() => Promise<Duplex>) | undefined;
  if ('port' in serial) {
    port = serial.port;
  } else {
    try {
      port = await openSerialPort(serial.path, serial.baudRate, serial.binding);
    } catch (err) {
      throw new BridgeStartError(`cannot open serial port ${serial.path}: ${(err as Error).message}`, { cause: err });
    }
    ownedPort = port;
    if (serial.reopen !== false) {
      reopen = async () => {
        const p = await openSerialPort(serial.path, serial.baudRate, serial.binding);
        ownedPort = p;
        return p;
      };
    }
  }
  const atr = defects.active ? defects.announcedAtr(options.atr ?? buildAtr()) : (options.atr ?? buildAtr());
  const at = new AtClient(port, { ...options.at, reopen, onTrace: emit, ...(defects.active ? { naive: defects.lineHandling() } : {}) });
  let session: ModemSession;
  try {
    session = await ModemSession.start(at, {
      extendedLength: atrAnnouncesExtendedLength(atr),
      ...options.session,
      ...(defects.active ? { defects: defectNames } : {}),
      onTrace: emit,
    });
  } catch (err) {
    at.close();
    if (ownedPort) await closeSerialPort(ownedPort);
    throw err;
  }
  const ack = options.quickAck === false ? undefined : quickAck();

  // ---- LPA side
  const stop = new AbortController();
  let active: Socket | undefined;
  let activePeer: string | undefined;
  let activeDone: Promise<void> = Promise.resolve();
  const queue: Socket[] = [];
  const sockets = new Set<Socket>();

  const cardFor = (peer: string, answered: () => void): VpcdCard => ({
    atr: () => {
      emit({ type: 'vpcd', peer, control: 'getAtr', detail: `ATR ${toUpperHex(atr)}` });
      answered();
      return atr;
    },
    powerOn: async () => emit({ type: 'vpcd', peer, control: 'powerOn', detail: 'power on' }),
    powerOff: async () => {
      emit({ type: 'vpcd', peer, control: 'powerOff', detail: 'power off: closing the LPA channels' });
      await session.closeAllChannels('vpcd power off');
    },
    reset: async () => {
      emit({ type: 'vpcd', peer, control: 'reset', detail: 'reset: closing the LPA channels' });
      await session.closeAllChannels('vpcd reset');
      answered();
      return atr;
    },
    transmit: async (capdu) => {
      const t0 = performance.now();
      const rapdu = await session.transmit(capdu);
      emit({ type: 'apdu', peer, capdu: toUpperHex(capdu), rapdu: toUpperHex(rapdu), sw: formatSw(responseSw(rapdu)), ms: Math.round(performance.now() - t0) });
      answered();
      return rapdu;
    },
  });

  let activeLeaving = false;

  /** Serve one LPA until its connection closes; then release its channels. */
  const serve = async (socket: Socket): Promise<void> => {
    const peer = peerOf(socket);
    active = socket;
    activePeer = peer;
    emit({ type: 'lpa', event: 'connected', peer });
    const rearm = ack ? keepQuickAck(socket, ack) : undefined;
    try {
      const served = serveVpcdSocket(cardFor(peer, rearm ?? (() => {})), socket, { onLog: (line) => emit({ type: 'vpcd', peer, detail: line }) });
      socket.resume();
      await served;
    } finally {
      // The LPA is gone; only its channels remain to be closed. An LPA arriving now
      // is held (not refused) and served as soon as the channels are released.
      activeLeaving = true;
      await session.closeAllChannels('LPA disconnected');
      active = undefined;
      activePeer = undefined;
      activeLeaving = false;
      emit({ type: 'lpa', event: 'disconnected', peer });
    }
  };

  const serveNextQueued = (): void => {
    while (queue.length) {
      const next = queue.shift() as Socket;
      if (next.destroyed) continue;
      emit({ type: 'lpa', event: 'dequeued', peer: peerOf(next) });
      activeDone = serve(next).then(serveNextQueued);
      return;
    }
  };

  const accept = (socket: Socket): void => {
    if (stop.signal.aborted) {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', (err) => emit({ type: 'vpcd', peer: peerOf(socket), detail: `socket error: ${err.message}` }));
    if (active && defects.active && defects.serveConcurrently(peerOf(socket), activePeer)) {
      const first = activeDone;
      activeDone = Promise.all([first, serve(socket)]).then(() => undefined);
      return;
    }
    if (active) {
      if (activeLeaving || (options.secondLpa ?? 'refuse') === 'queue') {
        socket.pause();
        queue.push(socket);
        emit({ type: 'lpa', event: 'queued', peer: peerOf(socket), detail: `LPA ${activePeer} is active; ${queue.length} waiting` });
      } else {
        emit({ type: 'lpa', event: 'refused', peer: peerOf(socket), detail: `LPA ${activePeer} is active: APDUs of two LPAs must not interleave` });
        socket.destroy();
      }
      return;
    }
    activeDone = serve(socket).then(serveNextQueued);
  };

  let server: Server | undefined;
  let address: AddressInfo | undefined;
  let connectLoop: Promise<void> | undefined;

  if (options.connect) {
    const c = options.connect;
    const target = `${c.host}:${c.port}`;
    connectLoop = (async () => {
      const initial = c.initialBackoffMs ?? 250;
      const max = c.maxBackoffMs ?? 10_000;
      let backoff = initial;
      while (!stop.signal.aborted) {
        let socket: Socket | undefined;
        try {
          const how = { timeoutMs: c.connectTimeoutMs, signal: stop.signal };
          socket = options.psk ? await connectPsk(c.host, c.port, options.psk.identity, options.psk.key, how) : await connectPlain(c.host, c.port, how);
        } catch (err) {
          if (stop.signal.aborted) break;
          emit({ type: 'lpa', event: 'connect-failed', peer: target, detail: `${(err as Error).message}; retrying in ${backoff} ms` });
        }
        if (socket) {
          if (stop.signal.aborted) {
            socket.destroy();
            break;
          }
          const started = performance.now();
          sockets.add(socket);
          activeDone = serve(socket);
          await activeDone;
          sockets.delete(socket);
          if (performance.now() - started > 2000) backoff = initial;
          if (stop.signal.aborted) break;
        }
        await sleep(backoff, stop.signal);
        backoff = Math.min(backoff * 2, max);
      }
    })();
  } else {
    const l = options.listen ?? { host: '0.0.0.0', port: VPCD_DEFAULT_PORT };
    if (options.psk) {
      const psk = options.psk;
      const tlsServer = createTlsServer({
        ciphers: PSK_CIPHERS,
        minVersion: 'TLSv1.2',
        maxVersion: 'TLSv1.2',
        pskCallback: (socket, identity) => {
          if (identity === psk.identity) return Buffer.from(psk.key);
          emit({ type: 'lpa', event: 'tls-failed', peer: peerOf(socket), detail: `unknown PSK identity '${identity}'` });
          return null;
        },
      });
      tlsServer.on('secureConnection', (s: TLSSocket) => accept(s));
      tlsServer.on('tlsClientError', (err, s) => {
        emit({ type: 'lpa', event: 'tls-failed', peer: peerOf(s), detail: err.message });
        s.destroy();
      });
      server = tlsServer;
    } else {
      server = createTcpServer({ pauseOnConnect: true }, accept);
    }
    const srv = server;
    srv.on('connection', (s: Socket) => {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
    });
    try {
      srv.listen(l.port, l.host);
      await once(srv, 'listening');
    } catch (err) {
      session.dispose();
      at.close();
      if (ownedPort) await closeSerialPort(ownedPort);
      throw new BridgeStartError(`cannot listen on ${l.host}:${l.port}: ${(err as Error).message}`, { cause: err });
    }
    srv.on('error', (err) => emit({ type: 'bridge', event: 'error', detail: `listener: ${err.message}` }));
    address = srv.address() as AddressInfo;
    emit({ type: 'lpa', event: 'listening', peer: `${address.address}:${address.port}`, detail: options.psk ? 'TLS-PSK' : 'plain TCP' });
  }

  const r = session.report;
  emit({
    type: 'bridge',
    event: 'started',
    detail: `${r.identity.manufacturer ?? '?'} ${r.identity.model ?? '?'} (${r.identity.revision ?? '?'}), ${r.detection.mode} mode, basic channel ${r.detection.csim ? 'via +CSIM' : 'refused'}, T=0 ${options.session?.t0 ?? 'reader'} procedure, ${ackState(ack)}${defects.active ? `; DELIBERATE DEFECTS: ${defects.names.join(', ')}` : ''}`,
  });

  let closing: Promise<void> | undefined;
  return {
    report: session.report,
    session,
    at,
    address,
    get activeLpa() {
      return activePeer;
    },
    close(): Promise<void> {
      closing ??= (async () => {
        stop.abort();
        const serverClosed = server ? new Promise<void>((resolve) => server?.close(() => resolve())) : Promise.resolve();
        for (const s of queue.splice(0)) s.destroy();
        for (const s of sockets) s.destroy();
        await activeDone;
        await connectLoop;
        await serverClosed;
        session.dispose();
        at.close();
        const p = ownedPort;
        if (p) await closeSerialPort(p);
        emit({ type: 'bridge', event: 'stopped', detail: 'closed' });
      })();
      return closing;
    },
  };
}
