// Modem personalities (DESIGN.md "Contracts": a personality is data): identity strings,
// which 27.007 commands exist (8.17 +CSIM, 8.18 +CRSM, 8.43 +CGLA, 8.45 +CCHO, 8.46
// +CCHC), response formatting, limits, errors, URCs and timing, loaded from
// sim/modem/personalities/*.json and validated field by field (unknown fields are
// errors: a typo must not silently become a default). Quirk values come from
// REFERENCE.md section 4; every file says how well its modem is characterized.
import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BARE_ERROR, cmeError, type ErrorSpec, PersonalityError } from './types.ts';

export type HexCase = 'upper' | 'lower';
export type LineEnding = '\r\n' | '\n' | '\r';
/** +CCHO answer: `+CCHO: 1`, a bare `1` line (Fibocom), or an opaque handle (Sierra). */
export type CchoResult = 'prefixed' | 'bare' | 'handle';
/** 61xx: the modem fetches the data with GET RESPONSE itself, or hands 61xx to the TE. */
export type GetResponseMode = 'modem' | 'passthrough';
/** What a `=?` test command gives: OK (with the command's ranges), nothing at all, or an error. */
export type TestCommandBehaviour = 'ok' | 'silent' | 'error';
export type SpuriousScope = 'bpp' | 'storeData' | 'all';
export type CommandId = 'csim' | 'ccho' | 'cchc' | 'cgla' | 'crsm' | 'cimi' | 'cpin' | 'cfun' | 'cmee';
export const COMMAND_IDS: readonly CommandId[] = ['csim', 'ccho', 'cchc', 'cgla', 'crsm', 'cimi', 'cpin', 'cfun', 'cmee'];

export interface CommandSupport {
  supported: boolean;
  /** answer of every form of an unsupported command, and of `=?` when `test` is 'error' */
  error: ErrorSpec;
  test: TestCommandBehaviour;
}

export interface TimedUrc {
  text: string;
  /** ms after the event (end of the restart, card removal...) */
  atMs: number;
}

export interface Personality {
  id: string;
  description: string;
  /** how well this was characterized against a real module, and from what */
  characterization: string;
  /** file it was loaded from (or '<inline>') */
  source: string;
  identity: {
    manufacturer: string;
    model: string;
    revision: string;
    imei: string;
    /** lines ATI answers */
    ati: string[];
    /** vendor commands with a fixed answer, keyed as typed after AT (upper case): `+QGMR`, `+SIMCOMATI`, `!PRIID?` */
    extraCommands: Record<string, string[]>;
  };
  format: {
    spaceAfterColon: boolean;
    hexCase: HexCase;
    lineEnding: LineEnding;
    /** a command line with no `AT` in it: ignored (V.250 5.2.1) or answered ERROR */
    nonAtLine: 'ignore' | 'error';
  };
  echoDefault: boolean;
  /** echo state after a restart (CFUN=1,1 or an internal reboot), whatever ATE said before */
  echoAfterRestart: boolean;
  cmeeDefault: 0 | 1 | 2;
  /** default answer of `=?` on supported commands */
  testCommands: 'ok' | 'silent';
  commands: Record<CommandId, CommandSupport>;
  /** ICCID commands, e.g. {command '+QCCID', prefix '+QCCID'}; answer `<prefix>: <iccid>` */
  iccidCommands: { command: string; prefix: string }[];
  cchoResult: CchoResult;
  /** 27.007 8.45: the MT manages the channel bits of CLA for +CGLA (the TE sends them as 0) */
  cglaSetsChannelInCla: boolean;
  /** STATUS (INS F2) sent by +CSIM on a logical channel fails with errors.csimStatusOnLogicalChannel */
  csimStatusOnLogicalChannelFails: boolean;
  getResponse: GetResponseMode;
  limits: {
    /** characters of a command line (AT included, terminating CR excluded) */
    maxLineLength: number;
    maxApduBytes: { csim: number; cgla: number };
    /** sessions +CCHO can have open at once */
    maxChannels: number;
    /** a command line whose characters arrive further apart than this is discarded (null: no timeout) */
    interCharTimeoutMs: number | null;
  };
  errors: {
    /** wrong length, bad hex, missing or out-of-range parameter */
    badParameters: ErrorSpec;
    /** +CCHC/+CGLA with a session id that is not open */
    unknownSession: ErrorSpec;
    /** +CCHO when limits.maxChannels sessions are open or the card has no free channel */
    noFreeChannel: ErrorSpec;
    /** +CCHO whose SELECT fails (no such application: a card that is not an eUICC) */
    cchoOnNonEuicc: ErrorSpec;
    csimStatusOnLogicalChannel: ErrorSpec;
    /** a new +CCHO sooner than cchoRetryMinIntervalMs after a failed one */
    cchoTooSoon: ErrorSpec;
  };
  /** USIM AID used by +CIMI/+CRSM when EF.DIR does not list one */
  usimAid: string;
  urcsAfterRestart: TimedUrc[];
  urcsOnCardRemoval: TimedUrc[];
  urcsOnCardInsertion: TimedUrc[];
  /**
   * a +CGLA/+CSIM answered with `error` without reaching the card; never twice in a row.
   * scope 'bpp': STORE DATA while a LoadBoundProfilePackage (BF36) is in progress on that
   * channel; 'storeData': any STORE DATA; 'all': any APDU.
   */
  spuriousErrors: { rate: number; scope: SpuriousScope; seed: number; error: ErrorSpec };
  /** minimum time after a failed +CCHO before the next one is accepted (0: none; not scaled by timeScale) */
  cchoRetryMinIntervalMs: number;
  timing: {
    baud: number;
    perCommandLatencyMs: number;
    /** per-command latency overrides, keyed by command name (`+CGLA`, `+CCHO`, `I`...) */
    commandLatencyMs: Record<string, number>;
    /** time from CFUN=1,1 (or a reboot) until the modem listens again */
    restartMs: number;
  };
}

const HERE = dirname(fileURLToPath(import.meta.url));
export const PERSONALITY_DIR = join(HERE, 'personalities');

/** Names of the bundled personalities (file names without .json). */
export function listPersonalities(): string[] {
  return readdirSync(PERSONALITY_DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -5))
    .sort();
}

/** Load a bundled personality by name, or a personality file by path (anything with a '/' or ending .json). */
export function loadPersonality(nameOrPath: string): Personality {
  const file = resolvePersonalityFile(nameOrPath);
  return parsePersonality(readRaw(file, []), file);
}

function resolvePersonalityFile(nameOrPath: string): string {
  if (nameOrPath.includes('/') || nameOrPath.endsWith('.json')) return resolve(nameOrPath);
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(nameOrPath))
    throw new PersonalityError(nameOrPath, '', `not a personality name (known: ${listPersonalities().join(', ')})`);
  return join(PERSONALITY_DIR, `${nameOrPath}.json`);
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Read a file and resolve `extends` (objects merge key by key, arrays and scalars replace). */
function readRaw(file: string, chain: string[]): JsonObject {
  if (chain.includes(file)) throw new PersonalityError(file, 'extends', `cycle: ${[...chain, file].map((f) => basename(f)).join(' -> ')}`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const known = listPersonalities().join(', ');
    throw new PersonalityError(file, '', `cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); bundled personalities: ${known}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new PersonalityError(file, '', `invalid JSON: ${(err as Error).message}`);
  }
  if (!isObject(raw)) throw new PersonalityError(file, '', 'must be a JSON object');
  const parent = raw['extends'];
  if (parent === undefined) return raw;
  if (typeof parent !== 'string') throw new PersonalityError(file, 'extends', 'must be a personality name or path');
  const parentFile = parent.includes('/') ? resolve(dirname(file), parent) : join(dirname(file), `${parent}.json`);
  const base = readRaw(parentFile, [...chain, file]);
  const merged = deepMerge(base, raw);
  delete merged['extends'];
  return merged;
}

function deepMerge(base: JsonObject, over: JsonObject): JsonObject {
  const out: JsonObject = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isObject(b) && isObject(v) ? deepMerge(b, v) : v;
  }
  return out;
}

/** Field reader that names the file and the dotted field path in every error. */
class Reader {
  constructor(
    readonly source: string,
    readonly obj: JsonObject,
    readonly path: string,
  ) {}

  private fail(key: string, problem: string): never {
    throw new PersonalityError(this.source, this.path ? `${this.path}.${key}` : key, problem);
  }

  private get(key: string, optional: boolean): Json | undefined {
    const v = this.obj[key];
    if (v === undefined && !optional) this.fail(key, 'is required');
    return v;
  }

  only(keys: string[]): void {
    for (const k of Object.keys(this.obj))
      if (!keys.includes(k)) this.fail(k, `unknown field (allowed here: ${keys.join(', ')})`);
  }

  str(key: string, dflt?: string): string {
    const v = this.get(key, dflt !== undefined);
    if (v === undefined) return dflt as string;
    if (typeof v !== 'string') this.fail(key, `expected a string, got ${JSON.stringify(v)}`);
    return v;
  }

  bool(key: string, dflt?: boolean): boolean {
    const v = this.get(key, dflt !== undefined);
    if (v === undefined) return dflt as boolean;
    if (typeof v !== 'boolean') this.fail(key, `expected true or false, got ${JSON.stringify(v)}`);
    return v;
  }

  num(key: string, opts: { min?: number; max?: number; integer?: boolean; dflt?: number } = {}): number {
    const v = this.get(key, opts.dflt !== undefined);
    if (v === undefined) return opts.dflt as number;
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(key, `expected a number, got ${JSON.stringify(v)}`);
    if (opts.integer && !Number.isInteger(v)) this.fail(key, `expected an integer, got ${v}`);
    if (opts.min !== undefined && v < opts.min) this.fail(key, `must be >= ${opts.min}, got ${v}`);
    if (opts.max !== undefined && v > opts.max) this.fail(key, `must be <= ${opts.max}, got ${v}`);
    return v;
  }

  oneOf<T extends string | number>(key: string, allowed: readonly T[], dflt?: T): T {
    const v = this.get(key, dflt !== undefined);
    if (v === undefined) return dflt as T;
    if (!(allowed as readonly Json[]).includes(v)) this.fail(key, `expected one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}, got ${JSON.stringify(v)}`);
    return v as T;
  }

  obj_(key: string, optional = false): Reader {
    const v = this.get(key, optional);
    if (v === undefined) return new Reader(this.source, {}, this.sub(key));
    if (!isObject(v)) this.fail(key, 'expected an object');
    return new Reader(this.source, v, this.sub(key));
  }

  arr(key: string, optional = false): Json[] {
    const v = this.get(key, optional);
    if (v === undefined) return [];
    if (!Array.isArray(v)) this.fail(key, 'expected an array');
    return v;
  }

  strArr(key: string, optional = false): string[] {
    return this.arr(key, optional).map((e, i) => {
      if (typeof e !== 'string') this.fail(`${key}[${i}]`, `expected a string, got ${JSON.stringify(e)}`);
      return e;
    });
  }

  errorSpec(key: string, dflt?: ErrorSpec): ErrorSpec {
    const v = this.get(key, dflt !== undefined);
    if (v === undefined) return dflt as ErrorSpec;
    if (v === 'ERROR') return BARE_ERROR;
    const m = typeof v === 'string' ? /^\+CME ERROR: (\d{1,3})$/.exec(v) : null;
    if (!m) this.fail(key, `expected "ERROR" or "+CME ERROR: <n>", got ${JSON.stringify(v)}`);
    return cmeError(Number(m[1]));
  }

  sub(key: string): string {
    return this.path ? `${this.path}.${key}` : key;
  }

  hasKey(key: string): boolean {
    return this.obj[key] !== undefined;
  }
}

const TOP_KEYS = [
  '$comment', 'id', 'description', 'characterization', 'identity', 'format', 'echoDefault', 'echoAfterRestart', 'cmeeDefault',
  'testCommands', 'commands', 'iccidCommands', 'cchoResult', 'cglaSetsChannelInCla', 'csimStatusOnLogicalChannelFails',
  'getResponse', 'limits', 'errors', 'usimAid', 'urcsAfterRestart', 'urcsOnCardRemoval', 'urcsOnCardInsertion',
  'spuriousErrors', 'cchoRetryMinIntervalMs', 'timing',
];

/** Validate a parsed personality object (already `extends`-resolved). */
export function parsePersonality(raw: unknown, source = '<inline>'): Personality {
  if (!isObject(raw)) throw new PersonalityError(source, '', 'must be a JSON object');
  const r = new Reader(source, raw, '');
  r.only(TOP_KEYS);
  const id = r.str('id');
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(id)) throw new PersonalityError(source, 'id', `must be lower-case letters, digits, '.', '_' or '-', got ${JSON.stringify(id)}`);
  const fileBase = source.endsWith('.json') ? basename(source, '.json') : undefined;
  if (fileBase !== undefined && fileBase !== id) throw new PersonalityError(source, 'id', `'${id}' does not match the file name '${fileBase}'`);

  const idn = r.obj_('identity');
  idn.only(['manufacturer', 'model', 'revision', 'imei', 'ati', 'extraCommands']);
  const imei = idn.str('imei');
  if (!/^\d{15}$/.test(imei)) throw new PersonalityError(source, 'identity.imei', `must be 15 digits, got ${JSON.stringify(imei)}`);
  const extraRaw = idn.obj_('extraCommands', true);
  const extraCommands: Record<string, string[]> = {};
  for (const k of Object.keys(extraRaw.obj)) {
    if (!/^[+!$%#^&*A-Z][A-Z0-9!$%#^&*.:_/-]*\??$/.test(k))
      throw new PersonalityError(source, `identity.extraCommands.${k}`, 'command must be written upper case as typed after AT, e.g. "+QGMR" or "!PRIID?"');
    extraCommands[k] = extraRaw.strArr(k);
  }

  const fmt = r.obj_('format');
  fmt.only(['spaceAfterColon', 'hexCase', 'lineEnding', 'nonAtLine']);

  const cmds = r.obj_('commands');
  cmds.only([...COMMAND_IDS]);
  const testDefault = r.oneOf('testCommands', ['ok', 'silent'] as const);
  const commands = {} as Record<CommandId, CommandSupport>;
  for (const c of COMMAND_IDS) {
    const cr = cmds.obj_(c, true);
    cr.only(['supported', 'error', 'test']);
    const supported = cr.bool('supported', true);
    const error = cr.errorSpec('error', BARE_ERROR);
    if (!supported && !cr.hasKey('error')) throw new PersonalityError(source, `commands.${c}.error`, 'is required when supported is false (ERROR or +CME ERROR: 4?)');
    const test = cr.oneOf('test', ['ok', 'silent', 'error'] as const, supported ? testDefault : 'error');
    commands[c] = { supported, error, test };
  }

  const iccidCommands = r.arr('iccidCommands').map((e, i) => {
    if (!isObject(e)) throw new PersonalityError(source, `iccidCommands[${i}]`, 'expected {command, prefix}');
    const er = new Reader(source, e, `iccidCommands[${i}]`);
    er.only(['command', 'prefix']);
    const command = er.str('command');
    if (!/^[+!][A-Z0-9]+$/.test(command)) throw new PersonalityError(source, `iccidCommands[${i}].command`, `must look like "+CCID" or "!ICCID", got ${JSON.stringify(command)}`);
    return { command, prefix: er.str('prefix') };
  });

  const lim = r.obj_('limits');
  lim.only(['maxLineLength', 'maxApduBytes', 'maxChannels', 'interCharTimeoutMs']);
  const apduLim = lim.obj_('maxApduBytes');
  apduLim.only(['csim', 'cgla']);
  const ictRaw = lim.obj['interCharTimeoutMs'];
  const interCharTimeoutMs = ictRaw === null || ictRaw === undefined ? null : lim.num('interCharTimeoutMs', { min: 1 });

  const errs = r.obj_('errors', true);
  errs.only(['badParameters', 'unknownSession', 'noFreeChannel', 'cchoOnNonEuicc', 'csimStatusOnLogicalChannel', 'cchoTooSoon']);

  const urcs = (key: string): TimedUrc[] =>
    r.arr(key, key !== 'urcsAfterRestart').map((e, i) => {
      if (!isObject(e)) throw new PersonalityError(source, `${key}[${i}]`, 'expected {text, atMs}');
      const ur = new Reader(source, e, `${key}[${i}]`);
      ur.only(['text', 'atMs']);
      const text = ur.str('text');
      if (/[\r\n]/.test(text)) throw new PersonalityError(source, `${key}[${i}].text`, 'must be one line');
      return { text, atMs: ur.num('atMs', { min: 0 }) };
    });

  const sp = r.obj_('spuriousErrors', true);
  sp.only(['rate', 'scope', 'seed', 'error']);
  const tm = r.obj_('timing');
  tm.only(['baud', 'perCommandLatencyMs', 'commandLatencyMs', 'restartMs']);
  const latRaw = tm.obj_('commandLatencyMs', true);
  const commandLatencyMs: Record<string, number> = {};
  for (const k of Object.keys(latRaw.obj)) commandLatencyMs[k.toUpperCase()] = latRaw.num(k, { min: 0 });

  const usimAid = r.str('usimAid', 'A0000000871002FFFFFFFF8907090000');
  if (!/^([0-9A-Fa-f]{2}){5,16}$/.test(usimAid)) throw new PersonalityError(source, 'usimAid', 'must be 5 to 16 bytes of hex');

  const echoDefault = r.bool('echoDefault');
  return {
    id,
    description: r.str('description', ''),
    characterization: r.str('characterization'),
    source,
    identity: {
      manufacturer: idn.str('manufacturer'),
      model: idn.str('model'),
      revision: idn.str('revision'),
      imei,
      ati: idn.strArr('ati'),
      extraCommands,
    },
    format: {
      spaceAfterColon: fmt.bool('spaceAfterColon'),
      hexCase: fmt.oneOf('hexCase', ['upper', 'lower'] as const),
      lineEnding: fmt.oneOf('lineEnding', ['\r\n', '\n', '\r'] as const, '\r\n'),
      nonAtLine: fmt.oneOf('nonAtLine', ['ignore', 'error'] as const, 'ignore'),
    },
    echoDefault,
    echoAfterRestart: r.bool('echoAfterRestart', echoDefault),
    cmeeDefault: r.oneOf('cmeeDefault', [0, 1, 2] as const),
    testCommands: testDefault,
    commands,
    iccidCommands,
    cchoResult: r.oneOf('cchoResult', ['prefixed', 'bare', 'handle'] as const),
    cglaSetsChannelInCla: r.bool('cglaSetsChannelInCla'),
    csimStatusOnLogicalChannelFails: r.bool('csimStatusOnLogicalChannelFails', false),
    getResponse: r.oneOf('getResponse', ['modem', 'passthrough'] as const),
    limits: {
      maxLineLength: lim.num('maxLineLength', { min: 16, integer: true }),
      maxApduBytes: { csim: apduLim.num('csim', { min: 5, max: 65544, integer: true }), cgla: apduLim.num('cgla', { min: 5, max: 65544, integer: true }) },
      maxChannels: lim.num('maxChannels', { min: 0, max: 19, integer: true }),
      interCharTimeoutMs,
    },
    errors: {
      badParameters: errs.errorSpec('badParameters', BARE_ERROR),
      unknownSession: errs.errorSpec('unknownSession', cmeError(50)),
      noFreeChannel: errs.errorSpec('noFreeChannel', cmeError(20)),
      cchoOnNonEuicc: errs.errorSpec('cchoOnNonEuicc', cmeError(13)),
      csimStatusOnLogicalChannel: errs.errorSpec('csimStatusOnLogicalChannel', BARE_ERROR),
      cchoTooSoon: errs.errorSpec('cchoTooSoon', cmeError(14)),
    },
    usimAid: usimAid.toUpperCase(),
    urcsAfterRestart: urcs('urcsAfterRestart'),
    urcsOnCardRemoval: urcs('urcsOnCardRemoval'),
    urcsOnCardInsertion: urcs('urcsOnCardInsertion'),
    spuriousErrors: {
      rate: sp.num('rate', { min: 0, max: 1, dflt: 0 }),
      scope: sp.oneOf('scope', ['bpp', 'storeData', 'all'] as const, 'bpp'),
      seed: sp.num('seed', { integer: true, min: 0, dflt: 1 }),
      error: sp.errorSpec('error', BARE_ERROR),
    },
    cchoRetryMinIntervalMs: r.num('cchoRetryMinIntervalMs', { min: 0, dflt: 0 }),
    timing: {
      baud: tm.num('baud', { min: 300, max: 4_000_000, integer: true }),
      perCommandLatencyMs: tm.num('perCommandLatencyMs', { min: 0 }),
      commandLatencyMs,
      restartMs: tm.num('restartMs', { min: 0 }),
    },
  };
}
