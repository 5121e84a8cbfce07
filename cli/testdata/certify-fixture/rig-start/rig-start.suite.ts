// Fixture for cli/certify.test.ts: a suite file whose rig cannot start (its SM-DP+ is told
// to bind an address this machine does not have, RFC 5737 TEST-NET-1): every case of the
// file is Inconclusive with that one reason, category 'setup', none is Fail.
import { tc } from '../../../../suites/framework/case.ts';
import { useRig } from '../../../../suites/framework/shared-rig.ts';

const rig = useRig({ smdp: { host: '192.0.2.1' } });

const base = {
  group: 'Bridge transport' as const,
  iut: 'bridge' as const,
  purpose: 'Exercise a rig that does not start.',
  requirement: 'SGP.23 (Inconclusive: the initial conditions could not be established)',
  initialConditions: ['the rig started'],
  steps: [{ action: 'use the rig', expected: 'it is there' }],
};

for (const n of [1, 2])
  tc({ ...base, id: `TC_Fixture_Certify.RigDown_${n}`, title: `case ${n} of a file whose rig did not start` }, async (c) => {
    const rt = rig(c);
    await c.step(1, () => void rt.personality);
  });
