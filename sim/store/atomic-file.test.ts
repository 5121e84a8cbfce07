import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-file.ts';

describe('writeFileAtomic', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bridgelab-atomic-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('replaces the content and leaves no temporary file', () => {
    const p = join(dir, 'sub', 'state.json');
    writeFileAtomic(p, '{"a":1}');
    writeFileAtomic(p, '{"a":2}');
    expect(readFileSync(p, 'utf8')).toBe('{"a":2}');
    expect(readdirSync(join(dir, 'sub'))).toEqual(['state.json']);
    expect(statSync(p).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'sub')).mode & 0o777).toBe(0o700);
  });

  it('directories it creates for a file others may read keep the default mode', () => {
    const p = join(dir, 'report', 'summary.json');
    writeFileAtomic(p, '{}', 0o644);
    expect(statSync(p).mode & 0o777).toBe(0o644);
    expect(statSync(join(dir, 'report')).mode & 0o077).not.toBe(0);
  });

  it('keeps the old content when the write fails', () => {
    const p = join(dir, 'state.json');
    writeFileSync(p, 'old');
    // a directory in place of the target makes rename fail
    const blocked = join(dir, 'blocked');
    writeFileAtomic(join(blocked, 'x'), 'x');
    expect(() => writeFileAtomic(blocked, 'new')).toThrow();
    expect(readFileSync(p, 'utf8')).toBe('old');
    expect(readdirSync(dir).sort()).toEqual(['blocked', 'state.json']);
  });
});
