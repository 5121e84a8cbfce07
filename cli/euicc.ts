// `bridgelab euicc`: run the software eUICC (SGP.22 ISD-R with ES10a/b/c, sim/euicc)
// as a card in a vsmartcard vpcd reader (pcscd + vsmartcard-vpcd
// listen on 35963, the card side connects), so that any PC/SC program (lpac, pySim,
// opensc-tool) sees it as an eUICC. Reconnects when vpcd restarts; runs until
// SIGINT/SIGTERM. Exit codes: 0 stopped by a signal, 1 a state file that is damaged,
// inconsistent or missing under its marker (one line naming the file), 2 bad arguments or
// identity options. Logs go to stderr, one line each; keys are never logged.
import { parseCommandArgs } from './args.ts';
import type { Socket } from 'node:net';
import { OperationError, UsageError, EXIT_OK } from './errors.ts';
import { createEuicc, type Euicc } from '../sim/euicc/euicc.ts';
import { isSvn, SVNS, type IdentityChoice, type Svn } from '../sim/euicc/options.ts';
import { StateFileError } from '../sim/euicc/state.ts';
import { IdentityError } from '../sim/euicc/identity.ts';
import { connectCardToVpcd } from '../sim/vpcd/card-side.ts';
import { VPCD_DEFAULT_PORT } from '../sim/vpcd/framing.ts';
import { isValidEid } from '../sim/rsp/eid.ts';

export const EUICC_USAGE = `usage: bridgelab euicc --vpcd <host:port> [options]

Runs the software eUICC as the card of a vsmartcard vpcd reader (pcscd with
vsmartcard-vpcd listens on port ${VPCD_DEFAULT_PORT}). Stops on SIGINT/SIGTERM.

options:
  --vpcd <host:port>            vpcd to connect to (port defaults to ${VPCD_DEFAULT_PORT})
  --state <file>                state file (profiles, notifications, counters); without
                                it the state lives in memory and is lost on exit
  --identity nist|brp|both|fresh
                                eUICC certificates: the SGP.26 test eUICC (NIST, brainpool,
                                both: default) or a fresh EID issued from the SGP.26 EUMs
                                (kept in the state file)
  --eid <EID>                   EID of a fresh identity (with --identity fresh)
  --svn 2.2.2|2.3.0|2.5.0       SGP.22 version announced (default 2.2.2)
  --reconnect-ms <n>            delay between connection attempts (default 1000)
  -h, --help`;

export interface EuiccCliIo {
  /** one line for people (stderr) */
  log(line: string): void;
  /** stop the command (tests); SIGINT/SIGTERM are handled when absent */
  readonly signal?: AbortSignal;
  /** called once the eUICC is built (tests) */
  onReady?(euicc: Euicc): void;
}

const processIo: EuiccCliIo = { log: (line) => void process.stderr.write(`bridgelab euicc: ${line}\n`) };

export interface EuiccCliArgs {
  host: string;
  port: number;
  statePath?: string;
  identity: IdentityChoice;
  svn: Svn;
  reconnectMs: number;
}

/** Parse `host:port` (IPv6 in brackets); the port defaults to 35963. */
export function parseHostPort(value: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d+))?$/.exec(value);
  if (!m) throw new UsageError(`euicc: --vpcd '${value}' is not host:port`);
  const port = m[3] === undefined ? VPCD_DEFAULT_PORT : Number(m[3]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`euicc: port ${m[3]} out of range 1..65535`);
  return { host: (m[1] ?? m[2])!, port };
}

/** Parse the command line; throws UsageError. Returns undefined for --help. */
export function parseEuiccArgs(args: string[]): EuiccCliArgs | undefined {
  const parsed = parseCommandArgs('euicc', {
    args,
    strict: true,
    allowPositionals: false,
    options: {
      vpcd: { type: 'string' },
      state: { type: 'string' },
      identity: { type: 'string' },
      eid: { type: 'string' },
      svn: { type: 'string' },
      'reconnect-ms': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  }, EUICC_USAGE);
  const v = parsed.values;
  if (v.help) return undefined;
  if (v.vpcd === undefined) throw new UsageError(`euicc: --vpcd is required\n${EUICC_USAGE}`);
  const { host, port } = parseHostPort(v.vpcd);
  const svn = v.svn ?? '2.2.2';
  if (!isSvn(svn)) throw new UsageError(`euicc: --svn must be one of ${SVNS.join(', ')}, got '${svn}'`);
  const idName = v.identity ?? 'both';
  if (!['nist', 'brp', 'both', 'fresh'].includes(idName)) throw new UsageError(`euicc: --identity must be nist, brp, both or fresh, got '${idName}'`);
  if (v.eid !== undefined && idName !== 'fresh') throw new UsageError('euicc: --eid needs --identity fresh');
  if (v.eid !== undefined && (!isValidEid(v.eid) || !v.eid.startsWith('89049032'))) throw new UsageError(`euicc: --eid '${v.eid}' is not a valid EID under the SGP.26 EUM prefix 89049032`);
  const identity: IdentityChoice = idName === 'fresh' ? (v.eid !== undefined ? { fresh: { eid: v.eid } } : 'fresh') : (idName as 'nist' | 'brp' | 'both');
  const reconnectMs = v['reconnect-ms'] === undefined ? 1000 : Number(v['reconnect-ms']);
  if (!Number.isInteger(reconnectMs) || reconnectMs < 10 || reconnectMs > 600_000) throw new UsageError(`euicc: --reconnect-ms must be 10..600000, got '${v['reconnect-ms']}'`);
  return { host, port, ...(v.state !== undefined ? { statePath: v.state } : {}), identity, svn, reconnectMs };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** `bridgelab euicc ...` */
export async function euiccCommand(args: string[], io: EuiccCliIo = processIo): Promise<number> {
  const a = parseEuiccArgs(args);
  if (!a) {
    process.stdout.write(EUICC_USAGE + '\n');
    return EXIT_OK;
  }
  let euicc: Euicc;
  try {
    euicc = await createEuicc({ ...(a.statePath !== undefined ? { statePath: a.statePath } : {}), identity: a.identity, svn: a.svn });
  } catch (e) {
    if (e instanceof StateFileError) throw new OperationError(`euicc: ${e.message}`);
    if (e instanceof IdentityError) throw new UsageError(`euicc: ${e.message}`);
    throw e;
  }
  io.log(`EID ${euicc.eid}, SVN ${a.svn}, ${euicc.identities.map((i) => i.curve).join(' + ')}, state ${a.statePath ?? '(memory)'}, ${euicc.state.profiles().length} profile(s)`);
  if (euicc.recoveredInterruption) io.log('a profile download was interrupted by the previous run: installFailedDueToInterruption notification stored');
  io.onReady?.(euicc);

  const stop = new AbortController();
  const onSignal = (name: string) => () => {
    io.log(`${name}: stopping`);
    stop.abort();
  };
  const handlers: [NodeJS.Signals, () => void][] = io.signal ? [] : [['SIGINT', onSignal('SIGINT')], ['SIGTERM', onSignal('SIGTERM')]];
  for (const [s, h] of handlers) process.once(s, h);
  const external = io.signal;
  const onExternal = () => stop.abort();
  external?.addEventListener('abort', onExternal, { once: true });
  if (external?.aborted) stop.abort();

  let socket: Socket | undefined;
  const closeSocket = () => socket?.destroy();
  stop.signal.addEventListener('abort', closeSocket, { once: true });
  let waitingLogged = false;
  try {
    while (!stop.signal.aborted) {
      let session;
      try {
        session = await connectCardToVpcd(euicc, a.host, a.port, { onLog: (line) => io.log(line) });
      } catch (e) {
        const code = (e as { code?: unknown }).code;
        if (!waitingLogged) io.log(`waiting for vpcd at ${a.host}:${a.port} (${typeof code === 'string' ? code : (e as Error).message})`);
        waitingLogged = true;
        await sleep(a.reconnectMs, stop.signal);
        continue;
      }
      waitingLogged = false;
      socket = session.socket;
      io.log(`connected to vpcd at ${a.host}:${a.port}`);
      if (stop.signal.aborted) socket.destroy();
      await session.closed;
      socket = undefined;
      if (stop.signal.aborted) break;
      io.log('vpcd closed the connection; reconnecting');
      await euicc.powerOff();
      await sleep(a.reconnectMs, stop.signal);
    }
  } finally {
    for (const [s, h] of handlers) process.off(s, h);
    external?.removeEventListener('abort', onExternal);
    await euicc.close();
  }
  return EXIT_OK;
}
