// The test SM-DP+ as a running server (SGP.22 5.6 ES9+, 5.3 ES2+, 5.8 ES11 on one HTTPS port,
// TLS 1.2+ with a DPtls certificate chained to the SGP.26 CI, SNI for the SM-DS hostname,
// client certificates of the ES2+ operator CA for ES2+ mutual TLS, es2-auth.ts): startSmdp()
// checks the data dir (data-dir.ts: an earlier SM-DP+'s database must be there and intact),
// binds the port, then opens the lmdb state, creates the inventory (and the initial orders)
// of a new data dir in one transaction, and only then writes the TLS and ES2+ identities and
// the state marker, so a start that fails leaves the data dir as it was. Every connection is
// bounded (HttpLimits: header and body size, header/request/idle/handshake time-outs, a
// connection cap) and every record has a lifetime (retention.ts, swept periodically). It
// returns the public API: URL and addresses, activation codes, in-process ES2+ helpers,
// misbehaviour control, state inspection, sweep() and close(). Plain HTTP only with `http: true`.
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import { formatActivationCode } from '../rsp/activation-code.ts';
import type { ConfirmOrderOkJson, DownloadOrderOkJson } from '../rsp/json.ts';
import { certificatePem } from '../../certs/cert.ts';
import { loadCert } from '../../certs/store.ts';
import type { ConfirmationCodeEncoding } from '../crypto/confirmation.ts';
import { SmdpConfigError, SmdpError } from './errors.ts';
import { SmdpDb, type EventRecord, type MetaRecord, type NotificationRecord, type OrderRecord, type ProfileRecord } from './db.ts';
import { SmdpCredentials, prepareTlsIdentity, expiredTlsIdentity, type TlsIdentity } from './credentials.ts';
import { addInventory, checkInventory, DEFAULT_PROFILES_DIR, defaultInventory, loadTemplates, personalisedUpp, type InventorySpec } from './inventory.ts';
import { checkOptions, DEFAULTS, randomBatch, SmdpCore, type ResolvedOptions, type SmdpLogger } from './core.ts';
import { ProgressNotifier, type ProgressDelivery } from './progress.ts';
import { parseMisbehaviour, type Misbehaviour } from './misbehaviour.ts';
import { DEFAULT_LIMITS, requestListener, type HttpLimits } from './http.ts';
import { inspectDataDir, removeState } from './data-dir.ts';
import { prepareEs2Auth, type Es2Mode } from './es2-auth.ts';
import { DEFAULT_RETENTION, sweep, type RetentionPolicy, type SweepResult } from './retention.ts';
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
  /** ES2+ accepts any client (no client certificate check): test only */
  testMode?: boolean;
  /** ES2+ also accepts client certificates of the SGP.26 CI, whose key is public: test rigs only */
  es2TestCa?: boolean;
  /** operator base URL for ES2+.HandleDownloadProgressInfo callbacks */
  operatorCallbackUrl?: string;
  /**
   * PEM CA(s) of the operator: the only ones accepted for ES2+ client certificates, and
   * trusted for callbacks. Without it the data dir's own operator CA is used (es2/).
   */
  operatorCa?: string | string[];
  /** discard the database of the data dir and start with a new inventory */
  reset?: boolean;
  /** released orders created at start, with a new inventory in the same transaction */
  initialOrders?: number;
  /** connection and request bounds (default DEFAULT_LIMITS) */
  limits?: Partial<HttpLimits>;
  /** record lifetimes and caps (default DEFAULT_RETENTION) */
  retention?: Partial<RetentionPolicy>;
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
  /** ES2+.HandleDownloadProgressInfo calls made so far (the last 1000) */
  progress(): ProgressDelivery[];
  /** rejected notifications by reason, and records removed by the retention rule */
  counters(): Pick<MetaRecord, 'rejectedNotifications' | 'removed'>;
  /** run the start-up checks of every record now (SmdpStateError when one fails) */
  check(): void;
}

export interface SmdpServer {
  /** base URL to connect to, e.g. https://127.0.0.1:8443 */
  readonly url: string;
  /** how ES2+ clients authenticate, and the line saying so */
  readonly es2Auth: { readonly mode: Es2Mode; readonly sgp26Accepted: boolean; readonly description: string };
  readonly limits: Readonly<HttpLimits>;
  readonly retention: Readonly<RetentionPolicy>;
  /** apply the retention rule now (it also runs every retention.sweepIntervalMs) */
  sweep(): SweepResult;
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
    limits: { ...DEFAULT_LIMITS, ...o.limits },
    retention: { ...DEFAULT_RETENTION, ...o.retention },
    initialOrders: o.initialOrders ?? 0,
    ...(o.operatorCallbackUrl !== undefined ? { operatorCallbackUrl: o.operatorCallbackUrl } : {}),
  };
  checkOptions(r);
  return r;
}

/** The node:http options and properties of HttpLimits. */
function applyLimits(server: http.Server, limits: HttpLimits, onDrop: () => void): void {
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.timeout = limits.idleTimeoutMs;
  server.maxConnections = limits.maxConnections;
  server.on('drop', onDrop);
}

function nodeServerOptions(limits: HttpLimits): http.ServerOptions {
  // requestTimeout and headersTimeout are enforced by a periodic check of every connection
  return { maxHeaderSize: limits.maxHeaderBytes, connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(limits.requestTimeoutMs / 4))) };
}

/** Start a test SM-DP+ (HTTPS unless `http`), with its embedded SM-DS. */
export async function startSmdp(options: SmdpOptions): Promise<SmdpServer> {
  const opts = resolveOptions(options);
  const initialMisbehaviour = options.misbehaviour === undefined ? {} : parseMisbehaviour(options.misbehaviour);
  const log: SmdpLogger = options.log ?? (() => undefined);
  const clock = options.now ?? Date.now;
  const templates = loadTemplates(opts.profilesDir);
  const inventorySpec = options.inventory ?? defaultInventory(templates, DEFAULTS.inventoryPerTemplate);
  const newEntries = checkInventory(templates, inventorySpec);
  // nothing is written before these checks pass
  const dirState = inspectDataDir(opts.dataDir, options.reset === true);
  if (dirState.kind === 'new' && opts.initialOrders > newEntries) throw new SmdpConfigError(`${opts.initialOrders} initial orders, but the new inventory has ${newEntries} profiles`);
  const credentials = new SmdpCredentials();
  const warn = (m: string): void => log('warn', m);
  const smdpTls = opts.http ? undefined : await prepareTlsIdentity(opts.dataDir, opts.hostname, warn);
  const smdsTls = opts.http ? undefined : await prepareTlsIdentity(opts.dataDir, opts.smdsHostname, warn);
  const es2Auth = await prepareEs2Auth(opts.dataDir, {
    ...(options.operatorCa !== undefined ? { operatorCa: options.operatorCa } : {}),
    ...(options.es2TestCa ? { es2TestCa: true } : {}),
    ...(opts.testMode ? { testMode: true } : {}),
  });
  const operatorCas = options.operatorCa === undefined ? [] : Array.isArray(options.operatorCa) ? options.operatorCa : [options.operatorCa];

  // TLS contexts, swappable at run time (expired DPtls misbehaviour); `ca` is what ES2+ client certificates must chain to
  const tlsBase = { minVersion: 'TLSv1.2' as const, ca: [...es2Auth.cas] };
  let expiredTls: TlsIdentity | undefined;
  let smdpCtx = smdpTls ? tls.createSecureContext({ ...tlsBase, ...smdpTls.identity.contextOptions() }) : undefined;
  const smdsCtx = smdsTls ? tls.createSecureContext({ ...tlsBase, ...smdsTls.identity.contextOptions() }) : undefined;
  const limits = opts.limits;
  const server: http.Server | https.Server = opts.http
    ? http.createServer(nodeServerOptions(limits))
    : https.createServer({
        ...nodeServerOptions(limits),
        ...tlsBase,
        ...smdpTls!.identity.contextOptions(),
        handshakeTimeout: limits.handshakeTimeoutMs,
        // ES2+ mutual TLS: ask for a client certificate, judge it per request (ES9+/ES11 clients have none)
        requestCert: es2Auth.mode !== 'open',
        rejectUnauthorized: false,
        SNICallback: (servername, cb) => cb(null, servername.toLowerCase() === opts.smdsHostname.toLowerCase() ? smdsCtx : smdpCtx),
      });
  let drops = 0;
  applyLimits(server, limits, () => {
    drops++;
    if (Number.isInteger(Math.log10(drops))) log('warn', `connection refused: ${limits.maxConnections} connections open (${drops} refused so far)`);
  });
  // bind first: a port in use fails the start before anything is written
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port, opts.host, () => {
      server.off('error', fail);
      ok();
    });
  });
  server.on('error', (e) => log('error', `server: ${e.message}`));
  const port = (server.address() as AddressInfo).port;

  let db: SmdpDb | undefined;
  let progress: ProgressNotifier | undefined;
  try {
    if (dirState.kind === 'new' && dirState.reset) removeState(opts.dataDir);
    db = SmdpDb.open({ state: dirState, batch: randomBatch, clock });
    const opened = db;
    progress = new ProgressNotifier(
      opts.operatorCallbackUrl,
      credentials.smdpOid,
      { ...(operatorCas.length ? { ca: operatorCas } : {}), ...(smdpTls ? smdpTls.identity.contextOptions() : {}) },
      warn,
      clock,
    );
    const core = new SmdpCore(opts, opened, credentials, templates, progress, es2Auth, log, clock);
    core.boundPort = port;
    opened.tx(() => {
      if (opened.created) addInventory(opened, templates, inventorySpec, clock());
      const available = opened.profiles.values().filter((p) => p.state === 'Available').length;
      if (opts.initialOrders > available) throw new SmdpConfigError(`${opts.initialOrders} initial orders, but the inventory has ${available} Available profiles`);
      for (let i = 0; i < opts.initialOrders; i++) {
        const { iccid } = downloadOrder(core, {});
        confirmOrder(core, { iccid, releaseFlag: true });
      }
    });
    smdpTls?.persist();
    smdsTls?.persist();
    es2Auth.persist();
    opened.writeMarker();
    const swept = sweep(opened, opts.retention, clock());
    if (swept.sessions + swept.notifications + swept.orders) log('info', `retention: removed ${swept.sessions} session(s), ${swept.notifications} notification(s), ${swept.orders} order(s)`);

    const applyMisbehaviour = async (m: Misbehaviour): Promise<void> => {
      const wanted = m.expiredCertificates ?? [];
      if (wanted.includes('dpauth') || wanted.includes('dppb')) await credentials.prepareExpired();
      if (smdpTls && server instanceof https.Server) {
        const identity = wanted.includes('dptls') ? (expiredTls ??= await expiredTlsIdentity(opts.hostname)) : smdpTls.identity;
        smdpCtx = tls.createSecureContext({ ...tlsBase, ...identity.contextOptions() });
        server.setSecureContext({ ...tlsBase, ...identity.contextOptions() });
      }
      core.misbehaviour = m;
      log('info', `misbehaviour: ${JSON.stringify(m)}`);
    };
    await applyMisbehaviour(initialMisbehaviour);
    server.on('request', requestListener(core, { setMisbehaviour: applyMisbehaviour }));
    const sweeper =
      opts.retention.sweepIntervalMs > 0
        ? setInterval(() => {
            try {
              sweep(opened, opts.retention, clock());
            } catch (e) {
              log('error', `retention sweep: ${e instanceof Error ? e.message : String(e)}`);
            }
          }, opts.retention.sweepIntervalMs).unref()
        : undefined;
    const hostForUrl = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
    const url = `${opts.http ? 'http' : 'https'}://${hostForUrl}:${port}`;
    log('info', `SM-DP+ ${opts.hostname} (SM-DS ${opts.smdsHostname}) listening on ${url}`);
    log(es2Auth.mode === 'open' || es2Auth.sgp26Accepted ? 'warn' : 'info', es2Auth.description);

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
      add: (spec) => addInventory(opened, templates, [spec], clock()),
      setMetadata: (iccid, metadata) => {
        validateMetadata(metadata);
        return opened.tx(() => {
          const p = opened.profiles.get(iccid);
          if (!p) throw new SmdpError(`no profile ${iccid}`);
          const next = { ...p, metadata, updatedAt: clock() };
          opened.profiles.put(iccid, next);
          return next;
        });
      },
      templates: () => [...templates.keys()],
      personalisedUpp: (iccid) => {
        const p = opened.profiles.get(iccid);
        if (!p) throw new SmdpError(`no profile ${iccid}`);
        return personalisedUpp(templates, p);
      },
    };

    const state: SmdpState = {
      order: (iccid) => {
        const p = opened.profiles.get(iccid);
        return p?.orderId ? opened.orders.get(p.orderId) : [...opened.orders.values()].filter((o) => o.iccid === iccid).sort((a, b) => b.createdAt - a.createdAt)[0];
      },
      orders: () => opened.orders.values(),
      session: (transactionId) => opened.sessions.get(transactionId.toUpperCase()),
      sessions: () => opened.sessions.values(),
      notifications: () => opened.notifications.values(),
      events: () => opened.events.values(),
      progress: () => [...core.progress.deliveries],
      check: () => opened.verify(),
      counters: () => {
        const m = opened.meta();
        return { rejectedNotifications: { ...m.rejectedNotifications }, removed: { ...m.removed } };
      },
    };

    let closing: Promise<void> | undefined;
    const close = (): Promise<void> =>
      (closing ??= (async () => {
        await new Promise<void>((done) => {
          server.close(() => done());
          server.closeAllConnections();
        });
        if (sweeper) clearInterval(sweeper);
        await core.progress.flush();
        await opened.close();
        log('info', 'SM-DP+ stopped');
      })());

    return {
      url,
      es2Auth: { mode: es2Auth.mode, sgp26Accepted: es2Auth.sgp26Accepted, description: es2Auth.description },
      limits,
      retention: opts.retention,
      sweep: () => sweep(opened, opts.retention, clock()),
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
      flush: () => core.progress.flush(),
      close,
    };
  } catch (e) {
    await new Promise<void>((done) => {
      server.close(() => done());
      server.closeAllConnections();
    });
    await progress?.flush();
    await db?.close();
    throw e;
  }
}
