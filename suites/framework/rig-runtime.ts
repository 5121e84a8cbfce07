// Brings a rig to life for the suites: the parts the rig simulates (software
// eUICC, fake modem on a real PTY, reference bridge or a vendor's bridge process,
// embedded SM-DP+) are started here, and the real ones (bridge at host:port, card
// eUICC behind a real modem) are only connected to. Every hop the rig can see is
// tapped into the current case's Trace: LPA<->bridge APDUs (vpcd), AT lines (fake
// modem side), modem<->card APDUs (emulated card), ES9+/ES11 HTTP, and the bridge's own
// output (an external bridge's stdout/stderr, the built-in bridge's trace events).
import { setTimeout as sleep } from 'node:timers/promises';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApduTransport } from '../../sim/apdu/apdu.ts';
import { createEuicc, type Euicc } from '../../sim/euicc/euicc.ts';
import type { EuiccOptions } from '../../sim/euicc/options.ts';
import { startPtyModem, type PtyModem } from '../../sim/modem/serial.ts';
import type { VirtualModem } from '../../sim/modem/modem.ts';
import { startBridge, type Bridge, type BridgeOptions } from '../../sim/bridge/bridge.ts';
import { connectVpcdReader, listenVpcdReader, type VpcdReaderTransport } from '../../sim/lpa/vpcd-transport.ts';
import { Lpa, type LpaOptions } from '../../sim/lpa/flows.ts';
import type { RspHttpOptions } from '../../sim/lpa/rsp-http.ts';
import type { Es10Options } from '../../sim/lpa/es10.ts';
import { lpaEs10Options, openPcscSession, type PcscSession } from './lpa-path.ts';
import { describeFinding } from '../../sim/rsp/der.ts';
import { startSmdp, type SmdpOptions, type SmdpServer } from '../../sim/smdp/index.ts';
import { BRIDGE_LOG_SOURCE, Trace } from '../../sim/trace/trace.ts';
import { writeFileAtomic } from '../../sim/store/atomic-file.ts';
import type { SuiteEnv } from './env.ts';
import { externalBridgeIdentity, hostIdentity, toolIdentity, type BridgeIdentity, type ModemIdentityRecord, type RigIdentity } from './identity.ts';

export interface RigParts {
  euicc?: EuiccOptions;
  smdp?: Partial<Omit<SmdpOptions, 'dataDir'>>;
  bridge?: Partial<Omit<BridgeOptions, 'serial' | 'listen' | 'connect' | 'onTrace' | 'log'>>;
}

export interface LpaHandle {
  lpa: Lpa;
  /** the vpcd reader link, or the PC/SC reader on rig lpa.path 'pcsc' */
  transport: ApduTransport & { readonly isOpen: boolean };
  close(): Promise<void>;
}

export interface ConnectOptions {
  commandTimeoutMs?: number;
  /** connect even while the bridge still serves another LPA (second-LPA cases) */
  whileBusy?: boolean;
}

/** Called before each C-APDU the LPA sends to the bridge; may act (interrupt) before it goes out. */
export type ApduHook = (capdu: Uint8Array) => Promise<void> | void;

export interface OpenLpaOptions extends LpaOptions {
  es10?: Es10Options;
  /** runs before every C-APDU (through the bridge, not around it) */
  beforeApdu?: ApduHook;
  commandTimeoutMs?: number;
}

/** A bridge process the rig launched that exited, or never listened, before serving an LPA. */
export class BridgeStartError extends Error {
  override readonly name = 'BridgeStartError';
  constructor(
    message: string,
    /** the exit code (null: still running, did not listen in time) */
    readonly exitCode: number | null,
    /** its last output lines */
    readonly output: readonly string[],
  ) {
    super(message);
  }
}

export class RigRuntime {
  /** the trace of the case being run (cases replace it) */
  trace = new Trace();
  euicc: Euicc | undefined;
  modem: VirtualModem | undefined;
  smdp: SmdpServer | undefined;
  bridge: Bridge | undefined;
  private pty: PtyModem | undefined;
  private bridgeProcess: ChildProcess | undefined;
  private bridgeLog: string[] = [];
  private lpaPort = 0;
  private readonly tmp = mkdtempSync(join(tmpdir(), 'bridgelab-rig-'));
  private readonly cleanups: (() => Promise<void>)[] = [];

  private constructor(
    readonly env: SuiteEnv,
    private readonly parts: RigParts,
  ) {}

  static async start(env: SuiteEnv, parts: RigParts = {}): Promise<RigRuntime> {
    const rt = new RigRuntime(env, parts);
    try {
      await rt.startParts();
    } catch (err) {
      await rt.close();
      throw err;
    }
    return rt;
  }

  get personality(): string {
    return this.env.personality;
  }

  /** The EID of the rig's card, when the rig knows it (emulated card, or euicc.eid of a card rig). */
  get cardEid(): string | undefined {
    const e = this.env.rig.euicc;
    return this.euicc?.eid ?? (e.kind === 'card' ? e.eid : undefined);
  }

  /** vpcd address of the bridge when it listens for the LPA */
  bridgeAddress: { host: string; port: number } | undefined;

  private async startParts(): Promise<void> {
    const { rig } = this.env;
    if (rig.smdp.kind === 'embedded') {
      this.smdp = await startSmdp({ dataDir: join(this.tmp, 'smdp'), host: rig.smdp.bind, port: 0, hostname: rig.smdp.hostname, ...this.parts.smdp });
      this.cleanups.push(() => this.smdp!.close());
    }
    if (rig.euicc.kind === 'emulated') {
      this.euicc = await this.newEuicc();
    }
    if (rig.modem.kind === 'fake') {
      if (!this.euicc) throw new Error('a fake modem needs the emulated eUICC behind it');
      const card = this.cardTransport();
      this.pty = await startPtyModem({
        personality: this.env.personality,
        transport: card,
        baud: rig.modem.baud ?? null,
        timeScale: rig.modem.timeScale,
        onTrace: (e) => {
          if (e.kind === 'line') this.trace.add({ kind: 'at', direction: 'to-modem', line: e.line });
          else if (e.kind === 'response' || e.kind === 'urc') this.trace.add({ kind: 'at', direction: 'from-modem', line: e.text.trim() });
        },
      });
      this.modem = this.pty.modem;
      this.cleanups.push(() => this.pty!.close());
    }
    await this.startBridgePart();
  }

  /** a peer's BER that is not DER, accepted by the eUICC: a finding in the case trace */
  private traceFindings(e: Euicc): Euicc {
    e.events.on('finding', (f) => this.trace.log('finding', `eUICC ${f.source}: ${describeFinding(f.finding)}`));
    return e;
  }

  private async newEuicc(): Promise<Euicc> {
    const rig = this.env.rig;
    if (rig.euicc.kind !== 'emulated') throw new Error('no emulated eUICC on this rig');
    const e = await createEuicc({
      statePath: join(this.tmp, `euicc-${Date.now()}-${Math.random().toString(16).slice(2)}.json`),
      identity: rig.euicc.identity,
      svn: rig.euicc.svn,
      ...(rig.euicc.freeNvmBytes ? { totalNvm: rig.euicc.freeNvmBytes } : {}),
      ...(this.smdp ? { defaultDpAddress: this.smdp.address, rootDsAddress: this.smdp.smdsAddress } : {}),
      ...this.parts.euicc,
    });
    return this.traceFindings(e);
  }

  /** The card as the modem sees it, tapped on the modem-card hop; follows euicc replacement. */
  private cardTransport(): ApduTransport {
    return {
      transmit: async (c) => {
        const start = performance.now();
        const r = await this.euicc!.transmit(c);
        this.trace.add({ kind: 'apdu', hop: 'modem-card', command: c, response: r, ms: performance.now() - start });
        return r;
      },
      reset: async () => {
        const atr = await this.euicc!.reset();
        this.trace.add({ kind: 'atr', hop: 'modem-card', atr });
        return atr;
      },
      close: async () => {},
    };
  }

  private async startBridgePart(): Promise<void> {
    const { rig } = this.env;
    const b = rig.bridge;
    if (b.kind === 'builtin') {
      if (!this.pty) throw new Error('the built-in bridge needs a fake modem PTY (or use bridge kind "running" on a real rig)');
      this.bridge = await startBridge({
        serial: { path: this.pty.path, baudRate: rig.modem.kind === 'fake' ? (rig.modem.baud ?? 115200) : 115200 },
        listen: { host: '127.0.0.1', port: 0 },
        onTrace: (e) => {
          if (e.type === 'decision' || e.type === 'modem' || e.type === 'bridge' || e.type === 'lpa') this.trace.log(BRIDGE_LOG_SOURCE, JSON.stringify(e));
        },
        ...this.parts.bridge,
      });
      this.bridgeAddress = { host: '127.0.0.1', port: this.bridge.address!.port };
      this.cleanups.push(async () => {
        await this.bridge?.close();
        this.bridge = undefined;
      });
    } else if (b.kind === 'running') {
      const i = b.address.lastIndexOf(':');
      this.bridgeAddress = { host: b.address.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(b.address.slice(i + 1)) };
    } else {
      // registered first: a bridge that never listens is still stopped when the start fails
      this.cleanups.push(() => this.stopExternalBridge());
      await this.launchExternalBridge();
    }
  }

  private async launchExternalBridge(): Promise<void> {
    const b = this.env.rig.bridge;
    if (b.kind !== 'external' || !this.pty) throw new Error('an external bridge needs a fake modem PTY');
    const port = b.lpaLink === 'bridge-listens' ? await freePort() : (this.lpaPort ||= await freePort());
    const baud = this.env.rig.modem.kind === 'fake' ? (this.env.rig.modem.baud ?? 115200) : 115200;
    const command = b.command.replaceAll('{tty}', this.pty.path).replaceAll('{baud}', String(baud)).replaceAll('{port}', String(port)).replaceAll('{host}', '127.0.0.1');
    this.bridgeLog = [];
    const child = spawn('/bin/sh', ['-c', `exec ${command}`], { cwd: b.cwd ?? process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] });
    this.bridgeProcess = child;
    const keep = (d: Buffer) => {
      const lines = d.toString().split('\n').map((l) => l.replace(/\r$/, '')).filter(Boolean);
      // the bridge's output while a case runs is evidence of that case (bridge.log)
      for (const line of lines) this.trace.log(BRIDGE_LOG_SOURCE, line);
      this.bridgeLog.push(...lines);
      if (this.bridgeLog.length > 2000) this.bridgeLog.splice(0, this.bridgeLog.length - 2000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    if (b.lpaLink === 'bridge-listens') {
      this.bridgeAddress = { host: '127.0.0.1', port };
      await waitForPort('127.0.0.1', port, b.startupTimeoutMs, child, () => this.bridgeLog.slice(-5));
    }
  }

  private async stopExternalBridge(): Promise<void> {
    const child = this.bridgeProcess;
    this.bridgeProcess = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }

  /** Stop the bridge (process killed, or the built-in one closed): the LPA loses its link. */
  async stopBridge(): Promise<void> {
    if (this.env.rig.bridge.kind === 'builtin') {
      await this.bridge?.close();
      this.bridge = undefined;
    } else if (this.env.rig.bridge.kind === 'external') await this.stopExternalBridge();
    else throw new Error('the rig cannot stop a bridge it does not run');
  }

  async startBridge(): Promise<void> {
    if (this.env.rig.bridge.kind === 'builtin') {
      const rig = this.env.rig;
      this.bridge = await startBridge({
        serial: { path: this.pty!.path, baudRate: rig.modem.kind === 'fake' ? (rig.modem.baud ?? 115200) : 115200 },
        listen: { host: '127.0.0.1', port: this.bridgeAddress!.port },
        onTrace: (e) => {
          if (e.type === 'decision' || e.type === 'modem' || e.type === 'bridge' || e.type === 'lpa') this.trace.log(BRIDGE_LOG_SOURCE, JSON.stringify(e));
        },
        ...this.parts.bridge,
      });
    } else if (this.env.rig.bridge.kind === 'external') await this.launchExternalBridge();
    else throw new Error('the rig cannot start a bridge it does not run');
  }

  /** Replace the emulated card with a new one (clean state), as a card swap seen by the modem. */
  async freshCard(options: EuiccOptions = {}): Promise<Euicc> {
    if (!this.euicc) throw new Error('no emulated eUICC on this rig');
    const old = this.euicc;
    const next = await createEuicc({
      statePath: join(this.tmp, `euicc-${Date.now()}-${Math.random().toString(16).slice(2)}.json`),
      identity: this.env.rig.euicc.kind === 'emulated' ? this.env.rig.euicc.identity : 'both',
      svn: this.env.rig.euicc.kind === 'emulated' ? this.env.rig.euicc.svn : '2.5.0',
      ...(this.env.rig.euicc.kind === 'emulated' && this.env.rig.euicc.freeNvmBytes ? { totalNvm: this.env.rig.euicc.freeNvmBytes } : {}),
      ...(this.smdp ? { defaultDpAddress: this.smdp.address, rootDsAddress: this.smdp.smdsAddress } : {}),
      ...this.parts.euicc,
      ...options,
    });
    this.euicc = this.traceFindings(next);
    await old.close();
    return next;
  }

  /**
   * Wait until the built-in bridge serves no LPA: after an LPA disconnects the bridge still
   * closes its channels on the modem (+CCHC), and a connection arriving meanwhile would be
   * held or refused as a second LPA. An external or remote bridge gives no such signal:
   * nothing to wait for there (connectPowered retries a refused connection instead).
   */
  async bridgeIdle(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.bridge?.activeLpa !== undefined) {
      if (Date.now() > deadline) throw new Error(`the bridge still serves LPA ${this.bridge?.activeLpa} after ${timeoutMs} ms`);
      await sleep(5);
    }
    await this.modem?.settled();
  }

  /**
   * Open a vpcd connection to the bridge as the LPA, tapped on the lpa-bridge hop. Waits for
   * the bridge to be idle first, unless `whileBusy` (the cases about a second LPA).
   */
  async connectLpa(opts: ConnectOptions = {}): Promise<VpcdReaderTransport> {
    if (!opts.whileBusy) await this.bridgeIdle();
    const trace = {
      onApdu: (capdu: Uint8Array, rapdu: Uint8Array) => this.trace.add({ kind: 'apdu', hop: 'lpa-bridge', command: capdu, response: rapdu, ms: 0 }),
      onControl: (control: string, answer?: Uint8Array) => {
        if (answer) this.trace.add({ kind: 'atr', hop: 'lpa-bridge', atr: answer });
        else this.trace.log('vpcd', `control ${control}`);
      },
    };
    const b = this.env.rig.bridge;
    const options = { commandTimeoutMs: opts.commandTimeoutMs ?? 60_000, trace };
    if (b.kind !== 'builtin' && b.lpaLink === 'bridge-connects') {
      this.lpaPort ||= await freePort();
      return listenVpcdReader('127.0.0.1', this.lpaPort, { ...options, acceptTimeoutMs: 20_000 });
    }
    if (!this.bridgeAddress) throw new Error('bridge address unknown');
    return connectVpcdReader(this.bridgeAddress.host, this.bridgeAddress.port, options);
  }

  /**
   * A vpcd connection to the bridge, powered and reset (ATR read). A bridge the rig does not
   * run in-process gives no sign of having finished with the previous LPA, so a refused
   * connection is retried for a few seconds there; the built-in one is waited for.
   */
  async connectPowered(opts: Omit<ConnectOptions, 'whileBusy'> = {}): Promise<VpcdReaderTransport> {
    const deadline = Date.now() + (this.env.rig.bridge.kind === 'builtin' ? 0 : 5000);
    for (;;) {
      const t = await this.connectLpa(opts);
      try {
        await t.reset();
        return t;
      } catch (err) {
        await t.close();
        if (Date.now() >= deadline) throw err;
        await sleep(100);
      }
    }
  }

  /**
   * Wait (up to `ms`) until the bridge serves an LPA: connect, get the ATR, leave. Used after
   * the rig restarted the bridge (an external bridge is probed by the rig before it is
   * ready, and the probe is itself an LPA connection the bridge has to finish with).
   */
  async waitBridgeServing(ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    for (;;) {
      const t = await this.connectLpa({ commandTimeoutMs: 1000, whileBusy: true }).catch(() => undefined);
      const ok = t ? await t.reset().then(() => true, () => false) : false;
      await t?.close();
      if (ok) {
        await this.bridgeIdle();
        // an external bridge still finishes with this connection after the close
        if (this.env.rig.bridge.kind !== 'builtin') await sleep(20);
        return;
      }
      if (Date.now() > deadline) throw new Error(`the bridge did not serve an LPA within ${ms} ms`);
      await sleep(50);
    }
  }

  /** HTTPS options that trust the embedded SM-DP+ and route its hostnames to it. */
  httpOptions(): RspHttpOptions {
    const smdp = this.smdp;
    return {
      ...(smdp ? { ca: smdp.trustAnchorPem, connect: { host: '127.0.0.1', port: smdp.port } } : {}),
      trace: {
        onHttp: (req, res) =>
          this.trace.add({ kind: 'http', method: req.method, url: req.url, status: res.status ?? 0, request: req.body, response: res.body || res.error || '', ms: res.durationMs }),
      },
    };
  }

  /**
   * The LPA on the PC/SC path (lpa-path.ts): the built-in bridge connected out to a free
   * pcscd vpcd slot for the session (the listening one is stopped meanwhile), tapped on
   * the lpa-bridge hop.
   */
  async openPcscSession(): Promise<PcscSession> {
    if (!this.pty) throw new Error('the PC/SC path needs the fake modem PTY');
    await this.bridgeIdle();
    return openPcscSession(this.env.rig, {
      ttyPath: this.pty.path,
      bridgeOptions: this.parts.bridge ?? {},
      stopListening: () => this.stopBridge(),
      restartListening: () => this.startBridge(),
      onApdu: (capdu, rapdu, ms) => this.trace.add({ kind: 'apdu', hop: 'lpa-bridge', command: capdu, response: rapdu, ms }),
      onBridgeTrace: (e) => {
        if (e.type === 'decision' || e.type === 'modem' || e.type === 'bridge' || e.type === 'lpa') this.trace.log('bridge', JSON.stringify(e));
      },
    });
  }

  /** A test LPA over a fresh vpcd connection to the bridge (or the PC/SC path of rig lpa.path 'pcsc'), optionally with an APDU hook. */
  async openLpa(options: OpenLpaOptions = {}): Promise<LpaHandle> {
    const { beforeApdu, commandTimeoutMs, es10, ...lpaOptions } = options;
    let pcsc: PcscSession | undefined;
    const transport: ApduTransport & { readonly isOpen: boolean } =
      this.env.rig.lpa.path === 'pcsc' ? (pcsc = await this.openPcscSession()).path.transport : await this.connectPowered(commandTimeoutMs !== undefined ? { commandTimeoutMs } : {});
    const closeTransport = (): Promise<void> => (pcsc ? pcsc.close() : transport.close());
    const hooked: ApduTransport = beforeApdu
      ? {
          transmit: async (c) => {
            await beforeApdu(c);
            return transport.transmit(c);
          },
          reset: () => transport.reset(),
          close: () => transport.close(),
        }
      : transport;
    try {
      const lpa = await Lpa.open(hooked, {
        http: this.httpOptions(),
        es10: { ...lpaEs10Options(this.env.rig, (m) => this.trace.log('finding', m)), ...es10 },
        onProgress: (e) => this.trace.log('lpa', `${e.step} ${e.phase}${e.detail ? ` ${JSON.stringify(e.detail)}` : ''}`),
        ...lpaOptions,
      });
      return {
        lpa,
        transport,
        close: async () => {
          if (transport.isOpen) await lpa.es10.close().catch(() => undefined);
          await closeTransport();
        },
      };
    } catch (err) {
      await closeTransport();
      throw err;
    }
  }

  /** Run `fn` with a test LPA over the bridge and close it afterwards, whatever happens. */
  async withLpa<T>(fn: (lpa: Lpa, session: LpaHandle) => Promise<T>, options: OpenLpaOptions = {}): Promise<T> {
    const s = await this.openLpa(options);
    try {
      return await fn(s.lpa, s);
    } finally {
      await s.close();
    }
  }

  /**
   * Identity of what this rig certifies: bridgelab and the host, the bridge, the modem
   * (ATI, +CGMR) and the card's EID as the rig sees them. On a card eUICC the EID is read
   * through the bridge (GetEID), so this opens an LPA session there.
   */
  async identity(): Promise<RigIdentity> {
    const { rig } = this.env;
    const b = rig.bridge;
    const bridge: BridgeIdentity = b.kind === 'external' ? externalBridgeIdentity(b.command, b.cwd ?? process.cwd()) : b.kind === 'running' ? { kind: 'running', address: b.address } : { kind: 'builtin' };
    const modem: ModemIdentityRecord = this.bridge
      ? { source: 'bridge detection', identity: this.bridge.report.identity, detection: this.bridge.report.detection }
      : this.modem
        ? { source: 'fake modem personality', identity: { ati: this.modem.personality.identity.ati, manufacturer: this.modem.personality.identity.manufacturer, model: this.modem.personality.identity.model, revision: this.modem.personality.identity.revision } }
        : { source: 'not observable', note: `the bridge on the device owns the modem's port (${rig.modem.kind === 'serial' ? rig.modem.path : 'unknown'}); declared personality ${rig.modem.personality ?? 'none'}` };
    let eid: Pick<RigIdentity, 'eid' | 'eidError'>;
    if (this.euicc) eid = { eid: this.euicc.eid };
    else eid = await this.withLpa((lpa) => lpa.es10.getEid()).then((value) => ({ eid: value }), (err: Error) => ({ eidError: `GetEID through the bridge failed: ${err.message}` }));
    return {
      rig: rig.name,
      personality: this.env.personality,
      bridgelab: toolIdentity(),
      host: hostIdentity(),
      bridge,
      modem,
      ...eid,
      ...(this.smdp ? { smdp: { address: this.smdp.address, oid: this.smdp.smdpOid } } : {}),
    };
  }

  /**
   * Record the identity in identity.json of the report, once per personality (the first
   * suite file of a pass to start its rig records it; the file is replaced atomically, so
   * suite files starting at once never read it half-written).
   */
  async recordIdentity(): Promise<void> {
    const file = join(this.env.reportDir, 'identity.json');
    const read = (): Record<string, RigIdentity> => (existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, RigIdentity>) : {});
    if (read()[this.env.personality]) return;
    const identity = await this.identity();
    const all = read();
    if (all[this.env.personality]) return;
    all[this.env.personality] = identity;
    writeFileAtomic(file, JSON.stringify(all, null, 1), 0o644);
  }

  /** Lines the external bridge printed (stdout+stderr), last first-class evidence when it misbehaves. */
  bridgeOutput(): string[] {
    return [...this.bridgeLog];
  }

  async close(): Promise<void> {
    for (const c of this.cleanups.reverse()) await c().catch(() => undefined);
    this.cleanups.length = 0;
    await this.euicc?.close().catch(() => undefined);
    rmSync(this.tmp, { recursive: true, force: true });
  }
}


async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(host: string, port: number, timeoutMs: number, child: ChildProcess, lastOutput: () => string[]): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  // output arrives on its pipes after the exit is seen: give it a moment before quoting it
  const settle = () => new Promise((r) => setTimeout(r, 50));
  for (;;) {
    if (child.exitCode !== null) {
      await settle();
      throw new BridgeStartError(`the bridge process exited with code ${child.exitCode} before listening on ${host}:${port}`, child.exitCode, lastOutput());
    }
    const ok = await new Promise<boolean>((resolve) => {
      const s = createConnection({ host, port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new BridgeStartError(`the bridge did not listen on ${host}:${port} within ${timeoutMs} ms`, null, lastOutput());
    await new Promise((r) => setTimeout(r, 100));
  }
}

