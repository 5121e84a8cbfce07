// Test fixtures for the SM-DP+ tests (SGP.22 5.3 ES2+ / 5.6 ES9+ over loopback HTTPS): a
// server in a fresh temporary data dir on an ephemeral port, ES2+ client identities (the
// data dir's operator client certificate, or one minted from the SGP.26 CI for the test-CA
// mode) with the matching request header, and a plain-HTTP operator endpoint that records
// ES2+.HandleDownloadProgressInfo callbacks.
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { issueTls } from '../../../certs/issue.ts';
import { startSmdp, type SmdpOptions, type SmdpServer } from '../server.ts';
import { postJson, type JsonReply } from '../https-json.ts';
import { localClientIdentity, LOCAL_OPERATOR_NAME } from '../es2-auth.ts';

export function tempDir(prefix = 'bridgelab-smdp-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Start an SM-DP+ on 127.0.0.1, ephemeral port, one entry per template unless `inventory` says otherwise. */
export async function startTestSmdp(dataDir: string, opts: Partial<SmdpOptions> = {}): Promise<SmdpServer> {
  return startSmdp({ dataDir, host: '127.0.0.1', port: 0, inventory: [{ template: 'TS48v2_SAIP2.3_NoBERTLV', count: 12 }, { template: 'TS48v4_SAIP2.3_BERTLV', count: 4 }], ...opts });
}

export interface OperatorIdentity {
  cert: string;
  key: string;
}

/** The client certificate of the server's data-dir operator CA (what `bridgelab smdp order` uses). */
export function operatorIdentity(server: Pick<SmdpServer, 'dataDir'>): OperatorIdentity {
  const id = localClientIdentity(server.dataDir);
  if (!id) throw new Error(`no ES2+ client identity in ${server.dataDir}/es2`);
  return { cert: id.cert, key: id.key };
}

/** A client certificate chained to the SGP.26 CI (accepted only with `es2TestCa`), named `host`. */
export async function sgp26ClientIdentity(host = 'operator.example.com'): Promise<OperatorIdentity> {
  const issued = await issueTls({ host, curve: 'P-256' });
  return { cert: issued.pem, key: issued.keyPem };
}

/** POST an ES2+ request over HTTPS (with `identity` as client certificate when given). */
export function es2Post(server: SmdpServer, path: string, body: unknown, identity?: OperatorIdentity): Promise<JsonReply> {
  return postJson(server.url + path, body, {
    ca: server.trustAnchorPem,
    servername: server.hostname,
    ...(identity ? { cert: identity.cert, key: identity.key } : {}),
  });
}

/** An ES2+ request header for `requester` (default the data dir's local operator). */
export function es2Header(requester: string = LOCAL_OPERATOR_NAME): { functionRequesterIdentifier: string; functionCallIdentifier: string } {
  return { functionRequesterIdentifier: requester, functionCallIdentifier: 'call-1' };
}

export const ES2_HEADER = es2Header();

export interface OperatorEndpoint {
  url: string;
  received: unknown[];
  /** resolves once `n` callbacks have arrived */
  waitFor(n: number, timeoutMs?: number): Promise<unknown[]>;
  close(): Promise<void>;
}

/** A loopback HTTP server answering 204 to every POST and keeping the JSON bodies. */
export async function operatorEndpoint(): Promise<OperatorEndpoint> {
  const received: unknown[] = [];
  const waiters: { n: number; resolve: (v: unknown[]) => void }[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown);
      res.writeHead(204).end();
      for (const w of waiters.filter((x) => received.length >= x.n)) w.resolve([...received]);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    waitFor: (n, timeoutMs = 5000) =>
      received.length >= n
        ? Promise.resolve([...received])
        : new Promise((resolve, reject) => {
            const t = setTimeout(() => reject(new Error(`only ${received.length} of ${n} callbacks after ${timeoutMs} ms`)), timeoutMs);
            waiters.push({ n, resolve: (v) => (clearTimeout(t), resolve(v)) });
          }),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
