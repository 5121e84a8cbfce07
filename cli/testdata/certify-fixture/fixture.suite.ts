// Fixture suite for cli/certify.test.ts: one case per verdict rule of suites/framework/case.ts.
import { expect } from 'vitest';
import { tc } from '../../../suites/framework/case.ts';

const base = {
  group: 'Bridge transport' as const,
  iut: 'bridge' as const,
  purpose: 'Exercise the certify pipeline.',
  requirement: 'SGP.23 (test case verdicts)',
  initialConditions: ['none'],
  steps: [{ action: 'compute', expected: 'the right value' }],
};
const twoSteps = [
  { action: 'compute', expected: 'the right value' },
  { action: 'compare with the card side', expected: 'the card saw it' },
];

tc({ ...base, id: 'TC_Fixture_Certify.Verdict_Pass', title: 'passes' }, async (c) => {
  await c.step(1, () => {
    c.trace.add({ kind: 'apdu', hop: 'lpa-bridge', command: Uint8Array.of(0x00, 0xa4, 0x04, 0x00, 0x00), response: Uint8Array.of(0x90, 0x00), ms: 1 });
    expect(1 + 1).toBe(2);
  });
});
tc({ ...base, id: 'TC_Fixture_Certify.Verdict_Fail', title: 'fails' }, async (c) => {
  c.trace.add({ kind: 'apdu', hop: 'lpa-bridge', command: Uint8Array.of(0x00, 0xa4, 0x04, 0x00, 0x00), response: Uint8Array.of(0x6a, 0x82), ms: 1 });
  await c.step(1, () => expect(1 + 1).toBe(3));
});
tc({ ...base, id: 'TC_Fixture_Certify.Verdict_NA', title: 'not applicable', requires: ['uartTiming'] }, async () => {
  throw new Error('must not run');
});
tc({ ...base, id: 'TC_Fixture_Certify.Verdict_Inconclusive', title: 'set-up fails' }, async (c) => {
  await c.setup('a modem that answers', () => {
    throw new Error('no modem');
  });
  await c.step(1, () => undefined);
});
tc({ ...base, id: 'TC_Fixture_Certify.Verdict_RuntimeNA', title: 'not applicable at run time' }, async (c) => {
  c.notApplicable('no container engine');
});
// a body that returns without running its second step proves nothing about it
tc({ ...base, id: 'TC_Fixture_Certify.Verdict_StepNotRun', title: 'returns before its last step', steps: twoSteps }, async (c) => {
  await c.step(1, () => expect(2 * 2).toBe(4));
});
// a defect of bridgelab's own code, not an assertion about the IUT
tc({ ...base, id: 'TC_Fixture_Certify.Verdict_FrameworkBug', title: 'hits a TypeError' }, async (c) => {
  await c.step(1, () => {
    const missing = undefined as unknown as { eid: string };
    return missing.eid;
  });
});
tc({ ...base, id: 'TC_Fixture_Certify.Verdict_SelfCheck', title: "a self-check of bridgelab's own parts", iut: 'self' }, async (c) => {
  await c.step(1, () => expect(3).toBe(3));
});
tc({ ...base, id: 'TC_Fixture_Certify.Verdict_SelfCheckFail', title: "a failing self-check of bridgelab's own parts", iut: 'self' }, async (c) => {
  await c.step(1, () => expect(3).toBe(4));
});
