import { describe, expect, it } from 'vitest';
import { builtinRigs, capabilitiesOf, loadRig, missingObservation, observationsOf, parseRig, RigError } from './rig.ts';

describe('rigs', () => {
  it('loads every built-in rig', () => {
    expect(builtinRigs()).toEqual(['rpi-ec25j', 'seiko', 'simcom-sim7600', 'virtual', 'virtual-external-bridge']);
    for (const name of builtinRigs()) expect(loadRig(name).name).toBe(name);
  });

  it('derives capabilities from the parts', () => {
    expect([...capabilitiesOf(loadRig('virtual'))].sort()).toEqual(['bridgeRestart', 'cardPowerCycle', 'embeddedSmdp', 'emptyCardAccess', 'emulatedEuicc', 'modemFaults', 'modemPersonality', 'sgp26Trust']);
    const real = capabilitiesOf(loadRig('rpi-ec25j'));
    expect(real.has('emulatedEuicc')).toBe(false);
    expect(real.has('modemFaults')).toBe(false);
    expect(real.has('bridgeRestart')).toBe(false);
    expect(real.has('embeddedSmdp')).toBe(true);
  });

  it('derives what the rig can observe from the parts: taps exist only on simulated parts', () => {
    expect([...observationsOf(loadRig('virtual'))].sort()).toEqual(['atLines', 'cardEid', 'cardSide', 'cardState', 'modemState']);
    expect([...observationsOf(loadRig('rpi-ec25j'))]).toEqual([]);
    const withEid = parseRig({ ...loadRig('rpi-ec25j'), euicc: { kind: 'card', eid: '89049032123451234512345678901235' } });
    expect([...observationsOf(withEid)]).toEqual(['cardEid']);
    expect(missingObservation('atLines')).toBe('the AT lines between the bridge and the modem can be observed only with a fake modem');
  });

  it('fills defaults', () => {
    const rig = parseRig({ name: 'x', euicc: { kind: 'emulated' }, modem: { kind: 'fake' }, bridge: { kind: 'builtin' }, smdp: { kind: 'embedded' } });
    expect(rig.euicc).toEqual({ kind: 'emulated', identity: 'both', svn: '2.5.0' });
    expect(rig.modem).toEqual({ kind: 'fake', personality: 'quectel-ec25j', endpoint: 'pty', timeScale: 1 });
    expect(rig.lpa.storeDataBlockSize).toBe(120);
    expect(rig.lpa.profile).toBe('lpac-pcsc');
    expect(rig.lpa.path).toBe('vpcd');
  });

  it('takes an LPA profile and path, and refuses an unknown profile by name', () => {
    const base = { name: 'x', euicc: { kind: 'emulated' }, modem: { kind: 'fake' }, bridge: { kind: 'builtin' }, smdp: { kind: 'embedded' } };
    expect(parseRig({ ...base, lpa: { profile: 'windows-pcsc', path: 'pcsc' } }).lpa).toEqual({ storeDataBlockSize: 120, profile: 'windows-pcsc', path: 'pcsc' });
    expect(() => parseRig({ ...base, lpa: { profile: 'nokia' } }, 'r.json')).toThrow('r.json: lpa.profile: unknown LPA profile; known: lenient, lpac-pcsc, windows-pcsc');
  });

  it('names the file, the field and the problem', () => {
    const err = (v: unknown) => {
      try {
        parseRig(v, 'my-rig.json');
      } catch (e) {
        expect(e).toBeInstanceOf(RigError);
        return (e as Error).message;
      }
      throw new Error('accepted');
    };
    const base = { name: 'x', euicc: { kind: 'emulated' }, modem: { kind: 'fake' }, bridge: { kind: 'builtin' }, smdp: { kind: 'embedded' } };
    expect(err({ ...base, bridge: { kind: 'external', command: './bridge --port {port}' } })).toMatch(/my-rig\.json: bridge\.command: .*\{tty\}/);
    expect(err({ ...base, bridge: { kind: 'running', address: 'nohost' } })).toMatch(/bridge\.address: expected host:port/);
    expect(err({ ...base, euicc: { kind: 'plastic' } })).toMatch(/euicc\.kind/);
    expect(err({ ...base, typo: 1 })).toMatch(/typo/);
    expect(err({ ...base, name: 'Bad Name' })).toMatch(/name: lowercase/);
    expect(() => loadRig('no-such-rig')).toThrow(/no rig 'no-such-rig'/);
  });
});
