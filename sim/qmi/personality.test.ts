import { describe, expect, it } from 'vitest';
import { sourceProblems, WwanPersonalityError } from '../wwan/personality-file.ts';
import { listQmiPersonalities, loadQmiPersonality, qmiPersonality } from './personality.ts';

describe('QMI personalities', () => {
  it('every bundled value has a public source, or the personality is a named synthetic one', () => {
    const names = listQmiPersonalities();
    expect(names).toEqual(['qualcomm-uim', 'synthetic-3-channels', 'synthetic-auto-get-response', 'telit-le910c4']);
    for (const n of names) {
      const p = loadQmiPersonality(n);
      expect(sourceProblems(p), n).toEqual([]);
      for (const k of Object.keys(p.values)) expect(p.sources[k], `${n}.${k}`).toMatch(/\S{3}/);
      const synthetic = Object.values(p.sources).some((s) => s.startsWith('synthetic:'));
      if (synthetic) expect(p.id.startsWith('synthetic-') && p.synthetic !== null, n).toBe(true);
    }
  });

  it('refuses a value without a source, a synthetic value in a documented personality, an unknown error nick', () => {
    const base = loadQmiPersonality('qualcomm-uim');
    const raw = { id: base.id, description: base.description, synthetic: null, values: base.values, sources: { ...base.sources } };
    const { getResponseDefault: _drop, ...fewer } = raw.sources;
    expect(() => qmiPersonality({ ...raw, sources: fewer })).toThrow("<inline>: value 'getResponseDefault' has no source");
    expect(() => qmiPersonality({ ...raw, sources: { ...raw.sources, maxLogicalChannels: 'synthetic: made up' } })).toThrow("value 'maxLogicalChannels' is synthetic in a personality drawn from public reports");
    expect(() => qmiPersonality({ ...raw, values: { ...raw.values, openLogicalChannelError: 'Denied' } })).toThrow(WwanPersonalityError);
    expect(() => qmiPersonality({ ...raw, values: { ...raw.values, typo: 1 } })).toThrow(/field 'values'/);
    expect(() => loadQmiPersonality('nope')).toThrow("nope: not a bundled personality (known: qualcomm-uim, synthetic-3-channels, synthetic-auto-get-response, telit-le910c4)");
  });
});
