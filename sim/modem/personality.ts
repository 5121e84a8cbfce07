// Modem personalities (a personality is data): identity strings, which 3GPP TS 27.007
// commands exist (8.17 +CSIM, 8.18 +CRSM, 8.43 +CGLA, 8.45 +CCHO, 8.46 +CCHC),
// response formatting, limits, errors, URCs, timing and the post-enable lifecycle,
// loaded from sim/modem/personalities/*.json and validated field by field (unknown
// fields are errors: a typo must not silently become a default).
//
// Evidence. Every value a personality file writes carries its evidence next to it, in a
// sibling key named `<key>@sources` (an array; it covers the value and everything inside
// it):
//   { "url": "https://...", "shows": "what the source shows, in our own words" }
//   { "baseline": "3GPP TS 27.007 8.45", "shows": "what the standard says" }
//   { "illustrative": "why" }   (identity strings only: no public transcript exists)
// A value the file does not write takes the 27.007 / V.250 baseline of BASELINE below,
// whose sources are BASELINE_SOURCES. The loader refuses a file with an unsourced value,
// unless the file is a synthetic stress personality ("synthetic": true, a "stresses"
// sentence, id starting "synthetic-") or a personality measured by `bridgelab
// characterize` (its observations file `<file>.observations.json` lies next to it and is
// its evidence).
//
// Knobs (the behaviours a bridge must survive; each is documented where it is declared
// in the Personality interface): format.hexInput, csimNeedsTerminalCapability,
// getResponseLe00, spuriousErrors.commands, simRequiresUsim, errors.simNotUsable,
// errors.terminalCapabilityMissing, lifecycle.* (proactive, onRefresh, refreshDelayMs,
// reenumerateGoneMs, urcsAfterCardReset, sessionsAfterCardReset, serialDropsOnCfun0),
// besides the older cchoResult, testCommands / commands.*.test, cglaSetsChannelInCla,
// csimStatusOnLogicalChannelFails, getResponse, spuriousErrors, urcs* and timing.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
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
export type ApduCommand = 'csim' | 'cgla';
export type CommandId = 'csim' | 'ccho' | 'cchc' | 'cgla' | 'crsm' | 'cimi' | 'cpin' | 'cfun' | 'cmee';
export const COMMAND_IDS: readonly CommandId[] = ['csim', 'ccho', 'cchc', 'cgla', 'crsm', 'cimi', 'cpin', 'cfun', 'cmee'];
/** What the MT does once the card asked for a REFRESH (ETSI TS 102 223 6.4.7). */
export type RefreshAction = 'reset' | 'ignore' | 'reenumerate';

export interface CommandSupport {
  supported: boolean;
  /** answer of every form of an unsupported command, and of `=?` when `test` is 'error' */
  error: ErrorSpec;
  test: TestCommandBehaviour;
}

export interface TimedUrc {
  text: string;
  /** ms after the event (end of the restart, card removal, card reset...) */
  atMs: number;
}

/** A public source, a standard baseline, or (identity strings only) an illustrative value. */
export type Evidence = { url: string; shows: string } | { baseline: string; shows: string } | { illustrative: string };

export interface Personality {
  id: string;
  description: string;
  /** how well this was characterized against a real module, and from what */
  characterization: string;
  /** file it was loaded from (or '<inline>') */
  source: string;
  /** a stress personality: no claim that a real module behaves so */
  synthetic: boolean;
  /** what a synthetic personality stresses ('' otherwise) */
  stresses: string;
  /** dotted field path -> evidence; a path covers everything under it; defaulted fields have their baseline */
  evidence: Readonly<Record<string, readonly Evidence[]>>;
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
    /** hex the MT accepts in +CSIM/+CGLA commands: any case, or upper case only (lower case -> errors.badParameters) */
    hexInput: 'any' | 'upper';
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
  /**
   * A GET RESPONSE (INS C0) with P3 = 00 (256 bytes) sent by the TE through +CSIM: passed
   * to the card ('card'), or answered 6100 with no data without reaching the card
   * ('loop6100'), so a TE that keeps asking for 256 bytes loops for ever. (+CGLA is not
   * affected: the public log shows +CSIM only.)
   */
  getResponseLe00: 'card' | 'loop6100';
  /** +CSIM APDUs other than TERMINAL CAPABILITY (80 AA) fail with errors.terminalCapabilityMissing until the TE sent one since the last card reset */
  csimNeedsTerminalCapability: boolean;
  /** the MT uses the card only when it finds a USIM (no enabled profile: none): SIM commands then fail with errors.simNotUsable */
  simRequiresUsim: boolean;
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
    /** SIM commands while simRequiresUsim and the card has no USIM */
    simNotUsable: ErrorSpec;
    /** +CSIM before TERMINAL CAPABILITY while csimNeedsTerminalCapability */
    terminalCapabilityMissing: ErrorSpec;
  };
  /** USIM AID used by +CIMI/+CRSM when EF.DIR does not list one */
  usimAid: string;
  urcsAfterRestart: TimedUrc[];
  urcsOnCardRemoval: TimedUrc[];
  urcsOnCardInsertion: TimedUrc[];
  /**
   * a +CGLA/+CSIM answered with `error` without reaching the card; never twice in a row.
   * scope 'bpp': STORE DATA while a LoadBoundProfilePackage (BF36) is in progress on that
   * channel; 'storeData': any STORE DATA; 'all': any APDU. `commands`: which of +CSIM
   * and +CGLA it hits.
   */
  spuriousErrors: { rate: number; scope: SpuriousScope; seed: number; error: ErrorSpec; commands: ApduCommand[] };
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
  /** What the MT does after the card's enabled profile changed (SGP.22 5.7.16, ETSI TS 102 223 6.4.7 REFRESH). */
  lifecycle: {
    /**
     * A response with SW 91xx (proactive command pending, TS 102 221 10.2.1.1): 'mt' the MT
     * runs the toolkit session itself (FETCH, then TERMINAL RESPONSE) after relaying the
     * response; 'te' the MT only relays it (the TE may FETCH through +CSIM).
     */
    proactive: 'mt' | 'te';
    /** on a fetched REFRESH: reset the card, do nothing (the TE needs a UIM power cycle: CFUN=0/1 or a restart), or re-enumerate (the serial device vanishes, the modem restarts, the device comes back) */
    onRefresh: RefreshAction;
    /** ms from the REFRESH until the card reset or the device vanishing */
    refreshDelayMs: number;
    /** reenumerate: how long the serial device is absent */
    reenumerateGoneMs: number;
    /** URCs once the MT has reset the card for a REFRESH (SIM ready again); SIM commands answer +CME ERROR: 14 until +CPIN: READY when it is among them */
    urcsAfterCardReset: TimedUrc[];
    /** +CCHO sessions after that reset: forgotten ('dropped'), or kept by the MT although the card closed the channels ('stale') */
    sessionsAfterCardReset: 'dropped' | 'stale';
    /** AT+CFUN=0 makes the serial device vanish for reenumerateGoneMs (the modem keeps running) */
    serialDropsOnCfun0: boolean;
  };
}

const HERE = dirname(fileURLToPath(import.meta.url));
export const PERSONALITY_DIR = join(HERE, 'personalities');

// ---- baseline ------------------------------------------------------------------------------

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

/** What a personality is where its file says nothing: the standards' behaviour (sources in BASELINE_SOURCES). */
export const BASELINE: Readonly<JsonObject> = {
  format: { spaceAfterColon: true, hexCase: 'upper', lineEnding: '\r\n', nonAtLine: 'ignore', hexInput: 'any' },
  echoDefault: true,
  echoAfterRestart: true,
  cmeeDefault: 0,
  testCommands: 'ok',
  commands: {},
  iccidCommands: [],
  cchoResult: 'prefixed',
  cglaSetsChannelInCla: true,
  csimStatusOnLogicalChannelFails: false,
  getResponse: 'passthrough',
  getResponseLe00: 'card',
  csimNeedsTerminalCapability: false,
  simRequiresUsim: false,
  limits: { maxLineLength: 2048, maxApduBytes: { csim: 261, cgla: 261 }, maxChannels: 3, interCharTimeoutMs: null },
  errors: {
    badParameters: '+CME ERROR: 50',
    unknownSession: '+CME ERROR: 50',
    noFreeChannel: '+CME ERROR: 20',
    cchoOnNonEuicc: '+CME ERROR: 13',
    csimStatusOnLogicalChannel: 'ERROR',
    cchoTooSoon: '+CME ERROR: 14',
    simNotUsable: '+CME ERROR: 13',
    terminalCapabilityMissing: '+CME ERROR: 3',
  },
  usimAid: 'A0000000871002FFFFFFFF8907090000',
  urcsAfterRestart: [],
  urcsOnCardRemoval: [],
  urcsOnCardInsertion: [],
  spuriousErrors: { rate: 0, scope: 'bpp', seed: 1, error: 'ERROR', commands: ['csim', 'cgla'] },
  cchoRetryMinIntervalMs: 0,
  timing: { baud: 115200, perCommandLatencyMs: 0, commandLatencyMs: {}, restartMs: 0 },
  lifecycle: { proactive: 'mt', onRefresh: 'reset', refreshDelayMs: 0, reenumerateGoneMs: 0, urcsAfterCardReset: [], sessionsAfterCardReset: 'dropped', serialDropsOnCfun0: false },
};

const base = (baseline: string, shows: string): Evidence[] => [{ baseline, shows }];

/** The standard behind each baseline value (dotted path -> evidence). */
export const BASELINE_SOURCES: Readonly<Record<string, readonly Evidence[]>> = {
  'format.spaceAfterColon': base('3GPP TS 27.007 4.1', 'information responses are written "+<name>: <values>", one space after the colon'),
  'format.hexCase': base('3GPP TS 27.007 8.17, 8.43', 'hexadecimal character format; the case is not fixed, the fake answers upper case'),
  'format.lineEnding': base('ITU-T V.250 5.7.1, 6.2.1-6.2.2', 'responses are framed with S3 (CR, default 13) and S4 (LF, default 10)'),
  'format.nonAtLine': base('ITU-T V.250 5.2.1', 'characters before the "AT" prefix are ignored'),
  'format.hexInput': base('3GPP TS 27.007 8.17, 8.43', 'the command is in hexadecimal character format; no case is required'),
  echoDefault: base('ITU-T V.250 6.2.4', 'command echo E1 is the default'),
  echoAfterRestart: base('ITU-T V.250 6.1.1, 6.2.4', 'after a reset the factory/stored profile applies again, echo E1 by default'),
  cmeeDefault: base('3GPP TS 27.007 9.1', '+CMEE default 0: errors are reported as plain ERROR'),
  testCommands: base('3GPP TS 27.007 4.1', 'every extended command has a test command (=?)'),
  commands: base('3GPP TS 27.007 8.17, 8.18, 8.43, 8.45, 8.46', 'the commands an MT offers for UICC access'),
  iccidCommands: base('3GPP TS 27.007', 'defines no ICCID command (AT+CCID and the like are vendor commands)'),
  cchoResult: base('3GPP TS 27.007 8.45', '+CCHO answers "+CCHO: <sessionid>"'),
  cglaSetsChannelInCla: base('3GPP TS 27.007 8.45', 'the MT manages the logical channel bits of the CLA byte for +CGLA'),
  csimStatusOnLogicalChannelFails: base('3GPP TS 27.007 8.17', '+CSIM passes any APDU to the UICC'),
  getResponse: base('3GPP TS 27.007 8.17, 8.43', 'the response of the UICC is passed back to the TE as it is'),
  getResponseLe00: base('ETSI TS 102 221 7.3.1.1.4', 'GET RESPONSE with P3 = 00 asks for 256 bytes; the MT passes it to the UICC'),
  csimNeedsTerminalCapability: base('3GPP TS 27.007 8.17', '+CSIM has no precondition on earlier commands'),
  simRequiresUsim: base('3GPP TS 27.007 8.17, 8.45', 'generic UICC access does not depend on a USIM being present'),
  'limits.maxLineLength': base('ITU-T V.250 5.2.4', 'the DCE must accept at least 40 characters; 27.007 sets no maximum, the fake takes 2048'),
  'limits.maxApduBytes': base('ISO/IEC 7816-3 12.1.3', 'a short APDU has at most 4 + 1 + 255 + 1 = 261 bytes'),
  'limits.maxChannels': base('ETSI TS 102 221 11.1.17', 'a UICC offers 3 logical channels besides the basic one unless the terminal indicated more'),
  'limits.interCharTimeoutMs': base('ITU-T V.250 5.2', 'no timeout between the characters of a command line'),
  'errors.badParameters': base('3GPP TS 27.007 9.2.1', '50 incorrect parameters'),
  'errors.unknownSession': base('3GPP TS 27.007 9.2.1', '50 incorrect parameters (the session id is not open)'),
  'errors.noFreeChannel': base('3GPP TS 27.007 9.2.1', '20 memory full (no channel left)'),
  'errors.cchoOnNonEuicc': base('3GPP TS 27.007 9.2.1', '13 SIM failure (the UICC refused the SELECT)'),
  'errors.csimStatusOnLogicalChannel': base('ITU-T V.250 5.7.1', 'ERROR'),
  'errors.cchoTooSoon': base('3GPP TS 27.007 9.2.1', '14 SIM busy'),
  'errors.simNotUsable': base('3GPP TS 27.007 9.2.1', '13 SIM failure'),
  'errors.terminalCapabilityMissing': base('3GPP TS 27.007 9.2.1', '3 operation not allowed'),
  usimAid: base('ETSI TS 101 220 Annex E / 3GPP TS 31.102', 'the USIM application AID starts A0000000871002'),
  urcsAfterRestart: base('3GPP TS 27.007', 'unsolicited result codes are off by default'),
  urcsOnCardRemoval: base('3GPP TS 27.007', 'unsolicited result codes are off by default'),
  urcsOnCardInsertion: base('3GPP TS 27.007', 'unsolicited result codes are off by default'),
  spuriousErrors: base('3GPP TS 27.007 8.17, 8.43', 'every APDU reaches the UICC'),
  cchoRetryMinIntervalMs: base('3GPP TS 27.007 8.45', 'no minimum interval between +CCHO commands'),
  'timing.baud': base('ITU-T V.250 6.2.10', '+IPR leaves the default rate to the DCE; the fake paces at 115200'),
  'timing.perCommandLatencyMs': base('ITU-T V.250, 3GPP TS 27.007', 'no response time is specified; the fake adds none beyond the line rate'),
  'timing.commandLatencyMs': base('ITU-T V.250, 3GPP TS 27.007', 'no response time is specified'),
  'timing.restartMs': base('3GPP TS 27.007 8.2', '+CFUN=1,1 restart time is not specified; the fake comes back at once'),
  'lifecycle.proactive': base('ETSI TS 102 221 10.2.1.1, ETSI TS 102 223 6.3', 'on 91xx the terminal fetches the proactive command and answers it with TERMINAL RESPONSE'),
  'lifecycle.onRefresh': base('ETSI TS 102 223 6.4.7', 'the terminal performs the REFRESH; for an eUICC Profile State Change that is a UICC reset'),
  'lifecycle.refreshDelayMs': base('ETSI TS 102 223 6.4.7', 'no delay is specified'),
  'lifecycle.reenumerateGoneMs': base('ETSI TS 102 223 6.4.7', 'a REFRESH does not restart the terminal'),
  'lifecycle.urcsAfterCardReset': base('3GPP TS 27.007', 'unsolicited result codes are off by default'),
  'lifecycle.sessionsAfterCardReset': base('ETSI TS 102 221 11.1.17, 3GPP TS 27.007 8.45', 'a UICC reset closes every logical channel; the sessions on them end'),
  'lifecycle.serialDropsOnCfun0': base('3GPP TS 27.007 8.2', '+CFUN=0 switches the radio and SIM off; the TE interface stays'),
};

/** Top-level keys that are about the file, not modem behaviour: they need no evidence. */
const META_KEYS = ['$comment', 'id', 'description', 'characterization', 'synthetic', 'stresses'];
const SOURCES_SUFFIX = '@sources';

// ---- files -----------------------------------------------------------------------------------

/** Names of the bundled personalities (file names without .json). */
export function listPersonalities(): string[] {
  return readdirSync(PERSONALITY_DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -5))
    .sort();
}

/**
 * Load a bundled personality by name, or a personality file by path (anything with a '/'
 * or ending .json). Every value must carry evidence unless the personality is synthetic
 * or was measured (observations file next to it).
 */
export function loadPersonality(nameOrPath: string): Personality {
  const file = resolvePersonalityFile(nameOrPath);
  const measured = existsSync(`${file}.observations.json`);
  return parsePersonality(readRaw(file, []), file, { requireEvidence: !measured });
}

function resolvePersonalityFile(nameOrPath: string): string {
  if (nameOrPath.includes('/') || nameOrPath.endsWith('.json')) return resolve(nameOrPath);
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(nameOrPath))
    throw new PersonalityError(nameOrPath, '', `not a personality name (known: ${listPersonalities().join(', ')})`);
  return join(PERSONALITY_DIR, `${nameOrPath}.json`);
}

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
  const parentRaw = readRaw(parentFile, [...chain, file]);
  const merged = deepMerge(parentRaw, raw);
  delete merged['extends'];
  return merged;
}

/**
 * Objects merge key by key, the rest replaces. A value the child replaces loses the
 * parent's evidence for it: the child must bring its own.
 */
function deepMerge(under: JsonObject, over: JsonObject): JsonObject {
  const out: JsonObject = { ...under };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    const merge = isObject(b) && isObject(v) && !k.endsWith(SOURCES_SUFFIX);
    out[k] = merge ? deepMerge(b, v) : v;
    if (!k.endsWith(SOURCES_SUFFIX) && !merge && over[k + SOURCES_SUFFIX] === undefined) delete out[k + SOURCES_SUFFIX];
  }
  return out;
}

// ---- evidence --------------------------------------------------------------------------------

function parseEvidence(source: string, path: string, v: Json): Evidence[] {
  const field = `${path}${SOURCES_SUFFIX}`;
  if (!Array.isArray(v) || v.length === 0) throw new PersonalityError(source, field, 'expected a non-empty array of {url, shows} / {baseline, shows} / {illustrative}');
  return v.map((e, i) => {
    const where = `${field}[${i}]`;
    if (!isObject(e)) throw new PersonalityError(source, where, 'expected an object');
    const keys = Object.keys(e).sort().join(',');
    const text = (k: string): string => {
      const s = e[k];
      if (typeof s !== 'string' || s.trim().length < 8) throw new PersonalityError(source, `${where}.${k}`, 'must be a sentence (at least 8 characters)');
      return s;
    };
    if (keys === 'shows,url') {
      const url = text('url');
      if (!/^https:\/\/[^\s/]+\.[^\s/]+\/\S*$/.test(url)) throw new PersonalityError(source, `${where}.url`, `must be an https URL of the public source, got ${JSON.stringify(url)}`);
      return { url, shows: text('shows') };
    }
    if (keys === 'baseline,shows') {
      const doc = text('baseline');
      if (!/^(3GPP TS|ITU-T|ETSI TS|ISO\/IEC|GSMA SGP)\s/.test(doc)) throw new PersonalityError(source, `${where}.baseline`, `must name a standard and its clause (e.g. "3GPP TS 27.007 8.45"), got ${JSON.stringify(doc)}`);
      return { baseline: doc, shows: text('shows') };
    }
    if (keys === 'illustrative') {
      if (path !== 'identity' && !path.startsWith('identity.')) throw new PersonalityError(source, where, 'illustrative values are allowed for identity strings only; other values need a source or a baseline');
      return { illustrative: text('illustrative') };
    }
    throw new PersonalityError(source, where, `expected {url, shows}, {baseline, shows} or {illustrative}, got keys ${keys || '(none)'}`);
  });
}

/**
 * Take the `<key>@sources` entries out of the document (returned as path -> evidence) and
 * list the value paths no evidence covers.
 */
function extractEvidence(source: string, doc: JsonObject): { clean: JsonObject; evidence: Record<string, Evidence[]>; unsourced: string[] } {
  const evidence: Record<string, Evidence[]> = {};
  const unsourced: string[] = [];
  const walk = (obj: JsonObject, prefix: string, covered: boolean, top: boolean): JsonObject => {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(obj)) {
      if (!k.endsWith(SOURCES_SUFFIX)) continue;
      const target = k.slice(0, -SOURCES_SUFFIX.length);
      const path = prefix + target;
      if (obj[target] === undefined) throw new PersonalityError(source, prefix + k, `evidence for '${path}', which the file does not set`);
      evidence[path] = parseEvidence(source, path, v);
    }
    for (const [k, v] of Object.entries(obj)) {
      if (k.endsWith(SOURCES_SUFFIX)) continue;
      const path = prefix + k;
      if (top && META_KEYS.includes(k)) {
        out[k] = v;
        continue;
      }
      const here = covered || evidence[path] !== undefined;
      if (isObject(v)) out[k] = walk(v, `${path}.`, here, false);
      else {
        if (!here) unsourced.push(path);
        out[k] = v;
      }
    }
    return out;
  };
  const clean = walk(doc, '', false, true);
  return { clean, evidence, unsourced };
}

/** Baseline evidence for every BASELINE path the file does not set. */
function baselineEvidenceFor(doc: JsonObject, written: Readonly<Record<string, readonly Evidence[]>>): Record<string, readonly Evidence[]> {
  const out: Record<string, readonly Evidence[]> = {};
  const has = (path: string): boolean => {
    let cur: Json | undefined = doc;
    for (const part of path.split('.')) {
      if (!isObject(cur)) return false;
      cur = cur[part];
    }
    return cur !== undefined;
  };
  for (const [path, ev] of Object.entries(BASELINE_SOURCES)) if (!has(path) && written[path] === undefined) out[path] = ev;
  return out;
}

// ---- validation ------------------------------------------------------------------------------

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
  ...META_KEYS,
  'identity', 'format', 'echoDefault', 'echoAfterRestart', 'cmeeDefault', 'testCommands', 'commands', 'iccidCommands', 'cchoResult',
  'cglaSetsChannelInCla', 'csimStatusOnLogicalChannelFails', 'getResponse', 'getResponseLe00', 'csimNeedsTerminalCapability', 'simRequiresUsim',
  'limits', 'errors', 'usimAid', 'urcsAfterRestart', 'urcsOnCardRemoval', 'urcsOnCardInsertion', 'spuriousErrors', 'cchoRetryMinIntervalMs',
  'timing', 'lifecycle',
];

export interface ParseOptions {
  /** refuse values without evidence (unless the personality is synthetic); loadPersonality sets it for files */
  requireEvidence?: boolean;
}

/** Validate a parsed personality document (already `extends`-resolved; `<key>@sources` evidence allowed next to values). */
export function parsePersonality(raw: unknown, source = '<inline>', opts: ParseOptions = {}): Personality {
  if (!isObject(raw)) throw new PersonalityError(source, '', 'must be a JSON object');
  const { clean, evidence: written, unsourced } = extractEvidence(source, raw);
  const top = new Reader(source, clean, '');
  top.only(TOP_KEYS);
  const id = top.str('id');
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(id)) throw new PersonalityError(source, 'id', `must be lower-case letters, digits, '.', '_' or '-', got ${JSON.stringify(id)}`);
  const fileBase = source.endsWith('.json') ? basename(source, '.json') : undefined;
  if (fileBase !== undefined && fileBase !== id) throw new PersonalityError(source, 'id', `'${id}' does not match the file name '${fileBase}'`);
  const synthetic = top.bool('synthetic', false);
  const stresses = top.str('stresses', '');
  if (synthetic && (!id.startsWith('synthetic-') || stresses.trim().length < 20))
    throw new PersonalityError(source, synthetic && !id.startsWith('synthetic-') ? 'id' : 'stresses', "a synthetic personality has an id starting 'synthetic-' and a 'stresses' sentence saying what it stresses");
  if (!synthetic && (id.startsWith('synthetic-') || top.hasKey('stresses')))
    throw new PersonalityError(source, 'synthetic', "an id starting 'synthetic-' or a 'stresses' field needs \"synthetic\": true");
  if (opts.requireEvidence && !synthetic && unsourced.length > 0)
    throw new PersonalityError(source, unsourced[0] as string, `has no evidence: add '${(unsourced[0] as string).split('.').pop()}${SOURCES_SUFFIX}' (a public source, or the 27.007/V.250 baseline), remove the value, or make the personality synthetic (unsourced: ${unsourced.join(', ')})`);

  const r = new Reader(source, deepMerge(BASELINE as JsonObject, clean), '');
  const evidence = { ...baselineEvidenceFor(clean, written), ...written };

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
  fmt.only(['spaceAfterColon', 'hexCase', 'lineEnding', 'nonAtLine', 'hexInput']);

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
  const interCharTimeoutMs = lim.obj['interCharTimeoutMs'] === null ? null : lim.num('interCharTimeoutMs', { min: 1 });

  const errs = r.obj_('errors');
  errs.only(['badParameters', 'unknownSession', 'noFreeChannel', 'cchoOnNonEuicc', 'csimStatusOnLogicalChannel', 'cchoTooSoon', 'simNotUsable', 'terminalCapabilityMissing']);

  const urcList = (rd: Reader, key: string): TimedUrc[] =>
    rd.arr(key).map((e, i) => {
      if (!isObject(e)) throw new PersonalityError(source, `${rd.sub(key)}[${i}]`, 'expected {text, atMs}');
      const ur = new Reader(source, e, `${rd.sub(key)}[${i}]`);
      ur.only(['text', 'atMs']);
      const text = ur.str('text');
      if (/[\r\n]/.test(text)) throw new PersonalityError(source, `${rd.sub(key)}[${i}].text`, 'must be one line');
      return { text, atMs: ur.num('atMs', { min: 0 }) };
    });

  const sp = r.obj_('spuriousErrors');
  sp.only(['rate', 'scope', 'seed', 'error', 'commands']);
  const spCommands = sp.strArr('commands').map((c, i) => {
    if (c !== 'csim' && c !== 'cgla') throw new PersonalityError(source, `spuriousErrors.commands[${i}]`, `expected "csim" or "cgla", got ${JSON.stringify(c)}`);
    return c as ApduCommand;
  });
  const tm = r.obj_('timing');
  tm.only(['baud', 'perCommandLatencyMs', 'commandLatencyMs', 'restartMs']);
  const latRaw = tm.obj_('commandLatencyMs');
  const commandLatencyMs: Record<string, number> = {};
  for (const k of Object.keys(latRaw.obj)) commandLatencyMs[k.toUpperCase()] = latRaw.num(k, { min: 0 });

  const lc = r.obj_('lifecycle');
  lc.only(['proactive', 'onRefresh', 'refreshDelayMs', 'reenumerateGoneMs', 'urcsAfterCardReset', 'sessionsAfterCardReset', 'serialDropsOnCfun0']);
  const onRefresh = lc.oneOf('onRefresh', ['reset', 'ignore', 'reenumerate'] as const);
  const serialDropsOnCfun0 = lc.bool('serialDropsOnCfun0');
  const reenumerateGoneMs = lc.num('reenumerateGoneMs', { min: 0 });
  if ((onRefresh === 'reenumerate' || serialDropsOnCfun0) && reenumerateGoneMs <= 0)
    throw new PersonalityError(source, 'lifecycle.reenumerateGoneMs', 'must be > 0 when the serial device vanishes (onRefresh "reenumerate" or serialDropsOnCfun0)');

  const usimAid = r.str('usimAid');
  if (!/^([0-9A-Fa-f]{2}){5,16}$/.test(usimAid)) throw new PersonalityError(source, 'usimAid', 'must be 5 to 16 bytes of hex');

  return {
    id,
    description: r.str('description', ''),
    characterization: r.str('characterization'),
    source,
    synthetic,
    stresses,
    evidence,
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
      lineEnding: fmt.oneOf('lineEnding', ['\r\n', '\n', '\r'] as const),
      nonAtLine: fmt.oneOf('nonAtLine', ['ignore', 'error'] as const),
      hexInput: fmt.oneOf('hexInput', ['any', 'upper'] as const),
    },
    echoDefault: r.bool('echoDefault'),
    echoAfterRestart: r.bool('echoAfterRestart'),
    cmeeDefault: r.oneOf('cmeeDefault', [0, 1, 2] as const),
    testCommands: testDefault,
    commands,
    iccidCommands,
    cchoResult: r.oneOf('cchoResult', ['prefixed', 'bare', 'handle'] as const),
    cglaSetsChannelInCla: r.bool('cglaSetsChannelInCla'),
    csimStatusOnLogicalChannelFails: r.bool('csimStatusOnLogicalChannelFails'),
    getResponse: r.oneOf('getResponse', ['modem', 'passthrough'] as const),
    getResponseLe00: r.oneOf('getResponseLe00', ['card', 'loop6100'] as const),
    csimNeedsTerminalCapability: r.bool('csimNeedsTerminalCapability'),
    simRequiresUsim: r.bool('simRequiresUsim'),
    limits: {
      maxLineLength: lim.num('maxLineLength', { min: 16, integer: true }),
      maxApduBytes: { csim: apduLim.num('csim', { min: 5, max: 65544, integer: true }), cgla: apduLim.num('cgla', { min: 5, max: 65544, integer: true }) },
      maxChannels: lim.num('maxChannels', { min: 0, max: 19, integer: true }),
      interCharTimeoutMs,
    },
    errors: {
      badParameters: errs.errorSpec('badParameters'),
      unknownSession: errs.errorSpec('unknownSession'),
      noFreeChannel: errs.errorSpec('noFreeChannel'),
      cchoOnNonEuicc: errs.errorSpec('cchoOnNonEuicc'),
      csimStatusOnLogicalChannel: errs.errorSpec('csimStatusOnLogicalChannel'),
      cchoTooSoon: errs.errorSpec('cchoTooSoon'),
      simNotUsable: errs.errorSpec('simNotUsable'),
      terminalCapabilityMissing: errs.errorSpec('terminalCapabilityMissing'),
    },
    usimAid: usimAid.toUpperCase(),
    urcsAfterRestart: urcList(r, 'urcsAfterRestart'),
    urcsOnCardRemoval: urcList(r, 'urcsOnCardRemoval'),
    urcsOnCardInsertion: urcList(r, 'urcsOnCardInsertion'),
    spuriousErrors: {
      rate: sp.num('rate', { min: 0, max: 1 }),
      scope: sp.oneOf('scope', ['bpp', 'storeData', 'all'] as const),
      seed: sp.num('seed', { integer: true, min: 0 }),
      error: sp.errorSpec('error'),
      commands: spCommands,
    },
    cchoRetryMinIntervalMs: r.num('cchoRetryMinIntervalMs', { min: 0 }),
    timing: {
      baud: tm.num('baud', { min: 300, max: 4_000_000, integer: true }),
      perCommandLatencyMs: tm.num('perCommandLatencyMs', { min: 0 }),
      commandLatencyMs,
      restartMs: tm.num('restartMs', { min: 0 }),
    },
    lifecycle: {
      proactive: lc.oneOf('proactive', ['mt', 'te'] as const),
      onRefresh,
      refreshDelayMs: lc.num('refreshDelayMs', { min: 0 }),
      reenumerateGoneMs,
      urcsAfterCardReset: urcList(lc, 'urcsAfterCardReset'),
      sessionsAfterCardReset: lc.oneOf('sessionsAfterCardReset', ['dropped', 'stale'] as const),
      serialDropsOnCfun0,
    },
  };
}
