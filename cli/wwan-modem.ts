// `bridgelab qmi-modem --pty` and `bridgelab mbim-modem --pty`: run a fake QMI or MBIM
// modem (personality data, sim/qmi and sim/mbim) with the software eUICC behind it on a
// PTY that qmicli --device-open-qmi, mbimcli or a bridge back-end opens, print the device
// path and serve until SIGINT/SIGTERM. Exit codes: 0, 1 (the PTY broke), 2 (usage).
import type { ApduTransport } from '../sim/apdu/apdu.ts';
import { CharDeviceError, type ByteModem, servePty } from '../sim/wwan/pty-endpoint.ts';
import { WwanPersonalityError } from '../sim/wwan/personality-file.ts';
import { OperationError, UsageError } from './errors.ts';
import { requirePrograms, SOCAT } from './preflight.ts';

export interface WwanModemKind {
  /** command name: qmi-modem / mbim-modem */
  command: string;
  protocol: 'QMI' | 'MBIM';
  defaultPersonality: string;
  list(): string[];
  describe(name: string): string;
  create(personality: string, card: ApduTransport, trace: ((line: string) => void) | undefined): ByteModem;
  /** how a client opens the device, for the banner */
  clientHint(path: string): string;
}

export interface WwanModemDeps {
  createCard: () => Promise<ApduTransport>;
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
  signal?: AbortSignal;
}

function usage(k: WwanModemKind): string {
  return `usage: bridgelab ${k.command} --pty [--personality NAME|FILE] [--link PATH] [--json] [--trace]
       bridgelab ${k.command} --list

Runs a fake ${k.protocol} modem with the software eUICC behind it on a pseudo-terminal,
prints the device path, and serves until SIGINT/SIGTERM.

  --pty              serve on a PTY (socat); the only endpoint
  --personality P    bundled personality or a JSON file (default ${k.defaultPersonality})
  --link PATH        also make PATH a symlink to the device (removed on exit)
  --json             print {"path",...} as one JSON line instead of the bare path
  --trace            log ${k.protocol} messages and card APDUs to stderr
  --list             list the bundled personalities`;
}

export async function wwanModemCommand(k: WwanModemKind, args: string[], deps: WwanModemDeps): Promise<number> {
  const stdout = deps.stdout ?? ((t: string) => void process.stdout.write(t));
  const stderr = deps.stderr ?? ((t: string) => void process.stderr.write(t));
  const o = { pty: false, personality: k.defaultPersonality, link: undefined as string | undefined, json: false, trace: false, list: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = (): string => {
      const v = inline ?? args[++i];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${flag} needs a value\n${usage(k)}`);
      return v;
    };
    if (flag === '--pty') o.pty = true;
    else if (flag === '--personality') o.personality = value();
    else if (flag === '--link') o.link = value();
    else if (flag === '--json') o.json = true;
    else if (flag === '--trace') o.trace = true;
    else if (flag === '--list') o.list = true;
    else if (flag === '--help' || flag === '-h') {
      stdout(usage(k) + '\n');
      return 0;
    } else throw new UsageError(`unknown option '${a}'\n${usage(k)}`);
  }
  if (o.list) {
    stdout(k.list().map((n) => (o.json ? JSON.stringify({ name: n, description: k.describe(n) }) : `${n.padEnd(30)} ${k.describe(n)}`)).join('\n') + '\n');
    return 0;
  }
  if (!o.pty) throw new UsageError(`--pty is required (the PTY is the only endpoint '${k.command}' serves)\n${usage(k)}`);
  requirePrograms([SOCAT]);
  const card = await deps.createCard();
  let modem: ByteModem;
  try {
    modem = k.create(o.personality, card, o.trace ? (line) => stderr(line + '\n') : undefined);
  } catch (err) {
    await card.close();
    if (err instanceof WwanPersonalityError) throw new UsageError(err.message);
    throw err;
  }
  let pty: Awaited<ReturnType<typeof servePty>>;
  try {
    pty = await servePty(modem, o.link ? { link: o.link } : {});
  } catch (err) {
    await modem.close();
    await card.close();
    if (err instanceof CharDeviceError) throw new OperationError(err.message);
    throw err;
  }
  stdout(o.json ? JSON.stringify({ path: pty.path, pts: pty.endpoint.ptsPath, protocol: k.protocol, personality: o.personality }) + '\n' : pty.path + '\n');
  stderr(`bridgelab ${k.command}: ${k.protocol} modem (${o.personality}) on ${pty.path}; try: ${k.clientHint(pty.path)}; SIGINT or SIGTERM to stop\n`);
  let stop: (why: string) => void = () => {};
  const stopped = new Promise<string>((resolve) => (stop = resolve));
  const onSignal = (sig: NodeJS.Signals): void => stop(sig);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  deps.signal?.addEventListener('abort', () => stop('abort'), { once: true });
  if (deps.signal?.aborted) stop('abort');
  void pty.endpoint.exited.then((code) => stop(`socat exited (${code})`));
  const why = await stopped;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  await pty.close();
  await card.close();
  stderr(`bridgelab ${k.command}: stopped (${why})\n`);
  if (why.startsWith('socat exited')) throw new OperationError(`the PTY went away: ${why}; ${pty.endpoint.socatLog().slice(-3).join(' | ')}`);
  return 0;
}
