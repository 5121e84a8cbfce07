import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireVpcdSlot, VpcdSlotError, type VpcdSlot } from './vpcd-slots.ts';

// ports no vpcd uses, so that these locks never meet a real test's
const slots: VpcdSlot[] = [
  { reader: 'Test Slot 00', port: 59001 },
  { reader: 'Test Slot 01', port: 59002 },
];

describe('vpcd slot locks', () => {
  it('hands out each slot once, waits (bounded) when all are held, and gives them back on release', async () => {
    const a = await acquireVpcdSlot({ slots, timeoutMs: 1000 });
    const b = await acquireVpcdSlot({ slots, timeoutMs: 1000 });
    expect([a.port, b.port].sort()).toEqual([59001, 59002]);
    await expect(acquireVpcdSlot({ slots, timeoutMs: 300 })).rejects.toThrow(new VpcdSlotError('no free vpcd slot within 300 ms (ports 59001, 59002 held by other processes)'));
    a.release();
    const c = await acquireVpcdSlot({ slots, timeoutMs: 1000 });
    expect(c.port).toBe(a.port);
    b.release();
    c.release();
  });

  it('takes over a lock whose owner process is gone', async () => {
    writeFileSync(join(tmpdir(), 'bridgelab-vpcd-59001.lock'), '2147483646');
    const s = await acquireVpcdSlot({ slots: [slots[0]!], timeoutMs: 500 });
    expect(s.reader).toBe('Test Slot 00');
    s.release();
  });
});
