import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listPersonalities, loadPersonality, parsePersonality, PERSONALITY_DIR } from './personality.ts';
import { PersonalityError } from './types.ts';

describe('bundled personalities', () => {
  it('are the five modems of the brief plus the SIMCom no-eSIM variant', () => {
    expect(listPersonalities()).toEqual(['fibocom-fm350', 'quectel-ec25j', 'seiko', 'sierra-em7590', 'simcom-sim7600', 'simcom-sim7600-noesim']);
  });

  it.each(listPersonalities())('%s loads and validates', (name) => {
    const p = loadPersonality(name);
    expect(p.id).toBe(name);
    expect(p.source).toBe(join(PERSONALITY_DIR, `${name}.json`));
    expect(p.identity.ati.length).toBeGreaterThan(0);
    expect(p.characterization.length).toBeGreaterThan(0);
  });

  it('carry the quirks of REFERENCE.md 4', () => {
    const ec25 = loadPersonality('quectel-ec25j');
    expect(ec25).toMatchObject({
      echoAfterRestart: true,
      csimStatusOnLogicalChannelFails: true,
      cchoResult: 'prefixed',
      getResponse: 'passthrough',
      cchoRetryMinIntervalMs: 250,
      errors: { cchoOnNonEuicc: { kind: 'cme', code: 13 } },
    });
    expect(ec25.urcsAfterRestart.map((u) => u.text)).toEqual(['RDY', '+CFUN: 1', '+CPIN: READY', '+QUSIM: 1', '+QIND: SMS DONE', '+QIND: PB DONE']);
    expect(ec25.spuriousErrors.rate).toBe(0);
    const simcom = loadPersonality('simcom-sim7600');
    expect(simcom.format.spaceAfterColon).toBe(false);
    expect(simcom.cmeeDefault).toBe(2);
    const noesim = loadPersonality('simcom-sim7600-noesim');
    expect(noesim.commands.ccho).toEqual({ supported: false, error: { kind: 'cme', code: 4 }, test: 'error' });
    expect(noesim.commands.csim.supported).toBe(true);
    expect(noesim.identity).toEqual(simcom.identity);
    const fibocom = loadPersonality('fibocom-fm350');
    expect(fibocom).toMatchObject({ cchoResult: 'bare', testCommands: 'silent', errors: { unknownSession: { kind: 'error' } } });
    expect(fibocom.timing.commandLatencyMs['+CGLA']).toBeGreaterThanOrEqual(200);
    const sierra = loadPersonality('sierra-em7590');
    expect(sierra).toMatchObject({ cchoResult: 'handle', cglaSetsChannelInCla: true });
    expect(sierra.commands.cgla).toEqual({ supported: true, error: { kind: 'error' }, test: 'error' });
    expect(loadPersonality('seiko')).toMatchObject({ cglaSetsChannelInCla: true, cmeeDefault: 0, testCommands: 'ok', urcsAfterRestart: [] });
  });
});

describe('validation errors name the file, the field and the problem', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bridgelab-pers-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const base = (): Record<string, unknown> => JSON.parse(JSON.stringify({ ...loadPersonality('seiko'), source: undefined, errors: undefined, spuriousErrors: undefined, commands: {} }));
  const write = (name: string, obj: unknown): string => {
    const f = join(dir, `${name}.json`);
    writeFileSync(f, typeof obj === 'string' ? obj : JSON.stringify(obj));
    return f;
  };
  const failure = (fn: () => unknown): PersonalityError => {
    try {
      fn();
    } catch (err) {
      if (err instanceof PersonalityError) return err;
      throw err;
    }
    throw new Error('expected a PersonalityError');
  };

  it('a valid file outside the bundle loads by path', () => {
    const f = write('mine', { ...base(), id: 'mine' });
    expect(loadPersonality(f).id).toBe('mine');
  });

  it('wrong enum value', () => {
    const f = write('bad', { ...base(), id: 'bad', format: { spaceAfterColon: true, hexCase: 'UPPER' } });
    const e = failure(() => loadPersonality(f));
    expect(e.source).toBe(f);
    expect(e.field).toBe('format.hexCase');
    expect(e.message).toBe(`${f}: field 'format.hexCase': expected one of "upper", "lower", got "UPPER"`);
  });

  it('unknown field (a typo must not become a default)', () => {
    const e = failure(() => parsePersonality({ ...base(), id: 'x', echoDefualt: true }, 'x.json'));
    expect(e.field).toBe('echoDefualt');
    expect(e.problem).toMatch(/^unknown field/);
  });

  it('missing field, wrong type, bad error spec, out of range', () => {
    const b = base();
    delete b['cchoResult'];
    expect(failure(() => parsePersonality({ ...b, id: 'x' })).message).toBe("<inline>: field 'cchoResult': is required");
    expect(failure(() => parsePersonality({ ...base(), id: 'x', echoDefault: 'yes' })).problem).toBe('expected true or false, got "yes"');
    expect(failure(() => parsePersonality({ ...base(), id: 'x', errors: { unknownSession: 'CME 50' } })).field).toBe('errors.unknownSession');
    expect(failure(() => parsePersonality({ ...base(), id: 'x', limits: { maxLineLength: 2048, maxApduBytes: { csim: 261, cgla: 261 }, maxChannels: 25 } })).field).toBe(
      'limits.maxChannels',
    );
    expect(failure(() => parsePersonality({ ...base(), id: 'x', commands: { ccho: { supported: false } } })).field).toBe('commands.ccho.error');
    expect(failure(() => parsePersonality({ ...base(), id: 'x', spuriousErrors: { rate: 2 } })).field).toBe('spuriousErrors.rate');
    expect(failure(() => parsePersonality({ ...base(), id: 'x', identity: { ...(base()['identity'] as object), imei: '12' } })).field).toBe('identity.imei');
  });

  it('id must match the file name; invalid JSON; unreadable file; unknown name', () => {
    expect(failure(() => loadPersonality(write('one', { ...base(), id: 'two' }))).problem).toBe("'two' does not match the file name 'one'");
    expect(failure(() => loadPersonality(write('broken', '{"id": '))).problem).toMatch(/^invalid JSON/);
    expect(failure(() => loadPersonality(join(dir, 'absent.json'))).problem).toMatch(/^cannot read \(ENOENT\)/);
    expect(failure(() => loadPersonality('no-such-modem')).problem).toMatch(/cannot read \(ENOENT\); bundled personalities: fibocom-fm350/);
    expect(failure(() => loadPersonality('Bad Name')).problem).toMatch(/not a personality name/);
  });

  it('extends merges objects and reports cycles', () => {
    write('parent', { ...base(), id: 'parent' });
    const child = write('child', { extends: 'parent', id: 'child', format: { hexCase: 'lower' } });
    const p = loadPersonality(child);
    expect(p.format).toEqual({ spaceAfterColon: true, hexCase: 'lower', lineEnding: '\r\n', nonAtLine: 'ignore' });
    write('a', { extends: 'b', id: 'a' });
    const b = write('b', { extends: 'a', id: 'b' });
    expect(failure(() => loadPersonality(b)).problem).toBe('cycle: b.json -> a.json -> b.json');
  });
});
