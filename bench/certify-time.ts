// Wall time of a full `bridgelab certify` on the virtual rig, one personality at a time
// (certify() with --no-html, every suite file under suites/), each pass in a child
// process (certify-child.ts). The suites are being written while this runs: the result
// records which suite files existed and how many cases ran.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CHILD = fileURLToPath(new URL('./certify-child.ts', import.meta.url));

export interface CertifyTiming {
  readonly personality: string;
  /** certify() call, measured inside the child */
  readonly wallMs: number;
  /** the child process from spawn to exit (node + tsx start-up included) */
  readonly processMs: number;
  readonly exitCode: number;
  readonly totals: Record<string, number>;
  readonly cases: number;
  readonly suiteFiles: readonly string[];
  readonly error?: string;
}

export async function timeCertify(personality: string, reportRoot: string, timeoutMs = 20 * 60_000): Promise<CertifyTiming> {
  const reportDir = join(reportRoot, personality);
  const t0 = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, personality, reportDir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  clearTimeout(timer);
  const processMs = performance.now() - t0;
  const line = stdout.trim().split('\n').pop() ?? '';
  if (code !== 0 || !line.startsWith('{')) {
    return { personality, wallMs: Number.NaN, processMs, exitCode: code ?? -1, totals: {}, cases: 0, suiteFiles: [], error: `certify child ${signal ? `killed (${signal}, timeout ${timeoutMs} ms)` : `exited ${code}`}: ${stderr.trim().split('\n').slice(-3).join(' | ')}` };
  }
  const r = JSON.parse(line) as Omit<CertifyTiming, 'processMs'>;
  return { ...r, processMs };
}
