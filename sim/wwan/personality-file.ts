// Personality files of the QMI and MBIM fake modems: JSON with an id, a description,
// `values` (the behaviours the modem engine switches on) and `sources` (for every value,
// the public report or specification it comes from: an lpac / libqmi / libmbim /
// ModemManager issue or source file, an MBIM or ETSI section). A value no public source
// backs is allowed only in a personality that says so in `synthetic` (its id starts
// with 'synthetic-'), and its source entry then starts with 'synthetic:' and says why
// the value was chosen. Loading validates the values with the engine's zod schema
// (unknown fields are errors: a typo must not silently become a default).
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { z } from 'zod';

/** A personality file that cannot be used: names the file and the problem. */
export class WwanPersonalityError extends Error {
  override readonly name = 'WwanPersonalityError';
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${file}: ${problem}`);
  }
}

export interface SourcedPersonality<V> {
  readonly id: string;
  readonly description: string;
  /** why this personality is made up, or null for one drawn from public reports */
  readonly synthetic: string | null;
  readonly values: V;
  /** a public source (or 'synthetic: why') for each key of values */
  readonly sources: Readonly<Record<string, string>>;
  /** file it was loaded from, or '<inline>' */
  readonly file: string;
}

function envelope<V extends z.ZodType>(values: V) {
  return z
    .object({
      id: z.string().regex(/^[a-z0-9][a-z0-9.-]*$/),
      description: z.string().min(1),
      synthetic: z.string().min(1).nullable(),
      values,
      sources: z.record(z.string(), z.string().min(1)),
    })
    .strict();
}

/** Problems with the sources of a personality: every value needs one, synthetic ones only in a synthetic personality. */
export function sourceProblems(p: Pick<SourcedPersonality<object>, 'id' | 'synthetic' | 'values' | 'sources'>): string[] {
  const problems: string[] = [];
  const keys = Object.keys(p.values);
  if (p.synthetic !== null && !p.id.startsWith('synthetic-')) problems.push(`a synthetic personality's id must start with 'synthetic-'`);
  if (p.synthetic === null && p.id.startsWith('synthetic-')) problems.push(`id '${p.id}' says synthetic but 'synthetic' is null`);
  for (const k of keys) {
    const s = p.sources[k];
    if (s === undefined || !s.trim()) problems.push(`value '${k}' has no source`);
    else if (s.startsWith('synthetic:') && p.synthetic === null) problems.push(`value '${k}' is synthetic in a personality drawn from public reports`);
  }
  for (const k of Object.keys(p.sources)) if (!keys.includes(k)) problems.push(`source for unknown value '${k}'`);
  return problems;
}

export function parseSourcedPersonality<V extends z.ZodType>(raw: unknown, file: string, values: V): SourcedPersonality<z.output<V>> {
  const result = envelope(values).safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new WwanPersonalityError(file, `field '${issue.path.join('.') || '(root)'}': ${issue.message}`);
  }
  const p = { ...result.data, file } as SourcedPersonality<z.output<V>>;
  const problems = sourceProblems(p as SourcedPersonality<object>);
  if (problems.length) throw new WwanPersonalityError(file, problems.join('; '));
  return p;
}

/** Names of the bundled personalities in `dir` (file names without .json). */
export function listPersonalityFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -5))
    .sort();
}

/** A bundled personality by name, or a personality file by path (anything with a '/' or ending .json). */
export function loadPersonalityFile<V extends z.ZodType>(dir: string, nameOrPath: string, values: V): SourcedPersonality<z.output<V>> {
  let file: string;
  if (nameOrPath.includes('/') || nameOrPath.endsWith('.json')) file = resolve(nameOrPath);
  else if (/^[a-z0-9][a-z0-9.-]*$/.test(nameOrPath) && listPersonalityFiles(dir).includes(nameOrPath)) file = join(dir, `${nameOrPath}.json`);
  else throw new WwanPersonalityError(nameOrPath, `not a bundled personality (known: ${listPersonalityFiles(dir).join(', ')})`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new WwanPersonalityError(file, `cannot read: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new WwanPersonalityError(file, `not JSON: ${(err as Error).message}`);
  }
  const p = parseSourcedPersonality(raw, file, values);
  if (!nameOrPath.includes('/') && !nameOrPath.endsWith('.json') && p.id !== basename(file, '.json')) throw new WwanPersonalityError(file, `id '${p.id}' differs from the file name`);
  return p;
}
