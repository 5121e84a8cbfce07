// Campaign `selftest` (listed only with BRIDGELAB_FUZZ_SELFTEST=1): checks the harness
// itself. Iteration 5 stalls synchronously (the worker watchdog must terminate the worker
// and resume at iteration 6), iteration 9 throws from a timer (the worker dies: a crash,
// resumed at 10), iteration 12 is a crash caught per input, iteration 14 an invariant
// violation; every other iteration is a rejection.
import type { Campaign } from '../harness.ts';

export const selftestCampaign: Campaign = {
  name: 'selftest',
  description: 'harness self-test: a synchronous stall, a fatal error, a crash and a violation at known iterations',
  defaultIterations: 20,
  weight: 0.1,
  episodeLength: 1,
  unit: 'input',
  async run(ctx) {
    for (let i = ctx.from; i < ctx.to; i++) {
      ctx.heartbeat(i);
      ctx.stats.count();
      if (i === 5) for (;;) Math.random(); // a stall no promise can interrupt
      if (i === 9) {
        setTimeout(() => {
          throw new Error('selftest: fatal error outside any input');
        }, 0);
        await new Promise((r) => setTimeout(r, 1000));
      }
      if (i === 12) ctx.stats.crash(i, new TypeError('selftest: crash'), 'input 12');
      else if (i === 14) ctx.stats.violation(i, 'selftest: violation', 'input 14');
      else ctx.stats.reject('selftest');
      await new Promise((r) => setImmediate(r));
    }
  },
};
