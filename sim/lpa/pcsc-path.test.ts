// The PC LPA's real path, end to end: the test LPA with the strict lpac-like PC/SC profile
// (T=0-only connect, 264-byte receive buffer, GET RESPONSE class 80, SELECT and last STORE
// DATA block without Le) reaches the card through the `smartcard` PC/SC binding -> pcscd
// (Debian pcscd) -> vsmartcard's vpcd driver (Debian vsmartcard-vpcd) -> the reference
// bridge in connect mode -> the fake Quectel EC25-J on a real PTY (socat) -> the software
// eUICC, and downloads a GSMA TS.48 profile from the test SM-DP+ over HTTPS, enables,
// disables and deletes it, delivering every notification (SGP.22 3.1.3, 3.2, 3.3).
// A bridge that joins long answers itself ('join', the old behaviour) fails there with
// pcsc-lite's own SCARD_E_INSUFFICIENT_BUFFER. Skipped locally with one line when PC/SC is
// missing; with CI set (.ci/run installs and starts everything) a missing part fails.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBridge, type Bridge, type BridgeOptions } from '../bridge/bridge.ts';
import { createEuicc, type Euicc } from '../euicc/euicc.ts';
import { startPtyModem, type PtyModem } from '../modem/serial.ts';
import { startSmdp, type SmdpServer } from '../smdp/index.ts';
import { ProfileInstallationError } from './errors.ts';
import { Lpa } from './flows.ts';
import { es10OptionsOf, loadLpaProfile } from './lpa-profile.ts';
import { diagnoseLatency, LinkTimer, openPcscPath, pcscPathUnavailable, type PcscPath } from './pcsc-path.ts';
import { PcscTransportError } from './pcsc-transport.ts';

const UNAVAILABLE = await pcscPathUnavailable();
if (UNAVAILABLE && !process.env.CI) console.log(`sim/lpa/pcsc-path.test.ts skipped: ${UNAVAILABLE}`);

const profile = loadLpaProfile('lpac-pcsc');

describe.skipIf(UNAVAILABLE !== undefined && !process.env.CI)('PC/SC LPA -> pcscd -> vpcd -> reference bridge -> PTY modem -> eUICC', () => {
  let dir: string;
  let smdp: SmdpServer;
  let euicc: Euicc;
  let pty: PtyModem;

  beforeAll(async () => {
    if (UNAVAILABLE) throw new Error(`CI is set but the PC/SC path is unavailable: ${UNAVAILABLE}`);
    dir = mkdtempSync(join(tmpdir(), 'bridgelab-pcsc-path-'));
    smdp = await startSmdp({ dataDir: join(dir, 'smdp'), host: '127.0.0.1', port: 0 });
    euicc = await createEuicc({ statePath: join(dir, 'euicc.json'), identity: 'both', svn: '2.5.0', defaultDpAddress: smdp.address });
    pty = await startPtyModem({ personality: 'quectel-ec25j', transport: euicc, baud: null, timeScale: 0 });
  }, 60_000);

  afterAll(async () => {
    await pty?.close();
    await euicc?.close();
    await smdp?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** The bridge on the modem's PTY, connected out to the slot's vpcd port. */
  async function pcscPath(bridgeOptions: Partial<BridgeOptions> = {}, timer?: LinkTimer): Promise<{ path: PcscPath; bridge: () => Bridge | undefined }> {
    let bridge: Bridge | undefined;
    const path = await openPcscPath({
      profile,
      attach: async (vpcd) => {
        bridge = await startBridge({ serial: { path: pty.path, baudRate: 115200 }, connect: { ...vpcd, initialBackoffMs: 100 }, ...bridgeOptions, ...(timer ? { onTrace: timer.onBridgeTrace } : {}) });
        const b = bridge;
        return () => b.close();
      },
      ...(timer ? { onApdu: timer.onApdu } : {}),
    });
    return { path, bridge: () => bridge };
  }

  const http = () => ({ ca: smdp.trustAnchorPem, connect: { host: '127.0.0.1', port: smdp.port } });

  it('downloads a TS.48 profile, enables, disables and deletes it, with every notification delivered', { timeout: 120_000 }, async () => {
    const timer = new LinkTimer();
    const { path, bridge } = await pcscPath({}, timer);
    try {
      expect(path.transport.protocol).toBe('T=0');
      expect(bridge()?.report.identity.manufacturer).toBe('Quectel');
      const lpa = await Lpa.open(path.transport, { http: http(), es10: es10OptionsOf(profile) });
      const order = smdp.es2.order({});
      const result = await lpa.downloadProfile(order.activationCode);
      expect(result.iccid).toBe(order.iccid);
      expect(result.notification?.delivered).toBe(true);
      expect(result.notification?.removed).toBe(true);
      expect(smdp.inventory.get(order.iccid)?.state).toBe('Installed');
      const enabled = await lpa.enableProfile({ iccid: order.iccid }, { notifications: 'process' });
      expect(enabled.map((n) => [n.operation, n.delivered, n.removed])).toEqual([[['notificationEnable'], true, true]]);
      expect(euicc.state.profiles().find((p) => p.iccid === order.iccid)?.state).toBe('enabled');
      const disabled = await lpa.disableProfile({ iccid: order.iccid }, { notifications: 'process' });
      expect(disabled.map((n) => [n.operation, n.delivered])).toEqual([[['notificationDisable'], true]]);
      const deleted = await lpa.deleteProfile({ iccid: order.iccid }, { notifications: 'process' });
      expect(deleted.map((n) => [n.operation, n.delivered])).toEqual([[['notificationDelete'], true]]);
      expect(euicc.state.profiles()).toEqual([]);
      expect(await lpa.listNotifications()).toEqual([]);
      await lpa.close();
      // every R-APDU fit the 264-byte buffer: the reader procedure never hands over more than 256 + 2
      const t = timer.timing;
      expect(t.apdus).toBeGreaterThan(100);
      expect(t.atExchanges).toBeGreaterThanOrEqual(t.apdus - 5);
    } finally {
      await path.close();
    }
  });

  it('a bridge that joins long answers itself fails the strict LPA with SCARD_E_INSUFFICIENT_BUFFER', { timeout: 60_000 }, async () => {
    const { path } = await pcscPath({ session: { t0: 'join' } });
    try {
      const lpa = await Lpa.open(path.transport, { http: http(), es10: es10OptionsOf(profile) });
      // AuthenticateServer answers over 1 KB: in one R-APDU it cannot fit pcscd's client buffer
      const err = await lpa.downloadProfile(smdp.es2.order({}).activationCode).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(PcscTransportError);
      expect((err as PcscTransportError).problem).toBe('insufficient-buffer');
      expect((err as PcscTransportError).message).toMatch(/SCardTransmit \(receive buffer 264 bytes\): Insufficient buffer \(SCARD_E_INSUFFICIENT_BUFFER\)/);
      expect(err).not.toBeInstanceOf(ProfileInstallationError);
    } finally {
      await path.close();
    }
  });
});

describe('diagnoseLatency', () => {
  it('names the Nagle / delayed-ACK pattern when the reader path adds tens of ms per APDU', () => {
    const slow = diagnoseLatency({ apdus: 100, apduMs: 4500, atExchanges: 100, atMs: 300 });
    expect(slow.overheadPerApduMs).toBe(42);
    expect(slow.diagnosis).toMatch(/Nagle \/ delayed-ACK pattern.*TCP_QUICKACK/);
    const fast = diagnoseLatency({ apdus: 100, apduMs: 330, atExchanges: 100, atMs: 300 });
    expect(fast.overheadPerApduMs).toBeCloseTo(0.3);
    expect(fast.diagnosis).toBeUndefined();
  });
});
