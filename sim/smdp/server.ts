// The test SM-DP+ as a running server (SGP.22 5.6 ES9+, 5.3 ES2+, 5.8 ES11 on one HTTPS port,
// TLS 1.2+ with a DPtls certificate chained to the SGP.26 CI, SNI for the SM-DS hostname,
// optional client certificates for ES2+ mutual TLS): startSmdp() opens the lmdb state in
// the data dir, creates the inventory on first start, and returns the public API: URL and
// addresses, activation codes, in-process ES2+ helpers, misbehaviour control, state
// inspection and close(). Plain HTTP only with `http: true`.
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import { formatActivationCode } from '../rsp/activation-code.ts';
import type { ConfirmOrderOkJson, DownloadOrderOkJson } from '../rsp/json.ts';
import { certificatePem } from '../../certs/cert.ts';
import { loadCert } from '../../certs/store.ts';
import type { ConfirmationCodeEncoding } from '../crypto/confirmation.ts';
import { SmdpConfigError, SmdpError } from './errors.ts';
import { SmdpDb, type EventRecord, type NotificationRecord, type OrderRecord, type ProfileRecord } from './db.ts';
import { SmdpCredentials, ensureTlsIdentity, expiredTlsIdentity, type TlsIdentity } from './credentials.ts';
import { addInventory, DEFAULT_PROFILES_DIR, defaultInventory, loadTemplates, personalisedUpp, type InventorySpec } from './inventory.ts';
import { checkOptions, DEFAULTS, randomBatch, SmdpCore, type ResolvedOptions, type SmdpLogger } from './core.ts';
import { ProgressNotifier, type ProgressDelivery } from './progress.ts';
import { parseMisbehaviour, type Misbehaviour } from './misbehaviour.ts';
import { requestListener } from './http.ts';
import { cancelOrder, confirmOrder, downloadOrder, releaseProfile, type CancelOrderInput, type ConfirmOrderInput, type DownloadOrderInput, type ReleaseProfileInput } from './es2p.ts';
import { validateMetadata, type MetadataOverrides } from './metadata.ts';
import type { SessionRecord } from './session.ts';

export interface SmdpOptions {
  /** directory for the lmdb database and the TLS key/certificate (created 0700) */
  dataDir: string;
  /** listen address (default 127.0.0.1) */
  host?: string;
  /** listen port (default 8443; 0 for an ephemeral port) */
  port?: number;
  /** SM-DP+ hostname: TLS certificate, address checks, activation codes (default testsmdpplus1.example.com) */
  hostname?: string;
  /** embedded SM-DS hostname (default testsmds.example.com; same port, selected by SNI) */
  smdsHostname?: string;
  /** plaintext bytes per '86' BPP segment (default 1020) */
  segmentSize?: number;
  /** protect the profile with random PPKs and ReplaceSessionKeys (default true) */
  replaceSessionKeys?: boolean;
  /** plain HTTP instead of HTTPS (explicit opt-in) */
  http?: boolean;
  /** ES2+ accepts any client (no client certificate check) */
  testMode?: boolean;
  /** operator base URL for ES2+.HandleDownloadProgressInfo callbacks */
  operatorCallbackUrl?: string;
  /** PEM CA(s) of the operator: accepted for ES2+ client certificates and trusted for callbacks */
  operatorCa?: string | string[];
  /** wrong confirmation codes allowed per order (default 3) */
  ccRetryLimit?: number;
  /** download attempts (AuthenticateClient) allowed per order (default 5) */
  downloadRetryLimit?: number;
  /** order lifetime from DownloadOrder (default 7 days) */
  orderTtlMs?: number;
  /** directory of template profiles (default sim/smdp/profiles) */
  profilesDir?: string;
  /** inventory created on first start (default: 2 entries per template) */
  inventory?: InventorySpec[];
  /** confirmation code bytes: 'ascii' (lpac, default) or 'hex' */
  ccEncoding?: ConfirmationCodeEncoding;
  /** misbehaviour switches active from the start */
  misbehaviour?: Misbehaviour;
  /** clock (ms since epoch), for expiry tests */
  now?: () => number;
  /** log sink (default: silent); never receives key material */
  log?: SmdpLogger;
}

/** Which order an activation code is asked for. */
export type OrderRef = string | { iccid: string } | { matchingId: string };

export interface OrderResult {
  iccid: string;
  matchingId: string;
  eid?: string;
  activationCode: string;
}

/** In-process ES2+ (SGP.22 5.3); failures throw RspFunctionError with the ES2+ status. */
export interface Es2Helpers {
  downloadOrder(req: DownloadOrderInput): DownloadOrderOkJson;
  confirmOrder(req: ConfirmOrderInput): ConfirmOrderOkJson;
  cancelOrder(req: CancelOrderInput): void;
  releaseProfile(req: ReleaseProfileInput): void;
  /** downloadOrder then confirmOrder (released unless `release: false`) */
  order(opts?: { iccid?: string; profileType?: string; eid?: string; matchingId?: string; confirmationCode?: string; release?: boolean }): OrderResult;
}

/** Misbehaviour switches at run time. */
export interface SmdpControl {
  get(): Misbehaviour;
  /** replace all switches */
  set(m: Misbehaviour): Promise<void>;
  /** change the given switches, keep the others */
  update(m: Misbehaviour): Promise<void>;
  reset(): Promise<void>;
}

export interface SmdpInventory {
  list(): ProfileRecord[];
  get(iccid: string): ProfileRecord | undefined;
  add(spec: InventorySpec): ProfileRecord[];
  setMetadata(iccid: string, metadata: MetadataOverrides): ProfileRecord;
  templates(): string[];
  /** the UPP an entry is bound from (template with its ICCID/IMSI) */
  personalisedUpp(iccid: string): Uint8Array;
}

export interface SmdpState {
  /** the current (or last) order of a profile */
  order(iccid: string): OrderRecord | undefined;
  orders(): OrderRecord[];
  session(transactionId: string): SessionRecord | undefined;
  sessions(): SessionRecord[];
  notifications(): NotificationRecord[];
  events(): EventRecord[];
  /** ES2+.HandleDownloadProgressInfo calls made so far */
  progress(): ProgressDelivery[];
}

export interface SmdpServer {
  /** base URL to connect to, e.g. https://127.0.0.1:8443 */
  readonly url: string;
  readonly port: number;
  /** SM-DP+ address for activation codes and notifications: hostname[:port] */
  readonly address: string;
  readonly smdsAddress: string;
  readonly hostname: string;
  readonly smdsHostname: string;
  readonly smdpOid: string;
  /** PEM of the CI the TLS certificate chains to (trust anchor for clients) */
  readonly trustAnchorPem: string;
  readonly dataDir: string;
  activationCodeFor(order: OrderRef): string;
  readonly es2: Es2Helpers;
  readonly control: SmdpControl;
  readonly inventory: SmdpInventory;
  readonly state: SmdpState;
  /** wait for queued operator callbacks */
  flush(): Promise<void>;
  close(): Promise<void>;
}

function resolveOptions(o: SmdpOptions): ResolvedOptions {
  if (typeof o.dataDir !== 'string' || o.dataDir === '') throw new SmdpConfigError('dataDir is required');
  const r: ResolvedOptions = {
    dataDir: resolve(o.dataDir),
    host: o.host ?? DEFAULTS.host,
    port: o.port ?? DEFAULTS.port,
    hostname: o.hostname ?? DEFAULTS.hostname,
    smdsHostname: o.smdsHostname ?? DEFAULTS.smdsHostname,
    segmentSize: o.segmentSize ?? DEFAULTS.segmentSize,
    replaceSessionKeys: o.replaceSessionKeys ?? DEFAULTS.replaceSessionKeys,
    http: o.http ?? false,
    testMode: o.testMode ?? false,
    ccRetryLimit: o.ccRetryLimit ?? DEFAULTS.ccRetryLimit,
    downloadRetryLimit: o.downloadRetryLimit ?? DEFAULTS.downloadRetryLimit,
    orderTtlMs: o.orderTtlMs ?? DEFAULTS.orderTtlMs,
    profilesDir: o.profilesDir ?? DEFAULT_PROFILES_DIR,
    ccEncoding: o.ccEncoding ?? 'ascii',
    ...(o.operatorCallbackUrl !== undefined ? { operatorCallbackUrl: o.operatorCallbackUrl } : {}),
  };
  checkOptions(r);
  return r;
}

/** Start a test SM-DP+ (HTTPS unless `http`), with its embedded SM-DS. */
export async function startSmdp(options: SmdpOptions): Promise<SmdpServer> {
  const opts = resolveOptions(options);
  const initialMisbehaviour = options.misbehaviour === undefined ? {} : parseMisbehaviour(options.misbehaviour);
  const log: SmdpLogger = options.log ?? (() => undefined);
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  const credentials = new SmdpCredentials();
  const templates = loadTemplates(opts.profilesDir);
  const clock = options.now ?? Date.now;

  const db = SmdpDb.open(opts.dataDir, randomBatch);
  try {
    if (db.profiles.count() === 0) addInventory(db, templates, options.inventory ?? defaultInventory(templates, DEFAULTS.inventoryPerTemplate), clock());

    const ciPems = credentials.trustedCis.map((c) => certificatePem(c.cert!.der));
    const operatorCas = options.operatorCa === undefined ? [] : Array.isArray(options.operatorCa) ? options.operatorCa : [options.operatorCa];
    let smdpTls: TlsIdentity | undefined;
    let smdsTls: TlsIdentity | undefined;
    if (!opts.http) {
      smdpTls = await ensureTlsIdentity(opts.dataDir, opts.hostname);
      smdsTls = await ensureTlsIdentity(opts.dataDir, opts.smdsHostname);
    }
    const progress = new ProgressNotifier(
      opts.operatorCallbackUrl,
      credentials.smdpOid,
      { ...(operatorCas.length ? { ca: operatorCas } : {}), ...(smdpTls ? smdpTls.contextOptions() : {}) },
      (m) => log('warn', m),
      clock,
    );
    const core = new SmdpCore(opts, db, credentials, templates, progress, log, clock);

    // TLS contexts, swappable at run time (expired DPtls misbehaviour)
    const ca = [...ciPems, ...operatorCas];
    const tlsBase = { minVersion: 'TLSv1.2' as const, ca };
    let expiredTls: TlsIdentity | undefined;
    let smdpCtx = smdpTls ? tls.createSecureContext({ ...tlsBase, ...smdpTls.contextOptions() }) : undefined;
    const smdsCtx = smdsTls ? tls.createSecureContext({ ...tlsBase, ...smdsTls.contextOptions() }) : undefined;

    let server: http.Server | https.Server;
    const applyMisbehaviour = async (m: Misbehaviour): Promise<void> => {
      const wanted = m.expiredCertificates ?? [];
      if (wanted.includes('dpauth') || wanted.includes('dppb')) await credentials.prepareExpired();
      if (smdpTls && server instanceof https.Server) {
        const identity = wanted.includes('dptls') ? (expiredTls ??= await expiredTlsIdentity(opts.hostname)) : smdpTls;
        smdpCtx = tls.createSecureContext({ ...tlsBase, ...identity.contextOptions() });
        server.setSecureContext({ ...tlsBase, ...identity.contextOptions() });
      }
      core.misbehaviour = m;
      log('info', `misbehaviour: ${JSON.stringify(m)}`);
    };
    const listener = requestListener(core, { setMisbehaviour: applyMisbehaviour });
    if (opts.http) server = http.createServer(listener);
    else
      server = https.createServer(
        {
          ...tlsBase,
          ...smdpTls!.contextOptions(),
          // ES2+ mutual TLS: ask for a client certificate, judge it per request (ES9+/ES11 clients have none)
          requestCert: !opts.testMode,
          rejectUnauthorized: false,
          SNICallback: (servername, cb) => cb(null, servername.toLowerCase() === opts.smdsHostname.toLowerCase() ? smdsCtx : smdpCtx),
        },
        listener,
      );
    await applyMisbehaviour(initialMisbehaviour);

    await new Promise<void>((ok, fail) => {
      server.once('error', fail);
      server.listen(opts.port, opts.host, () => {
        server.off('error', fail);
        ok();
      });
    });
    server.on('error', (e) => log('error', `server: ${e.message}`));
    const port = (server.address() as AddressInfo).port;
    core.boundPort = port;
    const hostForUrl = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
    const url = `${opts.http ? 'http' : 'https'}://${hostForUrl}:${port}`;
    log('info', `SM-DP+ ${opts.hostname} (SM-DS ${opts.smdsHostname}) listening on ${url}`);

    const activationCodeFor = (ref: OrderRef): string => {
      let order: OrderRecord | undefined;
      if (typeof ref === 'string') order = core.db.profiles.get(ref) ? orderOfIccid(ref) : core.orderByMatchingId(ref);
      else if ('iccid' in ref) order = orderOfIccid(ref.iccid);
      else order = core.orderByMatchingId(ref.matchingId);
      if (!order) throw new SmdpError(`no order for ${JSON.stringify(ref)}`);
      if (!order.matchingId && !order.eid) throw new SmdpError(`order ${order.orderId} has neither a MatchingID nor an EID: it cannot be downloaded yet`);
      return formatActivationCode({ format: 1, smdpAddress: core.address, ...(order.matchingId ? { matchingId: order.matchingId } : {}), confirmationCodeRequired: order.ccHash !== undefined });
    };
    const orderOfIccid = (iccid: string): OrderRecord | undefined => {
      const p = core.db.profiles.get(iccid);
      return p ? core.orderOfProfile(p) : undefined;
    };

    const es2: Es2Helpers = {
      downloadOrder: (req) => downloadOrder(core, req),
      confirmOrder: (req) => confirmOrder(core, req),
      cancelOrder: (req) => cancelOrder(core, req),
      releaseProfile: (req) => releaseProfile(core, req),
      order: (o = {}) => {
        const { iccid } = downloadOrder(core, { ...(o.iccid !== undefined ? { iccid: o.iccid } : {}), ...(o.profileType !== undefined ? { profileType: o.profileType } : {}), ...(o.eid !== undefined ? { eid: o.eid } : {}) });
        const c = confirmOrder(core, {
          iccid,
          releaseFlag: o.release ?? true,
          ...(o.eid !== undefined ? { eid: o.eid } : {}),
          ...(o.matchingId !== undefined ? { matchingId: o.matchingId } : {}),
          ...(o.confirmationCode !== undefined ? { confirmationCode: o.confirmationCode } : {}),
        });
        return { iccid, matchingId: c.matchingId, ...(c.eid !== undefined ? { eid: c.eid } : {}), activationCode: activationCodeFor({ iccid }) };
      },
    };

    const control: SmdpControl = {
      get: () => structuredClone(core.misbehaviour),
      set: (m) => applyMisbehaviour(parseMisbehaviour(m)),
      update: (m) => applyMisbehaviour(parseMisbehaviour({ ...core.misbehaviour, ...m })),
      reset: () => applyMisbehaviour({}),
    };

    const inventory: SmdpInventory = {
      list: () => core.db.profiles.values(),
      get: (iccid) => core.db.profiles.get(iccid),
      add: (spec) => addInventory(db, templates, [spec], clock()),
      setMetadata: (iccid, metadata) => {
        validateMetadata(metadata);
        return db.tx(() => {
          const p = db.profiles.get(iccid);
          if (!p) throw new SmdpError(`no profile ${iccid}`);
          const next = { ...p, metadata, updatedAt: clock() };
          db.profiles.put(iccid, next);
          return next;
        });
      },
      templates: () => [...templates.keys()],
      personalisedUpp: (iccid) => {
        const p = db.profiles.get(iccid);
        if (!p) throw new SmdpError(`no profile ${iccid}`);
        return personalisedUpp(templates, p);
      },
    };

    const state: SmdpState = {
      order: (iccid) => {
        const p = db.profiles.get(iccid);
        return p?.orderId ? db.orders.get(p.orderId) : [...db.orders.values()].filter((o) => o.iccid === iccid).sort((a, b) => b.createdAt - a.createdAt)[0];
      },
      orders: () => db.orders.values(),
      session: (transactionId) => db.sessions.get(transactionId.toUpperCase()),
      sessions: () => db.sessions.values(),
      notifications: () => db.notifications.values(),
      events: () => db.events.values(),
      progress: () => [...progress.deliveries],
    };

    let closing: Promise<void> | undefined;
    const close = (): Promise<void> =>
      (closing ??= (async () => {
        await new Promise<void>((done) => {
          server.close(() => done());
          server.closeAllConnections();
        });
        await progress.flush();
        await db.close();
        log('info', 'SM-DP+ stopped');
      })());

    return {
      url,
      port,
      get address() {
        return core.address;
      },
      get smdsAddress() {
        return core.smdsAddress;
      },
      hostname: opts.hostname,
      smdsHostname: opts.smdsHostname,
      smdpOid: credentials.smdpOid,
      trustAnchorPem: certificatePem(loadCert('CI_NIST').der),
      dataDir: opts.dataDir,
      activationCodeFor,
      es2,
      control,
      inventory,
      state,
      flush: () => progress.flush(),
      close,
    };
  } catch (e) {
    await db.close();
    throw e;
  }
}
