// SGP.23-style test cases for vitest (SGP.23 section 2: test case structure and verdicts):
// `tc(spec, body)` declares a case named TC_<IUT>_<Interface>.<Function>_<Variant> with its
// implementation under test (the bridge, or bridgelab's own parts), purpose, initial
// conditions, numbered steps with expected results, the requirement it checks and the rig
// capabilities it needs. The body establishes its initial conditions through
// `c.setup(...)` and runs its steps through `c.step(n, ...)`; a check that needs something
// the rig cannot see (the card side of the modem hop, the AT lines...) asks
// `c.observe(observation, why)` first and skips its comparison when told no.
//
// The verdict follows from what happened to the declared steps, by one rule:
//   - the rig lacks a capability the case needs, or the body says so (c.notApplicable): N/A;
//   - an initial condition could not be established (c.setup threw, the rig did not
//     start): Inconclusive, category 'setup', with the cause;
//   - any step failed (its function threw): Fail;
//   - else every step was not verifiable on this rig: N/A;
//   - else any step not verifiable, not run, or an error outside the steps: Inconclusive;
//   - else (every declared step ran and its checks held): Pass.
// A Fail or Inconclusive carries who is at fault (FailureDetail.category): programming
// errors (TypeError, ReferenceError...) are bridgelab's; a failed check is the bridge's in a
// bridge case, and bridgelab's (or a real card's, for a TC_eUICC case on a card) in a
// self-check. Every case leaves evidence (APDU/AT/HTTP/bridge logs with a marker line per
// step, events and a GSMTAP pcap of its trace) in its own directory, attached to the Allure
// results, and each step records the lines of each log it produced.
import { it } from 'vitest';
import * as allure from 'allure-js-commons';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { missingObservation, type Capability, type Observation, type Rig } from '../../rigs/rig.ts';
import { Trace, writeTrace, type Hop } from '../../sim/trace/trace.ts';
import { suiteEnv, type SuiteEnv } from './env.ts';
import { caseDirName, writeCaseResult, type CaseGroup, type FailureDetail, type FaultCategory, type Iut, type StepResult, type StepStatus, type Verdict } from './verdict.ts';

export interface CaseStep {
  action: string;
  expected: string;
}

export interface CaseSpec {
  id: string;
  title: string;
  group: CaseGroup;
  /** what the case judges: 'bridge' (the bridge is on the path and decides the verdict) or 'self' (bridgelab's own parts); see Iut */
  iut: Iut;
  purpose: string;
  /** the requirement checked, citing a public document (SGP.22/SGP.23 sections, 3GPP TS 27.007, ISO/IEC 7816, ETSI TS 102 221...) */
  requirement: string;
  initialConditions: string[];
  steps: CaseStep[];
  requires?: Capability[];
  /** further applicability decided from the rig: a string is the N/A reason */
  applicable?: (env: SuiteEnv) => true | string;
  timeoutMs?: number;
}

const CASE_ID = /^TC_[A-Za-z0-9+]+(?:-[A-Za-z0-9+]+)*_[A-Za-z0-9+]+(?:-[A-Za-z0-9+]+)*\.[A-Za-z0-9]+_[A-Za-z0-9]+$/;

/** Vitest tag of a case by its IUT: certify leaves out 'self' unless --include-self-checks. */
export const IUT_TAG: Record<Iut, string> = { bridge: 'bridge', self: 'self' };

export class SetupFailure extends Error {
  override readonly name = 'SetupFailure';
}

/** Thrown by `c.notApplicable()` when applicability can only be decided at run time. */
export class NotApplicable extends Error {
  override readonly name = 'NotApplicable';
}

/** A misuse of the case framework by a case (a defect of bridgelab, not of the IUT). */
export class CaseDefinitionError extends Error {
  override readonly name = 'CaseDefinitionError';
}

interface StepState {
  status: StepStatus;
  detail?: string;
}

/** What a failed check says, in the words of FailureDetail. */
interface CheckFailure {
  step?: number;
  error: unknown;
}

export class CaseRun {
  readonly trace = new Trace();
  private readonly states: StepState[];
  private running: number | undefined;
  /** the first step failure (the verdict's cause) */
  failed: CheckFailure | undefined;

  constructor(
    readonly spec: CaseSpec,
    readonly env: SuiteEnv,
  ) {
    this.states = spec.steps.map(() => ({ status: 'not-run' }));
  }

  /** Establish an initial condition; any error makes the verdict Inconclusive. */
  async setup<T>(what: string, fn: () => Promise<T> | T): Promise<T> {
    this.trace.begin(what);
    try {
      return await allure.step(`Initial condition: ${what}`, async () => await fn());
    } catch (err) {
      if (err instanceof SetupFailure || err instanceof NotApplicable) throw err;
      throw new SetupFailure(`initial condition '${what}' not met: ${(err as Error).message}`, { cause: err });
    } finally {
      this.trace.end(what);
    }
  }

  /** Run numbered step n (1-based) of the spec; an error makes the verdict Fail. */
  async step<T>(n: number, fn: () => Promise<T> | T): Promise<T> {
    const s = this.spec.steps[n - 1];
    const state = this.states[n - 1];
    if (!s || !state) throw new CaseDefinitionError(`${this.spec.id} has no step ${n}`);
    if (this.running !== undefined) throw new CaseDefinitionError(`${this.spec.id}: step ${n} started inside step ${this.running}`);
    this.running = n;
    // a step run again (a loop over variants) keeps the worst of its runs
    const before = state.status;
    if (before === 'not-run') state.status = 'pass';
    this.trace.begin(s.action, n);
    try {
      return await allure.step(`${n}. ${s.action} (expected: ${s.expected})`, async () => await fn());
    } catch (err) {
      if (err instanceof SetupFailure || err instanceof NotApplicable) {
        if (before === 'not-run') state.status = 'not-run';
        throw err;
      }
      const e = err as Error;
      state.status = 'fail';
      state.detail = e.message;
      this.failed ??= { step: n, error: err };
      e.message = `step ${n} (${s.action}): ${e.message}`;
      throw e;
    } finally {
      this.trace.end(s.action, n);
      this.running = undefined;
    }
  }

  /**
   * Whether the rig can make `observation`, which the check about to run needs (`why` says
   * for what). When it cannot, the running step becomes 'not verifiable' with the reason,
   * and the caller skips the comparison: a check never compares data the rig could not see.
   */
  observe(observation: Observation, why: string): boolean {
    if (this.env.observations.has(observation)) return true;
    const n = this.running;
    if (n === undefined) throw new CaseDefinitionError(`${this.spec.id}: observe('${observation}') outside a step (${why}); checks belong in steps`);
    const state = this.states[n - 1]!;
    const detail = `${why}: ${missingObservation(observation)}, which rig '${this.env.rig.name}' has not`;
    if (state.status !== 'fail') state.status = 'not-verifiable';
    if (!state.detail?.includes(detail)) state.detail = state.detail ? `${state.detail}; ${detail}` : detail;
    return false;
  }

  /** The rig turned out not to support this case (e.g. no container engine): verdict N/A. */
  notApplicable(reason: string): never {
    throw new NotApplicable(reason);
  }

  /** What happened to every declared step so far. */
  stepStates(): readonly Readonly<StepState>[] {
    return this.states;
  }
}

/**
 * Every case on the emulated eUICC reaches it through the modem, and that card starts with no
 * enabled profile: a modem that refuses such a card leaves nothing to judge.
 */
function emptyCardUnreachable(env: SuiteEnv): string | undefined {
  if (env.rig.euicc.kind !== 'emulated' || env.capabilities.has('emptyCardAccess')) return undefined;
  return `the modem (${env.personality}) gives no access to an eUICC with no enabled profile (simRequiresUsim), and the emulated eUICC starts with none`;
}

/** Errors that are defects of bridgelab's own code whatever the IUT did. */
function isProgrammingError(err: unknown): boolean {
  return err instanceof TypeError || err instanceof ReferenceError || err instanceof SyntaxError || err instanceof RangeError || err instanceof EvalError || err instanceof URIError || err instanceof CaseDefinitionError;
}

function isAssertion(err: unknown): err is Error & { expected?: unknown; actual?: unknown } {
  return err instanceof Error && (err.name === 'AssertionError' || 'expected' in err || 'actual' in err);
}

/** Who is at fault when a check of `spec` failed with `err` on `rig`. */
export function faultOf(err: unknown, spec: Pick<CaseSpec, 'id' | 'iut'>, rig: Rig): FaultCategory {
  if (isProgrammingError(err)) return 'bridgelab';
  // a bridge port's job includes coping with its real modem, so a bridge case blames the bridge on any rig
  if (spec.iut === 'bridge') return 'bridge';
  // a self-check judges the part its id names (SGP.23 TC_<IUT>_...): a real card is the rig's, the rest bridgelab's
  return spec.id.startsWith('TC_eUICC_') && rig.euicc.kind === 'card' ? 'rig-part' : 'bridgelab';
}

const describeValue = (v: unknown): string => (typeof v === 'string' ? v : inspect(v, { depth: 4, breakLength: Infinity, maxArrayLength: 64, maxStringLength: 2000 }));

function failureDetail(category: FaultCategory, err: unknown, step: number | undefined, message: string): FailureDetail {
  const out: FailureDetail = { category, message, ...(step !== undefined ? { step } : {}) };
  if (isAssertion(err)) {
    if (err.expected !== undefined) out.expected = describeValue(err.expected);
    if (err.actual !== undefined) out.actual = describeValue(err.actual);
  }
  return out;
}

/** How the body of a case ended. */
export type BodyOutcome =
  | { kind: 'returned' }
  | { kind: 'not-applicable'; reason: string }
  | { kind: 'setup-failed'; error: unknown }
  | { kind: 'threw'; error: unknown };

export interface CaseVerdict {
  verdict: Verdict;
  reason?: string;
  failure?: FailureDetail;
  steps: StepResult[];
}

const stepList = (steps: readonly StepResult[]): string => steps.map((s) => s.n).join(', ');

/** The verdict of a case from its steps and how its body ended (the rule in this module's header). */
export function decideVerdict(spec: CaseSpec, rig: Rig, states: readonly Readonly<StepState>[], outcome: BodyOutcome, failed?: CheckFailure): CaseVerdict {
  const steps = spec.steps.map((s, i): StepResult => {
    const st = states[i] ?? { status: 'not-run' };
    return { n: i + 1, action: s.action, expected: s.expected, status: st.status, ...(st.detail !== undefined ? { detail: st.detail } : {}) };
  });
  if (outcome.kind === 'not-applicable') return { verdict: 'N/A', reason: outcome.reason, steps };
  if (outcome.kind === 'setup-failed') {
    const message = (outcome.error as Error)?.message ?? String(outcome.error);
    const cause = (outcome.error as Error)?.cause ?? outcome.error;
    return { verdict: 'Inconclusive', reason: message, failure: failureDetail(isProgrammingError(cause) ? 'bridgelab' : 'setup', cause, undefined, message), steps };
  }
  const failedSteps = steps.filter((s) => s.status === 'fail');
  if (failedSteps.length && failed) {
    const message = (failed.error as Error)?.message ?? String(failed.error);
    return { verdict: 'Fail', reason: message, failure: failureDetail(faultOf(failed.error, spec, rig), failed.error, failed.step, failedSteps[0]!.detail ?? message), steps };
  }
  if (outcome.kind === 'threw') {
    const err = outcome.error;
    const done = steps.filter((s) => s.status !== 'not-run');
    const where = done.length ? `after step ${done[done.length - 1]!.n}` : 'before the first step';
    const message = `${where}, outside the declared steps: ${(err as Error)?.message ?? String(err)}`;
    // a check outside the steps is a defect of the case; anything else is judged like a failed check
    const category = isAssertion(err) ? 'bridgelab' : faultOf(err, spec, rig);
    return { verdict: 'Inconclusive', reason: message, failure: failureDetail(category, err, undefined, message), steps };
  }
  const notVerifiable = steps.filter((s) => s.status === 'not-verifiable');
  const notRun = steps.filter((s) => s.status === 'not-run');
  const why = (list: readonly StepResult[]) => list.map((s) => `step ${s.n}: ${s.detail}`).join('; ');
  if (steps.length > 0 && notVerifiable.length === steps.length) return { verdict: 'N/A', reason: `not verifiable on rig '${rig.name}': ${why(notVerifiable)}`, steps };
  if (notRun.length) {
    const message = `the case ended without running step${notRun.length > 1 ? 's' : ''} ${stepList(notRun)}${notVerifiable.length ? `; not verifiable: ${why(notVerifiable)}` : ''}`;
    return { verdict: 'Inconclusive', reason: message, failure: { category: 'bridgelab', message }, steps };
  }
  if (notVerifiable.length) return { verdict: 'Inconclusive', reason: `not verifiable on rig '${rig.name}': ${why(notVerifiable)}`, steps };
  if (steps.length === 0) {
    const message = 'the case declares no step, so nothing was checked';
    return { verdict: 'Inconclusive', reason: message, failure: { category: 'bridgelab', message }, steps };
  }
  return { verdict: 'Pass', steps };
}

function description(spec: CaseSpec): string {
  return [
    `**Implementation under test.** ${spec.iut === 'bridge' ? 'the LPA Bridge' : "bridgelab's own parts (self-check)"}`,
    `**Purpose.** ${spec.purpose}`,
    `**Requirement.** ${spec.requirement}`,
    `**Initial conditions.**\n\n${spec.initialConditions.map((c) => `- ${c}`).join('\n')}`,
    `**Steps.**\n\n${spec.steps.map((s, i) => `${i + 1}. ${s.action} — expected: ${s.expected}`).join('\n')}`,
  ].join('\n\n');
}

/** Declare one test case. */
export function tc(spec: CaseSpec, body: (c: CaseRun) => Promise<void>): void {
  if (!CASE_ID.test(spec.id)) throw new Error(`test case id '${spec.id}' does not follow TC_<IUT>_<Interface>.<Function>_<Variant>`);
  if (spec.iut !== 'bridge' && spec.iut !== 'self') throw new Error(`test case ${spec.id}: iut must be 'bridge' or 'self'`);
  it(`${spec.id}: ${spec.title}`, { timeout: spec.timeoutMs ?? 120_000, tags: [IUT_TAG[spec.iut]] }, async (vctx) => {
    const env = suiteEnv();
    const started = performance.now();
    const dir = caseDirName(spec.id, env.personality);
    const run = new CaseRun(spec, env);
    await allure.testCaseId(spec.id);
    await allure.displayName(`${spec.id}: ${spec.title}`);
    await allure.parentSuite(env.personality);
    await allure.suite(spec.group);
    await allure.description(description(spec));
    await allure.label('requirement', spec.requirement);
    await allure.label('iut', spec.iut);
    await allure.parameter('personality', env.personality);

    const missing = (spec.requires ?? []).filter((c) => !env.capabilities.has(c));
    const applicability = missing.length ? `rig '${env.rig.name}' lacks ${missing.join(', ')}` : (emptyCardUnreachable(env) ?? spec.applicable?.(env));
    let outcome: BodyOutcome;
    if (applicability !== undefined && applicability !== true) outcome = { kind: 'not-applicable', reason: applicability };
    else {
      try {
        await body(run);
        outcome = { kind: 'returned' };
      } catch (err) {
        if (err instanceof NotApplicable) outcome = { kind: 'not-applicable', reason: err.message };
        else if (err instanceof SetupFailure) outcome = { kind: 'setup-failed', error: err };
        else outcome = { kind: 'threw', error: err };
      }
    }
    const decided = decideVerdict(spec, env.rig, run.stepStates(), outcome, run.failed);
    const evidence: Record<string, string> = {};
    if (run.trace.events.length) {
      const written = writeTrace(run.trace, join(env.reportDir, dir));
      const { stepLines, ...files } = written;
      for (const [k, p] of Object.entries(files)) evidence[k] = join(dir, p.slice(p.lastIndexOf('/') + 1));
      for (const s of decided.steps) if (stepLines[s.n]) s.lines = stepLines[s.n];
      await allure.attachmentPath('APDU log', files.apduLog, { contentType: 'text/plain' });
      await allure.attachmentPath('AT log', files.atLog, { contentType: 'text/plain' });
      await allure.attachmentPath('HTTP log', files.httpLog, { contentType: 'text/plain' });
      await allure.attachmentPath('Bridge log', files.bridgeLog, { contentType: 'text/plain' });
      await allure.attachmentPath('APDU trace (GSMTAP pcap)', files.pcap, { contentType: 'application/vnd.tcpdump.pcap', fileExtension: 'pcap' });
    }
    const { verdict, reason } = decided;
    writeCaseResult(env.reportDir, {
      id: spec.id,
      title: spec.title,
      group: spec.group,
      iut: spec.iut,
      personality: env.personality,
      verdict,
      ...(reason ? { reason } : {}),
      ...(decided.failure ? { failure: decided.failure } : {}),
      steps: decided.steps,
      durationMs: Math.round(performance.now() - started),
      requirement: spec.requirement,
      evidence: { ...evidence, result: join(dir, 'result.json') },
    });
    if (verdict === 'N/A') vctx.skip(`N/A: ${reason}`);
    if (verdict === 'Inconclusive') vctx.skip(`Inconclusive: ${reason}`);
    if (verdict === 'Fail') throw (run.failed?.error as Error | undefined) ?? new Error(reason);
  });
}

export type { Hop };
