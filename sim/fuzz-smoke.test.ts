// Bounded smoke run of the fuzz harness (fuzz/, `npm run fuzz` runs the full campaigns) so
// CI exercises it on every commit: 20,000 eUICC APDUs, 2,000 DER mutations and a few
// inputs of every other campaign (the damaged-file, hostile-peer, slow-client and race
// campaigns included), in process, fixed seed. Any crash, hang or invariant
// violation fails the test with the finding and its replay command.
import { describe, expect, it } from 'vitest';
import { CAMPAIGNS } from '../fuzz/campaigns.ts';
import type { TargetResult } from '../fuzz/harness.ts';
import { runInProcess } from '../fuzz/runner.ts';

const SEED = 20261122;

/** iterations per campaign in the smoke run (episodes are rounded up) */
const SMOKE: Readonly<Record<string, number>> = {
  euicc: 20_000,
  der: 2_000,
  json: 2_000,
  'activation-code': 2_000,
  saip: 60,
  certs: 200,
  'bridge-at': 256,
  'vpcd-bridge': 48,
  'vpcd-card': 48,
  smdp: 32,
  'smdp-db-damage': 12,
  'euicc-state-damage': 60,
  'lpa-hostile': 40,
  'smdp-slow': 6,
  'smdp-races': 32,
};

function describeFindings(r: TargetResult): string {
  return r.findings.map((f) => `[${f.kind}] ${f.error}\n  input: ${f.input ?? '-'}\n  ${f.stack ?? ''}\n  replay: ${f.reproduce}`).join('\n');
}

describe('fuzz harness smoke run', () => {
  it('runs every campaign of `npm run fuzz`', () => {
    expect(CAMPAIGNS.map((c) => c.name).sort()).toEqual(Object.keys(SMOKE).sort());
  });

  for (const campaign of CAMPAIGNS) {
    const count = SMOKE[campaign.name] ?? 10;
    it(`${campaign.name}: ${count} ${campaign.unit}s without crash, hang or invariant violation`, { timeout: 60_000 }, async () => {
      const r = await runInProcess(campaign, { seed: SEED, count, budgetMs: 55_000 });
      expect(r.crashes + r.hangs + r.invariantViolations, describeFindings(r)).toBe(0);
      expect(r.stoppedBy).toBe('count');
      expect(r.iterations).toBeGreaterThanOrEqual(count);
      expect(r.accepted + Object.values(r.rejections).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    });
  }
});
