// `bridgelab characterize --serial PORT [--baud N] [--out FILE] [--name NAME] ...`: probe a
// real modem over its AT serial port (ITU-T V.250 command lines, 3GPP TS 27.007 SIM access:
// +CSIM 8.17, +CGLA 8.43, +CCHO 8.45, +CCHC 8.46, +CMEE 9.1) with sim/modem/characterize.ts
// and write the personality JSON a fake modem can run, plus every exchange and conclusion
// in <out>.observations.json. Exit codes: 0 done, 1 the modem did not answer
// (or the port failed), 2 usage or configuration error.
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { SerialPort } from 'serialport';
import {
  CharacterizeAbortedError,
  CharacterizeError,
  characterizeModem,
  type CharacterizeProgress,
  type CharacterizeResult,
  type Observation,
} from '../sim/modem/characterize.ts';
import { loadPersonality, PERSONALITY_DIR, type Personality } from '../sim/modem/personality.ts';
import { PersonalityError } from '../sim/modem/types.ts';
import { writeFileAtomic } from '../sim/store/atomic-file.ts';
import { OperationError, UsageError } from './errors.ts';
import { parseCommandArgs, wholeNumber } from './args.ts';

const USAGE = `usage: bridgelab characterize --serial PORT [--baud N] [--out FILE] [--name NAME]
                              [--base NAME|FILE] [--observations FILE] [--force] [--redact-imei]
                              [--timeout MS] [--silence-ms MS] [--max-gap-ms MS]

Probes a modem over its AT port (identity, supported commands, answer formatting, limits,
logical-channel behaviour, error codes) and writes a personality that 'bridgelab modem
--personality FILE' runs. Only reads the card: no ES10 command but GetEID, no profile
operation, every channel it opens is closed; E and +CMEE are put back as found.

  --serial PORT        the modem's AT port (/dev/ttyUSB2, /dev/ttyACM0, a PTY...)
  --baud N             line rate (default 115200)
  --out FILE           personality file (default: stdout); observations go to FILE.observations.json
  --name NAME          personality id (default: the --out file name, else manufacturer-model);
                       a personality file must be named <id>.json
  --base NAME|FILE     take what cannot be probed (URCs after restart, restart time, spurious
                       errors...) from this personality instead of the defaults
  --observations FILE  where the observations go (default: next to --out; none with stdout)
  --force              overwrite existing files
  --redact-imei        write 000000000000000 instead of the module's IMEI
  --timeout MS         wait for an answer (default 5000)
  --silence-ms MS      no answer for this long counts as silence (default 1500)
  --max-gap-ms MS      longest pause inside a command line tried (default 1000)`;

export interface CharacterizeCommandDeps {
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
  /** stderr is a terminal: progress overwrites one line (default: process.stderr.isTTY) */
  isTTY?: boolean;
  /** stops probing like SIGINT */
  signal?: AbortSignal;
}

interface Args {
  serial: string | undefined;
  baud: number;
  out: string | undefined;
  name: string | undefined;
  base: string | undefined;
  observations: string | undefined;
  force: boolean;
  redactImei: boolean;
  timeoutMs: number | undefined;
  silenceMs: number | undefined;
  maxGapMs: number | undefined;
  help: boolean;
}

const ID_RE = /^[a-z0-9][a-z0-9._-]*$/;

const OPTIONS = {
  serial: { type: 'string' },
  baud: { type: 'string' },
  out: { type: 'string' },
  name: { type: 'string' },
  base: { type: 'string' },
  observations: { type: 'string' },
  force: { type: 'boolean' },
  'redact-imei': { type: 'boolean' },
  timeout: { type: 'string' },
  'silence-ms': { type: 'string' },
  'max-gap-ms': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function parseArgs(args: string[]): Args {
  const v = parseCommandArgs('characterize', { args, options: OPTIONS, strict: true, allowPositionals: false }, USAGE).values;
  if (v.name !== undefined && !ID_RE.test(v.name)) throw new UsageError(`--name must be lower-case letters, digits, '.', '_' or '-', got '${v.name}'`);
  return {
    serial: v.serial,
    baud: wholeNumber('baud', v.baud, 300, 4_000_000) ?? 115200,
    out: v.out,
    name: v.name,
    base: v.base,
    observations: v.observations,
    force: v.force ?? false,
    redactImei: v['redact-imei'] ?? false,
    timeoutMs: wholeNumber('timeout', v.timeout, 100, 600_000),
    silenceMs: wholeNumber('silence-ms', v['silence-ms'], 50, 60_000),
    maxGapMs: wholeNumber('max-gap-ms', v['max-gap-ms'], 0, 60_000),
    help: v.help ?? false,
  };
}

interface Plan {
  out: string | undefined;
  observations: string | undefined;
  name: string | undefined;
  base: Personality | undefined;
}

/** Everything that can be wrong with the arguments is found before the modem is touched. */
function plan(a: Args): Plan {
  if (!a.serial) throw new UsageError(`--serial is required\n${USAGE}`);
  const out = a.out === undefined ? undefined : resolve(a.out);
  let name = a.name;
  if (out !== undefined) {
    const stem = basename(out, '.json');
    if (!out.endsWith('.json')) throw new UsageError(`--out must end in .json (a personality file is <id>.json), got '${a.out}'`);
    if (name !== undefined && name !== stem)
      throw new UsageError(`--name '${name}' does not match the --out file name '${stem}.json': a personality file must be named <id>.json`);
    if (name === undefined) {
      if (!ID_RE.test(stem)) throw new UsageError(`the --out file name '${stem}' is not a personality id (lower-case letters, digits, '.', '_', '-')`);
      name = stem;
    }
  }
  const observations = a.observations !== undefined ? resolve(a.observations) : out !== undefined ? `${out}.observations.json` : undefined;
  for (const [flag, file] of [
    ['--out', out],
    ['--observations', observations],
  ] as const) {
    if (file === undefined) continue;
    const dir = dirname(file);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`${flag}: directory '${dir}' does not exist`);
    if (existsSync(file) && !a.force) throw new UsageError(`${flag}: '${file}' exists (--force to overwrite)`);
  }
  if (observations !== undefined && dirname(observations) === resolve(PERSONALITY_DIR))
    throw new UsageError(
      `the observations file '${basename(observations)}' would sit among the bundled personalities, where every .json is loaded as one: pass --observations FILE somewhere else`,
    );
  let base: Personality | undefined;
  if (a.base !== undefined) {
    try {
      base = loadPersonality(a.base);
    } catch (err) {
      if (err instanceof PersonalityError) throw new UsageError(`--base: ${err.message}`);
      throw err;
    }
  }
  return { out, observations, name, base };
}

function openPort(path: string, baudRate: number): Promise<SerialPort> {
  const port = new SerialPort({ path, baudRate, autoOpen: false });
  return new Promise((resolvePort, reject) => port.open((err) => (err ? reject(new OperationError(`cannot open ${path}: ${err.message}`)) : resolvePort(port))));
}

function closePort(port: SerialPort): Promise<Error | null> {
  return new Promise((done) => {
    if (!port.isOpen) done(null);
    else port.close((err) => done(err ?? null));
  });
}

/** The `bridgelab characterize` subcommand; resolves with the exit code. */
export async function characterizeCommand(args: string[], deps: CharacterizeCommandDeps = {}): Promise<number> {
  const stdout = deps.stdout ?? ((t: string) => void process.stdout.write(t));
  const stderr = deps.stderr ?? ((t: string) => void process.stderr.write(t));
  const tty = deps.isTTY ?? process.stderr.isTTY === true;
  const a = parseArgs(args);
  if (a.help) {
    stdout(USAGE + '\n');
    return 0;
  }
  const p = plan(a);
  const serial = a.serial as string;

  const port = await openPort(serial, a.baud);
  const ac = new AbortController();
  const onSignal = (): void => ac.abort();
  const onOuterAbort = (): void => ac.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  deps.signal?.addEventListener('abort', onOuterAbort, { once: true });
  if (deps.signal?.aborted) ac.abort();

  // a terminal gets one line rewritten with every command; a log gets one line per step
  let lastLen = 0;
  let lastStep = 0;
  const progress = (pr: CharacterizeProgress): void => {
    if (tty) {
      const line = `characterize: [${pr.step}/${pr.total}] ${pr.probe}${pr.detail ? `: ${pr.detail}` : ''}`.slice(0, 100);
      stderr(`\r${line.padEnd(lastLen)}`);
      lastLen = line.length;
    } else if (pr.step !== lastStep) stderr(`characterize: [${pr.step}/${pr.total}] ${pr.probe}\n`);
    lastStep = pr.step;
  };
  stderr(`characterize: ${serial} at ${a.baud} baud\n`);
  let result: CharacterizeResult | undefined;
  let failure: unknown;
  try {
    result = await characterizeModem(port, {
      name: p.name,
      baud: a.baud,
      commandTimeoutMs: a.timeoutMs,
      silenceMs: a.silenceMs,
      maxGapProbeMs: a.maxGapMs,
      base: p.base,
      redactImei: a.redactImei,
      portLabel: serial,
      signal: ac.signal,
      onProgress: progress,
    });
  } catch (err) {
    failure = err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    deps.signal?.removeEventListener('abort', onOuterAbort);
    if (tty && lastLen > 0) stderr('\n');
  }
  const closeError = await closePort(port);
  if (failure !== undefined) {
    if (failure instanceof CharacterizeError && p.observations !== undefined && failure.observations.length > 0) {
      writeFileAtomic(p.observations, JSON.stringify(failure.observations, null, 2) + '\n', 0o644);
      stderr(`characterize: what was seen up to the failure is in ${p.observations}\n`);
    }
    if (failure instanceof CharacterizeAbortedError) throw new OperationError('interrupted: nothing written (channels opened so far were closed, E and +CMEE restored)');
    if (failure instanceof CharacterizeError) throw new OperationError(failure.message);
    throw failure;
  }
  const r = result as CharacterizeResult;
  if (closeError) r.warnings.push(`closing ${serial} failed: ${closeError.message}`);

  const json = JSON.stringify(r.document, null, 2) + '\n';
  const observations: Observation[] = [...r.observations, ...r.warnings.map((w) => ({ probe: 'warning', sent: '', received: '', conclusion: w }))];
  try {
    if (p.out !== undefined) writeFileAtomic(p.out, json, 0o644);
    else stdout(json);
    if (p.observations !== undefined) writeFileAtomic(p.observations, JSON.stringify(observations, null, 2) + '\n', 0o644);
  } catch (err) {
    throw new OperationError(`cannot write the results: ${(err as Error).message}`);
  }

  const idn = r.personality.identity;
  const defaults = r.observations.filter((o) => o.probe === 'defaults').length;
  stderr(
    `characterize: ${idn.manufacturer} ${idn.model} (${idn.revision}) -> ${p.out ?? 'stdout'} as '${r.personality.id}'; ` +
      `${r.observations.length} observations${p.observations ? ` in ${p.observations}` : ' (not written: use --out or --observations)'}; ` +
      `${defaults} propert${defaults === 1 ? 'y' : 'ies'} not probed${p.base ? ` (taken from ${p.base.id})` : ' (defaults)'}\n`,
  );
  for (const w of r.warnings) stderr(`characterize: warning: ${w}\n`);
  return 0;
}
