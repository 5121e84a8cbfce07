// Immediate ACKs on the vpcd socket (Linux TCP_QUICKACK, tcp(7)). pcscd's vpcd driver
// writes each frame as two send() calls, the 2-byte length and then the body (vsmartcard
// vpcd framing); with Nagle on its side and delayed ACK on the card side the body waits
// for the card's delayed ACK, about 40 ms per APDU. A card side that acknowledges at once
// removes that wait. TCP_QUICKACK is not permanent: the kernel goes back to delayed ACKs
// when it sees an interactive exchange (it answers soon after receiving: "pingpong"), so
// it is re-armed after every read and again after every answer written. Node has no setsockopt, so libc's is called through
// koffi (an optional dependency with prebuilt binaries for linux x64/arm64/armhf); where
// koffi or the option is unavailable the bridge works without it and says so once.
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';

const IPPROTO_TCP = 6;
/** linux/tcp.h */
const TCP_QUICKACK = 12;

type SetSockOpt = (fd: number, level: number, name: number, value: Buffer, length: number) => number;

export interface QuickAck {
  /** true when sockets can be armed on this platform */
  readonly available: boolean;
  /** why not, when unavailable */
  readonly reason: string | undefined;
  /** acknowledge pending data now and the next segment at once; false when it could not be set */
  arm(socket: Socket): boolean;
}

interface KoffiLike {
  load(path: string): { func(signature: string): SetSockOpt };
}

let cached: QuickAck | undefined;

function socketFd(socket: Socket): number | undefined {
  // Node keeps the descriptor on its internal TCP handle (as the sockopt package reads it too)
  const handle = (socket as unknown as { _handle?: { fd?: unknown } })._handle;
  return typeof handle?.fd === 'number' && handle.fd >= 0 ? handle.fd : undefined;
}

function unavailable(reason: string): QuickAck {
  return { available: false, reason, arm: () => false };
}

/** The platform's TCP_QUICKACK, looked up once. */
export function quickAck(): QuickAck {
  if (cached) return cached;
  if (process.platform !== 'linux') return (cached = unavailable(`TCP_QUICKACK is Linux-only (platform ${process.platform})`));
  let koffi: KoffiLike;
  try {
    koffi = createRequire(import.meta.url)('koffi') as KoffiLike;
  } catch (err) {
    return (cached = unavailable(`the optional package koffi is not installed (${(err as Error).message.split('\n')[0]})`));
  }
  let setsockopt: SetSockOpt;
  try {
    setsockopt = koffi.load('libc.so.6').func('int setsockopt(int fd, int level, int name, const void *value, uint32_t length)');
  } catch (err) {
    return (cached = unavailable(`libc setsockopt could not be bound: ${(err as Error).message}`));
  }
  const one = Buffer.alloc(4);
  one.writeInt32LE(1);
  cached = {
    available: true,
    reason: undefined,
    arm(socket) {
      const fd = socketFd(socket);
      return fd !== undefined && setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, one, 4) === 0;
    },
  };
  return cached;
}

/**
 * Keep `socket` acknowledging at once: armed now and after every read; call the returned
 * function when an answer is about to be written (it re-arms once the write went out).
 * Plain TCP only: a TLS-PSK link is not pcscd's (vpcd has no TLS), and its raw socket
 * belongs to TLS. Undefined when nothing could be armed.
 */
export function keepQuickAck(socket: Socket, q: QuickAck = quickAck()): (() => void) | undefined {
  if (!q.available || 'encrypted' in socket) return undefined;
  if (!q.arm(socket)) return undefined;
  socket.prependListener('data', () => q.arm(socket));
  // the answer is written in the continuation of the promise that carries it: re-arm after it
  return () => void setImmediate(() => socket.destroyed || q.arm(socket));
}
