// Runs the real `bridgelab` command (bin/bridgelab.js) in a child process for tests that
// need its exit code, its signal and its stderr exactly as a user sees them. A command
// that is still running after `runMs` (a server that started) is stopped with SIGTERM and
// reported as `started`.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** still running after runMs (and then stopped) */
  started: boolean;
}

export function runCli(args: readonly string[], o: { runMs?: number; env?: Record<string, string>; startedWhen?: RegExp } = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/bridgelab.js', ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...o.env } });
    let stdout = '';
    let stderr = '';
    let started = false;
    const stop = (): void => {
      if (started) return;
      started = true;
      child.kill('SIGTERM');
    };
    const timer = setTimeout(stop, o.runMs ?? 20_000);
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
      if (o.startedWhen?.test(stdout)) stop();
    });
    child.stderr.on('data', (c: Buffer) => void (stderr += c.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, started });
    });
  });
}
