// Tests that drive a fake modem with Debian's own tools (qmicli, mbimcli, libqmi-glib):
// locally they are skipped with one line when the tool is missing; in CI (CI=true) a
// missing tool fails the test, since .ci/run installs it. Runs tools asynchronously: the
// fake modem answers from this same process.
import { accessSync, constants } from 'node:fs';
import { execFile } from 'node:child_process';
import { delimiter, join } from 'node:path';

export function findProgram(name: string): string | null {
  if (name.startsWith('/')) {
    try {
      accessSync(name, constants.X_OK);
      return name;
    } catch {
      return null;
    }
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not in this directory
    }
  }
  return null;
}

/** null when every tool is there; else the skip reason (throws in CI). */
export function missingTools(tools: readonly { program: string; pkg: string }[]): string | null {
  const missing = tools.filter((t) => !findProgram(t.program));
  if (!missing.length) return null;
  const why = `missing ${missing.map((t) => `${t.program} (Debian ${t.pkg})`).join(', ')}`;
  if (process.env.CI) throw new Error(`${why}: .ci/run installs it, CI must not skip these tests`);
  console.warn(`skipped: ${why}`);
  return why;
}

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runTool(program: string, args: readonly string[], input?: string, timeoutMs = 20_000): Promise<ToolResult> {
  return new Promise((resolve) => {
    const child = execFile(program, args, { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as NodeJS.ErrnoException).code === 'number' ? ((err as unknown as { code: number }).code) : 1) : 0;
      resolve({ code, stdout, stderr });
    });
    if (input !== undefined) child.stdin!.end(input);
  });
}
