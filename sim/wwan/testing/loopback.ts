// In-process stream to a byte modem, for client unit tests without a PTY: what the
// client writes reaches modem.receive() in the chunks it was written in (or split into
// single bytes, to prove the framers reassemble), what the modem sends is pushed to the
// client's readable side (optionally split too).
import { Duplex } from 'node:stream';
import type { ByteModem } from '../pty-endpoint.ts';

export interface LoopbackOptions {
  /** deliver bytes one at a time in both directions (a worst-case PTY) */
  splitBytes?: boolean;
}

export function loopbackStream(modem: ByteModem, opts: LoopbackOptions = {}): Duplex {
  const stream = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, callback) {
      if (opts.splitBytes) for (const b of chunk) modem.receive(Uint8Array.of(b));
      else modem.receive(Uint8Array.from(chunk));
      callback();
    },
  });
  modem.attach((bytes) => {
    if (stream.destroyed) return;
    if (opts.splitBytes) for (const b of bytes) stream.push(Buffer.of(b));
    else stream.push(Buffer.from(bytes));
  });
  return stream;
}
