// Fault injection for the software eUICC through a typed run-time API (never APDUs),
// for the suites' error cases (SGP.23): delays by ES10 function (SGP.22 5.7) or INS,
// forced status words (next N APDUs, or an ES10 function), catBusy for Enable/Disable/
// eUICCMemoryReset (5.7.16, 5.7.17, 5.7.19), forced ProfileInstallationResult errors
// (5.7.6: at a bppCommandId or the N-th '86'), card removal/reinsertion/reset.

// Where a rule applies:
// - APDU rules (`ins`, or neither `ins` nor `function`) run before the card sees the
//   APDU: a forced SW leaves the card state untouched (the STORE DATA block is lost).
// - Function rules run in the ISD-R once the complete ES10 command was reassembled,
//   before it is processed: a forced SW leaves the eUICC state untouched. For
//   LoadBoundProfilePackage they apply to each of its STORE DATA sequences.
// - A rule naming a function is a function rule: its `ins` is ignored.
import type { BeforeCommandAction, BeforeCommandContext } from './card/card.ts';
import type { Es10FunctionName } from './functions.ts';

export interface DelayRule {
  readonly ms: number;
  /** an ES10 function (applied in the ISD-R) */
  readonly function?: Es10FunctionName;
  /** an APDU instruction byte, e.g. 0xE2 (applied before the card) */
  readonly ins?: number;
  /** how many times (default: until cancelled) */
  readonly times?: number;
}

export interface ForcedSwRule {
  readonly sw: number;
  readonly function?: Es10FunctionName;
  readonly ins?: number;
  /** how many times: default 1 for APDU rules ("the next command"), unlimited for function rules */
  readonly times?: number;
}

export type InstallErrorRule =
  /** fail when the BPP reaches this command (ConfigureISDP 1, StoreMetadata 2, ReplaceSessionKeys 4, loadProfileElements 5 ...) */
  | { readonly bppCommandId: number; readonly errorReason: number; readonly times?: number }
  /** fail at the N-th '86' segment (1-based) */
  | { readonly segment86: number; readonly errorReason: number; readonly times?: number };

export interface RemovalRule {
  /** pull the card out when the N-th APDU from now arrives (1 = the next one); it gets no answer */
  readonly atCommand: number;
}

/** A rule installed by the control API; cancel() removes it. */
export interface FaultHandle {
  /** how many times the rule fired */
  readonly hits: number;
  /** fires left (Infinity for unlimited) */
  readonly remaining: number;
  cancel(): void;
}

/** The card operations faults need (implemented by the card layer). */
export interface CardControl {
  remove(): void;
  insert(): void;
  reset(): Promise<Uint8Array>;
}

class Rule<T> implements FaultHandle {
  hits = 0;
  constructor(
    readonly spec: T,
    public remaining: number,
    private readonly owner: Set<Rule<T>>,
  ) {}
  cancel(): void {
    this.owner.delete(this);
  }
  /** count one use; returns false when exhausted */
  fire(): boolean {
    if (this.remaining <= 0) return false;
    this.hits++;
    this.remaining--;
    if (this.remaining <= 0) this.owner.delete(this);
    return true;
  }
}

function checkTimes(times: number | undefined, fallback: number): number {
  const t = times ?? fallback;
  if (!(t === Infinity || (Number.isInteger(t) && t > 0))) throw new RangeError(`times must be a positive integer, got ${t}`);
  return t;
}

function checkSw(sw: number): void {
  if (!Number.isInteger(sw) || sw < 0x6000 || sw > 0x9fff) throw new RangeError(`forced SW must be 6000..9FFF, got ${sw.toString(16)}`);
}

export class EuiccFaults {
  private readonly delays = new Set<Rule<DelayRule>>();
  private readonly sws = new Set<Rule<ForcedSwRule>>();
  private readonly installErrors = new Set<Rule<InstallErrorRule>>();
  private removal: { countdown: number } | undefined;
  private catBusyFlag = false;

  constructor(private readonly card: CardControl) {}

  // -------------------------------------------------------------------------
  // Control API

  /** Delay commands by `ms` (an ES10 function, an INS, or every APDU). */
  delay(rule: DelayRule): FaultHandle {
    if (!Number.isFinite(rule.ms) || rule.ms < 0) throw new RangeError(`delay must be >= 0 ms, got ${rule.ms}`);
    const r = new Rule(rule, checkTimes(rule.times, Infinity), this.delays);
    this.delays.add(r);
    return r;
  }

  /** Answer `sw` instead of processing: the next `times` APDUs (default 1), APDUs with `ins`, or calls of `function`. */
  forceSw(rule: ForcedSwRule): FaultHandle {
    checkSw(rule.sw);
    const r = new Rule(rule, checkTimes(rule.times, rule.function ? Infinity : 1), this.sws);
    this.sws.add(r);
    return r;
  }

  /** EnableProfile / DisableProfile / eUICCMemoryReset answer catBusy (5) while set. */
  get catBusy(): boolean {
    return this.catBusyFlag;
  }
  set catBusy(v: boolean) {
    this.catBusyFlag = v;
  }

  /** Make the next BPP fail with `errorReason` at a bppCommandId or at the N-th 86 segment (once by default). */
  installError(rule: InstallErrorRule): FaultHandle {
    if ('segment86' in rule && (!Number.isInteger(rule.segment86) || rule.segment86 < 1)) throw new RangeError('segment86 is 1-based');
    const r = new Rule(rule, checkTimes(rule.times, 1), this.installErrors);
    this.installErrors.add(r);
    return r;
  }

  /** Pull the card out now, or when the N-th APDU from now arrives. */
  removeCard(rule?: RemovalRule): void {
    if (!rule) {
      this.removal = undefined;
      this.card.remove();
      return;
    }
    if (!Number.isInteger(rule.atCommand) || rule.atCommand < 1) throw new RangeError('atCommand is 1-based');
    this.removal = { countdown: rule.atCommand };
  }

  /** Put the card back (powered, after-ATR state). */
  insertCard(): void {
    this.card.insert();
  }

  /** Warm reset of the card (as a modem's AT+CFUN cycle or a REFRESH would do). */
  resetCard(): Promise<Uint8Array> {
    return this.card.reset();
  }

  /** Remove every rule and clear catBusy / a scheduled removal. */
  clear(): void {
    this.delays.clear();
    this.sws.clear();
    this.installErrors.clear();
    this.removal = undefined;
    this.catBusyFlag = false;
  }

  // -------------------------------------------------------------------------
  // Hooks used by the card layer and the ISD-R

  /** Card beforeCommand hook: APDU-level rules. */
  beforeApdu(ctx: BeforeCommandContext): BeforeCommandAction | undefined {
    if (this.removal && --this.removal.countdown <= 0) {
      this.removal = undefined;
      return { remove: true };
    }
    const ins = ctx.capdu[1];
    const applies = (r: { function?: Es10FunctionName; ins?: number }): boolean => r.function === undefined && (r.ins === undefined || r.ins === ins);
    let delayMs = 0;
    for (const r of [...this.delays]) if (applies(r.spec) && r.fire()) delayMs += r.spec.ms;
    let sw: number | undefined;
    for (const r of [...this.sws]) {
      if (applies(r.spec) && r.fire()) {
        sw = r.spec.sw;
        break;
      }
    }
    if (delayMs === 0 && sw === undefined) return undefined;
    return { ...(delayMs ? { delayMs } : {}), ...(sw !== undefined ? { sw } : {}) };
  }

  /** ISD-R hook before an ES10 function runs: total delay and a forced SW, if any. */
  beforeFunction(name: Es10FunctionName): { delayMs: number; sw?: number } {
    let delayMs = 0;
    for (const r of [...this.delays]) if (r.spec.function === name && r.fire()) delayMs += r.spec.ms;
    for (const r of [...this.sws]) if (r.spec.function === name && r.fire()) return { delayMs, sw: r.spec.sw };
    return { delayMs };
  }

  /** BPP hook: a forced errorReason for this bppCommandId (and 86 segment number), if any. */
  installErrorFor(bppCommandId: number, segment86?: number): number | undefined {
    for (const r of [...this.installErrors]) {
      const s = r.spec;
      const hit = 'segment86' in s ? segment86 !== undefined && s.segment86 === segment86 : s.bppCommandId === bppCommandId;
      if (hit && r.fire()) return s.errorReason;
    }
    return undefined;
  }
}
