// Campaign `certs`: mutated SGP.26 certificates (certs/sgp26: CI, EUM, eUICC, DPauth, DPpb,
// DPtls, both curves; SGP.22 4.5 / SGP.26) into parseCert and verifyChain (certs/), which
// the eUICC (AuthenticateServer, PrepareDownload) and the SM-DP+ (AuthenticateClient,
// HandleNotification) run on certificates a peer sent. parseCert may only throw
// CertParseError; verifyChain never throws for a bad leaf or intermediate (it answers
// { ok: false, reason }), and never accepts a certificate whose bytes were changed.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CertParseError, parseCert } from '../../certs/cert.ts';
import { type ChainRole, verifyChain } from '../../certs/chain.ts';
import { sgp26TrustedCis } from '../../certs/store.ts';
import type { Campaign } from '../harness.ts';
import { errorClass, sameBytes, shortHex } from '../harness.ts';
import { mutateBytes, mutateDer } from '../mutate.ts';
import { Rng } from '../prng.ts';

const SGP26 = fileURLToPath(new URL('../../certs/sgp26/', import.meta.url));

interface CertSeed {
  readonly der: Uint8Array;
  readonly role: ChainRole | 'ci';
  readonly eum?: Uint8Array;
}

function roleOf(dir: string): ChainRole | 'ci' {
  return ({ CertificateIssuer: 'ci', EUM: 'eum', eUICC: 'euicc', DPauth: 'dpauth', DPpb: 'dppb', DPtls: 'dptls' } as const)[dir as 'EUM'] ?? 'ci';
}

export function certSeeds(): CertSeed[] {
  const out: CertSeed[] = [];
  const eums = readdirSync(join(SGP26, 'EUM')).filter((f) => f.endsWith('.der'));
  for (const dir of readdirSync(SGP26)) {
    for (const f of readdirSync(join(SGP26, dir)).filter((x) => x.endsWith('.der'))) {
      const der = new Uint8Array(readFileSync(join(SGP26, dir, f)));
      const role = roleOf(dir);
      const curve = f.includes('BRP') ? 'BRP' : 'NIST';
      const eumFile = eums.find((e) => e.includes(curve));
      out.push({ der, role, ...(role === 'euicc' && eumFile ? { eum: new Uint8Array(readFileSync(join(SGP26, 'EUM', eumFile))) } : {}) });
    }
  }
  return out;
}

export const certsCampaign: Campaign = {
  name: 'certs',
  description: 'mutated SGP.26 certificates into parseCert and verifyChain (the eUICC and SM-DP+ certificate paths)',
  defaultIterations: 20_000,
  weight: 60,
  episodeLength: 1,
  unit: 'certificate',
  async run(ctx) {
    const seeds = certSeeds();
    const trustedCis = sgp26TrustedCis();
    const at = new Date('2026-06-01T00:00:00Z');
    for (let i = ctx.from; i < ctx.to; i++) {
      if ((i & 15) === 0 && Date.now() > ctx.deadline) return;
      ctx.heartbeat(i);
      ctx.stats.count();
      const rng = Rng.for(ctx.seed, 'certs', i);
      const seed = seeds[i % seeds.length]!;
      const mutateEum = seed.eum !== undefined && rng.chance(0.3);
      const target = mutateEum ? seed.eum! : seed.der;
      const mutated = rng.chance(0.8) ? mutateDer(rng, target, rng.pick(seeds).der, 3).bytes : mutateBytes(rng, target, undefined, 4);
      const leaf = mutateEum ? seed.der : mutated;
      const eum = mutateEum ? mutated : seed.eum;
      try {
        parseCert(mutated);
        ctx.stats.accept();
      } catch (e) {
        if (e instanceof CertParseError) ctx.stats.reject(errorClass(e));
        else ctx.stats.crash(i, e, `parseCert ${shortHex(mutated)}`);
      }
      if (seed.role === 'ci') continue;
      try {
        const r = verifyChain(leaf, eum ? [eum] : [], { trustedCis, at, expectedRole: seed.role });
        if (r.ok && !sameBytes(mutated, target)) ctx.stats.violation(i, `verifyChain accepted a changed ${mutateEum ? 'EUM' : seed.role} certificate`, shortHex(mutated));
        if (!r.ok) ctx.stats.reject(`verifyChain ${r.reason}`);
      } catch (e) {
        ctx.stats.crash(i, e, `verifyChain ${mutateEum ? 'EUM' : seed.role} ${shortHex(mutated)}`);
      }
    }
  },
};
