// `bridgelab modem --pty --personality <name> [--baud N] [--link PATH] [--json]`: runs a
// fake modem (personality data, one engine) on a PTY that the bridge under
// test opens as its serial port, prints the device path and serves until SIGINT or
// SIGTERM. The card behind it comes from an ApduTransportFactory (cli/main.ts passes
// the software eUICC; tests pass a fake card). Exit codes: 0, 1, 2 (usage).
import { parseCommandArgs, wholeNumber } from './args.ts';
import { OperationError, UsageError } from './errors.ts';
import { requirePrograms, SOCAT } from './preflight.ts';
import type { ModemTraceEvent } from '../sim/modem/engine.ts';
import { listPersonalities, loadPersonality, type Personality } from '../sim/modem/personality.ts';
import { type PtyModem, startPtyModem } from '../sim/modem/serial.ts';
import { type ApduTransport, type ApduTransportFactory, ModemEndpointError, PersonalityError } from '../sim/modem/types.ts';

export interface ModemCommandDeps {
  /** the card behind the modem; needed to serve (--pty), not for --list or --help */
  transportFactory?: ApduTransportFactory;
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
  /** stops the modem like SIGINT (for tests and embedding) */
  signal?: AbortSignal;
}

const USAGE = `usage: bridgelab modem --pty [--personality NAME|FILE] [--baud N] [--link PATH] [--json] [--trace] [--seed N]
       bridgelab modem --list

Runs a fake cellular modem on a pseudo-terminal for an LPA bridge to open as its
serial port, prints the device path, and serves until SIGINT/SIGTERM.

  --pty              serve on a PTY (socat relays it to the modem engine); the only endpoint for now
  --personality P    bundled personality name or a JSON file (default quectel-ec25j)
  --baud N           UART rate to emulate (default: the personality's; 0 = unpaced)
  --link PATH        also make PATH a symlink to the device (removed on exit)
  --json             print {"path",...} as one JSON line instead of the bare path
  --trace            log AT command lines, responses and URCs to stderr
  --seed N           seed for spurious errors and session handles
  --list             list the bundled personalities`;

interface ParsedArgs {
  pty: boolean;
  personality: string;
  baud: number | undefined;
  link: string | undefined;
  json: boolean;
  trace: boolean;
  seed: number | undefined;
  list: boolean;
  help: boolean;
}

const OPTIONS = {
  pty: { type: 'boolean' },
  personality: { type: 'string', default: 'quectel-ec25j' },
  baud: { type: 'string' },
  link: { type: 'string' },
  json: { type: 'boolean' },
  trace: { type: 'boolean' },
  seed: { type: 'string' },
  list: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** node:util parseArgs, its errors as usage errors (exit 2) with the usage text. */
const parseOptions = (args: string[]) => parseCommandArgs('modem', { args, options: OPTIONS, strict: true }, USAGE).values;

function parseArgs(args: string[]): ParsedArgs {
  const values = parseOptions(args);
  return {
    pty: values.pty ?? false,
    personality: values.personality,
    baud: wholeNumber('baud', values.baud),
    link: values.link,
    json: values.json ?? false,
    trace: values.trace ?? false,
    seed: wholeNumber('seed', values.seed),
    list: values.list ?? false,
    help: values.help ?? false,
  };
}

function describeTrace(e: ModemTraceEvent): string {
  switch (e.kind) {
    case 'line':
      return `<- ${e.line}`;
    case 'response':
      return `-> ${JSON.stringify(e.text)}`;
    case 'urc':
      return `-> URC ${e.text}`;
    case 'apdu':
      return `   card ${Buffer.from(e.capdu).toString('hex')} : ${Buffer.from(e.rapdu).toString('hex')}`;
    case 'note':
      return `   (${e.text})`;
  }
}

/** The `bridgelab modem` subcommand. Resolves with the exit code once stopped. */
export async function modemCommand(args: string[], deps: ModemCommandDeps = {}): Promise<number> {
  const stdout = deps.stdout ?? ((t: string) => void process.stdout.write(t));
  const stderr = deps.stderr ?? ((t: string) => void process.stderr.write(t));
  const opts = parseArgs(args);
  if (opts.help) {
    stdout(USAGE + '\n');
    return 0;
  }
  if (opts.list) {
    const rows = listPersonalities().map((name) => {
      const p = loadPersonality(name);
      return opts.json ? JSON.stringify({ name, model: `${p.identity.manufacturer} ${p.identity.model}`, description: p.description }) : `${name.padEnd(24)} ${p.identity.manufacturer} ${p.identity.model}`;
    });
    stdout(rows.join('\n') + '\n');
    return 0;
  }
  if (!opts.pty) throw new UsageError(`--pty is required (the PTY is the only endpoint 'bridgelab modem' serves)\n${USAGE}`);
  // pre-flight, as certify does: one line with the install command, exit 2, before anything starts
  requirePrograms([SOCAT]);

  let personality: Personality;
  try {
    personality = loadPersonality(opts.personality);
  } catch (err) {
    if (err instanceof PersonalityError) throw new UsageError(err.message);
    throw err;
  }

  const factory = deps.transportFactory;
  if (!factory) throw new Error('modemCommand: no transportFactory (the card behind the modem) was given');
  const transport: ApduTransport = await factory();
  let pty: PtyModem;
  try {
    pty = await startPtyModem({
      personality,
      transport,
      link: opts.link,
      baud: opts.baud === undefined ? undefined : opts.baud === 0 ? null : opts.baud,
      seed: opts.seed,
      onTrace: opts.trace ? (e) => stderr(describeTrace(e) + '\n') : undefined,
    });
  } catch (err) {
    await transport.close();
    if (err instanceof ModemEndpointError) throw new OperationError(err.message);
    throw err;
  }

  const baud = pty.modem.baud;
  stdout(opts.json ? JSON.stringify({ path: pty.path, pts: pty.ptsPath, personality: personality.id, baud }) + '\n' : pty.path + '\n');
  stderr(`bridgelab modem: ${personality.identity.manufacturer} ${personality.identity.model} (${personality.id}) on ${pty.path}, ${baud ?? 'unpaced'} baud; SIGINT or SIGTERM to stop\n`);

  let stop: (reason: string) => void = () => {};
  const stopped = new Promise<string>((resolve) => (stop = resolve));
  const onSignal = (sig: NodeJS.Signals): void => stop(sig);
  const onAbort = (): void => stop('abort');
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  deps.signal?.addEventListener('abort', onAbort, { once: true });
  if (deps.signal?.aborted) stop('abort');
  void pty.exited.then((code) => stop(`socat exited (${code})`));
  let stopReason: string;
  try {
    stopReason = await stopped;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    deps.signal?.removeEventListener('abort', onAbort);
  }
  const unexpected = stopReason.startsWith('socat exited');
  await pty.close();
  await transport.close();
  stderr(`bridgelab modem: stopped (${stopReason})\n`);
  if (unexpected) throw new OperationError(`the PTY went away: ${stopReason}; ${pty.socatLog().slice(-3).join(' | ')}`);
  return 0;
}

