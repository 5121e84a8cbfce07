// Minimal JSON-over-HTTP(S) client used by the SM-DP+ (ES2+.HandleDownloadProgressInfo
// callbacks to the operator, SGP.22 5.3.5) and by `bridgelab smdp order` (ES2+ requests,
// 5.3.1-5.3.2): one request with the RSP headers (6.5.1: Content-Type application/json,
// X-Admin-Protocol gsma/rsp/v2.x.y), optional trust anchors, SNI name and client certificate.
// The peer is not trusted with memory or time: a reply over maxResponseBytes (declared or
// streamed) or not complete within timeoutMs is an HttpClientError and the connection is
// destroyed.
import http from 'node:http';
import https from 'node:https';
import { SmdpError } from './errors.ts';

export const ADMIN_PROTOCOL = 'gsma/rsp/v2.2.0';

export interface PostJsonOptions {
  /** PEM trust anchors for https (default: Node's) */
  ca?: string | string[];
  /** TLS server name (SNI and certificate check) when connecting by IP address */
  servername?: string;
  /** client certificate and key (PEM) for mutual TLS */
  cert?: string;
  key?: string;
  /** the whole exchange, connection to last byte (default 30 s) */
  timeoutMs?: number;
  /** largest reply body (default 1 MiB) */
  maxResponseBytes?: number;
  /** local address to connect from (tests of per-client behaviour on loopback) */
  localAddress?: string;
  headers?: Record<string, string>;
}

export const DEFAULT_JSON_TIMEOUT_MS = 30_000;
export const DEFAULT_JSON_MAX_RESPONSE_BYTES = 1 << 20;

export interface JsonReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** raw body text */
  text: string;
  /** parsed body, undefined when empty or not JSON */
  json: unknown;
}

export class HttpClientError extends SmdpError {
  override readonly name = 'HttpClientError';
  constructor(
    message: string,
    /** the socket error code, or ETIMEDOUT / ETOOLARGE for the limits above */
    readonly code?: string,
  ) {
    super(message);
  }
}

function parseBody(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    if (e instanceof SyntaxError) return undefined; // callers look at `text` for non-JSON bodies
    throw e;
  }
}

/** POST `body` as JSON and collect the reply. Network/TLS failures are HttpClientError. */
export function postJson(url: string, body: unknown, opts: PostJsonOptions = {}): Promise<JsonReply> {
  return requestJson('POST', url, body, opts);
}

/** One HTTP(S) request with an optional JSON body. */
export function requestJson(method: string, url: string, body: unknown, opts: PostJsonOptions = {}): Promise<JsonReply> {
  const u = new URL(url);
  const payload = body === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(body), 'utf8');
  const headers = {
    ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
    'Content-Length': String(payload.byteLength),
    'X-Admin-Protocol': ADMIN_PROTOCOL,
    ...opts.headers,
  };
  const timeoutMs = opts.timeoutMs ?? DEFAULT_JSON_TIMEOUT_MS;
  const maxBytes = opts.maxResponseBytes ?? DEFAULT_JSON_MAX_RESPONSE_BYTES;
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (f: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      f();
    };
    const fail = (e: HttpClientError): void => {
      settle(() => reject(e));
      req?.destroy();
    };
    const onResponse = (res: http.IncomingMessage): void => {
      const chunks: Buffer[] = [];
      let received = 0;
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > maxBytes) return fail(new HttpClientError(`the reply from ${url} declares ${declared} bytes, over the ${maxBytes}-byte limit`, 'ETOOLARGE'));
      res.on('data', (c: Buffer) => {
        received += c.byteLength;
        if (received > maxBytes) return fail(new HttpClientError(`the reply from ${url} exceeds ${maxBytes} bytes`, 'ETOOLARGE'));
        chunks.push(c);
      });
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        settle(() => resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: parseBody(text) }));
      });
      res.on('error', (e) => fail(new HttpClientError(`reading the reply from ${url}: ${e.message}`)));
    };
    const common = {
      method,
      hostname: u.hostname,
      port: u.port || undefined,
      path: `${u.pathname}${u.search}`,
      headers,
      timeout: timeoutMs,
      ...(opts.localAddress !== undefined ? { localAddress: opts.localAddress } : {}),
    };
    const req: http.ClientRequest | undefined =
      u.protocol === 'https:'
        ? https.request(
            {
              ...common,
              ...(opts.ca !== undefined ? { ca: opts.ca } : {}),
              ...(opts.servername !== undefined ? { servername: opts.servername } : {}),
              ...(opts.cert !== undefined ? { cert: opts.cert } : {}),
              ...(opts.key !== undefined ? { key: opts.key } : {}),
              minVersion: 'TLSv1.2',
              agent: false,
            },
            onResponse,
          )
        : u.protocol === 'http:'
          ? http.request({ ...common, agent: false }, onResponse)
          : undefined;
    const deadline = setTimeout(() => fail(new HttpClientError(`no complete reply from ${url} within ${timeoutMs} ms`, 'ETIMEDOUT')), timeoutMs);
    if (!req) {
      fail(new HttpClientError(`unsupported URL scheme '${u.protocol}' in ${url}`));
      return;
    }
    req.on('timeout', () => fail(new HttpClientError(`no data from ${url} for ${timeoutMs} ms`, 'ETIMEDOUT')));
    req.on('error', (e: NodeJS.ErrnoException) => fail(e instanceof HttpClientError ? e : new HttpClientError(`${method} ${url}: ${e.message}`, e.code)));
    req.end(payload);
  });
}
