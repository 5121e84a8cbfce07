// `bridgelab bridge`: run the reference LPA Bridge (sim/bridge) on a modem's serial port,
// serving the LPA over vsmartcard vpcd framing (vsmartcard's vpcd protocol) in listen or connect-out
// mode, optionally over TLS-PSK; modem access with 3GPP TS 27.007 +CCHO/+CGLA/+CCHC
// (8.45/8.43/8.46) or +CSIM (8.17), detected at start-up. Prints one line on stdout when
// ready, short event lines on stderr, every event as JSON lines with --log; runs until
// SIGINT/SIGTERM (exit 0). Bad arguments: UsageError (exit 2); start failure: exit 1.
//
// `--defect NAME` (repeatable) starts a deliberately broken bridge, one of the naive ports of
// sim/bridge/defects.ts, for certifying the certifier and for seeing what a failing report
// looks like: run it as an external bridge under `bridgelab certify --bridge '... --defect
// NAME'` and the cases covering that defect must fail (cli/broken-bridge.test.ts). --help
// lists the defects; the bridge says so on stderr when it starts.
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import { parseArgs } from 'node:util';
import { OperationError, UsageError } from './errors.ts';
import { HexError, hexToBytes } from '../sim/bytes.ts';
import { startBridge, BridgeStartError, VPCD_DEFAULT_PORT, type Bridge, type BridgeOptions, type BridgeTraceEvent } from '../sim/bridge/bridge.ts';
import { DEFAULT_ALLOWED_AIDS, LPA_T0_PROCEDURES, ModemUnsupportedError, SessionConfigError, type LpaT0Procedure } from '../sim/bridge/modem-session.ts';
import { buildAtr } from '../sim/apdu/atr.ts';
import { AtError } from '../sim/bridge/at.ts';
import { DEFECT_NAMES, DEFECT_SUMMARIES, DefectError, parseDefectNames, type DefectName } from '../sim/bridge/defects.ts';

const HELP = `usage: bridgelab bridge --serial PATH [--baud N] [--listen HOST:PORT | --connect HOST:PORT]
                        [--allow-aid HEX]... [--allow-authenticate] [--queue]
                        [--psk-identity ID (--psk-key HEX | --psk-key-file FILE)]
                        [--mode auto|ccho|csim] [--t0 reader|join|pass] [--atr T=0|T=0,T=1]
                        [--no-quickack] [--at-timeout MS] [--log FILE]

Runs the reference LPA Bridge: the LPA reaches the modem's card eUICC through vpcd
(vsmartcard) framing; each APDU becomes one AT+CGLA (or AT+CSIM) on the serial port.

  --serial PATH         modem AT port (/dev/ttyUSB2 on an EC25)          required
  --baud N              baud rate (default 115200)
  --listen HOST:PORT    wait for the LPA (default 0.0.0.0:${VPCD_DEFAULT_PORT})
  --connect HOST:PORT   connect out to a listening vpcd, reconnecting with backoff
  --allow-aid HEX       also allow SELECT of this AID (repeatable; ISD-R and ECASD
                        are always allowed, everything else answers 6A82)
  --allow-authenticate  let INS 88/89 (RUN GSM ALGORITHM / AUTHENTICATE) through
  --queue               queue a second LPA until the first leaves (default: refuse it)
  --psk-identity ID     TLS-PSK on the LPA link (TLS 1.2, PSK-AES128-GCM-SHA256...)
  --psk-key HEX         the key, 16 to 64 bytes (prefer --psk-key-file: argv is visible)
  --psk-key-file FILE   file holding the key in hex
  --mode MODE           auto (default) detects +CCHO or +CSIM; ccho / csim force it
  --t0 PROCEDURE        reader (default): as a T=0 reader, at most 256 data bytes per
                        short APDU, the rest by the LPA's GET RESPONSE after 61xx;
                        join: the bridge fetches and joins the whole answer itself;
                        pass: 61xx/6Cxx reach the LPA untouched
  --atr PROTOCOLS       protocols in the ATR: T=0 (default, as field eUICCs) or T=0,T=1
  --no-quickack         do not set TCP_QUICKACK on the LPA link (pcscd's vpcd then waits
                        for delayed ACKs, about 40 ms per APDU)
  --at-timeout MS       timeout of one AT command (default 10000)
  --log FILE            append every event (APDUs, AT lines, decisions) as JSON lines
  --defect NAME         run a deliberately broken bridge (repeatable), to see a failing report:
${DEFECT_NAMES.map((n) => `                          ${n.padEnd(20)} ${DEFECT_SUMMARIES[n]}`).join('\n')}
                        e.g. bridgelab certify --personality quectel-ec25j --bridge
                          'node bin/bridgelab.js bridge --serial {tty} --baud {baud}
                           --listen {host}:{port} --queue --defect status-word-rewrite'`;

export interface BridgeCommandIo {
  stdout(line: string): void;
  stderr(line: string): void;
  /** stop the bridge (default: SIGINT / SIGTERM) */
  signal?: AbortSignal;
  /** called once the bridge runs (tests) */
  onStarted?(bridge: Bridge): void;
}

const defaultIo: BridgeCommandIo = {
  stdout: (l) => process.stdout.write(l + '\n'),
  stderr: (l) => process.stderr.write(l + '\n'),
};

/** `host:port`, `[v6]:port`; port 0..65535. */
export function parseHostPort(value: string, option: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new UsageError(`${option} expects HOST:PORT, got '${value}'`);
  return { host: (m[1] ?? m[2]) as string, port };
}

function parseKey(hex: string, source: string): Uint8Array {
  let key: Uint8Array;
  try {
    key = hexToBytes(hex.trim());
  } catch (err) {
    throw new UsageError(`${source}: not hex (${(err as HexError).message})`);
  }
  if (key.length < 16 || key.length > 64) throw new UsageError(`${source}: the PSK must be 16 to 64 bytes, got ${key.length}`);
  return key;
}

function positiveInt(value: string | undefined, option: string, dflt: number): number {
  if (value === undefined) return dflt;
  if (!/^\d+$/.test(value) || Number(value) <= 0) throw new UsageError(`${option} expects a positive integer, got '${value}'`);
  return Number(value);
}

/** One short line per event worth a person's attention. */
function eventLine(e: BridgeTraceEvent): string | undefined {
  switch (e.type) {
    case 'lpa':
      return e.event === 'listening' ? undefined : `lpa ${e.event} ${e.peer}${e.detail ? `: ${e.detail}` : ''}`;
    case 'modem':
      return `modem ${e.event}: ${e.detail}`;
    case 'at-reboot':
      return `modem restart detected (${e.reason}): ${e.detail}`;
    case 'bridge':
      return e.event === 'error' ? `error: ${e.detail}` : undefined;
    default:
      return undefined;
  }
}

/** Build BridgeOptions from the command line (exported for tests). */
export function bridgeOptionsFromArgs(args: string[]): BridgeOptions & { logFile?: string } {
  let v;
  try {
    ({ values: v } = parseArgs({
      args,
      options: {
        serial: { type: 'string' },
        baud: { type: 'string' },
        listen: { type: 'string' },
        connect: { type: 'string' },
        'allow-aid': { type: 'string', multiple: true },
        'allow-authenticate': { type: 'boolean' },
        queue: { type: 'boolean' },
        'psk-identity': { type: 'string' },
        'psk-key': { type: 'string' },
        'psk-key-file': { type: 'string' },
        mode: { type: 'string' },
        t0: { type: 'string' },
        atr: { type: 'string' },
        'no-quickack': { type: 'boolean' },
        'at-timeout': { type: 'string' },
        log: { type: 'string' },
        defect: { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n${HELP}`);
  }
  if (!v.serial) throw new UsageError(`--serial is required\n${HELP}`);
  if (v.listen && v.connect) throw new UsageError('--listen and --connect are exclusive');
  const baudRate = positiveInt(v.baud, '--baud', 115200);
  const aids = (v['allow-aid'] ?? []).map((a) => {
    if (!/^([0-9A-Fa-f]{2}){5,16}$/.test(a)) throw new UsageError(`--allow-aid expects 5 to 16 bytes of hex, got '${a}'`);
    return a.toUpperCase();
  });
  const mode = v.mode ?? 'auto';
  if (mode !== 'auto' && mode !== 'ccho' && mode !== 'csim') throw new UsageError(`--mode expects auto, ccho or csim, got '${mode}'`);
  const t0 = v.t0 ?? 'reader';
  if (!(LPA_T0_PROCEDURES as readonly string[]).includes(t0)) throw new UsageError(`--t0 expects ${LPA_T0_PROCEDURES.join(', ')}, got '${t0}'`);
  const atrProtocols = v.atr ?? 'T=0';
  if (atrProtocols !== 'T=0' && atrProtocols !== 'T=0,T=1') throw new UsageError(`--atr expects T=0 or T=0,T=1, got '${atrProtocols}'`);
  let psk: BridgeOptions['psk'];
  const identity = v['psk-identity'];
  if (v['psk-key'] !== undefined && v['psk-key-file'] !== undefined) throw new UsageError('give --psk-key or --psk-key-file, not both');
  let key: Uint8Array | undefined;
  if (v['psk-key'] !== undefined) key = parseKey(v['psk-key'], '--psk-key');
  if (v['psk-key-file'] !== undefined) {
    let text: string;
    try {
      text = readFileSync(v['psk-key-file'], 'utf8');
    } catch (err) {
      throw new UsageError(`--psk-key-file: cannot read ${v['psk-key-file']}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    key = parseKey(text, `--psk-key-file ${v['psk-key-file']}`);
  }
  if ((identity === undefined) !== (key === undefined)) throw new UsageError('TLS-PSK needs both --psk-identity and --psk-key (or --psk-key-file)');
  if (identity !== undefined && key !== undefined) {
    if (!/^[\x21-\x7e]{1,128}$/.test(identity)) throw new UsageError('--psk-identity must be 1 to 128 printable ASCII characters');
    psk = { identity, key };
  }
  const timeout = v['at-timeout'] === undefined ? undefined : positiveInt(v['at-timeout'], '--at-timeout', 10_000);
  let defects: DefectName[] = [];
  try {
    defects = parseDefectNames(v.defect ?? []);
  } catch (err) {
    if (err instanceof DefectError) throw new UsageError(`--defect: ${err.message}`);
    throw err;
  }
  return {
    serial: { path: v.serial, baudRate },
    listen: v.connect ? undefined : v.listen ? parseHostPort(v.listen, '--listen') : { host: '0.0.0.0', port: VPCD_DEFAULT_PORT },
    connect: v.connect ? parseHostPort(v.connect, '--connect') : undefined,
    secondLpa: v.queue ? 'queue' : 'refuse',
    psk,
    at: timeout ? { commandTimeoutMs: timeout } : undefined,
    session: { allowAids: [...new Set([...DEFAULT_ALLOWED_AIDS, ...aids])], allowAuthenticate: v['allow-authenticate'] ?? false, mode, t0: t0 as LpaT0Procedure },
    atr: buildAtr({ protocols: atrProtocols }),
    ...(v['no-quickack'] ? { quickAck: false } : {}),
    ...(defects.length ? { defects } : {}),
    logFile: v.log,
  };
}

export async function bridgeCommand(args: string[], io: BridgeCommandIo = defaultIo): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout(HELP);
    return 0;
  }
  const { logFile, ...options } = bridgeOptionsFromArgs(args);
  let log: WriteStream | undefined;
  if (logFile) {
    log = createWriteStream(logFile, { flags: 'a' });
    await new Promise<void>((resolve, reject) => {
      log?.once('open', () => resolve());
      log?.once('error', (err) => reject(new UsageError(`--log: cannot write ${logFile}: ${err.message}`)));
    });
  }
  const logStream = log;

  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  if (io.signal) io.signal.addEventListener('abort', onSignal, { once: true });
  else {
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }
  let announced = false;
  const describeModem = (b: Bridge | undefined): string => {
    if (!b) return '';
    const id = b.report.identity;
    return ` (${[id.manufacturer, id.model, id.revision].filter(Boolean).join(' ')}, ${b.report.detection.mode} mode)`;
  };
  let bridge: Bridge | undefined;
  for (const d of options.defects ?? []) io.stderr(`bridgelab bridge: DELIBERATELY BROKEN (--defect ${d}): ${DEFECT_SUMMARIES[d]}`);
  try {
    try {
      bridge = await startBridge({
        ...options,
        log: logStream ? (line) => logStream.write(line + '\n') : undefined,
        onTrace: (e) => {
          const line = eventLine(e);
          if (line) io.stderr(`bridgelab bridge: ${line}`);
          if (!announced && e.type === 'lpa' && e.event === 'connected' && options.connect) {
            announced = true;
            io.stdout(`bridgelab bridge: connected to ${options.connect.host}:${options.connect.port}${describeModem(bridge)}`);
          }
        },
      });
    } catch (err) {
      if (err instanceof BridgeStartError || err instanceof ModemUnsupportedError || err instanceof AtError) throw new OperationError(`bridge did not start: ${err.message}`);
      if (err instanceof SessionConfigError) throw new UsageError(err.message);
      throw err;
    }
    io.onStarted?.(bridge);
    if (bridge.address) io.stdout(`bridgelab bridge: listening on ${bridge.address.address}:${bridge.address.port}${options.psk ? ' (TLS-PSK)' : ''}${describeModem(bridge)}`);
    if (!stop.signal.aborted) await new Promise<void>((resolve) => stop.signal.addEventListener('abort', () => resolve(), { once: true }));
    io.stderr('bridgelab bridge: stopping');
    await bridge.close();
    return 0;
  } finally {
    if (!io.signal) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    if (logStream) await new Promise<void>((resolve) => logStream.end(() => resolve()));
  }
}
