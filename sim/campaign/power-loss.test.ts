// Bounded power-loss campaign for CI (the full one: `npx tsx sim/campaign/run.ts`): the
// eUICC process killed at six characteristic points of a TS.48 download (before the BPP,
// in the ISCR sequence before and after the ISCR is processed, in the middle of the '86'
// segments, right after the installation result, after the last APDU), and the SM-DP+
// process killed after each ES9+ call, plus once with the answer lost. Every point must
// pass the campaign's checks (complete profile or none, notifications, interruption
// result, SM-DP+ records) and end with the profile installed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { euiccPowerLossCampaign, smdpPowerLossCampaign } from './power-loss.ts';

const work = mkdtempSync(join(tmpdir(), 'bridgelab-power-loss-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function first(commands: readonly string[], part: string): number {
  const i = commands.findIndex((c) => c.includes(part));
  if (i < 0) throw new Error(`no APDU of ${part} in the download`);
  return i + 1;
}

function last(commands: readonly string[], part: string): number {
  return commands.length - [...commands].reverse().findIndex((c) => c.includes(part));
}

describe('power-loss campaign (bounded)', () => {
  it('eUICC killed at six points of a download: complete profile or none, interruption result exactly mid-BPP, retry succeeds', async () => {
    let labels: readonly string[] = [];
    const r = await euiccPowerLossCampaign({
      workDir: join(work, 'euicc'),
      points: (n, commands) => {
        labels = commands;
        const s86 = first(commands, 'tlv86');
        const e86 = last(commands, 'tlv86');
        return [first(commands, 'AuthenticateServer'), first(commands, 'iscr'), last(commands, 'iscr'), Math.floor((s86 + e86) / 2), last(commands, 'LoadBoundProfilePackage'), n];
      },
    });
    const problems = r.points.flatMap((p) => p.problems.map((x) => `APDU ${p.apdu} (${p.command}): ${x}`));
    expect(problems).toEqual([]);
    expect(r.apdusPerDownload).toBeGreaterThan(100);
    expect(labels).toHaveLength(r.apdusPerDownload);
    const [beforeBpp, iscrFirstBlock, iscrDone, mid86, pir, end] = r.points;
    // before the BPP: nothing on the card, the same order downloads again
    expect(beforeBpp).toMatchObject({ state: 'none', markerAtKill: false, interruptionResult: false, recovery: 'same-order' });
    // the ISCR sequence not complete: no marker, no result; the BPP is bound to a one-time key the card lost: new order
    expect(iscrFirstBlock).toMatchObject({ state: 'none', markerAtKill: false, midBpp: false, interruptionResult: false, recovery: 'new-order' });
    // ISCR accepted and in the middle of the segments: interruption result (11), the failed order is closed: new order
    for (const p of [iscrDone, mid86]) expect(p).toMatchObject({ state: 'none', markerAtKill: true, midBpp: true, interruptionResult: true, recovery: 'new-order' });
    // after the installation result and after the last APDU: the complete profile
    for (const p of [pir, end]) expect(p).toMatchObject({ state: 'complete', markerAtKill: false, recovery: 'not-needed' });
    expect(r.counts).toMatchObject({ complete: 2, none: 4, failed: 0, withProblems: 0 });
  }, 110_000);

  it('SM-DP+ killed after each ES9+ call: records match what it answered, the download continues or is retried to success', async () => {
    const r = await smdpPowerLossCampaign({
      workDir: join(work, 'smdp'),
      points: [
        { call: 'initiateAuthentication', mode: 'after' },
        { call: 'authenticateClient', mode: 'after' },
        { call: 'getBoundProfilePackage', mode: 'after' },
        { call: 'handleNotification', mode: 'after' },
        { call: 'getBoundProfilePackage', mode: 'lost-response' },
      ],
    });
    const problems = r.points.flatMap((p) => p.problems.map((x) => `${p.call} (${p.mode}): ${x}`));
    expect(problems).toEqual([]);
    expect(r.points.map((p) => p.afterRestart.profileState)).toEqual(['Released', 'Released', 'Downloaded', 'Installed', 'Downloaded']);
    expect(r.points.map((p) => p.recovery)).toEqual(['continued', 'continued', 'continued', 'continued', 'same-order']);
  }, 110_000);
});
