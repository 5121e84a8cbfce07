// Campaign `der`: mutated DER into every SGP.22 codec of sim/rsp (registry `messages`,
// RSPDefinitions v2.5) and into detectByTag, strict and lenient (BER) decoding. Seeds
// are the real encodings of sim/rsp/testdata/samples.ts. Only DerError may escape a
// decoder; an accepted input must be stable: decode -> encode -> decode gives the same
// value and the second encoding equals the first (extension components a decoder skips
// may make the first encoding differ from the input; that is allowed).
import { decode, DerError, encode } from '../../sim/rsp/der.ts';
import { detectByTag, messages, type MessageInfo } from '../../sim/rsp/registry.ts';
import { samples } from '../../sim/rsp/testdata/samples.ts';
import type { Campaign, CampaignContext } from '../harness.ts';
import { errorClass, sameBytes, sameValue, shortHex } from '../harness.ts';
import { mutateBytes, mutateDer } from '../mutate.ts';
import { Rng } from '../prng.ts';

interface Seed {
  readonly info: MessageInfo;
  readonly der: Uint8Array;
}

function corpus(): Seed[] {
  return messages.map((info) => ({ info, der: encode(info.codec, samples[info.name]) }));
}

export type DecodeOutcome = { ok: true; value: unknown } | { ok: false; error: DerError };

/** Decode with `info`'s codec; DerError is a rejection, anything else propagates (a crash). */
export function tryDecode(info: MessageInfo, bytes: Uint8Array, der = true): DecodeOutcome {
  try {
    return { ok: true, value: decode(info.codec, bytes, { der }) };
  } catch (e) {
    if (e instanceof DerError) return { ok: false, error: e };
    throw e;
  }
}

/**
 * decode -> encode -> decode -> encode of an accepted value. Returns a description of
 * the instability, or undefined when stable. Errors other than DerError propagate.
 */
export function stability(info: MessageInfo, value: unknown): string | undefined {
  let first: Uint8Array;
  try {
    first = encode(info.codec, value);
  } catch (e) {
    return `${info.name}: accepted value does not re-encode (${errorClass(e)}: ${(e as Error).message})`;
  }
  let again: unknown;
  try {
    again = decode(info.codec, first);
  } catch (e) {
    if (e instanceof DerError) return `${info.name}: re-encoding does not decode (${e.describe()})`;
    throw e;
  }
  if (!sameValue(value, again)) return `${info.name}: decode(encode(v)) differs from v`;
  const second = encode(info.codec, again);
  if (!sameBytes(first, second)) return `${info.name}: encode is not idempotent`;
  return undefined;
}

/** One input through every path; records into ctx.stats. */
export function checkDerInput(ctx: CampaignContext, iteration: number, info: MessageInfo, bytes: Uint8Array, all: readonly Seed[], rng: Rng): void {
  const input = shortHex(bytes);
  const stats = ctx.stats;
  // 1. the message's own codec, strict DER
  try {
    const r = tryDecode(info, bytes);
    if (r.ok) {
      stats.accept();
      const bad = stability(info, r.value);
      if (bad) stats.violation(iteration, bad, input);
    } else stats.reject(errorClass(r.error));
  } catch (e) {
    stats.crash(iteration, e, `${info.name} ${input}`);
  }
  // 2. another codec (wrong type on purpose), lenient BER half of the time
  const other = rng.pick(all).info;
  try {
    const r = tryDecode(other, bytes, rng.chance(0.5));
    if (!r.ok) stats.reject(errorClass(r.error));
  } catch (e) {
    stats.crash(iteration, e, `${other.name} (lenient) ${input}`);
  }
  // 3. detection by tag (what `bridgelab decode` and traces do)
  try {
    const d = detectByTag(bytes);
    const bad = stability(d.info, d.value);
    if (bad) stats.violation(iteration, `detectByTag -> ${bad}`, input);
  } catch (e) {
    if (e instanceof DerError) stats.reject(`detectByTag ${errorClass(e)}`);
    else stats.crash(iteration, e, `detectByTag ${input}`);
  }
}

/** The input of iteration `i` (deterministic from seed and i). */
export function derInput(seed: number, i: number, all: readonly Seed[]): { info: MessageInfo; bytes: Uint8Array; rng: Rng } {
  const rng = Rng.for(seed, 'der', i);
  const s = all[i % all.length]!;
  const other = rng.pick(all).der;
  const bytes = rng.chance(0.75) ? mutateDer(rng, s.der, other).bytes : mutateBytes(rng, s.der, other);
  return { info: s.info, bytes, rng };
}

export const derCampaign: Campaign = {
  name: 'der',
  description: 'mutated DER into every sim/rsp codec (strict, lenient) and detectByTag; decode/encode stability',
  defaultIterations: 100_000,
  weight: 80,
  episodeLength: 1,
  unit: 'input',
  async run(ctx) {
    const all = corpus();
    for (let i = ctx.from; i < ctx.to; i++) {
      if ((i & 63) === 0 && Date.now() > ctx.deadline) return;
      ctx.heartbeat(i);
      const { info, bytes, rng } = derInput(ctx.seed, i, all);
      checkDerInput(ctx, i, info, bytes, all, rng);
      ctx.stats.count();
    }
  },
};

export { corpus as derCorpus };
