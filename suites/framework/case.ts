// SGP.23-style test cases for vitest: `tc(spec, body)` declares a case named
// TC_<IUT>_<Interface>.<Function>_<Variant> with its purpose, initial conditions,
// numbered steps with expected results, the requirement it checks and the rig
// capabilities it needs. The body runs its initial conditions through
// `c.setup(...)` (a failure there is Inconclusive) and its steps through
// `c.step(n, ...)` (a failure there is Fail); a rig without the needed
// capabilities gives N/A. Every case leaves evidence (APDU/AT/HTTP logs and a
// GSMTAP pcap of its trace) in its own directory, attached to the Allure results.
import { it } from 'vitest';
import * as allure from 'allure-js-commons';
import { join } from 'node:path';
import type { Capability } from '../../rigs/rig.ts';
import { Trace, writeTrace, type Hop } from '../../sim/trace/trace.ts';
import { suiteEnv, type SuiteEnv } from './env.ts';
import { caseDirName, writeCaseResult, type CaseGroup, type Iut, type StepResult, type Verdict } from './verdict.ts';

export interface CaseStep {
  action: string;
  expected: string;
}

export interface CaseSpec {
  id: string;
  title: string;
  group: CaseGroup;
  /** what the case judges (default 'bridge'); see Iut */
  iut?: Iut;
  purpose: string;
  /** the requirement checked (spec section or REFERENCE.md fact) */
  requirement: string;
  initialConditions: string[];
  steps: CaseStep[];
  requires?: Capability[];
  /** further applicability decided from the rig: a string is the N/A reason */
  applicable?: (env: SuiteEnv) => true | string;
  timeoutMs?: number;
}

const CASE_ID = /^TC_[A-Za-z0-9+]+(?:-[A-Za-z0-9+]+)*_[A-Za-z0-9+]+(?:-[A-Za-z0-9+]+)*\.[A-Za-z0-9]+_[A-Za-z0-9]+$/;

export class SetupFailure extends Error {
  override readonly name = 'SetupFailure';
}

/** Thrown by `c.notApplicable()` when applicability can only be decided at run time. */
export class NotApplicable extends Error {
  override readonly name = 'NotApplicable';
}

export class CaseRun {
  readonly trace = new Trace();
  private stepsRun = 0;

  constructor(
    readonly spec: CaseSpec,
    readonly env: SuiteEnv,
  ) {}

  /** Establish an initial condition; any error makes the verdict Inconclusive. */
  async setup<T>(what: string, fn: () => Promise<T> | T): Promise<T> {
    try {
      return await allure.step(`Initial condition: ${what}`, async () => await fn());
    } catch (err) {
      throw new SetupFailure(`initial condition '${what}' not met: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Run numbered step n (1-based) of the spec; an error makes the verdict Fail. */
  async step<T>(n: number, fn: () => Promise<T> | T): Promise<T> {
    const s = this.spec.steps[n - 1];
    if (!s) throw new Error(`${this.spec.id} has no step ${n}`);
    this.stepsRun = Math.max(this.stepsRun, n);
    try {
      return await allure.step(`${n}. ${s.action} (expected: ${s.expected})`, async () => await fn());
    } catch (err) {
      if (err instanceof SetupFailure) throw err;
      const e = err as Error;
      e.message = `step ${n} (${s.action}): ${e.message}`;
      throw e;
    }
  }

  /** The rig turned out not to support this case (e.g. no container engine): verdict N/A. */
  notApplicable(reason: string): never {
    throw new NotApplicable(reason);
  }

  get lastStep(): number {
    return this.stepsRun;
  }
}

function description(spec: CaseSpec): string {
  return [
    `**Purpose.** ${spec.purpose}`,
    `**Requirement.** ${spec.requirement}`,
    `**Initial conditions.**\n\n${spec.initialConditions.map((c) => `- ${c}`).join('\n')}`,
    `**Steps.**\n\n${spec.steps.map((s, i) => `${i + 1}. ${s.action} — expected: ${s.expected}`).join('\n')}`,
  ].join('\n\n');
}

/** Declare one test case. */
export function tc(spec: CaseSpec, body: (c: CaseRun) => Promise<void>): void {
  if (!CASE_ID.test(spec.id)) throw new Error(`test case id '${spec.id}' does not follow TC_<IUT>_<Interface>.<Function>_<Variant>`);
  it(`${spec.id}: ${spec.title}`, { timeout: spec.timeoutMs ?? 120_000 }, async (vctx) => {
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
    await allure.parameter('personality', env.personality);

    let verdict: Verdict = 'Pass';
    let reason: string | undefined;
    const missing = (spec.requires ?? []).filter((c) => !env.capabilities.has(c));
    const applicability = missing.length ? `rig '${env.rig.name}' lacks ${missing.join(', ')}` : spec.applicable?.(env);
    let failure: unknown;
    if (applicability !== undefined && applicability !== true) {
      verdict = 'N/A';
      reason = applicability;
    } else {
      try {
        await body(run);
      } catch (err) {
        reason = (err as Error).message;
        if (err instanceof NotApplicable) verdict = 'N/A';
        else {
          verdict = err instanceof SetupFailure ? 'Inconclusive' : 'Fail';
          failure = err;
        }
      }
    }
    const evidence: Record<string, string> = {};
    if (run.trace.events.length) {
      const files = writeTrace(run.trace, join(env.reportDir, dir));
      for (const [k, p] of Object.entries(files)) evidence[k] = join(dir, p.slice(p.lastIndexOf('/') + 1));
      await allure.attachmentPath('APDU log', files.apduLog, { contentType: 'text/plain' });
      await allure.attachmentPath('AT log', files.atLog, { contentType: 'text/plain' });
      await allure.attachmentPath('HTTP log', files.httpLog, { contentType: 'text/plain' });
      await allure.attachmentPath('APDU trace (GSMTAP pcap)', files.pcap, { contentType: 'application/vnd.tcpdump.pcap', fileExtension: 'pcap' });
    }
    writeCaseResult(env.reportDir, {
      id: spec.id,
      title: spec.title,
      group: spec.group,
      iut: spec.iut ?? 'bridge',
      personality: env.personality,
      verdict,
      steps: spec.steps.map((s, i): StepResult => ({ n: i + 1, action: s.action, expected: s.expected, status: i < run.lastStep ? (verdict === 'Fail' && i === run.lastStep - 1 ? 'fail' : 'pass') : 'not-run' })),
      ...(reason ? { reason } : {}),
      durationMs: Math.round(performance.now() - started),
      requirement: spec.requirement,
      evidence: { ...evidence, result: join(dir, 'result.json') },
    });
    if (verdict === 'N/A') vctx.skip(`N/A: ${reason}`);
    if (verdict === 'Inconclusive') vctx.skip(`Inconclusive: ${reason}`);
    if (failure) throw failure;
  });
}

export type { Hop };
