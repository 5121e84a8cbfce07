// `bridgelab lpa`: the test LPA (SGP.23 S_LPAd) on the command line, lpac-compatible JSON lines
// (one {"type":"progress",...} per progress event, then {"type":"lpa","payload":{"code":0|-1,...}}).
// Commands follow lpac: chip info (SGP.22 5.7.8/5.7.20/5.7.22), profile list/download/enable/
// disable/delete/nickname (3.1.3, 3.2), notification list/process/remove (3.3), memory reset
// (5.7.19); eUICC over vpcd (--vpcd / --vpcd-listen) or an injected transport.
// Exit codes: 0 success, 1 the operation failed, 2 usage error (UsageError).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { wholeNumber } from './args.ts';
import { UsageError, EXIT_FAILURE, EXIT_OK } from './errors.ts';
import type { ApduTransport } from '../sim/apdu/apdu.ts';
import { ActivationCodeError, parseActivationCode, type ActivationCode } from '../sim/rsp/activation-code.ts';
import type { JsonValue } from '../sim/rsp/registry.ts';
import { hexToBytes } from '../sim/bytes.ts';
import { parseCert } from '../certs/cert.ts';
import { Lpa, type LpaOptions, type LpaProgressEvent } from '../sim/lpa/flows.ts';
import type { ProfileRef, Es10Options } from '../sim/lpa/es10.ts';
import type { ConnectTarget, RspHttpOptions } from '../sim/lpa/rsp-http.ts';
import { connectVpcdReader, listenVpcdReader, VPCD_DEFAULT_PORT } from '../sim/lpa/vpcd-transport.ts';
import { describeError, LpaError } from '../sim/lpa/errors.ts';
import { chipInfoJson, deliveryJson, downloadJson, notificationJson, profileJson } from '../sim/lpa/lpac-json.ts';
import type { ResetOptions } from '../sim/rsp/es10c.ts';
import type { Infer } from '../sim/rsp/der.ts';

export interface LpaCommandIo {
  /** stdout: the JSON lines */
  out(text: string): void;
  /** stderr: human notes (waiting for a bridge ...) */
  err(text: string): void;
}

export interface LpaCommandDeps {
  /** the in-process emulated eUICC, used when neither --vpcd nor --vpcd-listen is given */
  readonly createTransport?: () => Promise<ApduTransport>;
  readonly io?: LpaCommandIo;
  /** extra LPA options (SM-DP+ client factories, device info, ...) merged under the CLI's */
  readonly lpaOptions?: LpaOptions;
}

const processIo: LpaCommandIo = {
  out: (t) => void process.stdout.write(t),
  err: (t) => void process.stderr.write(t),
};

export const LPA_USAGE = `usage: bridgelab lpa <command> [options]

commands:
  chip info                                 EID, configured addresses, EUICCInfo2, RAT
  profile list
  profile download -a <activation code> [-c <confirmation code>] [--leave-notifications]
  profile enable <ICCID|AID> [--refresh]
  profile disable <ICCID|AID> [--refresh]
  profile delete <ICCID|AID>
  profile nickname <ICCID> <name>
  notification list
  notification process [--remove]           send pending notifications (--remove: then NotificationSent)
  notification remove <seqNumber>
  memory reset [--operational] [--test] [--default-address]   (none given: all three)

eUICC access (default: the in-process emulated eUICC, when available):
  --vpcd <host[:port]>          connect to a bridge listening for the LPA (vpcd, port ${VPCD_DEFAULT_PORT})
  --vpcd-listen <host[:port]>   wait for a bridge to connect to the LPA
  --basic-channel               use the basic channel instead of a logical channel
  --block-size <n>              STORE DATA block size 1..255 (default 120)
  --get-response-cla <00|80>    class of GET RESPONSE (default 00; lpac sends 80)
  --apdu-timeout <ms>           per-APDU timeout over vpcd (default 30000)

SM-DP+ access:
  --ca <file>                   trust these CA certificates (PEM or DER) instead of the SGP.26 CIs
  --smdp-host <ip:port>         connect there for every SM-DP+/SM-DS address (TLS name unchanged)
  --http-timeout <ms>           per-request timeout (default 30000)
  --cc-encoding <ascii|hex>     how the confirmation code is hashed (default ascii, as lpac)

output: one JSON line per progress event, then {"type":"lpa","payload":{"code":0,...}};
exit codes: 0 success, 1 operation failed (code -1), 2 usage error`;

type Values = {
  'activation-code'?: string;
  'confirmation-code'?: string;
  'leave-notifications'?: boolean;
  refresh?: boolean;
  remove?: boolean;
  operational?: boolean;
  test?: boolean;
  'default-address'?: boolean;
  vpcd?: string;
  'vpcd-listen'?: string;
  'basic-channel'?: boolean;
  'block-size'?: string;
  'get-response-cla'?: string;
  'apdu-timeout'?: string;
  ca?: string;
  'smdp-host'?: string;
  'http-timeout'?: string;
  'cc-encoding'?: string;
  help?: boolean;
};

function parse(args: string[]): { values: Values; positionals: string[] } {
  try {
    const r = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        'activation-code': { type: 'string', short: 'a' },
        'confirmation-code': { type: 'string', short: 'c' },
        'leave-notifications': { type: 'boolean' },
        refresh: { type: 'boolean' },
        remove: { type: 'boolean' },
        operational: { type: 'boolean' },
        test: { type: 'boolean' },
        'default-address': { type: 'boolean' },
        vpcd: { type: 'string' },
        'vpcd-listen': { type: 'string' },
        'basic-channel': { type: 'boolean' },
        'block-size': { type: 'string' },
        'get-response-cla': { type: 'string' },
        'apdu-timeout': { type: 'string' },
        ca: { type: 'string' },
        'smdp-host': { type: 'string' },
        'http-timeout': { type: 'string' },
        'cc-encoding': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    return { values: r.values as Values, positionals: r.positionals };
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n${LPA_USAGE}`);
  }
}

/** "host:port" or "host" (with a default port); IPv6 in brackets. */
export function parseHostPort(text: string, option: string, defaultPort?: number): ConnectTarget {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[^:\s]+)(?::(\d{1,5}))?$/.exec(text);
  if (!m) throw new UsageError(`${option}: '${text}' is not host:port`);
  const host = m[1]!.startsWith('[') ? m[1]!.slice(1, -1) : m[1]!;
  if (m[2] === undefined) {
    if (defaultPort === undefined) throw new UsageError(`${option}: '${text}' has no port (host:port)`);
    return { host, port: defaultPort };
  }
  const port = Number(m[2]);
  if (port < 1 || port > 65535) throw new UsageError(`${option}: port ${port} outside 1..65535`);
  return { host, port };
}

/** ICCID digits (up to 20), or an ISD-P AID in hex (more than 20 digits, or hex letters). */
export function parseProfileRef(text: string): ProfileRef {
  if (/^\d{1,20}$/.test(text)) {
    if (text.length < 18) throw new UsageError(`'${text}' is not an ICCID (18-20 digits) or an ISD-P AID (hex)`);
    return { iccid: text };
  }
  if (/^(?:[0-9A-Fa-f]{2}){5,16}$/.test(text)) return { isdpAid: hexToBytes(text) };
  throw new UsageError(`'${text}' is not an ICCID (18-20 digits) or an ISD-P AID (hex)`);
}

function readCa(file: string): string | Uint8Array {
  let raw: Buffer;
  try {
    raw = readFileSync(file);
  } catch (err) {
    throw new UsageError(`--ca: cannot read ${file}: ${(err as Error).message}`);
  }
  const text = raw.toString('latin1');
  if (text.includes('-----BEGIN CERTIFICATE-----')) return text;
  try {
    return parseCert(new Uint8Array(raw)).der;
  } catch (err) {
    throw new UsageError(`--ca: ${file} is neither PEM nor a DER certificate: ${(err as Error).message}`);
  }
}

type Operation = (lpa: Lpa) => Promise<JsonValue>;

function noMore(rest: string[], command: string): void {
  if (rest.length) throw new UsageError(`'${command}' takes no argument '${rest[0]}'\n${LPA_USAGE}`);
}

/** Map the positionals and options to the flow to run (all argument checks happen here, before any I/O). */
function operationFor(positionals: string[], v: Values): Operation {
  const [group, action, ...rest] = positionals;
  const command = `${group ?? ''} ${action ?? ''}`.trim();
  switch (command) {
    case 'chip info':
      noMore(rest, command);
      return async (lpa) => chipInfoJson(await lpa.chipInfo());
    case 'profile list':
      noMore(rest, command);
      return async (lpa) => (await lpa.listProfiles()).map(profileJson);
    case 'profile download': {
      noMore(rest, command);
      const text = v['activation-code'];
      if (text === undefined) throw new UsageError(`profile download needs -a <activation code>\n${LPA_USAGE}`);
      let ac: ActivationCode;
      try {
        ac = parseActivationCode(text);
      } catch (err) {
        if (err instanceof ActivationCodeError) throw new UsageError(`invalid activation code: ${err.message}`);
        throw err;
      }
      const cc = v['confirmation-code'];
      return async (lpa) =>
        downloadJson(
          await lpa.downloadProfile(ac, {
            ...(cc !== undefined ? { confirmationCode: cc } : {}),
            notifications: v['leave-notifications'] ? 'leave' : 'process',
          }),
        );
    }
    case 'profile enable':
    case 'profile disable':
    case 'profile delete': {
      if (rest.length !== 1) throw new UsageError(`${command} takes one ICCID or AID\n${LPA_USAGE}`);
      const ref = parseProfileRef(rest[0]!);
      const refreshFlag = v.refresh ?? false;
      if (action === 'enable') return async (lpa) => (await lpa.enableProfile(ref, { refreshFlag }), null);
      if (action === 'disable') return async (lpa) => (await lpa.disableProfile(ref, { refreshFlag }), null);
      if (v.refresh) throw new UsageError('profile delete has no --refresh');
      return async (lpa) => (await lpa.deleteProfile(ref), null);
    }
    case 'profile nickname': {
      if (rest.length !== 2) throw new UsageError(`profile nickname takes <ICCID> <name>\n${LPA_USAGE}`);
      const [iccid, name] = rest as [string, string];
      if (!/^\d{18,20}$/.test(iccid)) throw new UsageError(`'${iccid}' is not an ICCID (18-20 digits)`);
      if (Buffer.byteLength(name, 'utf8') > 64) throw new UsageError('a profile nickname has at most 64 bytes (SGP.22 5.7.21)');
      return async (lpa) => (await lpa.setNickname(iccid, name), null);
    }
    case 'notification list':
      noMore(rest, command);
      return async (lpa) => (await lpa.listNotifications()).map(notificationJson);
    case 'notification process':
      noMore(rest, command);
      return async (lpa) => (await lpa.processNotifications({ remove: v.remove ?? false })).map(deliveryJson);
    case 'notification remove': {
      if (rest.length !== 1 || !/^\d+$/.test(rest[0]!)) throw new UsageError(`notification remove takes one sequence number\n${LPA_USAGE}`);
      const seq = Number(rest[0]);
      return async (lpa) => (await lpa.removeNotification(seq), null);
    }
    case 'memory reset': {
      noMore(rest, command);
      const opts: Infer<typeof ResetOptions> = [];
      if (v.operational) opts.push('deleteOperationalProfiles');
      if (v.test) opts.push('deleteFieldLoadedTestProfiles');
      if (v['default-address']) opts.push('resetDefaultSmdpAddress');
      const resetOptions: Infer<typeof ResetOptions> = opts.length ? opts : ['deleteOperationalProfiles', 'deleteFieldLoadedTestProfiles', 'resetDefaultSmdpAddress'];
      return async (lpa) => (await lpa.memoryReset(resetOptions), null);
    }
    default:
      throw new UsageError(`${command ? `unknown command '${command}'` : 'missing command'}\n${LPA_USAGE}`);
  }
}

function progressLine(e: LpaProgressEvent): string {
  const data: { [k: string]: JsonValue } = { phase: e.phase, ...(e.detail ?? {}) };
  return `${JSON.stringify({ type: 'progress', payload: { code: 0, message: e.step, data } })}\n`;
}

function finalLine(code: 0 | -1, message: string, data: JsonValue): string {
  return `${JSON.stringify({ type: 'lpa', payload: { code, message, data } })}\n`;
}

export async function lpaCommand(args: string[], deps: LpaCommandDeps = {}): Promise<number> {
  const io = deps.io ?? processIo;
  const { values: v, positionals } = parse(args);
  if (v.help) {
    io.out(`${LPA_USAGE}\n`);
    return EXIT_OK;
  }
  const operation = operationFor(positionals, v);

  // transport and options (usage errors before any I/O)
  if (v.vpcd !== undefined && v['vpcd-listen'] !== undefined) throw new UsageError('--vpcd and --vpcd-listen exclude each other');
  const vpcd = v.vpcd !== undefined ? parseHostPort(v.vpcd, '--vpcd', VPCD_DEFAULT_PORT) : undefined;
  const vpcdListen = v['vpcd-listen'] !== undefined ? parseHostPort(v['vpcd-listen'], '--vpcd-listen', VPCD_DEFAULT_PORT) : undefined;
  if (!vpcd && !vpcdListen && !deps.createTransport)
    throw new UsageError('no eUICC transport: the in-process emulated eUICC is not available here; use --vpcd <host:port> or --vpcd-listen <host:port>');
  const blockSize = wholeNumber('block-size', v['block-size'], 1, 255);
  const apduTimeout = wholeNumber('apdu-timeout', v['apdu-timeout'], 1, 86_400_000);
  const httpTimeout = wholeNumber('http-timeout', v['http-timeout'], 1, 86_400_000);
  const grCla = v['get-response-cla'];
  if (grCla !== undefined && grCla !== '00' && grCla !== '80') throw new UsageError(`--get-response-cla must be 00 or 80, got '${grCla}'`);
  const ccEncoding = v['cc-encoding'];
  if (ccEncoding !== undefined && ccEncoding !== 'ascii' && ccEncoding !== 'hex') throw new UsageError(`--cc-encoding must be ascii or hex, got '${ccEncoding}'`);
  const ca = v.ca !== undefined ? readCa(v.ca) : undefined;
  const route = v['smdp-host'] !== undefined ? parseHostPort(v['smdp-host'], '--smdp-host') : undefined;

  const base = deps.lpaOptions ?? {};
  const http: RspHttpOptions = {
    ...(base.http ?? {}),
    ...(ca !== undefined ? { ca } : {}),
    ...(route ? { connect: route } : {}),
    ...(httpTimeout !== undefined ? { timeoutMs: httpTimeout } : {}),
  };
  const es10: Es10Options = {
    ...(v['basic-channel'] ? { channel: 'basic' as const } : {}),
    ...(blockSize !== undefined ? { blockSize } : {}),
    ...(grCla === '80' ? { getResponseClass: 0x80 as const } : {}),
  };
  const lpaOptions: LpaOptions & { es10: Es10Options } = {
    ...base,
    http,
    es10,
    ...(ccEncoding !== undefined ? { confirmationCodeEncoding: ccEncoding as 'ascii' | 'hex' } : {}),
    onProgress: (e) => {
      base.onProgress?.(e);
      io.out(progressLine(e));
    },
  };

  let transport: ApduTransport | undefined;
  let lpa: Lpa | undefined;
  let data: JsonValue = null;
  let failure: unknown;
  try {
    const vpcdOptions = apduTimeout !== undefined ? { commandTimeoutMs: apduTimeout } : {};
    if (vpcd) transport = await connectVpcdReader(vpcd.host, vpcd.port, vpcdOptions);
    else if (vpcdListen)
      transport = await listenVpcdReader(vpcdListen.host, vpcdListen.port, {
        ...vpcdOptions,
        onListening: (a) => io.err(`bridgelab lpa: waiting for a bridge (vpcd card side) on ${a.address}:${a.port}\n`),
      });
    else transport = await deps.createTransport!();
    lpa = await Lpa.open(transport, lpaOptions);
    data = await operation(lpa);
  } catch (err) {
    failure = err;
  }
  // close the ISD-R channel and the transport; a close failure after success is a failure
  for (const close of [() => lpa?.close(), () => transport?.close()]) {
    try {
      await close();
    } catch (err) {
      if (failure === undefined) failure = err;
      else if (failure instanceof LpaError) failure.related.push(err);
    }
  }
  if (failure !== undefined) {
    io.out(finalLine(-1, failure instanceof Error ? failure.message : String(failure), describeError(failure)));
    return EXIT_FAILURE;
  }
  io.out(finalLine(0, 'success', data));
  return EXIT_OK;
}
