// Personality files: every bundled one loads and every value it writes carries evidence
// (the loader refuses an unsourced value), synthetic ones say what they stress, the
// sourced quirks are what the cited sources show, the generated README table is current,
// and validation errors name the file, the field and the problem.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BASELINE, BASELINE_SOURCES, listPersonalities, loadPersonality, parsePersonality, PERSONALITY_DIR } from './personality.ts';
import { renderPersonalityTable, TABLE_FILE } from './personality-table.ts';
import { PersonalityError } from './types.ts';

const BUNDLED = [
  'dell-dw5821e',
  'fibocom-fg132',
  'fibocom-fm350',
  'nordic-nrf9151',
  'quectel-ec20f',
  'quectel-ec25j',
  'quectel-ec800g',
  'quectel-eg916q',
  'seiko',
  'sierra-em7590',
  'sierra-mc7455',
  'simcom-a7670',
  'simcom-a7908e',
  'simcom-sim7600',
  'simcom-sim7600-noesim',
  'synthetic-lifecycle-stale',
  'synthetic-slow-fibocom-like',
  'synthetic-terminal-capability-gate',
  'synthetic-upper-hex-only',
  'telit-le910c1',
];

const failure = (fn: () => unknown): PersonalityError => {
  try {
    fn();
  } catch (err) {
    if (err instanceof PersonalityError) return err;
    throw err;
  }
  throw new Error('expected a PersonalityError');
};

const rawOf = (name: string): Record<string, unknown> => JSON.parse(readFileSync(join(PERSONALITY_DIR, `${name}.json`), 'utf8')) as Record<string, unknown>;

describe('bundled personalities', () => {
  it('are the sourced modems, the old name of the CSIM-only SIM7600, and four synthetic stress personalities', () => {
    expect(listPersonalities()).toEqual(BUNDLED);
    const real = BUNDLED.map((n) => loadPersonality(n)).filter((p) => !p.synthetic);
    // simcom-sim7600-noesim is simcom-sim7600 under its earlier name: counted once
    expect(new Set(real.map((p) => `${p.identity.manufacturer} ${p.identity.model}`)).size).toBe(15);
  });

  it.each(BUNDLED)('%s loads; every value it writes carries evidence (loader with requireEvidence)', (name) => {
    const p = loadPersonality(name);
    expect(p.id).toBe(name);
    expect(p.source).toBe(join(PERSONALITY_DIR, `${name}.json`));
    expect(p.identity.ati.length).toBeGreaterThan(0);
    expect(p.characterization.length).toBeGreaterThan(0);
    if (p.synthetic) {
      expect(p.id.startsWith('synthetic-')).toBe(true);
      expect(p.stresses.length).toBeGreaterThan(20);
    } else {
      // public sources are URLs of public pages; every path with evidence exists in the file or the baseline
      for (const [path, list] of Object.entries(p.evidence)) {
        expect(list.length, path).toBeGreaterThan(0);
        for (const e of list) if ('url' in e) expect(e.url).toMatch(/^https:\/\//);
      }
    }
  });

  it.each(BUNDLED.filter((n) => !n.startsWith('synthetic-') && n !== 'simcom-sim7600-noesim'))('%s: removing any one evidence entry makes the loader refuse the file', (name) => {
    const raw = rawOf(name);
    const dir = mkdtempSync(join(tmpdir(), 'bridgelab-src-'));
    try {
      const paths: string[][] = [];
      const walk = (obj: Record<string, unknown>, prefix: string[]): void => {
        for (const [k, v] of Object.entries(obj)) {
          if (k.endsWith('@sources')) paths.push([...prefix, k]);
          else if (typeof v === 'object' && v !== null && !Array.isArray(v)) walk(v as Record<string, unknown>, [...prefix, k]);
        }
      };
      walk(raw, []);
      expect(paths.length).toBeGreaterThan(3);
      for (const path of paths) {
        const copy = JSON.parse(JSON.stringify(raw)) as Record<string, unknown>;
        let cur = copy;
        for (const part of path.slice(0, -1)) cur = cur[part] as Record<string, unknown>;
        delete cur[path[path.length - 1] as string];
        const f = join(dir, `${name}.json`);
        writeFileSync(f, JSON.stringify(copy));
        const e = failure(() => loadPersonality(f));
        expect(e.problem, path.join('.')).toMatch(/^has no evidence: add '.+@sources' \(a public source, or the 27\.007\/V\.250 baseline\), remove the value, or make the personality synthetic/);
        expect(e.field.startsWith([...path.slice(0, -1), (path[path.length - 1] as string).replace('@sources', '')].join('.')), `${e.field} for ${path.join('.')}`).toBe(true);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('every baseline value has its standard', () => {
    const paths: string[] = [];
    const walk = (o: Record<string, unknown>, prefix: string): void => {
      for (const [k, v] of Object.entries(o)) {
        const path = prefix + k;
        if (BASELINE_SOURCES[path]) paths.push(path);
        else if (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length > 0) walk(v as Record<string, unknown>, `${path}.`);
        else throw new Error(`baseline value ${path} has no BASELINE_SOURCES entry`);
      }
    };
    walk(BASELINE as Record<string, unknown>, '');
    for (const p of paths) for (const e of BASELINE_SOURCES[p] ?? []) expect('baseline' in e && /^(3GPP TS|ITU-T|ETSI TS|ISO\/IEC)/.test(e.baseline), p).toBe(true);
  });

  it('carry the behaviours their sources show', () => {
    const ec25 = loadPersonality('quectel-ec25j');
    expect(ec25).toMatchObject({ csimStatusOnLogicalChannelFails: true, cchoResult: 'prefixed', cglaSetsChannelInCla: true, errors: { cchoOnNonEuicc: { kind: 'cme', code: 13 } } });
    expect(ec25.urcsAfterRestart.map((u) => u.text)).toEqual(['RDY', '+CPIN: READY', '+QUSIM: 1']);
    expect(ec25.lifecycle).toMatchObject({ onRefresh: 'reenumerate', reenumerateGoneMs: 2000 });
    expect(ec25.evidence['lifecycle']?.[0]).toMatchObject({ url: 'https://github.com/commaai/agnos-builder/pull/556' });
    expect(loadPersonality('quectel-ec20f').spuriousErrors).toMatchObject({ rate: 0.02, scope: 'bpp', commands: ['cgla'], error: { kind: 'error' } });
    expect(loadPersonality('quectel-ec800g').getResponseLe00).toBe('loop6100');
    expect(loadPersonality('quectel-eg916q')).toMatchObject({ commands: { crsm: { supported: false, error: { kind: 'cme', code: 3 } } }, lifecycle: { onRefresh: 'ignore', serialDropsOnCfun0: true } });
    const sim7600 = loadPersonality('simcom-sim7600');
    for (const c of ['ccho', 'cgla', 'cchc'] as const) expect(sim7600.commands[c]).toEqual({ supported: false, error: { kind: 'error' }, test: 'error' });
    expect(sim7600.commands.csim.supported).toBe(true);
    const noesim = loadPersonality('simcom-sim7600-noesim');
    expect({ ...noesim, id: '', description: '', characterization: '', source: '' }).toEqual({ ...sim7600, id: '', description: '', characterization: '', source: '' });
    expect(loadPersonality('simcom-a7908e').format).toMatchObject({ spaceAfterColon: false, hexCase: 'upper' });
    expect(loadPersonality('simcom-a7670').urcsAfterRestart.map((u) => u.text)).toEqual(['*ATREADY: 1', '+CPIN: READY', 'SMS DONE', 'PB DONE']);
    expect(loadPersonality('fibocom-fm350')).toMatchObject({ cchoResult: 'bare', testCommands: 'ok', errors: { unknownSession: { kind: 'error' } } });
    expect(loadPersonality('fibocom-fg132').commands.cgla).toEqual({ supported: true, error: { kind: 'error' }, test: 'error' });
    expect(loadPersonality('sierra-em7590')).toMatchObject({ cchoResult: 'handle', cglaSetsChannelInCla: true, commands: { cgla: { test: 'error' } } });
    expect(loadPersonality('sierra-mc7455')).toMatchObject({ cchoResult: 'handle', commands: { cgla: { test: 'ok' } } });
    expect(loadPersonality('dell-dw5821e').commands.ccho.supported).toBe(false);
    expect(loadPersonality('nordic-nrf9151')).toMatchObject({ simRequiresUsim: true, errors: { simNotUsable: { kind: 'cme', code: 13 } } });
    // seiko writes nothing but identity: every behaviour is the baseline, with the baseline's sources
    const seiko = loadPersonality('seiko');
    expect(Object.keys(rawOf('seiko')).filter((k) => !k.endsWith('@sources')).sort()).toEqual(['characterization', 'description', 'id', 'identity']);
    expect(seiko.evidence['cchoResult']).toEqual(BASELINE_SOURCES['cchoResult']);
    expect(seiko).toMatchObject({ cglaSetsChannelInCla: true, cmeeDefault: 0, testCommands: 'ok', urcsAfterRestart: [], timing: { perCommandLatencyMs: 0, restartMs: 0 } });
  });

  it('the unconfirmed claims (upper-case hex only, TERMINAL CAPABILITY gate) live only in synthetic personalities', () => {
    for (const name of BUNDLED) {
      const p = loadPersonality(name);
      if (p.format.hexInput === 'upper' || p.csimNeedsTerminalCapability) expect(p.synthetic, name).toBe(true);
    }
    expect(loadPersonality('synthetic-upper-hex-only').format.hexInput).toBe('upper');
    expect(loadPersonality('synthetic-terminal-capability-gate')).toMatchObject({ csimNeedsTerminalCapability: true, commands: { ccho: { supported: false } } });
  });

  it('the README table of sim/modem/personalities is current (regenerate: node --import tsx sim/modem/personality-table.ts --write)', () => {
    const table = renderPersonalityTable();
    expect(readFileSync(TABLE_FILE, 'utf8')).toBe(table);
    for (const name of BUNDLED) expect(table).toContain(`| \`${name}\` |`);
    expect(table).toContain('<https://github.com/estkme-group/lpac/issues/209>');
    expect(table).toMatch(/\| `seiko` \| SEIKO SOLUTIONS INC\. SEIKO-LTE-BASELINE \| sourced \| none: the baseline \|/);
  });
});

describe('evidence rules', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bridgelab-pers-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const idn = { manufacturer: 'M', model: 'X', revision: '1', imei: '990000000000001', ati: ['M'], 'imei@sources': [{ illustrative: 'a placeholder IMEI' }], 'manufacturer@sources': [{ illustrative: 'placeholder' }], 'model@sources': [{ illustrative: 'placeholder' }], 'revision@sources': [{ illustrative: 'placeholder' }], 'ati@sources': [{ illustrative: 'placeholder' }] };
  const doc = (id: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ id, characterization: 'test', identity: idn, ...extra });
  const write = (name: string, obj: unknown): string => {
    const f = join(dir, `${name}.json`);
    writeFileSync(f, JSON.stringify(obj));
    return f;
  };

  it('an unsourced value is refused by the loader, accepted in an inline parse, and fine in a synthetic personality', () => {
    const f = write('plain', doc('plain', { cchoResult: 'bare' }));
    const e = failure(() => loadPersonality(f));
    expect(e.message).toBe(
      `${f}: field 'cchoResult': has no evidence: add 'cchoResult@sources' (a public source, or the 27.007/V.250 baseline), remove the value, or make the personality synthetic (unsourced: cchoResult)`,
    );
    expect(parsePersonality(doc('plain', { cchoResult: 'bare' })).cchoResult).toBe('bare');
    const s = write('synthetic-bare', doc('synthetic-bare', { cchoResult: 'bare', synthetic: true, stresses: 'a bare CCHO number with no source at all' }));
    expect(loadPersonality(s)).toMatchObject({ synthetic: true, cchoResult: 'bare' });
  });

  it('a measured personality (observations file next to it) needs no per-value evidence', () => {
    const f = write('lab', doc('lab', { cchoResult: 'bare' }));
    writeFileSync(`${f}.observations.json`, '[]');
    expect(loadPersonality(f).cchoResult).toBe('bare');
  });

  it('evidence forms: https URL with what it shows, a named standard, illustrative only for identity', () => {
    const with_ = (sources: unknown) => write('e', doc('e', { cchoResult: 'bare', 'cchoResult@sources': sources }));
    expect(loadPersonality(with_([{ url: 'https://example.org/log', shows: 'a bare 1 after AT+CCHO' }])).evidence['cchoResult']).toEqual([{ url: 'https://example.org/log', shows: 'a bare 1 after AT+CCHO' }]);
    expect(failure(() => loadPersonality(with_([{ url: 'http://example.org/x', shows: 'plain http is not it' }]))).field).toBe('cchoResult@sources[0].url');
    expect(failure(() => loadPersonality(with_([{ baseline: 'the standard', shows: 'something or other' }]))).problem).toMatch(/^must name a standard and its clause/);
    expect(failure(() => loadPersonality(with_([{ illustrative: 'made up but honest' }]))).problem).toBe('illustrative values are allowed for identity strings only; other values need a source or a baseline');
    expect(failure(() => loadPersonality(with_([]))).problem).toMatch(/^expected a non-empty array/);
    expect(failure(() => loadPersonality(with_([{ url: 'https://example.org/x', shows: 'ok', extra: 1 }]))).problem).toMatch(/^expected \{url, shows\}/);
    expect(failure(() => loadPersonality(write('o', doc('o', { 'echoDefault@sources': [{ baseline: 'ITU-T V.250 6.2.4', shows: 'echo on by default' }] })))).problem).toBe(
      "evidence for 'echoDefault', which the file does not set",
    );
  });

  it('an evidence entry covers the value and everything inside it', () => {
    const f = write('cover', doc('cover', { format: { spaceAfterColon: false, hexCase: 'lower' }, 'format@sources': [{ url: 'https://example.org/a', shows: 'no space, lower case hex' }] }));
    expect(loadPersonality(f).format).toMatchObject({ spaceAfterColon: false, hexCase: 'lower' });
  });

  it('a child that replaces a value must bring its own evidence (the parent\'s does not carry over)', () => {
    write('parent', doc('parent', { cchoResult: 'bare', 'cchoResult@sources': [{ url: 'https://example.org/p', shows: 'the parent module answers a bare number' }] }));
    const same = write('child', { extends: 'parent', id: 'child', characterization: 'inherits' });
    expect(loadPersonality(same).evidence['cchoResult']).toEqual([{ url: 'https://example.org/p', shows: 'the parent module answers a bare number' }]);
    const replaced = write('child2', { extends: 'parent', id: 'child2', cchoResult: 'handle' });
    expect(failure(() => loadPersonality(replaced)).field).toBe('cchoResult');
  });

  it('synthetic needs the synthetic- prefix and a stresses sentence; the prefix needs synthetic', () => {
    expect(failure(() => parsePersonality(doc('x', { synthetic: true, stresses: 'something long enough to be a sentence' }))).field).toBe('id');
    expect(failure(() => parsePersonality(doc('synthetic-x', { synthetic: true }))).field).toBe('stresses');
    expect(failure(() => parsePersonality(doc('synthetic-x'))).field).toBe('synthetic');
  });
});

describe('validation errors name the file, the field and the problem', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bridgelab-pers-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const base = (): Record<string, unknown> => ({ id: 'x', characterization: 'test', identity: { manufacturer: 'M', model: 'X', revision: '1', imei: '990000000000001', ati: ['M'] } });
  const write = (name: string, obj: unknown): string => {
    const f = join(dir, `${name}.json`);
    writeFileSync(f, typeof obj === 'string' ? obj : JSON.stringify(obj));
    return f;
  };

  it('wrong enum value', () => {
    const e = failure(() => parsePersonality({ ...base(), format: { spaceAfterColon: true, hexCase: 'UPPER' } }, 'x.json'));
    expect(e.message).toBe(`x.json: field 'format.hexCase': expected one of "upper", "lower", got "UPPER"`);
  });

  it('unknown field (a typo must not become a default)', () => {
    const e = failure(() => parsePersonality({ ...base(), echoDefualt: true }, 'x.json'));
    expect(e.field).toBe('echoDefualt');
    expect(e.problem).toMatch(/^unknown field/);
  });

  it('missing field, wrong type, bad error spec, out of range, knob rules', () => {
    const b = base();
    delete b['characterization'];
    expect(failure(() => parsePersonality(b)).message).toBe("<inline>: field 'characterization': is required");
    expect(failure(() => parsePersonality({ ...base(), echoDefault: 'yes' })).problem).toBe('expected true or false, got "yes"');
    expect(failure(() => parsePersonality({ ...base(), errors: { unknownSession: 'CME 50' } })).field).toBe('errors.unknownSession');
    expect(failure(() => parsePersonality({ ...base(), limits: { maxChannels: 25 } })).field).toBe('limits.maxChannels');
    expect(failure(() => parsePersonality({ ...base(), commands: { ccho: { supported: false } } })).field).toBe('commands.ccho.error');
    expect(failure(() => parsePersonality({ ...base(), spuriousErrors: { rate: 2 } })).field).toBe('spuriousErrors.rate');
    expect(failure(() => parsePersonality({ ...base(), spuriousErrors: { commands: ['crsm'] } })).message).toBe(`<inline>: field 'spuriousErrors.commands[0]': expected "csim" or "cgla", got "crsm"`);
    expect(failure(() => parsePersonality({ ...base(), identity: { ...(base()['identity'] as object), imei: '12' } })).field).toBe('identity.imei');
    expect(failure(() => parsePersonality({ ...base(), lifecycle: { onRefresh: 'reenumerate' } })).message).toBe(
      `<inline>: field 'lifecycle.reenumerateGoneMs': must be > 0 when the serial device vanishes (onRefresh "reenumerate" or serialDropsOnCfun0)`,
    );
    expect(failure(() => parsePersonality({ ...base(), lifecycle: { sessionsAfterCardReset: 'kept' } })).field).toBe('lifecycle.sessionsAfterCardReset');
  });

  it('id must match the file name; invalid JSON; unreadable file; unknown name', () => {
    expect(failure(() => loadPersonality(write('one', { ...base(), id: 'two' }))).problem).toBe("'two' does not match the file name 'one'");
    expect(failure(() => loadPersonality(write('broken', '{"id": '))).problem).toMatch(/^invalid JSON/);
    expect(failure(() => loadPersonality(join(dir, 'absent.json'))).problem).toMatch(/^cannot read \(ENOENT\)/);
    expect(failure(() => loadPersonality('no-such-modem')).problem).toMatch(/cannot read \(ENOENT\); bundled personalities: dell-dw5821e/);
    expect(failure(() => loadPersonality('Bad Name')).problem).toMatch(/not a personality name/);
  });

  it('extends merges objects and reports cycles', () => {
    write('p2', { ...base(), id: 'synthetic-p2', synthetic: true, stresses: 'a parent to extend in this test' });
    const child = write('synthetic-child', { extends: 'p2', id: 'synthetic-child', format: { hexCase: 'lower' } });
    expect(loadPersonality(child).format).toEqual({ spaceAfterColon: true, hexCase: 'lower', lineEnding: '\r\n', nonAtLine: 'ignore', hexInput: 'any' });
    write('a', { extends: 'b', id: 'a' });
    const b = write('b', { extends: 'a', id: 'b' });
    expect(failure(() => loadPersonality(b)).problem).toBe('cycle: b.json -> a.json -> b.json');
  });
});
