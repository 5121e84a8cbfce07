// The README's benchmark and fuzzing tables are the committed result files, included
// verbatim (bench/lib/readme-include.ts): a hand edit of a number, or a run whose file was
// not folded into the README, fails here.
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { includedPaths, IncludeError, README, refreshReadme, withIncludes } from '../bench/lib/readme-include.ts';

describe('README includes', () => {
  it('includes the mutation, bench and fuzz result files, each current', () => {
    const readme = readFileSync(README, 'utf8');
    expect(includedPaths(readme)).toEqual(['suites/mutation/summary.md', 'fuzz/results/latest.md', 'bench/results/latest.md']);
    expect(withIncludes(readme), 'README.md is not current: node --import tsx bench/lib/readme-include.ts --write').toBe(readme);
  });

  it('replaces a stale block, refuses a missing file or a path out of the repository', () => {
    const root = mkdtempSync(join(tmpdir(), 'bridgelab-include-'));
    try {
      mkdirSync(join(root, 'r'));
      writeFileSync(join(root, 'r', 'x.md'), '| a |\n|---|\n| 2 |\n');
      const path = join(root, 'README.md');
      writeFileSync(path, 'intro\n<!-- include: r/x.md -->\n| a |\n|---|\n| 1 |\n<!-- end include: r/x.md -->\nend\n');
      expect(refreshReadme(path, root)).toBe(true);
      expect(readFileSync(path, 'utf8')).toBe('intro\n<!-- include: r/x.md -->\n| a |\n|---|\n| 2 |\n<!-- end include: r/x.md -->\nend\n');
      expect(refreshReadme(path, root)).toBe(false);
      expect(() => withIncludes('<!-- include: r/none.md -->\n<!-- end include: r/none.md -->', root)).toThrow(IncludeError);
      expect(() => withIncludes('<!-- include: ../x.md -->\n<!-- end include: ../x.md -->', root)).toThrow(/without '\.\.'/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
