// A TS.48 download through the reference bridge over an emulated 115200-baud UART
// (10 bits per byte): the test measures the download time and the bytes on the wire
// and checks that the download can never beat the wire-time floor (bytes x 10 / baud).
// How close it comes to the floor is a benchmark number (npm run bench), not a test.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { parseRig } from '../../rigs/rig.ts';
import { envFor } from '../../suites/framework/env.ts';
import { RigRuntime } from '../../suites/framework/rig-runtime.ts';
import { wireTimeMs } from '../modem/uart.ts';

const BAUD = 115_200;
const HAVE_SOCAT = spawnSync('sh', ['-c', 'command -v socat'], { stdio: 'ignore' }).status === 0;

describe.skipIf(!HAVE_SOCAT && !process.env.CI)('download at 115200 baud', () => {
  let rt: RigRuntime;
  const dir = mkdtempSync(join(tmpdir(), 'bridgelab-uart-'));

  beforeAll(async () => {
    const rig = parseRig({
      name: 'uart-115200',
      euicc: { kind: 'emulated' },
      modem: { kind: 'fake', personality: 'quectel-ec25j', endpoint: 'pty', baud: BAUD, timeScale: 0 },
      bridge: { kind: 'builtin' },
      smdp: { kind: 'embedded' },
    });
    rt = await RigRuntime.start(envFor(rig, 'quectel-ec25j', dir));
  }, 60_000);

  afterAll(async () => {
    await rt?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('measures time and bytes on the wire, never below the floor', async () => {
    const order = rt.smdp!.es2.order({ profileType: 'TS48v5_SAIP2.3_NoBERTLV' });
    const { lpa, close } = await rt.openLpa();
    const before = rt.modem!.counters();
    const t0 = performance.now();
    try {
      await lpa.downloadProfile(order.activationCode);
    } finally {
      await close();
    }
    const elapsedMs = performance.now() - t0;
    const after = rt.modem!.counters();
    const bytes = after.toTe.bytes - before.toTe.bytes + (after.fromTe.bytes - before.fromTe.bytes);
    const floorMs = wireTimeMs(bytes, BAUD);
    console.log(`115200 baud download: ${bytes} bytes on the wire, floor ${floorMs.toFixed(0)} ms, took ${elapsedMs.toFixed(0)} ms (ratio ${(elapsedMs / floorMs).toFixed(2)})`);
    expect(rt.euicc!.state.profile(order.iccid)).toBeDefined();
    // a 12 KB profile as AT hex both ways is tens of kilobytes on the wire
    expect(bytes).toBeGreaterThan(20_000);
    expect(elapsedMs).toBeGreaterThanOrEqual(floorMs * 0.98);
  }, 120_000);
});
