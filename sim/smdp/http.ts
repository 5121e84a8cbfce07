// HTTP binding of the test SM-DP+ (SGP.22 6.5: ES9+ 6.5.2.6-6.5.2.10, ES11 6.5.2.11-12, ES2+
// 5.3 / 6.5.2.1-6.5.2.5): POST JSON to /gsma/rsp2/{es9plus,es11,es2plus}/<function>, answers
// with Content-Type application/json and X-Admin-Protocol gsma/rsp/v2.x.y, HTTP 200 and a
// functionExecutionStatus for every function result (204 for handleNotification), 400 for
// malformed requests, 403 for ES2+ callers without an acceptable client certificate. The
// HTTP-level misbehaviour switches (delay, HTTP 500, malformed JSON) are applied here.
import type http from 'node:http';
import type { TLSSocket } from 'node:tls';
import {
  ES2P_PATHS,
  ES9P_PATHS,
  executedSuccess,
  failed,
  JsonFieldError,
  parseCancelOrderRequest,
  parseConfirmOrderRequest,
  parseDownloadOrderRequest,
  parseInitiateAuthenticationRequest,
  parseReleaseProfileRequest,
  type StatusCode,
} from '../rsp/json.ts';
import { RspFunctionError, SMDP_STATUS, SmdpConfigError } from './errors.ts';
import type { SmdpCore } from './core.ts';
import { initiateAuthentication } from './auth.ts';
import { authenticateClient, cancelSession, getBoundProfilePackage, handleNotification } from './es9p.ts';
import { es11AuthenticateClient, es11InitiateAuthentication } from './es11.ts';
import { cancelOrder, confirmOrder, downloadOrder, releaseProfile } from './es2p.ts';
import { appliesTo, parseMisbehaviour, type Misbehaviour, type SmdpFunction } from './misbehaviour.ts';

export const ES11_PATHS = {
  initiateAuthentication: '/gsma/rsp2/es11/initiateAuthentication',
  authenticateClient: '/gsma/rsp2/es11/authenticateClient',
} as const;

/** Loopback-only endpoints for rigs that run the server as a separate process. */
export const CONTROL_PATHS = {
  misbehaviour: '/bridgelab/control/misbehaviour',
  inventory: '/bridgelab/control/inventory',
} as const;

const MAX_BODY = 1 << 20;
const DEFAULT_ADMIN_PROTOCOL = 'gsma/rsp/v2.2.0';

interface Route {
  fn: SmdpFunction;
  es2: boolean;
  /** the success fields; undefined answers 204 */
  run(core: SmdpCore, body: unknown): object | undefined;
}

const ROUTES: Readonly<Record<string, Route>> = {
  [ES9P_PATHS.initiateAuthentication]: {
    fn: 'initiateAuthentication',
    es2: false,
    run: (core, body) => {
      const r = parseInitiateAuthenticationRequest(body);
      return initiateAuthentication(core, { kind: 'es9', euiccChallenge: r.euiccChallenge, euiccInfo1: r.euiccInfo1, address: r.smdpAddress });
    },
  },
  [ES9P_PATHS.authenticateClient]: { fn: 'authenticateClient', es2: false, run: authenticateClient },
  [ES9P_PATHS.getBoundProfilePackage]: { fn: 'getBoundProfilePackage', es2: false, run: getBoundProfilePackage },
  [ES9P_PATHS.handleNotification]: {
    fn: 'handleNotification',
    es2: false,
    run: (core, body) => {
      handleNotification(core, body);
      return undefined;
    },
  },
  [ES9P_PATHS.cancelSession]: {
    fn: 'cancelSession',
    es2: false,
    run: (core, body) => {
      cancelSession(core, body);
      return {};
    },
  },
  [ES11_PATHS.initiateAuthentication]: { fn: 'es11.initiateAuthentication', es2: false, run: es11InitiateAuthentication },
  [ES11_PATHS.authenticateClient]: { fn: 'es11.authenticateClient', es2: false, run: es11AuthenticateClient },
  [ES2P_PATHS.downloadOrder]: { fn: 'downloadOrder', es2: true, run: (core, body) => downloadOrder(core, parseDownloadOrderRequest(body)) },
  [ES2P_PATHS.confirmOrder]: { fn: 'confirmOrder', es2: true, run: (core, body) => confirmOrder(core, parseConfirmOrderRequest(body)) },
  [ES2P_PATHS.cancelOrder]: {
    fn: 'cancelOrder',
    es2: true,
    run: (core, body) => {
      cancelOrder(core, parseCancelOrderRequest(body));
      return {};
    },
  },
  [ES2P_PATHS.releaseProfile]: {
    fn: 'releaseProfile',
    es2: true,
    run: (core, body) => {
      releaseProfile(core, parseReleaseProfileRequest(body));
      return {};
    },
  },
};

export interface HttpHooks {
  /** set the misbehaviour (control endpoint) */
  setMisbehaviour(m: Misbehaviour): Promise<void>;
}

function adminProtocol(req: http.IncomingMessage): string {
  const v = req.headers['x-admin-protocol'];
  return typeof v === 'string' && /^gsma\/rsp\/v2\.\d+\.\d+$/.test(v) ? v : DEFAULT_ADMIN_PROTOCOL;
}

function send(res: http.ServerResponse, status: number, body: string | undefined, protocol: string): void {
  const headers: Record<string, string> = { 'X-Admin-Protocol': protocol };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    headers['Content-Length'] = String(Buffer.byteLength(body));
  }
  res.writeHead(status, headers);
  res.end(body);
}

function failure(status: StatusCode, message: string): string {
  return JSON.stringify(failed(status, { message }));
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.byteLength;
      if (size > MAX_BODY) {
        reject(new RspFunctionError(SMDP_STATUS.InvalidRequest, `request body larger than ${MAX_BODY} bytes`, 413));
        // drop the rest of the body instead of destroying the socket (which lost the 413
        // answer: the client saw a connection reset); the 413 closes the connection
        req.removeAllListeners('data');
        req.resume();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** The request body, or undefined once a 413 for an oversized body has been sent. */
async function bodyOrAnswer(req: http.IncomingMessage, res: http.ServerResponse, protocol: string): Promise<string | undefined> {
  try {
    return await readBody(req);
  } catch (e) {
    if (!(e instanceof RspFunctionError)) throw e;
    if (e.httpStatus === 413) res.setHeader('Connection', 'close');
    send(res, e.httpStatus, failure(e.status, e.message), protocol);
    return undefined;
  }
}

function isLoopback(req: http.IncomingMessage): boolean {
  const a = req.socket.remoteAddress ?? '';
  return a === '127.0.0.1' || a === '::1' || a === '::ffff:127.0.0.1';
}

/** True when an ES2+ caller may proceed: test mode, or a client certificate that verified against the configured CAs. */
function es2Allowed(core: SmdpCore, req: http.IncomingMessage): boolean {
  if (core.options.testMode) return true;
  const sock = req.socket as Partial<TLSSocket>;
  return sock.encrypted === true && sock.authorized === true;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function control(core: SmdpCore, hooks: HttpHooks, req: http.IncomingMessage, res: http.ServerResponse, path: string): Promise<void> {
  const protocol = DEFAULT_ADMIN_PROTOCOL;
  if (!isLoopback(req)) return send(res, 403, failure(SMDP_STATUS.NotAllowed, 'control endpoints answer loopback clients only'), protocol);
  if (path === CONTROL_PATHS.inventory && req.method === 'GET') return send(res, 200, JSON.stringify(core.db.profiles.values()), protocol);
  if (path !== CONTROL_PATHS.misbehaviour) return send(res, 404, failure(SMDP_STATUS.InvalidRequest, `no endpoint ${path}`), protocol);
  if (req.method === 'GET') return send(res, 200, JSON.stringify(core.misbehaviour), protocol);
  if (req.method === 'DELETE') {
    await hooks.setMisbehaviour({});
    return send(res, 200, JSON.stringify(core.misbehaviour), protocol);
  }
  if (req.method !== 'PUT' && req.method !== 'POST') return send(res, 405, failure(SMDP_STATUS.InvalidRequest, `method ${req.method} not allowed`), protocol);
  const text = await bodyOrAnswer(req, res, protocol);
  if (text === undefined) return;
  let m: Misbehaviour;
  try {
    m = parseMisbehaviour(JSON.parse(text) as unknown);
  } catch (e) {
    if (e instanceof SyntaxError || e instanceof SmdpConfigError) return send(res, 400, failure(SMDP_STATUS.InvalidRequest, e.message), protocol);
    throw e;
  }
  await hooks.setMisbehaviour(m);
  return send(res, 200, JSON.stringify(core.misbehaviour), protocol);
}

/** The request listener of the SM-DP+ server. */
/**
 * SGP.22 v2 binds ES11 to the ES9+ paths on the SM-DS's own address (lpac and the GSMA
 * root SM-DS do so): a request addressed to the SM-DS hostname (TLS server name, or Host
 * header over plain HTTP) on those paths is an ES11 call.
 */
const SMDS_ROUTES: Readonly<Record<string, Route>> = {
  [ES9P_PATHS.initiateAuthentication]: ROUTES[ES11_PATHS.initiateAuthentication]!,
  [ES9P_PATHS.authenticateClient]: ROUTES[ES11_PATHS.authenticateClient]!,
};

function addressedToSmds(core: SmdpCore, req: http.IncomingMessage): boolean {
  const sni = (req.socket as { servername?: string | false }).servername;
  const host = typeof sni === 'string' && sni ? sni : (req.headers.host ?? '').replace(/:\d+$/, '');
  return host.toLowerCase() === core.options.smdsHostname.toLowerCase();
}

export function requestListener(core: SmdpCore, hooks: HttpHooks): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  return (req, res) => {
    handle(core, hooks, req, res).catch((err: unknown) => {
      const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      core.log('error', `${req.method} ${req.url}: ${message}`);
      if (!res.headersSent) send(res, 500, failure(SMDP_STATUS.InvalidRequest, 'internal error'), DEFAULT_ADMIN_PROTOCOL);
      else res.destroy();
    });
  };
}

async function handle(core: SmdpCore, hooks: HttpHooks, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  if (path.startsWith('/bridgelab/control/')) return control(core, hooks, req, res, path);
  const protocol = adminProtocol(req);
  const route = (addressedToSmds(core, req) ? SMDS_ROUTES[path] : undefined) ?? ROUTES[path];
  if (!route) return send(res, 404, failure(SMDP_STATUS.InvalidRequest, `no function at ${path}`), protocol);
  if (req.method !== 'POST') return send(res, 405, failure(SMDP_STATUS.InvalidRequest, `${route.fn} is called with POST, not ${req.method}`), protocol);
  const ct = req.headers['content-type'];
  if (ct !== undefined && !/^application\/json\s*(;|$)/i.test(ct)) return send(res, 415, failure(SMDP_STATUS.InvalidRequest, `Content-Type must be application/json, got ${ct}`), protocol);
  if (route.es2 && !es2Allowed(core, req))
    return send(res, 403, failure(SMDP_STATUS.NotAllowed, 'ES2+ requires a client certificate issued by the SGP.26 CI or the operator CA (or --test-mode)'), protocol);

  const text = await bodyOrAnswer(req, res, protocol);
  if (text === undefined) return;
  let body: unknown;
  try {
    body = JSON.parse(text) as unknown;
  } catch (e) {
    if (e instanceof SyntaxError) return send(res, 400, failure(SMDP_STATUS.InvalidRequest, `body is not JSON: ${e.message}`), protocol);
    throw e;
  }

  const m = core.misbehaviour;
  const applies = appliesTo(m, route.fn);
  if (applies && m.delayMs) await sleep(m.delayMs);
  if (applies && m.http500) {
    core.log('warn', `${route.fn}: answering HTTP 500 (misbehaviour)`);
    res.writeHead(500, { 'Content-Type': 'text/plain', 'X-Admin-Protocol': protocol });
    res.end('Internal Server Error');
    return;
  }

  let status = 200;
  let out: string | undefined;
  try {
    const result = route.run(core, body);
    if (result === undefined) status = 204;
    else out = JSON.stringify({ ...executedSuccess(), ...result });
  } catch (e) {
    if (e instanceof RspFunctionError) {
      status = e.httpStatus;
      out = failure(e.status, e.message);
      core.log('warn', `${route.fn}: ${e.subjectCode}/${e.reasonCode} ${e.message}`);
    } else if (e instanceof JsonFieldError) {
      status = 400;
      out = failure(e.problem === 'missing' ? SMDP_STATUS.MissingElement : SMDP_STATUS.InvalidRequest, e.message);
      core.log('warn', `${route.fn}: malformed request: ${e.message}`);
    } else throw e;
  }
  if (applies && m.malformedJson) {
    core.log('warn', `${route.fn}: answering malformed JSON (misbehaviour)`);
    const broken = (out ?? '{"header":{}}').slice(0, 40) + '<<not json';
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(broken)), 'X-Admin-Protocol': protocol });
    res.end(broken);
    return;
  }
  send(res, status, out, protocol);
}
