// `bridgelab smdp`: run the test SM-DP+ (SGP.22 5.6 ES9+, 5.3 ES2+, 5.8 ES11 embedded SM-DS)
// until SIGINT/SIGTERM, printing the activation codes it can serve; and `bridgelab smdp order`,
// an ES2+ client (5.3.1 DownloadOrder + 5.3.2 ConfirmOrder over mutual TLS, with the client
// certificate of the data dir's operator CA or the one given) that prints the activation code
// (SGP.22 4.1) of the new order. Bad arguments or configuration: UsageError (exit 2), raised
// before anything is written; a data dir whose state is missing or damaged, a port in use, a
// refused order or an unreachable server: OperationError (exit 1), one line each.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { ParseArgsConfig } from 'node:util';
import { parseCommandArgs, wholeNumber } from './args.ts';
import { EXIT_OK, OperationError, HelpRequested, UsageError } from './errors.ts';
import { startSmdp, type SmdpOptions, type SmdpServer } from '../sim/smdp/server.ts';
import { SmdpConfigError, SmdpStateError } from '../sim/smdp/errors.ts';
import { localClientIdentity, requesterOf } from '../sim/smdp/es2-auth.ts';
import { parseMisbehaviour } from '../sim/smdp/misbehaviour.ts';
import { DOWNLOADABLE_STATES } from '../sim/smdp/inventory-state.ts';
import { postJson, HttpClientError } from '../sim/smdp/https-json.ts';
import { formatActivationCode } from '../sim/rsp/activation-code.ts';
import { ES2P_PATHS, isExecuted, type ResponseHeader } from '../sim/rsp/json.ts';
import { isValidEid } from '../sim/rsp/eid.ts';
import { certificatePem, parseCert, CertParseError } from '../certs/cert.ts';
import { loadCert } from '../certs/store.ts';
import type { InventorySpec } from '../sim/smdp/inventory.ts';

export interface SmdpCliIo {
  out(text: string): void;
  err(text: string): void;
  /** resolves when the server should stop (default: SIGINT or SIGTERM) */
  stopSignal?: Promise<unknown>;
}

const processIo: SmdpCliIo = { out: (t) => void process.stdout.write(t), err: (t) => void process.stderr.write(t) };

const USAGE = `usage: bridgelab smdp [options]                 run the test SM-DP+ (ES9+, ES2+, ES11) until SIGINT/SIGTERM
       bridgelab smdp order --url URL [options]    ES2+ downloadOrder + confirmOrder, print the activation code

server options:
  --host ADDR                 listen address (default 127.0.0.1: nothing outside this machine reaches it)
  --port N                    listen port (default 8443, 0 = any free port)
  --hostname NAME             SM-DP+ hostname for TLS and addresses (default testsmdpplus1.example.com)
  --smds-hostname NAME        embedded SM-DS hostname (default testsmds.example.com)
  --data-dir DIR              database, TLS and ES2+ identities (default ./smdp-data, created 0700).
                              A new inventory is created only in an empty or missing data dir; a
                              data dir with earlier state needs its smdp.mdb intact (else exit 1)
  --reset                     discard the database of the data dir (orders, sessions, notifications)
                              and start with a new inventory; TLS and ES2+ identities are kept
  --http                      plain HTTP instead of HTTPS
  --operator-ca FILE          operator CA (PEM): ES2+ accepts client certificates of it only, and
                              trusts it for callbacks. Default: the data dir's own CA (es2/, created
                              on first start, with es2/client.* for \`bridgelab smdp order\`)
  --es2-test-ca               ES2+ also accepts client certificates of the SGP.26 test CI (its key
                              is public: anyone can make one; test rigs only)
  --test-mode                 ES2+ accepts any client without a certificate (test only)
  --segment-size N            plaintext bytes per '86' BPP segment (default 1020)
  --no-replace-session-keys   bind without ReplaceSessionKeys
  --operator-url URL          ES2+.HandleDownloadProgressInfo callbacks go here
  --cc-retry-limit N          wrong confirmation codes per order (default 3)
  --download-retry-limit N    download attempts per order (default 5)
  --order-ttl SECONDS         order lifetime (default 7 days)
  --profiles-dir DIR          template profiles (default sim/smdp/profiles)
  --config FILE               JSON with any SmdpOptions (inventory, misbehaviour ...); flags win
  --orders N                  create N released orders at start (at most the Available profiles)
  --verbose                   log every step to stderr

limits: request body 1 MiB, headers 16 KiB, headers within 10 s, whole request within 30 s,
idle connections closed after 30 s (keep-alive 5 s), TLS handshake within 10 s, 256
connections; sessions expire 15 min after their last step (7 days when waiting for the
installation result), notifications and closed orders are kept 7 days, at most 10,000
sessions and 10,000 notifications (oldest removed first).

order options:
  --url URL                   SM-DP+ base URL (https://127.0.0.1:8443)
  --iccid ICCID | --profile-type TYPE
  --eid EID  --cc CODE  --matching-id ID  --no-release
  --insecure-ca FILE          CA that signed the server's TLS certificate (default the SGP.26 CI)
  --servername NAME           TLS name to check (default the URL host, or testsmdpplus1.example.com for an IP)
  --cert FILE --key FILE      client certificate for mutual TLS (its subject CN is the functionRequesterIdentifier)
  --data-dir DIR              without --cert: use DIR/es2/client.* of the SM-DP+'s data dir (default ./smdp-data)
  --json                      machine output`;

function parse<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseCommandArgs<T>> {
  if (config.args?.some((a) => a === '--help' || a === '-h')) throw new HelpRequested(USAGE);
  return parseCommandArgs('smdp', config);
}

function readText(path: string, what: string): string {
  return Buffer.from(readBytes(path, what)).toString('utf8');
}

function readBytes(path: string, what: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new UsageError(`cannot read ${what} '${path}': ${typeof code === 'string' ? code : (err as Error).message}`);
  }
}

const CONFIG_KEYS = [
  'host',
  'port',
  'hostname',
  'smdsHostname',
  'dataDir',
  'segmentSize',
  'replaceSessionKeys',
  'http',
  'testMode',
  'es2TestCa',
  'operatorCallbackUrl',
  'ccRetryLimit',
  'downloadRetryLimit',
  'orderTtlMs',
  'profilesDir',
  'inventory',
  'ccEncoding',
  'misbehaviour',
] as const;

type ConfigFile = Partial<Omit<SmdpOptions, 'now' | 'log' | 'operatorCa'>>;

/** Read and check a JSON config file (types of every known key; unknown keys are errors). */
export function readConfig(path: string): ConfigFile {
  let json: unknown;
  try {
    json = JSON.parse(readText(path, 'config file')) as unknown;
  } catch (err) {
    if (err instanceof SyntaxError) throw new UsageError(`config '${path}' is not JSON: ${err.message}`);
    throw err;
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new UsageError(`config '${path}': expected a JSON object`);
  const o = json as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (!(CONFIG_KEYS as readonly string[]).includes(k)) throw new UsageError(`config '${path}': unknown key '${k}' (known: ${CONFIG_KEYS.join(', ')})`);
    const bad = (type: string): never => {
      throw new UsageError(`config '${path}': '${k}' must be ${type}`);
    };
    switch (k) {
      case 'port':
      case 'segmentSize':
      case 'ccRetryLimit':
      case 'downloadRetryLimit':
      case 'orderTtlMs':
        if (typeof v !== 'number') bad('a number');
        break;
      case 'replaceSessionKeys':
      case 'http':
      case 'testMode':
      case 'es2TestCa':
        if (typeof v !== 'boolean') bad('true or false');
        break;
      case 'ccEncoding':
        if (v !== 'ascii' && v !== 'hex') bad('"ascii" or "hex"');
        break;
      case 'inventory':
        if (!Array.isArray(v) || v.some((e) => typeof e !== 'object' || e === null || typeof (e as { template?: unknown }).template !== 'string'))
          bad('an array of { template, count?, profileType?, metadata? }');
        break;
      case 'misbehaviour':
        try {
          parseMisbehaviour(v);
        } catch (err) {
          if (err instanceof SmdpConfigError) throw new UsageError(`config '${path}': ${err.message}`);
          throw err;
        }
        break;
      default:
        if (typeof v !== 'string') bad('a string');
    }
    out[k] = v;
  }
  return out as ConfigFile;
}

async function serve(args: string[], io: SmdpCliIo): Promise<number> {
  const { values, positionals } = parse({
    args,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      hostname: { type: 'string' },
      'smds-hostname': { type: 'string' },
      'data-dir': { type: 'string' },
      http: { type: 'boolean' },
      reset: { type: 'boolean' },
      'test-mode': { type: 'boolean' },
      'es2-test-ca': { type: 'boolean' },
      'segment-size': { type: 'string' },
      'no-replace-session-keys': { type: 'boolean' },
      'operator-url': { type: 'string' },
      'operator-ca': { type: 'string' },
      'cc-retry-limit': { type: 'string' },
      'download-retry-limit': { type: 'string' },
      'order-ttl': { type: 'string' },
      'profiles-dir': { type: 'string' },
      config: { type: 'string' },
      orders: { type: 'string' },
      verbose: { type: 'boolean' },
    },
    strict: true,
    allowPositionals: true,
  });
  if (positionals.length > 0) throw new UsageError(`smdp: unexpected argument '${positionals[0]}' (commands: order)\n${USAGE}`);
  const config = values.config !== undefined ? readConfig(values.config) : {};
  const port = wholeNumber('port', values.port, 0, 65535);
  const segmentSize = wholeNumber('segment-size', values['segment-size'], 1, 65000);
  const ccRetryLimit = wholeNumber('cc-retry-limit', values['cc-retry-limit'], 1, 1000);
  const downloadRetryLimit = wholeNumber('download-retry-limit', values['download-retry-limit'], 1, 1000);
  const ttl = wholeNumber('order-ttl', values['order-ttl'], 1, 10 * 365 * 86_400);
  const orders = wholeNumber('orders', values.orders, 0, 100_000) ?? 0;
  const verbose = values.verbose === true;

  const options: SmdpOptions = {
    ...config,
    dataDir: values['data-dir'] ?? config.dataDir ?? './smdp-data',
    ...(values.host !== undefined ? { host: values.host } : {}),
    ...(port !== undefined ? { port } : {}),
    ...(values.hostname !== undefined ? { hostname: values.hostname } : {}),
    ...(values['smds-hostname'] !== undefined ? { smdsHostname: values['smds-hostname'] } : {}),
    ...(values.http ? { http: true } : {}),
    ...(values['test-mode'] ? { testMode: true } : {}),
    ...(values['es2-test-ca'] ? { es2TestCa: true } : {}),
    ...(values.reset ? { reset: true } : {}),
    ...(orders > 0 ? { initialOrders: orders } : {}),
    ...(segmentSize !== undefined ? { segmentSize } : {}),
    ...(values['no-replace-session-keys'] ? { replaceSessionKeys: false } : {}),
    ...(values['operator-url'] !== undefined ? { operatorCallbackUrl: values['operator-url'] } : {}),
    ...(values['operator-ca'] !== undefined ? { operatorCa: readText(values['operator-ca'], 'operator CA') } : {}),
    ...(ccRetryLimit !== undefined ? { ccRetryLimit } : {}),
    ...(downloadRetryLimit !== undefined ? { downloadRetryLimit } : {}),
    ...(ttl !== undefined ? { orderTtlMs: ttl * 1000 } : {}),
    ...(values['profiles-dir'] !== undefined ? { profilesDir: values['profiles-dir'] } : {}),
    log: (level, message) => {
      if (verbose || level !== 'info') io.err(`${new Date().toISOString()} ${level} ${message}\n`);
    },
  };
  if (config.inventory) options.inventory = config.inventory as InventorySpec[];

  // listen for SIGINT/SIGTERM before anything is printed: a signal that arrives before a
  // handler exists would kill the process with the default action
  const signal = io.stopSignal ? { stopped: io.stopSignal, dispose: () => undefined } : untilSignal();
  let server: SmdpServer;
  try {
    server = await startSmdp(options);
  } catch (err) {
    signal.dispose();
    throw startError(err, options);
  }
  try {
    io.out(`SM-DP+ ${server.address} (SM-DS ${server.smdsAddress}) listening on ${server.url}\n`);
    io.out(`data dir ${server.dataDir}; TLS trust anchor: the SGP.26 CI (certs/sgp26/CertificateIssuer/CERT_CI_ECDSA_NIST.pem)\n`);
    io.out(`${server.es2Auth.description}\n`);
    if (!isLoopback(options.host ?? '127.0.0.1') && (server.es2Auth.mode === 'open' || server.es2Auth.sgp26Accepted))
      io.err(`warning: ES2+ test mode on ${options.host}: anyone who reaches this address can place, release and cancel orders\n`);
    const codes = server.inventory
      .list()
      .filter((p) => p.orderId !== undefined && (DOWNLOADABLE_STATES.includes(p.state) || p.state === 'Linked'))
      .map((p) => {
        try {
          return `${p.iccid}  ${p.state.padEnd(10)}  ${server.activationCodeFor(p.iccid)}`;
        } catch (err) {
          return `${p.iccid}  ${p.state.padEnd(10)}  (${(err as Error).message})`;
        }
      });
    io.out(codes.length ? `activation codes:\n${codes.map((c) => `  ${c}\n`).join('')}` : 'no released orders yet (use `bridgelab smdp order` or --orders N)\n');
    await signal.stopped;
  } finally {
    signal.dispose();
    await server.close();
    io.out('SM-DP+ stopped\n');
  }
  return EXIT_OK;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/** A failed start as one line: bad input exit 2, unusable state or environment exit 1. */
function startError(err: unknown, options: SmdpOptions): Error {
  if (err instanceof SmdpConfigError) return new UsageError(`smdp: ${err.message}`);
  if (err instanceof SmdpStateError) return new OperationError(`smdp: ${err.message}`);
  const code = (err as { code?: unknown }).code;
  const where = `${options.host ?? '127.0.0.1'}:${options.port ?? 8443}`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EADDRNOTAVAIL' || code === 'EINVAL') return new UsageError(`smdp: cannot listen on ${where}: ${String(code)} (--host must be an address of this machine)`);
  if (code === 'EADDRINUSE' || code === 'EACCES') return new OperationError(`smdp: cannot listen on ${where}: ${String(code)}`);
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return new OperationError(`smdp: data dir ${options.dataDir}: ${(err as Error).message}`);
  return err instanceof Error ? err : new Error(String(err));
}

/** Resolves on the first SIGINT/SIGTERM; `dispose` removes the handlers (a second signal then has its default effect). */
function untilSignal(): { stopped: Promise<void>; dispose: () => void } {
  let dispose = (): void => undefined;
  const stopped = new Promise<void>((resolve) => {
    const done = (): void => {
      dispose();
      resolve();
    };
    dispose = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
    };
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
  });
  return { stopped, dispose };
}

interface Es2Reply {
  header?: ResponseHeader;
  [k: string]: unknown;
}

async function order(args: string[], io: SmdpCliIo): Promise<number> {
  const { values } = parse({
    args,
    options: {
      url: { type: 'string' },
      iccid: { type: 'string' },
      'profile-type': { type: 'string' },
      eid: { type: 'string' },
      cc: { type: 'string' },
      'matching-id': { type: 'string' },
      'no-release': { type: 'boolean' },
      'insecure-ca': { type: 'string' },
      servername: { type: 'string' },
      cert: { type: 'string' },
      key: { type: 'string' },
      'data-dir': { type: 'string' },
      json: { type: 'boolean' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.url === undefined) throw new UsageError('smdp order: --url is required');
  let url: URL;
  try {
    url = new URL(values.url);
  } catch (err) {
    throw new UsageError(`smdp order: --url '${values.url}' is not a URL (${(err as Error).message})`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new UsageError(`smdp order: --url must be https:// (or http:// for a --http server)`);
  if (values.iccid !== undefined && !/^\d{19,20}$/.test(values.iccid)) throw new UsageError(`smdp order: --iccid must be 19 or 20 digits, got '${values.iccid}'`);
  if (values.eid !== undefined && !isValidEid(values.eid)) throw new UsageError(`smdp order: --eid '${values.eid}' is not 32 digits with valid check digits`);
  if ((values.cert === undefined) !== (values.key === undefined)) throw new UsageError('smdp order: --cert and --key go together');

  let ca = certificatePem(loadCert('CI_NIST').der);
  if (values['insecure-ca'] !== undefined) {
    const text = readBytes(values['insecure-ca'], 'CA file');
    try {
      ca = certificatePem(parseCert(text).der);
    } catch (err) {
      if (err instanceof CertParseError) throw new UsageError(`smdp order: --insecure-ca '${values['insecure-ca']}': ${err.message}`);
      throw err;
    }
  }
  const servername = values.servername ?? (isIP(url.hostname.replace(/^\[|\]$/g, '')) ? 'testsmdpplus1.example.com' : url.hostname);
  const identity = clientIdentity(values.cert, values.key, values['data-dir'] ?? './smdp-data', url.protocol === 'https:');
  const header = { functionRequesterIdentifier: identity?.requester ?? 'bridgelab-cli', functionCallIdentifier: String(Date.now()) };
  const call = async (path: string, body: object): Promise<Es2Reply> => {
    let reply;
    try {
      reply = await postJson(new URL(path, url).toString(), { header, ...body }, url.protocol === 'https:' && identity ? { ca, servername, cert: identity.cert, key: identity.key } : {});
    } catch (err) {
      if (err instanceof HttpClientError) throw new OperationError(`smdp order: ${err.message}`);
      throw err;
    }
    const json = reply.json as Es2Reply | undefined;
    if (!json?.header) throw new OperationError(`smdp order: ${path}: HTTP ${reply.status}, no RSP response (${reply.text.slice(0, 120)})`);
    if (!isExecuted(json.header)) {
      const s = json.header.functionExecutionStatus.statusCodeData;
      throw new OperationError(`smdp order: ${path.split('/').pop()} failed: ${s ? `${s.subjectCode}/${s.reasonCode} ${s.message ?? ''}` : json.header.functionExecutionStatus.status}`.trimEnd());
    }
    return json;
  };

  const dl = await call(ES2P_PATHS.downloadOrder, {
    ...(values.iccid !== undefined ? { iccid: values.iccid } : {}),
    ...(values['profile-type'] !== undefined ? { profileType: values['profile-type'] } : {}),
    ...(values.eid !== undefined ? { eid: values.eid } : {}),
  });
  const iccid = String(dl['iccid']);
  const conf = await call(ES2P_PATHS.confirmOrder, {
    iccid,
    releaseFlag: values['no-release'] !== true,
    ...(values.eid !== undefined ? { eid: values.eid } : {}),
    ...(values.cc !== undefined ? { confirmationCode: values.cc } : {}),
    ...(values['matching-id'] !== undefined ? { matchingId: values['matching-id'] } : {}),
  });
  const matchingId = String(conf['matchingId'] ?? '');
  const smdpAddress = typeof conf['smdpAddress'] === 'string' ? conf['smdpAddress'] : url.host;
  const activationCode = formatActivationCode({ format: 1, smdpAddress, ...(matchingId ? { matchingId } : {}), confirmationCodeRequired: values.cc !== undefined });
  if (values.json) io.out(JSON.stringify({ iccid, matchingId, smdpAddress, released: values['no-release'] !== true, activationCode }, null, 2) + '\n');
  else io.out(`${activationCode}\n`);
  return EXIT_OK;
}

/**
 * The ES2+ client identity: --cert/--key, else the data dir's es2/client.* (the SM-DP+ issued
 * them with its operator CA). The functionRequesterIdentifier is the certificate's CN.
 */
function clientIdentity(certFile: string | undefined, keyFile: string | undefined, dataDir: string, https: boolean): { cert: string; key: string; requester: string } | undefined {
  if (certFile !== undefined && keyFile !== undefined) {
    const cert = readText(certFile, 'client certificate');
    try {
      return { cert, key: readText(keyFile, 'client key'), requester: requesterOf(parseCert(cert)) };
    } catch (err) {
      if (err instanceof CertParseError || err instanceof SmdpConfigError) throw new UsageError(`smdp order: --cert '${certFile}': ${err.message}`);
      throw err;
    }
  }
  if (!https) return undefined;
  let local;
  try {
    local = localClientIdentity(dataDir);
  } catch (err) {
    if (err instanceof SmdpStateError) throw new UsageError(`smdp order: ${err.message}`);
    throw err;
  }
  if (!local) throw new UsageError(`smdp order: no client certificate: give --cert FILE --key FILE, or --data-dir of the SM-DP+ (its es2/client.cert.pem; looked in ${dataDir})`);
  return local;
}

/** Entry point of `bridgelab smdp`. */
export async function smdpCommand(args: string[], io: SmdpCliIo = processIo): Promise<number> {
  const [first, ...rest] = args;
  if (first === '--help' || first === '-h' || first === 'help') {
    io.out(USAGE + '\n');
    return EXIT_OK;
  }
  if (first === 'order') return order(rest, io);
  return serve(args, io);
}
