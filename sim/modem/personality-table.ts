// The table of bundled modem personalities (sim/modem/personalities/README.md): each
// modem with the behaviours where it departs from the 3GPP TS 27.007 / ITU-T V.250
// baseline and the public sources they rest on, generated from the personality files so
// that it cannot drift (personality.test.ts checks the file is current).
// Regenerate: node --import tsx sim/modem/personality-table.ts --write
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BASELINE, type Evidence, listPersonalities, loadPersonality, parsePersonality, type Personality, PERSONALITY_DIR } from './personality.ts';
import type { ErrorSpec } from './types.ts';

export const TABLE_FILE = join(PERSONALITY_DIR, 'README.md');

/** Fields that are not behaviour (or are shown elsewhere in the table). */
const NOT_BEHAVIOUR = new Set(['id', 'description', 'characterization', 'source', 'synthetic', 'stresses', 'evidence', 'identity', 'spuriousErrors.seed']);

function isErrorSpec(v: unknown): v is ErrorSpec {
  return typeof v === 'object' && v !== null && 'kind' in v && ((v as ErrorSpec).kind === 'error' || (v as ErrorSpec).kind === 'cme');
}

function show(v: unknown): string {
  if (isErrorSpec(v)) return v.kind === 'error' ? 'ERROR' : `+CME ERROR: ${v.code}`;
  if (Array.isArray(v)) return v.length === 0 ? '[]' : v.map(showItem).join(', ');
  if (typeof v === 'string') return JSON.stringify(v);
  return String(v);
}

function showItem(e: unknown): string {
  if (typeof e === 'object' && e !== null && 'text' in e) return String((e as { text: string }).text);
  if (typeof e === 'object' && e !== null && 'command' in e) return `AT${String((e as { command: string }).command)}`;
  return show(e);
}

/** Leaf values of a personality by dotted path (error specs and arrays are leaves). */
function leaves(obj: Record<string, unknown>, prefix = '', out = new Map<string, unknown>()): Map<string, unknown> {
  for (const [k, v] of Object.entries(obj)) {
    const path = prefix + k;
    if (NOT_BEHAVIOUR.has(path)) continue;
    if (typeof v === 'object' && v !== null && !Array.isArray(v) && !isErrorSpec(v)) leaves(v as Record<string, unknown>, `${path}.`, out);
    else out.set(path, v);
  }
  return out;
}

let baselineLeaves: Map<string, unknown> | undefined;
function baseline(): Map<string, unknown> {
  if (!baselineLeaves) {
    const p = parsePersonality({ id: 'baseline', characterization: 'the baseline', identity: { manufacturer: '-', model: '-', revision: '-', imei: '000000000000000', ati: [] } });
    baselineLeaves = leaves(p as unknown as Record<string, unknown>);
  }
  return baselineLeaves;
}

/** Where a personality departs from the baseline: "path = value" for every differing leaf. */
export function behaviours(p: Personality): string[] {
  const base = baseline();
  const out: string[] = [];
  for (const [path, v] of leaves(p as unknown as Record<string, unknown>)) {
    if (JSON.stringify(v) !== JSON.stringify(base.get(path))) out.push(`${path} = ${show(v)}`);
  }
  return out;
}

/** The public sources of a personality (URLs, first appearance order) and whether identity strings are illustrative. */
export function sourcesOf(p: Personality): { urls: string[]; illustrativeIdentity: boolean } {
  const urls: string[] = [];
  let illustrativeIdentity = false;
  for (const list of Object.values(p.evidence)) {
    for (const e of list as Evidence[]) {
      if ('url' in e && !urls.includes(e.url)) urls.push(e.url);
      if ('illustrative' in e) illustrativeIdentity = true;
    }
  }
  return { urls, illustrativeIdentity };
}

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/** The markdown of sim/modem/personalities/README.md. */
export function renderPersonalityTable(names: string[] = listPersonalities()): string {
  const rows = names.map((n) => loadPersonality(n));
  const lines = [
    '# Modem personalities',
    '',
    'Generated from the personality files by `node --import tsx sim/modem/personality-table.ts --write`; a test',
    'fails when it is not current. Every value a file writes carries its evidence in a `<key>@sources` entry next',
    'to it (a public source, or the 3GPP TS 27.007 / ITU-T V.250 baseline); a value the file does not write is',
    'the baseline (`BASELINE` in personality.ts, each with its clause). Synthetic personalities are stress cases',
    'with no claim that a real module behaves so. "Behaviours" lists where each departs from the baseline.',
    '',
    `Baseline keys: ${Object.keys(BASELINE).join(', ')}.`,
    '',
    '| personality | module | kind | behaviours (departures from the baseline) | sources |',
    '|---|---|---|---|---|',
  ];
  for (const p of rows) {
    const { urls, illustrativeIdentity } = sourcesOf(p);
    const kind = p.synthetic ? `synthetic: ${p.stresses}` : 'sourced';
    const b = behaviours(p);
    const src = [...urls.map((u) => `<${u}>`), ...(illustrativeIdentity ? ['identity strings illustrative (no public transcript)'] : [])];
    lines.push(`| \`${p.id}\` | ${cell(`${p.identity.manufacturer} ${p.identity.model}`)} | ${cell(kind)} | ${cell(b.length ? b.join('; ') : 'none: the baseline')} | ${cell(src.length ? src.join('<br>') : 'baseline only')} |`);
  }
  lines.push('');
  return lines.join('\n');
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '') && process.argv.includes('--write')) {
  const text = renderPersonalityTable();
  const before = (() => {
    try {
      return readFileSync(TABLE_FILE, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
      throw err;
    }
  })();
  if (before !== text) writeFileSync(TABLE_FILE, text);
  process.stdout.write(`${TABLE_FILE}: ${before === text ? 'already current' : 'written'}\n`);
}
