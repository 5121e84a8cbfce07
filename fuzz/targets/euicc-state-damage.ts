// Campaign `euicc-state-damage`: damaged eUICC state files into `createEuicc` (what every
// command with --state or $BRIDGELAB_EUICC_STATE runs). Each iteration copies a state
// file made by a real run (two profiles, one enabled, their notifications, a fresh
// identity) with its marker and damages it: truncated, zeroed, bit-flipped, deleted under
// its marker, or a JSON edit that keeps the file valid JSON, sealed with a correct digest
// (the inconsistent-but-valid case: values of the wrong type, duplicated or contradicting
// entries).
//
// Must hold: createEuicc either fails with a StateFileError whose one-line message starts
// with the file's name, or succeeds; after byte damage (which the digest covers) a success
// must be the original card, and after any success the card keeps the SGP.22 invariants
// (at most one enabled profile, unique ICCIDs and ISD-P AIDs) and answers GetProfilesInfo.
// Anything else thrown (TypeError ...) is a crash.
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEuicc, type Euicc } from '../../sim/euicc/euicc.ts';
import { StateFileError } from '../../sim/euicc/state.ts';
import { install, rig, testIccid } from '../../sim/euicc/testing/fixtures.ts';
import { TestLpa } from '../../sim/euicc/testing/test-lpa.ts';
import type { Campaign, CampaignContext } from '../harness.ts';
import { damageFile, type DamageKind } from '../file-damage.ts';
import { type Json, mutateJson } from '../json-mutate.ts';
import { Rng } from '../prng.ts';

async function makePristine(path: string): Promise<void> {
  const r = await rig({ statePath: path, identity: 'fresh' });
  await install(r, testIccid(1));
  await install(r, testIccid(2));
  await r.lpa.enable(testIccid(1));
  await r.euicc.close();
}

function seal(state: Record<string, Json>): string {
  return JSON.stringify({ ...state, integrity: `sha256:${createHash('sha256').update(JSON.stringify(state)).digest('hex')}` });
}

function fingerprint(e: Euicc): string {
  return JSON.stringify({ p: e.state.profiles(), n: e.state.notifications(), s: e.state.lastSeqNumber() });
}

export const euiccStateDamageCampaign: Campaign = {
  name: 'euicc-state-damage',
  description: 'damaged eUICC state files (truncated, zeroed, bit-flipped, deleted under the marker, inconsistent re-sealed JSON) into createEuicc',
  defaultIterations: 3000,
  weight: 75,
  episodeLength: 1,
  unit: 'state file',
  async run(ctx: CampaignContext) {
    const work = mkdtempSync(join(tmpdir(), 'bridgelab-fuzz-euiccstate-'));
    const pristine = join(work, 'pristine.json');
    try {
      await makePristine(pristine);
      const original = await createEuicc({ statePath: pristine, identity: 'fresh' });
      const originalPrint = fingerprint(original);
      const identity = { identities: original.identities };
      await original.close();
      const path = join(work, 'card.json');
      for (let i = ctx.from; i < ctx.to; i++) {
        if (Date.now() > ctx.deadline) break;
        ctx.heartbeat(i);
        ctx.stats.count();
        const rng = Rng.for(ctx.seed, 'euicc-state-damage', i);
        copyFileSync(pristine, path);
        copyFileSync(`${pristine}.marker`, `${path}.marker`);
        const kind = rng.weighted<DamageKind | 'inconsistent'>([
          ['truncate', 2],
          ['zero', 2],
          ['flip', 4],
          ['delete', 1],
          ['inconsistent', 4],
        ]);
        let what: string;
        if (kind === 'inconsistent') {
          const { integrity: _i, ...state } = JSON.parse(readFileSync(path, 'utf8')) as Record<string, Json>;
          void _i;
          const mutated = mutateJson(rng, state as Json, [String(state['eid']), 'A0000005591010FFFFFFFF8900001000', '89000123456789012341']);
          writeFileSync(path, typeof mutated === 'object' && mutated !== null && !Array.isArray(mutated) ? seal(mutated as Record<string, Json>) : JSON.stringify(mutated));
          what = 'JSON edit, re-sealed';
        } else what = damageFile(rng, path, kind, 512);
        const shown = `${kind}: ${what}`;
        let e: Euicc;
        try {
          // identities of the fresh card are reused when the state does not name its own
          e = await createEuicc({ statePath: path, identity: kind === 'inconsistent' ? 'fresh' : identity });
        } catch (err) {
          if (err instanceof StateFileError) {
            if (!err.message.startsWith(`eUICC state file ${path}: `) || err.message.includes('\n')) ctx.stats.violation(i, `StateFileError without the file name or on several lines: ${err.message.slice(0, 200)}`, shown);
            else ctx.stats.reject(`StateFileError:${kind}`);
          } else ctx.stats.crash(i, err, shown);
          continue;
        }
        try {
          const profiles = e.state.profiles();
          const iccids = profiles.map((p) => p.iccid);
          const aids = profiles.map((p) => p.isdpAid);
          if (profiles.filter((p) => p.state === 'enabled').length > 1 || new Set(iccids).size !== iccids.length || new Set(aids).size !== aids.length)
            ctx.stats.violation(i, 'a state breaking the SGP.22 invariants was accepted', shown);
          else if (kind !== 'inconsistent' && fingerprint(e) !== originalPrint) ctx.stats.violation(i, 'byte damage changed the card without an error', shown);
          else {
            const lpa = new TestLpa(e);
            await lpa.open();
            await lpa.es10(Uint8Array.of(0xbf, 0x2d, 0x00));
            ctx.stats.accept();
          }
        } catch (err) {
          ctx.stats.crash(i, err, shown);
        } finally {
          await e.close();
        }
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  },
};
