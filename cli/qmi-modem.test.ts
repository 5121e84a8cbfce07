import { describe, expect, it } from 'vitest';
import { createEuicc } from '../sim/euicc/euicc.ts';
import { missingTools, runTool } from '../sim/wwan/testing/external-tool.ts';
import { UsageError } from './errors.ts';
import { qmiModemCommand } from './qmi-modem.ts';

describe('bridgelab qmi-modem', () => {
  it('usage errors: unknown option, missing --pty, unknown personality', async () => {
    const deps = { createCard: () => createEuicc(), stdout: () => {}, stderr: () => {} };
    await expect(qmiModemCommand(['--bogus'], deps)).rejects.toThrow(UsageError);
    await expect(qmiModemCommand([], deps)).rejects.toThrow(/--pty is required/);
    await expect(qmiModemCommand(['--pty', '--personality', 'nope'], deps)).rejects.toThrow(/nope: not a bundled personality \(known: qualcomm-uim/);
  });

  it('--list names every personality', async () => {
    let out = '';
    await qmiModemCommand(['--list'], { createCard: () => createEuicc(), stdout: (t) => (out += t) });
    expect(out.split('\n').filter(Boolean).map((l) => l.split(/\s+/)[0])).toEqual(['qualcomm-uim', 'synthetic-3-channels', 'synthetic-auto-get-response', 'telit-le910c4']);
  });

  it.skipIf(missingTools([{ program: 'qmicli', pkg: 'libqmi-utils' }, { program: 'socat', pkg: 'socat' }]) !== null)('--pty --json prints the device path qmicli opens; abort stops it', async () => {
    const stop = new AbortController();
    let out = '';
    let banner = '';
    let printed: () => void = () => {};
    const ready = new Promise<void>((r) => (printed = r));
    const done = qmiModemCommand(['--pty', '--json', '--personality', 'telit-le910c4'], {
      createCard: () => createEuicc(),
      stdout: (t) => {
        out += t;
        printed();
      },
      stderr: (t) => (banner += t),
      signal: stop.signal,
    });
    await ready;
    const info = JSON.parse(out) as { path: string; protocol: string; personality: string };
    expect(info).toMatchObject({ protocol: 'QMI', personality: 'telit-le910c4' });
    const r = await runTool('qmicli', ['-d', info.path, '--device-open-qmi', '--uim-get-card-status']);
    expect(r.stdout).toContain("Card state: 'present'");
    stop.abort();
    expect(await done).toBe(0);
    expect(banner).toContain('stopped (abort)');
  });
});
