// README sections generated from committed result files: `npm run bench` and `npm run fuzz`
// write their tables (with machine, date and command line) to bench/results/latest.md and
// fuzz/results/latest.md, and the README holds each file's text between
//   <!-- include: <path> -->  and  <!-- end include: <path> -->
// so the numbers the README quotes are the numbers a run wrote, never copied by hand.
// Refresh: node --import tsx bench/lib/readme-include.ts --write (bench and fuzz do it
// themselves after a run); cli/readme-include.test.ts fails when the README is not current.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const README = join(ROOT, 'README.md');

const BLOCK = /<!-- include: ([^ ]+) -->\n[\s\S]*?<!-- end include: \1 -->/g;

export class IncludeError extends Error {
  override readonly name = 'IncludeError';
}

/** The README text with every include block replaced by its file's current text. */
export function withIncludes(readme: string, root = ROOT): string {
  return readme.replace(BLOCK, (_all, path: string) => {
    if (path.includes('..') || path.startsWith('/')) throw new IncludeError(`include path '${path}' must be relative to the repository, without '..'`);
    const file = join(root, path);
    if (!existsSync(file)) throw new IncludeError(`README includes '${path}', which does not exist (run the command that writes it)`);
    const text = readFileSync(file, 'utf8').trimEnd();
    return `<!-- include: ${path} -->\n${text}\n<!-- end include: ${path} -->`;
  });
}

/** Paths the README includes, in order. */
export function includedPaths(readme: string): string[] {
  return [...readme.matchAll(BLOCK)].map((m) => m[1]!);
}

/** Rewrite README.md with current includes (whole file replaced at once); true when it changed. */
export function refreshReadme(readmePath = README, root = ROOT): boolean {
  const before = readFileSync(readmePath, 'utf8');
  const after = withIncludes(before, root);
  if (after === before) return false;
  const tmp = `${readmePath}.tmp-${process.pid}`;
  writeFileSync(tmp, after);
  renameSync(tmp, readmePath);
  return true;
}

/** After a run wrote `written`: refresh the README, in one line for the run's output (never throws). */
export function readmeRefreshed(written: string): string {
  try {
    return refreshReadme() ? `README.md: tables refreshed from ${written}` : 'README.md: already current';
  } catch (err) {
    if (err instanceof IncludeError) return `README.md not refreshed: ${err.message}`;
    throw err;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1] && process.argv.includes('--write')) {
  process.stdout.write(refreshReadme() ? 'README.md: includes refreshed\n' : 'README.md: includes already current\n');
}
