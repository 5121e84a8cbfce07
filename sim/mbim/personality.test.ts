import { describe, expect, it } from 'vitest';
import { sourceProblems } from '../wwan/personality-file.ts';
import { listMbimPersonalities, loadMbimPersonality, mbimPersonality } from './personality.ts';

describe('MBIM personalities', () => {
  it('every bundled value has a public source, or the personality is a named synthetic one', () => {
    expect(listMbimPersonalities()).toEqual(['ms-mbimex-v2', 'sierra-em7590', 'synthetic-host-cla']);
    for (const n of listMbimPersonalities()) {
      const p = loadMbimPersonality(n);
      expect(sourceProblems(p), n).toEqual([]);
      for (const k of Object.keys(p.values)) expect(p.sources[k], `${n}.${k}`).toMatch(/\S{3}/);
    }
  });

  it('refuses an unknown value and a synthetic value in a documented personality', () => {
    const p = loadMbimPersonality('sierra-em7590');
    const raw = { id: p.id, description: p.description, synthetic: null, values: p.values, sources: p.sources };
    expect(() => mbimPersonality({ ...raw, values: { ...raw.values, classByte: 'auto' } })).toThrow(/field 'values.classByte'/);
    expect(() => mbimPersonality({ ...raw, sources: { ...raw.sources, getResponse: 'synthetic: guess' } })).toThrow("value 'getResponse' is synthetic in a personality drawn from public reports");
  });
});
