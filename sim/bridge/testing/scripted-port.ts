// A serial port stand-in for AT-level tests: each write the client makes is recorded
// and handed to a script, which answers by pushing the exact bytes a modem would send
// (echo, URCs, line endings included). For behaviours no virtual modem personality has.
import { Duplex } from 'node:stream';

export type Script = (line: string, port: ScriptedPort) => void;

export class ScriptedPort extends Duplex {
  /** raw writes, in order */
  readonly writes: string[] = [];
  constructor(public onLine: Script = () => {}) {
    super();
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    const text = chunk.toString('latin1');
    this.writes.push(text);
    cb();
    setImmediate(() => this.onLine(text.replace(/\r$/, ''), this));
  }
  override _read(): void {}
  /** modem output */
  reply(text: string): void {
    this.push(Buffer.from(text, 'latin1'));
  }
}

/** `\r\n<lines>\r\n\r\nOK\r\n`, as 27.007 modems frame an answer. */
export const ok = (...lines: string[]): string => (lines.length ? `\r\n${lines.join('\r\n')}\r\n` : '') + '\r\nOK\r\n';
