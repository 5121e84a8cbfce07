// HTTPS transport of the LPA's ES9+ and ES11 calls (SGP.22 6.5.1, HTTP/JSON binding; 2.6.6
// TLS): POST of a JSON body to https://<address><path> with the RSP headers (User-Agent
// gsma-rsp-lpad, X-Admin-Protocol gsma/rsp/v2.x.y, Content-Type application/json), TLS 1.2+
// trusting only the configured CI certificates (default: the SGP.26 test CIs), SNI and
// certificate name = the SM-DP+/SM-DS host, optionally connecting somewhere else (a test
// server on 127.0.0.1). Every exchange is reported to an optional trace hook. The SM-DP+ is
// not trusted with the LPA's memory or time: a response larger than maxResponseBytes (by its
// Content-Length or as it streams in) and an exchange longer than timeoutMs end in an
// Es9TransportError ('too-large', 'timeout'), with the connection destroyed.
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { isIP } from 'node:net';
import { createSecureContext, type ConnectionOptions, type SecureContext } from 'node:tls';
import { certificatePem } from '../../certs/cert.ts';
import { loadCert } from '../../certs/store.ts';
import { RSP_HTTP_HEADERS } from '../rsp/json.ts';
import { Es9TransportError } from './errors.ts';

export const DEFAULT_ADMIN_PROTOCOL = 'gsma/rsp/v2.2.0';
export const DEFAULT_HTTP_TIMEOUT_MS = 30_000;
/**
 * Largest response body accepted. The largest ES9+ response is GetBoundProfilePackage: a
 * BPP is the profile package (tens to a few hundred KB) plus protection, base64 in JSON.
 */
export const DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024;
/** how much of a response body a trace or an error keeps */
const KEPT_BODY_CHARS = 64 * 1024;

/** Where to open the TCP connection instead of the address's host/port. */
export interface ConnectTarget {
  readonly host: string;
  readonly port: number;
}

/** An SM-DP+/SM-DS address ("host" or "host:port") split up; port defaults to 443. */
export interface RspAddress {
  readonly address: string;
  readonly hostname: string;
  readonly port: number;
}

export interface HttpRequestRecord {
  readonly method: 'POST';
  /** https://<address><path> */
  readonly url: string;
  readonly connectHost: string;
  readonly connectPort: number;
  readonly servername: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly startedAt: Date;
}

export interface HttpResponseRecord {
  /** undefined when no response arrived (error) */
  readonly status?: number;
  readonly headers: Readonly<Record<string, string | string[]>>;
  readonly body: string;
  readonly durationMs: number;
  /** transport error, when the exchange failed before a complete response */
  readonly error?: string;
}

export interface HttpTrace {
  onHttp(request: HttpRequestRecord, response: HttpResponseRecord): void;
}

export interface RspHttpOptions {
  /** trusted CA certificates (PEM text, possibly several, or DER); default the SGP.26 CI_NIST and CI_BRP */
  readonly ca?: string | Uint8Array | readonly (string | Uint8Array)[];
  /** connect to this host/port instead of the address (a map per address, or one target for all) */
  readonly connect?: ConnectTarget | ((address: RspAddress) => ConnectTarget | undefined);
  /** whole-exchange timeout (default 30 s) */
  readonly timeoutMs?: number;
  /** largest response body (default DEFAULT_MAX_RESPONSE_BYTES) */
  readonly maxResponseBytes?: number;
  readonly trace?: HttpTrace;
  /** X-Admin-Protocol value (default gsma/rsp/v2.2.0) */
  readonly adminProtocol?: string;
  /** User-Agent value (default gsma-rsp-lpad) */
  readonly userAgent?: string;
  /** lowest TLS version (default TLSv1.2) */
  readonly minTlsVersion?: 'TLSv1.2' | 'TLSv1.3';
}

export interface RawHttpResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[]>>;
  readonly body: string;
}

let defaultCaCache: string[] | undefined;

/** The SGP.26 test CIs (NIST and brainpool) as PEM: the rig's TLS trust anchors. */
export function defaultRspCa(): string[] {
  defaultCaCache ??= [certificatePem(loadCert('CI_NIST').der), certificatePem(loadCert('CI_BRP').der)];
  return defaultCaCache;
}

function caList(ca: RspHttpOptions['ca']): string[] {
  if (ca === undefined) return defaultRspCa();
  const items = typeof ca === 'string' || ca instanceof Uint8Array ? [ca] : ca;
  return items.map((c) => (typeof c === 'string' ? c : certificatePem(c)));
}

// TLS contexts by trust anchors and minimum version. Passing `ca` to every request made
// Node build a new SecureContext (parsing the CA certificates) for every ES9+ call.
const SECURE_CONTEXT_LIMIT = 32;
const secureContexts = new Map<string, SecureContext>();

function secureContextFor(ca: readonly string[], minVersion: 'TLSv1.2' | 'TLSv1.3'): SecureContext {
  const key = `${minVersion}\n${ca.join('\n')}`;
  let ctx = secureContexts.get(key);
  if (!ctx) {
    ctx = createSecureContext({ ca: [...ca], minVersion });
    secureContexts.set(key, ctx);
    if (secureContexts.size > SECURE_CONTEXT_LIMIT) secureContexts.delete(secureContexts.keys().next().value!);
  }
  return ctx;
}

/** Split "host[:port]" (an IPv6 literal in brackets is accepted). */
export function parseRspAddress(address: string): RspAddress {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[^:\s/]+)(?::(\d{1,5}))?$/.exec(address);
  if (!m) throw new RangeError(`'${address}' is not an SM-DP+/SM-DS address (host or host:port)`);
  const port = m[2] === undefined ? 443 : Number(m[2]);
  if (port < 1 || port > 65535) throw new RangeError(`'${address}': port ${port} outside 1..65535`);
  const hostname = m[1]!.startsWith('[') ? m[1]!.slice(1, -1) : m[1]!;
  return { address, hostname, port };
}

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

const TLS_CODE = /CERT|TLS|SSL|SELF_SIGNED|UNABLE_TO_|ALTNAME|HOSTNAME|EPROTO/;

/**
 * POST `body` (JSON text) to https://<address><path>. Resolves with any HTTP status;
 * rejects with Es9TransportError (problem 'timeout' | 'tls' | 'network') when no complete
 * response arrives. `fn` names the function in errors ('ES9+.initiateAuthentication').
 */
export function rspPost(fn: string, address: string, path: string, body: string, options: RspHttpOptions = {}): Promise<RawHttpResponse> {
  let target: RspAddress;
  try {
    target = parseRspAddress(address);
  } catch (e) {
    return Promise.reject(new Es9TransportError(fn, 'network', (e as Error).message, {}, { cause: e }));
  }
  const route = typeof options.connect === 'function' ? options.connect(target) : options.connect;
  const connectHost = route?.host ?? target.hostname;
  const connectPort = route?.port ?? target.port;
  const servername = target.hostname;
  const headers: Record<string, string> = {
    Host: target.port === 443 ? target.hostname : `${target.hostname}:${target.port}`,
    'User-Agent': options.userAgent ?? RSP_HTTP_HEADERS.lpaUserAgent,
    'X-Admin-Protocol': options.adminProtocol ?? DEFAULT_ADMIN_PROTOCOL,
    'Content-Type': RSP_HTTP_HEADERS.contentType,
    'Content-Length': String(Buffer.byteLength(body, 'utf8')),
  };
  const record: HttpRequestRecord = {
    method: 'POST',
    url: `https://${address}${path}`,
    connectHost,
    connectPort,
    servername,
    headers,
    body,
    startedAt: new Date(),
  };
  const timeoutMs = options.timeoutMs ?? DEFAULT_HTTP_TIMEOUT_MS;
  const started = performance.now();
  const trace = (response: Omit<HttpResponseRecord, 'durationMs'>): void => {
    options.trace?.onHttp(record, { ...response, durationMs: performance.now() - started });
  };

  return new Promise<RawHttpResponse>((resolve, reject) => {
    let settled = false;
    const fail = (err: Es9TransportError, partial?: { status?: number; headers?: Record<string, string | string[]>; body?: string }): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      trace({ ...(partial?.status !== undefined ? { status: partial.status } : {}), headers: partial?.headers ?? {}, body: partial?.body ?? '', error: err.message });
      reject(err);
    };
    // https.request hands these to tls.connect, secureContext included (its type omits it)
    const requestOptions: RequestOptions & Pick<ConnectionOptions, 'secureContext'> = {
      method: 'POST',
      host: connectHost,
      port: connectPort,
      path,
      headers,
      secureContext: secureContextFor(caList(options.ca), options.minTlsVersion ?? 'TLSv1.2'),
      // SNI must not carry an IP address (RFC 6066 3)
      ...(isIP(servername) === 0 ? { servername } : {}),
      rejectUnauthorized: true,
      agent: false,
    };
    const maxBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    const req = httpsRequest(
      requestOptions,
      (res) => {
        const chunks: Buffer[] = [];
        let received = 0;
        const resHeaders = res.headers as Record<string, string | string[]>;
        const tooLarge = (what: string): void => {
          const status = res.statusCode ?? 0;
          const err = new Es9TransportError(fn, 'too-large', `response from ${address} ${what}, over the ${maxBytes}-byte limit`, { httpStatus: status });
          fail(err, { status, headers: resHeaders, body: Buffer.concat(chunks).toString('utf8', 0, Math.min(received, KEPT_BODY_CHARS)) });
          req.destroy(err);
        };
        const declared = Number(res.headers['content-length']);
        if (Number.isFinite(declared) && declared > maxBytes) return tooLarge(`declares ${declared} bytes`);
        res.on('data', (c: Buffer) => {
          if (settled) return;
          received += c.byteLength;
          if (received > maxBytes) return tooLarge(`exceeds ${received} bytes`);
          chunks.push(c);
        });
        res.on('error', (err) => fail(new Es9TransportError(fn, 'network', `response aborted: ${err.message}`, { code: errorCode(err) ?? '' }, { cause: err })));
        res.on('close', () => {
          if (!res.complete) fail(new Es9TransportError(fn, 'network', `connection closed before the response from ${address} was complete`, { httpStatus: res.statusCode ?? 0 }));
        });
        res.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          trace({ status, headers: resHeaders, body: text });
          resolve({ status, headers: resHeaders, body: text });
        });
      },
    );
    const timer = setTimeout(() => {
      const err = new Es9TransportError(fn, 'timeout', `no complete response from ${address} within ${timeoutMs} ms`);
      fail(err);
      req.destroy(err);
    }, timeoutMs);
    req.on('error', (err) => {
      const code = errorCode(err);
      const problem = code !== undefined && TLS_CODE.test(code) ? 'tls' : 'network';
      const where = `${connectHost}:${connectPort}${connectHost !== target.hostname ? ` (for ${address})` : ''}`;
      fail(new Es9TransportError(fn, problem, `${problem === 'tls' ? 'TLS' : 'connection'} failure with ${where}: ${err.message}`, code !== undefined ? { code } : {}, { cause: err }));
    });
    req.end(body);
  });
}
