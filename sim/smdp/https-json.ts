// Minimal JSON-over-HTTP(S) client used by the SM-DP+ (ES2+.HandleDownloadProgressInfo
// callbacks to the operator, SGP.22 5.3.5) and by `bridgelab smdp order` (ES2+ requests,
// 5.3.1-5.3.2): one request with the RSP headers (6.5.1: Content-Type application/json,
// X-Admin-Protocol gsma/rsp/v2.x.y), optional trust anchors, SNI name and client certificate.
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
  timeoutMs?: number;
  headers?: Record<string, string>;
}

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
  return new Promise((resolve, reject) => {
    const onResponse = (res: http.IncomingMessage): void => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: parseBody(text) });
      });
      res.on('error', (e) => reject(new HttpClientError(`reading the reply from ${url}: ${e.message}`)));
    };
    const common = { method, hostname: u.hostname, port: u.port || undefined, path: `${u.pathname}${u.search}`, headers, timeout: opts.timeoutMs ?? 30_000 };
    const req =
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
    if (!req) {
      reject(new HttpClientError(`unsupported URL scheme '${u.protocol}' in ${url}`));
      return;
    }
    req.on('timeout', () => req.destroy(new HttpClientError(`timeout after ${opts.timeoutMs ?? 30_000} ms posting to ${url}`, 'ETIMEDOUT')));
    req.on('error', (e: NodeJS.ErrnoException) => reject(e instanceof HttpClientError ? e : new HttpClientError(`${method} ${url}: ${e.message}`, e.code)));
    req.end(payload);
  });
}
