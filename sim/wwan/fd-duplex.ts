// A Duplex stream over a character device opened with plain open/read/write, for the
// terminal-side QMI and MBIM clients. A real modem's control port /dev/cdc-wdmN (Linux
// cdc-wdm driver, used by qmi_wwan and cdc_mbim) is not a tty: `serialport` cannot open
// it (its binding sets termios), and Node has no pollable handle for such a file
// descriptor (net.Socket refuses a character device). So the device is opened
// O_NONBLOCK and read in a loop: a read that finds nothing (EAGAIN) waits a short,
// growing interval (pollMinMs doubling up to pollMaxMs) and tries again, a read with
// data resets the interval. Each write() reaches the device as one write(2), retried
// for the rest after a partial write: on cdc-wdm one write(2) is one USB control
// transfer, so a client must hand each QMUX frame or MBIM message (fragment) to one
// write() call. On a PTY the same stream works (tested there); EIO on read means the
// other side closed the PTY and ends the stream.
import { constants, promises as fsp } from 'node:fs';
import { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';

export interface CharDeviceStreamOptions {
  /** first wait after an empty read, ms (default 1) */
  pollMinMs?: number;
  /** longest wait between reads while the device is silent, ms (default 16) */
  pollMaxMs?: number;
  /** bytes asked per read (default 4096: MBIM's default MaxControlTransfer, a QMUX frame fits) */
  readSize?: number;
}

function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

export class CharDeviceStream extends Duplex {
  private reading = false;
  private closing = false;

  private constructor(
    private readonly handle: fsp.FileHandle,
    readonly path: string,
    private readonly opts: Required<CharDeviceStreamOptions>,
  ) {
    super();
  }

  /** Open `path` read-write, non-blocking, without making it the controlling terminal. */
  static async open(path: string, options: CharDeviceStreamOptions = {}): Promise<CharDeviceStream> {
    const opts: Required<CharDeviceStreamOptions> = { pollMinMs: options.pollMinMs ?? 1, pollMaxMs: options.pollMaxMs ?? 16, readSize: options.readSize ?? 4096 };
    if (!(opts.pollMinMs > 0 && opts.pollMaxMs >= opts.pollMinMs)) throw new RangeError('need 0 < pollMinMs <= pollMaxMs');
    const handle = await fsp.open(path, constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK);
    return new CharDeviceStream(handle, path, opts);
  }

  override _read(): void {
    if (this.reading) return;
    this.reading = true;
    void this.readLoop();
  }

  private async readLoop(): Promise<void> {
    const buffer = Buffer.alloc(this.opts.readSize);
    let wait = this.opts.pollMinMs;
    try {
      while (!this.closing) {
        let n: number;
        try {
          n = (await this.handle.read(buffer, 0, buffer.length, null)).bytesRead;
        } catch (err) {
          if (errnoCode(err) === 'EAGAIN' || errnoCode(err) === 'EWOULDBLOCK') {
            await sleep(wait);
            wait = Math.min(wait * 2, this.opts.pollMaxMs);
            continue;
          }
          if (errnoCode(err) === 'EIO') {
            // the other side of a PTY closed: end of stream
            this.push(null);
            return;
          }
          throw err;
        }
        if (n === 0) {
          this.push(null);
          return;
        }
        wait = this.opts.pollMinMs;
        if (!this.push(Buffer.from(buffer.subarray(0, n)))) break;
      }
    } catch (err) {
      if (!this.closing) this.destroy(err as Error);
    } finally {
      this.reading = false;
    }
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    void this.writeAll(chunk).then(
      () => callback(),
      (err: Error) => callback(err),
    );
  }

  private async writeAll(chunk: Buffer): Promise<void> {
    let offset = 0;
    let wait = this.opts.pollMinMs;
    while (offset < chunk.length) {
      try {
        offset += (await this.handle.write(chunk, offset, chunk.length - offset, null)).bytesWritten;
      } catch (err) {
        if (errnoCode(err) !== 'EAGAIN' && errnoCode(err) !== 'EWOULDBLOCK') throw err;
        await sleep(wait);
        wait = Math.min(wait * 2, this.opts.pollMaxMs);
      }
    }
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.closing = true;
    this.handle.close().then(
      () => callback(error),
      (err: Error) => callback(error ?? err),
    );
  }
}
