import { describe, expect, it } from 'vitest';
import { loadRig, parseRig, type Rig } from '../../rigs/rig.ts';
import { CaseDefinitionError, CaseRun, decideVerdict, faultOf, SetupFailure, type CaseSpec } from './case.ts';
import { envFor } from './env.ts';

const spec = (over: Partial<CaseSpec> = {}): CaseSpec => ({
  id: 'TC_Bridge_Unit.Verdict_Rule',
  title: 'unit',
  group: 'Bridge transport',
  iut: 'bridge',
  purpose: 'unit test of the verdict rule',
  requirement: 'SGP.23 (verdicts)',
  initialConditions: [],
  steps: [
    { action: 'send', expected: 'an answer' },
    { action: 'look at the card hop', expected: 'the card saw it' },
  ],
  ...over,
});

const virtual = loadRig('virtual');
/** A real rig: card eUICC, real modem, bridge running on the device. */
const real: Rig = loadRig('rpi-ec25j');

/** Run `body` as a case on `rig` and decide its verdict as tc() does. */
async function run(body: (c: CaseRun) => Promise<void>, rig: Rig = virtual, s: CaseSpec = spec()) {
  const c = new CaseRun(s, envFor(rig, 'quectel-ec25j', '/nonexistent'));
  try {
    await body(c);
    return { c, v: decideVerdict(s, rig, c.stepStates(), { kind: 'returned' }, c.failed) };
  } catch (error) {
    const outcome = error instanceof SetupFailure ? ({ kind: 'setup-failed', error } as const) : ({ kind: 'threw', error } as const);
    return { c, v: decideVerdict(s, rig, c.stepStates(), outcome, c.failed) };
  }
}

describe('the verdict rule (suites/framework/case.ts)', () => {
  it('Pass only when every declared step ran and held', async () => {
    const { v } = await run(async (c) => {
      await c.step(1, () => expect(1).toBe(1));
      await c.step(2, () => expect(c.observe('cardSide', 'the card saw it')).toBe(true));
    });
    expect(v).toEqual({ verdict: 'Pass', steps: [expect.objectContaining({ n: 1, status: 'pass' }), expect.objectContaining({ n: 2, status: 'pass' })] });
  });

  it('a body that returns without running a declared step is Inconclusive, bridgelab at fault, naming the steps', async () => {
    const { v } = await run(async () => {});
    expect(v.verdict).toBe('Inconclusive');
    expect(v.reason).toBe('the case ended without running steps 1, 2');
    expect(v.failure).toEqual({ category: 'bridgelab', message: 'the case ended without running steps 1, 2' });
    expect(v.steps.map((s) => s.status)).toEqual(['not-run', 'not-run']);
  });

  it('a failed check is Fail with the step, expected and actual, the bridge at fault in a bridge case', async () => {
    const { v } = await run(async (c) => {
      await c.step(1, () => expect('6A82').toBe('9000'));
      await c.step(2, () => undefined);
    });
    expect(v.verdict).toBe('Fail');
    expect(v.reason).toBe("step 1 (send): expected '6A82' to be '9000' // Object.is equality");
    expect(v.failure).toEqual({ category: 'bridge', step: 1, message: "expected '6A82' to be '9000' // Object.is equality", expected: '9000', actual: '6A82' });
    expect(v.steps.map((s) => s.status)).toEqual(['fail', 'not-run']);
  });

  it('a programming error in a step is bridgelab at fault; a failed self-check of the eUICC on a card rig is the rig part', async () => {
    const { v } = await run(async (c) => {
      await c.step(1, () => (undefined as unknown as { eid: string }).eid);
    });
    expect(v.verdict).toBe('Fail');
    expect(v.failure).toMatchObject({ category: 'bridgelab', step: 1 });
    const assertion = new Error('expected 1 to be 2');
    assertion.name = 'AssertionError';
    expect(faultOf(assertion, { id: 'TC_eUICC_ES10c.EnableProfile_Ok', iut: 'self' }, real)).toBe('rig-part');
    expect(faultOf(assertion, { id: 'TC_eUICC_ES10c.EnableProfile_Ok', iut: 'self' }, virtual)).toBe('bridgelab');
    expect(faultOf(assertion, { id: 'TC_SM-DP+_ES9+.AuthenticateClient_Replayed', iut: 'self' }, real)).toBe('bridgelab');
    expect(faultOf(assertion, { id: 'TC_Bridge_APDU.Case1_NoBody', iut: 'bridge' }, real)).toBe('bridge');
  });

  it('a set-up failure is Inconclusive, category setup, with the cause', async () => {
    const { v } = await run(async (c) => {
      await c.setup('a modem that answers', () => {
        throw new Error('ECONNREFUSED');
      });
    });
    expect(v).toMatchObject({ verdict: 'Inconclusive', reason: "initial condition 'a modem that answers' not met: ECONNREFUSED", failure: { category: 'setup' } });
  });

  it('an error outside the declared steps is Inconclusive, and names where it happened', async () => {
    const { v } = await run(async (c) => {
      await c.step(1, () => undefined);
      throw new Error('vpcd connection closed');
    });
    expect(v.verdict).toBe('Inconclusive');
    expect(v.reason).toBe('after step 1, outside the declared steps: vpcd connection closed');
    expect(v.failure).toMatchObject({ category: 'bridge' });
  });

  it('a check the rig cannot observe makes its step not verifiable: Inconclusive, or N/A when no step is verifiable', async () => {
    const partly = await run(async (c) => {
      await c.step(1, () => expect('9000').toBe('9000'));
      await c.step(2, () => {
        if (c.observe('cardSide', 'the card received the command')) throw new Error('must not compare');
      });
    }, real);
    expect(partly.v.verdict).toBe('Inconclusive');
    expect(partly.v.reason).toBe(
      "not verifiable on rig 'rpi-ec25j': step 2: the card received the command: the card side of the modem hop (APDUs the card received) can be observed only with the emulated eUICC, which rig 'rpi-ec25j' has not",
    );
    expect(partly.v.failure).toBeUndefined();
    expect(partly.v.steps.map((s) => s.status)).toEqual(['pass', 'not-verifiable']);

    const none = await run(async (c) => {
      await c.step(1, () => void c.observe('atLines', 'no AT command was sent'));
      await c.step(2, () => void c.observe('modemState', 'the modem keeps no session'));
    }, real);
    expect(none.v.verdict).toBe('N/A');
    expect(none.v.steps.map((s) => s.status)).toEqual(['not-verifiable', 'not-verifiable']);
  });

  it('a failed check outweighs a not-verifiable one in the same step', async () => {
    const { v } = await run(async (c) => {
      await c.step(1, () => {
        c.observe('cardSide', 'the card received it');
        expect(1).toBe(2);
      });
    }, real);
    expect(v.verdict).toBe('Fail');
    expect(v.steps[0]!.status).toBe('fail');
  });

  it('the card EID is observable on a card rig that declares it', () => {
    const withEid = parseRig({ ...real, euicc: { kind: 'card', eid: '89049032123451234512345678901235' } });
    const c = new CaseRun(spec(), envFor(withEid, 'quectel-ec25j', '/nonexistent'));
    expect(c.env.observations.has('cardEid')).toBe(true);
    expect(c.env.observations.has('cardState')).toBe(false);
    expect(() => parseRig({ ...real, euicc: { kind: 'card', eid: '8904' } }, 'x.json')).toThrow(/x\.json: euicc\.eid: 32 decimal digits/);
  });

  it('refuses misuse of the framework: a check outside a step, an undeclared step, a step inside a step', async () => {
    const c = new CaseRun(spec(), envFor(real, 'quectel-ec25j', '/nonexistent'));
    expect(() => c.observe('cardSide', 'x')).toThrow(CaseDefinitionError);
    await expect(c.step(3, () => undefined)).rejects.toThrow(new CaseDefinitionError('TC_Bridge_Unit.Verdict_Rule has no step 3'));
    await expect(c.step(1, () => c.step(2, () => undefined))).rejects.toThrow('TC_Bridge_Unit.Verdict_Rule: step 2 started inside step 1');
  });
});
