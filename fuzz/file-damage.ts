// Damage to a file as storage and people cause it, for the damaged-file campaigns:
// truncation (an SD card that filled up, a copy cut short), a zeroed range (a lost page or
// block), flipped bits (bad flash), deletion. Page-aligned variants hit the structures a
// paged file (lmdb) keeps at page starts. Returns what was done, for the finding.
import { closeSync, openSync, readSync, rmSync, statSync, truncateSync, writeSync } from 'node:fs';
import type { Rng } from './prng.ts';

export type DamageKind = 'truncate' | 'zero' | 'flip' | 'delete';

function readAt(path: string, offset: number, length: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(length);
    readSync(fd, b, 0, length, offset);
    return b;
  } finally {
    closeSync(fd);
  }
}

function writeAt(path: string, offset: number, bytes: Uint8Array): void {
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, bytes, 0, bytes.byteLength, offset);
  } finally {
    closeSync(fd);
  }
}

/** An offset in the file: a page start, a page header, or anywhere. */
function offsetIn(rng: Rng, size: number, pageSize: number): number {
  const pages = Math.max(1, Math.floor(size / pageSize));
  return rng.weighted<() => number>([
    [() => rng.int(Math.min(2, pages)) * pageSize + rng.int(Math.min(pageSize, 200)), 3], // meta pages
    [() => rng.int(pages) * pageSize + rng.int(32), 3], // a page header
    [() => rng.int(Math.max(1, size)), 4],
  ])();
}

/** Damage `path` in the way `kind` names; returns a description. */
export function damageFile(rng: Rng, path: string, kind: DamageKind, pageSize = 4096): string {
  const size = statSync(path).size;
  switch (kind) {
    case 'delete':
      rmSync(path);
      return 'deleted';
    case 'truncate': {
      const to = rng.weighted<() => number>([
        [() => 0, 1],
        [() => Math.floor(size / 2), 1],
        [() => pageSize * rng.int(Math.max(1, Math.floor(size / pageSize))), 2],
        [() => rng.int(Math.max(1, size)), 2],
      ])();
      truncateSync(path, to);
      return `truncated ${size} -> ${to} bytes`;
    }
    case 'zero': {
      const at = offsetIn(rng, size, pageSize);
      const len = Math.min(size - at, rng.chance(0.5) ? pageSize : 1 + rng.size(256));
      if (len > 0) writeAt(path, at, new Uint8Array(len));
      return `zeroed ${len} bytes at ${at}`;
    }
    case 'flip': {
      const flips: string[] = [];
      for (let i = 0, n = 1 + rng.int(rng.chance(0.7) ? 2 : 16); i < n && size > 0; i++) {
        const at = offsetIn(rng, size, pageSize);
        const bit = rng.int(8);
        const b = readAt(path, at, 1);
        writeAt(path, at, Uint8Array.of(b[0]! ^ (1 << bit)));
        flips.push(`${at}.${bit}`);
      }
      return `flipped bits ${flips.join(' ')}`;
    }
  }
}
