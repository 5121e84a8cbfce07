import { describe, expect, it } from 'vitest';
import { DEFAULT_LPA_PROFILE, es10OptionsOf, loadLpaProfile, LpaProfileError, lpaProfileNames, parseLpaProfile, pcscOptionsOf } from './lpa-profile.ts';

describe('LPA behaviour profiles (sim/lpa/profiles)', () => {
  it('bundles the lpac-like PC/SC LPA (the default), a Windows-style LPA and the lenient one, each fact with a source', () => {
    expect(lpaProfileNames()).toEqual(['lenient', 'lpac-pcsc', 'windows-pcsc']);
    expect(DEFAULT_LPA_PROFILE).toBe('lpac-pcsc');
    for (const name of lpaProfileNames()) {
      const p = loadLpaProfile(name);
      expect(Object.keys(p.sources).sort()).toEqual(['connect', 'getResponseClass', 'lastBlockLe', 'manageChannel', 'on61xx', 'on6Cxx', 'receiveBuffer', 'selectLe', 'storeDataBlockSize', 'terminalCapability', 'timeouts']);
    }
  });

  it('maps lpac-pcsc onto the ES10 driver and the PC/SC connect as lpac does it', () => {
    const p = loadLpaProfile('lpac-pcsc');
    expect(es10OptionsOf(p)).toEqual({ channel: 'logical', blockSize: 120, getResponseClass: 0x80, leOnLast: false, selectLe: false, receiveBuffer: 264, on6Cxx: 'fail', terminalCapability: '80AA00000AA9088100820101830107' });
    expect(pcscOptionsOf(p)).toEqual({ protocols: 'T=0', share: 'exclusive', receiveBuffer: 264 });
    expect(pcscOptionsOf(loadLpaProfile('windows-pcsc')).protocols).toBe('T=0,T=1');
  });

  it('refuses a profile with a fact without a source, an unknown field or a bad value, naming each', () => {
    const good = { ...loadLpaProfile('lpac-pcsc') };
    const { receiveBuffer: _dropped, ...sources } = good.sources;
    expect(() => parseLpaProfile({ ...good, sources }, 'x.json')).toThrow('x.json: sources.receiveBuffer: no public source for receiveBuffer');
    expect(() => parseLpaProfile({ ...good, receiveBuffer: 100 }, 'x.json')).toThrow(/x\.json: receiveBuffer: /);
    expect(() => parseLpaProfile({ ...good, getResponseClass: 'C0' }, 'x.json')).toThrow(/x\.json: getResponseClass: /);
    expect(() => parseLpaProfile({ ...good, extra: 1 }, 'x.json')).toThrow(LpaProfileError);
    expect(() => loadLpaProfile('no-such-lpa')).toThrow("no LPA profile 'no-such-lpa': not a file, and not one of lenient, lpac-pcsc, windows-pcsc");
  });
});
