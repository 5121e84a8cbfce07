// Campaign `smdp`: malformed requests into every ES9+ (SGP.22 5.6 / 6.5.2.6-10), ES11
// (5.8) and ES2+ (5.3, test mode: no client certificate) endpoint of the test SM-DP+ over
// loopback HTTPS (startSmdp, SGP.26 CI as trust anchor): truncated and damaged JSON, wrong
// types, huge and deep fields, invalid base64, valid base64 of mutated DER (from the
// sim/rsp samples and, in session episodes, from a real InitiateAuthentication and the
// test eUICC's signed AuthenticateServerResponse), odd paths, methods and content types.
//
// Checked per request: an answer within the watchdog, never HTTP 500 (except in the one
// episode in 16 that turns the HTTP 500 misbehaviour switch on); HTTP 200 carries a header.functionExecutionStatus whose Failed /
// Expired statusCodeData is a defined subject/reason (sim/rsp/json.ts Status, SMDP_STATUS);
// 204 only for handleNotification; 400 only with a Failed body (non-JSON body, or a
// malformed/missing field: http.ts); 403/404/405/413/415 only for requests that call for
// them. The inventory (profile states) changes only with an Executed-Success ES2+ answer.
// After every episode a valid InitiateAuthentication must succeed.
import { Agent, request } from 'node:https';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode } from '../../sim/rsp/der.ts';
import { bytesToBase64, ES2P_PATHS, ES9P_PATHS, EXECUTION_STATUSES, type InitiateAuthenticationOkJson, Status } from '../../sim/rsp/json.ts';
import { codecs } from '../../sim/rsp/registry.ts';
import { samples } from '../../sim/rsp/testdata/samples.ts';
import { SMDP_STATUS } from '../../sim/smdp/errors.ts';
import { ES11_PATHS } from '../../sim/smdp/http.ts';
import { startSmdp, type SmdpServer } from '../../sim/smdp/server.ts';
import { TestEuicc } from '../../sim/smdp/testing/euicc-sim.ts';
import type { Campaign, CampaignContext } from '../harness.ts';
import { shortText, Watchdog, WatchdogTimeout } from '../harness.ts';
import { type Json, mutateJson, mutateJsonText } from '../json-mutate.ts';
import { mutateDer } from '../mutate.ts';
import { Rng } from '../prng.ts';

export const SMDP_EPISODE = 32;
const REQUEST_TIMEOUT_MS = 15_000;
const DEFINED_CODES = new Set([...Object.values(Status), ...Object.values(SMDP_STATUS)].map((s) => `${s.subjectCode}/${s.reasonCode}`));
const ES2_PATHS = new Set<string>([ES2P_PATHS.downloadOrder, ES2P_PATHS.confirmOrder, ES2P_PATHS.cancelOrder, ES2P_PATHS.releaseProfile]);
const ROUTES = new Set<string>([...Object.values(ES9P_PATHS), ...Object.values(ES11_PATHS), ...ES2_PATHS]);
const HEADER = { functionRequesterIdentifier: 'fuzz-operator', functionCallIdentifier: 'call-1' };

const b64 = (name: string): string => bytesToBase64(encode(codecs[name]!, samples[name]));

interface Seed {
  readonly path: string;
  readonly body: Json;
  /** base64 fields of the body with the DER they hold (mutated as DER) */
  readonly der: Readonly<Record<string, string>>;
}

function seeds(server: SmdpServer, euicc: TestEuicc): Seed[] {
  const ia = euicc.initiateAuthenticationBody(server.address) as Record<string, Json>;
  const es11 = euicc.initiateAuthenticationBody(server.smdsAddress, 'smdsAddress') as Record<string, Json>;
  const iccid = server.inventory.list()[0]?.iccid ?? '89000123456789012341';
  const tx = '0123456789ABCDEF0123456789ABCDEF';
  return [
    { path: ES9P_PATHS.initiateAuthentication, body: ia, der: { euiccInfo1: 'EUICCInfo1' } },
    { path: ES9P_PATHS.authenticateClient, body: { transactionId: tx, authenticateServerResponse: b64('AuthenticateServerResponse') }, der: { authenticateServerResponse: 'AuthenticateServerResponse' } },
    { path: ES9P_PATHS.getBoundProfilePackage, body: { transactionId: tx, prepareDownloadResponse: b64('PrepareDownloadResponse') }, der: { prepareDownloadResponse: 'PrepareDownloadResponse' } },
    { path: ES9P_PATHS.handleNotification, body: { pendingNotification: b64('ProfileInstallationResult') }, der: { pendingNotification: 'ProfileInstallationResult' } },
    { path: ES9P_PATHS.handleNotification, body: { pendingNotification: b64('OtherSignedNotification') }, der: { pendingNotification: 'OtherSignedNotification' } },
    { path: ES9P_PATHS.cancelSession, body: { transactionId: tx, cancelSessionResponse: b64('CancelSessionResponse') }, der: { cancelSessionResponse: 'CancelSessionResponse' } },
    { path: ES11_PATHS.initiateAuthentication, body: es11, der: { euiccInfo1: 'EUICCInfo1' } },
    { path: ES11_PATHS.authenticateClient, body: { transactionId: tx, authenticateServerResponse: b64('AuthenticateServerResponse') }, der: { authenticateServerResponse: 'AuthenticateServerResponse' } },
    // ES2+: valid shapes on unknown or unavailable profiles (mutations may make them succeed)
    { path: ES2P_PATHS.downloadOrder, body: { header: HEADER, iccid: '89000123450000009999', eid: '89049032123451234512345678901235' }, der: {} },
    { path: ES2P_PATHS.confirmOrder, body: { header: HEADER, iccid, matchingId: 'FUZZ-1', releaseFlag: true }, der: {} },
    { path: ES2P_PATHS.cancelOrder, body: { header: HEADER, iccid, finalProfileStatusIndicator: 'Available' }, der: {} },
    { path: ES2P_PATHS.releaseProfile, body: { header: HEADER, iccid }, der: {} },
  ];
}

interface Reply {
  status: number;
  text: string;
}

class Client {
  private readonly agent: Agent;
  constructor(readonly server: SmdpServer) {
    this.agent = new Agent({ keepAlive: true, maxSockets: 1, ca: server.trustAnchorPem });
  }

  send(path: string, body: string, o: { method?: string; contentType?: string | null; smds?: boolean } = {}): Promise<Reply> {
    const u = new URL(this.server.url);
    const payload = Buffer.from(body, 'utf8');
    const headers: Record<string, string> = { 'Content-Length': String(payload.byteLength), 'X-Admin-Protocol': 'gsma/rsp/v2.2.0', 'User-Agent': 'gsma-rsp-lpad' };
    if (o.contentType !== null) headers['Content-Type'] = o.contentType ?? 'application/json';
    return new Promise((resolve, reject) => {
      const req = request(
        { method: o.method ?? 'POST', hostname: u.hostname, port: u.port, path, headers, agent: this.agent, servername: o.smds ? this.server.smdsHostname : this.server.hostname },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Profile states of the inventory, for the "unchanged" invariant. */
function inventoryKey(server: SmdpServer): string {
  return server.inventory
    .list()
    .map((p) => `${p.iccid}:${p.state}`)
    .sort()
    .join(',');
}

/** What an answer must look like; returns the rejection class, or throws a description of a violation. */
export function judge(path: string, sent: { method: string; contentType: string | null; bodyBytes: number }, r: Reply): { cls: string; success: boolean } {
  const body = ((): unknown => {
    if (r.text === '') return undefined;
    try {
      return JSON.parse(r.text) as unknown;
    } catch (e) {
      if (e instanceof SyntaxError) throw new Error(`HTTP ${r.status} with a body that is not JSON: ${r.text.slice(0, 100)}`);
      throw e;
    }
  })();
  const fes = (body as { header?: { functionExecutionStatus?: { status?: unknown; statusCodeData?: { subjectCode?: unknown; reasonCode?: unknown } } } } | undefined)?.header?.functionExecutionStatus;
  const failedCode = (): string => {
    if (!fes || (fes.status !== 'Failed' && fes.status !== 'Expired')) throw new Error(`HTTP ${r.status} without a Failed functionExecutionStatus: ${r.text.slice(0, 160)}`);
    const code = `${String(fes.statusCodeData?.subjectCode)}/${String(fes.statusCodeData?.reasonCode)}`;
    if (!DEFINED_CODES.has(code)) throw new Error(`undefined subject/reason ${code}`);
    return code;
  };
  switch (r.status) {
    case 200: {
      if (!fes || !EXECUTION_STATUSES.includes(fes.status as never)) throw new Error(`HTTP 200 without a functionExecutionStatus: ${r.text.slice(0, 160)}`);
      if (fes.status === 'Executed-Success' || fes.status === 'Executed-WithWarning') return { cls: `200 ${String(fes.status)}`, success: true };
      return { cls: `200 ${failedCode()}`, success: false };
    }
    case 204:
      if (path !== ES9P_PATHS.handleNotification) throw new Error(`HTTP 204 from ${path}`);
      return { cls: '204 handleNotification', success: true };
    case 400:
      return { cls: `400 ${failedCode()}`, success: false };
    case 403:
      throw new Error(`HTTP 403 in test mode: ${r.text.slice(0, 120)}`);
    case 404:
      if (ROUTES.has(path)) throw new Error(`HTTP 404 for the function path ${path}`);
      return { cls: '404 no function', success: false };
    case 405:
      if (sent.method === 'POST') throw new Error('HTTP 405 for a POST');
      return { cls: '405 method', success: false };
    case 413:
      if (sent.bodyBytes <= 1 << 20) throw new Error(`HTTP 413 for a body of ${sent.bodyBytes} bytes`);
      return { cls: '413 too large', success: false };
    case 415:
      if (sent.contentType === null || /^application\/json\s*(;|$)/i.test(sent.contentType)) throw new Error(`HTTP 415 for Content-Type ${sent.contentType}`);
      return { cls: '415 content type', success: false };
    case 500:
      throw new Error(`HTTP 500: ${r.text.slice(0, 160)}`);
    default:
      throw new Error(`unexpected HTTP ${r.status}`);
  }
}

/** A mutated request of the episode. */
function buildRequest(rng: Rng, all: readonly Seed[], session: Seed[]): { path: string; text: string; method: string; contentType: string | null; smds: boolean } {
  const seed = session.length && rng.chance(0.5) ? rng.pick(session) : rng.pick(all);
  let body: Json = seed.body;
  const mode = rng.weighted<'valid' | 'json' | 'der' | 'text'>([
    ['valid', 1],
    ['json', 5],
    ['der', 4],
    ['text', 2],
  ]);
  if (mode === 'der' && Object.keys(seed.der).length) {
    const field = rng.pick(Object.keys(seed.der));
    const current = (body as Record<string, Json>)[field];
    if (typeof current === 'string') {
      const mutated = mutateDer(rng, new Uint8Array(Buffer.from(current, 'base64')), undefined, 3).bytes;
      body = { ...(body as Record<string, Json>), [field]: bytesToBase64(mutated) };
    }
  } else if (mode === 'json' || mode === 'der') body = mutateJson(rng, body, Object.keys(samples).slice(0, 40).map(b64));
  let text = JSON.stringify(body);
  if (mode === 'text') text = mutateJsonText(rng, text);
  if (rng.chance(0.005)) text = `{"pad":"${'A'.repeat((1 << 20) + 10)}"}`;
  const path = rng.chance(0.03) ? rng.pick([seed.path + '/', seed.path.toUpperCase(), '/gsma/rsp2/es9plus/', '/gsma/rsp2/es9plus/unknown', `${seed.path}?x=1`, '/', '/%zz', '/gsma/rsp2/es2plus/handleDownloadProgressInfo']) : seed.path;
  const method = rng.chance(0.02) ? rng.pick(['GET', 'PUT', 'DELETE', 'PATCH']) : 'POST';
  const contentType = rng.chance(0.03) ? rng.pick([null, 'text/plain', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'application/jsonx', '']) : 'application/json';
  return { path, text, method, contentType, smds: path.includes('/es11/') };
}

/** BRIDGELAB_FUZZ_DUMP=<dir>: the whole request of each finding goes to <dir>/smdp-<iteration>.json (findings only show its start). */
function dump(i: number, req: { path: string; text: string; method: string; contentType: string | null }): void {
  const dir = process.env['BRIDGELAB_FUZZ_DUMP'];
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `smdp-${i}.json`), JSON.stringify(req));
}

export const smdpCampaign: Campaign = {
  name: 'smdp',
  description: 'malformed JSON/DER into every ES9+/ES11/ES2+ endpoint of the test SM-DP+ over loopback HTTPS',
  defaultIterations: 3200,
  weight: 90,
  episodeLength: SMDP_EPISODE,
  unit: 'request',
  async run(ctx: CampaignContext) {
    const dataDir = mkdtempSync(join(tmpdir(), 'bridgelab-fuzz-smdp-'));
    const errors: string[] = [];
    const server = await startSmdp({
      dataDir,
      host: '127.0.0.1',
      port: 0,
      testMode: true,
      inventory: [{ template: 'TS48v2_SAIP2.3_NoBERTLV', count: 6 }],
      log: (level, message) => {
        if (level === 'error') errors.push(message);
      },
    });
    const client = new Client(server);
    const euicc = new TestEuicc();
    const watchdog = new Watchdog(REQUEST_TIMEOUT_MS);
    try {
      const all = seeds(server, euicc);
      let inventory = inventoryKey(server);
      for (let episode = ctx.from / SMDP_EPISODE; episode * SMDP_EPISODE < ctx.to; episode++) {
        if (Date.now() > ctx.deadline) break;
        const rng = Rng.for(ctx.seed, 'smdp', episode);
        // session episodes: a real InitiateAuthentication, then the test eUICC's signed answer as a seed
        const session: Seed[] = [];
        if (rng.chance(0.3)) {
          const r = await client.send(ES9P_PATHS.initiateAuthentication, JSON.stringify(euicc.initiateAuthenticationBody(server.address)));
          const init = (r.status === 200 ? JSON.parse(r.text) : {}) as Partial<InitiateAuthenticationOkJson>;
          if (r.status === 200 && init.transactionId) {
            const asr = euicc.authenticateServer(init as InitiateAuthenticationOkJson, { matchingId: rng.pick(['FUZZ-1', 'ABC', '']) });
            session.push({ path: ES9P_PATHS.authenticateClient, body: { transactionId: init.transactionId, authenticateServerResponse: bytesToBase64(asr.der) }, der: { authenticateServerResponse: 'AuthenticateServerResponse' } });
            session.push({ path: ES9P_PATHS.cancelSession, body: { transactionId: init.transactionId, cancelSessionResponse: bytesToBase64(euicc.cancelSession(rng.int(6), server.smdpOid)) }, der: { cancelSessionResponse: 'CancelSessionResponse' } });
          } else ctx.stats.violation(episode * SMDP_EPISODE, `a valid InitiateAuthentication failed: HTTP ${r.status} ${r.text.slice(0, 160)}`);
        }
        // one episode in 16 with the HTTP 500 misbehaviour switch on: then (and only then) 500 is right
        const http500 = rng.chance(1 / 16);
        if (http500) await server.control.set({ http500: true });
        for (let k = 0; k < SMDP_EPISODE; k++) {
          const i = episode * SMDP_EPISODE + k;
          ctx.heartbeat(i);
          ctx.stats.count();
          const req = buildRequest(rng, all, session);
          const shown = `${req.method} ${req.path} ${shortText(req.text)}`;
          errors.length = 0;
          let reply: Reply;
          try {
            reply = await watchdog.run(client.send(req.path, req.text, { method: req.method, contentType: req.contentType, smds: req.smds }));
          } catch (e) {
            if (e instanceof WatchdogTimeout) ctx.stats.hang(i, `no HTTP answer within ${e.ms} ms`, shown);
            else ctx.stats.crash(i, e, shown);
            continue;
          }
          let verdict: { cls: string; success: boolean };
          if (http500 && reply.status === 500 && reply.text === 'Internal Server Error') {
            ctx.stats.reject('500 (misbehaviour switch on)');
            continue;
          }
          try {
            verdict = judge(req.path, { method: req.method, contentType: req.contentType, bodyBytes: Buffer.byteLength(req.text) }, reply);
          } catch (e) {
            const what = `${(e as Error).message}${errors.length ? ` (server log: ${errors.join(' | ')})` : ''}`;
            dump(i, req);
            if (reply.status === 500) ctx.stats.crash(i, new Error(what), shown);
            else ctx.stats.violation(i, what, shown);
            continue;
          }
          if (verdict.success) ctx.stats.accept();
          else ctx.stats.reject(verdict.cls);
          const now = inventoryKey(server);
          if (now !== inventory) {
            if (!(verdict.success && ES2_PATHS.has(req.path))) ctx.stats.violation(i, `inventory changed by ${req.path} answered ${verdict.cls}`, shown);
            inventory = now;
          }
        }
        if (http500) await server.control.reset();
        // the server keeps serving valid requests
        const check = await client.send(ES9P_PATHS.initiateAuthentication, JSON.stringify(euicc.initiateAuthenticationBody(server.address)));
        if (check.status !== 200 || !check.text.includes('Executed-Success')) ctx.stats.violation(episode * SMDP_EPISODE + SMDP_EPISODE - 1, `a valid InitiateAuthentication after the episode answered HTTP ${check.status} ${check.text.slice(0, 160)}`);
      }
    } finally {
      watchdog.stop();
      client.close();
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  },
};
