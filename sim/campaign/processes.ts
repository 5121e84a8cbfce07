// Child processes of the power-loss campaign and of the throughput benchmark, each a part
// of the virtual rig run on its own so that it can be SIGKILLed at a chosen point and
// started again from its persistent state:
// - SmdpProcess: the test SM-DP+ (smdp-child.ts) on a data dir, restarted on the same port
//   (activation codes and notification addresses carry hostname:port);
// - EuiccProcess: `bridgelab euicc --vpcd 127.0.0.1:<port> --state <file>` (the real CLI),
//   the software eUICC connecting out to the campaign's vpcd reader listener.
// Every child is killed when the parent exits, even when close() was never reached.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ChildOrder, ChildStats, SmdpChildConfig, SmdpChildRequest } from './smdp-child.ts';
import type { OrderRecord, ProfileRecord, NotificationRecord } from '../smdp/db.ts';
import type { SessionRecord } from '../smdp/session.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SMDP_CHILD = fileURLToPath(new URL('./smdp-child.ts', import.meta.url));
const BRIDGELAB = fileURLToPath(new URL('../../bin/bridgelab.js', import.meta.url));

export class ChildProcessError extends Error {
  override readonly name = 'ChildProcessError';
}

const live = new Set<ChildProcess>();
let hookInstalled = false;

/** Children must not outlive the parent (a test timing out, an exception). */
function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (hookInstalled) return;
  hookInstalled = true;
  process.once('exit', () => {
    for (const c of live) c.kill('SIGKILL');
  });
}

/** SIGKILL and wait until the kernel has reaped the process. */
export async function killHard(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

export interface SmdpState {
  profile?: ProfileRecord;
  order?: OrderRecord;
  sessions: SessionRecord[];
  notifications: NotificationRecord[];
}

/** The SM-DP+ in its own process. */
export class SmdpProcess {
  private child: ChildProcess | undefined;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private stderr: string[] = [];
  port = 0;
  address = '';
  trustAnchorPem = '';
  /** every start of the process (1 + restarts) */
  starts = 0;

  /** `execArgv`: extra node options of the child (e.g. --cpu-prof for profiling) */
  constructor(
    private readonly config: Omit<SmdpChildConfig, 'port'> & { port?: number },
    private readonly execArgv: readonly string[] = [],
  ) {
    this.port = config.port ?? 0;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Start (or start again after a kill) on the data dir; resolves when it listens. */
  async start(timeoutMs = 60_000): Promise<void> {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) throw new ChildProcessError('the SM-DP+ process is already running');
    const config: SmdpChildConfig = { ...this.config, port: this.port };
    const child = spawn(process.execPath, [...this.execArgv, '--import', 'tsx', SMDP_CHILD, JSON.stringify(config)], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    track(child);
    this.child = child;
    this.starts++;
    this.stderr = [];
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => {
      this.stderr.push(d);
      if (this.stderr.length > 50) this.stderr.shift();
    });
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new ChildProcessError(`the SM-DP+ process did not start within ${timeoutMs} ms: ${this.stderr.join('')}`)), timeoutMs);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        const err = new ChildProcessError(`the SM-DP+ process exited (${signal ?? code})${this.stderr.length ? `: ${this.stderr.join('').trim()}` : ''}`);
        reject(err);
        for (const w of this.waiting.values()) w.reject(err);
        this.waiting.clear();
      });
      const lines = createInterface({ input: child.stdout! });
      lines.on('line', (line) => {
        const msg = JSON.parse(line) as { type: 'ready'; port: number; address: string; trustAnchorPem: string } | { type: 'reply'; id: number; ok: boolean; result?: unknown; error?: string };
        if (msg.type === 'ready') {
          clearTimeout(timer);
          this.port = msg.port;
          this.address = msg.address;
          this.trustAnchorPem = msg.trustAnchorPem;
          resolve();
          return;
        }
        const w = this.waiting.get(msg.id);
        if (!w) return;
        this.waiting.delete(msg.id);
        if (msg.ok) w.resolve(msg.result);
        else w.reject(new ChildProcessError(`SM-DP+ process: ${msg.error ?? 'failed'}`));
      });
    });
    await ready;
  }

  private request(req: SmdpChildRequest): Promise<unknown> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.reject(new ChildProcessError('the SM-DP+ process is not running'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      child.stdin!.write(`${JSON.stringify({ id, ...req })}\n`);
    });
  }

  async orders(n = 1): Promise<ChildOrder[]> {
    return (await this.request({ op: 'order', n })) as ChildOrder[];
  }

  /** records of a profile (its order, sessions, notifications) and of the session `transactionId` */
  async state(iccid: string, transactionId?: string): Promise<SmdpState> {
    return (await this.request({ op: 'state', iccid, ...(transactionId !== undefined ? { transactionId } : {}) })) as SmdpState;
  }

  async upp(iccid: string): Promise<string> {
    return (await this.request({ op: 'upp', iccid })) as string;
  }

  async stats(): Promise<ChildStats> {
    return (await this.request({ op: 'stats' })) as ChildStats;
  }

  /** SIGKILL: no shutdown code runs (power loss of the server). */
  async kill(): Promise<void> {
    if (this.child) await killHard(this.child);
  }

  /** Orderly stop (close the database), then wait for the exit. */
  async close(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await this.request({ op: 'close' }).catch((e: unknown) => {
      // the process may exit before its reply is read: the exit is what counts
      if (!(e instanceof ChildProcessError)) throw e;
    });
    await exited;
    clearTimeout(timer);
  }
}

/** `bridgelab euicc` in its own process, connecting to a vpcd reader listening on 127.0.0.1:vpcdPort. */
export class EuiccProcess {
  private child: ChildProcess | undefined;
  private log: string[] = [];
  starts = 0;

  constructor(private readonly opts: { statePath: string; vpcdPort: number; identity?: 'nist' | 'brp' | 'both'; svn?: '2.2.2' | '2.3.0' | '2.5.0' }) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Lines the process wrote to stderr (it logs one line per event; never keys). */
  output(): string[] {
    return [...this.log];
  }

  /** Start the process; the caller accepts its vpcd connection. */
  start(): void {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) throw new ChildProcessError('the eUICC process is already running');
    const args = [BRIDGELAB, 'euicc', '--vpcd', `127.0.0.1:${this.opts.vpcdPort}`, '--state', this.opts.statePath, '--identity', this.opts.identity ?? 'nist', '--svn', this.opts.svn ?? '2.5.0', '--reconnect-ms', '50'];
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    track(child);
    this.child = child;
    this.starts++;
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => {
      this.log.push(...d.split('\n').filter(Boolean));
      if (this.log.length > 500) this.log.splice(0, this.log.length - 500);
    });
  }

  async kill(): Promise<void> {
    if (this.child) await killHard(this.child);
  }

  /** SIGTERM (the CLI stops cleanly), SIGKILL after 5 s. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}
