// Fixture suite for cli/certify.test.ts: one case per verdict.
import { expect } from 'vitest';
import { tc } from '../../../suites/framework/case.ts';

const base = {
  group: 'Bridge transport' as const,
  purpose: 'Exercise the certify pipeline.',
  requirement: 'bridgelab certify',
  initialConditions: ['none'],
  steps: [{ action: 'compute', expected: 'the right value' }],
};

tc({ ...base, id: 'TC_Fixture_Certify.Verdict_Pass', title: 'passes' }, async (c) => {
  c.trace.add({ kind: 'apdu', hop: 'lpa-bridge', command: Uint8Array.of(0x00, 0xa4, 0x04, 0x00, 0x00), response: Uint8Array.of(0x90, 0x00), ms: 1 });
  await c.step(1, () => expect(1 + 1).toBe(2));
});
tc({ ...base, id: 'TC_Fixture_Certify.Verdict_Fail', title: 'fails' }, async (c) => {
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
