// The fuzz harness: what a campaign is, the statistics it keeps (iterations, accepted
// inputs, rejections by error class or status word, crashes, hangs, invariant
// violations), de-duplicated findings that carry their seed, iteration and a replay
// command line, and the per-input watchdog for asynchronous targets. A crash is an
// exception that is not the target's defined, typed rejection; a hang is an input not
// answered within the watchdog time; an invariant violation is a wrong answer or a
// state change no valid command explains.

export type FindingKind = 'crash' | 'hang' | 'invariant';

export interface Finding {
  readonly kind: FindingKind;
  readonly target: string;
  readonly seed: number;
  /** first iteration that produced it */
  readonly iteration: number;
  /** how many iterations produced the same finding */
  count: number;
  readonly error: string;
  readonly stack?: string;
  /** the input, hex or text, shortened */
  readonly input?: string;
  readonly reproduce: string;
}

export type StopReason = 'count' | 'budget' | 'aborted';

export interface TargetResult {
  readonly target: string;
  readonly seed: number;
  readonly fromIteration: number;
  readonly requestedIterations: number;
  iterations: number;
  accepted: number;
  rejections: Record<string, number>;
  crashes: number;
  hangs: number;
  invariantViolations: number;
  findings: Finding[];
  elapsedMs: number;
  stoppedBy: StopReason;
  /** worker restarts after a hang or a crash that killed it */
  restarts: number;
  notes: string[];
}

/** What a campaign is given. Iterations are numbered globally: [from, to). */
export interface CampaignContext {
  readonly seed: number;
  readonly from: number;
  readonly to: number;
  /** Date.now() value after which the campaign stops (between inputs) */
  readonly deadline: number;
  readonly stats: Stats;
  /** report progress (the worker watchdog sees it); cheap, call per input */
  heartbeat(iteration: number): void;
  note(text: string): void;
}

export interface Campaign {
  readonly name: string;
  readonly description: string;
  /** iterations of a full `npm run fuzz` */
  readonly defaultIterations: number;
  /** share of the time budget (roughly the seconds a full run needs on 2 cores) */
  readonly weight: number;
  /**
   * Stateful targets run episodes of this many iterations from a fresh state; a replay
   * (`--from-iteration`) starts at the episode containing the iteration. 1 = stateless.
   */
  readonly episodeLength: number;
  /** what one iteration is (input, APDU, request, frame) */
  readonly unit: string;
  run(ctx: CampaignContext): Promise<void>;
}

const MAX_FINDINGS = 25;
const MAX_INPUT_CHARS = 600;

export function hexOf(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/** Input as short hex for a finding. */
export function shortHex(b: Uint8Array): string {
  const h = hexOf(b);
  return h.length > MAX_INPUT_CHARS ? `${h.slice(0, MAX_INPUT_CHARS)}...(${b.byteLength} bytes)` : h;
}

export function shortText(s: string): string {
  const j = JSON.stringify(s);
  return j.length > MAX_INPUT_CHARS ? `${j.slice(0, MAX_INPUT_CHARS)}...(${s.length} chars)` : j;
}

/** "DerError:truncated", "JsonFieldError:invalid", "TypeError" ... */
export function errorClass(e: unknown): string {
  if (!(e instanceof Error)) return typeof e;
  const k = (e as { kind?: unknown }).kind ?? (e as { reason?: unknown }).reason ?? (e as { problem?: unknown }).problem;
  return typeof k === 'string' ? `${e.name}:${k}` : e.name;
}

function errorText(e: unknown): { error: string; stack?: string } {
  if (e instanceof Error) return { error: `${e.name}: ${e.message}`, ...(e.stack ? { stack: e.stack.split('\n').slice(0, 12).join('\n') } : {}) };
  return { error: String(e) };
}

/** Key that groups repeated findings: kind, error class, message without numbers, first frame. */
function findingKey(kind: FindingKind, error: string, stack: string | undefined): string {
  const frame = stack?.split('\n').find((l) => l.trim().startsWith('at ')) ?? '';
  return `${kind}|${error.replace(/\d+/g, 'N').slice(0, 160)}|${frame.replace(/:\d+:\d+/g, '')}`;
}

export function reproduceCommand(target: string, seed: number, iteration: number): string {
  return `npm run fuzz -- --seed ${seed} --only ${target} --from-iteration ${iteration} --count 1`;
}

export class Stats {
  iterations = 0;
  accepted = 0;
  readonly rejections = new Map<string, number>();
  crashes = 0;
  hangs = 0;
  invariantViolations = 0;
  readonly findings: Finding[] = [];
  private readonly keys = new Map<string, Finding>();
  readonly notes: string[] = [];

  constructor(
    readonly target: string,
    readonly seed: number,
  ) {}

  /** one input done (call once per iteration, whatever its outcome) */
  count(n = 1): void {
    this.iterations += n;
  }

  accept(): void {
    this.accepted++;
  }

  reject(cls: string): void {
    this.rejections.set(cls, (this.rejections.get(cls) ?? 0) + 1);
  }

  crash(iteration: number, e: unknown, input?: string): void {
    this.crashes++;
    this.add('crash', iteration, errorText(e), input);
  }

  hang(iteration: number, what: string, input?: string): void {
    this.hangs++;
    this.add('hang', iteration, { error: what }, input);
  }

  violation(iteration: number, what: string, input?: string): void {
    this.invariantViolations++;
    this.add('invariant', iteration, { error: what }, input);
  }

  private add(kind: FindingKind, iteration: number, e: { error: string; stack?: string }, input: string | undefined): void {
    const key = findingKey(kind, e.error, e.stack);
    const seen = this.keys.get(key);
    if (seen) {
      seen.count++;
      return;
    }
    const f: Finding = {
      kind,
      target: this.target,
      seed: this.seed,
      iteration,
      count: 1,
      error: e.error,
      ...(e.stack ? { stack: e.stack } : {}),
      ...(input !== undefined ? { input } : {}),
      reproduce: reproduceCommand(this.target, this.seed, iteration),
    };
    this.keys.set(key, f);
    if (this.findings.length < MAX_FINDINGS) this.findings.push(f);
  }

  /** Fold a partial result (from a worker that was restarted) into this one. */
  merge(r: TargetResult): void {
    this.iterations += r.iterations;
    this.accepted += r.accepted;
    for (const [k, v] of Object.entries(r.rejections)) this.rejections.set(k, (this.rejections.get(k) ?? 0) + v);
    this.crashes += r.crashes;
    this.hangs += r.hangs;
    this.invariantViolations += r.invariantViolations;
    for (const f of r.findings) {
      const key = findingKey(f.kind, f.error, f.stack);
      const seen = this.keys.get(key);
      if (seen) seen.count += f.count;
      else {
        const copy = { ...f };
        this.keys.set(key, copy);
        if (this.findings.length < MAX_FINDINGS) this.findings.push(copy);
      }
    }
    this.notes.push(...r.notes);
  }

  result(meta: { fromIteration: number; requestedIterations: number; elapsedMs: number; stoppedBy: StopReason; restarts: number }): TargetResult {
    const rejections: Record<string, number> = {};
    for (const [k, v] of [...this.rejections.entries()].sort((a, b) => b[1] - a[1])) rejections[k] = v;
    return {
      target: this.target,
      seed: this.seed,
      ...meta,
      iterations: this.iterations,
      accepted: this.accepted,
      rejections,
      crashes: this.crashes,
      hangs: this.hangs,
      invariantViolations: this.invariantViolations,
      findings: [...this.findings],
      notes: [...new Set(this.notes)],
    };
  }
}

/** Thrown by Watchdog.run when an input was not answered in time. */
export class WatchdogTimeout extends Error {
  override readonly name = 'WatchdogTimeout';
  constructor(readonly ms: number) {
    super(`no answer within ${ms} ms`);
  }
}

/**
 * Per-input watchdog for asynchronous targets without a timer per input: one interval
 * checks the input in flight and rejects it once it ran longer than `ms`.
 */
export class Watchdog {
  private started = 0;
  private active: ((e: Error) => void) | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(readonly ms: number) {
    this.timer = setInterval(() => this.check(), Math.max(5, Math.min(250, Math.floor(ms / 4))));
  }

  private check(): void {
    if (this.active && performance.now() - this.started > this.ms) {
      const trip = this.active;
      this.active = undefined;
      trip(new WatchdogTimeout(this.ms));
    }
  }

  /** Await `p`, or reject with WatchdogTimeout after `ms`. */
  run<T>(p: Promise<T>): Promise<T> {
    this.started = performance.now();
    return new Promise<T>((resolve, reject) => {
      this.active = reject;
      p.then(
        (v) => {
          this.active = undefined;
          resolve(v);
        },
        (e: unknown) => {
          this.active = undefined;
          reject(e);
        },
      );
    });
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** Deep structural equality of decoded values (Uint8Array by content). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    if (!(a instanceof Uint8Array && b instanceof Uint8Array) || a.byteLength !== b.byteLength) return false;
    for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!(Array.isArray(a) && Array.isArray(b)) || a.length !== b.length) return false;
    return a.every((x, i) => sameValue(x, b[i]));
  }
  if (typeof a === 'object' && typeof b === 'object' && a !== null && b !== null) {
    const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
    const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
    if (ka.length !== kb.length) return false;
    return ka.every((k) => sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return false;
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return sameValue(a, b);
}
