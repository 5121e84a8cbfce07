// One rig runtime per suite file: started before the first case, stopped after
// the last, with each case's trace swapped in. Starting the parts (SM-DP+ TLS
// identity, PTY modem, bridge detection) per file instead of per case keeps a
// full certification run short; cases that need a clean card ask for one. A rig that
// does not start makes every case of the file Inconclusive (SGP.23: the initial
// conditions could not be established), with the one reason why.
import { afterAll, beforeAll } from 'vitest';
import { suiteEnv } from './env.ts';
import { RigRuntime, type RigParts } from './rig-runtime.ts';
import { SetupFailure, type CaseRun } from './case.ts';

export interface SharedRig {
  /** the runtime, with its trace bound to the case `c` */
  (c: CaseRun): RigRuntime;
}

export function useRig(parts: RigParts = {}): SharedRig {
  let rt: RigRuntime | undefined;
  let startError: Error | undefined;
  beforeAll(async () => {
    try {
      rt = await RigRuntime.start(suiteEnv(), parts);
      await rt.recordIdentity();
    } catch (err) {
      startError = err as Error;
    }
  }, 120_000);
  afterAll(async () => {
    await rt?.close();
  }, 60_000);
  return (c: CaseRun) => {
    if (!rt) throw new SetupFailure(`the rig did not start: ${startError?.message ?? 'unknown error'}`, { cause: startError });
    rt.trace = c.trace;
    return rt;
  };
}
