// Test wiring: one ModemEngine (no UART pacing) in front of a FakeCard, driven by an
// AtClient. Shared by the engine tests; other parts' tests may use it too.
import { ModemEngine, type ModemTraceEvent } from '../engine.ts';
import { loadPersonality, parsePersonality, type Personality } from '../personality.ts';
import { AtClient } from './at-client.ts';
import { FakeCard, type FakeCardOptions } from './fake-card.ts';

export interface EngineRig {
  engine: ModemEngine;
  card: FakeCard;
  at: AtClient;
  personality: Personality;
  trace: ModemTraceEvent[];
  /** send a line, assert the echo when echo is on, return the response after the echo */
  cmd(line: string, timeoutMs?: number): Promise<string>;
  close(): void;
}

/** Load a bundled personality and apply shallow overrides (re-validated). */
export function personalityWith(name: string, overrides: Record<string, unknown> = {}): Personality {
  const base = loadPersonality(name);
  if (Object.keys(overrides).length === 0) return base;
  const raw: Record<string, unknown> = JSON.parse(JSON.stringify(toRaw(base)));
  return parsePersonality({ ...raw, ...overrides }, '<test override>');
}

/** Turn a parsed personality back into its JSON form (ErrorSpec -> string; no source, no evidence). */
function toRaw(personality: Personality): Record<string, unknown> {
  const { source: _source, evidence: _evidence, synthetic, stresses, ...p } = personality;
  const err = (e: { kind: 'error' } | { kind: 'cme'; code: number }): string => (e.kind === 'error' ? 'ERROR' : `+CME ERROR: ${e.code}`);
  const commands: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(p.commands)) commands[k] = { supported: v.supported, error: err(v.error), test: v.test };
  const errors: Record<string, string> = {};
  for (const [k, v] of Object.entries(p.errors)) errors[k] = err(v);
  return {
    ...p,
    ...(synthetic ? { synthetic, stresses } : {}),
    commands,
    errors,
    spuriousErrors: { ...p.spuriousErrors, error: err(p.spuriousErrors.error) },
  };
}

export function engineRig(personality: string | Personality, card: FakeCardOptions | FakeCard = {}, opts: { timeScale?: number; seed?: number } = {}): EngineRig {
  const pers = typeof personality === 'string' ? loadPersonality(personality) : personality;
  const fake = card instanceof FakeCard ? card : new FakeCard(card);
  const trace: ModemTraceEvent[] = [];
  let at: AtClient | undefined;
  const engine = new ModemEngine({
    personality: pers,
    transport: fake,
    output: (b) => at?.feed(b),
    timeScale: opts.timeScale ?? 0,
    seed: opts.seed,
    onTrace: (e) => trace.push(e),
  });
  at = new AtClient((b) => engine.receive(b), { lineEnding: pers.format.lineEnding });
  const client = at;
  return {
    engine,
    card: fake,
    at: client,
    personality: pers,
    trace,
    async cmd(line: string, timeoutMs?: number): Promise<string> {
      const echo = engine.state().echo;
      const raw = await client.command(line, { timeoutMs });
      if (echo) {
        if (!raw.startsWith(line + '\r')) throw new Error(`expected echo of ${JSON.stringify(line)}, got ${JSON.stringify(raw)}`);
        return raw.slice(line.length + 1);
      }
      return raw;
    },
    close(): void {
      engine.close();
    },
  };
}
