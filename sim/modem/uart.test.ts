// UART pacing: lower bounds are exact wire time (10 bits per byte); upper bounds are
// generous so a loaded 2-core CI machine never fails them.
import { afterEach, describe, expect, it } from 'vitest';
import { UartLine, wireTimeMs } from './uart.ts';

describe('UartLine', () => {
  let line: UartLine | undefined;
  afterEach(() => line?.close());

  it('wireTimeMs: 10 bits per byte', () => {
    expect(wireTimeMs(960, 9600)).toBe(1000);
    expect(wireTimeMs(11520, 115200)).toBe(1000);
  });

  it('960 bytes at 9600 baud take at least 1 s, arrive complete, in order and batched', async () => {
    const got: Uint8Array[] = [];
    let doneAt = 0;
    const data = Uint8Array.from({ length: 960 }, (_, i) => i & 0xff);
    const finished = new Promise<void>((resolve) => {
      line = new UartLine({
        baud: 9600,
        deliver: (b) => {
          got.push(Uint8Array.from(b));
          if (got.reduce((n, c) => n + c.length, 0) === 960) {
            doneAt = performance.now();
            resolve();
          }
        },
      });
    });
    const t0 = performance.now();
    line?.push(data.subarray(0, 500));
    line?.push(data.subarray(500));
    expect(line?.pending).toBe(960);
    await finished;
    const elapsed = doneAt - t0;
    expect(elapsed).toBeGreaterThanOrEqual(995);
    expect(elapsed).toBeLessThan(6000);
    expect(Buffer.concat(got)).toEqual(Buffer.from(data));
    expect(got.length).toBeLessThan(960); // batched, not a callback per byte
    expect(line?.delivered).toBe(960);
    expect(line?.pending).toBe(0);
  });

  it('never delivers a byte before its wire time, even in the first batch', async () => {
    const times: number[] = [];
    line = new UartLine({ baud: 9600, deliver: (b) => b.forEach(() => times.push(performance.now())) });
    const t0 = performance.now();
    line.push(new Uint8Array(48)); // 50 ms of wire time
    await line.drained();
    times.forEach((t, i) => expect(t - t0).toBeGreaterThanOrEqual(wireTimeMs(i + 1, 9600) - 1));
    expect(times.length).toBe(48);
  });

  it('back-to-back pushes queue behind each other on the wire', async () => {
    line = new UartLine({ baud: 19200, deliver: () => {} });
    const t0 = performance.now();
    for (let i = 0; i < 4; i++) line.push(new Uint8Array(96)); // 4 x 50 ms
    await line.drained();
    expect(performance.now() - t0).toBeGreaterThanOrEqual(198);
  });

  it('unpaced (baud null) delivers on the next microtask', async () => {
    const got: number[] = [];
    line = new UartLine({ baud: null, deliver: (b) => got.push(b.length) });
    line.push(new Uint8Array(10000));
    expect(got).toEqual([]);
    await Promise.resolve();
    expect(got).toEqual([10000]);
  });

  it('clear drops queued bytes; close stops delivery', async () => {
    let n = 0;
    line = new UartLine({ baud: 1200, deliver: (b) => (n += b.length) });
    line.push(new Uint8Array(100));
    line.clear();
    expect(line.pending).toBe(0);
    await line.drained();
    line.close();
    line.push(new Uint8Array(5));
    await new Promise((r) => setTimeout(r, 30));
    expect(n).toBe(0);
  });
});
