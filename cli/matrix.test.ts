// The device path for every modem personality, in CI: a bounded certify run over all
// personalities of the chain LPA -> vpcd -> reference bridge -> PTY -> fake modem ->
// software eUICC, with a TS.48 download from the SM-DP+ over HTTPS, enable/disable/
// delete with their notifications, and the modem line faults (URC mid-response, reboot
// with echo, spurious ERROR mid-BPP, reboot mid-BPP, dropped bytes, slow modem).
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { certify, listPersonalities, parseCertifyArgs } from './certify.ts';
import { loadPersonality } from '../sim/modem/personality.ts';

const CASES = [
  'TC_Bridge_ISD-R\\.Select_LogicalChannel',
  'TC_LPA-Bridge_ES9\\+\\.Download_ActivationCode',
  'TC_LPA-Bridge_ES10c\\.(Enable|Disable|Delete)Profile_NotificationDelivered',
  'TC_Bridge_Modem\\.(UrcMidLine_QuectelQind|Reboot_EchoBack|SpuriousErrorBpp_Download|RebootMidBpp_AllOrNothing|DroppedBytes_6F00|SlowResponse_Success)',
];

describe('every modem personality, through the reference bridge', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bridgelab-matrix-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('passes the device-path cases on each personality', async () => {
    const opts = parseCertifyArgs(['--personality', 'all', '--only', `^(${CASES.join('|')}):`, '--report', dir, '--no-html']);
    const { results, exitCode } = await certify(opts, () => {});
    // A modem that refuses a UICC with no enabled profile cannot reach the emulated eUICC, which starts
    // empty: its cases are N/A with that reason (capability emptyCardAccess), never Pass or Fail.
    const unreachable = new Set(listPersonalities().filter((p) => loadPersonality(p).simRequiresUsim));
    const failed = results
      .filter((r) => (unreachable.has(r.personality) ? !(r.verdict === 'N/A' && /no enabled profile/.test(r.reason ?? '')) : r.verdict !== 'Pass'))
      .map((r) => `${r.personality} ${r.id}: ${r.verdict} ${r.reason ?? ''}`);
    expect(failed).toEqual([]);
    expect(unreachable.size).toBeGreaterThan(0);
    expect(exitCode).toBe(0);
    for (const p of listPersonalities()) expect(results.filter((r) => r.personality === p).length, p).toBe(10);
  }, 900_000);
});
