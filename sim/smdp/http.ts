// HTTP binding of the test SM-DP+ (SGP.22 6.5: ES9+ 6.5.2.6-6.5.2.10, ES11 6.5.2.11-12, ES2+
// 5.3 / 6.5.2.1-6.5.2.5): POST JSON to /gsma/rsp2/{es9plus,es11,es2plus}/<function> with
// X-Admin-Protocol gsma/rsp/v2.x.y (6.5.1: mandatory; missing or another version is a 400),
// answers with Content-Type application/json;charset=UTF-8 and the same X-Admin-Protocol,
// HTTP 200 and a functionExecutionStatus for every function result (204 for
// handleNotification), 400 for malformed requests (including a body that is not UTF-8:
// refused, never repaired), 403 for ES2+ callers without an acceptable client certificate
// or acting under another name than their certificate's, 413 for bodies over the limit.
// Messages that echo request fields are escaped and cut (safe-text.ts). The HTTP-level
// misbehaviour switches (delay, HTTP 500, malformed JSON) are applied here. The limits of
// the server itself (time-outs, connection cap, header size) are HttpLimits, set on the
// server in server.ts.
import { setTimeout as sleep } from 'node:timers/promises';
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
import { parseCert, CertParseError } from '../../certs/cert.ts';
import { RspFunctionError, SMDP_STATUS, SmdpConfigError } from './errors.ts';
import { requesterOf } from './es2-auth.ts';
import { MAX_RESPONSE_MESSAGE, safeText } from './safe-text.ts';
import type { SmdpCore } from './core.ts';
import { initiateAuthentication } from './auth.ts';
import { authenticateClient, cancelSession, getBoundProfilePackage, handleNotification } from './es9p.ts';
import { es11AuthenticateClient, es11InitiateAuthentication } from './es11.ts';
import { cancelOrder, confirmOrder, downloadOrder, releaseProfile, type Es2Caller } from './es2p.ts';
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

const DEFAULT_ADMIN_PROTOCOL = 'gsma/rsp/v2.2.0';
const ADMIN_PROTOCOL_RE = /^gsma\/rsp\/v2\.\d+\.\d+$/;
export const JSON_CONTENT_TYPE = 'application/json;charset=UTF-8';

/** Bounds of every connection and request of the SM-DP+ (set on the server in server.ts). */
export interface HttpLimits {
  /** request body (bytes); more is a 413 */
  maxBodyBytes: number;
  /** request line and headers (bytes); more is a 431 from node:http */
  maxHeaderBytes: number;
  /** headers must be complete this long after the connection (or the last request) started */
  headersTimeoutMs: number;
  /** the whole request, body included, must arrive within this (a trickled body is cut) */
  requestTimeoutMs: number;
  /** an idle keep-alive connection is closed after this */
  keepAliveTimeoutMs: number;
  /** a connection with no traffic at all is closed after this */
  idleTimeoutMs: number;
  /** the TLS handshake must finish within this */
  handshakeTimeoutMs: number;
  /** connections open at once; more are closed on accept */
  maxConnections: number;
}

export const DEFAULT_LIMITS: HttpLimits = {
  maxBodyBytes: 1 << 20,
  maxHeaderBytes: 16 * 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  idleTimeoutMs: 30_000,
  handshakeTimeoutMs: 10_000,
  maxConnections: 256,
};

/** What a function learns about its caller from the connection. */
export interface RequestContext {
  /** network address of the client */
  clientAddress: string;
  /** ES2+: the name the client certificate allows (undefined in test mode) */
  requester?: string;
}

interface Route {
  fn: SmdpFunction;
  es2: boolean;
  /** the success fields; undefined answers 204 */
  run(core: SmdpCore, body: unknown, ctx: RequestContext): object | undefined;
}

const ROUTES: Readonly<Record<string, Route>> = {
  [ES9P_PATHS.initiateAuthentication]: {
    fn: 'initiateAuthentication',
    es2: false,
    run: (core, body, ctx) => {
      const r = parseInitiateAuthenticationRequest(body);
      return initiateAuthentication(core, { kind: 'es9', euiccChallenge: r.euiccChallenge, euiccInfo1: r.euiccInfo1, address: r.smdpAddress, clientAddress: ctx.clientAddress });
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
    run: (core, body, ctx) => {
      cancelSession(core, body, ctx);
      return {};
    },
  },
  [ES11_PATHS.initiateAuthentication]: { fn: 'es11.initiateAuthentication', es2: false, run: (core, body, ctx) => es11InitiateAuthentication(core, body, ctx) },
  [ES11_PATHS.authenticateClient]: { fn: 'es11.authenticateClient', es2: false, run: es11AuthenticateClient },
  [ES2P_PATHS.downloadOrder]: { fn: 'downloadOrder', es2: true, run: (core, body, ctx) => downloadOrder(core, parseDownloadOrderRequest(body), callerOf(ctx)) },
  [ES2P_PATHS.confirmOrder]: { fn: 'confirmOrder', es2: true, run: (core, body, ctx) => confirmOrder(core, parseConfirmOrderRequest(body), callerOf(ctx)) },
  [ES2P_PATHS.cancelOrder]: {
    fn: 'cancelOrder',
    es2: true,
    run: (core, body, ctx) => {
      cancelOrder(core, parseCancelOrderRequest(body), callerOf(ctx));
      return {};
    },
  },
  [ES2P_PATHS.releaseProfile]: {
    fn: 'releaseProfile',
    es2: true,
    run: (core, body, ctx) => {
      releaseProfile(core, parseReleaseProfileRequest(body), callerOf(ctx));
      return {};
    },
  },
};

export interface HttpHooks {
  /** set the misbehaviour (control endpoint) */
  setMisbehaviour(m: Misbehaviour): Promise<void>;
}

function callerOf(ctx: RequestContext): Es2Caller | undefined {
  return ctx.requester === undefined ? undefined : { requester: ctx.requester };
}

/** The request's X-Admin-Protocol when it is a gsma/rsp/v2.x.y value, else undefined. */
function adminProtocol(req: http.IncomingMessage): string | undefined {
  const v = req.headers['x-admin-protocol'];
  return typeof v === 'string' && ADMIN_PROTOCOL_RE.test(v) ? v : undefined;
}

function send(res: http.ServerResponse, status: number, body: string | undefined, protocol: string): void {
  const headers: Record<string, string> = { 'X-Admin-Protocol': protocol };
  if (body !== undefined) {
    headers['Content-Type'] = JSON_CONTENT_TYPE;
    headers['Content-Length'] = String(Buffer.byteLength(body));
  }
  res.writeHead(status, headers);
  res.end(body);
}

function failure(status: StatusCode, message: string): string {
  return JSON.stringify(failed(status, { message: safeText(message, MAX_RESPONSE_MESSAGE) }));
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** The client went away (or was cut off by a time-out) before its request was complete. */
class RequestAbortedError extends Error {
  override readonly name = 'RequestAbortedError';
}

function readBody(req: http.IncomingMessage, maxBody: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.byteLength;
      if (size > maxBody) {
        reject(new RspFunctionError(SMDP_STATUS.InvalidRequest, `request body larger than ${maxBody} bytes`, 413));
        // drop the rest of the body instead of destroying the socket (which lost the 413
        // answer: the client saw a connection reset); the 413 closes the connection
        req.removeAllListeners('data');
        req.resume();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      try {
        resolve(UTF8.decode(Buffer.concat(chunks)));
      } catch (e) {
        if (!(e instanceof TypeError)) throw e;
        // SGP.22 6.5.1: the body is UTF-8 JSON; a repaired body would be another request
        reject(new RspFunctionError(SMDP_STATUS.InvalidRequest, 'request body is not valid UTF-8', 400));
      }
    });
    req.on('error', (e) => reject(new RequestAbortedError(`request body not complete: ${e.message}`)));
  });
}

/** The request body, or undefined once a 400 (not UTF-8) or 413 (too large) has been sent. */
async function bodyOrAnswer(core: SmdpCore, req: http.IncomingMessage, res: http.ServerResponse, protocol: string): Promise<string | undefined> {
  try {
    return await readBody(req, core.options.limits.maxBodyBytes);
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

/**
 * The ES2+ caller: `{}` in test mode, `{ requester }` for a client certificate that verified
 * against the ES2+ CAs (its subject CN), undefined when the caller is not allowed.
 */
function es2Caller(core: SmdpCore, req: http.IncomingMessage): { requester?: string } | undefined {
  if (core.es2.mode === 'open') return {};
  const sock = req.socket as Partial<TLSSocket>;
  if (sock.encrypted !== true || sock.authorized !== true || typeof sock.getPeerCertificate !== 'function') return undefined;
  const raw = sock.getPeerCertificate().raw;
  try {
    return { requester: requesterOf(parseCert(new Uint8Array(raw))) };
  } catch (e) {
    if (e instanceof CertParseError || e instanceof SmdpConfigError) return undefined;
    throw e;
  }
}


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
  const text = await bodyOrAnswer(core, req, res, protocol);
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
      if (err instanceof RequestAbortedError) {
        // a slow or vanished client, not a fault of the server: nobody is left to answer
        core.log('info', `${req.method} ${req.url} from ${req.socket.remoteAddress ?? '?'}: ${err.message}`);
        res.destroy();
        return;
      }
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
  const requested = adminProtocol(req);
  const protocol = requested ?? DEFAULT_ADMIN_PROTOCOL;
  const route = (addressedToSmds(core, req) ? SMDS_ROUTES[path] : undefined) ?? ROUTES[path];
  if (!route) return send(res, 404, failure(SMDP_STATUS.InvalidRequest, `no function at ${path}`), protocol);
  if (req.method !== 'POST') return send(res, 405, failure(SMDP_STATUS.InvalidRequest, `${route.fn} is called with POST, not ${req.method}`), protocol);
  if (requested === undefined) {
    const v = req.headers['x-admin-protocol'];
    return send(res, 400, failure(SMDP_STATUS.InvalidRequest, `X-Admin-Protocol must be gsma/rsp/v2.x.y, got ${v === undefined ? 'none' : `'${String(v)}'`}`), protocol);
  }
  const ct = req.headers['content-type'];
  if (ct !== undefined && !/^application\/json\s*(;|$)/i.test(ct)) return send(res, 415, failure(SMDP_STATUS.InvalidRequest, `Content-Type must be application/json, got ${ct}`), protocol);
  const ctx: RequestContext = { clientAddress: req.socket.remoteAddress ?? '' };
  if (route.es2) {
    const caller = es2Caller(core, req);
    if (!caller) return send(res, 403, failure(SMDP_STATUS.NotAllowed, `ES2+ requires a client certificate of the ES2+ operator CA`), protocol);
    if (caller.requester !== undefined) ctx.requester = caller.requester;
  }

  const text = await bodyOrAnswer(core, req, res, protocol);
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
  if (applies && m.delayMs) {
    // a deliberately slow answer must not be cut by the idle time-out meant for slow clients
    req.socket.setTimeout(0);
    await sleep(m.delayMs);
  }
  if (applies && m.http500) {
    core.log('warn', `${route.fn}: answering HTTP 500 (misbehaviour)`);
    res.writeHead(500, { 'Content-Type': 'text/plain', 'X-Admin-Protocol': protocol });
    res.end('Internal Server Error');
    return;
  }

  let status = 200;
  let out: string | undefined;
  try {
    const result = route.run(core, body, ctx);
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
    res.writeHead(200, { 'Content-Type': JSON_CONTENT_TYPE, 'Content-Length': String(Buffer.byteLength(broken)), 'X-Admin-Protocol': protocol });
    res.end(broken);
    return;
  }
  send(res, status, out, protocol);
}
