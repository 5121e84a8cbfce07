// Campaign `saip`: mutated GSMA TS.48 profile packages (SAIP, the 18 files of
// sim/smdp/profiles) into splitProfileElements (strict and lenient), readProfile and
// personaliseProfile. Only DerError (structure) and SaipError (well-formed but unusable)
// may escape; a package that splits must join back to the same bytes.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DerError } from '../../sim/rsp/der.ts';
import { SaipError } from '../../sim/saip/errors.ts';
import { joinProfileElements, splitProfileElements } from '../../sim/saip/package.ts';
import { personaliseProfile } from '../../sim/saip/personalise.ts';
import { readProfile } from '../../sim/saip/profile.ts';
import type { Campaign, CampaignContext } from '../harness.ts';
import { errorClass, sameBytes, shortHex } from '../harness.ts';
import { mutateBytes, mutateDer } from '../mutate.ts';
import { Rng } from '../prng.ts';

const PROFILES_DIR = fileURLToPath(new URL('../../sim/smdp/profiles/', import.meta.url));

/**
 * The TS.48 packages, followed by a reduced copy of each (header, mf, usim, the USIM's
 * akaParameter, end: what readProfile walks), which mutates and parses several times faster.
 */
export function ts48Packages(): Uint8Array[] {
  const full = readdirSync(PROFILES_DIR)
    .filter((f) => f.endsWith('.der'))
    .sort()
    .map((f) => new Uint8Array(readFileSync(join(PROFILES_DIR, f))));
  const reduced = full.map((upp) => {
    const pes = splitProfileElements(upp);
    const usim = pes.findIndex((p) => p.name === 'usim');
    const keep = pes.filter((p, i) => p.name === 'header' || p.name === 'mf' || p.name === 'end' || i === usim || (p.name === 'akaParameter' && i > usim && !pes.slice(usim + 1, i).some((q) => q.name === 'akaParameter')));
    return joinProfileElements(keep);
  });
  return [...full, ...reduced];
}

function expected(e: unknown): e is DerError | SaipError {
  return e instanceof DerError || e instanceof SaipError;
}

export function saipInput(seed: number, i: number, packages: readonly Uint8Array[]): { bytes: Uint8Array; rng: Rng } {
  const rng = Rng.for(seed, 'saip', i);
  // reduced packages (second half) three times out of four
  const half = packages.length / 2;
  const base = packages[(i & 3) === 0 ? i % half : half + (i % half)]!;
  const other = rng.pick(packages);
  if (rng.chance(0.2)) return { bytes: mutateElements(rng, base), rng };
  const bytes = rng.chance(0.8) ? mutateDer(rng, base, other, 3).bytes : mutateBytes(rng, base, other, 4, 1 << 20);
  return { bytes, rng };
}

/** Profile-element level changes (drop, duplicate, swap, retag, mutate one PE): well-formed DER, odd profiles. */
function mutateElements(rng: Rng, upp: Uint8Array): Uint8Array {
  const pes: Uint8Array[] = splitProfileElements(upp).map((p) => p.raw);
  const n = 1 + rng.size(3);
  for (let k = 0; k < n && pes.length > 0; k++) {
    const i = rng.int(pes.length);
    switch (rng.int(5)) {
      case 0:
        pes.splice(i, 1);
        break;
      case 1:
        pes.splice(rng.int(pes.length + 1), 0, pes[i]!);
        break;
      case 2: {
        const j = rng.int(pes.length);
        [pes[i], pes[j]] = [pes[j]!, pes[i]!];
        break;
      }
      case 3: {
        const b = pes[i]!.slice();
        b[0] = 0xa0 | rng.int(0x1f);
        pes[i] = b;
        break;
      }
      default:
        pes[i] = mutateDer(rng, pes[i]!, undefined, 2).bytes;
    }
  }
  return joinProfileElements(pes.map((raw) => ({ raw })));
}

function step(ctx: CampaignContext, i: number, what: string, bytes: Uint8Array, fn: () => void): boolean {
  try {
    fn();
    return true;
  } catch (e) {
    if (expected(e)) ctx.stats.reject(`${what} ${errorClass(e)}`);
    else ctx.stats.crash(i, e, `${what} ${shortHex(bytes)}`);
    return false;
  }
}

export const saipCampaign: Campaign = {
  name: 'saip',
  description: 'mutated TS.48 SAIP packages into splitProfileElements, readProfile, personaliseProfile',
  defaultIterations: 5_000,
  weight: 60,
  episodeLength: 1,
  unit: 'package',
  async run(ctx) {
    const packages = ts48Packages();
    for (let i = ctx.from; i < ctx.to; i++) {
      if ((i & 15) === 0 && Date.now() > ctx.deadline) return;
      ctx.heartbeat(i);
      const { bytes, rng } = saipInput(ctx.seed, i, packages);
      ctx.stats.count();
      const strict = rng.chance(0.8);
      step(ctx, i, 'split', bytes, () => {
        const pes = splitProfileElements(bytes, { der: strict });
        if (!sameBytes(joinProfileElements(pes), bytes)) ctx.stats.violation(i, 'joinProfileElements(splitProfileElements(x)) !== x', shortHex(bytes));
      });
      if (step(ctx, i, 'readProfile', bytes, () => void readProfile(bytes))) ctx.stats.accept();
      if (rng.chance(0.2))
        step(ctx, i, 'personalise', bytes, () => {
          const out = personaliseProfile(bytes, { iccid: '89000123450000000011', imsi: '001010000000011' });
          const back = readProfile(out);
          if (back.iccid !== '89000123450000000011') ctx.stats.violation(i, `personalised package reads ICCID ${back.iccid}`, shortHex(bytes));
        });
    }
  },
};
