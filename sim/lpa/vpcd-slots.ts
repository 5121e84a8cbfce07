// The readers of pcscd's vsmartcard vpcd driver and who may use them. The Debian
// vsmartcard-vpcd package configures one vpcd reader with two slots (reader.conf
// DEVICENAME /dev/null:0x8C7B): "Virtual PCD 00 00" waits for a card side on TCP port
// 35963, "Virtual PCD 00 01" on 35964 (vpcd listens on port + slot). A slot serves one
// card side at a time, so the processes of one machine that plug a card into a slot
// (tests, certify workers, the benchmark) take a lock file per slot first: created
// exclusively, holding the owner's pid, and taken over when that process is gone.
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface VpcdSlot {
  /** the PC/SC reader name pcscd gives the slot */
  readonly reader: string;
  /** the TCP port vpcd waits on for the card side of this slot */
  readonly port: number;
}

export const VPCD_SLOTS: readonly VpcdSlot[] = [
  { reader: 'Virtual PCD 00 00', port: 35963 },
  { reader: 'Virtual PCD 00 01', port: 35964 },
];

export interface HeldSlot extends VpcdSlot {
  release(): void;
}

export class VpcdSlotError extends Error {
  override readonly name = 'VpcdSlotError';
}

function lockPath(port: number): string {
  return join(tmpdir(), `bridgelab-vpcd-${port}.lock`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function tryLock(slot: VpcdSlot): HeldSlot | undefined {
  const path = lockPath(slot.port);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      let released = false;
      return {
        ...slot,
        release: () => {
          if (released) return;
          released = true;
          rmSync(path, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(readFileSync(path, 'utf8').trim());
      if (Number.isInteger(owner) && owner > 0 && alive(owner)) return undefined;
      rmSync(path, { force: true }); // its owner died without releasing it
    }
  }
  return undefined;
}

/** Whether pcscd's vpcd waits on `port` (a card side could connect). */
export function vpcdListening(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * Take a free vpcd slot (waiting up to `timeoutMs` for one): a slot is free when no live
 * process holds its lock. Its port must be one pcscd's vpcd listens on.
 */
export async function acquireVpcdSlot(options: { timeoutMs?: number; slots?: readonly VpcdSlot[] } = {}): Promise<HeldSlot> {
  const slots = options.slots ?? VPCD_SLOTS;
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  for (;;) {
    for (const slot of slots) {
      const held = tryLock(slot);
      if (held) return held;
    }
    if (Date.now() > deadline) throw new VpcdSlotError(`no free vpcd slot within ${options.timeoutMs ?? 120_000} ms (ports ${slots.map((s) => s.port).join(', ')} held by other processes)`);
    await new Promise((r) => setTimeout(r, 100 + Math.random() * 100));
  }
}
