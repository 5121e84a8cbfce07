// Campaign `activation-code`: mutated Activation Codes (SGP.22 4.1,
// `[LPA:]1$<address>$<matching ID>[$<OID>[$1]]`) into parseActivationCode. Only
// ActivationCodeError may escape; an accepted code must format back to a code that
// parses to the same value (parse -> format -> parse).
import { ActivationCodeError, formatActivationCode, parseActivationCode } from '../../sim/rsp/activation-code.ts';
import type { Campaign } from '../harness.ts';
import { errorClass, sameValue, shortText } from '../harness.ts';
import { randomString } from '../json-mutate.ts';
import { Rng } from '../prng.ts';

const SEEDS: readonly string[] = [
  '1$testsmdpplus1.example.com$ABC-1234',
  'LPA:1$testsmdpplus1.example.com$ABC-1234',
  '1$rsp.truphone.com$QRF-SPEEDTEST',
  '1$testsmdpplus1.example.com:8443$$2.999.10$1',
  '1$smdp.example.com$$1.3.6.1.4.1.31746',
  '1$SMDP.GSMA.COM$04386-AGYFT-A74Y8-3F815$1.3.6.1.4.1.31746$1',
  '1$127.0.0.1:8443$X',
  '1$a$',
];

const PIECES: readonly string[] = ['$', '$$', 'LPA:', 'lpa:', '1', '0', '2', ':', ':0', ':65535', ':65536', ':99999', '.', '..', '-', '_', ' ', '\t', '\n', '\u00e9', '😀', '\u0000', '2.999.10', '0.39', '1.40', '3.1', '01.2', 'x'.repeat(300), '1$', 'LPA:LPA:'];

export function mutateActivationCode(rng: Rng, s: string): string {
  let out = s;
  const n = 1 + rng.size(3);
  for (let k = 0; k < n; k++) {
    const i = out.length ? rng.int(out.length + 1) : 0;
    switch (rng.int(7)) {
      case 0:
        out = out.slice(0, i) + rng.pick(PIECES) + out.slice(i);
        break;
      case 1:
        out = out.slice(0, i) + out.slice(i + 1 + rng.int(4));
        break;
      case 2:
        out = out.slice(0, i);
        break;
      case 3:
        out = out.slice(0, i) + String.fromCharCode(rng.int(0x80) | (rng.chance(0.1) ? 0x2000 : 0)) + out.slice(i + 1);
        break;
      case 4:
        out = out.split('$').map((f) => (rng.chance(0.3) ? randomString(rng, rng.size(20)) : f)).join('$');
        break;
      case 5:
        out = rng.chance(0.5) ? out.toUpperCase() : out.toLowerCase();
        break;
      default:
        out = out.slice(0, i) + randomString(rng, rng.size(16)) + out.slice(i);
    }
  }
  return out;
}

export const activationCodeCampaign: Campaign = {
  name: 'activation-code',
  description: 'mutated Activation Codes into parseActivationCode; parse -> format -> parse round trip',
  defaultIterations: 100_000,
  weight: 5,
  episodeLength: 1,
  unit: 'code',
  async run(ctx) {
    for (let i = ctx.from; i < ctx.to; i++) {
      if ((i & 255) === 0 && Date.now() > ctx.deadline) return;
      ctx.heartbeat(i);
      const rng = Rng.for(ctx.seed, 'activation-code', i);
      const text = mutateActivationCode(rng, rng.pick(SEEDS));
      ctx.stats.count();
      let ac;
      try {
        ac = parseActivationCode(text);
      } catch (e) {
        if (e instanceof ActivationCodeError) ctx.stats.reject(errorClass(e));
        else ctx.stats.crash(i, e, shortText(text));
        continue;
      }
      ctx.stats.accept();
      try {
        const formatted = formatActivationCode(ac, { lpaPrefix: rng.chance(0.5) });
        const back = parseActivationCode(formatted);
        if (!sameValue(back, ac)) ctx.stats.violation(i, `parse(format(ac)) differs: ${JSON.stringify(ac)} -> ${formatted} -> ${JSON.stringify(back)}`, shortText(text));
      } catch (e) {
        if (e instanceof ActivationCodeError) ctx.stats.violation(i, `an accepted code does not format/parse back: ${errorClass(e)} ${e.message}`, shortText(text));
        else ctx.stats.crash(i, e, shortText(text));
      }
    }
  },
};
